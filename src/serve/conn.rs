//! Accepted connections, with two limits hyper does not have: a cap on open connections
//! (`--max-connections`: past it new ones are closed at once, never queued without bound)
//! and a deadline for the first bytes (`--handshake-timeout`: a client that connects and
//! sends nothing, slowloris-style, is dropped instead of holding a socket forever). Writes
//! go out coalesced (src/coalesce.rs): the replies a poll of the connection finished leave in
//! one write, not one per DATA frame.

use std::{
    future::Future as _,
    io,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Sleep,
};
use tokio_stream::{wrappers::TcpListenerStream, Stream, StreamExt};
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::{debug, warn};

use crate::coalesce::Coalesce;

/// The accepted connections of `listener`, limited as above, their flushes put off for
/// `polls` polls of the connection task.
pub fn incoming(
    listener: TcpListener,
    max_connections: usize,
    handshake_timeout: Duration,
    polls: u8,
) -> impl Stream<Item = io::Result<Connection>> {
    let slots = Arc::new(Semaphore::new(max_connections));
    TcpListenerStream::new(listener).filter_map(move |accepted| {
        let tcp = match accepted {
            Ok(tcp) => tcp,
            // Accept errors (e.g. out of file descriptors) pass; the server goes on.
            Err(err) => return Some(Err(err)),
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            warn!(peer = ?tcp.peer_addr().ok(), "refusing a connection: --max-connections {max_connections} are open");
            return None;
        };
        if let Err(err) = tcp.set_nodelay(true) {
            debug!("cannot set TCP_NODELAY: {err}");
        }
        Some(Ok(Connection {
            tcp: Coalesce::new(tcp, polls),
            _slot: permit,
            first_bytes: Some(Box::pin(tokio::time::sleep(handshake_timeout))),
            received: 0,
        }))
    })
}

/// The HTTP/2 client preface (24 bytes) and the header of its first frame: a client must
/// send this much before the handshake deadline, so a partial preface does not hold on.
const HANDSHAKE_BYTES: usize = 24 + 9;

/// A TCP connection holding one of the `--max-connections` slots until it closes.
pub struct Connection {
    tcp: Coalesce<TcpStream>,
    _slot: OwnedSemaphorePermit,
    /// Until the client's handshake bytes arrive.
    first_bytes: Option<Pin<Box<Sleep>>>,
    received: usize,
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.tcp.get_ref().connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.tcp).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.received += buf.filled().len() - before;
                if this.received >= HANDSHAKE_BYTES {
                    this.first_bytes = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                if let Some(deadline) = this.first_bytes.as_mut() {
                    ready!(deadline.as_mut().poll(cx));
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not start HTTP/2 within --handshake-timeout",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        AsyncWrite::is_write_vectored(&self.tcp)
    }
}
