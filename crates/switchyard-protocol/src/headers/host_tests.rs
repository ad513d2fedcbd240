//! `Host` and `Origin` allow-list rules.

use super::*;

#[test]
fn hosts_lose_port_and_case() {
    let cases = [
        ("localhost", "localhost"),
        ("Example.COM:80", "example.com"),
        ("localhost:", "localhost"),
        ("[::1]:8080", "[::1]"),
        ("[::1]", "[::1]"),
        ("[::1]:", "[::1]"),
        ("[::1]evil", "[::1]evil"),
        ("[::1]:80x", "[::1]:80x"),
        ("::1", "[::1]"),
        ("[FE80::1]", "[fe80::1]"),
        ("host:abc", "host:abc"),
        (" 127.0.0.1:3000 ", "127.0.0.1"),
        ("localhost :80", "localhost"),
        (",\n:", ","),
    ];
    for (input, want) in cases {
        assert_eq!(host_without_port(input), want, "{input:?}");
    }
}

#[test]
fn loopback_hosts() {
    let list = HostAllowList::loopback();
    for ok in [
        "localhost",
        "LOCALHOST:3000",
        "127.0.0.1:8080",
        "[::1]",
        "[::1]:80",
    ] {
        assert!(list.allows_host(ok), "{ok:?}");
    }
    for bad in [
        "",
        "evil.com",
        "localhost.evil.com",
        "127.0.0.2",
        "[::1]evil",
        "[::2]",
        "localhost.",
        "evil.com:localhost",
    ] {
        assert!(!list.allows_host(bad), "{bad:?}");
    }
}

#[test]
fn origins() {
    let list = HostAllowList::new(["localhost:9999", "::1", " MCP.example.com ", ""]);
    for ok in [
        "http://localhost:3000",
        "HTTP://LOCALHOST",
        "https://[::1]:8443",
        "https://mcp.example.com/",
        "app+x://mcp.example.com?x",
    ] {
        assert!(list.allows_origin(ok), "{ok:?}");
    }
    for bad in [
        "null",
        "",
        "localhost",
        "file://",
        "://localhost",
        "ht tp://localhost",
        "http://evil.com",
        "http://localhost.evil.com",
        "http://localhost@evil.com",
        "http://evil.com@localhost",
    ] {
        assert!(!list.allows_origin(bad), "{bad:?}");
    }
    assert!(!list.allows_host(""));
    let any = HostAllowList::new(["*"]);
    assert!(any.allows_origin("null") && any.allows_host("anything:1"));
}
