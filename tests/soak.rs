//! `grpcstream soak`: embedded runs, integrity against broken servers, gates, merge, signals
//! and faults.

use std::{pin::Pin, time::Duration};

use grpcstream::{
    config::{self, CommandConfig, SoakConfig},
    proto::{
        echo_service_server::{EchoService, EchoServiceServer},
        EchoRequest, EchoResponse,
    },
    soak::{self, report::Report},
};
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use crate::{
    python::PyServer,
    util::{bin, run_bounded, spawn_router, Process, ServeProcess},
};

fn soak_config(args: &[&str]) -> SoakConfig {
    let mut argv = vec!["grpcstream", "soak"];
    argv.extend(args);
    match config::load(argv).map(|c| c.command) {
        Ok(CommandConfig::Soak(config)) => config,
        other => panic!("not a soak config: {other:?}"),
    }
}

async fn run(args: &[&str]) -> Report {
    soak::soak(&soak_config(args), CancellationToken::new())
        .await
        .expect("soak runs")
}

/// 20 calls of `pattern`, 10 messages each, against `server`, no warm-up.
pub(crate) async fn twenty_calls(server: &str, pattern: &str, extra: &[&str]) -> Report {
    let mut args = vec![
        "--server",
        server,
        "--pattern",
        pattern,
        "--streams",
        "20",
        "--messages-per-stream",
        "10",
        "--warmup",
        "0s",
    ];
    args.extend(extra);
    run(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_soak_of_every_pattern_is_fast_ordered_and_clean() {
    let report = run(&[
        "--pattern",
        "mix",
        "--duration",
        "2s",
        "--warmup",
        "200ms",
        "--concurrency",
        "8",
        "--connections",
        "2",
    ])
    .await;
    let stats = &report.stats;
    assert!(
        stats.calls > 0 && stats.messages_received > 0,
        "{:?}",
        report.to_json()
    );
    assert_eq!(stats.calls_failed, 0, "{:?}", stats.errors);
    assert!(stats.integrity.is_clean(), "{:?}", stats.integrity);
    let h = &stats.latency;
    assert!(
        h.value_at_quantile(0.5) <= h.value_at_quantile(0.99)
            && h.value_at_quantile(0.99) <= h.max()
    );
    // Server-stream was in the mix: first-reply and inter-arrival were measured too.
    assert!(!stats.first_reply.is_empty() && !stats.inter_arrival.is_empty());
    assert_eq!(report.reconnects, 0);
    assert!(report.client.cpu_user_s > 0.0 && report.client.peak_rss_bytes > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_count_bounds_the_run() {
    let report = run(&[
        "--streams",
        "50",
        "--warmup",
        "0s",
        "--messages-per-stream",
        "10",
        "--pattern",
        "client-stream",
    ])
    .await;
    assert_eq!(report.stats.calls, 50);
    assert_eq!(report.stats.messages_sent, 500);
    assert!(
        report.stats.integrity.is_clean(),
        "{:?}",
        report.stats.integrity
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_rate_is_held() {
    let report = run(&[
        "--rate",
        "2000",
        "--duration",
        "2s",
        "--warmup",
        "0s",
        "--concurrency",
        "4",
    ])
    .await;
    let per_s = report.stats.messages_sent as f64 / report.measured.as_secs_f64();
    assert!(
        (1500.0..2500.0).contains(&per_s),
        "asked for 2000 msgs/s, sent {per_s:.0}/s"
    );
}

/// A bidi-sync server that breaks the sixth message of every stream in one way.
#[derive(Clone, Copy)]
enum Fault {
    Drop,
    Duplicate,
    Reorder,
    Corrupt,
    Fail,
}

struct Faulty(Fault);

type Replies = Pin<Box<dyn Stream<Item = Result<EchoResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EchoService for Faulty {
    async fn echo_client_stream(
        &self,
        _: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoResponse>, Status> {
        Err(Status::unimplemented("bidi-sync only"))
    }
    type EchoServerStreamStream = Replies;
    async fn echo_server_stream(
        &self,
        _: Request<EchoRequest>,
    ) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("bidi-sync only"))
    }
    type EchoBidirectionalStreamSyncStream = Replies;
    async fn echo_bidirectional_stream_sync(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Replies>, Status> {
        let fault = self.0;
        let mut inbound = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            let reply = |m: String| {
                Ok(EchoResponse {
                    message: format!("Sync Echo: {m}"),
                })
            };
            let mut held = None;
            let mut i = 0;
            while let Some(next) = inbound.next().await {
                let out: Vec<Result<EchoResponse, Status>> = match (next, fault, i) {
                    (Err(status), _, _) => vec![Err(status)],
                    (Ok(_), Fault::Drop, 5) => vec![],
                    (Ok(m), Fault::Duplicate, 5) => {
                        vec![reply(m.message.clone()), reply(m.message)]
                    }
                    (Ok(m), Fault::Reorder, 5) => {
                        held = Some(m.message);
                        vec![]
                    }
                    (Ok(m), Fault::Reorder, 6) => {
                        vec![reply(m.message), reply(held.take().unwrap_or_default())]
                    }
                    (Ok(m), Fault::Corrupt, 5) => {
                        vec![reply(m.message.replacen('a', "b", 1).replacen('c', "d", 1))]
                    }
                    (Ok(_), Fault::Fail, 10) => vec![Err(Status::internal("injected failure"))],
                    (Ok(m), _, _) => vec![reply(m.message)],
                };
                i += 1;
                for item in out {
                    let failed = item.is_err();
                    if tx.send(item).await.is_err() || failed {
                        return;
                    }
                }
            }
        });
        let replies = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(Box::pin(replies)))
    }
    type EchoBidirectionalStreamAsyncStream = Replies;
    async fn echo_bidirectional_stream_async(
        &self,
        _: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("bidi-sync only"))
    }
}

async fn soak_faulty(fault: Fault) -> Report {
    let router =
        tonic::transport::Server::builder().add_service(EchoServiceServer::new(Faulty(fault)));
    let addr = spawn_router(router, CancellationToken::new()).await;
    run(&[
        "--server",
        &addr,
        "--streams",
        "20",
        "--warmup",
        "0s",
        "--messages-per-stream",
        "20",
        "--concurrency",
        "4",
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_broken_echo_is_detected() {
    let found = soak_faulty(Fault::Drop).await.stats.integrity;
    assert_eq!(
        (
            found.lost,
            found.duplicated,
            found.reordered,
            found.corrupted
        ),
        (20, 0, 0, 0),
        "drop: {found:?}"
    );
    let found = soak_faulty(Fault::Duplicate).await.stats.integrity;
    assert_eq!(
        (
            found.lost,
            found.duplicated,
            found.reordered,
            found.corrupted
        ),
        (0, 20, 0, 0),
        "duplicate: {found:?}"
    );
    let found = soak_faulty(Fault::Reorder).await.stats.integrity;
    assert_eq!(
        (
            found.lost,
            found.duplicated,
            found.reordered,
            found.corrupted
        ),
        (0, 0, 20, 0),
        "reorder: {found:?}"
    );
    let found = soak_faulty(Fault::Corrupt).await.stats.integrity;
    assert_eq!(
        (
            found.lost,
            found.duplicated,
            found.reordered,
            found.corrupted
        ),
        (0, 0, 0, 20),
        "corrupt: {found:?}"
    );
    let report = soak_faulty(Fault::Fail).await;
    assert_eq!(report.stats.calls_failed, 20);
    assert_eq!(
        report.stats.errors.get("INTERNAL"),
        Some(&20),
        "{:?}",
        report.stats.errors
    );
    assert!(
        report.stats.integrity.is_clean(),
        "an error status is not silent loss: {:?}",
        report.stats.integrity
    );
}

#[test]
fn gates_decide_the_exit_code_and_name_what_failed() {
    let quick = [
        "soak",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--concurrency",
        "2",
    ];
    let mut args = quick.to_vec();
    args.extend(["--max-p99", "1ns", "--min-throughput", "1e12"]);
    let (code, mut out) = run_bounded(&args, Duration::from_secs(30));
    assert_eq!(code, Some(1), "{}", out.transcript());
    let stderr = out.stderr.join("\n");
    assert!(
        stderr.contains("FAIL max-p99") && stderr.contains("FAIL min-throughput"),
        "{stderr}"
    );
    let mut args = quick.to_vec();
    args.extend([
        "--max-p99",
        "10s",
        "--min-throughput",
        "1",
        "--max-error-rate",
        "0",
    ]);
    let (code, mut out) = run_bounded(&args, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{}", out.transcript());
    assert!(
        out.stdout.iter().any(|l| l.starts_with("latency")),
        "the table is printed: {}",
        out.transcript()
    );
}

#[test]
fn merged_reports_have_the_percentiles_of_one_histogram_of_both_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths: Vec<String> = ["a.json", "b.json"]
        .iter()
        .map(|f| dir.path().join(f).to_string_lossy().into_owned())
        .collect();
    for (path, concurrency) in paths.iter().zip(["1", "8"]) {
        let (code, mut out) = run_bounded(
            &[
                "soak",
                "--duration",
                "1s",
                "--warmup",
                "0s",
                "--concurrency",
                concurrency,
                "--output",
                "json",
                path,
            ],
            Duration::from_secs(30),
        );
        assert_eq!(code, Some(0), "{}", out.transcript());
    }
    let read = |p: &str| {
        Report::from_json(
            &serde_json::from_str(&std::fs::read_to_string(p).expect("report")).expect("JSON"),
        )
        .expect("a report")
    };
    let (a, b) = (read(&paths[0]), read(&paths[1]));
    let mut both = a.stats.latency.clone();
    both.add(&b.stats.latency).expect("same bounds");

    let merged_path = dir
        .path()
        .join("merged.json")
        .to_string_lossy()
        .into_owned();
    let (code, mut out) = run_bounded(
        &[
            "soak",
            "merge",
            &paths[0],
            &paths[1],
            "--output",
            "json",
            &merged_path,
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{}", out.transcript());
    let merged = read(&merged_path);
    for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(
            merged.stats.latency.value_at_quantile(q),
            both.value_at_quantile(q),
            "quantile {q}"
        );
    }
    assert_eq!(
        merged.stats.messages_received,
        a.stats.messages_received + b.stats.messages_received
    );
    assert_eq!(merged.sources, 2);
}

#[test]
fn sigint_stops_early_and_still_reports() {
    let mut soak = Process::spawn(bin().args([
        "soak",
        "--duration",
        "60s",
        "--warmup",
        "0s",
        "--concurrency",
        "2",
    ]));
    std::thread::sleep(Duration::from_millis(1500));
    soak.signal("INT");
    let (code, took) = soak.wait_exit(Duration::from_secs(15));
    assert_eq!(code, Some(0), "{}", soak.transcript());
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(
        soak.stdout.iter().any(|l| l.contains("interrupted")),
        "{}",
        soak.transcript()
    );
    assert!(
        soak.stdout.iter().any(|l| l.starts_with("latency")),
        "{}",
        soak.transcript()
    );
}

/// Client-stream and bidi replies are read straight from the response's DATA frames
/// (soak/replies.rs), or through tonic when the server compresses them: both must count and
/// check every reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_checked_compressed_or_cut_across_frames() {
    let plain = ServeProcess::start(&["--async-delay", "0s"]);
    // It compresses its replies when the client accepts zstd, as soak does.
    let compressing = ServeProcess::start(&["--async-delay", "0s", "--compression", "zstd"]);
    let (plain, compressing) = (plain.addr.to_string(), compressing.addr.to_string());
    // 40 KB messages: every echo, and every summary, spans HTTP/2 frames (16 KiB at most).
    let big = ["--message-size", "40KB"];
    let runs: [(&str, &str, &[&str]); 6] = [
        (&plain, "bidi-sync", &big),
        (&plain, "client-stream", &big),
        (&plain, "bidi-async", &["--compression", "gzip"]),
        (&compressing, "bidi-sync", &[]),
        (&compressing, "bidi-async", &["--compression", "gzip"]),
        (&compressing, "client-stream", &[]),
    ];
    for (server, pattern, extra) in runs {
        let report = twenty_calls(server, pattern, extra).await;
        let args = (server, pattern, extra);
        let stats = &report.stats;
        // One summary per client-stream call, one echo per bidi message.
        let replies = if pattern == "client-stream" { 20 } else { 200 };
        assert_eq!(stats.calls_failed, 0, "{args:?}: {:?}", stats.errors);
        assert_eq!(
            (stats.calls, stats.messages_sent, stats.messages_received),
            (20, 200, replies),
            "{args:?}"
        );
        assert!(
            stats.integrity.is_clean(),
            "{args:?}: {:?}",
            stats.integrity
        );
        assert_eq!(stats.latency.len(), replies, "{args:?}");
    }
}

/// grpcio's HTTP/2 stack is not ours: soak's requests (written by soak/request_body.rs,
/// or tonic's encoder when compressed) and its reading of Python's replies must hold there
/// too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pattern_is_clean_against_an_independent_python_server() {
    let server = tokio::task::spawn_blocking(|| {
        PyServer::start(&["--server-stream-interval-ms", "1", "--async-delay-ms", "1"])
    })
    .await
    .expect("the server starts");
    let addr = server.addr.to_string();
    for (pattern, extra) in [
        ("client-stream", &[][..]),
        ("client-stream", &["--compression", "gzip"][..]),
        ("server-stream", &["--server-stream-count", "5"][..]),
        ("bidi-sync", &[][..]),
        ("bidi-async", &[][..]),
    ] {
        let report = twenty_calls(&addr, pattern, extra).await;
        let stats = &report.stats;
        let (sent, received) = match pattern {
            "client-stream" => (200, 20),
            "server-stream" => (20, 100),
            _ => (200, 200),
        };
        assert_eq!(
            stats.calls_failed, 0,
            "{pattern} {extra:?}: {:?}",
            stats.errors
        );
        assert_eq!(
            (stats.calls, stats.messages_sent, stats.messages_received),
            (20, sent, received),
            "{pattern} {extra:?}"
        );
        assert!(
            stats.integrity.is_clean(),
            "{pattern} {extra:?}: {:?}",
            stats.integrity
        );
    }
}

#[test]
fn a_server_restart_is_counted_and_survived() {
    let server = ServeProcess::start(&[]);
    let addr = server.addr.to_string();
    let port = server.addr.port().to_string();
    let mut soak = Process::spawn(bin().args([
        "soak",
        "--server",
        &addr,
        "--duration",
        "4s",
        "--warmup",
        "0s",
        "--concurrency",
        "4",
        "--timeout",
        "5s",
        "--output",
        "json",
    ]));
    std::thread::sleep(Duration::from_millis(1000));
    server.signal("KILL");
    drop(server);
    std::thread::sleep(Duration::from_millis(300));
    let _restarted =
        ServeProcess::start_with(bin().args(["serve", "--listen", "127.0.0.1", "--port", &port]));
    let (code, _) = soak.wait_exit(Duration::from_secs(30));
    let report: serde_json::Value = serde_json::from_str(&soak.stdout.join("\n"))
        .unwrap_or_else(|e| panic!("JSON report ({e}): {}", soak.transcript()));
    assert_eq!(code, Some(0), "{}", soak.transcript());
    assert!(
        report["calls"]["failed"].as_u64() > Some(0),
        "streams cut by the kill are counted: {report}"
    );
    assert!(report["reconnects"].as_u64() >= Some(1), "{report}");
    assert_eq!(report["integrity"]["lost"], 0, "{report}");
    assert!(report["messages"]["received"].as_u64() > Some(0));
}

#[test]
fn soak_settings_come_from_the_config_file_and_environment_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("soak.toml");
    std::fs::write(
        &file,
        "[soak]\nconcurrency = 3\nmessage-size = \"1KiB\"\noutput = [\"json\", \"r.json\"]\n",
    )
    .expect("write");
    let file = file.to_string_lossy().into_owned();
    let config = soak_config(&["--config", &file, "--connections", "2"]);
    assert_eq!(
        (config.concurrency, config.connections, config.message_size),
        (3, 2, 1024)
    );
    assert_eq!(
        config.output.file.as_deref(),
        Some(std::path::Path::new("r.json"))
    );
}

/// A bidi-sync server that answers each message 2 ms after it arrives and records the most
/// messages it ever held unanswered.
#[derive(Clone, Default)]
struct Slow {
    pending: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

#[tonic::async_trait]
impl EchoService for Slow {
    async fn echo_client_stream(
        &self,
        _: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoResponse>, Status> {
        Err(Status::unimplemented("bidi-sync only"))
    }
    type EchoServerStreamStream = Replies;
    async fn echo_server_stream(
        &self,
        _: Request<EchoRequest>,
    ) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("bidi-sync only"))
    }
    type EchoBidirectionalStreamSyncStream = Replies;
    async fn echo_bidirectional_stream_sync(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Replies>, Status> {
        use std::sync::atomic::Ordering::SeqCst;
        let mut inbound = request.into_inner();
        let (queue_tx, mut queue_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel();
        let (pending, most) = (self.pending.clone(), self.most.clone());
        tokio::spawn(async move {
            while let Some(Ok(request)) = inbound.next().await {
                let now = pending.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                if queue_tx.send(request.message).is_err() {
                    return;
                }
            }
        });
        let pending = self.pending.clone();
        tokio::spawn(async move {
            while let Some(message) = queue_rx.recv().await {
                tokio::time::sleep(Duration::from_millis(2)).await;
                pending.fetch_sub(1, SeqCst);
                let reply = EchoResponse {
                    message: grpcstream::contract::sync_reply(&message),
                };
                if out_tx.send(Ok(reply)).is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::UnboundedReceiverStream::new(out_rx),
        )))
    }
    type EchoBidirectionalStreamAsyncStream = Replies;
    async fn echo_bidirectional_stream_async(
        &self,
        _: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("bidi-sync only"))
    }
}

/// The most messages one stream had awaiting their echo at once, soaking `Slow` with `extra`.
async fn most_in_flight(extra: &[&str]) -> usize {
    let slow = Slow::default();
    let router =
        tonic::transport::Server::builder().add_service(EchoServiceServer::new(slow.clone()));
    let addr = spawn_router(router, CancellationToken::new()).await;
    let mut args = vec![
        "--server",
        &addr,
        "--pattern",
        "bidi-sync",
        "--streams",
        "1",
        "--concurrency",
        "1",
        "--messages-per-stream",
        "40",
        "--warmup",
        "0s",
    ];
    args.extend(extra);
    let report = run(&args).await;
    assert_eq!(report.stats.messages_received, 40, "{:?}", report.to_json());
    assert!(
        report.stats.integrity.is_clean(),
        "{:?}",
        report.stats.integrity
    );
    slow.most.load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_bounds_the_messages_awaiting_their_echo() {
    assert_eq!(most_in_flight(&["--in-flight", "1"]).await, 1, "ping-pong");
    let four = most_in_flight(&["--in-flight", "4"]).await;
    assert!((2..=4).contains(&four), "--in-flight 4: {four} at once");
    let unbounded = most_in_flight(&[]).await;
    assert!(unbounded > 4, "without --in-flight: {unbounded} at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_crossing_the_warmup_count_only_what_they_sent_after_it() {
    // Two ping-pong streams that outlive the warm-up and the run: what they sent during the
    // warm-up must not count, so sent and received differ by at most the two in flight.
    let report = run(&[
        "--pattern",
        "bidi-sync",
        "--concurrency",
        "2",
        "--in-flight",
        "1",
        "--stream-duration",
        "10s",
        "--warmup",
        "700ms",
        "--duration",
        "700ms",
    ])
    .await;
    let stats = &report.stats;
    assert!(stats.messages_received > 0, "{:?}", report.to_json());
    assert!(
        stats.messages_sent.abs_diff(stats.messages_received) <= 2,
        "sent {} received {}",
        stats.messages_sent,
        stats.messages_received
    );
}

#[test]
fn verbose_soak_logs_each_call_through_the_timing_layer() {
    let server = ServeProcess::start(&["--async-delay", "0s", "--server-stream-interval", "0s"]);
    let addr = server.addr.to_string();
    for (pattern, method) in [
        ("client-stream", "EchoClientStream"),
        ("server-stream", "EchoServerStream"),
        ("bidi-sync", "EchoBidirectionalStreamSync"),
        ("bidi-async", "EchoBidirectionalStreamAsync"),
    ] {
        let (code, mut out) = run_bounded(
            &[
                "soak",
                "--server",
                &addr,
                "--pattern",
                pattern,
                "--streams",
                "3",
                "--concurrency",
                "1",
                "--warmup",
                "0s",
                "--verbose",
                "--output",
                "json",
            ],
            Duration::from_secs(30),
        );
        assert_eq!(code, Some(0), "{}", out.transcript());
        let lines: Vec<&String> = out
            .stderr
            .iter()
            .filter(|l| l.contains("rpc finished") && l.contains("side=client"))
            .collect();
        assert_eq!(
            lines.len(),
            3,
            "{pattern}: one line per call: {}",
            out.transcript()
        );
        for line in lines {
            assert!(
                line.contains(&format!("method=/api.stream.v1.EchoService/{method}")),
                "{line}"
            );
            assert!(line.contains("status=OK"), "{line}");
            assert!(line.contains("duration_ms="), "{line}");
        }
    }
}
