//! `grpcstream probe conformance` against our server (every case passes), the independent
//! Python server (the metadata cases are skipped) and servers broken on purpose (the right
//! case fails, exit 1).

use std::{pin::Pin, time::Duration};

use grpcstream::{
    contract,
    proto::{
        echo_service_server::{EchoService, EchoServiceServer},
        EchoRequest, EchoResponse,
    },
};
use tokio::sync::mpsc;
use tokio_stream::{wrappers::ReceiverStream, Stream};
use tokio_util::sync::CancellationToken;
use tonic::{metadata::MetadataMap, Code, Request, Response, Status, Streaming};

use crate::{
    python::PyServer,
    util::{run_bounded, Process, ServeProcess},
};

const CASES: [&str; 13] = [
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "max_message_size",
    "long_lived_stream",
];
const METADATA_CASES: [&str; 3] = [
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
];
const NO_CONTROLS: &str = "the server does not implement the x-grpcstream-* controls";

/// `probe conformance` against `addr`, bounded by `limit`; `extra` flags last.
fn conformance(addr: &str, extra: &[&str], limit: Duration) -> (Option<i32>, Process) {
    let mut args = vec!["probe", "conformance", "--server", addr, "--hold", "2s"];
    args.extend(extra);
    run_bounded(&args, limit)
}

/// The text line of `case`, which must exist.
fn line_of<'a>(out: &'a Process, case: &str) -> &'a str {
    let prefixes = [
        format!("PASS {case} "),
        format!("FAIL {case}:"),
        format!("SKIP {case} ("),
    ];
    out.stdout
        .iter()
        .find(|l| prefixes.iter().any(|p| l.starts_with(p.as_str())))
        .unwrap_or_else(|| panic!("no line for {case}: {:?}", out.stdout))
}

/// The server requires a token, so every case also shows that it carries the `--header`s
/// and the token of the command line.
#[test]
fn every_case_passes_against_serve_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").expect("write the token");
    let token = token.to_str().expect("UTF-8 path");
    let server = ServeProcess::start(&[
        "--max-message-size",
        "1MiB",
        "--server-stream-interval",
        "10ms",
        "--auth-token-file",
        token,
    ]);
    let addr = server.addr.to_string();
    let extra = [
        "--max-message-size",
        "1MiB",
        "--timeout",
        "10s",
        "--auth-token-file",
        token,
        "--output",
        "json",
    ];
    let (code, mut out) = conformance(&addr, &extra, Duration::from_secs(60));
    let transcript = out.transcript();
    let lines: Vec<serde_json::Value> = out
        .stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), CASES.len() + 1, "{transcript}");
    for (line, case) in lines.iter().zip(CASES) {
        assert_eq!(line["type"], "case", "{line}");
        assert_eq!(line["case"], case, "{line}");
        assert_eq!(line["verdict"], "pass", "{line}");
        assert!(line["reason"].is_null(), "{line}");
        assert!(line["duration_ms"].as_f64().is_some(), "{line}");
    }
    let hold = lines[CASES.len() - 1]["duration_ms"]
        .as_f64()
        .unwrap_or_default();
    assert!(hold >= 2000.0, "the long-lived stream was held {hold} ms");
    let summary = &lines[CASES.len()];
    assert_eq!(
        *summary,
        serde_json::json!({"type": "summary", "ok": true, "passed": 13, "failed": 0, "skipped": 0})
    );
    assert_eq!(code, Some(0), "{transcript}");
}

#[test]
fn the_python_server_passes_the_plain_cases_and_skips_the_metadata_ones() {
    let server = PyServer::start(&["--server-stream-interval-ms", "10"]);
    let addr = server.addr.to_string();
    // grpcio's default receive limit.
    let extra = ["--max-message-size", "4MiB", "--timeout", "10s"];
    let (code, mut out) = conformance(&addr, &extra, Duration::from_secs(60));
    let transcript = out.transcript();
    for case in CASES {
        let line = line_of(&out, case);
        if METADATA_CASES.contains(&case) {
            assert_eq!(line, format!("SKIP {case} ({NO_CONTROLS})"), "{transcript}");
        } else {
            assert!(line.starts_with("PASS "), "{transcript}");
        }
    }
    assert_eq!(
        out.stdout.last().map(String::as_str),
        Some("conformance: 10 passed, 0 failed, 3 skipped"),
        "{transcript}"
    );
    assert_eq!(code, Some(0), "{transcript}");
}

/// How a test server is broken.
#[derive(Clone, Copy, PartialEq)]
enum Flaw {
    /// Implements the metadata controls, but ends with another status message than asked for.
    StatusMessage,
    /// Answers a stream without messages with one reply.
    ReplyToEmpty,
    /// Never ends a stream without messages.
    HangOnEmpty,
}

/// The limit of the broken servers, for `max_message_size`.
const LIMIT: usize = 64 * 1024;
const WRONG_MESSAGE: &str = "not the message asked for";

struct Broken(Flaw);

type Replies = Pin<Box<dyn Stream<Item = Result<EchoResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EchoService for Broken {
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
        let controls = self.0 == Flaw::StatusMessage;
        let count = header(request.metadata(), "x-grpcstream-replies")
            .filter(|_| controls)
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        let request = request.into_inner();
        if prost::Message::encoded_len(&request) > LIMIT {
            return Err(Status::resource_exhausted("message too large"));
        }
        let replies: Vec<_> = (1..=count)
            .map(|i| {
                Ok(EchoResponse {
                    message: contract::server_stream_reply(i, &request.message),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(replies))))
    }

    type EchoBidirectionalStreamSyncStream = Replies;
    async fn echo_bidirectional_stream_sync(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Replies>, Status> {
        let flaw = self.0;
        let controls = flaw == Flaw::StatusMessage;
        let metadata = request.metadata().clone();
        let end = controls.then(|| end_status(&metadata));
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut received = 0;
            while let Ok(Some(request)) = inbound.message().await {
                received += 1;
                let reply = EchoResponse {
                    message: contract::sync_reply(&request.message),
                };
                // A failed send: the client is gone.
                if tx.send(Ok(reply)).await.is_err() {
                    return;
                }
            }
            match flaw {
                Flaw::ReplyToEmpty if received == 0 => {
                    let reply = EchoResponse {
                        message: contract::sync_reply(""),
                    };
                    let _ = tx.send(Ok(reply)).await;
                }
                // Until the client gives up.
                Flaw::HangOnEmpty if received == 0 => tx.closed().await,
                _ => {}
            }
            if let Some(end) = end {
                let _ = tx.send(Err(end)).await;
            }
        });
        let mut response = Response::new(Box::pin(ReceiverStream::new(rx)) as Replies);
        if let Some(value) = metadata
            .get("x-grpcstream-echo-initial")
            .filter(|_| controls)
        {
            response
                .metadata_mut()
                .insert("x-grpcstream-echo-initial", value.clone());
        }
        Ok(response)
    }

    type EchoBidirectionalStreamAsyncStream = Replies;
    async fn echo_bidirectional_stream_async(
        &self,
        _: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("not used by the conformance cases"))
    }
}

fn header<'a>(metadata: &'a MetadataMap, key: &str) -> Option<&'a str> {
    metadata.get(key).and_then(|v| v.to_str().ok())
}

/// The status asked for by `x-grpcstream-status` with the wrong message (or OK), carrying
/// the echoed trailer.
fn end_status(metadata: &MetadataMap) -> Status {
    let code = header(metadata, "x-grpcstream-status")
        .and_then(|v| v.split(':').next()?.parse().ok())
        .map_or(Code::Ok, Code::from_i32);
    let message = if code == Code::Ok { "" } else { WRONG_MESSAGE };
    let mut trailers = MetadataMap::new();
    if let Some(value) = metadata.get_bin("x-grpcstream-echo-trailing-bin") {
        trailers.insert_bin("x-grpcstream-echo-trailing-bin", value.clone());
    }
    Status::with_metadata(code, message, trailers)
}

/// A broken server on 127.0.0.1:0; stops when dropped.
struct BrokenServer {
    addr: String,
    shutdown: CancellationToken,
}

impl BrokenServer {
    async fn start(flaw: Flaw) -> Self {
        let shutdown = CancellationToken::new();
        let router =
            tonic::transport::Server::builder().add_service(EchoServiceServer::new(Broken(flaw)));
        let addr = crate::util::spawn_router(router, shutdown.clone()).await;
        Self { addr, shutdown }
    }

    /// Runs the probe (text output, 5 s deadlines) on a blocking thread.
    async fn probe(&self) -> (Option<i32>, Process) {
        let addr = self.addr.clone();
        tokio::task::spawn_blocking(move || {
            let extra = ["--max-message-size", "64KiB", "--timeout", "5s"];
            conformance(&addr, &extra, Duration::from_secs(60))
        })
        .await
        .expect("probe")
    }
}

impl Drop for BrokenServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Asserts the verdicts: `failing` cases FAIL with a reason containing their text, the
/// `skipped` ones SKIP, all others PASS, and the exit code is 1.
fn assert_verdicts(
    code: Option<i32>,
    out: &mut Process,
    failing: &[(&str, &str)],
    skipped: &[&str],
) {
    let transcript = out.transcript();
    for case in CASES {
        let line = line_of(out, case);
        if let Some((_, reason)) = failing.iter().find(|(c, _)| *c == case) {
            assert!(
                line.starts_with(&format!("FAIL {case}: ")) && line.contains(reason),
                "{case}: expected a FAIL containing {reason:?}\n{transcript}"
            );
        } else if skipped.contains(&case) {
            assert!(line.starts_with("SKIP "), "{case}\n{transcript}");
        } else {
            assert!(line.starts_with("PASS "), "{case}\n{transcript}");
        }
    }
    let summary = format!(
        "conformance: {} passed, {} failed, {} skipped",
        CASES.len() - failing.len() - skipped.len(),
        failing.len(),
        skipped.len()
    );
    assert_eq!(out.stdout.last(), Some(&summary), "{transcript}");
    assert_eq!(code, Some(1), "{transcript}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_status_message_fails_the_status_cases() {
    let server = BrokenServer::start(Flaw::StatusMessage).await;
    let (code, mut out) = server.probe().await;
    let got = format!("got UNKNOWN {WRONG_MESSAGE:?}");
    assert_verdicts(
        code,
        &mut out,
        &[
            ("status_code_and_message", &format!("expected UNKNOWN \"test status message\" after the reply, {got}")),
            ("special_status_message", &format!("expected UNKNOWN \"\\t\\ntest with whitespace\\r\\nand Unicode BMP ☺ and non-BMP 😈\\t\\n\" after the reply, {got}")),
        ],
        &[],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_an_empty_stream_fails_empty_stream() {
    let server = BrokenServer::start(Flaw::ReplyToEmpty).await;
    let (code, mut out) = server.probe().await;
    assert_verdicts(
        code,
        &mut out,
        &[(
            "empty_stream",
            "expected the end of the stream (OK) after 0 replies, got another reply \"Sync Echo: \"",
        )],
        &METADATA_CASES,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_stream_that_never_ends_fails_empty_stream_at_its_deadline() {
    let server = BrokenServer::start(Flaw::HangOnEmpty).await;
    let (code, mut out) = server.probe().await;
    assert_verdicts(
        code,
        &mut out,
        &[(
            "empty_stream",
            "expected an answer within the 5s deadline, got none",
        )],
        &METADATA_CASES,
    );
}
