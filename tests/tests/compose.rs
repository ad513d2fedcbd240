//! `docker-compose.yml` run as processes: no container runtime can run containers here, so
//! the test reads the compose file and starts what it describes — Redis with the compose
//! command, the three Switchyard services with the compose environment and command, nginx
//! with `deploy/nginx/nginx.conf` (upstream addresses and the port swapped for local ones)
//! — then checks the services' health checks pass and drives a session through nginx.
//!
//! The YAML is read with PyYAML from the chart test's venv (`tests/chart/.venv`), which
//! `scripts/test` installs, so the tests crate needs no YAML parser of its own.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{Nginx, Node, RedisServer, SseReader, run, switchyard_bin, workspace_root};
use tokio::process::Command;

const STEP: Duration = Duration::from_secs(10);
const ACCEPT: &str = "application/json, text/event-stream";

/// The compose file as JSON.
async fn compose() -> Value {
    let root = workspace_root();
    let python = root.join("tests/chart/.venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/test (it installs tests/chart/requirements.txt)",
        python.display()
    );
    let mut cmd = Command::new(python);
    cmd.args([
        "-c",
        "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
    ])
    .arg(root.join("docker-compose.yml"));
    let done = run(cmd, STEP).await.expect("reading docker-compose.yml");
    assert!(done.success(), "{done}");
    serde_json::from_str(&done.stdout).expect("the compose file as JSON")
}

/// `${VAR:-default}` as compose expands it when `VAR` is unset (the test sets none).
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed ${…}") + start;
        let inner = &rest[start + 2..end];
        out.push_str(inner.split_once(":-").map_or("", |(_, d)| d));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("a list: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

/// A service's environment, interpolated.
fn environment(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_object()
        .expect("an environment map")
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            (k.clone(), interpolate(&v))
        })
        .collect()
}

/// `deploy/nginx/nginx.conf` with the compose names replaced by the nodes' addresses and
/// the listen port by `port`; pid file and temporary files in `dir`.
fn nginx_conf(dir: &std::path::Path, port: u16, nodes: &BTreeMap<String, SocketAddr>) -> String {
    let text = std::fs::read_to_string(workspace_root().join("deploy/nginx/nginx.conf"))
        .expect("deploy/nginx/nginx.conf");
    let d = dir.display();
    let mut out = format!("{}pid {d}/nginx.pid;\n", Nginx::user_directive());
    let mut listens = 0;
    let mut servers = 0;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == "listen 8080;" {
            listens += 1;
            out.push_str(&format!("        listen 127.0.0.1:{port};\n"));
        } else if let Some(name) = trimmed
            .strip_prefix("server ")
            .and_then(|s| s.strip_suffix(":8080;"))
        {
            let addr = nodes
                .get(name)
                .unwrap_or_else(|| panic!("nginx names {name}, which compose does not run"));
            servers += 1;
            out.push_str(&format!("        server {addr};\n"));
        } else if trimmed == "http {" {
            out.push_str(line);
            out.push('\n');
            for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                out.push_str(&format!("    {t}_temp_path {d}/{t};\n"));
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert_eq!(listens, 1, "one `listen 8080;` in deploy/nginx/nginx.conf");
    assert_eq!(servers, nodes.len(), "nginx names every Switchyard service");
    out
}

fn post(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &Value,
) -> reqwest::RequestBuilder {
    let mut r = http
        .post(url)
        .timeout(STEP)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .body(body.to_string());
    if let Some(s) = session {
        r = r
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-11-25");
    }
    r
}

/// The response to request `id`: the JSON body, or the message with that id on its SSE
/// stream (a tool that logs or notifies first is answered with a stream).
async fn answer(r: reqwest::Response, id: u64) -> Value {
    let sse = r
        .headers()
        .get("content-type")
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    if !sse {
        return r.json().await.expect("a JSON answer");
    }
    let mut stream = SseReader::new(r);
    loop {
        let (_, m) = stream
            .next_json(STEP)
            .await
            .expect("the answer on its stream");
        if m["id"] == id && m.get("method").is_none() {
            return m;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_services_run_as_processes_and_serve_a_session() {
    let compose = compose().await;
    let services = compose["services"].as_object().expect("services");

    // Redis, with the compose command's arguments (AOF, no eviction).
    let redis_cmd = strings(&services["redis"]["command"]);
    assert_eq!(redis_cmd[0], "redis-server");
    let joined = redis_cmd.join(" ");
    assert!(joined.contains("--appendonly yes"), "{joined}");
    assert!(joined.contains("--maxmemory-policy noeviction"), "{joined}");
    let volumes = strings(&services["redis"]["volumes"]);
    assert!(
        volumes.iter().any(|v| v.ends_with(":/data")),
        "AOF on a volume: {volumes:?}"
    );
    let redis = RedisServer::start_with(redis_cmd[1..].to_vec());
    let policy = redis.info("memory");
    assert_eq!(
        policy.get("maxmemory_policy").map(String::as_str),
        Some("noeviction")
    );

    // The Switchyard services: every one built from this repository, run with its command
    // and environment (the compose host `redis` is the test's Redis).
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut nodes = Vec::new();
    let mut addrs = BTreeMap::new();
    let mut names = Vec::new();
    for (name, service) in services {
        if service.get("build").is_none() {
            continue;
        }
        let command = strings(&service["command"]);
        assert_eq!(command, ["serve"], "{name}");
        let env = environment(service);
        assert_eq!(env["SWITCHYARD__BIND"], "0.0.0.0:8080", "{name}");
        assert_eq!(
            env["SWITCHYARD__REDIS__URL"], "redis://redis:6379",
            "{name}"
        );
        assert!(
            env["SWITCHYARD__SHUTDOWN__DRAIN_DELAY_SECS"]
                .parse::<u64>()
                .is_ok_and(|d| d > 0),
            "{name} drains"
        );
        let grace: u64 = service["stop_grace_period"]
            .as_str()
            .and_then(|s| s.strip_suffix('s'))
            .and_then(|s| s.parse().ok())
            .expect("a stop_grace_period in seconds");
        let drain: u64 = env["SWITCHYARD__SHUTDOWN__DRAIN_DELAY_SECS"]
            .parse()
            .unwrap_or(0)
            + env["SWITCHYARD__SHUTDOWN__TIMEOUT_SECS"]
                .parse()
                .unwrap_or(5);
        assert!(
            grace > drain,
            "{name}: stop_grace_period {grace}s ≤ drain {drain}s"
        );
        let mut builder = Node::builder(&env["SWITCHYARD__BACKEND"])
            // One demo database for all, as the compose volume `demo-data` is.
            .demo_db(dir.path().join("switchyard-demo.db").to_string_lossy());
        for (k, v) in &env {
            let v = match k.as_str() {
                "SWITCHYARD__REDIS__URL" => redis.url(),
                // Bound on a free loopback port instead (the builder's --bind wins).
                _ => v.clone(),
            };
            builder = builder.env(k, v);
        }
        let node = builder.start();
        addrs.insert(name.clone(), node.addr());
        names.push(name.clone());
        // The compose health check, pointed at this node's port.
        let check = strings(&service["healthcheck"]["test"]);
        assert_eq!(check[0], "CMD", "{check:?}");
        assert!(
            check[1].ends_with("/switchyard") && check[2] == "healthcheck",
            "{check:?}"
        );
        let url = check[3].replace("127.0.0.1:8080", &node.addr().to_string());
        let mut cmd = Command::new(switchyard_bin());
        cmd.args(&check[2..3]).arg(&url);
        let done = run(cmd, STEP).await.expect("switchyard healthcheck");
        assert!(done.success(), "{name}'s health check: {done}");
        nodes.push(node);
    }
    assert_eq!(nodes.len(), 3, "three Switchyard replicas");

    // nginx with the repository's configuration, as the compose `nginx` service mounts it.
    let mounts = strings(&services["nginx"]["volumes"]);
    assert!(
        mounts
            .iter()
            .any(|m| m.starts_with("./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf")),
        "{mounts:?}"
    );
    let ports = strings(&services["nginx"]["ports"]);
    assert_eq!(ports, ["8080:8080"], "localhost:8080");
    let nginx = Nginx::start_with(|d, port| nginx_conf(d, port, &addrs));
    let mcp = format!("{}/mcp", nginx.url());

    // A session through the balancer: every request may land on any replica.
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "compose-test", "version": "1"}}});
    let r = post(&http, &mcp, None, &init)
        .send()
        .await
        .expect("initialize");
    assert_eq!(r.status(), StatusCode::OK, "{r:?}");
    let session = r.headers()["mcp-session-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = post(&http, &mcp, Some(&session), &note)
        .send()
        .await
        .expect("initialized");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let get = http
        .get(&mcp)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .expect("GET stream");
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.headers()["content-type"], "text/event-stream");
    let mut stream = SseReader::new(get);
    stream.next(STEP).await.expect("the priming event");
    let mut served = std::collections::BTreeSet::new();
    let email = "compose@example.com";
    for (i, (tool, args)) in [
        (
            "create_client",
            json!({"name": "Compose", "email": email, "phone": "1"}),
        ),
        ("get_client", json!({"email": email})),
        ("get_client", json!({"email": email})),
        ("get_client", json!({"email": email})),
    ]
    .into_iter()
    .enumerate()
    {
        let call = json!({"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
                          "params": {"name": tool, "arguments": args}});
        let r = post(&http, &mcp, Some(&session), &call)
            .send()
            .await
            .expect(tool);
        assert_eq!(r.status(), StatusCode::OK, "{tool}: {r:?}");
        served.insert(
            r.headers()["x-switchyard-node"]
                .to_str()
                .expect("node")
                .to_owned(),
        );
        let v = answer(r, 10 + i as u64).await;
        assert!(
            v["result"].is_object() && v["result"]["isError"] != json!(true),
            "{tool} through nginx: {v}"
        );
        assert!(v.to_string().contains(email), "{tool}: {v}");
    }
    assert!(
        served.len() >= 2,
        "round-robin spread the calls: {served:?}"
    );
    // The standalone stream (held by one replica) receives what a call on another caused.
    let sub = json!({"jsonrpc": "2.0", "id": 20, "method": "resources/subscribe",
                     "params": {"uri": "clients://all"}});
    let r = post(&http, &mcp, Some(&session), &sub)
        .send()
        .await
        .expect("subscribe");
    assert_eq!(r.status(), StatusCode::OK);
    let call = json!({"jsonrpc": "2.0", "id": 21, "method": "tools/call", "params": {
        "name": "create_client",
        "arguments": {"name": "Second", "email": "second@example.com", "phone": "2"}}});
    let r = post(&http, &mcp, Some(&session), &call)
        .send()
        .await
        .expect("create_client");
    assert_eq!(r.status(), StatusCode::OK);
    let created = answer(r, 21).await;
    assert!(created["result"].is_object(), "{created}");
    // Earlier creations announced list changes; the update for the subscription follows.
    let mut seen = Vec::new();
    loop {
        let (_, n) = stream
            .next_json(STEP)
            .await
            .unwrap_or_else(|e| panic!("no resources/updated on the stream ({e:#}): {seen:?}"));
        if n["method"] == "notifications/resources/updated" {
            assert_eq!(n["params"]["uri"], "clients://all", "{n}");
            break;
        }
        seen.push(n);
    }
    println!("compose services run: redis, {names:?}, nginx; calls served by {served:?}");
}
