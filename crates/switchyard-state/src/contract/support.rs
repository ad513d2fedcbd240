//! Helpers shared by the suites: deadlines and random names.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;

/// How long any single operation of an implementation may take before the suite fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the suite if it takes longer than [`DEADLINE`].
pub(crate) async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, fut).await {
        Ok(v) => v,
        Err(_) => panic!("contract: {what}: no answer within {DEADLINE:?}"),
    }
}

/// A name no other run of the suite uses: `<prefix>-<16 random alphanumerics>`.
pub(crate) fn unique(prefix: &str) -> String {
    let tail: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    format!("contract-{prefix}-{tail}")
}
