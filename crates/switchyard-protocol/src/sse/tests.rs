use super::*;

/// Decodes `wire` fed in chunks of `chunk` bytes, draining events after every chunk.
pub(super) fn decode_chunked(wire: &[u8], chunk: usize) -> Vec<Event> {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for part in wire.chunks(chunk.max(1)) {
        buf.extend_from_slice(part);
        while let Some(ev) = dec.decode(&mut buf).expect("decode") {
            out.push(ev);
        }
    }
    out
}

/// Decodes `wire` whole, then checks that every chunk size and every single split point
/// gives the same events.
pub(super) fn decode(wire: &[u8]) -> Vec<Event> {
    let whole = decode_chunked(wire, wire.len());
    for chunk in 1..wire.len() {
        assert_eq!(decode_chunked(wire, chunk), whole, "chunk size {chunk}");
    }
    for split in 0..=wire.len() {
        let mut dec = Decoder::default();
        let mut buf = BytesMut::from(&wire[..split]);
        let mut out = Vec::new();
        while let Some(ev) = dec.decode(&mut buf).unwrap() {
            out.push(ev);
        }
        buf.extend_from_slice(&wire[split..]);
        while let Some(ev) = dec.decode(&mut buf).unwrap() {
            out.push(ev);
        }
        assert_eq!(out, whole, "split at {split}");
    }
    whole
}

pub(super) fn data(d: &str) -> Event {
    Event::message(d)
}

#[test]
fn fields_and_multi_line_data() {
    let wire = b"event: note\nid: 7\nretry: 1500\ndata: a\ndata:b\ndata:  c\ndata\n\n";
    let want = data("a\nb\n c\n")
        .with_event("note")
        .with_id("7")
        .with_retry(1500);
    assert_eq!(decode(wire), vec![want]);
}

#[test]
fn every_line_ending_and_crlf_split_across_chunks() {
    for wire in [
        &b"data: x\r\n\r\ndata: y\r\n\r\n"[..],
        b"data: x\r\rdata: y\r\r",
        b"data: x\n\ndata: y\n\n",
        b"data: x\r\n\rdata: y\n\r\n",
    ] {
        assert_eq!(decode(wire), vec![data("x"), data("y")], "{wire:?}");
    }
}

#[test]
fn a_trailing_cr_dispatches_without_waiting_for_more_bytes() {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(&b"data: x\r\r"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(Some(data("x"))));
    buf.extend_from_slice(b"\ndata: y\n\n");
    assert_eq!(dec.decode(&mut buf), Ok(Some(data("y"))));
}

#[test]
fn comments_and_typeless_blocks_are_skipped() {
    let wire = b": keep-alive\n\n:\n\nevent: lonely\n\n: c\ndata: x\n: c2\n\nfoo: bar\n\n";
    assert_eq!(decode(wire), vec![data("x")]);
}

#[test]
fn priming_empty_data_and_retry_only_events_are_returned() {
    assert_eq!(
        decode(b"id: e_r1_0\ndata:\n\n"),
        vec![data("").with_id("e_r1_0")]
    );
    assert_eq!(decode(b"data:\n\n"), vec![data("")]);
    assert_eq!(decode(b"data\ndata\n\n"), vec![data("\n")]);
    assert_eq!(
        decode(b"retry: 3000\n\n"),
        vec![Event::default().with_retry(3000)]
    );
    assert_eq!(decode(b"id: 5\n\n"), vec![Event::default().with_id("5")]);
}

#[test]
fn invalid_retry_and_id_with_nul_are_ignored() {
    for bad in [
        "retry: 10a",
        "retry:",
        "retry: -1",
        "retry:  5",
        "retry: 99999999999999999999",
    ] {
        let wire = format!("{bad}\ndata: x\n\n");
        assert_eq!(decode(wire.as_bytes()), vec![data("x")], "{bad}");
    }
    assert_eq!(decode(b"id: a\0b\ndata: x\n\n"), vec![data("x")]);
    assert_eq!(decode(b"id: a\0b\n\n"), vec![]);
}

#[test]
fn empty_event_type_is_the_default() {
    assert_eq!(decode(b"event: x\nevent:\ndata: d\n\n"), vec![data("d")]);
}

#[test]
fn bom_is_stripped_once_and_bad_utf8_replaced() {
    let wire = b"\xEF\xBB\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\ndata: \xff\n\n";
    assert_eq!(decode(wire), vec![data("a"), data("\u{FFFD}")]);
}

#[test]
fn incomplete_events_stay_pending() {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(&b"id: 1\ndata: x\n"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
    assert_eq!(dec.last_event_id(), None);
    buf.extend_from_slice(b"\nid:\ndata: y\n\n");
    assert_eq!(dec.decode(&mut buf), Ok(Some(data("x").with_id("1"))));
    assert_eq!(dec.last_event_id(), Some("1"));
    assert_eq!(dec.decode(&mut buf), Ok(Some(data("y").with_id(""))));
    assert_eq!(dec.last_event_id(), None, "an empty id resets it");
}

#[test]
fn oversized_lines_and_events_are_refused() {
    let mut dec = Decoder::new(8);
    let mut buf = BytesMut::from(&b"data: 0123456789"[..]);
    assert_eq!(dec.decode(&mut buf), Err(DecodeError::LineTooLong(8)));
    let mut buf = BytesMut::from(&b"data: 0123456789\n"[..]);
    assert_eq!(
        Decoder::new(8).decode(&mut buf),
        Err(DecodeError::LineTooLong(8))
    );
    let mut buf = BytesMut::from(&b"data: 123456\ndata: 123456\n"[..]);
    assert_eq!(
        Decoder::new(12).decode(&mut buf),
        Err(DecodeError::EventTooLarge(12))
    );
}
