//! Holds idle bidi-sync streams open, for `bench/compare.sh`'s memory-per-stream figure:
//! STREAMS streams spread over CONNECTIONS HTTP/2 connections, each after one echo (checked),
//! then idle until a line (or end of input) arrives on stdin, then all closed at once.
//!
//! `cargo run --release --example idle_streams -- 127.0.0.1:PORT STREAMS CONNECTIONS`
//! prints `open` when every stream has had its echo, and `closed` after dropping them.

use std::{io::BufRead, time::Instant};

use grpcstream::{
    contract,
    proto::{echo_service_client::EchoServiceClient, EchoRequest},
};
use tokio::{sync::mpsc, task::JoinSet};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One open stream: the request side stays open (not half-closed) as long as this lives.
struct Held {
    _requests: mpsc::Sender<EchoRequest>,
    _replies: tonic::Streaming<grpcstream::proto::EchoResponse>,
}

async fn open(channel: Channel, id: usize) -> Result<Held, Error> {
    let (tx, rx) = mpsc::channel(1);
    let message = format!("idle-{id}");
    tx.send(EchoRequest {
        message: message.clone(),
    })
    .await?;
    let mut replies = EchoServiceClient::new(channel)
        .echo_bidirectional_stream_sync(ReceiverStream::new(rx))
        .await?
        .into_inner();
    let reply = replies
        .message()
        .await?
        .ok_or("the stream ended before its echo")?;
    if reply.message != contract::sync_reply(&message) {
        return Err(format!("stream {id}: wrong echo {:?}", reply.message).into());
    }
    Ok(Held {
        _requests: tx,
        _replies: replies,
    })
}

fn parse(args: &[String], i: usize, what: &str) -> Result<usize, Error> {
    let arg = args.get(i).ok_or(format!(
        "usage: idle_streams ADDR STREAMS CONNECTIONS (missing {what})"
    ))?;
    match arg.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{what} must be a positive number, got {arg:?}").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .ok_or("usage: idle_streams ADDR STREAMS CONNECTIONS")?;
    let streams = parse(&args, 2, "STREAMS")?;
    let connections = parse(&args, 3, "CONNECTIONS")?;
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        // One `connect` per channel: each is its own HTTP/2 connection.
        channels.push(
            Endpoint::from_shared(format!("http://{addr}"))?
                .connect()
                .await?,
        );
    }
    let start = Instant::now();
    let mut opening = JoinSet::new();
    for id in 0..streams {
        opening.spawn(open(channels[id % connections].clone(), id));
    }
    let mut held = Vec::with_capacity(streams);
    while let Some(result) = opening.join_next().await {
        held.push(result??);
    }
    eprintln!(
        "{} streams over {connections} connections open in {:.2?}",
        held.len(),
        start.elapsed()
    );
    println!("open");
    // Idle until told to close: a line on stdin, or its end.
    tokio::task::spawn_blocking(|| std::io::stdin().lock().lines().next()).await?;
    drop(held);
    drop(channels);
    println!("closed");
    Ok(())
}
