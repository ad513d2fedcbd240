//! Encoder output and property tests: what the encoder writes, the decoder reads back,
//! however the bytes are cut into chunks.

use super::tests::{data, decode, decode_chunked};
use super::*;
use proptest::prelude::*;

/// Data with plenty of line breaks of every kind.
fn data_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[^\r\n]{0,6}".boxed(),
        Just("\n".to_owned()).boxed(),
        Just("\r".to_owned()).boxed(),
        Just("\r\n".to_owned()).boxed(),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

fn event() -> impl Strategy<Value = Event> {
    (
        prop::option::of("[^\r\n\0]{0,12}"),
        prop::option::of("[^\r\n]{0,8}"),
        data_text(),
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(id, event, data, retry)| Event {
            id,
            event,
            data,
            retry,
        })
}

/// What a reader sees: line ends normalised to LF, an empty type as the default.
fn as_received(ev: &Event) -> Event {
    Event {
        data: ev.data.replace("\r\n", "\n").replace('\r', "\n"),
        event: ev.event.clone().filter(|e| !e.is_empty()),
        ..ev.clone()
    }
}

/// Decodes `wire` cut at the given sizes, stopping at the first error.
fn run(wire: &[u8], cuts: &[usize], max: usize) -> (Vec<Event>, Option<DecodeError>) {
    let mut dec = Decoder::new(max);
    let (mut buf, mut out, mut rest) = (BytesMut::new(), Vec::new(), wire);
    let mut cuts = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = (*cuts.next().unwrap_or(&1)).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(ev)) => out.push(ev),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

#[test]
fn encoder_writes_one_line_per_data_line() {
    let ev = data("a\r\nb\rc\n")
        .with_event("e\nv")
        .with_id("1\r2")
        .with_retry(5);
    let wire = ev.to_bytes();
    let want = b"event: ev\nid: 12\nretry: 5\ndata: a\ndata: b\ndata: c\ndata: \n\n";
    assert_eq!(&wire[..], want);
    let got = decode(&wire);
    assert_eq!(
        got,
        vec![
            data("a\nb\nc\n")
                .with_event("ev")
                .with_id("12")
                .with_retry(5)
        ]
    );
    assert_eq!(&data("").with_event("").to_bytes()[..], b"data:\n\n");
    assert_eq!(&comment("ping\r\n")[..], b": ping\n\n");
    assert_eq!(decode(&comment("x")), vec![]);
}

proptest! {
    #[test]
    fn encode_decode_round_trip(
        events in prop::collection::vec((event(), prop::option::of("[^\r\n]{0,8}")), 0..6),
        bom in any::<bool>(),
        cuts in prop::collection::vec(1usize..24, 1..8),
    ) {
        let mut wire = BytesMut::new();
        if bom {
            wire.extend_from_slice(b"\xEF\xBB\xBF");
        }
        for (ev, note) in &events {
            if let Some(note) = note {
                wire.extend_from_slice(&comment(note));
            }
            ev.encode(&mut wire);
        }
        let want: Vec<Event> = events.iter().map(|(ev, _)| as_received(ev)).collect();
        prop_assert_eq!(run(&wire, &cuts, 1 << 20), (want.clone(), None));
        prop_assert_eq!(decode_chunked(&wire, wire.len()), want);
    }

    #[test]
    fn chunking_never_changes_the_outcome(
        wire in prop::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), any::<u8>(), Just(b'd')],
            0..200,
        ),
        cuts in prop::collection::vec(1usize..16, 1..8),
        max in 4usize..64,
    ) {
        prop_assert_eq!(run(&wire, &cuts, max), run(&wire, &[wire.len()], max));
    }
}
