//! The streaming cases, one function each, named as in the gRPC interop suite, and the
//! list of all cases in the order they run.
//!
//! tonic has no explicit cancel: dropping a call's future, or its reply stream together
//! with the request sender, is the cancel; h2 then resets the stream (RST_STREAM CANCEL).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use super::{
    calls::{
        abbreviate, after_cancel, expect_end, expect_replies, expect_reply, fail, filler, insert,
        one, request, status_text, Noticed,
    },
    status::{
        custom_metadata, max_message_size, special_status_message, status_code_and_message,
        unimplemented_method,
    },
    CaseFuture, Context, Problem,
};
use crate::{contract, proto::EchoRequest};

/// Asks a server with the controls for this many server-stream replies.
const REPLIES: &str = "x-grpcstream-replies";
/// The interop suite's payload sizes (client streaming and ping-pong).
const SIZES: [usize; 4] = [27182, 8, 1828, 45904];
/// The deadline of `timeout_on_sleeping_server`.
const SLEEPING_DEADLINE: Duration = Duration::from_millis(1);

/// Every case, in the order they run, with its deadline. The futures start when polled.
pub(super) fn all(ctx: &Context) -> Vec<(&'static str, Duration, CaseFuture<'_>)> {
    let t = ctx.timeout;
    vec![
        ("client_streaming", t, Box::pin(client_streaming(ctx))),
        ("server_streaming", t, Box::pin(server_streaming(ctx))),
        ("ping_pong", t, Box::pin(ping_pong(ctx))),
        ("empty_stream", t, Box::pin(empty_stream(ctx))),
        ("cancel_after_begin", t, Box::pin(cancel_after_begin(ctx))),
        (
            "cancel_after_first_response",
            t,
            Box::pin(cancel_after_first_response(ctx)),
        ),
        (
            "timeout_on_sleeping_server",
            t,
            Box::pin(timeout_on_sleeping_server(ctx)),
        ),
        ("custom_metadata", t, Box::pin(custom_metadata(ctx))),
        (
            "status_code_and_message",
            t,
            Box::pin(status_code_and_message(ctx)),
        ),
        (
            "special_status_message",
            t,
            Box::pin(special_status_message(ctx)),
        ),
        (
            "unimplemented_method",
            t,
            Box::pin(unimplemented_method(ctx)),
        ),
        ("max_message_size", t, Box::pin(max_message_size(ctx))),
        (
            "long_lived_stream",
            ctx.long_deadline(),
            Box::pin(long_lived_stream(ctx)),
        ),
    ]
}

async fn client_streaming(ctx: &Context) -> Result<(), Problem> {
    let texts: Vec<String> = SIZES.iter().map(|&n| filler(n)).collect();
    let outbound = tokio_stream::iter(
        texts
            .iter()
            .map(|t| EchoRequest { message: t.clone() })
            .collect::<Vec<_>>(),
    );
    let reply = ctx
        .client
        .clone()
        .echo_client_stream(request(ctx, outbound, ctx.timeout))
        .await?
        .into_inner();
    let python = contract::client_stream_summary(&texts);
    let go = contract::go_client_stream_summary(&texts);
    if reply.message != python && reply.message != go {
        return fail(format!(
            "expected the summary of 4 messages of {SIZES:?} bytes, {}, got {}",
            abbreviate(&python),
            abbreviate(&reply.message)
        ));
    }
    Ok(())
}

async fn server_streaming(ctx: &Context) -> Result<(), Problem> {
    let message = "conformance server stream";
    let mut request = request(
        ctx,
        EchoRequest {
            message: message.into(),
        },
        ctx.timeout,
    );
    let count = if ctx.controls.is_ok() {
        insert(&mut request, REPLIES, "4");
        4
    } else {
        ctx.server_stream_count
    };
    let expected: Vec<String> = (1..=count)
        .map(|i| contract::server_stream_reply(i, message))
        .collect();
    let mut replies = ctx
        .client
        .clone()
        .echo_server_stream(request)
        .await?
        .into_inner();
    expect_replies(&mut replies, &expected).await
}

async fn ping_pong(ctx: &Context) -> Result<(), Problem> {
    let texts: Vec<String> = SIZES.iter().map(|&n| filler(n)).collect();
    let (tx, rx) = mpsc::channel(1);
    // The first message goes out with the call: some servers (grpcio) send their
    // headers only with the first reply.
    let _ = tx
        .send(EchoRequest {
            message: texts[0].clone(),
        })
        .await;
    let mut replies = ctx
        .client
        .clone()
        .echo_bidirectional_stream_sync(request(ctx, ReceiverStream::new(rx), ctx.timeout))
        .await?
        .into_inner();
    for (i, text) in texts.iter().enumerate() {
        if i > 0
            && tx
                .send(EchoRequest {
                    message: text.clone(),
                })
                .await
                .is_err()
        {
            return fail(format!(
                "expected to send message {}, but the call had ended",
                i + 1
            ));
        }
        expect_reply(&mut replies, i + 1, &contract::sync_reply(text)).await?;
    }
    drop(tx);
    expect_end(&mut replies, texts.len()).await
}

async fn empty_stream(ctx: &Context) -> Result<(), Problem> {
    let request = request(ctx, tokio_stream::empty(), ctx.timeout);
    let mut replies = ctx
        .client
        .clone()
        .echo_bidirectional_stream_sync(request)
        .await?
        .into_inner();
    expect_end(&mut replies, 0).await
}

async fn cancel_after_begin(ctx: &Context) -> Result<(), Problem> {
    let (hold, rx) = mpsc::channel::<EchoRequest>(1);
    let (started_tx, started) = oneshot::channel();
    let outbound = Noticed {
        inner: ReceiverStream::new(rx),
        started: Some(started_tx),
    };
    let mut client = ctx.client.clone();
    let mut call = Box::pin(client.echo_client_stream(request(ctx, outbound, ctx.timeout)));
    // The request body is read once the stream is open (its headers are on the way).
    let ended = tokio::select! {
        answer = &mut call => Some(answer),
        Ok(()) = started => None,
    };
    if let Some(answer) = ended {
        let got = match answer {
            Ok(reply) => format!("the reply {}", abbreviate(&reply.into_inner().message)),
            Err(s) => status_text(&s),
        };
        return fail(format!(
            "expected the call to wait for the client's messages, but it ended with {got}"
        ));
    }
    drop(call); // the cancel
    drop(hold);
    let texts = vec!["after cancel_after_begin".to_owned()];
    let outbound = tokio_stream::iter(vec![EchoRequest {
        message: texts[0].clone(),
    }]);
    let reply = ctx
        .client
        .clone()
        .echo_client_stream(request(ctx, outbound, ctx.timeout))
        .await
        .map_err(after_cancel)?;
    let (python, go) = (
        contract::client_stream_summary(&texts),
        contract::go_client_stream_summary(&texts),
    );
    let got = reply.into_inner().message;
    if got != python && got != go {
        return fail(format!(
            "after the cancelled call, expected {python:?} from a new call, got {}",
            abbreviate(&got)
        ));
    }
    Ok(())
}

async fn cancel_after_first_response(ctx: &Context) -> Result<(), Problem> {
    let (tx, rx) = mpsc::channel(1);
    let _ = tx
        .send(EchoRequest {
            message: "first".into(),
        })
        .await;
    let mut replies = ctx
        .client
        .clone()
        .echo_bidirectional_stream_sync(request(ctx, ReceiverStream::new(rx), ctx.timeout))
        .await?
        .into_inner();
    expect_reply(&mut replies, 1, &contract::sync_reply("first")).await?;
    // The cancel: the reply stream first, so that the end of the requests is followed by a reset.
    drop(replies);
    drop(tx);
    let message = "after cancel_after_first_response";
    let mut replies = ctx
        .client
        .clone()
        .echo_bidirectional_stream_sync(request(ctx, one(message), ctx.timeout))
        .await
        .map_err(after_cancel)?
        .into_inner();
    expect_replies(&mut replies, &[contract::sync_reply(message)])
        .await
        .map_err(|p| match p {
            Problem::Fail(why) => {
                Problem::Fail(format!("after the cancelled call, a new call: {why}"))
            }
            skip => skip,
        })
}

async fn timeout_on_sleeping_server(ctx: &Context) -> Result<(), Problem> {
    // Held, never used: the server sleeps waiting for a message that never comes.
    let (hold, rx) = mpsc::channel::<EchoRequest>(1);
    let request = request(ctx, ReceiverStream::new(rx), SLEEPING_DEADLINE);
    let mut client = ctx.client.clone();
    let call = async move {
        let mut replies = client
            .echo_bidirectional_stream_sync(request)
            .await?
            .into_inner();
        replies.message().await
    };
    let outcome = tokio::time::timeout(SLEEPING_DEADLINE, call).await;
    drop(hold);
    let expected = "expected DEADLINE_EXCEEDED";
    match outcome {
        // The local deadline is tonic's DEADLINE_EXCEEDED.
        Err(_) => Ok(()),
        Ok(Err(s)) if matches!(s.code(), Code::DeadlineExceeded | Code::Cancelled) => Ok(()),
        Ok(Err(s)) => fail(format!("{expected}, got {}", status_text(&s))),
        Ok(Ok(Some(reply))) => fail(format!(
            "{expected}, got the reply {}",
            abbreviate(&reply.message)
        )),
        Ok(Ok(None)) => fail(format!("{expected}, got OK")),
    }
}

async fn long_lived_stream(ctx: &Context) -> Result<(), Problem> {
    let hold = ctx.hold;
    let every = (hold / 10).min(Duration::from_secs(1));
    let count = if every.is_zero() {
        1
    } else {
        (hold.as_nanos() / every.as_nanos()).max(1)
    };
    let text = |i: u128| format!("long-lived message {i}");
    let start = tokio::time::Instant::now();
    let (tx, rx) = mpsc::channel(1);
    let _ = tx.send(EchoRequest { message: text(1) }).await;
    let request = request(ctx, ReceiverStream::new(rx), ctx.long_deadline());
    let mut replies = ctx
        .client
        .clone()
        .echo_bidirectional_stream_sync(request)
        .await?
        .into_inner();
    let mut next = start;
    for i in 1..=count {
        if i > 1 {
            next += every;
            tokio::time::sleep_until(next).await;
            if tx.send(EchoRequest { message: text(i) }).await.is_err() {
                return fail(format!(
                    "expected to send message {i} of {count}, but the call had ended"
                ));
            }
        }
        expect_reply(&mut replies, i as usize, &contract::sync_reply(&text(i))).await?;
    }
    tokio::time::sleep_until(start + hold).await;
    drop(tx);
    expect_end(&mut replies, count as usize).await
}
