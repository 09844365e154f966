//! The cases about what comes back besides replies: metadata (with the detection of the
//! `x-grpcstream-*` controls), statuses and errors.

use tonic::{metadata::BinaryMetadataValue, Code, Status};

use super::{
    calls::{
        abbreviate, expect_replies, fail, filler, insert, one, percent_encode, request,
        status_text, text_len_for,
    },
    Context, Problem,
};
use crate::{
    codec::field::encoded_len,
    contract,
    proto::{EchoRequest, EchoResponse},
};

const ECHO_INITIAL: &str = "x-grpcstream-echo-initial";
const ECHO_TRAILING: &str = "x-grpcstream-echo-trailing-bin";
const STATUS: &str = "x-grpcstream-status";
const INITIAL_VALUE: &str = "test_initial_metadata_value";
const TRAILING_VALUE: [u8; 6] = [0x0a, 0x0b, 0x0a, 0x0b, 0x0a, 0x0b];
const SPECIAL_MESSAGE: &str = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
const UNIMPLEMENTED_PATH: &str = "/api.stream.v1.EchoService/UnimplementedCall";

/// Whether the server implements the metadata controls: it echoes `x-grpcstream-echo-initial`.
pub(super) async fn detect_controls(ctx: &Context) -> Result<bool, Status> {
    let call = async {
        let mut request = request(ctx, one("conformance: detect controls"), ctx.timeout);
        insert(&mut request, ECHO_INITIAL, "probe");
        let response = ctx
            .client
            .clone()
            .echo_bidirectional_stream_sync(request)
            .await?;
        let echoed = response
            .metadata()
            .get(ECHO_INITIAL)
            .and_then(|v| v.to_str().ok())
            == Some("probe");
        // Finish the call (one reply), so it does not linger on the server.
        let mut replies = response.into_inner();
        while replies.message().await?.is_some() {}
        Ok(echoed)
    };
    tokio::time::timeout(ctx.timeout, call)
        .await
        .unwrap_or_else(|_| {
            Err(Status::deadline_exceeded(
                "the detection call got no answer in time",
            ))
        })
}

pub(super) async fn custom_metadata(ctx: &Context) -> Result<(), Problem> {
    ctx.controls.clone().map_err(Problem::Skip)?;
    let message = "custom metadata";
    let mut request = request(ctx, one(message), ctx.timeout);
    insert(&mut request, ECHO_INITIAL, INITIAL_VALUE);
    request.metadata_mut().insert_bin(
        ECHO_TRAILING,
        BinaryMetadataValue::from_bytes(&TRAILING_VALUE),
    );
    let response = ctx
        .client
        .clone()
        .echo_bidirectional_stream_sync(request)
        .await?;
    let initial = response
        .metadata()
        .get(ECHO_INITIAL)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if initial.as_deref() != Some(INITIAL_VALUE) {
        return fail(format!(
            "expected the initial metadata {ECHO_INITIAL}: {INITIAL_VALUE:?}, got {initial:?}"
        ));
    }
    let mut replies = response.into_inner();
    expect_replies(&mut replies, &[contract::sync_reply(message)]).await?;
    let trailers = replies.trailers().await?.unwrap_or_default();
    let trailing = trailers
        .get_bin(ECHO_TRAILING)
        .map(|v| v.to_bytes().map(|b| b.to_vec()));
    match trailing {
        Some(Ok(bytes)) if bytes == TRAILING_VALUE => Ok(()),
        other => fail(format!(
            "expected the trailer {ECHO_TRAILING}: {TRAILING_VALUE:02x?}, got {other:02x?}"
        )),
    }
}

pub(super) async fn status_code_and_message(ctx: &Context) -> Result<(), Problem> {
    expect_status(ctx, "2:test status message", "test status message").await
}

pub(super) async fn special_status_message(ctx: &Context) -> Result<(), Problem> {
    expect_status(
        ctx,
        &format!("2:{}", percent_encode(SPECIAL_MESSAGE)),
        SPECIAL_MESSAGE,
    )
    .await
}

/// A bidi-sync call with one message and `x-grpcstream-status: header` must end, after the
/// reply, with UNKNOWN and exactly `message`.
async fn expect_status(ctx: &Context, header: &str, message: &str) -> Result<(), Problem> {
    ctx.controls.clone().map_err(Problem::Skip)?;
    let text = "status";
    let mut request = request(ctx, one(text), ctx.timeout);
    insert(&mut request, STATUS, header);
    let expected = format!("expected UNKNOWN {message:?} after the reply");
    let got = |s: &Status| format!("{expected}, got {}", status_text(s));
    let mut replies = match ctx
        .client
        .clone()
        .echo_bidirectional_stream_sync(request)
        .await
    {
        Ok(response) => response.into_inner(),
        Err(s) => return fail(format!("{} before any reply", got(&s))),
    };
    match replies.message().await {
        Ok(Some(reply)) if reply.message == contract::sync_reply(text) => {}
        Ok(Some(reply)) => {
            return fail(format!(
                "{expected}, got the reply {}",
                abbreviate(&reply.message)
            ))
        }
        Ok(None) => return fail(format!("{expected}, got OK without a reply")),
        Err(s) => return fail(format!("{} before any reply", got(&s))),
    }
    match replies.message().await {
        Err(s) if s.code() == Code::Unknown && s.message() == message => Ok(()),
        Err(s) => fail(got(&s)),
        Ok(Some(reply)) => fail(format!(
            "{expected}, got a second reply {}",
            abbreviate(&reply.message)
        )),
        Ok(None) => fail(format!("{expected}, got OK")),
    }
}

pub(super) async fn unimplemented_method(ctx: &Context) -> Result<(), Problem> {
    let mut grpc = tonic::client::Grpc::new(ctx.channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Problem::Fail(format!("expected a ready channel, got {e}")))?;
    let codec = tonic_prost::ProstCodec::<EchoRequest, EchoResponse>::default();
    let path = http::uri::PathAndQuery::from_static(UNIMPLEMENTED_PATH);
    let request = request(
        ctx,
        EchoRequest {
            message: "unimplemented".into(),
        },
        ctx.timeout,
    );
    match grpc.unary(request, path, codec).await {
        Err(s) if s.code() == Code::Unimplemented => Ok(()),
        Err(s) => fail(format!(
            "expected UNIMPLEMENTED for {UNIMPLEMENTED_PATH}, got {}",
            status_text(&s)
        )),
        Ok(r) => fail(format!(
            "expected UNIMPLEMENTED for {UNIMPLEMENTED_PATH}, got the reply {}",
            abbreviate(&r.into_inner().message)
        )),
    }
}

pub(super) async fn max_message_size(ctx: &Context) -> Result<(), Problem> {
    let limit = ctx.max_message_size;
    // gRPC frames carry a 32-bit length.
    if limit >= u32::MAX as usize - 16 {
        return Err(Problem::Skip(format!(
            "a message larger than the limit of {limit} bytes cannot be framed"
        )));
    }
    let len = text_len_for(limit + 1);
    let size = encoded_len(len);
    let expected =
        format!("expected RESOURCE_EXHAUSTED for a {size}-byte message (limit {limit} bytes)");
    let request = request(
        ctx,
        EchoRequest {
            message: filler(len),
        },
        ctx.timeout,
    );
    let answer = match ctx.client.clone().echo_server_stream(request).await {
        Ok(response) => response.into_inner().message().await,
        Err(s) => Err(s),
    };
    match answer {
        Err(s) if s.code() == Code::ResourceExhausted => Ok(()),
        Err(s) => fail(format!("{expected}, got {}", status_text(&s))),
        Ok(Some(_)) => fail(format!("{expected}, got a reply: the server accepted it")),
        Ok(None) => fail(format!("{expected}, got OK")),
    }
}
