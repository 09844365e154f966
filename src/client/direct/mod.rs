//! soak's connections: HTTP/2 (the h2 crate, which hyper drives for tonic) with each call's
//! request sent and response read by the task that makes the call.
//!
//! Through tonic's channel a call passes four tasks: the caller, tonic's Buffer worker,
//! hyper's dispatcher (which spawns a task per call to await its response, and another to
//! send its body when the body is not sent at once) and the connection's. On soak's one core
//! every hop waits behind the tasks already queued, so a finished call's successor reached
//! the server late, and the server idled 1–3% of a soak run against 0.2% under h2load. Here
//! a call is its caller's task and the connection's: soak spent 9–33% less CPU per bidi-sync
//! call (4 pairs) and the server idled 0.3–1.0%; soak ÷ h2load went from 0.99 / 0.99 to
//! 1.02 / 1.03 (bench/soak-vs-h2load.sh, see README).
//!
//! `Direct` is a tower service like tonic's channel, so the timing layer (interceptor.rs) and
//! tonic's `Grpc` client sit on it unchanged; probe keeps tonic's channels.

mod body;
mod link;
mod pump;

use std::{
    future::Future,
    pin::Pin,
    sync::{atomic::AtomicU64, Arc},
    task::{ready, Context, Poll},
    time::Duration,
};

use http::{header::USER_AGENT, uri, HeaderValue};
use http_body::Body as _;
use sync_wrapper::SyncWrapper;
use tonic::{body::Body, Status};

pub use body::ResponseBody;
use link::{Dialer, Handle, Link};
use pump::Pump;

use crate::{config::Target, tls::TlsConnector};

/// What soak says it is, unless `--header user-agent:` says otherwise.
const AGENT: &str = concat!("grpcstream/", env!("CARGO_PKG_VERSION"));

type Dialling = Pin<Box<dyn Future<Output = Result<Handle, Status>> + Send>>;

/// A lazily dialled HTTP/2 connection to the target, as a tower service of HTTP requests.
/// Clones share the connection.
pub struct Direct {
    link: Arc<Link>,
    scheme: uri::Scheme,
    authority: uri::Authority,
    /// This clone's way to the connection, once `poll_ready` has found or dialled it.
    handle: Option<Handle>,
    /// Only `poll_ready` touches it (`&mut`): wrapped so the service stays `Sync`.
    dialling: SyncWrapper<Option<Dialling>>,
    /// Why the connection could not be had: the next call fails with it. As through tonic's
    /// channel, a connection's failure is the call's status (UNAVAILABLE when the dial
    /// failed), not a "service was not ready" error.
    failed: Option<Status>,
}

impl Clone for Direct {
    fn clone(&self) -> Self {
        Self {
            link: self.link.clone(),
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            handle: self.handle.clone(),
            dialling: SyncWrapper::new(None),
            failed: None,
        }
    }
}

impl Direct {
    /// A connection to `target` (with its TLS when it is `https://`), dialled by the first
    /// call within `timeout`; `connects` counts the dials that succeed.
    pub fn new(
        target: &Target,
        tls: Option<TlsConnector>,
        timeout: Duration,
        connects: Arc<AtomicU64>,
    ) -> anyhow::Result<Self> {
        let authority = target
            .uri
            .authority()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the target {} has no host", target.uri))?;
        let (scheme, dialer) = match tls {
            Some(connector) => (
                uri::Scheme::HTTPS,
                Dialer::Tls {
                    connector,
                    uri: target.uri.clone(),
                },
            ),
            None => (
                uri::Scheme::HTTP,
                Dialer::Plain {
                    authority: authority.to_string(),
                },
            ),
        };
        Ok(Self {
            link: Arc::new(Link::new(dialer, timeout, connects)),
            scheme,
            authority,
            handle: None,
            dialling: SyncWrapper::new(None),
            failed: None,
        })
    }
}

impl tower::Service<http::Request<Body>> for Direct {
    type Response = http::Response<ResponseBody>;
    type Error = Status;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        loop {
            if self.failed.is_some() {
                return Poll::Ready(Ok(()));
            }
            if let Some(handle) = self.handle.as_mut().filter(|h| !h.is_gone()) {
                if let Err(e) = ready!(handle.send.poll_ready(cx)) {
                    handle.forget();
                    self.handle = None;
                    self.failed = Some(Status::from(e));
                }
                return Poll::Ready(Ok(()));
            }
            self.handle = self.link.live();
            if self.handle.is_some() {
                continue;
            }
            let link = &self.link;
            let dialling = self.dialling.get_mut();
            let dialled = ready!(dialling
                .get_or_insert_with(|| Box::pin(link.clone().connect()))
                .as_mut()
                .poll(cx));
            *dialling = None;
            match dialled {
                Ok(handle) => self.handle = Some(handle),
                Err(status) => self.failed = Some(status),
            }
        }
    }

    fn call(&mut self, request: http::Request<Body>) -> ResponseFuture {
        if let Some(status) = self.failed.take() {
            return ResponseFuture::failed(status);
        }
        let Some(handle) = self.handle.as_mut() else {
            return ResponseFuture::failed(Status::internal(
                "a call was made before its connection was ready",
            ));
        };
        let (mut parts, body) = request.into_parts();
        // The origin, as tonic's channel adds it: requests name only their path.
        let mut uri = std::mem::take(&mut parts.uri).into_parts();
        uri.scheme = Some(self.scheme.clone());
        uri.authority = Some(self.authority.clone());
        parts.uri = match http::Uri::from_parts(uri) {
            Ok(uri) => uri,
            Err(e) => return ResponseFuture::failed(Status::internal(format!("bad URI: {e}"))),
        };
        parts
            .headers
            .entry(USER_AGENT)
            .or_insert(HeaderValue::from_static(AGENT));
        let end = body.is_end_stream();
        match handle
            .send
            .send_request(http::Request::from_parts(parts, ()), end)
        {
            Ok((response, send)) => ResponseFuture {
                state: State::Waiting {
                    response,
                    pump: (!end).then(|| Pump::new(body, send)),
                },
            },
            Err(e) => {
                // A connection that went away takes no more streams; a bad request (a header
                // HTTP/2 forbids) fails alone.
                if e.is_go_away() || e.is_io() {
                    handle.forget();
                    self.handle = None;
                }
                ResponseFuture::failed(Status::from(e))
            }
        }
    }
}

/// The response to a call: its headers, with the request body sent meanwhile.
pub struct ResponseFuture {
    state: State,
}

enum State {
    Waiting {
        response: h2::client::ResponseFuture,
        pump: Option<Pump>,
    },
    Failed(Option<Status>),
}

impl ResponseFuture {
    fn failed(status: Status) -> Self {
        Self {
            state: State::Failed(Some(status)),
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<http::Response<ResponseBody>, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            State::Failed(status) => Poll::Ready(Err(status
                .take()
                .unwrap_or_else(|| Status::internal("the call's response was polled again")))),
            State::Waiting { response, pump } => {
                body::drive(pump, cx)?;
                let response = ready!(Pin::new(response).poll(cx)).map_err(Status::from)?;
                let (parts, recv) = response.into_parts();
                Poll::Ready(Ok(http::Response::from_parts(
                    parts,
                    ResponseBody::new(recv, pump.take()),
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests;
