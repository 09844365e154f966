//! The four handlers of `api.stream.v1.EchoService`, with the original demo's reply texts
//! and timings (configurable).

use std::{pin::Pin, sync::Arc, time::Duration};

use tokio::sync::mpsc;
use tokio_stream::{wrappers::ReceiverStream, Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::debug;

use super::{
    cancel::UntilCancelled,
    controls::Controls,
    wire::{Reply, Text},
};
use crate::{
    config::EchoConfig, contract, proto::serving::echo_service_server::EchoService, stop::Stop,
};

type ReplyStream = Pin<Box<dyn Stream<Item = Result<Reply, Status>> + Send>>;

/// The echo service. `stop` is given when the shutdown grace period is over: every
/// RPC still running then ends with UNAVAILABLE instead of being cut off mid-stream.
#[derive(Debug, Clone)]
pub struct Echo {
    config: Arc<EchoConfig>,
    max_message_size: usize,
    stop: Stop,
    max_duration: Option<Duration>,
}

impl Echo {
    pub fn new(config: EchoConfig, max_message_size: usize, stop: Stop) -> Self {
        Self {
            config: Arc::new(config),
            max_message_size,
            stop,
            max_duration: None,
        }
    }

    /// Ends RPCs still running after `limit` with DEADLINE_EXCEEDED.
    pub fn with_max_duration(mut self, limit: Option<Duration>) -> Self {
        self.max_duration = limit;
        self
    }

    fn reply_stream(
        &self,
        replies: impl Stream<Item = Result<Reply, Status>> + Send + 'static,
        controls: Option<&Controls>,
    ) -> Response<ReplyStream> {
        let stop = self.stop.clone();
        Response::new(match controls {
            Some(controls) => Box::pin(UntilCancelled::new(
                controls.apply(replies),
                stop,
                self.max_duration,
            )),
            None => Box::pin(UntilCancelled::new(replies, stop, self.max_duration)),
        })
    }
}

/// Resolves when `limit` has passed since the RPC began; never without a limit.
async fn deadline(limit: Option<Duration>) {
    match limit {
        Some(limit) => tokio::time::sleep(limit).await,
        None => std::future::pending().await,
    }
}

/// Reads a client stream to its half-close. The summary repeats every message, so it is
/// bounded like any reply: a client that never half-closes cannot grow the server without
/// limit.
async fn collect_messages(
    mut inbound: Streaming<Text>,
    max_message_size: usize,
) -> Result<Vec<Text>, Status> {
    let mut messages = Vec::new();
    let mut summary_len = 0usize;
    while let Some(text) = inbound.message().await? {
        debug!(rpc = "EchoClientStream", %text, "received");
        summary_len += text.len() + 4;
        if summary_len > max_message_size {
            return Err(Status::resource_exhausted(format!(
                "the summary of {} messages would exceed the maximum message size of {} bytes",
                messages.len() + 1,
                max_message_size
            )));
        }
        messages.push(text);
    }
    Ok(messages)
}

/// The request's `x-grpcstream-*` controls, parsed by the faults layer.
fn controls<T>(request: &Request<T>) -> Option<Controls> {
    request.extensions().get::<Controls>().cloned()
}

fn reply(text: String) -> Result<Reply, Status> {
    Ok(Reply::Text(text))
}

fn echo(prefix: &'static str, text: Text) -> Result<Reply, Status> {
    Ok(Reply::Echo { prefix, text })
}

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo_client_stream(
        &self,
        request: Request<Streaming<Text>>,
    ) -> Result<Response<Reply>, Status> {
        let controls = controls(&request);
        // Raced once for the whole RPC, not once per message: a select! in the receive loop
        // costs a cancellation registration and a timer poll for every message.
        let messages = tokio::select! {
            biased;
            messages = collect_messages(request.into_inner(), self.max_message_size) => messages?,
            _ = self.stop.given() => return Err(super::cancel::shutting_down()),
            _ = deadline(self.max_duration) => return Err(super::cancel::too_long(self.max_duration.unwrap_or_default())),
        };
        if let Some(controls) = controls {
            // One reply at most: a status or an abort takes its place.
            if let Some(delay) = controls.delay {
                tokio::time::sleep(delay).await;
            }
            if controls.abort_after == Some(0) {
                controls
                    .abort
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            if let Some(status) = controls.status.filter(|s| s.code() != tonic::Code::Ok) {
                return Err(status);
            }
        }
        Ok(Response::new(Reply::Text(contract::client_stream_summary(
            &messages,
        ))))
    }

    type EchoServerStreamStream = ReplyStream;

    async fn echo_server_stream(
        &self,
        request: Request<Text>,
    ) -> Result<Response<ReplyStream>, Status> {
        let controls = controls(&request);
        let text = request.into_inner();
        debug!(rpc = "EchoServerStream", %text, "received");
        let count = controls
            .as_ref()
            .and_then(|c| c.replies)
            .unwrap_or(self.config.server_stream_count);
        // An x-grpcstream-delay replaces the demo's pause (the controls apply it).
        let interval = match controls.as_ref().and_then(|c| c.delay) {
            Some(_) => Duration::ZERO,
            None => self.config.server_stream_interval,
        };
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            for i in 1..=count {
                if i > 1 {
                    tokio::select! {
                        // The client cancelled or went away: stop at once, not after the sleep.
                        _ = tx.closed() => return,
                        _ = tokio::time::sleep(interval) => {}
                    }
                }
                if tx
                    .send(reply(contract::server_stream_reply(i, &text)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        Ok(self.reply_stream(ReceiverStream::new(rx), controls.as_ref()))
    }

    type EchoBidirectionalStreamSyncStream = ReplyStream;

    async fn echo_bidirectional_stream_sync(
        &self,
        request: Request<Streaming<Text>>,
    ) -> Result<Response<ReplyStream>, Status> {
        let controls = controls(&request);
        // No task and no queue: each reply is produced when the transport asks for the next
        // one, so HTTP/2 flow control is the only buffer and backpressure is end to end.
        let replies = request.into_inner().map(|next| {
            let text = next?;
            debug!(rpc = "EchoBidirectionalStreamSync", %text, "received");
            echo(contract::SYNC_PREFIX, text)
        });
        Ok(self.reply_stream(replies, controls.as_ref()))
    }

    type EchoBidirectionalStreamAsyncStream = ReplyStream;

    async fn echo_bidirectional_stream_async(
        &self,
        request: Request<Streaming<Text>>,
    ) -> Result<Response<ReplyStream>, Status> {
        let controls = controls(&request);
        let mut inbound = request.into_inner();
        let (queue_tx, mut queue_rx) =
            mpsc::channel::<Result<Text, Status>>(self.config.async_queue);
        let (out_tx, out_rx) = mpsc::channel(1);
        // An x-grpcstream-delay replaces the processing time (the controls apply it).
        let delay = match controls.as_ref().and_then(|c| c.delay) {
            Some(_) => Duration::ZERO,
            None => self.config.async_delay,
        };

        // Receiver: a full queue blocks it, which stops reading the request stream and so
        // pushes back on the client through HTTP/2 flow control.
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    // The worker is gone (the client left): nobody will read the queue.
                    _ = queue_tx.closed() => return,
                    next = inbound.next() => next,
                };
                let item = match next {
                    // Half-close: dropping `queue_tx` lets the worker drain the queue and end.
                    None => return,
                    Some(Ok(text)) => {
                        debug!(rpc = "EchoBidirectionalStreamAsync", %text, "received");
                        Ok(text)
                    }
                    Some(Err(status)) => Err(status),
                };
                let failed = item.is_err();
                if queue_tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });

        // Worker: answers in order, one message at a time.
        tokio::spawn(async move {
            while let Some(item) = queue_rx.recv().await {
                let response = match item {
                    Ok(text) => {
                        tokio::select! {
                            _ = out_tx.closed() => return,
                            _ = tokio::time::sleep(delay) => {}
                        }
                        echo(contract::ASYNC_PREFIX, text)
                    }
                    Err(status) => Err(status),
                };
                // A failed send means the client left; stopping here also ends the receiver.
                if out_tx.send(response).await.is_err() {
                    return;
                }
            }
        });
        Ok(self.reply_stream(ReceiverStream::new(out_rx), controls.as_ref()))
    }
}
