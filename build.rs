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
        .compile_fds(fds.clone())?;
    // serve's own copy of the service: the same paths and framing, over message types that
    // are read and written in place (src/serve/wire.rs) instead of prost's Strings.
    let serving = out.join("serving");
    std::fs::create_dir_all(&serving)?;
    tonic_prost_build::configure()
        .build_client(false)
        .out_dir(&serving)
        .codec_path("crate::serve::wire::ServeCodec")
        .extern_path(".api.stream.v1.EchoRequest", "crate::serve::wire::Text")
        .extern_path(".api.stream.v1.EchoResponse", "crate::serve::wire::Reply")
        .compile_fds(fds)?;
    Ok(())
}
