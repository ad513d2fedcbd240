//! The push API as the tests use it: numbered notifications, pushed and acknowledged.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use switchyard_tests::{ADMIN_TOKEN, Cluster};

use crate::support::{STEP, Session};

/// The numbered notification the push tests send.
pub(crate) fn numbered(n: u64) -> Value {
    json!({
        "jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "logger": "push", "data": {"n": n}},
    })
}

/// The number in an SSE event's data written by [`numbered`].
pub(crate) fn number_of(data: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(data).ok()?;
    v["params"]["data"]["n"].as_u64()
}

/// `POST {base}/admin/v1/sessions/{id}/messages` with `body`.
pub(crate) async fn push(
    http: &reqwest::Client,
    base: &str,
    session: &Session,
    body: &Value,
) -> reqwest::Result<Response> {
    http.post(format!("{base}/admin/v1/sessions/{}/messages", session.id))
        .timeout(STEP)
        .bearer_auth(ADMIN_TOKEN)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
}

/// The event id in a 202 answer of the push API.
pub(crate) async fn acknowledged_id(response: Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON push answer");
    assert_eq!(status, StatusCode::ACCEPTED, "push answered {body}");
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no event id in the push answer {body}"))
        .to_owned()
}

/// Pushes `range` to the nodes in turn; the acknowledged ids.
pub(crate) async fn push_all(
    cluster: &Cluster,
    http: &reqwest::Client,
    s: &Session,
    range: std::ops::Range<u64>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for n in range {
        let base = cluster.node_url(n as usize % cluster.len());
        let r = push(http, &base, s, &numbered(n)).await.expect("push");
        ids.push(acknowledged_id(r).await);
    }
    ids
}

/// A small deterministic generator (xorshift64*), for "random" node choices without a
/// dependency.
#[derive(Debug, Clone)]
pub(crate) struct Dice(u64);

impl Dice {
    pub(crate) fn new(seed: u64) -> Dice {
        Dice(seed.max(1))
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}
