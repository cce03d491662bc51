//! Running the recipes of `genesys-examples` as processes.
//!
//! Cargo gives integration tests the paths of `[[bin]]` targets only (`CARGO_BIN_EXE_*`), not
//! of examples. So the first test that needs a recipe runs, once per test binary,
//! `cargo build --workspace --examples` (the only examples in the workspace are the recipes)
//! into the target directory and profile this test binary was built with (read from its own
//! path, `<target>/<profile>/deps/<test>`, which also honours `CARGO_TARGET_DIR`), then
//! executes `<target>/<profile>/examples/<name>`. `--workspace` unifies dependency features
//! the way `cargo test --workspace --all-targets` (scripts/test) does, which already built
//! the examples: the nested build then only checks that they are fresh. (`cargo run
//! --example` per test would take cargo's lock once per process, and `-p genesys-examples`
//! alone would pick other features and rebuild the dependency tree.)

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// `<target>/<profile>` of this test binary.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/<profile>/deps/<test binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary is not under <target>/<profile>/deps")
        .to_owned()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Builds the examples once (per test binary) and returns the directory holding them.
pub fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let profile_dir = profile_dir();
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("profile directory name")
            .to_owned();
        let target_dir = profile_dir.parent().expect("target dir").to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root())
            .args(["build", "--workspace", "--examples", "--quiet"])
            .arg("--target-dir")
            .arg(&target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let started = Instant::now();
        let out = cmd
            .output()
            .expect("running cargo build --workspace --examples");
        assert!(
            out.status.success(),
            "cargo build --workspace --examples failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "recipes: examples built ({profile}) in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        profile_dir.join("examples")
    })
}

/// The path of recipe `name`.
pub fn recipe(name: &str) -> PathBuf {
    let path = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A command for recipe `name` with the Genesys settings removed (so it uses the embedded
/// simulated org) and logs at `warn` unless the test says otherwise.
pub fn command(name: &str) -> Command {
    let mut cmd = Command::new(recipe(name));
    for var in [
        "GENESYSCLOUD_OAUTHCLIENT_ID",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
        "GENESYSCLOUD_REGION",
        "GENESYSCLOUD_API_URL",
        "GENESYSCLOUD_LOGIN_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// A finished recipe run.
#[derive(Debug)]
pub struct Output {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Output {
    /// The first line on stderr (the mode line).
    pub fn first_stderr_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }

    /// stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Panics with the output unless the run succeeded.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "recipe failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    })
}

/// Waits for `child` up to `timeout`, killing it past that.
fn wait(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the recipe") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let status = child.wait().expect("waiting for the killed recipe");
            panic!("recipe did not finish within {timeout:?} (killed: {status})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cmd` to completion (at most `timeout`).
pub fn run(mut cmd: Command, timeout: Duration) -> Output {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the recipe");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let status = wait(&mut child, timeout);
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        elapsed: started.elapsed(),
    }
}

/// Runs recipe `name` with `args` on the embedded simulator (at most 60 s).
pub fn run_recipe(name: &str, args: &[&str]) -> Output {
    let mut cmd = command(name);
    cmd.args(args);
    run(cmd, Duration::from_secs(60))
}

/// A recipe running as a server, with the address it printed (`listening on http://ADDR…`).
pub struct Server {
    child: Child,
    /// `http://ADDR` it listens on.
    pub base: String,
    stderr: Arc<Mutex<String>>,
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// Starts `cmd` and waits (up to 30 s) for its `listening on http://…` line on stderr.
    pub fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the recipe");
        let stdout = drain(child.stdout.take().expect("stdout"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let reader = BufReader::new(child.stderr.take().expect("stderr"));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String = rest
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '/')
                        .collect();
                    let _ = tx.send(format!("http://{addr}"));
                }
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the recipe did not report its address:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        Server {
            child,
            base,
            stderr,
            stdout: Some(stdout),
        }
    }

    /// The recipe's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`"TERM"`, `"INT"`, ...) without waiting.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        assert!(
            sent.map(|s| s.success()).unwrap_or(false),
            "kill -{signal} {pid} failed"
        );
    }

    /// stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits (up to 20 s) for the exit.
    pub fn terminate(self) -> Output {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            killed.map(|s| s.success()).unwrap_or(false),
            "kill -TERM {pid} failed"
        );
        self.wait(Duration::from_secs(20))
    }

    /// Waits (up to `timeout`) for the recipe to exit by itself.
    pub fn wait(mut self, timeout: Duration) -> Output {
        let started = Instant::now();
        let status = wait(&mut self.child, timeout);
        // Give the stderr reader a moment to reach the end of the pipe.
        std::thread::sleep(Duration::from_millis(50));
        Output {
            status,
            stdout: self
                .stdout
                .take()
                .map(|h| h.join().expect("stdout reader"))
                .unwrap_or_default(),
            stderr: self.stderr(),
            elapsed: started.elapsed(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh temporary directory.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// The moto endpoint, or `None` with a notice (and a failure when `SQS_DLQ_MOTO=1` says moto
/// should be there).
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("SQS_DLQ_MOTO").as_deref() != Ok("1"),
                "SQS_DLQ_MOTO=1 but AWS_ENDPOINT_URL is not set: the moto server is missing"
            );
            eprintln!(
                "NOTICE: skipping {test}: AWS_ENDPOINT_URL is not set (eval \"$(scripts/moto start)\" to run it against moto)"
            );
            None
        }
    }
}
