//! `cancel_booking`: asks the user to confirm before the one irreversible step.
//!
//! The question is an `elicitation/create` under the key `confirm`. In the stateless
//! 2026-07-28 revision it is a multi round-trip request: the first call ends in
//! `input_required`, and the retry runs this handler again from the start with the answer —
//! so everything before the question is a read, and the booking is only cancelled after it.
//!
//! A client without the elicitation capability cannot be asked (and must not be, per the
//! spec). The tool then cancels without a question: it is annotated `destructiveHint`, which
//! is the signal for the client's own human-in-the-loop confirmation, and a demo that refused
//! every such client would be useless to half of them.

use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::ErrorObject;

use super::super::db::{self, Booking, Cancelled};
use super::super::{client_uri, structured};
use super::{Demo, Outcome, query};
use crate::Context;

/// The key of the confirmation question.
const CONFIRM: &str = "confirm";

pub(super) async fn cancel_booking(
    demo: &Demo,
    args: &Map<String, Value>,
    ctx: &Context,
) -> Result<Outcome, ErrorObject> {
    let id = match args.get("booking_id") {
        Some(v) => v.as_i64().filter(|id| *id > 0),
        None => return Ok(Err("missing required argument `booking_id`".into())),
    };
    let Some(id) = id else {
        return Ok(Err("`booking_id` must be a positive integer".into()));
    };
    // A read first, so that nobody is asked about a booking that cannot be cancelled.
    let booking = match query(demo, move |c| db::booking(c, id)).await {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(Err(format!("no booking with id {id}"))),
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = cancellable(&booking) {
        return Ok(Err(e));
    }
    if ctx.client_supports("elicitation") {
        let answer = match ctx
            .request_keyed(CONFIRM, "elicitation/create", question(&booking))
            .await
        {
            Ok(a) => a,
            Err(e) => {
                return Ok(Err(format!(
                    "could not ask for a confirmation ({}); booking {id} was not cancelled",
                    e.message
                )));
            }
        };
        if !confirmed(&answer)? {
            return Ok(Ok(structured(
                json!({ "cancelled": false, "booking": booking }),
            )));
        }
    }
    // Past the last question: only now change anything.
    let booking = match query(demo, move |c| db::cancel_booking(c, id)).await {
        Ok(Cancelled::Booking(b)) => b,
        Ok(Cancelled::NotFound) => return Ok(Err(format!("no booking with id {id}"))),
        Ok(Cancelled::NotCancellable(b)) => {
            return Ok(Err(format!(
                "booking {id} is {} and cannot be cancelled",
                b.status
            )));
        }
        Err(e) => return Ok(Err(e)),
    };
    ctx.resource_updated("clients://all");
    ctx.resource_updated(&client_uri(&booking.client_email));
    ctx.log(
        "info",
        Some("demo"),
        json!({ "event": "booking_cancelled", "booking": booking }),
    )
    .await;
    Ok(Ok(structured(
        json!({ "cancelled": true, "booking": booking }),
    )))
}

fn cancellable(booking: &Booking) -> Result<(), String> {
    match booking.status.as_str() {
        "pending" | "confirmed" => Ok(()),
        other => Err(format!(
            "booking {} is {other} and cannot be cancelled",
            booking.id
        )),
    }
}

/// The `elicitation/create` params: one required boolean.
fn question(booking: &Booking) -> Value {
    json!({
        "message": format!(
            "Cancel booking #{} ({} for {} at {})? This cannot be undone.",
            booking.id, booking.service, booking.client_email, booking.starts_at
        ),
        "requestedSchema": {
            "type": "object",
            "properties": {
                "confirm": {
                    "type": "boolean",
                    "title": "Cancel the booking",
                    "description": "true to cancel it, false to keep it"
                }
            },
            "required": ["confirm"]
        }
    })
}

/// Whether the user confirmed: only an accepted form with `confirm: true` is a yes. An answer
/// that is not an `ElicitResult` at all is the client's error.
fn confirmed(answer: &Value) -> Result<bool, ErrorObject> {
    let malformed = || {
        ErrorObject::invalid_params(format!(
            "the answer to `{CONFIRM}` is not an elicitation result"
        ))
    };
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => {
            let content = answer.get("content").ok_or_else(malformed)?;
            Ok(content.get("confirm") == Some(&Value::Bool(true)))
        }
        Some("decline" | "cancel") => Ok(false),
        _ => Err(malformed()),
    }
}
