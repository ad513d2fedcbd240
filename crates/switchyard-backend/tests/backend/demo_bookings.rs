//! `demo` bookings: creating one (and every way it can be refused), and the report.

use serde_json::json;

use crate::support::demo;

#[tokio::test]
async fn create_booking_persists_announces_and_logs() {
    let h = demo();
    let args = json!({ "client_email": "ada@example.com", "starts_at": "2099-06-01T09:30:00+02:00",
                       "service": "Workshop", "notes": "Bring slides" });
    let out = h.call_tool("create_booking", args.clone()).await;
    assert!(!out.is_error(), "{}", out.text());
    let booking = &out.result()["structuredContent"]["booking"];
    assert_eq!(
        booking["starts_at"], "2099-06-01T07:30:00Z",
        "stored in UTC"
    );
    assert_eq!(
        (booking["service"].as_str(), booking["status"].as_str()),
        (Some("Workshop"), Some("confirmed"))
    );
    assert_eq!(h.updated(), ["clients://all", "clients://ada@example.com"]);
    let logs = out.notifications("notifications/message");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["level"], "info");
    assert_eq!(logs[0]["data"]["booking"], *booking);

    let ada = h
        .call_tool("get_client", json!({ "email": "ada@example.com" }))
        .await;
    let bookings = ada.result()["structuredContent"]["bookings"]
        .as_array()
        .unwrap()
        .clone();
    assert!(bookings.contains(booking));

    let clash = h.call_tool("create_booking", args).await;
    assert!(clash.is_error() && clash.text().contains("already has a booking"));
    assert_eq!(h.updated().len(), 2, "failures announce nothing");
}

#[tokio::test]
async fn create_booking_validates_input() {
    let h = demo();
    let base = json!({ "client_email": "ada@example.com", "starts_at": "2099-01-01T10:00:00Z", "service": "X" });
    let with = |key: &str, value: serde_json::Value| {
        let mut args = base.clone();
        args[key] = value;
        args
    };
    let cases = [
        (
            with("client_email", json!("nobody@example.com")),
            "no client",
        ),
        (with("starts_at", json!("tomorrow")), "RFC 3339"),
        (
            with("starts_at", json!("2099-02-30T10:00:00Z")),
            "calendar date",
        ),
        (
            with("starts_at", json!("2000-01-01T10:00:00Z")),
            "in the past",
        ),
        (with("starts_at", json!(20990101)), "must be a string"),
        (with("service", json!("  ")), "service"),
        (with("service", json!("x".repeat(81))), "too long"),
    ];
    for (args, why) in cases {
        let out = h.call_tool("create_booking", args.clone()).await;
        assert!(out.is_error(), "{args}");
        assert!(out.text().contains(why), "{args}: {}", out.text());
    }
    assert!(h.updated().is_empty());
}

#[tokio::test]
async fn generate_report_reports_progress_first() {
    let h = demo();
    let out = h
        .request(
            "tools/call",
            json!({ "name": "generate_report", "arguments": {},
                                       "_meta": { "progressToken": 7 } }),
        )
        .await;
    let progress = out.notifications("notifications/progress");
    assert!(progress.len() >= 3, "{progress:?}");
    assert_eq!(
        out.before.len(),
        progress.len(),
        "only progress precedes the result"
    );
    assert!(progress.iter().all(|p| p["progressToken"] == 7));
    let values: Vec<f64> = progress
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    assert_eq!(
        progress.last().unwrap()["progress"],
        progress.last().unwrap()["total"]
    );
    assert!(
        out.elapsed >= std::time::Duration::from_millis(250),
        "{:?}",
        out.elapsed
    );
    let report = &out.result()["structuredContent"];
    assert_eq!(report["clients"], 4);
    assert_eq!(
        report["bookings_by_status"],
        json!({ "cancelled": 1, "completed": 1, "confirmed": 2, "pending": 1 })
    );
    assert_eq!(report["upcoming_bookings"], 3);
}
