//! One HTTP/1.1 exchange on a raw TCP socket, so a test can end it the three ways a client
//! can: FIN (close), RST (`SO_LINGER` 0, then close) and "silent" (stop reading, keep the
//! socket: the server cannot tell). The body is decoded as SSE (chunked or not) or read
//! whole.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::{Buf, BytesMut};
use switchyard_protocol::sse::{Decoder, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long a status line and headers may take.
const HEAD: Duration = Duration::from_secs(10);

/// What reading a body produced.
#[derive(Debug)]
pub(crate) enum Next {
    /// One SSE event.
    Event(Event),
    /// The server ended the body (last chunk, or the connection closed).
    End,
}

/// An HTTP response being read off its own connection.
#[derive(Debug)]
pub(crate) struct Conn {
    sock: TcpStream,
    /// Status code.
    pub(crate) status: u16,
    /// Headers, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    raw: BytesMut,
    body: BytesMut,
    chunked: bool,
    /// Bytes left in the current chunk (chunked) or in the body (`Content-Length`).
    left: Option<usize>,
    eof: bool,
    done: bool,
    decoder: Decoder,
}

/// Sends one request and reads the status line and headers.
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> anyhow::Result<Conn> {
    let until = Instant::now() + HEAD;
    let mut sock = tokio::time::timeout_at(until, TcpStream::connect(addr))
        .await
        .context("connect timed out")??;
    sock.set_nodelay(true)?;
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        out.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    out.push_str("\r\n");
    if let Some(b) = body {
        out.push_str(b);
    }
    sock.write_all(out.as_bytes()).await?;
    let mut raw = BytesMut::new();
    let head_end = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = tokio::time::timeout_at(until, sock.read_buf(&mut raw))
            .await
            .context("no response head in time")??;
        if n == 0 {
            bail!("the connection closed before a response head");
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    raw.advance(head_end + 4);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let chunked = find("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let left = if chunked {
        None
    } else {
        find("content-length").and_then(|v| v.parse().ok())
    };
    let done = !chunked && left == Some(0);
    Ok(Conn {
        sock,
        status,
        headers,
        raw,
        body: BytesMut::new(),
        chunked,
        left,
        eof: false,
        done,
        decoder: Decoder::default(),
    })
}

impl Conn {
    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body is an event stream.
    pub(crate) fn is_sse(&self) -> bool {
        self.header("content-type")
            .is_some_and(|v| v.starts_with("text/event-stream"))
    }

    /// Moves what can be decoded from `raw` to `body`; `true` once the body is complete.
    fn dechunk(&mut self) -> anyhow::Result<()> {
        if !self.chunked {
            let take = self.left.map_or(self.raw.len(), |l| l.min(self.raw.len()));
            self.body.extend_from_slice(&self.raw.split_to(take));
            if let Some(l) = &mut self.left {
                *l -= take;
                if *l == 0 {
                    self.done = true;
                }
            }
            return Ok(());
        }
        loop {
            match self.left {
                Some(0) => {
                    // The CRLF after a chunk's data.
                    if self.raw.len() < 2 {
                        return Ok(());
                    }
                    self.raw.advance(2);
                    self.left = None;
                }
                Some(n) => {
                    if self.raw.is_empty() {
                        return Ok(());
                    }
                    let take = n.min(self.raw.len());
                    self.body.extend_from_slice(&self.raw.split_to(take));
                    self.left = Some(n - take);
                }
                None => {
                    let Some(p) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                        return Ok(());
                    };
                    let line = String::from_utf8_lossy(&self.raw[..p]).into_owned();
                    self.raw.advance(p + 2);
                    let size = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size, 16)
                        .with_context(|| format!("bad chunk size {line:?}"))?;
                    if size == 0 {
                        self.done = true;
                        return Ok(());
                    }
                    self.left = Some(size);
                }
            }
        }
    }

    /// Reads more bytes; `false` at the end of the connection.
    async fn fill(&mut self, until: Instant) -> anyhow::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let n = tokio::time::timeout_at(until, self.sock.read_buf(&mut self.raw))
            .await
            .context("nothing arrived in time")?
            .context("reading the connection")?;
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.dechunk()?;
        Ok(true)
    }

    /// The next SSE event, or the end of the body; an error at `until` or when the
    /// connection breaks.
    pub(crate) async fn next(&mut self, until: Instant) -> anyhow::Result<Next> {
        loop {
            if let Some(e) = self.decoder.decode(&mut self.body)? {
                return Ok(Next::Event(e));
            }
            if self.done || !self.fill(until).await? {
                return Ok(Next::End);
            }
        }
    }

    /// The whole (non-SSE) body as text.
    pub(crate) async fn text(&mut self, until: Instant) -> anyhow::Result<String> {
        while !self.done && self.fill(until).await? {}
        Ok(String::from_utf8_lossy(&self.body).into_owned())
    }

    /// Ends the connection with a FIN: what arrived is read first (closing a socket with
    /// unread data would send a RST instead).
    pub(crate) async fn fin(mut self) {
        let mut scratch = [0u8; 4096];
        while matches!(self.sock.try_read(&mut scratch), Ok(n) if n > 0) {}
        let _ = self.sock.shutdown().await;
    }

    /// Ends the connection with a RST.
    pub(crate) fn rst(self) {
        let _ = self.sock.set_zero_linger();
    }
}
