//! The operation schedule of a run, drawn from its seed alone (never from what the cluster
//! answers), so `CHECKER_SEED=<n>` replays the same schedule.
//!
//! Client 0 is the *listener*: a session whose only activity is its GET stream (pushes to it
//! probe that it is still alive). Clients 1..=4 speak Streamable HTTP, client 5 HTTP+SSE.
//! Every run gets each fault kind at least once, at a random place, plus short scenarios
//! that lead into the known weak spots (a silent client resuming elsewhere, a FIN and a fresh
//! GET, pushes around a log eviction, broadcast bursts around a pub/sub kill).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use switchyard_tests::Signal;

use crate::ctx::Target;
use crate::history::Leave;

/// Clients per run: the listener, four Streamable HTTP, one HTTP+SSE.
pub(crate) const CLIENTS: usize = 6;
/// The HTTP+SSE client.
pub(crate) const LEGACY: usize = 5;
/// Nodes per run.
pub(crate) const NODES: usize = 3;

/// One operation.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Report {
        client: usize,
        target: Target,
    },
    Cheap {
        client: usize,
    },
    Subscribe {
        client: usize,
    },
    Booking {
        client: usize,
    },
    Push {
        client: usize,
        target: Target,
    },
    Broadcast {
        target: Target,
    },
    /// `n` broadcasts at once (through every node), optionally killing the pub/sub
    /// connections in the middle.
    Burst {
        n: usize,
        kill_pubsub: bool,
    },
    Deliver {
        client: usize,
    },
    Leave {
        client: usize,
        how: Leave,
    },
    Resume {
        client: usize,
        target: Target,
    },
    Reopen {
        client: usize,
        target: Target,
    },
    Delete {
        client: usize,
    },
    StopNode {
        node: usize,
        signal: Signal,
    },
    RestartNode {
        node: usize,
    },
    KillPubsub,
    RestartRedis {
        signal: Signal,
    },
    EvictMeta {
        client: usize,
    },
    EvictEpoch,
    /// `generate_report`, and SIGKILL of its node once its SSE answer started.
    KillDuringReport {
        client: usize,
    },
}

/// An operation and the pause before it (pacing, not synchronisation).
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) pause_ms: u64,
    pub(crate) op: Op,
}

/// The fault kinds every run includes.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill,
    Term,
    Pubsub,
    Redis,
    Evict,
    Epoch,
    KillReport,
}

fn target(rng: &mut StdRng) -> Target {
    match rng.random_range(0..4) {
        3 => Target::Nginx,
        i => Target::Node(i),
    }
}

fn streamable(rng: &mut StdRng) -> usize {
    rng.random_range(1..LEGACY)
}

fn any_client(rng: &mut StdRng) -> usize {
    rng.random_range(1..CLIENTS)
}

/// The schedule of `seed`: `len` steps.
pub(crate) fn generate(seed: u64, len: usize) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut faults = vec![
        Fault::Kill,
        Fault::Term,
        Fault::Pubsub,
        Fault::Redis,
        Fault::Evict,
        Fault::KillReport,
        Fault::Pubsub,
    ];
    if rng.random_bool(0.5) {
        faults.push(Fault::Epoch);
    }
    faults.shuffle(&mut rng);
    // Every fault within the first 80% of the steps (the run may stop before the last).
    let every = len * 8 / 10 / (faults.len() + 1);
    let mut next_fault = every;
    let mut ops: Vec<Op> = Vec::new();
    // (step index, node) of pending restarts.
    let mut restarts: Vec<(usize, usize)> = Vec::new();
    let mut down: Option<usize> = None;
    while ops.len() < len {
        if let Some(p) = restarts.iter().position(|&(at, _)| at <= ops.len()) {
            let (_, node) = restarts.remove(p);
            ops.push(Op::RestartNode { node });
            down = None;
            continue;
        }
        if ops.len() >= next_fault
            && let Some(f) = faults.pop()
        {
            next_fault += every;
            fault(&mut rng, f, &mut ops, &mut restarts, &mut down);
            continue;
        }
        let c = streamable(&mut rng);
        match rng.random_range(0..100) {
            0..=11 => ops.push(Op::Push {
                client: any_client(&mut rng),
                target: target(&mut rng),
            }),
            12..=19 => ops.push(Op::Broadcast {
                target: target(&mut rng),
            }),
            20..=25 => ops.push(Op::Deliver {
                client: any_client(&mut rng),
            }),
            26..=33 => ops.push(Op::Report {
                client: any_client(&mut rng),
                target: target(&mut rng),
            }),
            34..=38 => ops.push(Op::Cheap {
                client: any_client(&mut rng),
            }),
            39..=42 => ops.push(Op::Subscribe {
                client: any_client(&mut rng),
            }),
            // Bookings notify every standalone stream (and refresh its session's idle TTL,
            // which would hide an expiry): only in the first third of the run.
            43..=45 if ops.len() < len / 3 => ops.push(Op::Booking {
                client: any_client(&mut rng),
            }),
            43..=45 => ops.push(Op::Cheap {
                client: any_client(&mut rng),
            }),
            46..=55 => {
                let how = [Leave::Fin, Leave::Rst, Leave::Silent][rng.random_range(0..3)];
                ops.push(Op::Leave { client: c, how });
            }
            56..=67 => ops.push(Op::Resume {
                client: c,
                target: target(&mut rng),
            }),
            68..=71 => ops.push(Op::Reopen {
                client: c,
                target: target(&mut rng),
            }),
            72 => ops.push(Op::Delete {
                client: any_client(&mut rng),
            }),
            73..=80 => {
                // A silent client resumes elsewhere; both attachments see what follows.
                let t = target(&mut rng);
                ops.push(Op::Leave {
                    client: c,
                    how: Leave::Silent,
                });
                ops.push(Op::Resume {
                    client: c,
                    target: t,
                });
                ops.push(Op::Deliver { client: c });
                ops.push(Op::Push {
                    client: c,
                    target: target(&mut rng),
                });
            }
            81..=86 => {
                // A FIN, then a fresh stream.
                ops.push(Op::Leave {
                    client: c,
                    how: Leave::Fin,
                });
                ops.push(Op::Reopen {
                    client: c,
                    target: target(&mut rng),
                });
                ops.push(Op::Push {
                    client: c,
                    target: target(&mut rng),
                });
            }
            87..=92 => ops.push(Op::Burst {
                n: rng.random_range(10..40),
                kill_pubsub: false,
            }),
            _ => ops.push(Op::Cheap {
                client: any_client(&mut rng),
            }),
        }
    }
    ops.truncate(len);
    // Whatever is still down comes back before the quiet period (the executor also makes
    // sure of it).
    if let Some(node) = down {
        ops.push(Op::RestartNode { node });
    }
    ops.into_iter()
        .map(|op| Step {
            pause_ms: rng.random_range(30..130),
            op,
        })
        .collect()
}

fn fault(
    rng: &mut StdRng,
    f: Fault,
    ops: &mut Vec<Op>,
    restarts: &mut Vec<(usize, usize)>,
    down: &mut Option<usize>,
) {
    let at = ops.len();
    let stop = |signal,
                ops: &mut Vec<Op>,
                restarts: &mut Vec<(usize, usize)>,
                down: &mut Option<usize>,
                rng: &mut StdRng| {
        if down.is_some() {
            return;
        }
        let node = rng.random_range(0..NODES);
        ops.push(Op::StopNode { node, signal });
        restarts.push((at + rng.random_range(8..16), node));
        *down = Some(node);
    };
    match f {
        Fault::Kill => stop(Signal::Kill, ops, restarts, down, rng),
        Fault::Term => stop(Signal::Term, ops, restarts, down, rng),
        Fault::Pubsub => ops.push(Op::Burst {
            n: rng.random_range(20..50),
            kill_pubsub: true,
        }),
        Fault::Redis => ops.push(Op::RestartRedis {
            signal: if rng.random_bool(0.5) {
                Signal::Term
            } else {
                Signal::Kill
            },
        }),
        Fault::Evict => {
            // A fresh stream with one push read; two more logged while the client is away;
            // the log meta is lost; three more pushes; the client resumes after the first.
            let c = streamable(rng);
            ops.push(Op::Reopen {
                client: c,
                target: target(rng),
            });
            ops.push(Op::Push {
                client: c,
                target: target(rng),
            });
            ops.push(Op::Leave {
                client: c,
                how: Leave::Fin,
            });
            for _ in 0..2 {
                ops.push(Op::Push {
                    client: c,
                    target: target(rng),
                });
            }
            ops.push(Op::EvictMeta { client: c });
            for _ in 0..3 {
                ops.push(Op::Push {
                    client: c,
                    target: target(rng),
                });
            }
            ops.push(Op::Resume {
                client: c,
                target: target(rng),
            });
        }
        Fault::Epoch => ops.push(Op::EvictEpoch),
        Fault::KillReport => {
            if down.is_none() {
                ops.push(Op::KillDuringReport {
                    client: streamable(rng),
                });
                // The killed node is found at run time; the executor restarts it.
            }
        }
    }
}
