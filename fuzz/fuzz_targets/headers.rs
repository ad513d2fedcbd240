//! Header rules and the event-id codec on arbitrary text: nothing panics, a parsed event id
//! prints back as its source, host normalisation is idempotent, and an allow-list entry
//! admits itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::event_id::{EventId, StreamId};
use switchyard_protocol::headers::{
    HostAllowList, host_without_port, is_json_content_type, is_valid_session_id, origin_authority,
    parse_accept,
};
use switchyard_protocol::revision::Revision;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let s = text.as_ref();

    let _ = parse_accept(s);
    let _ = is_json_content_type(s);
    let _ = is_valid_session_id(s);
    let _ = s.parse::<Revision>();
    let _ = s.parse::<StreamId>();

    if let Ok(id) = s.parse::<EventId>() {
        assert_eq!(id.to_string(), s.trim());
        assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
    }

    let host = host_without_port(s);
    assert_eq!(host_without_port(&host), host, "not idempotent");

    let entry = s.trim();
    let list = HostAllowList::new(s.split(','));
    if !entry.is_empty() && entry != "*" && !entry.contains(',') {
        assert!(list.allows_host(s), "an entry must admit itself");
    }
    let _ = list.allows_origin(s);
    if let Some(authority) = origin_authority(s) {
        assert!(!authority.is_empty());
        if !list.allows_host(authority) {
            assert!(!list.allows_origin(s));
        }
    }
    let _ = HostAllowList::loopback().allows_origin(s);
});
