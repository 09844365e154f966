//! The protobuf codec of the generated code: tonic-prost's, with smaller starting buffers.
//!
//! tonic starts every stream with an 8 KiB decode buffer and an 8 KiB encode buffer. Both
//! grow on demand, so a message of any size still fits; small starting buffers keep an idle
//! stream cheap, which is what a server holding 10,000 of them pays for.

pub mod field;

use std::marker::PhantomData;

use tonic::codec::{BufferSettings, Codec};
use tonic_prost::{ProstDecoder, ProstEncoder};

/// Starting size of each stream's buffers; the encoder still yields every 32 KiB.
const BUFFER_SIZE: usize = 1024;
pub(crate) const YIELD_THRESHOLD: usize = 32 * 1024;
/// The most a caller's burst may raise the starting size to: one HTTP/2 frame's worth.
const MAX_BURST_BUFFER: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct EchoCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for EchoCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

/// The buffer settings of every stream, ours and serve's own codec (serve/wire.rs).
pub(crate) fn settings() -> BufferSettings {
    BufferSettings::new(BUFFER_SIZE, YIELD_THRESHOLD)
}

/// Settings for a stream that sends or receives `burst` bytes at a time (soak knows its
/// calls' shape): buffers that start big enough are never grown mid-call, each growth being
/// a realloc and a copy.
pub(crate) fn settings_for(burst: usize) -> BufferSettings {
    BufferSettings::new(starting_size(burst), YIELD_THRESHOLD)
}

/// The default at least, one HTTP/2 frame's worth at most.
pub(crate) fn starting_size(burst: usize) -> usize {
    burst.clamp(BUFFER_SIZE, MAX_BURST_BUFFER)
}

impl<T, U> Codec for EchoCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(settings())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder::new(settings())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_sizes_buffers_within_the_default_and_one_frame() {
        assert_eq!(starting_size(0), BUFFER_SIZE);
        assert_eq!(starting_size(8_000), 8_000);
        assert_eq!(starting_size(1 << 30), MAX_BURST_BUFFER);
    }
}
