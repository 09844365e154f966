//! A request body written into its HTTP/2 stream by whoever polls the call (its response
//! future, then its response body), as hyper's `PipeToSendStream` does from a task of its own:
//! each DATA frame waits for send capacity, so a stream that always has a message ready
//! still follows the peer's flow control and buffers no more than one frame.

use std::{
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use h2::{Reason, SendStream};
use http_body::Body as HttpBody;
use tonic::{body::Body, Status};

/// Why a body stopped before it was all sent.
#[derive(Debug)]
pub enum Stop {
    /// The request body failed: the call fails with its status (the stream is reset).
    Body(Status),
    /// The stream can take no more (the server reset it or answered already, or the
    /// connection went): the response tells the call's outcome.
    Stream,
}

pub struct Pump {
    body: Body,
    send: SendStream<Bytes>,
    /// A frame taken from the body, waiting for send capacity, and whether it ends the body.
    held: Option<(Bytes, bool)>,
}

impl Pump {
    pub fn new(body: Body, send: SendStream<Bytes>) -> Self {
        Self {
            body,
            send,
            held: None,
        }
    }

    /// Sends what the body has ready; `Ready(Ok)` once all of it is sent.
    pub fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Stop>> {
        loop {
            if let Some((data, end)) = self.held.take() {
                while self.send.capacity() == 0 {
                    match self.send.poll_capacity(cx) {
                        Poll::Pending => {
                            self.held = Some((data, end));
                            return Poll::Pending;
                        }
                        Poll::Ready(Some(Ok(0))) => {}
                        Poll::Ready(Some(Ok(_))) => break,
                        Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(Err(Stop::Stream)),
                    }
                }
                self.send.send_data(data, end).map_err(|_| Stop::Stream)?;
                if end {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            let frame = match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(status)) => {
                    self.send.send_reset(Reason::CANCEL);
                    return Poll::Ready(Err(Stop::Body(status)));
                }
                // The body could not tell it had ended with its last frame: an empty one ends it.
                None => {
                    self.send
                        .send_data(Bytes::new(), true)
                        .map_err(|_| Stop::Stream)?;
                    return Poll::Ready(Ok(()));
                }
            };
            match frame.into_data() {
                Ok(data) => {
                    let end = self.body.is_end_stream();
                    if data.is_empty() {
                        self.send.send_data(data, end).map_err(|_| Stop::Stream)?;
                        if end {
                            return Poll::Ready(Ok(()));
                        }
                        continue;
                    }
                    // A claim of one byte, as hyper makes: h2 raises it to the frame's length
                    // when the frame is sent, and a claim of it all, made by every waiting
                    // stream, could hold back a peer that only updates an emptied window.
                    self.send.reserve_capacity(1);
                    self.held = Some((data, end));
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        self.send.reserve_capacity(0);
                        self.send
                            .send_trailers(trailers)
                            .map_err(|_| Stop::Stream)?;
                        return Poll::Ready(Ok(()));
                    }
                }
            }
        }
    }
}
