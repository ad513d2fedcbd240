//! Running an external program with a deadline.

use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// What an external program did.
#[derive(Debug)]
pub struct Finished {
    /// What the program ran as (for messages).
    pub program: String,
    /// The exit status; `None` when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    /// Everything written to stdout (lossily decoded).
    pub stdout: String,
    /// Everything written to stderr (lossily decoded).
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Finished {
    /// Whether it exited on its own with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Whether it was killed at the deadline.
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }
}

impl fmt::Display for Finished {
    /// A report for assertion messages: status, time, and both outputs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => writeln!(
                f,
                "{} exited with {s} after {:?}",
                self.program, self.elapsed
            )?,
            None => writeln!(
                f,
                "{} was killed at its deadline after {:?}",
                self.program, self.elapsed
            )?,
        }
        writeln!(f, "----- stdout -----\n{}", self.stdout)?;
        write!(f, "----- stderr -----\n{}", self.stderr)
    }
}

/// Runs `cmd` to completion or until `deadline` passes, capturing stdout and stderr.
///
/// Stdin is closed. The child is killed when the deadline passes and also when this future
/// is dropped (the test failed or was cancelled), so nothing outlives the test. An error
/// means the program could not be started at all.
pub async fn run(mut cmd: Command, deadline: Duration) -> anyhow::Result<Finished> {
    let program = format!("{:?}", cmd.as_std().get_program());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
    let mut out = child.stdout.take().context("stdout was not piped")?;
    let mut err = child.stderr.take().context("stderr was not piped")?;
    let stdout = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf).await;
        buf
    });
    let stderr = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf).await;
        buf
    });
    let status = match tokio::time::timeout(deadline, child.wait()).await {
        Ok(status) => Some(status.with_context(|| format!("waiting for {program}"))?),
        Err(_) => {
            let _ = child.kill().await;
            None
        }
    };
    let elapsed = started.elapsed();
    // The pipes close when the child is gone, unless it left a grandchild holding them:
    // give the readers a bounded grace period rather than waiting forever.
    let grace = Duration::from_secs(5);
    let stdout = tokio::time::timeout(grace, stdout)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let stderr = tokio::time::timeout(grace, stderr)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(Finished {
        program,
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed,
    })
}

impl Finished {
    /// Panics (with the whole report) unless the program exited 0 and printed a
    /// `PASS <step>` line for every step in `steps`, and an `ALL PASSED` line: the contract
    /// of the interop drivers.
    pub fn assert_steps_passed(&self, steps: &[&str]) {
        assert!(self.success(), "{self}");
        let lines: Vec<&str> = self.stdout.lines().map(str::trim_end).collect();
        for step in steps {
            let marker = format!("PASS {step}");
            assert!(
                lines
                    .iter()
                    .any(|l| *l == marker || l.starts_with(&format!("{marker} ("))),
                "step `{step}` did not pass:\n{self}"
            );
        }
        assert!(
            lines.contains(&"ALL PASSED"),
            "the driver did not report ALL PASSED:\n{self}"
        );
    }
}
