//! The SSE decoder on arbitrary bytes and on the encoder's own output.
//!
//! - Random bytes, cut into random chunks, never panic, and the chunking never changes the
//!   outcome (events, then at most one error) compared with decoding the bytes whole.
//! - Events the encoder wrote (with comments between them) decode back to what a reader
//!   should see, however the stream is cut.

#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use switchyard_protocol::sse::{self, DecodeError, Decoder, Event};

#[derive(Debug, Arbitrary)]
struct FuzzEvent {
    id: Option<String>,
    event: Option<String>,
    data: String,
    retry: Option<u64>,
    comment_before: Option<String>,
}

#[derive(Debug, Arbitrary)]
struct Input {
    cuts: Vec<u8>,
    max_event: u8,
    raw: Vec<u8>,
    events: Vec<FuzzEvent>,
}

/// Decodes `wire` cut into chunks of the given sizes (cycled), stopping at the first error.
fn run(wire: &[u8], cuts: &[u8], max: usize) -> (Vec<Event>, Option<DecodeError>) {
    let mut dec = Decoder::new(max);
    let (mut buf, mut out, mut rest) = (BytesMut::new(), Vec::new(), wire);
    let mut cuts = cuts.iter().map(|c| usize::from(*c) + 1).cycle();
    while !rest.is_empty() {
        let n = cuts.next().unwrap_or(rest.len()).min(rest.len());
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

/// What a reader must see for an encoded event: line breaks dropped from `id` and `event`,
/// an id holding NUL ignored, an empty type as the default, data line ends as LF.
fn as_received(ev: &Event) -> Event {
    let strip = |s: &String| s.replace(['\r', '\n'], "");
    Event {
        id: ev.id.as_ref().map(strip).filter(|id| !id.contains('\0')),
        event: ev.event.as_ref().map(strip).filter(|e| !e.is_empty()),
        data: ev.data.replace("\r\n", "\n").replace('\r', "\n"),
        retry: ev.retry,
    }
}

fuzz_target!(|input: Input| {
    let max = usize::from(input.max_event) + 1;
    let chunked = run(&input.raw, &input.cuts, max);
    let whole = run(&input.raw, &[], max);
    assert_eq!(chunked, whole, "chunking changed the outcome");

    let mut wire = BytesMut::new();
    let mut want = Vec::new();
    for fe in input.events {
        if let Some(c) = &fe.comment_before {
            wire.extend_from_slice(&sse::comment(c));
        }
        let ev = Event {
            id: fe.id,
            event: fe.event,
            data: fe.data,
            retry: fe.retry,
        };
        ev.encode(&mut wire);
        want.push(as_received(&ev));
    }
    let got = run(&wire, &input.cuts, 1 << 24);
    assert_eq!(got, (want, None), "round trip");
});
