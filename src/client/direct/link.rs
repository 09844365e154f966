//! One HTTP/2 connection to the target, shared by the calls made over it: dialled on the
//! first call, as tonic's lazy channels are, and again on the first call after it has gone
//! (a server restart, a GOAWAY), every dial counted for the report's reconnects.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::Status;
use tower::ServiceExt as _;
use tracing::debug;

use crate::{
    client,
    coalesce::{Coalesce, CLIENT_POLLS},
    tls::{TlsConnector, TlsError},
};

/// hyper's HTTP/2 client settings (what tonic's channels use), so a server sees the same
/// client either way.
const STREAM_WINDOW: u32 = 2 << 20;
const CONNECTION_WINDOW: u32 = 5 << 20;
const MAX_FRAME: u32 = 16 << 10;
const MAX_HEADER_LIST: u32 = 16 << 10;
const MAX_SEND_BUFFER: usize = 1 << 20;
const FIRST_MAX_STREAMS: usize = 100;
const MAX_LOCAL_ERROR_RESETS: usize = 1024;

pub struct Link {
    dialer: Dialer,
    /// How long a dial may take: TCP, TLS and the HTTP/2 preface together.
    timeout: Duration,
    /// The live connection, if any. An async lock: the calls that find the connection gone
    /// wait for one dial instead of each making its own.
    current: tokio::sync::Mutex<Option<Handle>>,
    connects: Arc<AtomicU64>,
}

pub enum Dialer {
    Plain {
        authority: String,
    },
    Tls {
        connector: TlsConnector,
        uri: http::Uri,
    },
}

/// A way to open streams on one connection, and whether that connection has ended.
#[derive(Clone)]
pub struct Handle {
    pub send: SendRequest<Bytes>,
    gone: Arc<AtomicBool>,
}

impl Handle {
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// The connection failed under a call: the next call dials a new one.
    pub fn forget(&self) {
        self.gone.store(true, Ordering::Relaxed);
    }
}

impl Link {
    pub fn new(dialer: Dialer, timeout: Duration, connects: Arc<AtomicU64>) -> Self {
        Self {
            dialer,
            timeout,
            current: tokio::sync::Mutex::new(None),
            connects,
        }
    }

    /// The live connection without waiting, unless it has to be dialled (or is being).
    pub fn live(&self) -> Option<Handle> {
        let current = self.current.try_lock().ok()?;
        current.as_ref().filter(|h| !h.is_gone()).cloned()
    }

    /// The live connection, dialled first if there is none.
    pub async fn connect(self: Arc<Self>) -> Result<Handle, Status> {
        let mut current = self.current.lock().await;
        if let Some(handle) = current.as_ref().filter(|h| !h.is_gone()) {
            return Ok(handle.clone());
        }
        let handle = self.dial().await?;
        self.connects.fetch_add(1, Ordering::Relaxed);
        *current = Some(handle.clone());
        Ok(handle)
    }

    async fn dial(&self) -> Result<Handle, Status> {
        let authority = self.dialer.authority();
        let failed = |why: &dyn std::fmt::Display| {
            Status::unavailable(format!("cannot connect to {authority}: {why}"))
        };
        let h2_failed = |e: h2::Error| failed(&format_args!("HTTP/2 handshake: {e}"));
        let dial = async {
            match &self.dialer {
                Dialer::Plain { authority } => {
                    let tcp = client::tcp(authority).await.map_err(|e| failed(&e))?;
                    handshake(Coalesce::new(tcp, CLIENT_POLLS))
                        .await
                        .map_err(h2_failed)
                }
                Dialer::Tls { connector, uri } => {
                    let tls = connector.clone().oneshot(uri.clone()).await;
                    let tls = tls.map_err(|e| match e {
                        // Its own text names the address again: the cause alone.
                        TlsError::Connect { error, .. } => failed(&error),
                        other => failed(&other),
                    })?;
                    handshake(tls.into_inner()).await.map_err(h2_failed)
                }
            }
        };
        tokio::time::timeout(self.timeout, dial)
            .await
            .unwrap_or_else(|_| {
                Err(failed(&format_args!(
                    "no connection within {}",
                    humantime::format_duration(self.timeout)
                )))
            })
    }
}

impl Dialer {
    fn authority(&self) -> &str {
        match self {
            Dialer::Plain { authority } => authority,
            Dialer::Tls { uri, .. } => uri.authority().map_or("", |a| a.as_str()),
        }
    }
}

/// Starts HTTP/2 on `io` and runs the connection in a task of its own, which marks the
/// handle gone when the connection ends.
async fn handshake<T>(io: T) -> Result<Handle, h2::Error>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME)
        .max_header_list_size(MAX_HEADER_LIST)
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .initial_max_send_streams(FIRST_MAX_STREAMS)
        .max_local_error_reset_streams(Some(MAX_LOCAL_ERROR_RESETS))
        .enable_push(false)
        .handshake::<_, Bytes>(io)
        .await?;
    let gone = Arc::new(AtomicBool::new(false));
    let ended = gone.clone();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            debug!("HTTP/2 connection ended: {e}");
        }
        ended.store(true, Ordering::Relaxed);
    });
    Ok(Handle { send, gone })
}
