//! `CHECKER_FOCUS=<1..6>`: one short, fixed schedule per known bug, run through the same
//! executor and checker as the seeded runs.

use crate::ctx::Target;
use crate::history::Leave;
use crate::schedule::{Op, Step};

fn step(pause_ms: u64, op: Op) -> Step {
    Step { pause_ms, op }
}

/// The schedule for invariant `n`.
pub(crate) fn schedule(n: u8) -> Vec<Step> {
    let c = 1;
    let warm = [
        step(300, Op::Cheap { client: c }),
        step(300, Op::Subscribe { client: c }),
        step(
            300,
            Op::Push {
                client: c,
                target: Target::Node(0),
            },
        ),
    ];
    let mut s: Vec<Step> = warm.into_iter().collect();
    match n {
        1 => {
            // A silent client resumes on another node; both attachments log what arrives.
            s.push(step(
                300,
                Op::Leave {
                    client: c,
                    how: Leave::Silent,
                },
            ));
            s.push(step(
                100,
                Op::Resume {
                    client: c,
                    target: Target::Node(1),
                },
            ));
            for _ in 0..3 {
                s.push(step(200, Op::Deliver { client: c }));
            }
            s.push(step(200, Op::Booking { client: 2 }));
        }
        2 => {
            // A FIN, then a fresh GET (409); a silent client resuming (both get pushes).
            s.push(step(
                300,
                Op::Leave {
                    client: c,
                    how: Leave::Fin,
                },
            ));
            s.push(step(
                100,
                Op::Reopen {
                    client: c,
                    target: Target::Node(2),
                },
            ));
            s.push(step(
                300,
                Op::Leave {
                    client: 2,
                    how: Leave::Silent,
                },
            ));
            s.push(step(
                100,
                Op::Resume {
                    client: 2,
                    target: Target::Node(1),
                },
            ));
            for i in 0..3 {
                s.push(step(
                    200,
                    Op::Push {
                        client: 2,
                        target: Target::Node(i),
                    },
                ));
            }
        }
        3 => {
            for _ in 0..4 {
                s.push(step(
                    50,
                    Op::Broadcast {
                        target: Target::Node(0),
                    },
                ));
            }
            s.push(step(50, Op::KillPubsub));
            for i in 0..8 {
                s.push(step(
                    20,
                    Op::Broadcast {
                        target: Target::Node(i % 3),
                    },
                ));
            }
            s.push(step(200, Op::Booking { client: 2 }));
        }
        4 => {
            s.push(step(
                300,
                Op::Leave {
                    client: c,
                    how: Leave::Fin,
                },
            ));
            s.push(step(
                100,
                Op::Push {
                    client: c,
                    target: Target::Node(1),
                },
            ));
            s.push(step(
                100,
                Op::Push {
                    client: c,
                    target: Target::Node(2),
                },
            ));
            s.push(step(100, Op::EvictMeta { client: c }));
            s.push(step(
                100,
                Op::Push {
                    client: c,
                    target: Target::Node(0),
                },
            ));
            s.push(step(
                100,
                Op::Resume {
                    client: c,
                    target: Target::Nginx,
                },
            ));
        }
        5 => {
            s.push(step(300, Op::KillDuringReport { client: c }));
            s.push(step(100, Op::Cheap { client: 2 }));
        }
        _ => {
            // Only the listener's stream is open past the idle TTL; the executor probes it.
            for _ in 0..10 {
                s.push(step(1_000, Op::Cheap { client: c }));
            }
        }
    }
    s
}
