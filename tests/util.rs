//! Shared test fixtures: an in-process server on 127.0.0.1:0 and the built binary.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use grpcstream::{
    config::{EchoConfig, ServeConfig},
    proto::echo_service_client::EchoServiceClient,
};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// Demo timings short enough for tests that do not measure them.
pub fn fast() -> ServeConfig {
    ServeConfig {
        echo: EchoConfig {
            server_stream_interval: Duration::from_millis(5),
            async_delay: Duration::from_millis(5),
            ..ServeConfig::default().echo
        },
        ..ServeConfig::default()
    }
}

/// A server running in this process; shuts down when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
}

impl TestServer {
    pub async fn start(config: ServeConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        tokio::spawn(grpcstream::serve::serve(listener, config, shutdown.clone()));
        Self { addr, shutdown }
    }

    pub async fn client(&self) -> EchoServiceClient<Channel> {
        EchoServiceClient::connect(format!("http://{}", self.addr))
            .await
            .expect("connect to the test server")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Serves `router` (a server of the proto that a test builds, e.g. a broken one) on
/// 127.0.0.1:0 until `shutdown`; returns its address.
pub async fn spawn_router(
    router: tonic::transport::server::Router,
    shutdown: CancellationToken,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr").to_string();
    tokio::spawn(router.serve_with_incoming_shutdown(
        tonic::transport::server::TcpIncoming::from(listener),
        shutdown.cancelled_owned(),
    ));
    addr
}

/// The `grpcstream` binary built for these tests.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grpcstream"));
    // The developer's own settings must not leak into tests.
    for (key, _) in std::env::vars() {
        if key.starts_with("GRPCSTREAM_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A child process whose stdout and stderr lines are collected in the background; it is
/// killed (by its PID) when dropped.
pub struct Process {
    pub child: Child,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

fn forward(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Process {
    pub fn spawn(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn grpcstream");
        let out = forward(child.stdout.take().expect("piped stdout"));
        let err = forward(child.stderr.take().expect("piped stderr"));
        Self {
            child,
            out,
            err,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    fn pump(&mut self) {
        self.stdout.extend(self.out.try_iter());
        self.stderr.extend(self.err.try_iter());
    }

    /// Waits for a line (stdout or stderr) containing `needle`; panics with all output on timeout.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            self.pump();
            if let Some(line) = self
                .stdout
                .iter()
                .chain(&self.stderr)
                .find(|l| l.contains(needle))
            {
                return line.clone();
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "no line containing {needle:?} within {timeout:?}; output so far:\n{}",
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn transcript(&mut self) -> String {
        self.pump();
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout.join("\n"),
            self.stderr.join("\n")
        )
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit; returns its exit code and how long that took. The
    /// output is complete afterwards.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Option<i32>, Duration) {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The pipes close with the process; give the readers a moment to drain.
                std::thread::sleep(Duration::from_millis(50));
                self.pump();
                return (status.code(), start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "process did not exit within {timeout:?}; {}",
            self.transcript()
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the binary to completion (at most `timeout`) and returns exit code and output.
pub fn run_bounded(args: &[&str], timeout: Duration) -> (Option<i32>, Process) {
    let mut process = Process::spawn(bin().args(args));
    let (code, _) = process.wait_exit(timeout);
    (code, process)
}

/// `grpcstream serve` as a child process on 127.0.0.1 with a free port.
pub struct ServeProcess {
    pub addr: SocketAddr,
    pub process: Process,
}

impl ServeProcess {
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(
            bin()
                .args(["serve", "--listen", "127.0.0.1", "--port", "0"])
                .args(args),
        )
    }

    pub fn start_with(cmd: &mut Command) -> Self {
        let mut process = Process::spawn(cmd);
        let line = process.wait_for("listening on ", Duration::from_secs(20));
        let addr = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '"').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self { addr, process }
    }
}

impl std::ops::Deref for ServeProcess {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for ServeProcess {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}
