//! Reports over-limit messages as RESOURCE_EXHAUSTED, the gRPC convention (grpc-go,
//! grpc-java and their interop tests), where tonic says OUT_OF_RANGE.
//!
//! A response layer rather than handler code because for server-streaming RPCs tonic
//! decodes the request before any handler runs. Only tonic's own size errors are
//! rewritten: an OUT_OF_RANGE a handler chose stays as it is.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use http_body_util::BodyExt;
use tonic::body::Body;

pub type Layer = tower::util::MapResponseLayer<fn(http::Response<Body>) -> http::Response<Body>>;

pub fn layer() -> Layer {
    tower::util::MapResponseLayer::new(fix_response)
}

fn fix_response(response: http::Response<Body>) -> http::Response<Body> {
    let (mut parts, body) = response.into_parts();
    // Trailers-only responses (the usual shape of an error) carry the status in the headers.
    fix_status(&mut parts.headers);
    let body = Body::new(body.map_frame(fix_frame));
    http::Response::from_parts(parts, body)
}

fn fix_frame(frame: Frame<Bytes>) -> Frame<Bytes> {
    match frame.into_trailers() {
        Ok(mut trailers) => {
            fix_status(&mut trailers);
            Frame::trailers(trailers)
        }
        Err(frame) => frame,
    }
}

fn fix_status(headers: &mut HeaderMap) {
    let out_of_range = headers.get("grpc-status").is_some_and(|v| v == "11");
    let too_large = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| {
            m.contains("message%20length%20too%20large") || m.contains("message length too large")
        });
    if out_of_range && too_large {
        headers.insert("grpc-status", HeaderValue::from_static("8"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_tonics_size_errors() {
        let mut size = HeaderMap::new();
        size.insert("grpc-status", HeaderValue::from_static("11"));
        size.insert(
            "grpc-message",
            HeaderValue::from_static(
                "Error,%20decoded%20message%20length%20too%20large:%20found%2010%20bytes",
            ),
        );
        fix_status(&mut size);
        assert_eq!(size["grpc-status"], "8");

        let mut chosen = HeaderMap::new();
        chosen.insert("grpc-status", HeaderValue::from_static("11"));
        chosen.insert(
            "grpc-message",
            HeaderValue::from_static("seek%20past%20end"),
        );
        fix_status(&mut chosen);
        assert_eq!(chosen["grpc-status"], "11");
    }
}
