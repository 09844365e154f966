//! `grpcstream serve` as a process: the per-RPC timing line, log formats and shutdown.
//! The tests block on child-process I/O, so they run on a multi-threaded runtime: the
//! client's connection task must keep running meanwhile.

use std::time::{Duration, Instant};

use grpcstream::proto::{echo_service_client::EchoServiceClient, EchoRequest};
use tonic::{transport::Channel, Code};

use crate::util::ServeProcess;

async fn connect(server: &ServeProcess) -> EchoServiceClient<Channel> {
    EchoServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect")
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key.as_str()))
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_gets_one_timing_line_measured_to_the_end_of_the_stream() {
    let mut server = ServeProcess::start(&[]);
    let mut client = connect(&server).await;
    let messages = ["a", "b", "c"].map(|m| EchoRequest { message: m.into() });
    client
        .echo_client_stream(tokio_stream::iter(messages))
        .await
        .expect("client stream");
    let mut replies = client
        .echo_server_stream(EchoRequest {
            message: "x".into(),
        })
        .await
        .expect("server stream")
        .into_inner();
    while replies.message().await.expect("reply").is_some() {}

    let line = server.wait_for("EchoClientStream", Duration::from_secs(5));
    assert_eq!(field(&line, "side"), "server");
    assert_eq!(field(&line, "status"), "OK");
    assert_eq!(field(&line, "received"), "3", "{line}");
    assert_eq!(field(&line, "sent"), "1", "{line}");
    assert!(field(&line, "peer").starts_with("127.0.0.1:"), "{line}");

    let line = server.wait_for("EchoServerStream", Duration::from_secs(5));
    assert_eq!(field(&line, "sent"), "5", "{line}");
    // The handler returns at once; the RPC lasts until the fifth reply, 4 x 100ms later.
    let total: f64 = field(&line, "duration_ms").parse().expect("a number");
    assert!(
        total >= 380.0,
        "duration measured to the end of the stream, got {total}ms: {line}"
    );
    let first: f64 = field(&line, "first_reply_ms").parse().expect("a number");
    assert!(first < total, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_stream_is_logged_as_cancelled() {
    let mut server = ServeProcess::start(&["--server-stream-interval", "10s"]);
    let mut client = connect(&server).await;
    let mut replies = client
        .echo_server_stream(EchoRequest {
            message: "x".into(),
        })
        .await
        .expect("call")
        .into_inner();
    replies.message().await.expect("first reply");
    drop(replies);
    let line = server.wait_for("EchoServerStream", Duration::from_secs(5));
    assert!(field(&line, "status").starts_with("CANCELLED"), "{line}");
    assert_eq!(field(&line, "sent"), "1", "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let mut server = ServeProcess::start(&["--log-format", "json"]);
    let mut client = connect(&server).await;
    client
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "j".into(),
        }]))
        .await
        .expect("call");
    let line = server.wait_for("EchoClientStream", Duration::from_secs(5));
    let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON object");
    assert_eq!(value["status"], "OK");
    assert_eq!(value["received"], 1);
    assert_eq!(
        value["method"],
        "/api.stream.v1.EchoService/EchoClientStream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_running_stream_finish_then_exits_0() {
    let mut server = ServeProcess::start(&[]);
    let mut client = connect(&server).await;
    let mut replies = client
        .echo_server_stream(EchoRequest {
            message: "bye".into(),
        })
        .await
        .expect("call")
        .into_inner();
    assert_eq!(
        replies
            .message()
            .await
            .expect("first")
            .expect("reply")
            .message,
        "Echo #1: bye"
    );
    server.signal("TERM");
    let mut count = 1;
    while let Some(reply) = replies.message().await.expect("the stream completes") {
        count += 1;
        assert_eq!(reply.message, format!("Echo #{count}: bye"));
    }
    assert_eq!(count, 5);
    let (code, _) = server.wait_exit(Duration::from_secs(5));
    assert_eq!(code, Some(0));
    // Once shut down, nothing listens any more.
    assert!(std::net::TcpStream::connect(server.addr).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_longer_than_the_grace_ends_unavailable_and_exit_is_in_time() {
    let mut server = ServeProcess::start(&[
        "--grace",
        "1s",
        "--server-stream-count",
        "100",
        "--server-stream-interval",
        "1s",
    ]);
    let mut client = connect(&server).await;
    let mut replies = client
        .echo_server_stream(EchoRequest {
            message: "long".into(),
        })
        .await
        .expect("call")
        .into_inner();
    replies.message().await.expect("first reply");
    let start = Instant::now();
    server.signal("TERM");
    let status = loop {
        match replies.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("a stream cut by shutdown must not end with OK"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let (code, _) = server.wait_exit(Duration::from_secs(5));
    assert_eq!(code, Some(0));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "exit {took:?} after SIGTERM with --grace 1s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let mut server = ServeProcess::start(&[
        "--grace",
        "60s",
        "--server-stream-count",
        "100",
        "--server-stream-interval",
        "1s",
    ]);
    let mut client = connect(&server).await;
    let mut replies = client
        .echo_server_stream(EchoRequest {
            message: "x".into(),
        })
        .await
        .expect("call")
        .into_inner();
    replies.message().await.expect("first reply");
    server.signal("TERM");
    server.wait_for("shutting down", Duration::from_secs(5));
    server.signal("INT");
    let (code, took) = server.wait_exit(Duration::from_secs(5));
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_on_ipv6_loopback_and_verbose_logs_every_message() {
    let mut server = crate::util::ServeProcess::start_with(crate::util::bin().args([
        "serve",
        "--listen",
        "[::1]",
        "--port",
        "0",
        "--verbose",
    ]));
    assert!(server.addr.is_ipv6(), "{}", server.addr);
    let mut client = connect(&server).await;
    client
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "secret-sauce".into(),
        }]))
        .await
        .expect("call over [::1]");
    server.wait_for("secret-sauce", Duration::from_secs(5));
}

#[test]
fn an_address_not_on_this_machine_is_a_clear_start_up_error() {
    let (code, mut out) = crate::util::run_bounded(
        &["serve", "--listen", "192.0.2.1", "--port", "0"],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(1), "{}", out.transcript());
    let stderr = out.stderr.join("\n");
    assert!(
        stderr.contains("cannot listen on 192.0.2.1:0") && stderr.contains("no such address"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_errors_are_logged_with_their_status() {
    let mut server = ServeProcess::start(&["--max-message-size", "1KiB"]);
    let mut client = connect(&server).await;
    let status = client
        .echo_server_stream(EchoRequest {
            message: "x".repeat(4096),
        })
        .await
        .expect_err("over the limit");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    let line = server.wait_for("EchoServerStream", Duration::from_secs(5));
    assert_eq!(field(&line, "status"), "RESOURCE_EXHAUSTED", "{line}");
}
