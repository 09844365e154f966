//! `serve` end to end, in-process: reply texts, counts, order, timings, limits, bad input.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use grpcstream::{
    config::ServeConfig,
    proto::{EchoRequest, EchoResponse},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::mpsc,
};
use tokio_stream::{wrappers::ReceiverStream, StreamExt};
use tonic::{Code, Request};

use crate::util::{fast, TestServer};

fn requests(messages: &[&str]) -> impl tokio_stream::Stream<Item = EchoRequest> + Send + 'static {
    let owned: Vec<EchoRequest> = messages
        .iter()
        .map(|m| EchoRequest {
            message: (*m).to_owned(),
        })
        .collect();
    tokio_stream::iter(owned)
}

async fn collect(
    mut replies: tonic::Streaming<EchoResponse>,
) -> Result<Vec<String>, tonic::Status> {
    let mut out = Vec::new();
    while let Some(reply) = replies.message().await? {
        out.push(reply.message);
    }
    Ok(out)
}

#[tokio::test]
async fn client_stream_summary_is_pythons_repr_of_the_list() {
    let server = TestServer::start(fast()).await;
    let mut client = server.client().await;
    let sent = [
        "Hello",
        "it's",
        "say \"hi\"",
        r"back\slash",
        "both ' and \"",
        "tab\there",
        "é 🚀",
    ];
    let reply = client
        .echo_client_stream(requests(&sent))
        .await
        .expect("EchoClientStream")
        .into_inner();
    assert_eq!(
        reply.message,
        r#"Received 7 messages: ['Hello', "it's", 'say "hi"', 'back\\slash', 'both \' and "', 'tab\there', 'é 🚀']"#
    );

    let empty = client
        .echo_client_stream(requests(&[]))
        .await
        .expect("empty client stream")
        .into_inner();
    assert_eq!(empty.message, "Received 0 messages: []");
}

#[tokio::test]
async fn server_stream_sends_five_echoes_100ms_apart() {
    let server = TestServer::start(ServeConfig::default()).await;
    let mut client = server.client().await;
    let start = Instant::now();
    let mut replies = client
        .echo_server_stream(EchoRequest {
            message: "ping".into(),
        })
        .await
        .expect("EchoServerStream")
        .into_inner();
    let mut arrivals = Vec::new();
    let mut texts = Vec::new();
    while let Some(reply) = replies.message().await.expect("reply") {
        arrivals.push(start.elapsed());
        texts.push(reply.message);
    }
    let expected: Vec<String> = (1..=5).map(|i| format!("Echo #{i}: ping")).collect();
    assert_eq!(texts, expected);
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(80) && gap <= Duration::from_millis(400),
            "gap {gap:?} between replies, expected about 100ms"
        );
    }
    assert!(
        arrivals[0] < Duration::from_millis(300),
        "first reply after {:?}",
        arrivals[0]
    );
}

#[tokio::test]
async fn server_stream_count_and_interval_are_configurable() {
    let mut config = fast();
    config.echo.server_stream_count = 3;
    let server = TestServer::start(config).await;
    let replies = server
        .client()
        .await
        .echo_server_stream(EchoRequest {
            message: "x".into(),
        })
        .await
        .expect("call")
        .into_inner();
    assert_eq!(
        collect(replies).await.expect("replies"),
        ["Echo #1: x", "Echo #2: x", "Echo #3: x"]
    );
}

#[tokio::test]
async fn bidi_sync_answers_each_message_before_the_next_is_sent() {
    let server = TestServer::start(fast()).await;
    let (tx, rx) = mpsc::channel(1);
    let mut replies = server
        .client()
        .await
        .echo_bidirectional_stream_sync(ReceiverStream::new(rx))
        .await
        .expect("call")
        .into_inner();
    for i in 0..20 {
        tx.send(EchoRequest {
            message: format!("m{i}"),
        })
        .await
        .expect("send");
        // Ping-pong: the reply must come while the request stream is still open.
        let reply = tokio::time::timeout(Duration::from_secs(5), replies.message())
            .await
            .expect("reply in time")
            .expect("status");
        assert_eq!(reply.expect("a reply").message, format!("Sync Echo: m{i}"));
    }
    drop(tx);
    assert!(
        replies.message().await.expect("clean end").is_none(),
        "stream ends after half-close"
    );
}

#[tokio::test]
async fn bidi_async_answers_everything_in_order_after_half_close() {
    let mut config = fast();
    config.echo.async_delay = Duration::from_millis(20);
    let server = TestServer::start(config).await;
    // More messages than the queue holds, half-closed at once: none may be lost.
    let sent: Vec<String> = (0..25).map(|i| format!("a{i}")).collect();
    let refs: Vec<&str> = sent.iter().map(String::as_str).collect();
    let start = Instant::now();
    let replies = server
        .client()
        .await
        .echo_bidirectional_stream_async(requests(&refs))
        .await
        .expect("call")
        .into_inner();
    let got = collect(replies).await.expect("replies");
    let expected: Vec<String> = sent
        .iter()
        .map(|m| format!("Async Echo (processed): {m}"))
        .collect();
    assert_eq!(got, expected);
    assert!(
        start.elapsed() >= Duration::from_millis(25 * 20),
        "each message waits the processing delay"
    );
}

#[tokio::test]
async fn bidi_async_default_delay_spaces_replies_200ms_apart() {
    let server = TestServer::start(ServeConfig::default()).await;
    let start = Instant::now();
    let mut replies = server
        .client()
        .await
        .echo_bidirectional_stream_async(requests(&["a", "b", "c"]))
        .await
        .expect("call")
        .into_inner();
    let mut arrivals = Vec::new();
    while let Some(reply) = replies.message().await.expect("reply") {
        arrivals.push((start.elapsed(), reply.message));
    }
    assert_eq!(arrivals.len(), 3);
    for (i, (at, _)) in arrivals.iter().enumerate() {
        let expected = Duration::from_millis(200 * (i as u64 + 1));
        assert!(
            *at >= expected - Duration::from_millis(20)
                && *at <= expected + Duration::from_millis(400),
            "reply {i} at {at:?}, expected about {expected:?}"
        );
    }
}

/// A client that sends without ever reading replies: the server must stop taking messages
/// (HTTP/2 flow control, bounded queues) instead of buffering them all.
async fn assert_backpressure(pattern: &str) {
    let mut config = fast();
    config.echo.async_delay = Duration::ZERO;
    let server = TestServer::start(config).await;
    let mut client = server.client().await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let payload = "x".repeat(64 * 1024);
    const OFFERED: usize = 4000; // 256 MiB in total
    let outbound = tokio_stream::iter(0..OFFERED).map(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        EchoRequest {
            message: payload.clone(),
        }
    });
    let call = match pattern {
        "sync" => client.echo_bidirectional_stream_sync(outbound).await,
        _ => client.echo_bidirectional_stream_async(outbound).await,
    };
    let _unread = call.expect("call");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_2s = pulled.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_3s = pulled.load(Ordering::Relaxed);
    assert_eq!(
        at_2s, at_3s,
        "{pattern}: the client kept sending to a server whose replies are not read"
    );
    assert!(at_3s < 400, "{pattern}: {at_3s} messages of 64 KiB accepted without being read; expected a bounded buffer");
}

#[tokio::test]
async fn bidi_sync_backpressure_bounds_buffering() {
    assert_backpressure("sync").await;
}

#[tokio::test]
async fn bidi_async_backpressure_bounds_buffering() {
    assert_backpressure("async").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_streams_stop_their_tasks_promptly() {
    let mut config = fast();
    config.echo.server_stream_count = 100;
    config.echo.server_stream_interval = Duration::from_secs(10);
    config.echo.async_delay = Duration::from_secs(10);
    let server = TestServer::start(config).await;
    let mut client = server.client().await;
    let metrics = tokio::runtime::Handle::current().metrics();
    // Warm the connection up so its own tasks are in the baseline.
    client
        .echo_client_stream(requests(&["warm"]))
        .await
        .expect("warm-up");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let baseline = metrics.num_alive_tasks();

    let mut stream = client
        .echo_server_stream(EchoRequest {
            message: "s".into(),
        })
        .await
        .expect("call")
        .into_inner();
    assert_eq!(
        stream
            .message()
            .await
            .expect("first")
            .expect("reply")
            .message,
        "Echo #1: s"
    );
    let (tx, rx) = mpsc::channel(4);
    tx.send(EchoRequest {
        message: "a".into(),
    })
    .await
    .expect("send");
    let async_call = client
        .echo_bidirectional_stream_async(ReceiverStream::new(rx))
        .await
        .expect("call");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        metrics.num_alive_tasks() > baseline,
        "the handlers run tasks"
    );

    // Cancel both (dropping a tonic stream resets it) while their tasks are sleeping.
    drop(stream);
    drop(async_call);
    drop(tx);
    let deadline = Instant::now() + Duration::from_secs(2);
    while metrics.num_alive_tasks() > baseline && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        metrics.num_alive_tasks() <= baseline,
        "{} tasks alive after cancel, baseline {baseline}",
        metrics.num_alive_tasks()
    );
}

#[tokio::test]
async fn over_limit_messages_get_resource_exhausted_and_the_server_keeps_serving() {
    let mut config = fast();
    config.max_message_size = 1024;
    let server = TestServer::start(config).await;
    let mut client = server.client().await;
    let big = "x".repeat(2048);

    let status = client
        .echo_server_stream(EchoRequest {
            message: big.clone(),
        })
        .await
        .expect_err("server stream over limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let status = client
        .echo_client_stream(requests(&[&big]))
        .await
        .expect_err("client stream over limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let replies = client
        .echo_bidirectional_stream_sync(requests(&[&big]))
        .await;
    let status = match replies {
        Ok(stream) => collect(stream.into_inner())
            .await
            .expect_err("bidi over limit"),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    // Many small messages whose summary would exceed the limit are refused too.
    let many = vec!["y".repeat(100); 20];
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let status = client
        .echo_client_stream(requests(&refs))
        .await
        .expect_err("summary over limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    let ok = client
        .echo_client_stream(requests(&["small"]))
        .await
        .expect("still serving");
    assert_eq!(ok.into_inner().message, "Received 1 messages: ['small']");
}

#[tokio::test]
async fn default_limit_is_50_mib() {
    let server = TestServer::start(fast()).await;
    let mut client = server.client().await;
    let over = "x".repeat(50 * 1024 * 1024);
    let status = client
        .echo_server_stream(EchoRequest { message: over })
        .await
        .expect_err("50 MiB + header");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let under = "x".repeat(5 * 1024 * 1024);
    let reply = client
        .max_decoding_message_size(usize::MAX)
        .echo_client_stream(requests(&[&under]))
        .await
        .expect("5 MiB is accepted");
    assert_eq!(
        reply.into_inner().message.len(),
        under.len() + "Received 1 messages: ['']".len()
    );
}

/// EchoRequest with raw bytes in the `message` field, to send what no well-behaved client would.
#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(bytes = "vec", tag = "1")]
    message: Vec<u8>,
}

async fn raw_call(
    server: &TestServer,
    path: &'static str,
    message: Vec<u8>,
) -> Result<Vec<String>, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<RawRequest, EchoResponse>::default();
    let replies = grpc
        .server_streaming(
            Request::new(RawRequest { message }),
            http::uri::PathAndQuery::from_static(path),
            codec,
        )
        .await?;
    collect(replies.into_inner()).await
}

#[tokio::test]
async fn invalid_utf8_gets_an_error_status_and_the_server_keeps_serving() {
    let server = TestServer::start(fast()).await;
    let status = raw_call(
        &server,
        "/api.stream.v1.EchoService/EchoServerStream",
        vec![b'o', 0xff, 0xfe],
    )
    .await
    .expect_err("invalid UTF-8");
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    let ok = raw_call(
        &server,
        "/api.stream.v1.EchoService/EchoServerStream",
        b"fine".to_vec(),
    )
    .await
    .expect("still serving");
    assert_eq!(ok.len(), 5);
}

#[tokio::test]
async fn unknown_methods_are_unimplemented() {
    let server = TestServer::start(fast()).await;
    for path in [
        "/api.stream.v1.EchoService/EchoUnary",
        "/other.Service/Method",
    ] {
        let status = raw_call(&server, path, b"x".to_vec())
            .await
            .expect_err("unknown method");
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }
}

#[tokio::test]
async fn plain_http1_is_refused_and_the_server_keeps_serving() {
    let server = TestServer::start(fast()).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
        .await
        .expect("connection closed in time")
        .ok();
    assert!(
        !answer.starts_with(b"HTTP/1.1 2"),
        "HTTP/1.1 was served: {:?}",
        String::from_utf8_lossy(&answer)
    );

    let reply = server
        .client()
        .await
        .echo_client_stream(requests(&["after"]))
        .await
        .expect("still serving");
    assert_eq!(reply.into_inner().message, "Received 1 messages: ['after']");
}
