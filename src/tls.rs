//! TLS for both sides: the client connector of probe and soak (CA file or system roots,
//! server-name override, mutual TLS, `--insecure-skip-verify`) and the server's
//! `ServerTlsConfig` for `serve --tls-*`, both built from PEM files.
//!
//! The client uses ring explicitly (`builder_with_provider`), so it needs no process-wide
//! crypto provider; tonic's server acceptor does need one, and [`server_tls`] installs ring's.

use std::{
    future::Future,
    io,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use hyper_util::rt::TokioIo;
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{ring, CryptoProvider},
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName, UnixTime},
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::net::TcpStream;
use tonic::transport::{Certificate, Endpoint, Identity, ServerTlsConfig};

use crate::coalesce::{Coalesce, CLIENT_POLLS};

/// Client-side TLS settings (probe and soak): from --ca-cert, --client-cert, --client-key,
/// --tls-server-name, --insecure-skip-verify.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    pub ca_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
}

/// What went wrong setting up or opening a TLS connection. The cause is part of the
/// message (not a `source()`) because tonic turns a connect error into a status from
/// its `Display` alone.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read `{}`: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    #[error("`{}` holds no PEM certificate (expected a `-----BEGIN CERTIFICATE-----` block){}", path.display(), detail(.error))]
    NoCertificate {
        path: PathBuf,
        error: Option<rustls::pki_types::pem::Error>,
    },
    #[error("no private key in `{}` (expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block){}", path.display(), detail(.error))]
    NoPrivateKey {
        path: PathBuf,
        error: Option<rustls::pki_types::pem::Error>,
    },
    #[error("`{}` holds no usable CA certificate: {error}", path.display())]
    BadCa { path: PathBuf, error: rustls::Error },
    #[error("certificate `{}` and key `{}` are not a usable pair: {error}", cert.display(), key.display())]
    BadKeyPair {
        cert: PathBuf,
        key: PathBuf,
        error: rustls::Error,
    },
    #[error("--client-cert `{}` needs its private key too: pass --client-key", .0.display())]
    ClientCertWithoutKey(PathBuf),
    #[error("--client-key `{}` needs its certificate too: pass --client-cert", .0.display())]
    ClientKeyWithoutCert(PathBuf),
    #[error("invalid TLS server name `{0}`: give a DNS name or an IP address")]
    InvalidServerName(String),
    #[error("no trusted root certificates in the system store{detail}: pass --ca-cert with the CA that signed the server's certificate")]
    NoSystemRoots { detail: String },
    #[error("cannot build the TLS configuration: {0}")]
    Config(rustls::Error),
    #[error("`{0}` names no host to connect to")]
    NoHost(String),
    #[error("cannot connect to {addr}: {error}")]
    Connect { addr: String, error: io::Error },
    #[error("TLS handshake with {addr} (as `{server_name}`) failed: {error}{}", hint(.error))]
    Handshake {
        addr: String,
        server_name: String,
        error: io::Error,
    },
}

fn detail(error: &Option<rustls::pki_types::pem::Error>) -> String {
    error
        .as_ref()
        .map_or_else(String::new, |e| format!(": {e}"))
}

/// What the user can do about the common handshake failures.
fn hint(error: &io::Error) -> &'static str {
    let rustls_error = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            " (the server's certificate is not signed by a trusted CA: pass --ca-cert with its CA, or --insecure-skip-verify for a test server)"
        }
        Some(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => " (the certificate is for another name: set --tls-server-name to a name it holds)",
        _ => "",
    }
}

/// ring, explicitly: with it in the config no process-wide provider has to be chosen.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// Installs ring as the process-wide rustls provider unless one is installed already.
/// tonic's server acceptor builds its rustls config from this default; rustls picks ring
/// by itself today (its only provider feature), but would panic there if a dependency
/// ever enabled aws-lc-rs too.
fn install_crypto_provider() {
    // An error only means some provider is installed already, which is just as good.
    let _ = ring::default_provider().install_default();
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.to_owned(),
        error,
    })
}

fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let no_certificate = |error| TlsError::NoCertificate {
        path: path.to_owned(),
        error,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_certificate(Some(e)))?;
    if certs.is_empty() {
        return Err(no_certificate(None));
    }
    Ok(certs)
}

fn private_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::NoPrivateKey {
        path: path.to_owned(),
        error: match e {
            rustls::pki_types::pem::Error::NoItemsFound => None,
            other => Some(other),
        },
    })
}

fn ca_roots(path: &Path, pem: &[u8]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path, pem)? {
        roots.add(cert).map_err(|error| TlsError::BadCa {
            path: path.to_owned(),
            error,
        })?;
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let detail = found
            .errors
            .first()
            .map_or_else(String::new, |e| format!(" ({e})"));
        return Err(TlsError::NoSystemRoots { detail });
    }
    Ok(roots)
}

/// A tower connector (`Service<http::Uri>`) for
/// `Endpoint::connect_with_connector(_lazy)`: dials TCP (TCP_NODELAY on), then performs the
/// TLS handshake with ALPN `h2`. Build the endpoint with [`endpoint`]: tonic refuses an
/// `https://` endpoint whose TLS it does not do itself.
///
/// The server is verified against the CA file, or the system roots when none is given,
/// under `server_name` or else the URI's host. `Endpoint::connect_timeout` bounds TCP
/// connect and handshake together; the endpoint's TCP options (nodelay, keepalive) are not
/// applied to this connector.
#[derive(Clone)]
pub struct TlsConnector {
    inner: tokio_rustls::TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Reads every file now, so a bad flag fails at start-up and not on the first connect.
    pub fn new(settings: &ClientTls) -> Result<Self, TlsError> {
        let server_name = settings
            .server_name
            .as_deref()
            .map(|name| {
                ServerName::try_from(name.to_owned())
                    .map_err(|_| TlsError::InvalidServerName(name.to_owned()))
            })
            .transpose()?;

        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?;
        // --insecure-skip-verify wins: no roots are needed, so a CA file is not even read.
        let builder = if settings.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
        } else {
            let roots = match &settings.ca_cert {
                Some(path) => ca_roots(path, &read(path)?)?,
                None => system_roots()?,
            };
            builder.with_root_certificates(roots)
        };
        let mut config = match (&settings.client_cert, &settings.client_key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), None) => return Err(TlsError::ClientCertWithoutKey(cert.clone())),
            (None, Some(key)) => return Err(TlsError::ClientKeyWithoutCert(key.clone())),
            (Some(cert), Some(key)) => {
                let chain = certificates(cert, &read(cert)?)?;
                let private = private_key(key, &read(key)?)?;
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|error| TlsError::BadKeyPair {
                        cert: cert.clone(),
                        key: key.clone(),
                        error,
                    })?
            }
        };
        config.alpn_protocols = vec![b"h2".to_vec()];

        Ok(Self {
            inner: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

/// An `http://` endpoint for `uri`'s host and port (443 if none) whose requests carry
/// `https://` as their origin. Connect it with [`TlsConnector`]: tonic's own connector
/// layer refuses an `https://` endpoint without tonic's TLS, and would add a second TLS
/// layer with it.
pub fn endpoint(uri: &http::Uri) -> Result<Endpoint, TlsError> {
    let no_host = || TlsError::NoHost(uri.to_string());
    let authority = uri.authority().ok_or_else(no_host)?;
    let port = authority.port_u16().unwrap_or(443);
    let build = |scheme: &str, authority: &str| {
        http::Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query("/")
            .build()
            .map_err(|_| no_host())
    };
    let dial = build("http", &format!("{}:{port}", authority.host()))?;
    let origin = build("https", authority.as_str())?;
    Ok(Endpoint::from(dial).origin(origin))
}

type Connecting = Pin<Box<dyn Future<Output = Result<TlsStream, TlsError>> + Send>>;

/// What [`TlsConnector`] yields: TLS writing a round's frames at once (src/coalesce.rs),
/// adapted by `TokioIo` to the hyper traits tonic requires.
pub type TlsStream = TokioIo<Coalesce<tokio_rustls::client::TlsStream<TcpStream>>>;

impl tower::Service<http::Uri> for TlsConnector {
    type Response = TlsStream;
    type Error = TlsError;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connector = self.inner.clone();
        let fixed_name = self.server_name.clone();
        Box::pin(async move {
            // `Uri::host` keeps an IPv6 address's brackets; sockets and SNI want it bare.
            let host = uri
                .host()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
                .ok_or_else(|| TlsError::NoHost(uri.to_string()))?;
            let port = uri.port_u16().unwrap_or(443);
            let addr = uri
                .authority()
                .map_or_else(|| format!("{host}:{port}"), |a| a.to_string());
            let server_name = match fixed_name {
                Some(name) => name,
                None => ServerName::try_from(host.clone())
                    .map_err(|_| TlsError::InvalidServerName(host.clone()))?,
            };
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|error| TlsError::Connect {
                    addr: addr.clone(),
                    error,
                })?;
            // gRPC sends many small frames; Nagle's algorithm would delay them.
            tcp.set_nodelay(true).map_err(|error| TlsError::Connect {
                addr: addr.clone(),
                error,
            })?;
            let name_text = server_name.to_str().into_owned();
            let tls =
                connector
                    .connect(server_name, tcp)
                    .await
                    .map_err(|error| TlsError::Handshake {
                        addr,
                        server_name: name_text,
                        error,
                    })?;
            // Above TLS, not under it: the handshake flushes and then waits for the
            // server, which a put-off flush would never reach.
            Ok(TokioIo::new(Coalesce::new(tls, CLIENT_POLLS)))
        })
    }
}

/// `--insecure-skip-verify`: any certificate for any name is accepted, but the handshake
/// signatures are still checked, so the peer must hold the key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client that opens TCP and never completes the handshake would otherwise hold its
/// connection open for good.
const SERVER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Server-side TLS (serve --tls-cert, --tls-key, --tls-client-ca): tonic's own
/// `ServerTlsConfig` built from the PEM files, with `client_ca_root` for mutual TLS
/// (clients without a certificate signed by that CA are refused).
///
/// The files are parsed and the pair checked here, so a bad file is reported by name
/// instead of by `Server::tls_config`'s generic error. Installs ring as the process-wide
/// rustls provider if none is, which tonic's acceptor needs.
pub fn server_tls(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<ServerTlsConfig, TlsError> {
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain = certificates(cert, &cert_pem)?;
    let private = private_key(key, &key_pem)?;
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|error| TlsError::BadKeyPair {
            cert: cert.to_owned(),
            key: key.to_owned(),
            error,
        })?;

    let mut config = ServerTlsConfig::new()
        .identity(Identity::from_pem(cert_pem, key_pem))
        .timeout(SERVER_HANDSHAKE_TIMEOUT);
    if let Some(path) = client_ca {
        let pem = read(path)?;
        ca_roots(path, &pem)?;
        config = config.client_ca_root(Certificate::from_pem(pem));
    }
    install_crypto_provider();
    Ok(config)
}
