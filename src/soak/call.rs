//! soak's client-stream and bidi calls, made as tonic's client makes them (the same headers,
//! the timing layer, over soak's own connections: client/direct/; tonic's encoder when
//! compressed, request_body.rs's otherwise) but with the response left as HTTP: its echoes
//! are then read where they lie in the DATA frames (replies.rs) instead of through tonic's
//! `Streaming`, which copies every frame and decodes one message per poll (and a
//! client-stream summary into a String of its own, on top).

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{
    header::{CONTENT_TYPE, TE},
    uri::PathAndQuery,
    HeaderMap, HeaderName, HeaderValue,
};
use tokio_stream::StreamExt as _;
use tonic::{
    body::Body,
    codec::{CompressionEncoding, EncodeBody},
    metadata::MetadataMap,
    Status,
};
use tower::{Service, ServiceExt as _};

use super::{ledger::Ledger, outbound::Outbound, request_body::RequestBody, wire::StampEncoder};
use crate::{
    cli::Compression,
    client::{self, DirectChannel},
};

const ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
const ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");

/// The headers every client-stream and bidi call of a run sends, built once.
#[derive(Debug, Clone)]
pub struct Head {
    headers: HeaderMap,
    compression: Option<CompressionEncoding>,
}

impl Head {
    /// `metadata`: the user's headers (`--header`, the bearer token); `timeout` goes to the
    /// server as `grpc-timeout`.
    pub fn new(metadata: &MetadataMap, timeout: Duration, compression: Compression) -> Self {
        // tonic writes the timeout header, in its format.
        let mut request = tonic::Request::new(());
        *request.metadata_mut() = metadata.clone();
        request.set_timeout(timeout);
        let mut headers = request.into_parts().0.into_headers();
        // What tonic strips from user metadata: the protocol's own headers.
        for reserved in ["grpc-message", "grpc-message-type", "grpc-status"] {
            headers.remove(reserved);
        }
        headers.insert(TE, HeaderValue::from_static("trailers"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        let compression = client::encoding(compression);
        if let Some(encoding) = compression {
            headers.insert(ENCODING, HeaderValue::from_static(encoding_name(encoding)));
        }
        // As every other client RPC of ours: compressed replies are welcome.
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip,zstd"));
        Self {
            headers,
            compression,
        }
    }
}

fn encoding_name(encoding: CompressionEncoding) -> &'static str {
    match encoding {
        CompressionEncoding::Zstd => "zstd",
        _ => "gzip",
    }
}

/// Opens a call on `channel` that sends `outbound`'s messages (keeping its DATA frames in
/// `ledger`, when given and uncompressed); the response once its headers are in.
pub async fn open(
    channel: &mut DirectChannel,
    head: &Head,
    path: PathAndQuery,
    outbound: Outbound,
    burst: usize,
    ledger: Option<Ledger>,
) -> Result<http::Response<impl http_body::Body<Data = Bytes, Error = Status>>, Status> {
    let polled = outbound.polls();
    let body = match head.compression {
        None => Body::new(RequestBody::new(outbound, burst, polled, ledger)),
        // Compressed frames do not hold the texts: the summary check then decodes each item.
        Some(encoding) => Body::new(Watched {
            body: EncodeBody::new_client(
                StampEncoder::new(burst),
                outbound.map(Ok),
                Some(encoding),
                None,
            ),
            polled,
        }),
    };
    let mut request = http::Request::new(body);
    *request.version_mut() = http::Version::HTTP_2;
    *request.method_mut() = http::Method::POST;
    // The channel adds the scheme and authority of its target.
    *request.uri_mut() = http::Uri::from(path);
    *request.headers_mut() = head.headers.clone();
    channel
        .ready()
        .await
        .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?
        .call(request)
        .await
        .map_err(|e| Status::from_error(e.into()))
}

pin_project_lite::pin_project! {
    /// A compressed call's request body, which tells its `Outbound` each time it is polled
    /// (outbound.rs: messages of one poll share a clock reading, never those of two), as
    /// `RequestBody` does for uncompressed calls.
    struct Watched<B> {
        #[pin]
        body: B,
        polled: Arc<AtomicBool>,
    }
}

impl<B: http_body::Body<Data = Bytes>> http_body::Body for Watched<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, B::Error>>> {
        let this = self.project();
        this.polled.store(true, Ordering::Relaxed);
        this.body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };

    use bytes::Bytes;
    use http_body::Body as _;
    use http_body_util::{BodyExt as _, Full};

    use super::Watched;

    #[tokio::test]
    async fn each_poll_is_flagged_and_the_body_unchanged() {
        let polled = Arc::new(AtomicBool::new(false));
        let mut body = Watched {
            body: Full::new(Bytes::from_static(b"frame")),
            polled: polled.clone(),
        };
        assert!(!body.is_end_stream());
        let frame = body.frame().await.expect("one frame").expect("no error");
        assert!(polled.swap(false, Ordering::Relaxed), "the poll is flagged");
        assert_eq!(frame.into_data().ok().as_deref(), Some(&b"frame"[..]));
        assert!(body.frame().await.is_none());
        assert!(polled.load(Ordering::Relaxed), "every poll, the last too");
        assert!(body.is_end_stream());
    }
}
