//! What gRPC tooling expects of `serve`: health, reflection, TLS and mutual TLS, reached
//! by `probe` and `soak` as users run them.

use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_reflection::pb::v1::{
    server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
    server_reflection_response::MessageResponse, ServerReflectionRequest,
};

use crate::{
    tls::pki,
    util::{run_bounded, ServeProcess},
};

async fn channel(server: &ServeProcess) -> Channel {
    Channel::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

async fn health(channel: &Channel, service: &str) -> Result<i32, tonic::Status> {
    let request = HealthCheckRequest {
        service: service.into(),
    };
    HealthClient::new(channel.clone())
        .check(request)
        .await
        .map(|r| r.into_inner().status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_serving_until_shutdown_begins() {
    let server = ServeProcess::start(&[
        "--grace",
        "3s",
        "--server-stream-interval",
        "1s",
        "--server-stream-count",
        "30",
    ]);
    let channel = channel(&server).await;
    assert_eq!(
        health(&channel, "").await.ok(),
        Some(ServingStatus::Serving as i32)
    );
    assert_eq!(
        health(&channel, "api.stream.v1.EchoService").await.ok(),
        Some(ServingStatus::Serving as i32)
    );
    let unknown = health(&channel, "no.such.Service")
        .await
        .expect_err("unknown service");
    assert_eq!(unknown.code(), tonic::Code::NotFound);

    let mut watch = HealthClient::new(channel.clone())
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(
        watch.next().await.and_then(Result::ok).map(|r| r.status),
        Some(ServingStatus::Serving as i32)
    );
    // Keep an RPC running so the server stays in its grace period.
    let mut client =
        grpcstream::proto::echo_service_client::EchoServiceClient::new(channel.clone());
    let _long = client
        .echo_server_stream(grpcstream::proto::EchoRequest {
            message: "x".into(),
        })
        .await
        .expect("stream");
    server.signal("TERM");
    let next = tokio::time::timeout(Duration::from_secs(3), watch.next())
        .await
        .expect("a status change in time");
    // New RPCs are refused after the GOAWAY; a watcher already connected sees the change.
    assert_eq!(
        next.and_then(Result::ok).map(|r| r.status),
        Some(ServingStatus::NotServing as i32)
    );
}

/// Service names listed by reflection v1.
async fn listed_services(channel: &Channel) -> Result<Vec<String>, tonic::Status> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    match responses.message().await?.and_then(|r| r.message_response) {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => panic!("unexpected reflection answer: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_and_describes_the_service() {
    let server = ServeProcess::start(&[]);
    let channel = channel(&server).await;
    let services = listed_services(&channel).await.expect("reflection v1");
    for name in ["api.stream.v1.EchoService", "grpc.health.v1.Health"] {
        assert!(
            services.iter().any(|s| s == name),
            "{name} missing from {services:?}"
        );
    }
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "api.stream.v1.EchoService".into(),
        )),
    };
    let mut responses = ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("describe")
        .into_inner();
    match responses
        .message()
        .await
        .expect("answer")
        .and_then(|r| r.message_response)
    {
        Some(MessageResponse::FileDescriptorResponse(files)) => {
            let all: Vec<u8> = files.file_descriptor_proto.concat();
            let text = String::from_utf8_lossy(&all);
            assert!(
                text.contains("EchoBidirectionalStreamAsync") && text.contains("api.stream.v1"),
                "{text}"
            );
        }
        other => panic!("unexpected reflection answer: {other:?}"),
    }
    // The older v1alpha API answers too.
    let alpha = tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tokio_stream::iter([tonic_reflection::pb::v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest::ListServices(String::new())),
        }]))
        .await;
    assert!(alpha.is_ok(), "{alpha:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reflection_turns_it_off() {
    let server = ServeProcess::start(&["--no-reflection"]);
    let status = listed_services(&channel(&server).await)
        .await
        .expect_err("reflection is off");
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn probe_and_soak_reach_a_tls_server_and_refuse_a_wrong_ca() {
    let pki = pki();
    let server = ServeProcess::start(&[
        "--tls-cert",
        path(&pki.server_cert),
        "--tls-key",
        path(&pki.server_key),
        "--server-stream-interval",
        "5ms",
    ]);
    let url = format!("https://localhost:{}", server.addr.port());
    let (code, mut out) = run_bounded(
        &[
            "probe",
            "server-stream",
            "--once",
            "--server",
            &url,
            "--ca-cert",
            path(&pki.ca),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{}", out.transcript());

    let (code, mut out) = run_bounded(
        &[
            "probe",
            "server-stream",
            "--once",
            "--server",
            &url,
            "--ca-cert",
            path(&pki.other_ca),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "{}", out.transcript());
    assert!(out.stdout[0].contains("UnknownIssuer"), "{}", out.stdout[0]);

    let (code, mut out) = run_bounded(
        &[
            "probe",
            "server-stream",
            "--once",
            "--server",
            &url,
            "--insecure-skip-verify",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{}", out.transcript());
    assert!(
        out.stderr.iter().any(|l| l.contains("NOT verified")),
        "the skip is warned about: {}",
        out.transcript()
    );

    let ip_url = format!("https://127.0.0.1:{}", server.addr.port());
    let (code, mut out) = run_bounded(
        &[
            "probe",
            "bidi-sync",
            "--once",
            "--message-gap",
            "1ms",
            "--server",
            &ip_url,
            "--ca-cert",
            path(&pki.ca),
            "--tls-server-name",
            "localhost",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{}", out.transcript());

    // A second of soak trusting `ca`: its exit code, output and JSON report.
    let soak = |ca: &std::path::Path| {
        let (code, out) = run_bounded(
            &[
                "soak",
                "--server",
                &url,
                "--ca-cert",
                path(ca),
                "--duration",
                "1s",
                "--warmup",
                "0s",
                "--concurrency",
                "2",
                "--output",
                "json",
            ],
            Duration::from_secs(30),
        );
        let report: serde_json::Value =
            serde_json::from_str(&out.stdout.join("\n")).expect("JSON report");
        (code, out, report)
    };
    let (code, mut out, report) = soak(&pki.ca);
    assert_eq!(code, Some(0), "{}", out.transcript());
    assert!(
        report["messages"]["received"].as_u64() > Some(0),
        "{report}"
    );

    let (code, mut out, report) = soak(&pki.other_ca);
    assert_eq!(code, Some(0), "no gate was set: {}", out.transcript());
    let failed = report["calls"]["failed"].as_u64().unwrap_or(0);
    assert!(failed > 0, "{report}");
    assert_eq!(
        report["calls"]["errors"],
        serde_json::json!({ "UNAVAILABLE": failed }),
        "a connection that cannot be had is UNAVAILABLE, as through tonic's channel"
    );
    // Why, once, however many calls failed.
    let why: Vec<_> = out
        .stderr
        .iter()
        .filter(|l| l.contains("UnknownIssuer"))
        .collect();
    assert_eq!(why.len(), 1, "{}", out.transcript());
    assert!(
        why[0].contains("UNAVAILABLE cannot connect to localhost:"),
        "{}",
        why[0]
    );
}

#[test]
fn mutual_tls_refuses_clients_without_a_trusted_certificate() {
    let pki = pki();
    let server = ServeProcess::start(&[
        "--tls-cert",
        path(&pki.server_cert),
        "--tls-key",
        path(&pki.server_key),
        "--tls-client-ca",
        path(&pki.ca),
    ]);
    let url = format!("https://localhost:{}", server.addr.port());
    let base = [
        "probe",
        "client-stream",
        "--once",
        "--message-gap",
        "1ms",
        "--server",
        &url,
        "--ca-cert",
        path(&pki.ca),
    ];
    let (code, mut out) = run_bounded(&base, Duration::from_secs(30));
    assert_eq!(code, Some(1), "no client certificate: {}", out.transcript());
    let mut stranger = base.to_vec();
    stranger.extend([
        "--client-cert",
        path(&pki.stranger_cert),
        "--client-key",
        path(&pki.stranger_key),
    ]);
    let (code, mut out) = run_bounded(&stranger, Duration::from_secs(30));
    assert_eq!(
        code,
        Some(1),
        "a certificate of another CA: {}",
        out.transcript()
    );
    let mut trusted = base.to_vec();
    trusted.extend([
        "--client-cert",
        path(&pki.client_cert),
        "--client-key",
        path(&pki.client_key),
    ]);
    let (code, mut out) = run_bounded(&trusted, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{}", out.transcript());
}

#[test]
fn tls_flags_without_https_are_a_usage_error() {
    let (code, mut out) = run_bounded(
        &[
            "probe",
            "all",
            "--server",
            "localhost:1",
            "--ca-cert",
            "/tmp/x.pem",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(2), "{}", out.transcript());
    assert!(
        out.stderr.join("\n").contains("need an https:// server"),
        "{}",
        out.transcript()
    );
    let (code, mut out) = run_bounded(
        &[
            "serve",
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            "/nonexistent.key",
            "--port",
            "0",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(1), "{}", out.transcript());
    assert!(
        out.stderr.join("\n").contains("/nonexistent.pem"),
        "{}",
        out.transcript()
    );
}

#[test]
fn probe_health_passes_only_when_serving() {
    let server = ServeProcess::start(&[]);
    let addr = server.addr.to_string();
    let (code, mut out) = run_bounded(
        &["probe", "health", "--once", "--server", &addr],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{}", out.transcript());
    assert!(
        out.stdout[0].starts_with("PASS health"),
        "{}",
        out.stdout[0]
    );
    let (code, mut out) = run_bounded(
        &[
            "probe",
            "health",
            "--once",
            "--server",
            &addr,
            "--service",
            "api.stream.v1.EchoService",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{}", out.transcript());
    let (code, mut out) = run_bounded(
        &[
            "probe",
            "health",
            "--once",
            "--server",
            &addr,
            "--service",
            "no.such.Service",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "{}", out.transcript());
    assert!(out.stdout[0].contains("NOT_FOUND"), "{}", out.stdout[0]);
}

fn token_file(dir: &std::path::Path, name: &str, token: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{token}\n")).expect("write token");
    path.to_string_lossy().into_owned()
}

#[test]
fn a_token_is_required_except_for_health() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = token_file(dir.path(), "good", "s3cret-token");
    let bad = token_file(dir.path(), "bad", "s3cret-tokeN");
    let server = ServeProcess::start(&["--auth-token-file", &good]);
    let addr = server.addr.to_string();
    let probe = |extra: &[&str]| {
        let mut args = vec![
            "probe",
            "client-stream",
            "--once",
            "--message-gap",
            "1ms",
            "--server",
            &addr,
        ];
        args.extend(extra);
        run_bounded(&args, Duration::from_secs(30))
    };
    let (code, mut out) = probe(&["--auth-token-file", &good]);
    assert_eq!(code, Some(0), "{}", out.transcript());
    let (code, mut out) = probe(&[]);
    assert_eq!(code, Some(1), "{}", out.transcript());
    assert!(
        out.stdout[0].contains("UNAUTHENTICATED") && out.stdout[0].contains("requires"),
        "{}",
        out.stdout[0]
    );
    let (code, mut out) = probe(&["--auth-token-file", &bad]);
    assert_eq!(code, Some(1), "{}", out.transcript());
    assert!(
        out.stdout[0].contains("UNAUTHENTICATED") && out.stdout[0].contains("not the one"),
        "{}",
        out.stdout[0]
    );
    let (code, mut out) = probe(&["--header", "authorization=Bearer s3cret-token"]);
    assert_eq!(
        code,
        Some(0),
        "the token can come as a header too: {}",
        out.transcript()
    );
    let (code, mut out) = run_bounded(
        &["probe", "health", "--once", "--server", &addr],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "health stays open: {}", out.transcript());
}

#[test]
fn an_empty_token_file_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = token_file(dir.path(), "empty", "  ");
    let (code, mut out) = run_bounded(
        &["serve", "--port", "0", "--auth-token-file", &empty],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(2), "{}", out.transcript());
    assert!(
        out.stderr.join("\n").contains("the token file is empty"),
        "{}",
        out.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_and_zstd_round_trip_and_plain_clients_still_work() {
    use grpcstream::{
        cli::Compression,
        client::{echo_client, layered},
        proto::EchoRequest,
    };
    let server = ServeProcess::start(&["--compression", "zstd"]);
    let channel = channel(&server).await;
    let timed = || layered(channel.clone(), "test");
    let big = "compressible ".repeat(1000);
    for compression in [Compression::Gzip, Compression::Zstd] {
        let mut client = echo_client(timed(), compression);
        let reply = client
            .echo_client_stream(tokio_stream::iter([EchoRequest {
                message: big.clone(),
            }]))
            .await
            .expect("compressed call");
        assert_eq!(
            reply
                .metadata()
                .get("grpc-encoding")
                .map(|v| v.to_str().unwrap_or_default()),
            Some("zstd"),
            "{compression:?}"
        );
        assert_eq!(
            reply.into_inner().message.len(),
            big.len() + "Received 1 messages: ['']".len()
        );
    }
    // A client that accepts no compression gets plain replies from the compressing server.
    let mut plain = grpcstream::proto::echo_service_client::EchoServiceClient::new(channel.clone());
    let reply = plain
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: big.clone(),
        }]))
        .await
        .expect("plain call");
    assert!(reply.metadata().get("grpc-encoding").is_none());
    assert!(reply.into_inner().message.ends_with("compressible ']"));
}

/// GET /metrics over plain HTTP/1.1.
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect to metrics");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut text = String::new();
    tcp.read_to_string(&mut text).expect("response");
    text
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_rpcs_messages_and_durations() {
    use grpcstream::proto::{echo_service_client::EchoServiceClient, EchoRequest};
    let mut server = ServeProcess::start(&["--metrics-listen", "127.0.0.1:0"]);
    let line = server.wait_for("metrics on http://", Duration::from_secs(5));
    let metrics_addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("metrics address")
        .to_owned();
    let before = scrape(&metrics_addr);
    assert!(
        before.starts_with("HTTP/1.1 200") && before.contains("application/openmetrics-text"),
        "{before}"
    );
    let mut client = EchoServiceClient::new(channel(&server).await);
    for _ in 0..2 {
        let messages = ["a", "b", "c"].map(|m| EchoRequest { message: m.into() });
        client
            .echo_client_stream(tokio_stream::iter(messages))
            .await
            .expect("call");
    }
    let labels = r#"{grpc_service="api.stream.v1.EchoService",grpc_method="EchoClientStream""#;
    // The RPC's line is written when its stream ends; give the server a moment to count it.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = scrape(&metrics_addr);
        if sample(
            &text,
            &format!("grpc_server_handled_total{labels},grpc_code=\"OK\"}}"),
        ) == Some(2.0)
            || std::time::Instant::now() > deadline
        {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        sample(
            &text,
            &format!("grpc_server_handled_total{labels},grpc_code=\"OK\"}}")
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("grpc_server_started_total{labels}}}")),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("grpc_server_msg_received_total{labels}}}")),
        Some(6.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("grpc_server_msg_sent_total{labels}}}")),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("grpc_server_streams_in_flight{labels}}}")),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("grpc_server_handling_seconds_count{labels}}}")
        ),
        Some(2.0),
        "{text}"
    );
}

#[test]
fn the_man_page_documents_the_commands() {
    let (code, mut out) = run_bounded(&["man"], Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", out.transcript());
    let page = out.stdout.join("\n");
    assert!(
        page.contains(".TH grpcstream") && page.contains("serve") && page.contains("soak"),
        "{page}"
    );
}
