//! Redis as operators run it: an ACL user with a password, given to the node through the
//! environment or a file — never on its command line.

use std::time::Duration;

use reqwest::StatusCode;
use switchyard_tests::{Node, RedisServer, Reply};

use crate::support::{client, initialize};

const PASSWORD: &str = "s3cret:with@odd/chars";

/// A Redis whose only usable user is `switchyard` (the `default` user is switched off).
fn acl_redis() -> RedisServer {
    let redis = RedisServer::start();
    let setuser = [
        "ACL",
        "SETUSER",
        "switchyard",
        "on",
        &format!(">{PASSWORD}"),
        "~*",
        "&*",
        "+@all",
    ];
    assert_eq!(
        redis.command(&setuser).expect("ACL SETUSER"),
        Reply::Simple("OK".into())
    );
    assert_eq!(
        redis
            .command(&["ACL", "SETUSER", "default", "off"])
            .expect("ACL SETUSER default off"),
        Reply::Simple("OK".into())
    );
    redis
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_authenticates_with_an_acl_user_from_the_environment_or_a_file() {
    let redis = acl_redis();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("redis-password");
    std::fs::write(&file, format!("{PASSWORD}\n")).expect("the password file");

    // Without credentials the node cannot use this Redis, and says so by not starting.
    let refused = Node::builder("demo")
        .arg("--redis-url")
        .arg(redis.url())
        .try_start();
    assert!(refused.is_err(), "a node without credentials started");
    let wrong = Node::builder("demo")
        .arg("--redis-url")
        .arg(redis.url())
        .env("SWITCHYARD__REDIS__USERNAME", "switchyard")
        .env("SWITCHYARD__REDIS__PASSWORD", "wrong")
        .try_start();
    assert!(wrong.is_err(), "a node with a wrong password started");

    // The password from a file, the user from the environment.
    let by_file = Node::builder("demo")
        .arg("--redis-url")
        .arg(redis.url())
        .env("SWITCHYARD__REDIS__USERNAME", "switchyard")
        .env("SWITCHYARD__REDIS__PASSWORD_FILE", file.to_string_lossy())
        .start();
    // The password from the environment.
    let by_env = Node::builder("demo")
        .arg("--redis-url")
        .arg(redis.url())
        .env("SWITCHYARD__REDIS__USERNAME", "switchyard")
        .env("SWITCHYARD__REDIS__PASSWORD", PASSWORD)
        .start();
    let http = client();
    for node in [&by_file, &by_env] {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", node.pid())).expect("cmdline");
        assert!(
            !String::from_utf8_lossy(&cmdline).contains("s3cret"),
            "the password is on the command line"
        );
        let ready = http
            .get(format!("{}/readyz", node.url()))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("readyz");
        assert_eq!(ready.status(), StatusCode::OK, "{ready:?}");
    }
    // Both serve one session through the ACL user's connections.
    let session = initialize(&http, &by_file.mcp_url()).await;
    let list = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let r = crate::support::post(&http, &by_env.mcp_url(), Some(&session), &list)
        .send()
        .await
        .expect("tools/list on the other node");
    assert_eq!(r.status(), StatusCode::OK, "{r:?}");
}
