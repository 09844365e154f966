//! The ceiling for `bench/compare.sh`: a minimal tonic echo of the same proto and the same
//! reply texts, with none of `serve`'s layers, limits, logging or demo timings. What `serve`
//! costs on top of tonic itself is measured against this.
//!
//! `cargo run --release --example raw_echo -- [PORT]` (default 0: any free port); prints
//! `listening on 127.0.0.1:PORT` on stderr once it accepts connections. TCP_NODELAY is on,
//! as in `serve`.

use std::{net::SocketAddr, pin::Pin};

use grpcstream::{
    contract,
    proto::{
        echo_service_server::{EchoService, EchoServiceServer},
        EchoRequest, EchoResponse,
    },
};
use tokio_stream::{Stream, StreamExt};
use tonic::{
    transport::{server::TcpIncoming, Server},
    Request, Response, Status, Streaming,
};

type Replies = Pin<Box<dyn Stream<Item = Result<EchoResponse, Status>> + Send>>;

struct RawEcho;

fn echo(message: String) -> Result<EchoResponse, Status> {
    Ok(EchoResponse { message })
}

#[tonic::async_trait]
impl EchoService for RawEcho {
    async fn echo_client_stream(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoResponse>, Status> {
        let mut inbound = request.into_inner();
        let mut messages = Vec::new();
        while let Some(request) = inbound.message().await? {
            messages.push(request.message);
        }
        Ok(Response::new(EchoResponse {
            message: contract::client_stream_summary(&messages),
        }))
    }

    type EchoServerStreamStream = Replies;

    async fn echo_server_stream(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<Replies>, Status> {
        let message = request.into_inner().message;
        let replies = (1..=5).map(move |i| echo(contract::server_stream_reply(i, &message)));
        Ok(Response::new(Box::pin(tokio_stream::iter(replies))))
    }

    type EchoBidirectionalStreamSyncStream = Replies;

    async fn echo_bidirectional_stream_sync(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Replies>, Status> {
        let replies = request
            .into_inner()
            .map(|next| echo(contract::sync_reply(&next?.message)));
        Ok(Response::new(Box::pin(replies)))
    }

    type EchoBidirectionalStreamAsyncStream = Replies;

    async fn echo_bidirectional_stream_async(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Replies>, Status> {
        let replies = request
            .into_inner()
            .map(|next| echo(contract::async_reply(&next?.message)));
        Ok(Response::new(Box::pin(replies)))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = match std::env::args().nth(1) {
        Some(port) => port
            .parse()
            .map_err(|err| format!("PORT must be a number from 0 to 65535, got {port:?}: {err}"))?,
        None => 0,
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    Server::builder()
        .add_service(EchoServiceServer::new(RawEcho))
        .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
        .await?;
    Ok(())
}
