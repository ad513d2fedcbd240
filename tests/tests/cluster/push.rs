//! 10,000 pushes to random nodes while a client follows its GET stream through nginx; the
//! node holding the stream is killed with SIGKILL midway; the client resumes through the
//! balancer and must receive every acknowledged push exactly once, in log order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use switchyard_tests::Cluster;
use tokio::time::Instant;

use crate::admin::Dice;
use crate::follower::{Received, follow};
use crate::push_check::KillRun;
use crate::pusher::{Pushed, Pushers};
use crate::support::{client, get_stream, initialize, node_of};

pub(crate) const MESSAGES: u64 = 10_000;
const CONCURRENCY: u64 = 16;
/// The whole test, on a busy 2-core machine with debug builds.
const DEADLINE: Duration = Duration::from_secs(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_pushes_survive_a_sigkill_of_the_stream_node() {
    let deadline = Instant::now() + DEADLINE;
    // Retention above the message count: the resume after the kill must find its events.
    let mut cluster = Cluster::builder(3, "everything")
        .env("SWITCHYARD__SESSION__EVENT_LOG_MAX_LEN", "20000")
        .start();
    let http = client();
    let session = initialize(&http, &cluster.mcp_url()).await;
    let first = get_stream(&http, &cluster.mcp_url(), &session, None)
        .await
        .expect("GET stream");
    assert_eq!(first.status(), StatusCode::OK, "{first:?}");
    let holder = cluster
        .index_of(&node_of(&first))
        .expect("a node of the cluster");

    let received = Arc::new(Mutex::new(Received::default()));
    let follower = tokio::spawn(follow(
        http.clone(),
        cluster.mcp_url(),
        session.clone(),
        first,
        MESSAGES,
        deadline,
        received.clone(),
    ));

    let mut targets: Vec<String> = (0..cluster.len()).map(|i| cluster.node_url(i)).collect();
    targets.push(cluster.url());
    let names: BTreeMap<String, String> = (0..cluster.len())
        .map(|i| (cluster.node_url(i), cluster.node_id(i).to_owned()))
        .chain([(cluster.url(), "nginx".to_owned())])
        .collect();
    let survivors: Vec<String> = (0..cluster.len())
        .filter(|&i| i != holder)
        .map(|i| cluster.node_url(i))
        .collect();
    let pushers = Pushers {
        http: http.clone(),
        targets: Arc::new(targets),
        session: session.clone(),
        next: Arc::new(AtomicU64::new(0)),
        total: MESSAGES,
        acked: Arc::new(AtomicUsize::new(0)),
        log: Arc::new(Mutex::new(Pushed {
            acks: vec![None; MESSAGES as usize],
            ..Pushed::default()
        })),
        deadline,
    };
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for seed in 0..CONCURRENCY {
        tasks.spawn(pushers.clone().run(0x9e37_79b9 + seed));
    }

    // Midway, kill the node holding the stream.
    while pushers.acked.load(Ordering::SeqCst) < MESSAGES as usize / 2 {
        assert!(
            Instant::now() < deadline,
            "half the pushes were not acknowledged in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let acked_at_kill = pushers.acked.load(Ordering::SeqCst);
    cluster.kill_node(holder);

    while let Some(done) = tasks.join_next().await {
        done.expect("a pushing task panicked")
            .unwrap_or_else(|e| panic!("pushing failed: {e:#}"));
    }
    // The sentinel comes after every acknowledged push in the log: once the follower has
    // it, it has had every chance to receive the rest.
    let sentinel = pushers
        .push_one(MESSAGES, &mut Dice::new(7))
        .await
        .expect("pushing the sentinel");
    let followed = tokio::time::timeout_at(deadline, follower).await;
    let received = std::mem::take(&mut *received.lock().expect("lock"));
    let pushed = std::mem::take(&mut *pushers.log.lock().expect("lock"));
    match followed {
        Ok(Ok(Ok(()))) => {}
        other => panic!(
            "the follower did not get the sentinel {sentinel}: {other:?}; received {} events; \
             reconnects {:?}; nginx: {}",
            received.events.len(),
            received.reconnects,
            cluster.nginx().error_log()
        ),
    }
    let run = KillRun {
        killed: cluster.node_id(holder).to_owned(),
        acked_at_kill,
        survivors,
        names,
        took: started.elapsed(),
    };
    run.check(&pushed, &received);
}
