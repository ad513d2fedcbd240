//! Server-sent events read off a `reqwest::Response` with the project's own decoder.

use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::BytesMut;
use switchyard_protocol::sse::{Decoder, Event};

/// Reads events from a streaming response, one at a time, each with a deadline.
#[derive(Debug)]
pub struct SseReader {
    response: reqwest::Response,
    buf: BytesMut,
    decoder: Decoder,
    ended: bool,
}

impl SseReader {
    /// Wraps a response whose body is `text/event-stream`.
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buf: BytesMut::new(),
            decoder: Decoder::default(),
            ended: false,
        }
    }

    /// The next event; `Ok(None)` when the server ended the stream. Fails when nothing
    /// complete arrives within `deadline`.
    pub async fn next(&mut self, deadline: Duration) -> anyhow::Result<Option<Event>> {
        let give_up = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(event) = self.decoder.decode(&mut self.buf)? {
                return Ok(Some(event));
            }
            if self.ended {
                return Ok(None);
            }
            let chunk = tokio::time::timeout_at(give_up, self.response.chunk())
                .await
                .with_context(|| format!("no complete SSE event within {deadline:?}"))?
                .context("reading the SSE body")?;
            match chunk {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => self.ended = true,
            }
        }
    }

    /// The next event that carries data (skipping priming events); fails at the end of the
    /// stream or the deadline.
    pub async fn next_message(&mut self, deadline: Duration) -> anyhow::Result<Event> {
        let give_up = tokio::time::Instant::now() + deadline;
        loop {
            let left = give_up.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Some(e) if !e.data.is_empty() => return Ok(e),
                Some(_) => continue,
                None => bail!("the SSE stream ended before a message arrived"),
            }
        }
    }

    /// The next data-carrying event parsed as JSON, with its id.
    pub async fn next_json(
        &mut self,
        deadline: Duration,
    ) -> anyhow::Result<(Option<String>, serde_json::Value)> {
        let event = self.next_message(deadline).await?;
        let value = serde_json::from_str(&event.data)
            .with_context(|| format!("SSE data is not JSON: {:?}", event.data))?;
        Ok((event.id, value))
    }

    /// Every event until the server ends the stream (or the deadline passes).
    pub async fn collect_until_end(&mut self, deadline: Duration) -> anyhow::Result<Vec<Event>> {
        let give_up = tokio::time::Instant::now() + deadline;
        let mut events = Vec::new();
        loop {
            let left = give_up.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Some(e) => events.push(e),
                None => return Ok(events),
            }
        }
    }

    /// The response's status and headers.
    pub fn response(&self) -> &reqwest::Response {
        &self.response
    }

    /// The id a client would send as `Last-Event-ID`.
    pub fn last_event_id(&self) -> Option<&str> {
        self.decoder.last_event_id()
    }
}
