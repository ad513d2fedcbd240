//! `demo` on a database file: seeded once, and what tools write survives a reopen.

use std::sync::Arc;

use serde_json::json;
use switchyard_backend::demo::Demo;
use switchyard_backend::{BuiltinError, builtin};

use crate::support::Harness;

#[tokio::test]
async fn bookings_survive_a_reopen_and_the_seed_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("demo.sqlite3");
    {
        let h = Harness::new(Arc::new(
            Demo::open(&path).expect("creates the file and its directory"),
        ));
        let args = json!({ "client_email": "alan@example.com", "starts_at": "2098-03-04T15:00:00Z",
                           "service": "Code review", "notes": "Enigma notes" });
        assert!(!h.call_tool("create_booking", args).await.is_error());
        let new = json!({ "name": "Hedy Lamarr", "email": "hedy@example.com" });
        assert!(!h.call_tool("create_client", new).await.is_error());
    }

    // The file itself holds the row.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (service, notes): (String, String) = conn
        .query_row(
            "SELECT service, notes FROM bookings WHERE starts_at = '2098-03-04T15:00:00Z'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (service.as_str(), notes.as_str()),
        ("Code review", "Enigma notes")
    );
    drop(conn);

    // Reopened, the backend serves it, and does not seed a second time.
    let h = Harness::new(builtin("demo", &path).unwrap());
    let alan = h
        .call_tool("get_client", json!({ "email": "alan@example.com" }))
        .await;
    let bookings = alan.result()["structuredContent"]["bookings"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(bookings.len(), 2);
    assert!(bookings.iter().any(|b| b["service"] == "Code review"));
    let report = h.call_tool("generate_report", json!({})).await;
    assert_eq!(
        report.result()["structuredContent"]["clients"],
        5,
        "four seeded, one created"
    );
}

#[test]
fn builtin_rejects_unknown_names_and_unopenable_paths() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        builtin("nope", dir.path()),
        Err(BuiltinError::Unknown(_))
    ));
    // A directory is not a database file.
    assert!(matches!(
        builtin("demo", dir.path()),
        Err(BuiltinError::Database(_))
    ));
}
