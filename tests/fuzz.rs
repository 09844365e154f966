//! Fuzz targets for the parsers that take untrusted input: serve's request decoder (any
//! client's bytes) and soak's echo decoder (any server's reply bytes), both held to prost's
//! decoder, soak's integrity decoder (any server's replies), the
//! client-stream summary formatter (any client's messages) and the config file parser. Under `cargo test` bolero feeds each a bounded number of random
//! inputs (`cargo test fuzz -- --nocapture` prints how many); `bench/fuzz.sh` runs the same
//! targets coverage-guided (`cargo bolero test`, libFuzzer) for a bounded time.

use std::{io::Write, time::Duration};

use grpcstream::{
    config,
    contract::client_stream_summary,
    proto::{EchoRequest, EchoResponse},
    serve,
    soak::{
        integrity::{decode, encode, encoded_len, Stamp},
        wire,
    },
};
use prost::Message as _;

#[test]
fn integrity_decoder_survives_anything() {
    bolero::check!()
        .with_test_time(Duration::from_secs(2))
        .for_each(|bytes: &[u8]| {
            // Any server's reply: must not panic.
            let _ = decode(bytes);
        });
}

/// soak reads bidi echoes with its own protobuf decoder (soak/wire.rs): on any bytes a
/// server may send, it must agree with prost's.
#[test]
fn echo_decoder_agrees_with_prost() {
    const PREFIX: &str = "Sync Echo: ";
    bolero::check!()
        .with_test_time(Duration::from_secs(2))
        .for_each(|bytes: &[u8]| {
            let ours = wire::check(bytes, PREFIX);
            match EchoResponse::decode(bytes) {
                Ok(reply) => {
                    let echo = ours.unwrap_or_else(|e| panic!("prost took {bytes:?}, we: {e}"));
                    assert_eq!(echo.len, reply.message.len(), "{bytes:?}");
                    let stamp = reply
                        .message
                        .strip_prefix(PREFIX)
                        .and_then(|m| decode(m.as_bytes()));
                    assert_eq!(echo.stamp, stamp, "{bytes:?}");
                }
                Err(e) => assert!(ours.is_err(), "prost refused {bytes:?} ({e}), we did not"),
            }
        });
}

/// serve reads requests with its own protobuf decoder (serve/wire.rs): on any bytes a
/// client may send, it must agree with prost's, text for text.
#[test]
fn request_decoder_agrees_with_prost() {
    bolero::check!()
        .with_test_time(Duration::from_secs(2))
        .for_each(|bytes: &[u8]| {
            let ours = serve::wire::decode(bytes::Bytes::copy_from_slice(bytes));
            match EchoRequest::decode(bytes) {
                Ok(request) => {
                    let text = ours.unwrap_or_else(|e| panic!("prost took {bytes:?}, we: {e}"));
                    assert_eq!(&*text, request.message, "{bytes:?}");
                }
                Err(e) => assert!(ours.is_err(), "prost refused {bytes:?} ({e}), we did not"),
            }
        });
}

#[test]
fn integrity_stamps_round_trip() {
    bolero::check!()
        .with_test_time(Duration::from_secs(2))
        .with_type::<(u64, u64, u64, u16)>()
        .for_each(|&(stream, seq, sent_ns, size)| {
            let stamp = Stamp {
                stream,
                seq,
                sent_ns,
            };
            let mut text = Vec::new();
            encode(stamp, usize::from(size % 4096), &mut text);
            assert!(text.is_ascii(), "{text:?}");
            assert_eq!(decode(&text), Some(stamp), "{text:?}");
            assert_eq!(text.len(), encoded_len(stamp, usize::from(size % 4096)));
        });
}

#[test]
fn summary_formatter_survives_anything() {
    bolero::check!()
        .with_test_time(Duration::from_secs(2))
        .with_type::<Vec<String>>()
        .for_each(|messages: &Vec<String>| {
            let summary = client_stream_summary(messages);
            let head = format!("Received {} messages: [", messages.len());
            assert!(
                summary.starts_with(&head) && summary.ends_with(']'),
                "{summary}"
            );
            // Plain words are written as Python does, quoted and comma-separated.
            if messages
                .iter()
                .all(|m| m.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                let list: Vec<String> = messages.iter().map(|m| format!("'{m}'")).collect();
                assert_eq!(summary, format!("{head}{}]", list.join(", ")));
            }
        });
}

#[test]
fn config_parser_survives_any_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fuzz.toml");
    let path_text = path.to_string_lossy().into_owned();
    bolero::check!()
        .with_iterations(300)
        .for_each(|bytes: &[u8]| {
            let mut file = std::fs::File::create(&path).expect("create");
            file.write_all(bytes).expect("write");
            // Ok or a clear error, never a panic; an error names the file.
            if let Err(err) = config::load(["grpcstream", "--config", &path_text, "serve"]) {
                let text = err.to_string();
                assert!(text.contains(&path_text) || text.contains("--"), "{text}");
            }
        });
}
