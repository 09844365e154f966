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

/// `grpcstream serve` as a child process on 127.0.0.1 with a free port. Its stderr lines
/// are collected in the background; the process is killed (by PID) when dropped.
pub struct ServeProcess {
    pub addr: SocketAddr,
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
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
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn grpcstream serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Self {
            addr: ([0, 0, 0, 0], 0).into(),
            child,
            lines,
            seen: Vec::new(),
        };
        let line = process.wait_for("listening on ", Duration::from_secs(20));
        let addr = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '"').next())
            .expect("address after 'listening on'");
        process.addr = addr.parse().expect("a socket address");
        process
    }

    /// Waits for a stderr line containing `needle`; panics with all lines seen on timeout.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no line containing {needle:?} within {timeout:?}; stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit; returns its exit code and how long that took.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Option<i32>, Duration) {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status.code(), start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "grpcstream serve did not exit within {timeout:?}; stderr:\n{}",
            self.seen.join("\n")
        );
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
