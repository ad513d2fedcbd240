//! Every shell example the README has, and what the walk does with it: run it as a script
//! and check its output, run it as a server in the background, or not run it (with the
//! reason). A block the table does not know fails the walk, and so does an entry no block
//! matches any more: the README and this table change together.

/// What the walk does with one example.
#[derive(Debug, Clone, Copy)]
pub(crate) enum How {
    /// Not run, and why.
    NotRun(&'static str),
    /// A node (or several, with `&`): started in the background, in a process group the walk
    /// stops before the next server example (as a reader would press Ctrl-C) and at the end.
    /// Every port it names must answer `GET /healthz`.
    Server,
    /// Run to completion with `bash -e -o pipefail`: it must exit 0, its output (stdout and
    /// stderr) must contain every `expect` and none of `forbid` (compared in lower case).
    Script {
        expect: &'static [&'static str],
        forbid: &'static [&'static str],
    },
}

/// An example, recognised by how its block starts (after its comment lines).
#[derive(Debug)]
pub(crate) struct Example {
    pub(crate) starts: &'static str,
    pub(crate) how: How,
}

const ERRORS: &[&str] = &["\"error\"", "curl: (", "command not found"];

pub(crate) static EXAMPLES: &[Example] = &[
    Example {
        starts: "cat >> switchyard.toml <<'EOF'",
        how: How::NotRun(
            "fetches @modelcontextprotocol/server-everything from npm on first use; a stdio \
             upstream is run by tests/tests/gateway/stdio.rs with a fixture of its own",
        ),
    },
    Example {
        starts: "switchyard serve --upstream rails=http://127.0.0.1:3000/mcp",
        how: How::NotRun(
            "needs the reader's Rails app on port 3000; the same setup (a plain JSON-RPC \
             endpoint behind three nodes on Redis) is run by tests/tests/gateway/plain.rs",
        ),
    },
    Example {
        starts: "cat > switchyard.toml <<'EOF'",
        how: How::NotRun(
            "needs the reader's servers on ports 3000 and 3001; federation, credentials from \
             the environment and timeouts are run by tests/tests/gateway (federation.rs, \
             plain.rs)",
        ),
    },
    Example {
        starts: "cargo run -p switchyard -- serve",
        how: How::NotRun(
            "the set-up pair: `cargo run -p switchyard -- serve` is the node the `Use it` \
             example runs as `switchyard serve` (with a port of the walk's own), and \
             `scripts/test` is the command that runs this test",
        ),
    },
    Example {
        starts: "cargo install --path crates/switchyard",
        how: How::NotRun(
            "a release build into ~/.cargo/bin; the walk puts the binary under test first \
             on PATH instead, which is what the install provides",
        ),
    },
    Example {
        starts: "switchyard serve --bind 127.0.0.1:8080 --backend demo",
        how: How::Server,
    },
    Example {
        starts: "curl -si http://127.0.0.1:8080/mcp",
        how: How::Script {
            expect: &[
                "http/1.1 200",
                "mcp-session-id: ",
                "\"protocolversion\":\"2025-11-25\"",
            ],
            forbid: ERRORS,
        },
    },
    Example {
        starts: "SESSION=$(curl -si http://127.0.0.1:8080/mcp -H 'Content-Type",
        how: How::Script {
            expect: &["ada lovelace", "\"messages\"", "ada@example.com"],
            forbid: ERRORS,
        },
    },
    Example {
        starts: "curl -s http://127.0.0.1:8080/livez",
        how: How::Script {
            expect: &[
                "ok\n",
                "{\"status\":\"ready\",\"warnings\":[]}",
                "\nready\n",
            ],
            forbid: ERRORS,
        },
    },
    Example {
        starts: "switchyard config check",
        how: How::Script {
            expect: &[
                "\"bind\": \"127.0.0.1:8080\"",
                "note: http.allowed_hosts is not set and bind 127.0.0.1:8080 is a loopback",
                "note: stateless.state_key is not set",
            ],
            forbid: &["error"],
        },
    },
    Example {
        starts: "SWITCHYARD__BIND=0.0.0.0:8080 SWITCHYARD__HTTP__ALLOWED_HOSTS=mcp.example.com",
        how: How::Server,
    },
    Example {
        starts: "curl -s http://127.0.0.1:8080/mcp -H 'Host: mcp.example.com'",
        how: How::Script {
            expect: &[
                // The allowed name reaches the session check …
                "mcp-session-id header is required",
                // … the other one is refused, naming the setting.
                "host \\\"elsewhere.example.com\\\" is not allowed",
                "http.allowed_hosts",
                "switchyard__http__allowed_hosts",
            ],
            forbid: &["curl: ("],
        },
    },
    Example {
        starts: "SWITCHYARD__ADMIN__TOKEN=change-me switchyard serve --bind 0.0.0.0:8080",
        how: How::Server,
    },
    Example {
        starts: "SESSION=$(curl -si http://127.0.0.1:8080/mcp -H 'Host: mcp.example.com'",
        how: How::Script {
            expect: &["\"tools\":[", "\"name\":\"get_client\""],
            forbid: ERRORS,
        },
    },
    Example {
        starts: "TOKEN=change-me",
        how: How::Script {
            expect: &[
                "{\"id\":\"",
                "{\"seq\":",
                "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\"",
                "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"",
            ],
            forbid: ERRORS,
        },
    },
    Example {
        starts: "redis-cli -p 6379 PUBLISH sy:c:sy:broadcast",
        how: How::Script {
            expect: &[],
            forbid: &["err", "could not connect", "command not found"],
        },
    },
    Example {
        starts: "docker compose up --build",
        how: How::NotRun(
            "no container runtime can run containers here; the compose test \
             (tests/tests/compose.rs) runs the file's services as processes instead",
        ),
    },
    Example {
        starts: "helm install mcp ./helm/switchyard",
        how: How::NotRun(
            "no Kubernetes cluster here; the chart test (tests/tests/chart.rs) lints and \
             renders the chart with Helm's engine and validates what it renders",
        ),
    },
    Example {
        starts: "scripts/test ",
        how: How::NotRun("the test command itself, which runs this test"),
    },
];

/// The first line of `script` that is not a comment or blank.
pub(crate) fn first_command(script: &str) -> &str {
    script
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("")
}

/// The example `script` is.
pub(crate) fn example_of(script: &str) -> Option<&'static Example> {
    let first = first_command(script);
    let mut found = EXAMPLES.iter().filter(|e| first.starts_with(e.starts));
    let one = found.next()?;
    assert!(
        found.next().is_none(),
        "two entries match the example starting {first:?}"
    );
    Some(one)
}
