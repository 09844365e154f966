//! A call's response body: the HTTP/2 stream's DATA frames and then its trailers, with the
//! rest of the request body sent at each poll (pump.rs), so the one task that reads the
//! replies also writes the messages.

use std::{
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use h2::RecvStream;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Status;

use super::pump::{Pump, Stop};

pub struct ResponseBody {
    recv: RecvStream,
    /// The request body while some of it is unsent.
    pump: Option<Pump>,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Trailers,
    Done,
}

impl ResponseBody {
    pub(super) fn new(recv: RecvStream, pump: Option<Pump>) -> Self {
        let state = if recv.is_end_stream() {
            State::Done
        } else {
            State::Data
        };
        Self { recv, pump, state }
    }
}

/// Sends what `pump` can, dropping it once done; a failed request body fails the call.
pub(super) fn drive(pump: &mut Option<Pump>, cx: &mut Context<'_>) -> Result<(), Status> {
    if let Some(body) = pump {
        match body.poll_send(cx) {
            Poll::Pending => {}
            Poll::Ready(Ok(())) | Poll::Ready(Err(Stop::Stream)) => *pump = None,
            Poll::Ready(Err(Stop::Body(status))) => {
                *pump = None;
                return Err(status);
            }
        }
    }
    Ok(())
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        if let Err(status) = drive(&mut this.pump, cx) {
            this.state = State::Done;
            return Poll::Ready(Some(Err(status)));
        }
        if this.state == State::Data {
            match ready!(this.recv.poll_data(cx)) {
                Some(Ok(data)) => {
                    // The window opens again as the replies are taken, as hyper's body does.
                    let _ = this.recv.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(e)) => {
                    this.state = State::Done;
                    return Poll::Ready(Some(Err(Status::from(e))));
                }
                None => this.state = State::Trailers,
            }
        }
        if this.state == State::Trailers {
            let trailers = ready!(this.recv.poll_trailers(cx));
            this.state = State::Done;
            return Poll::Ready(match trailers {
                Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
                Ok(None) => None,
                Err(e) => Some(Err(Status::from(e))),
            });
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
