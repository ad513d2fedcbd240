//! An nginx in front of several nodes: plain round-robin, no affinity of any kind, no
//! response buffering (SSE goes through as it is written). Run in the foreground
//! (`daemon off;`) with its own prefix, configuration, pid file and logs in a temporary
//! directory; stopped on drop.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

use crate::signal;

/// How long nginx may take to accept connections.
const STARTUP: Duration = Duration::from_secs(20);

/// A running nginx; dropping it stops the master and its worker.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    port: u16,
    dir: TempDir,
}

/// `nginx` from `PATH`, else Debian's `/usr/sbin/nginx` (not on every user's `PATH`).
fn nginx_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

/// Whether this process runs as root: nginx's workers would then drop to `nobody`, who
/// cannot enter the private temporary directory.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

/// The configuration: `listen` on `port`, round-robin over `upstreams`.
fn config(dir: &Path, port: u16, upstreams: &[SocketAddr]) -> String {
    let d = dir.display();
    let user = if running_as_root() {
        "user root;\n"
    } else {
        ""
    };
    let mut servers = String::new();
    for u in upstreams {
        let _ = writeln!(servers, "        server {u};");
    }
    format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\n{user}pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20   log_format upstreams '$status $request_method $uri $upstream_addr';\n\
         \x20   access_log {d}/access.log upstreams;\n\
         \x20   client_body_temp_path {d}/client_body;\n\
         \x20   proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/uwsgi;\n\
         \x20   scgi_temp_path {d}/scgi;\n\
         \x20   client_max_body_size 16m;\n\
         \x20   upstream switchyard {{\n{servers}        keepalive 32;\n    }}\n\
         \x20   server {{\n\
         \x20       listen 127.0.0.1:{port};\n\
         \x20       location / {{\n\
         \x20           proxy_pass http://switchyard;\n\
         \x20           proxy_http_version 1.1;\n\
         \x20           proxy_set_header Connection \"\";\n\
         \x20           proxy_set_header Host $host;\n\
         \x20           proxy_buffering off;\n\
         \x20           proxy_read_timeout 3600s;\n\
         \x20           proxy_send_timeout 3600s;\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n"
    )
}

impl Nginx {
    /// `user root;` when the tests run as root (nginx's workers would otherwise switch to
    /// `nobody`, who cannot write the test's temporary directory), else nothing.
    pub fn user_directive() -> &'static str {
        if running_as_root() {
            "user root;\n"
        } else {
            ""
        }
    }

    /// Starts nginx on a free loopback port in front of `upstreams`, panicking with the
    /// reason if it cannot.
    pub fn start(upstreams: &[SocketAddr]) -> Nginx {
        Nginx::start_with(|dir, port| config(dir, port, upstreams))
    }

    /// An nginx whose whole configuration is `conf(dir, port)`: `dir` its prefix (for its
    /// pid file, logs and temporary files), `port` the loopback port to listen on. Run in
    /// the foreground (`-g 'daemon off;'` is added unless the configuration says it).
    pub fn start_with(conf: impl Fn(&Path, u16) -> String) -> Nginx {
        let dir = tempfile::tempdir().expect("a temporary directory for nginx");
        let mut last = None;
        for _ in 0..5 {
            match Nginx::spawn(dir.path(), signal::free_port(), &conf) {
                Ok((child, port)) => return Nginx { child, port, dir },
                Err(e) => last = Some(e),
            }
        }
        panic!("nginx did not start: {:#}", last.expect("five attempts"));
    }

    fn spawn(
        dir: &Path,
        port: u16,
        config: &dyn Fn(&Path, u16) -> String,
    ) -> anyhow::Result<(Child, u16)> {
        let conf = dir.join("nginx.conf");
        let text = config(dir, port);
        let daemon = !text.contains("daemon off;");
        std::fs::write(&conf, text).context("writing nginx.conf")?;
        let bin = nginx_bin();
        let mut cmd = Command::new(&bin);
        cmd.arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("error.log"));
        if daemon {
            cmd.args(["-g", "daemon off;"]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} (Debian package nginx)", bin.display()))?;
        let end = Instant::now() + STARTUP;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok((child, port));
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= end {
                signal::terminate(&mut child, Duration::from_secs(5));
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                bail!("nginx on port {port} not ready (exit {exited:?}); error.log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://127.0.0.1:PORT` (an IP literal: the nodes allow `127.0.0.1` as `Host`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// How many requests nginx passed to each upstream so far, by `IP:port`, from its access
    /// log (written as each request completes; a request tried on several upstreams, one of
    /// them refusing, counts for each).
    pub fn upstream_counts(&self) -> BTreeMap<String, usize> {
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        let mut counts = BTreeMap::new();
        for line in log.lines() {
            // `$upstream_addr` lists every upstream tried: `a, b`.
            let Some(upstreams) = line.splitn(4, ' ').nth(3) else {
                continue;
            };
            for u in upstreams.split(", ").filter(|u| *u != "-") {
                *counts.entry(u.to_owned()).or_default() += 1;
            }
        }
        counts
    }

    /// The error log so far (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its worker too (a SIGKILL would orphan the worker).
        signal::terminate(&mut self.child, Duration::from_secs(10));
    }
}
