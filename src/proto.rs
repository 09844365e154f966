//! The generated code of `proto/api/stream/v1/stream.proto` and its descriptor set.
#![allow(clippy::all, missing_docs)]

tonic::include_proto!("api.stream.v1");

/// Encoded `FileDescriptorSet` of the proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("stream_descriptor");

/// serve's copy of the service: the same paths, framing and settings, over the message
/// types of `serve::wire`, which are read and written in place instead of through Strings.
pub mod serving {
    include!(concat!(env!("OUT_DIR"), "/serving/api.stream.v1.rs"));
}
