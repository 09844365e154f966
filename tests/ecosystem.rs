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

    let (code, mut out) = run_bounded(
        &[
            "soak",
            "--server",
            &url,
            "--ca-cert",
            path(&pki.ca),
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
    assert_eq!(code, Some(0), "{}", out.transcript());
    let report: serde_json::Value =
        serde_json::from_str(&out.stdout.join("\n")).expect("JSON report");
    assert!(
        report["messages"]["received"].as_u64() > Some(0),
        "{report}"
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
