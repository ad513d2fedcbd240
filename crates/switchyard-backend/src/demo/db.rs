//! The demo's SQLite store: schema, first-run seed, and the queries the handlers use.
//!
//! One connection behind a `std::sync::Mutex`; every query runs on tokio's blocking pool
//! ([`Db::call`]) so a slow disk never stalls the runtime. Times are stored as RFC 3339 UTC
//! strings (`2030-01-15T10:00:00Z`), which sort chronologically as text.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE clients (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    phone TEXT
);
CREATE TABLE bookings (
    id        INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id),
    starts_at TEXT NOT NULL,
    service   TEXT NOT NULL,
    notes     TEXT,
    status    TEXT NOT NULL DEFAULT 'confirmed'
              CHECK (status IN ('pending', 'confirmed', 'cancelled', 'completed'))
);
CREATE INDEX bookings_by_start ON bookings (starts_at);
-- A client cannot be in two places at once; cancelled bookings do not count.
CREATE UNIQUE INDEX bookings_one_at_a_time ON bookings (client_id, starts_at)
    WHERE status != 'cancelled';
";

/// Seed rows; booking times are relative to the first run so that some lie ahead.
const SEED: &str = "
INSERT INTO clients (name, email, phone) VALUES
    ('Ada Lovelace', 'ada@example.com', '+44 20 7946 0001'),
    ('Grace Hopper', 'grace@example.com', '+1 202 555 0142'),
    ('Alan Turing', 'alan@example.com', '+44 161 496 0123'),
    ('Katherine Johnson', 'katherine@example.com', NULL);
INSERT INTO bookings (client_id, starts_at, service, notes, status) VALUES
    (1, strftime('%Y-%m-%dT10:00:00Z', 'now', '-7 days'), 'Initial consultation',
        'Wants to discuss the analytical engine project', 'completed'),
    (1, strftime('%Y-%m-%dT14:30:00Z', 'now', '+2 days'), 'Follow-up', NULL, 'confirmed'),
    (2, strftime('%Y-%m-%dT09:00:00Z', 'now', '-14 days'), 'Workshop',
        'Cancelled: travelling', 'cancelled'),
    (2, strftime('%Y-%m-%dT11:00:00Z', 'now', '+1 days'), 'Initial consultation',
        'Prefers morning slots', 'pending'),
    (3, strftime('%Y-%m-%dT16:00:00Z', 'now', '+5 days'), 'Workshop', NULL, 'confirmed');
";

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

/// A client of the business.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Client {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) phone: Option<String>,
}

/// A booking of a client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Booking {
    pub(crate) id: i64,
    pub(crate) client_email: String,
    pub(crate) starts_at: String,
    pub(crate) service: String,
    pub(crate) notes: Option<String>,
    pub(crate) status: String,
}

/// Why a query could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task panicked or was cancelled.
    #[error("database task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The shared connection.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens the database at `path` (`:memory:` for a private in-memory one), creating the
    /// schema and seeding it the first time.
    pub(crate) fn open(path: &Path) -> rusqlite::Result<Self> {
        let mut conn = if path.as_os_str() == ":memory:" {
            Connection::open_in_memory()?
        } else {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // A failure here surfaces as SQLite's own "unable to open" error just below.
                let _ = std::fs::create_dir_all(dir);
            }
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version == 0 {
            // Several nodes may start at once on one new file (the README's two nodes on one
            // machine): take the write lock first, then look again, so one creates and seeds
            // it and the others find it done.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if version != 0 {
                tx.commit()?;
                return Ok(Self {
                    conn: Arc::new(Mutex::new(conn)),
                });
            }
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(SEED)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
            tracing::info!(path = %path.display(), "demo database created and seeded");
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let out = tokio::task::spawn_blocking(move || {
            // A panic in an earlier query leaves the connection itself usable.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await??;
        Ok(out)
    }
}

fn client_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        phone: r.get(3)?,
    })
}

fn booking_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Booking> {
    Ok(Booking {
        id: r.get(0)?,
        client_email: r.get(1)?,
        starts_at: r.get(2)?,
        service: r.get(3)?,
        notes: r.get(4)?,
        status: r.get(5)?,
    })
}

const BOOKING_COLUMNS: &str = "SELECT b.id, c.email, b.starts_at, b.service, b.notes, b.status \
     FROM bookings b JOIN clients c ON c.id = b.client_id";

/// Every client, by name.
pub(crate) fn clients(conn: &Connection) -> rusqlite::Result<Vec<Client>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, email, phone FROM clients ORDER BY name")?;
    stmt.query_map([], client_row)?.collect()
}

/// The client with this email (case-insensitive).
pub(crate) fn client(conn: &Connection, email: &str) -> rusqlite::Result<Option<Client>> {
    conn.query_row(
        "SELECT id, name, email, phone FROM clients WHERE email = ?1",
        [email],
        client_row,
    )
    .optional()
}

/// Which bookings [`bookings`] returns.
#[derive(Debug, Clone, Default)]
pub(crate) struct BookingFilter {
    pub(crate) client_email: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) upcoming_only: bool,
}

/// Bookings matching `filter`, by start time.
pub(crate) fn bookings(
    conn: &Connection,
    filter: &BookingFilter,
) -> rusqlite::Result<Vec<Booking>> {
    let sql = format!(
        "{BOOKING_COLUMNS} WHERE (?1 IS NULL OR c.email = ?1) AND (?2 IS NULL OR b.status = ?2) \
         AND (?3 = 0 OR b.starts_at > {NOW}) ORDER BY b.starts_at, b.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_map(
        params![filter.client_email, filter.status, filter.upcoming_only],
        booking_row,
    )?
    .collect()
}

/// One booking by id.
pub(crate) fn booking(conn: &Connection, id: i64) -> rusqlite::Result<Option<Booking>> {
    conn.query_row(
        &format!("{BOOKING_COLUMNS} WHERE b.id = ?1"),
        [id],
        booking_row,
    )
    .optional()
}

/// A booking to insert; `starts_at` is a validated RFC 3339 date-time (any offset).
#[derive(Debug, Clone)]
pub(crate) struct NewBooking {
    pub(crate) client_email: String,
    pub(crate) starts_at: String,
    pub(crate) service: String,
    pub(crate) notes: Option<String>,
}

/// The outcome of [`insert_booking`].
#[derive(Debug)]
pub(crate) enum Inserted {
    Booking(Booking),
    UnknownClient,
    InThePast(String),
    Clash(String),
}

/// Inserts a confirmed booking, unless the client is unknown, the time has passed, or the
/// client already has a booking at that time.
pub(crate) fn insert_booking(
    conn: &mut Connection,
    new: &NewBooking,
) -> rusqlite::Result<Inserted> {
    let tx = conn.transaction()?;
    let Some(client) = client(&tx, &new.client_email)? else {
        return Ok(Inserted::UnknownClient);
    };
    let (utc, past): (String, bool) = tx.query_row(
        &format!(
            "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', ?1), strftime('%Y-%m-%dT%H:%M:%SZ', ?1) <= {NOW}"
        ),
        [&new.starts_at],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if past {
        return Ok(Inserted::InThePast(utc));
    }
    let clash: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM bookings WHERE client_id = ?1 AND starts_at = ?2 \
         AND status != 'cancelled')",
        params![client.id, utc],
        |r| r.get(0),
    )?;
    if clash {
        return Ok(Inserted::Clash(utc));
    }
    tx.execute(
        "INSERT INTO bookings (client_id, starts_at, service, notes, status) \
         VALUES (?1, ?2, ?3, ?4, 'confirmed')",
        params![client.id, utc, new.service, new.notes],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(Inserted::Booking(Booking {
        id,
        client_email: client.email,
        starts_at: utc,
        service: new.service.clone(),
        notes: new.notes.clone(),
        status: "confirmed".into(),
    }))
}

/// The outcome of [`cancel_booking`].
#[derive(Debug)]
pub(crate) enum Cancelled {
    Booking(Booking),
    NotFound,
    NotCancellable(Booking),
}

/// Cancels a pending or confirmed booking.
pub(crate) fn cancel_booking(conn: &mut Connection, id: i64) -> rusqlite::Result<Cancelled> {
    let tx = conn.transaction()?;
    let found = tx
        .query_row(
            &format!("{BOOKING_COLUMNS} WHERE b.id = ?1"),
            [id],
            booking_row,
        )
        .optional()?;
    let Some(mut booking) = found else {
        return Ok(Cancelled::NotFound);
    };
    if booking.status != "pending" && booking.status != "confirmed" {
        return Ok(Cancelled::NotCancellable(booking));
    }
    tx.execute(
        "UPDATE bookings SET status = 'cancelled' WHERE id = ?1",
        [id],
    )?;
    tx.commit()?;
    booking.status = "cancelled".into();
    Ok(Cancelled::Booking(booking))
}

/// Adds a client; `None` when the email is taken.
pub(crate) fn insert_client(
    conn: &Connection,
    name: &str,
    email: &str,
    phone: Option<&str>,
) -> rusqlite::Result<Option<Client>> {
    let inserted = conn.execute(
        "INSERT INTO clients (name, email, phone) VALUES (?1, ?2, ?3) ON CONFLICT (email) DO NOTHING",
        params![name, email, phone],
    )?;
    if inserted == 0 {
        return Ok(None);
    }
    Ok(Some(Client {
        id: conn.last_insert_rowid(),
        name: name.to_owned(),
        email: email.to_owned(),
        phone: phone.map(str::to_owned),
    }))
}

/// Emails starting with `prefix` (case-insensitive), sorted, at most `limit`; and how many
/// match in all.
pub(crate) fn emails_with_prefix(
    conn: &Connection,
    prefix: &str,
    limit: usize,
) -> rusqlite::Result<(Vec<String>, usize)> {
    let mut stmt = conn.prepare_cached("SELECT email FROM clients ORDER BY email")?;
    let all: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let prefix = prefix.to_lowercase();
    let matching: Vec<String> = all
        .into_iter()
        .filter(|e| e.to_lowercase().starts_with(&prefix))
        .collect();
    let total = matching.len();
    Ok((matching.into_iter().take(limit).collect(), total))
}

/// Booking counts per status.
pub(crate) fn count_by_status(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt = conn
        .prepare_cached("SELECT status, COUNT(*) FROM bookings GROUP BY status ORDER BY status")?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// Upcoming, not cancelled, bookings per service, busiest first.
pub(crate) fn upcoming_by_service(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let sql = format!(
        "SELECT service, COUNT(*) AS n FROM bookings WHERE starts_at > {NOW} \
         AND status IN ('pending', 'confirmed') GROUP BY service ORDER BY n DESC, service"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// A client with booking counts, as `clients://all` lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ClientSummary {
    #[serde(flatten)]
    pub(crate) client: Client,
    /// Every booking, whatever its status.
    pub(crate) bookings: i64,
    /// The start of the next pending or confirmed booking.
    pub(crate) next_booking: Option<String>,
}

/// Every client with booking counts, by name.
pub(crate) fn client_summaries(conn: &Connection) -> rusqlite::Result<Vec<ClientSummary>> {
    let sql = format!(
        "SELECT c.id, c.name, c.email, c.phone, \
         (SELECT COUNT(*) FROM bookings b WHERE b.client_id = c.id), \
         (SELECT MIN(b.starts_at) FROM bookings b WHERE b.client_id = c.id \
          AND b.status IN ('pending', 'confirmed') AND b.starts_at > {NOW}) \
         FROM clients c ORDER BY c.name"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_map([], |r| {
        Ok(ClientSummary {
            client: client_row(r)?,
            bookings: r.get(4)?,
            next_booking: r.get(5)?,
        })
    })?
    .collect()
}
