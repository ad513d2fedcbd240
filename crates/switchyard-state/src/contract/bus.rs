//! The [`Bus`] clauses.

use std::future::Future;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};

use super::support::{unique, within};
use crate::{Bus, Delivery, Subscription};

/// Messages in the ordering check.
const ORDERED: u64 = 1000;

/// The capacity of the lag check, and how many times over it the subscriber falls behind.
const SMALL: usize = 8;
const OVERRUN: usize = 16;

/// Runs every [`Bus`] clause.
///
/// `make(capacity)` returns two handles (two "nodes") on one bus whose subscriptions each
/// buffer about `capacity` undelivered payloads before they lag (and yield a
/// [`Delivery::Gap`]). It is called with 4096 (nothing may lag) and with 8 (a subscriber
/// that reads nothing while 128 payloads are published must lag).
pub async fn bus<B, F, Fut>(mut make: F)
where
    B: Bus,
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = (B, B)>,
{
    let (a, b) = within("make(4096)", make(4096)).await;
    reaches_every_subscription(&a, &b).await;
    channels_are_independent(&a, &b).await;
    publish_order_is_kept(&a, &b).await;
    dropping_a_subscription(&a, &b).await;
    publish_to_nobody(&a).await;
    many_channels(&a, &b).await;
    drop((a, b));

    let (a, b) = within("make(8)", make(SMALL)).await;
    gap_on_lag(&a, &b).await;
}

async fn subscribe<B: Bus>(bus: &B, channel: &str) -> Subscription {
    within("subscribe", bus.subscribe(channel))
        .await
        .unwrap_or_else(|e| panic!("contract: subscribe failed: {e}"))
}

async fn publish<B: Bus>(bus: &B, channel: &str, payload: impl Into<String>) {
    within("publish", bus.publish(channel, Bytes::from(payload.into())))
        .await
        .unwrap_or_else(|e| panic!("contract: publish failed: {e}"))
}

async fn next(sub: &mut Subscription, what: &str) -> Delivery {
    within(what, sub.next()).await.unwrap_or_else(|| {
        panic!("contract: {what}: a subscription must not end while the bus runs")
    })
}

/// The next payload, as text; a `Gap` fails (nothing lags where this is used).
async fn message(sub: &mut Subscription, what: &str) -> String {
    match next(sub, what).await {
        Delivery::Message(b) => String::from_utf8_lossy(&b).into_owned(),
        Delivery::Gap => panic!("contract: {what}: unexpected Gap, though the subscriber kept up"),
    }
}

/// A payload reaches every subscription established before it was published, on both
/// nodes, from either node, once.
async fn reaches_every_subscription<B: Bus>(a: &B, b: &B) {
    let ch = unique("ch");
    let mut subs = [
        subscribe(a, &ch).await,
        subscribe(a, &ch).await,
        subscribe(b, &ch).await,
    ];
    publish(a, &ch, "from-a").await;
    publish(b, &ch, "from-b").await;
    for sub in &mut subs {
        let mut got = [
            message(
                sub,
                "a payload published after subscribe returned must arrive",
            )
            .await,
            message(
                sub,
                "a payload published after subscribe returned must arrive",
            )
            .await,
        ];
        got.sort();
        assert_eq!(
            got,
            ["from-a", "from-b"],
            "contract: every subscription must receive each payload exactly once"
        );
    }
    for sub in &mut subs {
        assert!(
            sub.next().now_or_never().is_none(),
            "contract: a payload must be delivered at most once"
        );
    }
}

/// A subscriber sees only its own channel's payloads, even where names share a prefix or
/// contain pattern characters.
async fn channels_are_independent<B: Bus>(a: &B, b: &B) {
    let base = unique("ch");
    let names = [
        base.clone(),
        format!("{base}:x"),
        format!("{base}*"),
        format!("{base}?"),
        format!("{base}[x]"),
    ];
    let mut subs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        subs.push(subscribe(if i % 2 == 0 { a } else { b }, name).await);
    }
    for name in &names {
        publish(a, name, name.clone()).await;
    }
    for name in &names {
        publish(b, name, "end").await;
    }
    for (name, sub) in names.iter().zip(&mut subs) {
        let mut own = 0;
        loop {
            let m = message(sub, "a payload of its own channel must arrive").await;
            if m == "end" {
                break;
            }
            assert_eq!(
                &m, name,
                "contract: a subscriber of {name:?} must never see another channel's payloads"
            );
            own += 1;
        }
        assert_eq!(
            own, 1,
            "contract: a subscriber of {name:?} must receive its channel's payload exactly once"
        );
    }
}

/// Payloads from one publisher on one channel arrive in publish order, complete, at every
/// subscriber that keeps up.
async fn publish_order_is_kept<B: Bus>(a: &B, b: &B) {
    let ch = unique("ch");
    let (mut on_a, mut on_b) = (subscribe(a, &ch).await, subscribe(b, &ch).await);
    let publisher = async {
        for i in 0..ORDERED {
            publish(a, &ch, i.to_string()).await;
        }
    };
    let ((), got_a, got_b) =
        futures::join!(publisher, read_burst(&mut on_a), read_burst(&mut on_b));
    let expected: Vec<String> = (0..ORDERED).map(|i| i.to_string()).collect();
    assert!(
        got_a == expected,
        "contract: payloads from one publisher must arrive in publish order (same node)"
    );
    assert!(
        got_b == expected,
        "contract: payloads from one publisher must arrive in publish order (other node)"
    );
}

async fn read_burst(sub: &mut Subscription) -> Vec<String> {
    let mut got = Vec::with_capacity(ORDERED as usize);
    for _ in 0..ORDERED {
        got.push(message(sub, "payloads published in a burst must all arrive").await);
    }
    got
}

/// Dropping a subscription affects no other; a channel can be subscribed again after its
/// last subscription was dropped; a live subscription does not end.
async fn dropping_a_subscription<B: Bus>(a: &B, b: &B) {
    let ch = unique("ch");
    let first = subscribe(a, &ch).await;
    let mut same_node = subscribe(a, &ch).await;
    let mut other_node = subscribe(b, &ch).await;
    drop(first);
    publish(b, &ch, "x").await;
    assert_eq!(
        message(&mut same_node, "after another subscription was dropped").await,
        "x",
        "contract: dropping a subscription must not affect the others"
    );
    assert_eq!(
        message(&mut other_node, "after another subscription was dropped").await,
        "x",
        "contract: dropping a subscription must not affect the others"
    );
    assert!(
        same_node.next().now_or_never().is_none(),
        "contract: a subscription must stay open (and silent) when another one is dropped"
    );
    drop((same_node, other_node));

    let mut again = subscribe(a, &ch).await;
    publish(b, &ch, "y").await;
    let mut m = message(&mut again, "a channel subscribed again").await;
    if m == "x" {
        // An earlier payload still in flight to this node may reach a later subscription.
        m = message(&mut again, "a channel subscribed again").await;
    }
    assert_eq!(
        m, "y",
        "contract: a channel must work again after its last subscription was dropped"
    );
    assert!(
        again.next().now_or_never().is_none(),
        "contract: a subscription must stay open until the bus shuts down"
    );
}

/// Publishing to a channel nobody subscribes to succeeds.
async fn publish_to_nobody<B: Bus>(a: &B) {
    publish(a, &unique("nobody"), "x").await;
}

/// Two hundred channels at once, each with its own payload.
async fn many_channels<B: Bus>(a: &B, b: &B) {
    let names: Vec<String> = (0..200).map(|_| unique("many")).collect();
    let mut subs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        subs.push(subscribe(if i % 2 == 0 { a } else { b }, name).await);
    }
    for (i, name) in names.iter().enumerate() {
        publish(if i % 2 == 0 { b } else { a }, name, name.clone()).await;
    }
    for (name, sub) in names.iter().zip(&mut subs) {
        assert_eq!(
            &message(sub, "one payload on each of 200 channels").await,
            name,
            "contract: each of many channels must get its own payload"
        );
    }
}

/// A subscriber that falls behind receives `Gap` where payloads are missing, keeps the
/// order of what it does receive, and then continues.
async fn gap_on_lag<B: Bus>(a: &B, b: &B) {
    let ch = unique("lag");
    let mut sub = subscribe(b, &ch).await;
    let total = (SMALL * OVERRUN) as u64;
    for i in 0..total {
        publish(a, &ch, i.to_string()).await;
    }
    publish(a, &ch, "end").await;
    let (mut expected, mut gap_pending, mut gaps, mut received) = (0u64, false, 0, 0);
    loop {
        match next(
            &mut sub,
            "the last payload published to a lagging subscriber",
        )
        .await
        {
            Delivery::Gap => {
                gap_pending = true;
                gaps += 1;
            }
            Delivery::Message(m) if &m[..] == b"end" => break,
            Delivery::Message(m) => {
                let i: u64 = std::str::from_utf8(&m)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("contract: a lagging subscriber received a payload never published: {m:?}"));
                assert!(
                    i >= expected,
                    "contract: payload {i} arrived after {} (out of order or twice)",
                    expected.wrapping_sub(1)
                );
                assert!(
                    i == expected || gap_pending,
                    "contract: payloads {expected}..{i} were missed without a Gap before {i}"
                );
                expected = i + 1;
                gap_pending = false;
                received += 1;
            }
        }
    }
    assert!(
        gaps > 0,
        "contract: a subscriber {total} payloads behind with capacity {SMALL} must receive a Gap (got {received} payloads, no Gap)"
    );
    publish(a, &ch, "after").await;
    assert_eq!(
        next(&mut sub, "a payload after a Gap").await,
        Delivery::Message(Bytes::from_static(b"after")),
        "contract: a subscription must continue after a Gap"
    );
}
