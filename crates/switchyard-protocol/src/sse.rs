//! Server-Sent Events: an encoder for what Switchyard sends, and an incremental decoder
//! (the WHATWG event-stream rules) for what it reads from upstreams and in tests.
//!
//! The decoder follows mini-redis' `Frame::check/parse` habit: feed it a `BytesMut`, and it
//! returns `Ok(None)` while the buffer holds no complete event, consuming only what it used.

use bytes::{Buf, BufMut, BytesMut};

/// One event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `id:` field.
    pub id: Option<String>,
    /// The `event:` field (`None` means the default type, `message`).
    pub event: Option<String>,
    /// The data, lines joined with `\n`.
    pub data: String,
    /// The `retry:` field in milliseconds.
    pub retry: Option<u64>,
}

impl Event {
    /// A `message` event carrying `data`.
    pub fn message(data: impl Into<String>) -> Self {
        Self {
            data: data.into(),
            ..Self::default()
        }
    }

    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the event type.
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Sets the reconnection time.
    pub fn with_retry(mut self, millis: u64) -> Self {
        self.retry = Some(millis);
        self
    }

    /// Appends the wire form of this event to `dst`.
    ///
    /// Line breaks inside `id` or `event` would break framing, so they are dropped; an empty
    /// `event` is the default type and is not written. `data` is written as one `data:` line
    /// per line, where CR, LF and CRLF all end a line (as they do for the receiver), so data
    /// decodes back with its line ends normalised to LF. Empty data is written as a bare
    /// `data:` line, which receivers dispatch as an event with empty data.
    pub fn encode(&self, dst: &mut BytesMut) {
        if let Some(event) = self.event.as_deref().filter(|e| !e.is_empty()) {
            put_field(dst, "event", event);
        }
        if let Some(id) = &self.id {
            put_field(dst, "id", id);
        }
        if let Some(retry) = self.retry {
            put_field(dst, "retry", &retry.to_string());
        }
        if self.data.is_empty() {
            dst.put_slice(b"data:\n");
        } else {
            for line in split_lines(&self.data) {
                dst.put_slice(b"data: ");
                dst.put_slice(line.as_bytes());
                dst.put_u8(b'\n');
            }
        }
        dst.put_u8(b'\n');
    }

    /// The wire form as a fresh buffer.
    pub fn to_bytes(&self) -> bytes::Bytes {
        let mut b = BytesMut::with_capacity(self.data.len() + 32);
        self.encode(&mut b);
        b.freeze()
    }
}

fn put_field(dst: &mut BytesMut, name: &str, value: &str) {
    dst.put_slice(name.as_bytes());
    dst.put_slice(b": ");
    for b in value.bytes().filter(|b| *b != b'\n' && *b != b'\r') {
        dst.put_u8(b);
    }
    dst.put_u8(b'\n');
}

/// Splits on CRLF, CR and LF, as an event-stream reader does.
fn split_lines(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(r)
            }
            Some(i) => {
                let eol = if r[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&r[i + eol..]);
                Some(&r[..i])
            }
        }
    })
}

/// A lone `retry:` field (ms): sent last on a stream the server ends early, it tells the
/// client how long to wait before it reconnects (and resumes with `Last-Event-ID`). It
/// dispatches no event.
pub fn retry(millis: u64) -> bytes::Bytes {
    bytes::Bytes::from(format!("retry: {millis}\n\n"))
}

/// A comment line (`: text`), used as a keep-alive.
pub fn comment(text: &str) -> bytes::Bytes {
    let mut b = BytesMut::with_capacity(text.len() + 4);
    b.put_slice(b": ");
    for byte in text.bytes().filter(|b| *b != b'\n' && *b != b'\r') {
        b.put_u8(byte);
    }
    b.put_slice(b"\n\n");
    b.freeze()
}

/// Why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A line grew past the decoder's limit without ending.
    #[error("SSE line longer than {0} bytes")]
    LineTooLong(usize),
    /// An event's data grew past the decoder's limit.
    #[error("SSE event larger than {0} bytes")]
    EventTooLarge(usize),
}

/// An incremental event-stream decoder.
///
/// Feed it one growing buffer: append received bytes to the same `BytesMut` and call
/// [`Decoder::decode`] until it returns `Ok(None)`. The decoder remembers how far it has
/// already looked for a line end, so a long line arriving in small chunks costs linear time.
#[derive(Debug, Clone)]
pub struct Decoder {
    max_event: usize,
    pending: Event,
    has_data: bool,
    bom_checked: bool,
    /// The previous line ended with CR: a LF that follows belongs to it.
    skip_lf: bool,
    /// Bytes at the front of the buffer already known to hold no line end.
    scanned: usize,
    last_id: Option<String>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(16 * 1024 * 1024)
    }
}

impl Decoder {
    /// A decoder that refuses lines and events larger than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        Self {
            max_event,
            pending: Event::default(),
            has_data: false,
            bom_checked: false,
            skip_lf: false,
            scanned: 0,
            last_id: None,
        }
    }

    /// The last event id seen on a dispatched event (the value a client would send as
    /// `Last-Event-ID`); `None` before any, or after an `id` field that reset it to empty.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref().filter(|id| !id.is_empty())
    }

    /// Decodes the next complete event from `buf`, consuming the bytes it used.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete event; append more bytes to the same
    /// `buf` and call again (the decoder remembers how far it scanned, so a fresh buffer with
    /// unrelated bytes must go to a fresh decoder). Lines may end with CR, LF or CRLF (also when the CR and the LF arrive in different
    /// chunks); a leading UTF-8 byte order mark is skipped; invalid UTF-8 is replaced.
    ///
    /// An event is returned when its block had a `data` field (even an empty one), an `id`
    /// or a valid `retry`, so a priming event (id and empty data) and a lone `retry` are seen.
    /// A block of comments or of an `event` field alone is skipped. An empty `event` field is
    /// the default type, returned as `None`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        if !self.bom_checked {
            if buf.len() < BOM.len() && BOM.starts_with(&buf[..]) {
                return Ok(None);
            }
            if buf.starts_with(BOM) {
                buf.advance(BOM.len());
            }
            self.bom_checked = true;
        }
        loop {
            if self.skip_lf {
                match buf.first() {
                    None => return Ok(None),
                    Some(b'\n') => buf.advance(1),
                    Some(_) => {}
                }
                self.skip_lf = false;
            }
            let start = self.scanned.min(buf.len());
            let Some(offset) = buf[start..].iter().position(|b| *b == b'\n' || *b == b'\r') else {
                self.scanned = buf.len();
                if buf.len() > self.max_event {
                    return Err(DecodeError::LineTooLong(self.max_event));
                }
                return Ok(None);
            };
            let end = start + offset;
            if end > self.max_event {
                return Err(DecodeError::LineTooLong(self.max_event));
            }
            self.scanned = 0;
            self.skip_lf = buf[end] == b'\r';
            let line = buf.split_to(end);
            buf.advance(1);
            if line.is_empty() {
                if let Some(event) = self.dispatch() {
                    return Ok(Some(event));
                }
                continue;
            }
            self.field(&line)?;
        }
    }

    fn field(&mut self, line: &[u8]) -> Result<(), DecodeError> {
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match name {
            b"data" => {
                if self.pending.data.len() + value.len() + 1 > self.max_event {
                    return Err(DecodeError::EventTooLarge(self.max_event));
                }
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => {
                self.pending.event = (!value.is_empty()).then(|| value.into_owned());
            }
            b"id" if !value.contains('\0') => {
                self.pending.id = Some(value.into_owned());
            }
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // A value too large for u64 is ignored, like any other invalid retry.
                if let Ok(millis) = value.parse() {
                    self.pending.retry = Some(millis);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self) -> Option<Event> {
        let event = std::mem::take(&mut self.pending);
        let has_data = std::mem::replace(&mut self.has_data, false);
        if let Some(id) = &event.id {
            self.last_id = Some(id.clone());
        }
        (has_data || event.id.is_some() || event.retry.is_some()).then_some(event)
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
