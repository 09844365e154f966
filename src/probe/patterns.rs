//! One function per pattern: send what the original client sends, check every reply
//! against the contract, and say precisely what differed.

use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{metadata::MetadataMap, Request, Status, Streaming};

use crate::{
    client::EchoClient,
    config::ProbeConfig,
    contract::{self, Pattern},
    interceptor::code_name,
    proto::{EchoRequest, EchoResponse},
};

/// What one pattern sends and how often, defaulting to the original client's behaviour.
#[derive(Debug, Clone)]
pub struct Plan {
    pub pattern: Pattern,
    /// The `N` of `client-N` in the message texts.
    pub client_id: u32,
    pub messages: u32,
    pub gap: Duration,
    /// Pause between two probes when repeating.
    pub pause: Duration,
    pub server_stream_count: u32,
    pub timeout: Duration,
    pub headers: MetadataMap,
}

impl Plan {
    pub fn new(pattern: Pattern, config: &ProbeConfig) -> Self {
        let (client_id, messages, gap_ms, pause_s) = match pattern {
            Pattern::ClientStream => (1, 3, 500, 5),
            Pattern::ServerStream => (2, 1, 0, 4),
            Pattern::BidiSync => (3, 3, 1000, 6),
            Pattern::BidiAsync => (4, 3, 800, 7),
        };
        let messages = match pattern {
            Pattern::ServerStream => 1,
            _ => config.messages.unwrap_or(messages),
        };
        Self {
            pattern,
            client_id,
            messages,
            gap: config.message_gap.unwrap_or(Duration::from_millis(gap_ms)),
            pause: config.interval.unwrap_or(Duration::from_secs(pause_s)),
            server_stream_count: config.server_stream_count,
            timeout: config.timeout,
            headers: config.call.headers.clone(),
        }
    }

    /// The texts of the messages, as the original client wrote them.
    pub fn texts(&self) -> Vec<String> {
        let id = self.client_id;
        (1..=self.messages)
            .map(|i| match self.pattern {
                Pattern::ClientStream => format!("Hello from client-{id} message-{i}"),
                Pattern::ServerStream => format!("Hello from client-{id} for server stream"),
                Pattern::BidiSync => format!("Sync message {i} from client-{id}"),
                Pattern::BidiAsync => format!("Async message {i} from client-{id}"),
            })
            .collect()
    }

    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        *request.metadata_mut() = self.headers.clone();
        // Tell the server the deadline too (grpc-timeout), so it can give up as well.
        request.set_timeout(self.timeout);
        request
    }
}

/// The result of one probe.
#[derive(Debug)]
pub struct Check {
    /// The pattern's name, or `health`.
    pub name: &'static str,
    pub result: Result<(), Failure>,
    pub sent: u32,
    pub received: u32,
    pub first_reply: Option<Duration>,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    #[error("cannot connect to {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("the RPC failed with {code}: {message}")]
    Status { code: &'static str, message: String },
    #[error("no complete answer within the {} deadline", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("{0}")]
    Mismatch(String),
}

impl Failure {
    /// A status from tonic, telling connection failures (retry with backoff) from answers.
    pub fn from_status(status: Status, server: &str) -> Self {
        if let Some(reason) = connect_failure(&status) {
            return Failure::Connect {
                server: server.to_owned(),
                reason,
            };
        }
        Failure::Status {
            code: code_name(status.code()),
            message: status.message().to_owned(),
        }
    }
}

/// tonic reports a failed connection as UNAVAILABLE with the cause in the source chain.
fn connect_failure(status: &Status) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    let mut transport = false;
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind().to_string());
        }
        if err.is::<tonic::transport::Error>() {
            transport = true;
        }
        if err.to_string().contains("timed out") {
            return Some("connection timed out".into());
        }
        source = err.source();
    }
    transport.then(|| status.message().to_owned())
}

/// Runs one probe of `plan.pattern`, bounded by its deadline.
pub async fn run(client: &EchoClient, plan: &Plan, server: &str) -> Check {
    let start = Instant::now();
    let mut run = Progress {
        start,
        sent: Arc::default(),
        received: 0,
        first_reply: None,
    };
    let outcome =
        tokio::time::timeout(plan.timeout, exercise(client.clone(), plan, &mut run)).await;
    let result = match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Fail::Status(status))) => Err(Failure::from_status(status, server)),
        Ok(Err(Fail::Mismatch(what))) => Err(Failure::Mismatch(what)),
        Err(_) => Err(Failure::Timeout(plan.timeout)),
    };
    Check {
        name: plan.pattern.name(),
        result,
        sent: run.sent.load(Ordering::Relaxed),
        received: run.received,
        first_reply: run.first_reply,
        elapsed: start.elapsed(),
    }
}

struct Progress {
    start: Instant,
    sent: Arc<AtomicU32>,
    received: u32,
    first_reply: Option<Duration>,
}

impl Progress {
    fn got_reply(&mut self) {
        self.received += 1;
        self.first_reply.get_or_insert_with(|| self.start.elapsed());
    }
}

enum Fail {
    Status(Status),
    Mismatch(String),
}

impl From<Status> for Fail {
    fn from(status: Status) -> Self {
        Fail::Status(status)
    }
}

async fn exercise(mut client: EchoClient, plan: &Plan, run: &mut Progress) -> Result<(), Fail> {
    let texts = plan.texts();
    match plan.pattern {
        Pattern::ClientStream => {
            let outbound = paced(texts.clone(), plan.gap, run.sent.clone());
            let reply = client
                .echo_client_stream(plan.request(outbound))
                .await?
                .into_inner();
            run.got_reply();
            let python = contract::client_stream_summary(&texts);
            let go = contract::go_client_stream_summary(&texts);
            if reply.message != python && reply.message != go {
                return Err(Fail::Mismatch(format!(
                    "expected {python:?} (or the Go server's {go:?}), got {:?}",
                    reply.message
                )));
            }
            Ok(())
        }
        Pattern::ServerStream => {
            let message = texts.into_iter().next().unwrap_or_default();
            let expected: Vec<String> = (1..=plan.server_stream_count)
                .map(|i| contract::server_stream_reply(i, &message))
                .collect();
            let request = plan.request(EchoRequest { message });
            let replies = client.echo_server_stream(request).await?.into_inner();
            run.sent.store(1, Ordering::Relaxed);
            expect_replies(replies, &expected, run).await
        }
        Pattern::BidiSync | Pattern::BidiAsync => {
            let reply: fn(&str) -> String = match plan.pattern {
                Pattern::BidiSync => contract::sync_reply,
                _ => contract::async_reply,
            };
            let expected: Vec<String> = texts.iter().map(|t| reply(t)).collect();
            // The sender is its own task, so replies are read while messages still go out.
            let outbound = paced(texts, plan.gap, run.sent.clone());
            let replies = match plan.pattern {
                Pattern::BidiSync => {
                    client
                        .echo_bidirectional_stream_sync(plan.request(outbound))
                        .await?
                }
                _ => {
                    client
                        .echo_bidirectional_stream_async(plan.request(outbound))
                        .await?
                }
            };
            expect_replies(replies.into_inner(), &expected, run).await
        }
    }
}

/// Sends `texts` from a separate task, `gap` apart, counting what was handed over.
fn paced(texts: Vec<String>, gap: Duration, sent: Arc<AtomicU32>) -> ReceiverStream<EchoRequest> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        for (i, message) in texts.into_iter().enumerate() {
            if i > 0 && !gap.is_zero() {
                tokio::select! {
                    // The call ended (failed or timed out): nothing more to send.
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(gap) => {}
                }
            }
            if tx.send(EchoRequest { message }).await.is_err() {
                return;
            }
            sent.fetch_add(1, Ordering::Relaxed);
        }
    });
    ReceiverStream::new(rx)
}

/// Reads every reply, comparing each with the expected one as it arrives.
async fn expect_replies(
    mut replies: Streaming<EchoResponse>,
    expected: &[String],
    run: &mut Progress,
) -> Result<(), Fail> {
    while let Some(reply) = replies.message().await? {
        run.got_reply();
        let n = run.received as usize;
        match expected.get(n - 1) {
            Some(want) if *want == reply.message => {}
            Some(want) => {
                return Err(Fail::Mismatch(format!(
                    "reply {n}: expected {want:?}, got {:?}",
                    reply.message
                )));
            }
            None => {
                return Err(Fail::Mismatch(format!(
                    "expected {} replies, got more: reply {n} is {:?}",
                    expected.len(),
                    reply.message
                )));
            }
        }
    }
    if run.received as usize != expected.len() {
        return Err(Fail::Mismatch(format!(
            "expected {} replies, got {}; the first missing one is {:?}",
            expected.len(),
            run.received,
            expected[run.received as usize]
        )));
    }
    Ok(())
}
