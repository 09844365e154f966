//! The server under hostile or careless clients: abrupt disconnects, readers that never
//! read, and a shutdown in the middle of a soak. Each bounded in count and time.

use std::time::{Duration, Instant};

use bytes::Bytes;
use grpcstream::proto::{echo_service_client::EchoServiceClient, EchoRequest};
use http::Request;

use crate::util::{bin, fast, Process, ServeProcess, TestServer};

/// One gRPC frame holding EchoRequest{message}.
fn echo_frame(message: &str) -> Bytes {
    let mut proto = vec![0x0a, message.len() as u8];
    proto.extend_from_slice(message.as_bytes());
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(proto.len() as u32).to_be_bytes());
    frame.extend(proto);
    Bytes::from(frame)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_vanish_mid_stream_leave_nothing_behind() {
    let server = TestServer::start(fast()).await;
    let mut client = server.client().await;
    client
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "warm".into(),
        }]))
        .await
        .expect("warm-up");
    let metrics = tokio::runtime::Handle::current().metrics();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let baseline = metrics.num_alive_tasks();

    // 300 clients, each on its own connection: open a bidi stream, send, then drop the TCP
    // connection without closing anything.
    for round in 0..3 {
        vanish(server.addr, 100, round).await;
    }
    // Everything the server started for those clients ends.
    let deadline = Instant::now() + Duration::from_secs(10);
    while metrics.num_alive_tasks() > baseline + 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        metrics.num_alive_tasks() <= baseline + 5,
        "{} tasks alive, baseline {baseline}",
        metrics.num_alive_tasks()
    );
    still_serving(&mut client).await;
}

/// The server answers a new RPC correctly.
async fn still_serving(client: &mut EchoServiceClient<tonic::transport::Channel>) {
    let reply = client
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "still".into(),
        }]))
        .await
        .expect("still serving");
    assert_eq!(reply.into_inner().message, "Received 1 messages: ['still']");
}

/// `n` clients, each on its own connection, open a bidi stream (async on even rounds, sync on
/// odd ones), send one message, and vanish together: the connections drop without RST or
/// GOAWAY, as when a client process is killed.
async fn vanish(addr: std::net::SocketAddr, n: usize, round: usize) {
    let mut abandoned = Vec::new();
    for _ in 0..n {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (h2, connection) = h2::client::handshake(tcp).await.expect("handshake");
        let driver = tokio::spawn(connection);
        let mut h2 = h2.ready().await.expect("ready");
        let path = if round % 2 == 0 {
            "EchoBidirectionalStreamAsync"
        } else {
            "EchoBidirectionalStreamSync"
        };
        let request = Request::post(format!("http://{addr}/api.stream.v1.EchoService/{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .expect("request");
        let (_response, mut send) = h2.send_request(request, false).expect("send");
        send.send_data(echo_frame("bye"), false).expect("data");
        abandoned.push((driver, send));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for (driver, _send) in abandoned {
        driver.abort(); // drops the connection: the socket closes, no RST, no GOAWAY
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_vanished_clients_leave_the_server_at_its_baseline_memory() {
    let server = ServeProcess::start(&["--server-stream-interval", "0s"]);
    let pid = server.child.id();
    let mut client = EchoServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");
    for _ in 0..20 {
        client
            .echo_client_stream(tokio_stream::iter([EchoRequest {
                message: "warm".into(),
            }]))
            .await
            .expect("warm-up");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = rss_kib(pid);
    // Two rounds of 500 at once: below a default 1,024 open files on either side.
    let mut peak = baseline;
    for round in 0..2 {
        vanish(server.addr, 500, round).await;
        peak = peak.max(rss_kib(pid));
    }
    // The server trims within its 2-second check once the streams are gone.
    let allowed = baseline + baseline / 4;
    let deadline = Instant::now() + Duration::from_secs(15);
    while rss_kib(pid) > allowed && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = rss_kib(pid);
    assert!(
        after <= allowed,
        "RSS {after} KiB after 1,000 vanished clients: baseline {baseline} KiB, peak {peak} KiB"
    );
    still_serving(&mut client).await;
    eprintln!("RSS baseline {baseline} KiB, peak {peak} KiB, after {after} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_holds_the_server_back_by_its_window_only() {
    let server = TestServer::start(fast()).await;
    // The slow client asks for 2000 replies of 256 KiB (500 MiB) and never reads them.
    let mut slow = server.client().await;
    let mut request = tonic::Request::new(EchoRequest {
        message: "x".repeat(256 * 1024),
    });
    request
        .metadata_mut()
        .insert("x-grpcstream-replies", "2000".parse().expect("value"));
    let _unread = slow.echo_server_stream(request).await.expect("call");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Another client on its own connection is served at once.
    let mut other = EchoServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");
    let start = Instant::now();
    let reply = other
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "me".into(),
        }]))
        .await
        .expect("served");
    assert_eq!(reply.into_inner().message, "Received 1 messages: ['me']");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the other client waited {:?}",
        start.elapsed()
    );
}

#[test]
fn sigterm_during_a_soak_ends_cleanly_on_both_sides() {
    let mut server = ServeProcess::start(&["--grace", "2s"]);
    let addr = server.addr.to_string();
    let mut soak = Process::spawn(bin().args([
        "soak",
        "--server",
        &addr,
        "--duration",
        "4s",
        "--warmup",
        "0s",
        "--concurrency",
        "8",
        "--timeout",
        "5s",
        "--output",
        "json",
    ]));
    std::thread::sleep(Duration::from_millis(1500));
    server.signal("TERM");
    let (code, took) = server.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", server.transcript());
    assert!(
        took < Duration::from_secs(4),
        "the server took {took:?} with --grace 2s"
    );
    let (code, _) = soak.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{}", soak.transcript());
    let report: serde_json::Value = serde_json::from_str(&soak.stdout.join("\n"))
        .unwrap_or_else(|e| panic!("JSON ({e}): {}", soak.transcript()));
    // No stream was silently truncated: every unanswered message belongs to a counted failure.
    assert_eq!(
        report["integrity"],
        serde_json::json!({"lost": 0, "duplicated": 0, "reordered": 0, "corrupted": 0}),
        "{report}"
    );
    assert!(
        report["messages"]["received"].as_u64() > Some(0),
        "{report}"
    );
    let errors = report["calls"]["errors"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for code in errors.keys() {
        assert!(
            ["UNAVAILABLE", "CANCELLED", "UNKNOWN", "INTERNAL"].contains(&code.as_str()),
            "unexpected {code}: {report}"
        );
    }
}

/// The short form of the load-held run (`bench/reliability.sh streams` holds 10,000 for 60 s):
/// 2,000 concurrent long-lived bidi streams over 4 connections, every message echoed, and
/// soak's own memory bounded (per-worker histograms once took 800 KB each; shards keep it so).
#[test]
fn two_thousand_concurrent_streams_lose_nothing() {
    let server = ServeProcess::start(&[]);
    let addr = server.addr.to_string();
    let (code, mut soak) = crate::util::run_bounded(
        &[
            "soak",
            "--server",
            &addr,
            "--concurrency",
            "2000",
            "--connections",
            "4",
            "--stream-duration",
            "3s",
            "--duration",
            "3s",
            "--warmup",
            "0s",
            "--rate",
            "4000",
            "--output",
            "json",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{}", soak.transcript());
    let report: serde_json::Value = serde_json::from_str(&soak.stdout.join("\n"))
        .unwrap_or_else(|e| panic!("JSON ({e}): {}", soak.transcript()));
    assert_eq!(report["calls"]["total"], 2000, "{report}");
    assert_eq!(report["calls"]["failed"], 0, "{report}");
    assert_eq!(
        report["integrity"],
        serde_json::json!({"lost": 0, "duplicated": 0, "reordered": 0, "corrupted": 0}),
        "{report}"
    );
    let sent = report["messages"]["sent"].as_u64().unwrap_or(0);
    // 4,000 msgs/s for 3 s; each stream sends its first message at once.
    assert!(sent >= 6000, "{report}");
    assert_eq!(
        report["messages"]["received"].as_u64(),
        Some(sent),
        "{report}"
    );
    let peak_rss = report["client"]["peak_rss_bytes"]
        .as_u64()
        .unwrap_or(u64::MAX);
    assert!(peak_rss < 1 << 30, "client RSS {peak_rss} bytes");
}
