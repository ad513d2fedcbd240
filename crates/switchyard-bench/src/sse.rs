//! An incremental `text/event-stream` decoder: just what the load tool needs to find a
//! JSON-RPC answer inside an SSE response and the notifications on a GET stream.
//!
//! Bytes go in with [`SseDecoder::push`] in whatever pieces the network delivers;
//! [`SseDecoder::next_event`] returns the `data` of each complete event (the `data:` lines
//! joined with `\n`). Lines may end with LF, CRLF or a lone CR, even when the CR and LF arrive
//! in different pieces. Comments, `id:`, `event:` and `retry:` are read and dropped; an event
//! with no `data:` line is not dispatched (as the HTML living standard says).

/// Decodes one event stream. Keeps the unconsumed tail of the input between pushes.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    buf: Vec<u8>,
    pos: usize,
    data: Vec<u8>,
    has_data: bool,
    skip_lf: bool,
}

impl SseDecoder {
    /// Appends a piece of the stream.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The data of the next complete event, or `None` until more input arrives.
    pub(crate) fn next_event(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.skip_lf {
                let next = *self.buf.get(self.pos)?;
                if next == b'\n' {
                    self.pos += 1;
                }
                self.skip_lf = false;
            }
            let rest = &self.buf[self.pos..];
            let len = rest.iter().position(|&b| b == b'\n' || b == b'\r')?;
            let (start, end) = (self.pos, self.pos + len);
            self.skip_lf = rest[len] == b'\r';
            self.pos = end + 1;
            if start == end {
                if self.has_data {
                    self.has_data = false;
                    let mut data = std::mem::take(&mut self.data);
                    data.pop(); // the '\n' after the last data line
                    return Some(data);
                }
                self.data.clear();
                continue;
            }
            let line = &self.buf[start..end];
            if line[0] == b':' {
                continue;
            }
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (line, &[][..]),
            };
            if field == b"data" {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SseDecoder;

    fn all_events(pieces: &[&[u8]]) -> Vec<String> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for p in pieces {
            d.push(p);
            while let Some(e) = d.next_event() {
                out.push(String::from_utf8(e).unwrap());
            }
        }
        out
    }

    #[test]
    fn one_event_in_one_piece() {
        let got = all_events(&[b"event: message\ndata: {\"id\":1}\n\n"]);
        assert_eq!(got, vec![r#"{"id":1}"#]);
    }

    #[test]
    fn events_split_at_every_byte_decode_the_same() {
        let stream: &[u8] =
            b"id: 0_r1_0\ndata:\n\n: keep-alive\n\nevent: message\nid: 0_r1_1\ndata: {\"a\":\ndata: 2}\n\n";
        let whole = all_events(&[stream]);
        assert_eq!(whole, vec!["".to_owned(), "{\"a\":\n2}".to_owned()]);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(all_events(&bytes), whole);
    }

    #[test]
    fn crlf_and_lone_cr_end_lines_even_across_pieces() {
        let got = all_events(&[b"data: a\r", b"\n\r", b"\ndata: b\r\r", b"data: c\n\n"]);
        assert_eq!(got, vec!["a", "b", "c"]);
    }

    #[test]
    fn no_data_no_event_and_incomplete_event_waits() {
        let mut d = SseDecoder::default();
        d.push(b"event: ping\nid: 7\nretry: 10\n\ndata: x");
        assert_eq!(d.next_event(), None);
        d.push(b"\n");
        assert_eq!(d.next_event(), None, "no blank line yet");
        d.push(b"\n");
        assert_eq!(d.next_event().as_deref(), Some(&b"x"[..]));
        assert_eq!(d.next_event(), None);
    }

    #[test]
    fn field_without_colon_and_value_without_space() {
        let got = all_events(&[b"data\ndata:x\n\n"]);
        assert_eq!(got, vec!["\nx"]);
    }
}
