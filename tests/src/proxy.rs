//! A loopback TCP proxy that drops one connection in the middle of a response stream.
//!
//! Clients talk to the proxy as if it were the node. Bytes flow through untouched until the
//! node→client direction of some connection has carried `marker` for the `after`-th time;
//! the proxy then forwards up to the end of the SSE event holding that marker (the next blank
//! line), drops the rest and closes both sides. That happens once per proxy: every later
//! connection (the client's reconnection with `Last-Event-ID`) passes through intact. This is
//! the network failure resumability exists for, seen by an unmodified SDK client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    marker: Vec<u8>,
    after: usize,
    cut_done: AtomicBool,
    cuts: AtomicUsize,
    connections: AtomicUsize,
}

/// The proxy; dropping it closes the listener and every connection.
#[derive(Debug)]
pub struct CutProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl CutProxy {
    /// Listens on `127.0.0.1:0` and forwards to `upstream`, cutting the first connection whose
    /// downstream carries `marker` `after` times (`after` ≥ 1).
    pub async fn start(
        upstream: SocketAddr,
        marker: &str,
        after: usize,
    ) -> std::io::Result<CutProxy> {
        assert!(after >= 1, "a cut needs at least one marker occurrence");
        assert!(!marker.is_empty(), "an empty marker matches everywhere");
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            marker: marker.as_bytes().to_vec(),
            after,
            cut_done: AtomicBool::new(false),
            cuts: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(CutProxy { addr, shared, task })
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many connections were cut (0 or 1).
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// How many client connections were accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                conns.spawn(relay(client, shared.clone()));
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn relay(client: TcpStream, shared: Arc<Shared>) {
    let Ok(upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut up_rd, mut up_wr) = upstream.into_split();
    let upward = async {
        let _ = tokio::io::copy(&mut client_rd, &mut up_wr).await;
        let _ = up_wr.shutdown().await;
    };
    let downward = async {
        let mut scan = Scanner::new(&shared.marker, shared.after);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match up_rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            let cut_at = if shared.cut_done.load(Ordering::SeqCst) {
                None
            } else {
                scan.feed(chunk)
            };
            match cut_at {
                Some(end) if !shared.cut_done.swap(true, Ordering::SeqCst) => {
                    let _ = client_wr.write_all(&chunk[..end]).await;
                    let _ = client_wr.flush().await;
                    shared.cuts.fetch_add(1, Ordering::SeqCst);
                    // Returning ends `relay`, dropping both sockets: the client sees its
                    // response end early.
                    return;
                }
                _ => {
                    if client_wr.write_all(chunk).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = client_wr.shutdown().await;
    };
    tokio::pin!(upward, downward);
    tokio::select! {
        // The node closed, or the connection was cut: both directions end here.
        _ = &mut downward => {}
        () = &mut upward => {
            // The client finished sending; keep relaying the answer until the node is done.
            let _ = downward.await;
        }
    }
}

/// Finds where to cut in a byte stream: just after the SSE event (blank line) holding the
/// `after`-th occurrence of `marker`, across chunk boundaries.
#[derive(Debug)]
struct Scanner<'a> {
    marker: &'a [u8],
    after: usize,
    seen: usize,
    /// The last `marker.len() - 1` bytes of earlier chunks, for matches that straddle chunks.
    tail: Vec<u8>,
    /// The marker count was reached; looking for the event's end.
    hunting: bool,
    /// The previous chunk ended with `\n` (a blank line may straddle chunks).
    ended_with_newline: bool,
}

impl<'a> Scanner<'a> {
    fn new(marker: &'a [u8], after: usize) -> Self {
        Self {
            marker,
            after,
            seen: 0,
            tail: Vec::new(),
            hunting: false,
            ended_with_newline: false,
        }
    }

    /// Scans the next chunk; `Some(n)` means forward `chunk[..n]` and cut.
    fn feed(&mut self, chunk: &[u8]) -> Option<usize> {
        let mut from = 0;
        if !self.hunting {
            let mut hay = std::mem::take(&mut self.tail);
            let carried = hay.len();
            hay.extend_from_slice(chunk);
            let mut pos = 0;
            while let Some(i) = find(&hay[pos..], self.marker) {
                let end = pos + i + self.marker.len();
                self.seen += 1;
                if self.seen >= self.after {
                    self.hunting = true;
                    // A full match always ends inside this chunk: the tail is too short.
                    from = end - carried;
                    break;
                }
                pos = end;
            }
            if !self.hunting {
                let keep = self.marker.len() - 1;
                self.tail = hay[hay.len().saturating_sub(keep)..].to_vec();
                self.ended_with_newline = chunk.last() == Some(&b'\n');
                return None;
            }
        }
        if from == 0 && self.ended_with_newline && chunk.first() == Some(&b'\n') {
            return Some(1);
        }
        let rest = &chunk[from..];
        let end = find(rest, b"\n\n")
            .map(|i| i + 2)
            .or_else(|| find(rest, b"\r\n\r\n").map(|i| i + 4));
        self.ended_with_newline = chunk.last() == Some(&b'\n');
        end.map(|e| from + e)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::Scanner;

    #[test]
    fn cuts_after_the_event_holding_the_nth_marker() {
        let mut s = Scanner::new(b"progress", 2);
        let chunk = b"data: a progress\n\ndata: b progress\n\ndata: result\n\n";
        let at = s.feed(chunk).expect("second marker is in this chunk");
        assert_eq!(&chunk[..at], b"data: a progress\n\ndata: b progress\n\n");
    }

    #[test]
    fn finds_markers_and_event_ends_across_chunks() {
        let mut s = Scanner::new(b"progress", 1);
        assert_eq!(s.feed(b"data: prog"), None);
        assert_eq!(s.feed(b"ress 1\n"), None);
        assert_eq!(s.feed(b"\ndata: more\n\n"), Some(1));
    }

    #[test]
    fn no_marker_no_cut() {
        let mut s = Scanner::new(b"progress", 1);
        assert_eq!(s.feed(b"data: result\n\n"), None);
        assert_eq!(s.feed(b"data: other\n\n"), None);
    }
}
