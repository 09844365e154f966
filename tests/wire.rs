//! What grpcstream's client puts on the wire, read frame by frame through a recording proxy.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use crate::util::{fast, TestServer};

const PREFACE_LEN: usize = 24;
const DATA: u8 = 0;
const END_STREAM: u8 = 1;

/// The 9-byte head of an HTTP/2 frame.
#[derive(Debug, Clone, Copy)]
struct FrameHead {
    len: usize,
    kind: u8,
    flags: u8,
    stream: u32,
}

type Frames = Arc<Mutex<Vec<FrameHead>>>;

/// A proxy on 127.0.0.1 to `upstream` that records the heads of the frames clients send.
async fn recording_proxy(upstream: SocketAddr) -> (SocketAddr, Frames) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let frames = Frames::default();
    let recorded = frames.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(upstream)
                .await
                .expect("connect upstream");
            tokio::spawn(forward(client, server, recorded.clone()));
        }
    });
    (addr, frames)
}

async fn forward(client: TcpStream, server: TcpStream, frames: Frames) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await });
    let mut pending = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    let mut preface_left = PREFACE_LEN;
    while let Ok(n) = client_read.read(&mut chunk).await {
        if n == 0 || server_write.write_all(&chunk[..n]).await.is_err() {
            break;
        }
        pending.extend_from_slice(&chunk[..n]);
        let skip = preface_left.min(pending.len());
        pending.drain(..skip);
        preface_left -= skip;
        while pending.len() >= 9 {
            let head = FrameHead {
                len: usize::from(pending[0]) << 16
                    | usize::from(pending[1]) << 8
                    | usize::from(pending[2]),
                kind: pending[3],
                flags: pending[4],
                stream: u32::from_be_bytes([pending[5], pending[6], pending[7], pending[8]])
                    & 0x7fff_ffff,
            };
            if pending.len() < 9 + head.len {
                break;
            }
            pending.drain(..9 + head.len);
            frames.lock().expect("frames lock").push(head);
        }
    }
}

/// hyper sends the end of a tonic client's request as an empty DATA frame of its own, which
/// h2 writes with a write(2) of its own; grpcstream's client marks its last DATA frame instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_ends_on_its_last_data_frame() {
    let server = TestServer::start(fast()).await;
    let (proxy, frames) = recording_proxy(server.addr).await;
    for pattern in ["client-stream", "bidi-sync"] {
        let report = tokio::time::timeout(
            Duration::from_secs(30),
            crate::soak::twenty_calls(&proxy.to_string(), pattern, &[]),
        )
        .await
        .expect("the soak ends in time");
        assert_eq!(
            (report.stats.calls, report.stats.calls_failed),
            (20, 0),
            "{pattern}"
        );
    }
    let frames = frames.lock().expect("frames lock").clone();
    let data: Vec<_> = frames
        .iter()
        .filter(|f| f.kind == DATA && f.stream != 0)
        .collect();
    let ends: Vec<_> = data.iter().filter(|f| f.flags & END_STREAM != 0).collect();
    assert_eq!(ends.len(), 40, "one end per call: {frames:?}");
    assert!(
        data.iter().all(|f| f.len > 0),
        "no empty DATA frame (an end of its own): {data:?}"
    );
}
