//! Refuses requests that are not gRPC with HTTP 415, as the gRPC spec asks (tonic would
//! otherwise decode a `text/plain` body as if it were gRPC and answer OK).

use std::task::{Context, Poll};

use tonic::body::Body;
use tower::{Layer, Service};

use super::refusal::OrRefused;

#[derive(Clone, Copy, Default)]
pub struct GrpcOnlyLayer;

impl<S> Layer<S> for GrpcOnlyLayer {
    type Service = GrpcOnly<S>;

    fn layer(&self, inner: S) -> GrpcOnly<S> {
        GrpcOnly { inner }
    }
}

#[derive(Clone)]
pub struct GrpcOnly<S> {
    inner: S,
}

fn is_grpc(request: &http::Request<Body>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

impl<S> Service<http::Request<Body>> for GrpcOnly<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = OrRefused<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if is_grpc(&request) {
            return OrRefused::Called {
                inner: self.inner.call(request),
            };
        }
        let mut response = http::Response::new(Body::empty());
        *response.status_mut() = http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
        OrRefused::Refused {
            response: Some(response),
        }
    }
}
