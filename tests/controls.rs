//! The `x-grpcstream-*` request controls of `serve`, and `--chaos-rate`.

use std::time::{Duration, Instant};

use grpcstream::proto::{echo_service_client::EchoServiceClient, EchoRequest, EchoResponse};
use tonic::{metadata::MetadataValue, transport::Channel, Code, Request};

use crate::util::{fast, ServeProcess, TestServer};

fn with<T>(body: T, headers: &[(&'static str, &str)]) -> Request<T> {
    let mut request = Request::new(body);
    for (key, value) in headers {
        request
            .metadata_mut()
            .insert(*key, value.parse().expect("ASCII header value"));
    }
    request
}

fn messages(n: usize) -> impl tokio_stream::Stream<Item = EchoRequest> + Send + 'static {
    tokio_stream::iter(
        (0..n)
            .map(|i| EchoRequest {
                message: format!("m{i}"),
            })
            .collect::<Vec<_>>(),
    )
}

/// The replies, then how the stream ended.
async fn drain(
    mut replies: tonic::Streaming<EchoResponse>,
) -> (Vec<String>, Result<(), tonic::Status>) {
    let mut texts = Vec::new();
    loop {
        match replies.message().await {
            Ok(Some(reply)) => texts.push(reply.message),
            Ok(None) => return (texts, Ok(())),
            Err(status) => return (texts, Err(status)),
        }
    }
}

async fn client(server: &TestServer) -> EchoServiceClient<Channel> {
    server.client().await
}

#[tokio::test]
async fn echo_headers_come_back_in_initial_metadata_and_trailers() {
    let server = TestServer::start(fast()).await;
    let mut request = with(
        messages(1),
        &[("x-grpcstream-echo-initial", "hello-initial")],
    );
    request.metadata_mut().insert_bin(
        "x-grpcstream-echo-trailing-bin",
        MetadataValue::from_bytes(&[0x0a, 0x0b, 0x0a, 0x0b]),
    );
    let response = client(&server)
        .await
        .echo_bidirectional_stream_sync(request)
        .await
        .expect("call");
    assert_eq!(
        response
            .metadata()
            .get("x-grpcstream-echo-initial")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("hello-initial")
    );
    let mut replies = response.into_inner();
    while replies.message().await.expect("reply").is_some() {}
    let trailers = replies
        .trailers()
        .await
        .expect("trailers")
        .expect("some trailers");
    let echoed = trailers
        .get_bin("x-grpcstream-echo-trailing-bin")
        .and_then(|v| v.to_bytes().ok());
    assert_eq!(echoed.as_deref(), Some(&[0x0a, 0x0b, 0x0a, 0x0b][..]));
}

#[tokio::test]
async fn a_status_ends_the_rpc_after_the_normal_replies_with_its_exact_message() {
    let server = TestServer::start(fast()).await;
    let mut client = client(&server).await;
    let special = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
    let encoded: String = special
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let header = format!("2:{encoded}");
    let replies = client
        .echo_bidirectional_stream_sync(with(messages(2), &[("x-grpcstream-status", &header)]))
        .await
        .expect("call")
        .into_inner();
    let (texts, end) = drain(replies).await;
    assert_eq!(texts, ["Sync Echo: m0", "Sync Echo: m1"]);
    let status = end.expect_err("ends with the status");
    assert_eq!((status.code(), status.message()), (Code::Unknown, special));

    // For client-stream, the status takes the place of the one reply.
    let status = client
        .echo_client_stream(with(messages(2), &[("x-grpcstream-status", "5:not here")]))
        .await
        .expect_err("status");
    assert_eq!(
        (status.code(), status.message()),
        (Code::NotFound, "not here")
    );
}

#[tokio::test]
async fn fail_after_replies_and_delay_shape_a_server_stream() {
    let server = TestServer::start(fast()).await;
    let mut client = client(&server).await;
    let headers = [
        ("x-grpcstream-replies", "8"),
        ("x-grpcstream-fail-after", "3"),
        ("x-grpcstream-status", "14:flaky"),
        ("x-grpcstream-delay", "40ms"),
    ];
    let start = Instant::now();
    let replies = client
        .echo_server_stream(with(
            EchoRequest {
                message: "x".into(),
            },
            &headers,
        ))
        .await
        .expect("call")
        .into_inner();
    let (texts, end) = drain(replies).await;
    assert_eq!(texts, ["Echo #1: x", "Echo #2: x", "Echo #3: x"]);
    assert_eq!(end.expect_err("fails after 3").code(), Code::Unavailable);
    assert!(
        start.elapsed() >= Duration::from_millis(3 * 40 - 10),
        "a delay before each reply: {:?}",
        start.elapsed()
    );

    let replies = client
        .echo_server_stream(with(
            EchoRequest {
                message: "y".into(),
            },
            &[("x-grpcstream-replies", "2")],
        ))
        .await
        .expect("call")
        .into_inner();
    let (texts, end) = drain(replies).await;
    assert_eq!((texts.len(), end.is_ok()), (2, true));
}

#[tokio::test]
async fn abort_after_resets_the_stream_after_n_replies() {
    let server = TestServer::start(fast()).await;
    let mut client = client(&server).await;
    let replies = client
        .echo_bidirectional_stream_sync(with(messages(5), &[("x-grpcstream-abort-after", "2")]))
        .await
        .expect("call")
        .into_inner();
    let (texts, end) = drain(replies).await;
    assert_eq!(texts, ["Sync Echo: m0", "Sync Echo: m1"]);
    let status = end.expect_err("the stream is reset, not ended cleanly");
    assert_ne!(status.code(), Code::Ok);
    // The connection survives the reset: the next RPC on it works.
    let ok = client
        .echo_client_stream(messages(1))
        .await
        .expect("still serving");
    assert_eq!(ok.into_inner().message, "Received 1 messages: ['m0']");
}

#[tokio::test]
async fn malformed_controls_are_invalid_argument_naming_the_header() {
    let server = TestServer::start(fast()).await;
    let mut client = client(&server).await;
    for (header, value) in [
        ("x-grpcstream-status", "99"),
        ("x-grpcstream-delay", "soon"),
        ("x-grpcstream-replies", "many"),
        ("x-grpcstream-fail-after", "1"),
    ] {
        let status = client
            .echo_server_stream(with(
                EchoRequest {
                    message: "x".into(),
                },
                &[(header, value)],
            ))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{header}: {status:?}");
        assert!(
            status.message().contains(header),
            "{header}: {}",
            status.message()
        );
    }
    let replies = client
        .echo_server_stream(EchoRequest {
            message: "ok".into(),
        })
        .await
        .expect("still serving")
        .into_inner();
    assert_eq!(drain(replies).await.0.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_fails_rpcs_and_says_which() {
    let mut server = ServeProcess::start(&["--chaos-rate", "1"]);
    let mut client = EchoServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");
    for _ in 0..6 {
        let failed = match client.echo_bidirectional_stream_sync(messages(1)).await {
            Err(_) => true,
            Ok(response) => drain(response.into_inner()).await.1.is_err(),
        };
        assert!(failed, "every RPC fails at --chaos-rate 1");
    }
    let line = server.wait_for("chaos:", Duration::from_secs(5));
    assert!(line.contains("EchoBidirectionalStreamSync"), "{line}");
}
