//! The server's limits: connections, slow handshakes, RPC duration, streams per connection.

use std::time::{Duration, Instant};

use grpcstream::proto::{echo_service_client::EchoServiceClient, EchoRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::{transport::Channel, Code};

use crate::util::{fast, TestServer};

async fn connect(
    server: &TestServer,
) -> Result<EchoServiceClient<Channel>, tonic::transport::Error> {
    Ok(EchoServiceClient::new(
        Channel::from_shared(format!("http://{}", server.addr))
            .expect("uri")
            .connect()
            .await?,
    ))
}

/// Whether the server closes a raw connection that sent `bytes` within `within`.
async fn closed_after_sending(server: &TestServer, bytes: &[u8], within: Duration) -> bool {
    let mut tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    tcp.write_all(bytes).await.expect("write");
    let mut sink = Vec::new();
    // The server may answer (SETTINGS, GOAWAY) before closing: read to the end.
    tokio::time::timeout(within, tcp.read_to_end(&mut sink))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_started_connections_are_closed_after_the_handshake_timeout() {
    let mut config = fast();
    config.limits.handshake_timeout = Duration::from_millis(300);
    let server = TestServer::start(config).await;
    let start = Instant::now();
    assert!(
        closed_after_sending(&server, b"", Duration::from_secs(3)).await,
        "a silent connection stays open"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "closed before the timeout: {:?}",
        start.elapsed()
    );
    assert!(
        closed_after_sending(&server, b"PRI * HTTP/2.0\r\n", Duration::from_secs(3)).await,
        "a partial preface stays open"
    );
    assert!(
        closed_after_sending(
            &server,
            &[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3],
            Duration::from_secs(3)
        )
        .await,
        "garbage stays open"
    );
    let reply = connect(&server)
        .await
        .expect("connect")
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "ok".into(),
        }]))
        .await;
    assert!(reply.is_ok(), "the server keeps serving: {reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_refused_and_slots_come_back() {
    let mut config = fast();
    config.limits.max_connections = 2;
    let server = TestServer::start(config).await;
    let mut first = connect(&server).await.expect("first connection");
    let second = connect(&server).await.expect("second connection");
    first
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "a".into(),
        }]))
        .await
        .expect("first works");
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        match connect(&server).await {
            Err(_) => true,
            Ok(mut c) => c
                .echo_client_stream(tokio_stream::iter([EchoRequest {
                    message: "c".into(),
                }]))
                .await
                .is_err(),
        }
    })
    .await
    .expect("refusal is quick");
    assert!(refused, "a third connection is refused");
    drop(second);
    drop(first);
    // The slots free up when connections close.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ok = match connect(&server).await {
            Ok(mut c) => c
                .echo_client_stream(tokio_stream::iter([EchoRequest {
                    message: "d".into(),
                }]))
                .await
                .is_ok(),
            Err(_) => false,
        };
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no slot came back after closing connections"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn rpcs_longer_than_the_limit_end_with_deadline_exceeded() {
    let mut config = fast();
    config.limits.max_rpc_duration = Some(Duration::from_millis(300));
    let server = TestServer::start(config).await;
    let mut client = connect(&server).await.expect("connect");
    let (_tx, rx) = tokio::sync::mpsc::channel::<EchoRequest>(1);
    let start = Instant::now();
    let mut replies = client
        .echo_bidirectional_stream_sync(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("call")
        .into_inner();
    let status = replies.message().await.expect_err("ended by the limit");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );

    let (_tx, rx) = tokio::sync::mpsc::channel::<EchoRequest>(1);
    let status = client
        .echo_client_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect_err("ended by the limit");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_past_the_per_connection_limit_wait_for_a_slot() {
    let mut config = fast();
    config.limits.max_concurrent_streams = 2;
    config.echo.server_stream_count = 3;
    config.echo.server_stream_interval = Duration::from_millis(200);
    let server = TestServer::start(config).await;
    let mut client = connect(&server).await.expect("connect");
    // One call first, so the client has the server's SETTINGS (the stream limit) before it
    // opens three streams at once; streams opened before that are refused, retryably.
    client
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "w".into(),
        }]))
        .await
        .expect("warm-up");
    let start = Instant::now();
    let call = |c: &EchoServiceClient<Channel>| {
        let mut c = c.clone();
        async move {
            let mut replies = c
                .echo_server_stream(EchoRequest {
                    message: "x".into(),
                })
                .await?
                .into_inner();
            let first = start.elapsed();
            while replies.message().await?.is_some() {}
            Ok::<_, tonic::Status>((first, start.elapsed()))
        }
    };
    let (a, b, c) = tokio::join!(call(&client), call(&client), call(&client));
    let mut runs = [a.expect("a"), b.expect("b"), c.expect("c")];
    runs.sort();
    // Two run at once (about 400ms each); the third starts only when one of them ends.
    assert!(
        runs[2].0 >= runs[0].1.min(runs[1].1) - Duration::from_millis(50),
        "{runs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_http2_frame_closes_the_connection() {
    let server = TestServer::start(fast()).await;
    // The client preface, then a SETTINGS frame of 5 bytes: settings come in 6-byte entries,
    // so this is a FRAME_SIZE_ERROR and the connection must go (RFC 9113 §6.5).
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 5, 0x4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
    assert!(
        closed_after_sending(&server, &bytes, Duration::from_secs(3)).await,
        "the connection stays open"
    );
    let reply = connect(&server)
        .await
        .expect("connect")
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "ok".into(),
        }]))
        .await;
    assert!(reply.is_ok(), "the server keeps serving: {reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_header_list_is_refused_and_the_server_keeps_serving() {
    let server = TestServer::start(fast()).await;
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let (h2, connection) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(connection);
    let mut h2 = h2.ready().await.expect("ready");
    let request = http::Request::post(format!(
        "http://{}/api.stream.v1.EchoService/EchoServerStream",
        server.addr
    ))
    .header("content-type", "application/grpc")
    .header("x-padding", "x".repeat(64 * 1024))
    .body(())
    .expect("request");
    let outcome = match h2.send_request(request, true) {
        Err(err) => Err(err.to_string()),
        Ok((response, _)) => match tokio::time::timeout(Duration::from_secs(3), response).await {
            Err(_) => panic!("no answer to an over-long header list within 3 s"),
            Ok(Ok(response)) if response.status() == http::StatusCode::OK => Ok(()),
            Ok(Ok(response)) => Err(format!("HTTP {}", response.status())),
            Ok(Err(err)) => Err(err.to_string()),
        },
    };
    assert!(outcome.is_err(), "64 KiB of headers were accepted");
    let reply = connect(&server)
        .await
        .expect("connect")
        .echo_client_stream(tokio_stream::iter([EchoRequest {
            message: "ok".into(),
        }]))
        .await;
    assert!(reply.is_ok(), "the server keeps serving: {reply:?}");
}
