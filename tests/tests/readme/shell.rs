//! Running an example with bash: to completion with a deadline, or in the background in a
//! process group of its own that is stopped on drop (with every node it started with `&`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt as _;

/// Shell variables one example leaves for the next (as in one terminal).
const CARRIED: &[&str] = &["SESSION", "TOKEN"];

/// Where the examples run: a working directory of their own, the binary under test first
/// on `PATH`, and no `SWITCHYARD__*` variable from the test's environment.
#[derive(Debug)]
pub(crate) struct Shell {
    pub(crate) dir: PathBuf,
    path: std::ffi::OsString,
}

impl Shell {
    pub(crate) fn new(dir: &Path, bin_dir: &Path) -> Shell {
        let mut paths = vec![bin_dir.to_path_buf()];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        Shell {
            dir: dir.to_path_buf(),
            path: std::env::join_paths(paths).expect("PATH entries"),
        }
    }

    /// `bash -e -o pipefail` running `script`, after the variables earlier examples left
    /// and before saving them for the next.
    fn bash(&self, script: &str) -> Command {
        let carry = self.dir.join(".carried");
        let wrapped = format!(
            "if [ -f {carry:?} ]; then . {carry:?}; fi\n{script}\ndeclare -p {} 2>/dev/null >{carry:?} || true\n",
            CARRIED.join(" ")
        );
        let mut cmd = Command::new("bash");
        cmd.args(["-e", "-o", "pipefail", "-c", &wrapped])
            .current_dir(&self.dir)
            .env("PATH", &self.path)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SWITCHYARD") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// Runs `script` to completion (killing it after `deadline`): exit status and the
    /// output, stdout then stderr.
    pub(crate) fn run(&self, script: &str, deadline: Duration) -> (bool, String) {
        let out = self.dir.join(".out");
        let err = self.dir.join(".err");
        let mut child = self
            .bash(script)
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .process_group(0)
            .spawn()
            .expect("running bash");
        let end = Instant::now() + deadline;
        let ok = loop {
            if let Some(status) = child.try_wait().expect("waiting for bash") {
                break status.success();
            }
            if Instant::now() >= end {
                stop_group(&mut child);
                break false;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Whatever the example left running in the background goes with it.
        stop_group(&mut child);
        let text = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        (ok, format!("{}{}", text(&out), text(&err)))
    }

    /// Starts `script` in the background, its output in `log`.
    pub(crate) fn spawn(&self, script: &str, log: &Path) -> Background {
        let file = std::fs::File::create(log).expect("a log file");
        let child = self
            .bash(script)
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .process_group(0)
            .spawn()
            .expect("running bash");
        Background {
            child,
            log: log.to_path_buf(),
        }
    }
}

/// A background example; dropping it stops its whole process group.
#[derive(Debug)]
pub(crate) struct Background {
    child: Child,
    pub(crate) log: PathBuf,
}

impl Background {
    /// Whether the shell itself exited with a failure (a foreground node that died).
    pub(crate) fn failed(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(s)) if !s.success())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        stop_group(&mut self.child);
    }
}

/// `SIGTERM` to the group `child` leads, up to 5 s for it to go, then `SIGKILL`.
fn stop_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let kill = |signal: &str| {
        Command::new("kill")
            .args(["-s", signal, "--", &group])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    kill("TERM");
    let end = Instant::now() + Duration::from_secs(5);
    // `kill -0` fails once no process of the group is left.
    while kill("0") && Instant::now() < end {
        let _ = child.try_wait();
        std::thread::sleep(Duration::from_millis(20));
    }
    kill("KILL");
    let _ = child.wait();
}
