//! `[limits]` on connections: a stalled body gets 408 and its connection closed, headers
//! that never finish are cut after the header timeout, a client IP past its connection cap
//! gets 429 — and in each case a well-behaved client is served meanwhile.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::Node;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Wire, request};

const LIMIT_EXCEEDED: i64 = -32050;

/// Reads what the node sends until it closes the connection (or `deadline` passes: `None`).
async fn read_until_closed(conn: &mut TcpStream, deadline: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + deadline;
    loop {
        let left = end.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A ping any well-behaved client could send (400: no session, but answered at once).
async fn served(wire: &Wire) -> StatusCode {
    wire.post(&request(1, "ping", json!({})))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("a well-behaved client is served")
        .status()
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_its_connection_closed() {
    let node = Node::builder("demo")
        .env("SWITCHYARD__LIMITS__BODY_TIMEOUT_MS", "500")
        .start();
    let wire = Wire::with_node(node);
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut conn = TcpStream::connect(wire.node.addr()).await.unwrap();
        let head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\"";
        conn.write_all(head.as_bytes()).await.unwrap();
        stalled.push(conn);
    }
    assert_eq!(served(&wire).await, StatusCode::BAD_REQUEST);
    for conn in &mut stalled {
        let answer = read_until_closed(conn, Duration::from_secs(10))
            .await
            .expect("the connection is closed after the body timeout");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("limits.body_timeout_ms"), "{answer}");
        assert!(answer.contains(&LIMIT_EXCEEDED.to_string()), "{answer}");
    }
    assert_eq!(served(&wire).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unfinished_headers_are_cut_after_the_header_timeout() {
    let node = Node::builder("demo")
        .env("SWITCHYARD__LIMITS__HEADER_TIMEOUT_MS", "500")
        .start();
    let wire = Wire::with_node(node);
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut conn = TcpStream::connect(wire.node.addr()).await.unwrap();
        conn.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(conn);
    }
    // Served while 200 connections dribble their headers.
    assert_eq!(served(&wire).await, StatusCode::BAD_REQUEST);
    let start = Instant::now();
    for conn in &mut slow {
        let answer = read_until_closed(conn, Duration::from_secs(10)).await;
        assert!(answer.is_some(), "a slow header connection stayed open");
        let answer = answer.unwrap_or_default();
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(served(&wire).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn connections_past_the_per_ip_cap_get_429_and_are_closed() {
    let node = Node::builder("demo")
        .env("SWITCHYARD__LIMITS__MAX_CONNECTIONS_PER_IP", "3")
        .start();
    let addr = node.addr();
    let _wire = Wire::with_node(node);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // The node counts connections as its workers take them, in no fixed order across
    // workers: try until the held three are all counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        let mut extra = TcpStream::connect(addr).await.unwrap();
        extra
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut extra, Duration::from_secs(10))
            .await
            .expect("the connection is closed");
        if answer.starts_with("HTTP/1.1 429") {
            break answer;
        }
        assert!(Instant::now() < deadline, "never refused: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(answer.contains("limits.max_connections_per_ip"), "{answer}");
    // Once the held connections go, the IP is served again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut conn, Duration::from_secs(5))
            .await
            .unwrap_or_default();
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
