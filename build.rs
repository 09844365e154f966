//! Compiles `proto/` with protox (pure Rust), so building needs no system `protoc`,
//! and writes the descriptor set that server reflection serves.
use prost::Message;
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/api/stream/v1/stream.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    // compile_fds does not write the descriptor set itself.
    std::fs::write(out.join("stream_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .codec_path("crate::codec::EchoCodec")
        .compile_fds(fds)?;
    Ok(())
}
