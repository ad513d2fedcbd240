//! The in-memory implementations pass the whole contract suite.

use switchyard_state::contract;
use switchyard_state::memory::{MemoryBus, MemoryEventLog, MemorySessionStore};

#[tokio::test]
async fn memory_session_store_passes_the_contract() {
    contract::session_store(|ttl| async move {
        let store = MemorySessionStore::new(ttl);
        (store.clone(), store)
    })
    .await;
}

#[tokio::test]
async fn memory_event_log_passes_the_contract() {
    contract::event_log(|max_len| async move {
        let log = MemoryEventLog::new(max_len);
        (log.clone(), log)
    })
    .await;
}

#[tokio::test]
async fn memory_event_log_with_idle_ttl_passes_the_contract() {
    contract::event_log(|max_len| async move {
        let log = MemoryEventLog::with_idle_ttl(max_len, std::time::Duration::from_secs(60));
        (log.clone(), log)
    })
    .await;
}

#[tokio::test]
async fn memory_bus_passes_the_contract() {
    contract::bus(|capacity| async move {
        let bus = MemoryBus::new(capacity);
        (bus.clone(), bus)
    })
    .await;
}
