//! The MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! `tests/conformance/package.json`) against a fresh `everything` node per test.
//!
//! - `requirements_2025_11_25`, `requirements_2026_07_28`: the frozen requirement sets (the
//!   stateful and the stateless wire), judged by the strict baseline
//!   `tests/conformance/expected-failures.yaml` (an unlisted failure or warning fails — in
//!   scored and unscored scenarios alike — and so does a listed scenario that passes).
//! - one test per scenario the set runs but does not score (session lifecycle, SSE polling,
//!   JSON Schema 2020-12): each must pass on its own.
//! - `baseline_lists_only_2026_or_extension_scenarios`: the baseline may only excuse
//!   2026-07-28-only or extension scenarios, each with a `#` reason.

use std::collections::HashMap;

use switchyard_tests::Node;
use switchyard_tests::conformance::{
    LIST_DEADLINE, baseline_entries, run_cli, run_requirement_set, run_scenario,
};

/// Runs the frozen requirement set of `revision` against a fresh node; judged by
/// [`switchyard_tests::conformance::SetRun::judged`].
async fn requirement_set(revision: &str) {
    let node = Node::start("everything");
    let run = run_requirement_set(&node.mcp_url(), revision).await;
    if let Err(why) = run.judged() {
        panic!("{why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_2025_11_25() {
    requirement_set("2025-11-25").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_2026_07_28() {
    requirement_set("2026-07-28").await;
}

/// Runs one scenario at 2025-11-25 against a fresh node; it must run and be clean.
async fn scenario_passes(scenario: &str) {
    let node = Node::start("everything");
    let run = run_scenario(&node.mcp_url(), scenario).await;
    if let Err(why) = run.judged() {
        panic!("{why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_session_lifecycle() {
    scenario_passes("server-session-lifecycle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sse_polling() {
    scenario_passes("server-sse-polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_schema_2020_12() {
    scenario_passes("json-schema-2020-12").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_lists_only_2026_or_extension_scenarios() {
    let listing = run_cli(&["list", "--server"], LIST_DEADLINE).await;
    assert!(listing.success(), "{listing}");
    // `  - name [2025-11-25,2026-07-28]` or `  - name [extension]`.
    let windows: HashMap<String, String> = listing
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(' ')?;
            Some((name.to_owned(), rest.trim().to_owned()))
        })
        .collect();
    assert!(
        !windows.is_empty(),
        "could not read the scenario list:\n{listing}"
    );

    for entry in baseline_entries() {
        let name = &entry.entry;
        assert_eq!(
            entry.section, "server",
            "baseline entry {name:?} outside `server:`"
        );
        assert!(
            entry.has_reason,
            "baseline entry {name:?} has no `#` reason"
        );
        let scenario = entry.scenario();
        let window = windows
            .get(scenario)
            .unwrap_or_else(|| panic!("baseline names an unknown scenario {scenario:?}"));
        assert!(
            window == "[2026-07-28]" || window == "[extension]",
            "the baseline may only excuse 2026-07-28-only or extension scenarios; \
             {scenario} runs at {window}"
        );
    }
}
