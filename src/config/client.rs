//! Settings of the clients, `probe` (and what `soak` shares with it): the target and its
//! TLS, the metadata and compression of every call.

use std::{path::Path, time::Duration};

use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

use super::ConfigError;
use crate::{
    cli::{self, Compression, OutputFormat, ProbePattern},
    contract::Pattern,
    tls::ClientTls,
};

/// Where a client connects, and how it verifies an `https://` server.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port` or `https://host:port`.
    pub uri: http::Uri,
    pub tls: ClientTls,
}

impl Target {
    pub fn is_tls(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }

    /// `host:port`, as error messages name the server.
    pub fn authority(&self) -> &str {
        self.uri.authority().map_or("", |a| a.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub target: Target,
    /// Probed concurrently, each on its own schedule.
    pub patterns: Vec<Pattern>,
    /// `probe health`: the service whose health to check (`""` is the whole server).
    pub health: Option<String>,
    /// `probe conformance`: run the interop cases instead of patterns.
    pub conformance: Option<ConformanceConfig>,
    pub once: bool,
    pub messages: Option<u32>,
    pub message_gap: Option<Duration>,
    pub interval: Option<Duration>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub server_stream_count: u32,
    pub output: OutputFormat,
    pub call: Call,
}

#[derive(Debug, Clone)]
pub struct ConformanceConfig {
    /// How long the long-lived stream case lasts.
    pub hold: Duration,
    /// The server's limit: a message one byte larger must get RESOURCE_EXHAUSTED.
    pub max_message_size: usize,
}

/// What a client adds to every RPC: metadata (with the bearer token) and compression.
#[derive(Debug, Clone)]
pub struct Call {
    pub headers: MetadataMap,
    pub compression: Compression,
}

pub(super) fn resolve_probe(args: cli::ProbeArgs) -> Result<ProbeConfig, ConfigError> {
    let patterns = match args.pattern {
        ProbePattern::ClientStream => vec![Pattern::ClientStream],
        ProbePattern::ServerStream => vec![Pattern::ServerStream],
        ProbePattern::BidiSync => vec![Pattern::BidiSync],
        ProbePattern::BidiAsync => vec![Pattern::BidiAsync],
        ProbePattern::All => Pattern::ALL.to_vec(),
        ProbePattern::Health | ProbePattern::Conformance => Vec::new(),
    };
    Ok(ProbeConfig {
        target: target(&args.server, &args.tls)?,
        patterns,
        health: (args.pattern == ProbePattern::Health).then(|| args.service.clone()),
        conformance: (args.pattern == ProbePattern::Conformance).then(|| ConformanceConfig {
            hold: args.hold,
            max_message_size: usize::try_from(args.max_message_size).unwrap_or(usize::MAX),
        }),
        once: args.once,
        messages: args.messages,
        message_gap: args.message_gap,
        interval: args.interval,
        timeout: args.timeout,
        connect_timeout: args.connect_timeout,
        server_stream_count: args.server_stream_count,
        output: args.output,
        call: call(&args.call)?,
    })
}

/// Reads a bearer token: the file's content without surrounding whitespace.
pub fn read_token(path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ConfigError::File {
            path: path.to_owned(),
            message: "the token file is empty".into(),
        });
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::File {
            path: path.to_owned(),
            message: "a token must be printable ASCII without spaces".into(),
        });
    }
    Ok(token.to_owned())
}

/// `--header` pairs (plus the bearer token) as gRPC metadata, and the compression.
pub(super) fn call(args: &cli::CallArgs) -> Result<Call, ConfigError> {
    let mut pairs = args.headers.clone();
    if let Some(path) = &args.auth_token_file {
        pairs.push((
            "authorization".into(),
            format!("Bearer {}", read_token(path)?),
        ));
    }
    let mut headers = MetadataMap::new();
    for (key, value) in &pairs {
        // The flag's parser validated both; a failure here would be a bug there.
        let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) else {
            return Err(ConfigError::Invalid(format!(
                "--header {key}={value} is not valid gRPC metadata"
            )));
        };
        headers.append(key, value);
    }
    Ok(Call {
        headers,
        compression: args.compression,
    })
}

/// `--server` with its TLS flags.
pub(super) fn target(server: &str, tls: &cli::ClientTlsArgs) -> Result<Target, ConfigError> {
    let mut target = parse_target(server)?;
    target.tls = ClientTls {
        ca_cert: tls.ca_cert.clone(),
        client_cert: tls.client_cert.clone(),
        client_key: tls.client_key.clone(),
        server_name: tls.tls_server_name.clone(),
        insecure_skip_verify: tls.insecure_skip_verify,
    };
    let any_tls_flag = tls.ca_cert.is_some()
        || tls.client_cert.is_some()
        || tls.tls_server_name.is_some()
        || tls.insecure_skip_verify;
    if any_tls_flag && !target.is_tls() {
        return Err(ConfigError::Invalid(format!(
            "TLS flags need an https:// server, but --server is `{server}`; write https://{}",
            target.authority()
        )));
    }
    Ok(target)
}

/// `host:port` means plaintext; a scheme chooses explicitly.
pub fn parse_target(server: &str) -> Result<Target, ConfigError> {
    let invalid = |why: &str| {
        ConfigError::Invalid(format!(
            "--server `{server}` {why} (examples: localhost:8080, http://127.0.0.1:8080, https://example.com:443)"
        ))
    };
    let with_scheme = if server.contains("://") {
        server.to_owned()
    } else {
        format!("http://{server}")
    };
    let uri: http::Uri = with_scheme
        .parse()
        .map_err(|_| invalid("is not an address"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(invalid("must use http:// or https://"));
    }
    let authority = uri.authority().ok_or_else(|| invalid("has no host"))?;
    if authority.port_u16().is_none() {
        return Err(invalid("has no port"));
    }
    if !matches!(uri.path(), "" | "/") {
        return Err(invalid("must not have a path"));
    }
    Ok(Target {
        uri,
        tls: ClientTls::default(),
    })
}
