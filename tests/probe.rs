//! `grpcstream probe` against our server, an independent Python server, broken servers and
//! no server at all: verdicts, messages, exit codes and JSON output.

use std::{net::TcpListener, time::Duration};

use crate::{
    python::PyServer,
    util::{bin, fast, run_bounded, Process, ServeProcess, TestServer},
};

/// Fast pacing for tests; the original's timings are the defaults.
const QUICK: [&str; 4] = ["--message-gap", "20ms", "--timeout", "10s"];

fn probe_args<'a>(pattern: &'a str, server: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["probe", pattern, "--once", "--server", server];
    args.extend(QUICK);
    args.extend(extra);
    args
}

/// `probe all` exited 0 with a PASS line for each of the four patterns.
fn all_four_pass((code, mut out): (Option<i32>, Process)) {
    assert_eq!(code, Some(0), "{}", out.transcript());
    assert_eq!(
        out.stdout.iter().filter(|l| l.starts_with("PASS ")).count(),
        4,
        "{:?}",
        out.stdout
    );
}

fn json_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pattern_passes_against_serve_with_exit_0() {
    let server = TestServer::start(fast()).await;
    let addr = server.addr.to_string();
    let (code, mut out) = tokio::task::spawn_blocking(move || {
        run_bounded(
            &probe_args("all", &addr, &["--output", "json"]),
            Duration::from_secs(30),
        )
    })
    .await
    .expect("probe");
    assert_eq!(code, Some(0), "{}", out.transcript());
    let lines = json_lines(&out.stdout);
    assert_eq!(
        lines.len(),
        5,
        "four probes and a summary: {:?}",
        out.stdout
    );
    let mut patterns: Vec<&str> = lines[..4]
        .iter()
        .map(|l| l["pattern"].as_str().expect("pattern"))
        .collect();
    patterns.sort();
    assert_eq!(
        patterns,
        ["bidi-async", "bidi-sync", "client-stream", "server-stream"]
    );
    for line in &lines[..4] {
        assert_eq!(line["type"], "probe");
        assert_eq!(line["ok"], true, "{line}");
        assert!(line["error"].is_null());
        assert!(line["duration_ms"].as_f64().expect("duration") > 0.0);
    }
    let summary = &lines[4];
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["patterns"].as_array().expect("patterns").len(), 4);
    // The client side logs one timing line per RPC, through the shared interceptor.
    let timing: Vec<&String> = out
        .stderr
        .iter()
        .filter(|l| l.contains("rpc finished") && l.contains("side=client"))
        .collect();
    assert_eq!(timing.len(), 4, "{:?}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn original_names_and_text_output_work() {
    let server = TestServer::start(fast()).await;
    let addr = server.addr.to_string();
    for pattern in ["client", "server", "sync", "async"] {
        let addr = addr.clone();
        let (code, mut out) = tokio::task::spawn_blocking(move || {
            run_bounded(&probe_args(pattern, &addr, &[]), Duration::from_secs(30))
        })
        .await
        .expect("probe");
        assert_eq!(code, Some(0), "{pattern}: {}", out.transcript());
        assert_eq!(out.stdout.len(), 1, "{:?}", out.stdout);
        assert!(out.stdout[0].starts_with("PASS "), "{}", out.stdout[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_wrongly_fails_the_probe_with_exit_1() {
    let mut config = fast();
    config.echo.server_stream_count = 4;
    let server = TestServer::start(config).await;
    let addr = server.addr.to_string();
    let (code, mut out) = tokio::task::spawn_blocking(move || {
        run_bounded(
            &probe_args("server-stream", &addr, &[]),
            Duration::from_secs(30),
        )
    })
    .await
    .expect("probe");
    assert_eq!(code, Some(1), "{}", out.transcript());
    let line = &out.stdout[0];
    assert!(line.starts_with("FAIL server-stream"), "{line}");
    assert!(
        line.contains("expected 5 replies, got 4")
            && line.contains("Echo #5: Hello from client-2 for server stream"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expected_server_stream_count_is_configurable() {
    let mut config = fast();
    config.echo.server_stream_count = 4;
    let server = TestServer::start(config).await;
    let addr = server.addr.to_string();
    let (code, mut out) = tokio::task::spawn_blocking(move || {
        run_bounded(
            &probe_args("server-stream", &addr, &["--server-stream-count", "4"]),
            Duration::from_secs(30),
        )
    })
    .await
    .expect("probe");
    assert_eq!(code, Some(0), "{}", out.transcript());
}

#[test]
fn all_passes_against_an_independent_python_server() {
    let server = PyServer::start(&[
        "--server-stream-interval-ms",
        "10",
        "--async-delay-ms",
        "20",
    ]);
    let addr = server.addr.to_string();
    all_four_pass(run_bounded(
        &probe_args("all", &addr, &[]),
        Duration::from_secs(60),
    ));
}

#[test]
fn a_wrong_text_from_the_python_server_is_named() {
    let server = PyServer::start(&["--server-stream-interval-ms", "10", "--wrong-text"]);
    let addr = server.addr.to_string();
    let (code, mut out) = run_bounded(
        &probe_args("server-stream", &addr, &[]),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1), "{}", out.transcript());
    let line = &out.stdout[0];
    assert!(
        line.contains(r#"reply 1: expected "Echo #1: Hello from client-2 for server stream", got "Echo #1:Hello from client-2 for server stream""#),
        "{line}"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[test]
fn no_server_is_one_clear_line_and_exit_1() {
    let addr = format!("127.0.0.1:{}", free_port());
    let (code, mut out) = run_bounded(
        &probe_args("bidi-sync", &addr, &[]),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "{}", out.transcript());
    assert_eq!(out.stdout.len(), 1, "{:?}", out.stdout);
    assert!(
        out.stdout[0].contains(&format!("cannot connect to {addr}: connection refused")),
        "{}",
        out.stdout[0]
    );
}

#[test]
fn a_server_killed_mid_probe_fails_fast_with_exit_1() {
    let server = ServeProcess::start(&[]);
    let addr = server.addr.to_string();
    let mut probe = Process::spawn(bin().args([
        "probe",
        "bidi-sync",
        "--once",
        "--server",
        &addr,
        "--messages",
        "10",
        "--message-gap",
        "300ms",
        "--timeout",
        "20s",
    ]));
    std::thread::sleep(Duration::from_millis(700));
    server.signal("KILL");
    let (code, took) = probe.wait_exit(Duration::from_secs(15));
    assert_eq!(code, Some(1), "{}", probe.transcript());
    assert!(
        took < Duration::from_secs(5),
        "the probe noticed the dead server only after {took:?}"
    );
    assert!(
        probe.stdout[0].starts_with("FAIL bidi-sync"),
        "{}",
        probe.stdout[0]
    );
}

#[test]
fn continuous_probe_recovers_when_the_server_comes_up_and_summarises_on_sigint() {
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let mut probe = Process::spawn(bin().args([
        "probe",
        "server-stream",
        "--server",
        &addr,
        "--interval",
        "100ms",
        "--output",
        "json",
        "--timeout",
        "10s",
    ]));
    probe.wait_for("connection refused", Duration::from_secs(10));
    let server = ServeProcess::start_with(bin().args([
        "serve",
        "--listen",
        "127.0.0.1",
        "--port",
        &port,
        "--server-stream-interval",
        "5ms",
    ]));
    probe.wait_for(r#""ok":true"#, Duration::from_secs(20));
    probe.signal("INT");
    let (code, _) = probe.wait_exit(Duration::from_secs(15));
    drop(server);
    assert_eq!(
        code,
        Some(1),
        "failures happened before the server came up: {}",
        probe.transcript()
    );
    let lines = json_lines(&probe.stdout);
    let summary = lines.last().expect("a summary");
    assert_eq!(summary["type"], "summary");
    let stats = &summary["patterns"][0];
    assert_eq!(stats["pattern"], "server-stream");
    assert!(
        stats["failed"].as_u64() >= Some(1) && stats["passed"].as_u64() >= Some(1),
        "{summary}"
    );
    assert_eq!(stats["runs"].as_u64(), Some(lines.len() as u64 - 1));
    assert!(stats["median_ms"].as_f64().is_some(), "{summary}");
}

#[test]
fn bad_probe_usage_exits_2() {
    let (code, mut out) = run_bounded(&["probe", "sideways"], Duration::from_secs(10));
    assert_eq!(code, Some(2), "{}", out.transcript());
    let (code, mut out) = run_bounded(
        &["probe", "all", "--server", "ftp://x:1"],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(2), "{}", out.transcript());
    assert!(
        out.stderr
            .join("\n")
            .contains("must use http:// or https://"),
        "{}",
        out.transcript()
    );
    let (code, mut out) = run_bounded(
        &["probe", "all", "--header", "novalue"],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(2), "{}", out.transcript());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_are_sent_with_every_rpc() {
    use grpcstream::{
        config::ServeConfig, proto::serving::echo_service_server::EchoServiceServer,
        serve::echo::Echo,
    };
    // A server that refuses RPCs without `x-team: streaming`.
    let echo = Echo::new(
        fast().echo,
        ServeConfig::default().max_message_size,
        grpcstream::serve::Stop::default(),
    );
    let guarded = EchoServiceServer::with_interceptor(echo, |req: tonic::Request<()>| {
        match req.metadata().get("x-team") {
            Some(v) if v == "streaming" => Ok(req),
            _ => Err(tonic::Status::permission_denied("x-team header missing")),
        }
    });
    let router = tonic::transport::Server::builder().add_service(guarded);
    let addr = crate::util::spawn_router(router, tokio_util::sync::CancellationToken::new()).await;

    let with = addr.clone();
    let (code, mut out) = tokio::task::spawn_blocking(move || {
        run_bounded(
            &probe_args("all", &with, &["--header", "x-team=streaming"]),
            Duration::from_secs(30),
        )
    })
    .await
    .expect("probe");
    assert_eq!(code, Some(0), "{}", out.transcript());
    let (code, mut out) = tokio::task::spawn_blocking(move || {
        run_bounded(
            &probe_args("client-stream", &addr, &[]),
            Duration::from_secs(30),
        )
    })
    .await
    .expect("probe");
    assert_eq!(code, Some(1), "{}", out.transcript());
    assert!(
        out.stdout[0].contains("PERMISSION_DENIED: x-team header missing"),
        "{}",
        out.stdout[0]
    );
}

#[test]
fn the_go_servers_summary_form_is_accepted() {
    let server = PyServer::start(&["--go-summary"]);
    let addr = server.addr.to_string();
    let (code, mut out) = run_bounded(
        &probe_args("client-stream", &addr, &[]),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{}", out.transcript());
}

/// One worker (or one core) runs everything on the main thread: all three still work.
#[test]
fn one_worker_serves_probes_and_soaks_every_pattern() {
    let server = ServeProcess::start(&[
        "--workers",
        "1",
        "--server-stream-interval",
        "10ms",
        "--async-delay",
        "20ms",
    ]);
    let addr = server.addr.to_string();
    all_four_pass(run_bounded(
        &probe_args("all", &addr, &["--workers", "1"]),
        Duration::from_secs(60),
    ));
    let (code, mut out) = run_bounded(
        &[
            "soak",
            "--server",
            &addr,
            "--workers",
            "1",
            "--pattern",
            "mix",
            "--streams",
            "40",
            "--messages-per-stream",
            "5",
            "--warmup",
            "0s",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{}", out.transcript());
}
