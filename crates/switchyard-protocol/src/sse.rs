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
    /// Newlines inside `id` or `event` would break framing, so they are dropped; `data` is
    /// split into one `data:` line per line.
    pub fn encode(&self, dst: &mut BytesMut) {
        if let Some(event) = &self.event {
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

fn split_lines(s: &str) -> impl Iterator<Item = &str> {
    s.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
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
#[derive(Debug, Clone)]
pub struct Decoder {
    max_event: usize,
    pending: Event,
    has_data: bool,
    has_fields: bool,
    bom_checked: bool,
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
            has_fields: false,
            bom_checked: false,
            last_id: None,
        }
    }

    /// The last event id seen (the value a client would send as `Last-Event-ID`).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Decodes the next complete event from `buf`, consuming the bytes it used.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete event; call again with more bytes.
    /// Events with neither data nor id nor retry (e.g. a lone comment) are skipped; an event
    /// with an id but empty data (a priming event) is returned.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        if !self.bom_checked {
            if buf.len() < 3 && b"\xEF\xBB\xBF".starts_with(buf) {
                return Ok(None);
            }
            if buf.starts_with(b"\xEF\xBB\xBF") {
                buf.advance(3);
            }
            self.bom_checked = true;
        }
        loop {
            let Some(end) = buf.iter().position(|b| *b == b'\n' || *b == b'\r') else {
                if buf.len() > self.max_event {
                    return Err(DecodeError::LineTooLong(self.max_event));
                }
                return Ok(None);
            };
            // A CR at the very end might be the first half of a CRLF: wait for more.
            let eol_len = match buf[end] {
                b'\r' if end + 1 == buf.len() => return Ok(None),
                b'\r' if buf[end + 1] == b'\n' => 2,
                _ => 1,
            };
            let line = buf.split_to(end);
            buf.advance(eol_len);
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
                self.pending.event = Some(value.into_owned());
                self.has_fields = true;
            }
            b"id" if !value.contains('\0') => {
                self.pending.id = Some(value.into_owned());
                self.has_fields = true;
            }
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.pending.retry = value.parse().ok();
                self.has_fields = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self) -> Option<Event> {
        let event = std::mem::take(&mut self.pending);
        let had = self.has_data || self.has_fields;
        self.has_data = false;
        self.has_fields = false;
        if let Some(id) = &event.id {
            self.last_id = Some(id.clone());
        }
        if !had || (!self.has_data_or_marker(&event)) {
            return None;
        }
        Some(event)
    }

    fn has_data_or_marker(&self, event: &Event) -> bool {
        !event.data.is_empty() || event.id.is_some() || event.retry.is_some()
    }
}

#[cfg(test)]
mod tests;
