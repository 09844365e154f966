//! `Direct` against an h2 server on 127.0.0.1 that tells the test what arrived.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use http_body_util::{BodyExt as _, Full, StreamBody};
use tokio::{net::TcpListener, sync::mpsc};
use tonic::{body::Body, Code, Status};
use tower::{Service as _, ServiceExt as _};

use super::Direct;
use crate::config::Target;

const NO_HANG: Duration = Duration::from_secs(10);

/// What the server saw of one request.
#[derive(Debug)]
struct Seen {
    uri: http::Uri,
    agent: Option<HeaderValue>,
    /// The request body's DATA, frame by frame, and whether the last one ended the stream.
    data: Vec<Bytes>,
    ended: bool,
}

/// An h2 server answering every request with `reply` and `grpc-status: 0` trailers, after
/// reading the whole request body with a window of `window` bytes. Each request is
/// reported; with `hang_up`, a connection is shut down (GOAWAY) after its first reply.
async fn server(window: u32, hang_up: bool) -> (Target, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (seen, reports) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut connection = h2::server::Builder::new()
                    .initial_window_size(window)
                    .handshake::<_, Bytes>(tcp)
                    .await
                    .expect("h2 handshake");
                while let Some(Ok((request, respond))) = connection.accept().await {
                    // The connection makes progress only while polled: answer elsewhere.
                    let answered = tokio::spawn(answer(request, respond, seen.clone()));
                    if hang_up {
                        let driven = std::future::poll_fn(|cx| connection.poll_closed(cx));
                        tokio::select! {
                            _ = answered => {}
                            _ = driven => return,
                        }
                        // GOAWAY, then the connection ends once the reply has gone.
                        connection.graceful_shutdown();
                        let closed = std::future::poll_fn(|cx| connection.poll_closed(cx));
                        let _ = tokio::time::timeout(Duration::from_secs(1), closed).await;
                        return;
                    }
                }
            });
        }
    });
    let target = Target {
        uri: format!("http://{addr}").parse().expect("a URI"),
        tls: Default::default(),
    };
    (target, reports)
}

async fn answer(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    seen: mpsc::UnboundedSender<Seen>,
) {
    let (parts, mut body) = request.into_parts();
    let mut data = Vec::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        data.push(chunk);
    }
    let _ = seen.send(Seen {
        uri: parts.uri,
        agent: parts.headers.get(http::header::USER_AGENT).cloned(),
        ended: body.is_end_stream(),
        data,
    });
    let Ok(mut send) = respond.send_response(http::Response::new(()), false) else {
        return;
    };
    let _ = send.send_data(Bytes::from_static(b"reply"), false);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let _ = send.send_trailers(trailers);
}

fn direct(target: &Target) -> (Direct, Arc<AtomicU64>) {
    let connects = Arc::new(AtomicU64::new(0));
    let direct = Direct::new(target, None, Duration::from_secs(2), connects.clone())
        .expect("a target with a host");
    (direct, connects)
}

fn request(body: Body) -> http::Request<Body> {
    let mut request = http::Request::new(body);
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static("/api.stream.v1.EchoService/EchoClientStream");
    request
}

/// Makes one call; its response body's data and trailers' grpc-status.
async fn call(direct: &mut Direct, body: Body) -> Result<(Vec<u8>, Option<HeaderValue>), Status> {
    let response = tokio::time::timeout(NO_HANG, direct.ready().await?.call(request(body)))
        .await
        .expect("no hang")?;
    let collected = tokio::time::timeout(NO_HANG, response.into_body().collect())
        .await
        .expect("no hang")?;
    let status = collected
        .trailers()
        .and_then(|t| t.get("grpc-status").cloned());
    Ok((collected.to_bytes().to_vec(), status))
}

#[tokio::test]
async fn a_call_sends_its_origin_agent_and_body_ending_on_the_last_frame_and_reads_the_reply() {
    let (target, mut seen) = server(65_535, false).await;
    let (mut direct, connects) = direct(&target);
    let (reply, status) = call(
        &mut direct,
        Body::new(Full::new(Bytes::from_static(b"hello"))),
    )
    .await
    .expect("the call succeeds");
    assert_eq!(
        (reply.as_slice(), status),
        (&b"reply"[..], Some(HeaderValue::from_static("0")))
    );
    let seen = seen.recv().await.expect("the request arrived");
    assert_eq!(
        seen.uri,
        format!(
            "http://{}/api.stream.v1.EchoService/EchoClientStream",
            target.authority()
        )
        .as_str()
    );
    assert_eq!(seen.agent, Some(HeaderValue::from_static(super::AGENT)));
    // One DATA frame, END_STREAM on it: no empty frame of its own after it.
    assert_eq!(seen.data, [Bytes::from_static(b"hello")]);
    assert!(seen.ended);
    assert_eq!(connects.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_body_larger_than_the_window_waits_for_it_and_arrives_whole_in_order() {
    // The server opens 1,000 bytes at a time; 64 frames of 512 bytes go out as it does.
    let (target, mut seen) = server(1_000, false).await;
    let (mut direct, _) = direct(&target);
    let frames: Vec<Result<Frame<Bytes>, Status>> = (0..64u8)
        .map(|i| Ok(Frame::data(Bytes::from(vec![i; 512]))))
        .collect();
    let body = Body::new(StreamBody::new(tokio_stream::iter(frames)));
    call(&mut direct, body).await.expect("the call succeeds");
    let seen = seen.recv().await.expect("the request arrived");
    let sent: Vec<u8> = (0..64u8).flat_map(|i| vec![i; 512]).collect();
    assert_eq!(seen.data.concat(), sent);
    assert!(seen.ended);
}

#[tokio::test]
async fn a_failing_request_body_fails_the_call_with_its_status() {
    let (target, _seen) = server(65_535, false).await;
    let (mut direct, _) = direct(&target);
    let frames: Vec<Result<Frame<Bytes>, Status>> = vec![
        Ok(Frame::data(Bytes::from_static(b"first"))),
        Err(Status::data_loss("the body broke")),
    ];
    let body = Body::new(StreamBody::new(tokio_stream::iter(frames)));
    let status = call(&mut direct, body).await.expect_err("the body failed");
    assert_eq!(
        (status.code(), status.message()),
        (Code::DataLoss, "the body broke")
    );
}

#[tokio::test]
async fn the_connection_is_dialled_once_and_again_after_it_has_gone() {
    let (target, _seen) = server(65_535, true).await;
    let (mut direct, connects) = direct(&target);
    let body = || Body::new(Full::new(Bytes::from_static(b"x")));
    call(&mut direct, body())
        .await
        .expect("the first call succeeds");
    // Another clone, as each soak call takes: the same connection.
    let mut other = direct.clone();
    assert_eq!(connects.load(Ordering::Relaxed), 1);
    // The server hangs up after its first reply: a later call dials again.
    let mut succeeded = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if call(&mut other, body()).await.is_ok() {
            succeeded = true;
            break;
        }
    }
    assert!(succeeded, "a call succeeded on a new connection");
    assert_eq!(connects.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn no_server_fails_the_call_unavailable_naming_the_address_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    for scheme in ["http", "https"] {
        let target = Target {
            uri: format!("{scheme}://{addr}").parse().expect("a URI"),
            tls: crate::tls::ClientTls {
                insecure_skip_verify: true,
                ..Default::default()
            },
        };
        let tls = (scheme == "https")
            .then(|| crate::tls::TlsConnector::new(&target.tls).expect("no files to read"));
        let connects = Arc::new(AtomicU64::new(0));
        let mut direct = Direct::new(&target, tls, Duration::from_secs(2), connects.clone())
            .expect("a target with a host");
        let status = call(&mut direct, Body::empty())
            .await
            .expect_err("nobody listens");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        let message = status.message();
        assert!(
            message.starts_with(&format!("cannot connect to {addr}: ")),
            "{message}"
        );
        assert_eq!(message.matches(&addr.to_string()).count(), 1, "{message}");
        assert_eq!(connects.load(Ordering::Relaxed), 0);
    }
}
