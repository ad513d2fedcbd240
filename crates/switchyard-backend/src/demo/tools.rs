//! The demo's tools: look clients up, list, create and cancel bookings, add clients, and a
//! slower report that reports progress.

mod cancel;

use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};

use super::db::{self, BookingFilter, Inserted, NewBooking};
use super::{Demo, arguments, client_uri, pause, structured, tool_error, validate};
use crate::{Context, ListKind};

const STATUSES: [&str; 4] = ["pending", "confirmed", "cancelled", "completed"];

/// Every tool, in a stable order.
pub(super) fn catalogue() -> Vec<Value> {
    let string = |description: &str| json!({ "type": "string", "description": description });
    let email = |description: &str| json!({ "type": "string", "format": "email", "description": description });
    vec![
        json!({
            "name": "get_client",
            "title": "Get client",
            "description": "Looks a client up by email and returns their details and bookings.",
            "inputSchema": {
                "type": "object",
                "properties": { "email": email("The client's email address") },
                "required": ["email"],
                "additionalProperties": false
            },
            "annotations": { "readOnlyHint": true }
        }),
        json!({
            "name": "list_bookings",
            "title": "List bookings",
            "description": "Lists bookings by start time, optionally only one client's, one \
                            status, or those still ahead.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "client_email": email("Only this client's bookings"),
                    "status": {
                        "type": "string",
                        "enum": STATUSES,
                        "description": "Only bookings with this status"
                    },
                    "upcoming_only": {
                        "type": "boolean",
                        "description": "Only bookings that start in the future",
                        "default": false
                    }
                },
                "required": [],
                "additionalProperties": false
            },
            "annotations": { "readOnlyHint": true }
        }),
        json!({
            "name": "create_booking",
            "title": "Create booking",
            "description": "Books a service for an existing client at a future time.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "client_email": email("The client's email address"),
                    "starts_at": {
                        "type": "string",
                        "format": "date-time",
                        "description": "When the booking starts, RFC 3339 with an offset, \
                                        e.g. 2030-01-15T10:00:00Z"
                    },
                    "service": string("What is booked, e.g. Consultation (at most 80 characters)"),
                    "notes": string("Anything to prepare (optional, at most 500 characters)")
                },
                "required": ["client_email", "starts_at", "service"],
                "additionalProperties": false
            }
        }),
        json!({
            "name": "cancel_booking",
            "title": "Cancel booking",
            "description": "Cancels a pending or confirmed booking by its id. Asks the user to \
                            confirm first when the client supports elicitation.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "booking_id": { "type": "integer", "minimum": 1, "description": "The booking's id" }
                },
                "required": ["booking_id"],
                "additionalProperties": false
            },
            "annotations": { "destructiveHint": true, "idempotentHint": true }
        }),
        json!({
            "name": "create_client",
            "title": "Create client",
            "description": "Adds a client; the email must not be taken.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "name": string("Full name (at most 120 characters)"),
                    "email": email("Email address, unique among clients"),
                    "phone": string("Phone number (optional)")
                },
                "required": ["name", "email"],
                "additionalProperties": false
            }
        }),
        json!({
            "name": "generate_report",
            "title": "Generate report",
            "description": "Summarises clients and bookings (by status and upcoming by \
                            service); takes a moment and reports progress.",
            "inputSchema": { "type": "object", "properties": {}, "required": [] },
            "annotations": { "readOnlyHint": true }
        }),
    ]
}

/// `tools/call`.
pub(super) async fn call(
    demo: &Demo,
    request: &Request,
    ctx: &Context,
) -> Result<Value, ErrorObject> {
    let name = request
        .param_str("name")
        .ok_or_else(|| ErrorObject::invalid_params("tools/call needs a string `name`"))?;
    let args = arguments(request)?;
    let outcome = match name {
        "get_client" => get_client(demo, &args).await,
        "list_bookings" => list_bookings(demo, &args).await,
        "create_booking" => create_booking(demo, &args, ctx).await,
        "cancel_booking" => cancel::cancel_booking(demo, &args, ctx).await?,
        "create_client" => create_client(demo, &args, ctx).await,
        "generate_report" => generate_report(demo, ctx).await?,
        other => {
            return Err(ErrorObject::invalid_params(format!(
                "Unknown tool: {other}"
            )));
        }
    };
    // Input and business-rule failures are the tool's own: the model can correct and retry.
    Ok(outcome.unwrap_or_else(tool_error))
}

type Outcome = Result<Value, String>;

/// Runs a query; a database failure becomes the tool's error message (and is logged).
async fn query<T, F>(demo: &Demo, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
{
    demo.db.call(f).await.map_err(|e| {
        tracing::error!(error = %e, "demo query failed");
        "the booking database is unavailable; try again later".to_owned()
    })
}

async fn get_client(demo: &Demo, args: &Map<String, Value>) -> Outcome {
    let email = validate::email(&validate::required_str(args, "email")?)?;
    let lookup = email.clone();
    let found = query(demo, move |c| {
        let Some(client) = db::client(c, &lookup)? else {
            return Ok(None);
        };
        let filter = BookingFilter {
            client_email: Some(client.email.clone()),
            ..Default::default()
        };
        Ok(Some((client, db::bookings(c, &filter)?)))
    })
    .await?;
    let (client, bookings) = found.ok_or_else(|| format!("no client with email {email}"))?;
    Ok(structured(
        json!({ "client": client, "bookings": bookings }),
    ))
}

async fn list_bookings(demo: &Demo, args: &Map<String, Value>) -> Outcome {
    let client_email = validate::optional_str(args, "client_email")?
        .map(|e| validate::email(&e))
        .transpose()?;
    let status = validate::optional_str(args, "status")?;
    if let Some(s) = &status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(format!("`status` must be one of {}", STATUSES.join(", ")));
    }
    let upcoming_only = match args.get("upcoming_only") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("`upcoming_only` must be a boolean, got {other}")),
    };
    let filter = BookingFilter {
        client_email,
        status,
        upcoming_only,
    };
    let bookings = query(demo, move |c| db::bookings(c, &filter)).await?;
    Ok(structured(json!({ "bookings": bookings })))
}

async fn create_booking(demo: &Demo, args: &Map<String, Value>, ctx: &Context) -> Outcome {
    let client_email = validate::email(&validate::required_str(args, "client_email")?)?;
    let starts_at = validate::date_time(&validate::required_str(args, "starts_at")?)?;
    let service = validate::required_str(args, "service")?;
    validate::max_len("service", &service, 80)?;
    let notes = validate::optional_str(args, "notes")?;
    if let Some(n) = &notes {
        validate::max_len("notes", n, 500)?;
    }
    let new = NewBooking {
        client_email: client_email.clone(),
        starts_at,
        service,
        notes,
    };
    let booking = match query(demo, move |c| db::insert_booking(c, &new)).await? {
        Inserted::Booking(b) => b,
        Inserted::UnknownClient => {
            return Err(format!(
                "no client with email {client_email}; create the client first"
            ));
        }
        Inserted::InThePast(at) => return Err(format!("{at} is in the past")),
        Inserted::Clash(at) => return Err(format!("the client already has a booking at {at}")),
    };
    ctx.resource_updated("clients://all");
    ctx.resource_updated(&client_uri(&booking.client_email));
    ctx.log(
        "info",
        Some("demo"),
        json!({ "event": "booking_created", "booking": booking }),
    )
    .await;
    tracing::info!(booking = booking.id, client = %booking.client_email, "booking created");
    Ok(structured(json!({ "booking": booking })))
}

async fn create_client(demo: &Demo, args: &Map<String, Value>, ctx: &Context) -> Outcome {
    let name = validate::required_str(args, "name")?;
    validate::max_len("name", &name, 120)?;
    let email = validate::email(&validate::required_str(args, "email")?)?;
    let phone = validate::optional_str(args, "phone")?;
    if let Some(p) = &phone {
        validate::max_len("phone", p, 40)?;
    }
    let (n, e) = (name.clone(), email.clone());
    let client = query(demo, move |c| {
        db::insert_client(c, &n, &e, phone.as_deref())
    })
    .await?
    .ok_or_else(|| format!("a client with email {email} already exists"))?;
    ctx.resource_updated("clients://all");
    ctx.list_changed(ListKind::Resources);
    ctx.log(
        "info",
        Some("demo"),
        json!({ "event": "client_created", "client": client }),
    )
    .await;
    Ok(structured(json!({ "client": client })))
}

/// Four progress steps over about 300 ms; cancellation is a protocol-level outcome.
async fn generate_report(demo: &Demo, ctx: &Context) -> Result<Outcome, ErrorObject> {
    const STEPS: f64 = 3.0;
    ctx.progress(0.0, Some(STEPS), Some("Counting clients"))
        .await;
    let clients = match query(demo, |c| db::clients(c).map(|v| v.len())).await {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    pause(ctx, 100).await?;
    ctx.progress(1.0, Some(STEPS), Some("Counting bookings by status"))
        .await;
    let by_status = match query(demo, |c| db::count_by_status(c)).await {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    pause(ctx, 100).await?;
    ctx.progress(
        2.0,
        Some(STEPS),
        Some("Counting upcoming bookings by service"),
    )
    .await;
    let by_service = match query(demo, |c| db::upcoming_by_service(c)).await {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    pause(ctx, 100).await?;
    ctx.progress(STEPS, Some(STEPS), Some("Done")).await;
    let upcoming: i64 = by_service.iter().map(|(_, n)| n).sum();
    let report = json!({
        "clients": clients,
        "bookings_by_status": by_status
            .into_iter()
            .map(|(status, n)| (status, json!(n)))
            .collect::<Map<String, Value>>(),
        "upcoming_bookings": upcoming,
        "upcoming_by_service": by_service
            .iter()
            .map(|(s, n)| json!({ "service": s, "bookings": n }))
            .collect::<Vec<_>>(),
        "busiest_service": by_service.first().map(|(s, _)| s.clone()),
    });
    Ok(Ok(structured(report)))
}
