//! `--auth-token-file`: every RPC but health checks must carry `authorization: Bearer <token>`;
//! others get UNAUTHENTICATED before any handler runs. The comparison takes the same time
//! whatever the token, so it leaks nothing about how much of a guess was right.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use subtle::ConstantTimeEq;
use tonic::{body::Body, Status};
use tower::{Layer, Service};

use super::refusal::OrRefused;

/// Health checks stay open: load balancers and probes rarely hold credentials.
const OPEN_PREFIX: &str = "/grpc.health.v1.Health/";

#[derive(Clone)]
pub struct AuthLayer {
    /// The whole expected header value, `Bearer <token>`.
    expected: Arc<[u8]>,
}

impl AuthLayer {
    pub fn new(token: &str) -> Self {
        Self {
            expected: format!("Bearer {token}").into_bytes().into(),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            expected: self.expected.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    expected: Arc<[u8]>,
}

impl<S> Service<http::Request<Body>> for Auth<S>
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
        let open = request.uri().path().starts_with(OPEN_PREFIX);
        let presented = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let allowed = open || presented.is_some_and(|p| bool::from(p.ct_eq(&self.expected)));
        if allowed {
            OrRefused::Called {
                inner: self.inner.call(request),
            }
        } else {
            let why = match presented {
                None => "this server requires `authorization: Bearer <token>` (--auth-token-file)",
                Some(_) => "the bearer token is not the one this server accepts",
            };
            OrRefused::refuse(Status::unauthenticated(why))
        }
    }
}
