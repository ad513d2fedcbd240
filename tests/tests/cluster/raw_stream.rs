//! An SSE response read event by event that also counts the comment lines (the node's
//! keep-alives), which the project's decoder skips.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::BytesMut;
use switchyard_protocol::sse::{Decoder, Event};
use tokio::time::Instant;

use crate::admin::number_of;
use crate::support::STEP;

/// A GET stream as a client sees it.
pub(crate) struct RawStream {
    response: reqwest::Response,
    buf: BytesMut,
    decoder: Decoder,
    at_line_start: bool,
    /// Comment lines (`: …`) so far.
    pub(crate) comments: usize,
    pending: VecDeque<Event>,
}

impl RawStream {
    pub(crate) fn new(response: reqwest::Response) -> RawStream {
        RawStream {
            response,
            buf: BytesMut::new(),
            decoder: Decoder::default(),
            at_line_start: true,
            comments: 0,
            pending: VecDeque::new(),
        }
    }

    /// Reads one more chunk; fails at the end of the stream or at `until`.
    async fn fill(&mut self, until: Instant) -> anyhow::Result<()> {
        let chunk = tokio::time::timeout_at(until, self.response.chunk())
            .await
            .context("nothing arrived on the stream in time")?
            .context("reading the stream")?
            .context("the server ended the stream")?;
        for &b in chunk.iter() {
            if self.at_line_start && b == b':' {
                self.comments += 1;
            }
            self.at_line_start = b == b'\n';
        }
        self.buf.extend_from_slice(&chunk);
        while let Some(event) = self.decoder.decode(&mut self.buf)? {
            self.pending.push_back(event);
        }
        Ok(())
    }

    /// The next event that carries data (priming events skipped).
    pub(crate) async fn next_message(&mut self, deadline: Duration) -> anyhow::Result<Event> {
        let until = Instant::now() + deadline;
        loop {
            while let Some(event) = self.pending.pop_front() {
                if !event.data.is_empty() {
                    return Ok(event);
                }
            }
            self.fill(until).await?;
        }
    }

    /// The next event, priming ones included.
    pub(crate) async fn next_event(&mut self, deadline: Duration) -> anyhow::Result<Event> {
        let until = Instant::now() + deadline;
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(event);
            }
            self.fill(until).await?;
        }
    }

    /// Reads until `more` further comment lines arrived; no data event may come meanwhile.
    pub(crate) async fn expect_comments(
        &mut self,
        more: usize,
        deadline: Duration,
    ) -> anyhow::Result<()> {
        let until = Instant::now() + deadline;
        let want = self.comments + more;
        while self.comments < want {
            self.fill(until).await?;
            if let Some(e) = self.pending.iter().find(|e| !e.data.is_empty()) {
                bail!("expected only keep-alives, got {e:?}");
            }
        }
        Ok(())
    }

    /// Reads `count` numbered events; their ids, checking the numbers run from `first`.
    pub(crate) async fn read_numbered(&mut self, first: u64, count: u64) -> Vec<String> {
        let mut ids = Vec::new();
        for n in first..first + count {
            let e = self
                .next_message(STEP)
                .await
                .unwrap_or_else(|e| panic!("event {n}: {e:#}"));
            assert_eq!(number_of(&e.data), Some(n), "in order, once each: {e:?}");
            ids.push(e.id.expect("an event id"));
        }
        ids
    }
}
