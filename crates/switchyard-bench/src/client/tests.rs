use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

#[test]
fn targets() {
    let t = Target::parse("http://127.0.0.1:8080/mcp").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.path.as_str()),
        ("127.0.0.1", 8080, "/mcp")
    );
    let t = Target::parse("http://localhost").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.path.as_str()),
        ("localhost", 80, "/")
    );
    let t = Target::parse("http://[::1]:9/x?y=1").unwrap();
    assert_eq!((t.host.as_str(), t.path.as_str()), ("::1", "/x?y=1"));
    assert!(Target::parse("https://example.com/mcp").is_err());
    assert!(Target::parse("not a url").is_err());
}

/// Reads one request (head and Content-Length body) from `sock`; `None` at EOF.
async fn read_request(sock: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 4096];
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let request = String::from_utf8_lossy(&buf[..end + 4 + len]).to_string();
            buf.drain(..end + 4 + len);
            return Some(request);
        }
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A one-connection server that answers the requests it reads with `answers`, in order, and
/// sends back every request it saw when the client hangs up.
async fn canned(answers: Vec<Vec<u8>>) -> (Target, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        for answer in answers {
            let Some(req) = read_request(&mut sock, &mut buf).await else {
                break;
            };
            seen.push(req);
            // Write in two pieces so the client sees the answer split across reads.
            let (a, b) = answer.split_at(answer.len() / 2);
            sock.write_all(a).await.unwrap();
            sock.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
            sock.write_all(b).await.unwrap();
        }
        seen
    });
    (target, server)
}

fn json_answer(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nmcp-session-id: s1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn sse_answer(events: &[&str]) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for e in events {
        out.extend_from_slice(format!("{:x}\r\n{e}\r\n", e.len()).as_bytes());
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn json_and_sse_answers_on_one_keep_alive_connection() {
    rt().block_on(async {
        let (target, server) = canned(vec![
            json_answer(r#"{"jsonrpc":"2.0","id":1,"result":{"ok":true}}"#),
            sse_answer(&[
                "id: 0_r1_0\ndata:\n\n",
                "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n",
                "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hello\"}]}}\n\n",
            ]),
            json_answer(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
        ])
        .await;
        let mut conn = Conn::open(&target).await.unwrap();
        let session = SessionHeaders {
            id: Some(HeaderValue::from_static("s1")),
            version: Some(HeaderValue::from_static("2025-11-25")),
        };
        let deadline = Duration::from_secs(5);
        let a = conn.call(&session, &[], 1, Bytes::from_static(b"{}"), deadline).await.unwrap();
        assert_eq!(a.message["result"]["ok"], true);
        assert_eq!(a.session_id, Some(HeaderValue::from_static("s1")));
        let b = conn
            .call(&session, &[("mcp-method", "tools/call")], 2, Bytes::from_static(b"{}"), deadline)
            .await
            .unwrap();
        assert_eq!(b.message["result"]["content"][0]["text"], "hello");
        // The SSE body was drained: the same connection carries the next request.
        let c = conn.call(&session, &[], 3, Bytes::from_static(b"{}"), deadline).await.unwrap();
        assert_eq!(c.message["id"], 3);
        drop(conn);
        let seen = tokio::time::timeout(deadline, server).await.unwrap().unwrap();
        assert_eq!(seen.len(), 3);
        let first = seen[0].to_ascii_lowercase();
        assert!(first.starts_with("post /mcp http/1.1"), "{first}");
        assert!(first.contains("mcp-session-id: s1") && first.contains("mcp-protocol-version: 2025-11-25"));
        assert!(first.contains("accept: application/json, text/event-stream"));
        assert!(seen[1].to_ascii_lowercase().contains("mcp-method: tools/call"));
    });
}

#[test]
fn statuses_and_streams_without_the_answer_are_failures() {
    rt().block_on(async {
        let (target, server) = canned(vec![
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}".to_vec(),
            sse_answer(&["data: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}\n\n"]),
            json_answer(
                r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Unknown tool"}}"#,
            ),
        ])
        .await;
        let mut conn = Conn::open(&target).await.unwrap();
        let s = SessionHeaders::default();
        let d = Duration::from_secs(5);
        let body = || Bytes::from_static(b"{}");
        assert_eq!(
            conn.call(&s, &[], 1, body(), d).await.unwrap_err(),
            Failure::Status(404)
        );
        assert_eq!(
            conn.call(&s, &[], 2, body(), d).await.unwrap_err(),
            Failure::NoAnswer
        );
        let err = conn.call(&s, &[], 3, body(), d).await.unwrap();
        assert_eq!(result_of(&err.message).unwrap_err(), Failure::Rpc(-32602));
        drop(conn);
        tokio::time::timeout(d, server).await.unwrap().unwrap();
    });
}

#[test]
fn a_silent_server_times_out_and_a_closed_port_fails_to_connect() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let holder = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(sock);
        });
        let target = Target::parse(&format!("http://{addr}/mcp")).unwrap();
        let mut conn = Conn::open(&target).await.unwrap();
        let got = conn
            .call(
                &SessionHeaders::default(),
                &[],
                1,
                Bytes::from_static(b"{}"),
                Duration::from_millis(200),
            )
            .await;
        assert_eq!(got.unwrap_err(), Failure::Timeout);
        holder.abort();
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gone = Target::parse(&format!("http://{}/mcp", closed.local_addr().unwrap())).unwrap();
        drop(closed);
        assert!(matches!(Conn::open(&gone).await, Err(Failure::Connect(_))));
    });
}
