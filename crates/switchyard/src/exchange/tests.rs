//! The exchange's two paths: a request done on its first poll never touches the in-flight map
//! or the bus; one still running is cancellable on this node and reaches the client through
//! the session channel.

use std::sync::atomic::AtomicUsize;
use std::time::Instant;

use bytes::Bytes;
use serde_json::json;
use switchyard_backend::{Backend, ServerInfo};
use switchyard_protocol::revision::Revision;
use switchyard_state::memory::MemoryBus;
use switchyard_state::{Bus, StateError, Subscription, Transport};

use super::*;
use crate::config::Config;

/// `quick` answers at once, `slow` waits for its cancellation, `ask` asks the client.
struct TestBackend;

#[async_trait]
impl Backend for TestBackend {
    fn info(&self) -> ServerInfo {
        ServerInfo {
            name: "test".into(),
            version: "0".into(),
            title: None,
        }
    }

    fn capabilities(&self) -> Value {
        json!({ "tools": {} })
    }

    async fn handle(&self, request: Request, ctx: Context) -> Result<Value, ErrorObject> {
        match request.param_str("name") {
            Some("quick") => Ok(json!({ "done": true })),
            Some("slow") => {
                ctx.cancel.cancelled().await;
                Ok(json!({ "cancelled": true }))
            }
            Some("flood") => {
                for i in 0..FLOOD {
                    ctx.notify(
                        "notifications/message",
                        json!({ "level": "info", "data": i }),
                    )
                    .await;
                    SENT.fetch_add(1, Ordering::SeqCst);
                }
                Ok(json!({ "flooded": FLOOD }))
            }
            Some("ask") => ctx
                .request("elicitation/create", json!({ "message": "?" }))
                .await
                .map(|answer| json!({ "answer": answer })),
            _ => Err(ErrorObject::invalid_params("unknown tool")),
        }
    }
}

/// The in-memory bus, counting subscriptions; `fail` makes every subscription fail.
struct CountingBus {
    inner: MemoryBus,
    subscribes: AtomicUsize,
    fail: bool,
}

#[async_trait]
impl Bus for CountingBus {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), StateError> {
        self.inner.publish(channel, payload).await
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, StateError> {
        self.subscribes.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(StateError::unavailable("test: the bus is down"));
        }
        self.inner.subscribe(channel).await
    }
}

struct Setup {
    node: Arc<Node>,
    bus: Arc<CountingBus>,
    session: Arc<SessionRecord>,
}

fn setup(fail: bool) -> Setup {
    let config = Config::default();
    let bus = Arc::new(CountingBus {
        inner: MemoryBus::new(16),
        subscribes: AtomicUsize::new(0),
        fail,
    });
    let ttl = Duration::from_secs(60);
    let node = Node::new(
        config,
        Arc::new(TestBackend),
        Arc::new(switchyard_state::memory::MemorySessionStore::new(ttl)),
        Arc::new(switchyard_state::memory::MemoryEventLog::with_idle_ttl(
            100, ttl,
        )),
        bus.clone(),
    );
    let init = Request::new(
        Id::Number(0),
        "initialize",
        json!({ "protocolVersion": "2025-11-25", "capabilities": { "elicitation": {} } })
            .as_object()
            .cloned(),
    );
    let session = Arc::new(crate::dispatch::new_record(
        "exchange-test".into(),
        Transport::StreamableHttp,
        Revision::LATEST_SESSION,
        &init,
    ));
    Setup { node, bus, session }
}

fn call(id: i64, tool: &str) -> Request {
    Request::new(
        Id::Number(id),
        "tools/call",
        json!({ "name": tool }).as_object().cloned(),
    )
}

const DEADLINE: Duration = Duration::from_secs(10);

/// What the `flood` tool sends: a million notifications.
const FLOOD: usize = 1_000_000;
/// How many of them the handler has sent so far (only the flood test uses it).
static SENT: AtomicUsize = AtomicUsize::new(0);

async fn next_message(rx: &mut mpsc::Receiver<Out>) -> Message {
    match tokio::time::timeout(DEADLINE, rx.recv()).await {
        Ok(Some(Out::Message(m))) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_done_on_its_first_poll_never_enters_the_in_flight_map_or_the_bus() {
    let s = setup(false);
    let (out, mut rx) = mpsc::channel(16);
    run(s.node.clone(), s.session.clone(), call(1, "quick"), out).await;
    let Message::Response(r) = next_message(&mut rx).await else {
        panic!("the first message is the response");
    };
    assert_eq!(r.outcome, Ok(json!({ "done": true })));
    assert!(rx.recv().await.is_none(), "nothing after the response");
    assert_eq!(s.bus.subscribes.load(Ordering::SeqCst), 0);
    assert!(lock(&s.node.inflight).is_empty());
}

#[tokio::test]
async fn a_running_request_is_in_flight_and_a_local_cancellation_stops_it() {
    let s = setup(false);
    let (out, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(run(s.node.clone(), s.session.clone(), call(2, "slow"), out));
    let key = (s.session.id.clone(), Id::Number(2));
    let start = Instant::now();
    while !lock(&s.node.inflight).contains_key(&key) {
        assert!(
            start.elapsed() < DEADLINE,
            "the request never became in flight"
        );
        tokio::task::yield_now().await;
    }
    let params = json!({ "requestId": 2 });
    cancel_local(&s.node, &s.session.id, params.as_object());
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("the exchange ends once cancelled")
        .expect("no panic");
    assert!(
        rx.recv().await.is_none(),
        "a cancelled request answers nothing"
    );
    assert!(lock(&s.node.inflight).is_empty(), "the entry is removed");
}

#[tokio::test]
async fn a_request_to_the_client_goes_out_and_its_answer_comes_back_on_the_session_channel() {
    let s = setup(false);
    let (out, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(run(s.node.clone(), s.session.clone(), call(3, "ask"), out));
    let Message::Request(asked) = next_message(&mut rx).await else {
        panic!("the first message is the request to the client");
    };
    assert_eq!(asked.method, "elicitation/create");
    assert_eq!(s.bus.subscribes.load(Ordering::SeqCst), 1);
    // The client's answer, as any node would publish it.
    let answer = Message::Response(switchyard_protocol::jsonrpc::Response::result(
        asked.id,
        json!({ "action": "accept" }),
    ));
    let env = Envelope::Client {
        data: answer.to_json(),
    };
    s.node
        .bus
        .publish(&s.session.channel(), env.to_bytes())
        .await
        .expect("publish");
    let Message::Response(r) = next_message(&mut rx).await else {
        panic!("then the response");
    };
    assert_eq!(r.outcome, Ok(json!({ "answer": { "action": "accept" } })));
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("done")
        .expect("no panic");
}

#[tokio::test]
async fn a_request_to_the_client_fails_at_once_when_the_session_channel_cannot_be_had() {
    let s = setup(true);
    let (out, mut rx) = mpsc::channel(16);
    // The client request timeout is 300 s: an answer within the deadline means the peer
    // learnt of the failed subscription instead of waiting it out.
    tokio::time::timeout(
        DEADLINE,
        run(s.node.clone(), s.session.clone(), call(4, "ask"), out),
    )
    .await
    .expect("the exchange ends without waiting for the timeout");
    let Message::Response(r) = next_message(&mut rx).await else {
        panic!("the response");
    };
    let err = r.outcome.expect_err("an error");
    assert!(err.message.contains("session channel"), "{err:?}");
    assert_eq!(s.bus.subscribes.load(Ordering::SeqCst), 1);
}

/// A backend that sends a million notifications to a writer that does not read is held back
/// by the bounded way to it: what it got ahead is bounded by the channels, not by the flood.
/// Then, read, everything arrives in order with the response last.
#[tokio::test]
async fn a_flood_to_a_writer_that_does_not_read_waits_instead_of_piling_up() {
    let s = setup(false);
    let (out, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(run(
        s.node.clone(),
        s.session.clone(),
        call(5, "flood"),
        out,
    ));
    // Let it run as far as it can.
    let start = Instant::now();
    let mut last = usize::MAX;
    loop {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let sent = SENT.load(Ordering::SeqCst);
        if sent == last {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the flood never stalled ({sent} sent)"
        );
        last = sent;
    }
    let ahead = switchyard_backend::OUTBOX + 16 + 2;
    assert!(
        last <= ahead,
        "{last} notifications got ahead of a writer that reads nothing (bound {ahead})"
    );
    let mut seen = 0;
    loop {
        match next_message(&mut rx).await {
            Message::Notification(n) => {
                assert_eq!(
                    n.params.as_ref().and_then(|p| p.get("data")),
                    Some(&json!(seen))
                );
                seen += 1;
            }
            Message::Response(r) => {
                assert_eq!(r.outcome, Ok(json!({ "flooded": FLOOD })));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, FLOOD);
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("the exchange ends after its response")
        .expect("no panic");
}
