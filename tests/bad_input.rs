//! Raw HTTP/2 requests no well-behaved client sends: each gets the right status, and the
//! server keeps serving.

use bytes::Bytes;
use http::{HeaderMap, Request};

use crate::util::{fast, TestServer};

/// Sends one raw HTTP/2 request; returns the HTTP status and the gRPC status (from the
/// headers of a trailers-only answer, or from the trailers).
async fn raw(
    server: &TestServer,
    content_type: &str,
    path: &str,
    body: Vec<u8>,
) -> (u16, Option<String>) {
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let request = Request::post(format!("http://{}{path}", server.addr))
        .header("content-type", content_type)
        .header("te", "trailers")
        .body(())
        .expect("request");
    let (response, mut send) = client.send_request(request, false).expect("send");
    send.send_data(Bytes::from(body), true).expect("body");
    let response = response.await.expect("response");
    let status = response.status().as_u16();
    let from_headers = grpc_status(response.headers());
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let _ = chunk;
    }
    let trailers = body.trailers().await.ok().flatten();
    (
        status,
        from_headers.or_else(|| trailers.as_ref().and_then(grpc_status)),
    )
}

fn grpc_status(headers: &HeaderMap) -> Option<String> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A gRPC frame: compressed flag, 4-byte length, payload.
fn frame(compressed: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![compressed];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

const SERVER_STREAM: &str = "/api.stream.v1.EchoService/EchoServerStream";

#[tokio::test]
async fn malformed_grpc_requests_get_the_right_status() {
    let mut config = fast();
    config.max_message_size = 1024;
    let server = TestServer::start(config).await;
    let grpc = "application/grpc";
    // Field 1 claims 100 bytes but the message ends: not protobuf.
    assert_eq!(
        raw(&server, grpc, SERVER_STREAM, frame(0, &[0x0a, 100, b'x'])).await,
        (200, Some("13".into())),
        "invalid protobuf → INTERNAL"
    );
    assert_eq!(
        raw(
            &server,
            grpc,
            SERVER_STREAM,
            frame(0, &[0x0a, 2, 0xff, 0xfe])
        )
        .await,
        (200, Some("13".into())),
        "invalid UTF-8 → INTERNAL"
    );
    let big = [vec![0x0a, 0x88, 0x10], vec![b'x'; 2056]].concat();
    assert_eq!(
        raw(&server, grpc, SERVER_STREAM, frame(0, &big)).await,
        (200, Some("8".into())),
        "over the cap → RESOURCE_EXHAUSTED"
    );
    assert_eq!(
        raw(&server, grpc, SERVER_STREAM, frame(1, &[0x0a, 1, b'x'])).await,
        (200, Some("13".into())),
        "compressed flag without encoding → INTERNAL"
    );
    let (http, _) = raw(
        &server,
        "text/plain",
        SERVER_STREAM,
        frame(0, &[0x0a, 1, b'x']),
    )
    .await;
    assert_eq!(http, 415, "wrong content-type → 415 Unsupported Media Type");
    // After all that, a correct request works.
    assert_eq!(
        raw(&server, grpc, SERVER_STREAM, frame(0, &[0x0a, 1, b'x'])).await,
        (200, Some("0".into()))
    );
}
