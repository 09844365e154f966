//! TLS end to end: a real tonic server with `server_tls` and a client over `TlsConnector`,
//! with certificates made by rcgen at run time (no key is ever checked in).

use std::{
    error::Error,
    path::{Path, PathBuf},
    time::Duration,
};

use grpcstream::{
    config::ServeConfig,
    proto::{
        echo_service_client::EchoServiceClient, serving::echo_service_server::EchoServiceServer,
        EchoRequest,
    },
    serve::echo::Echo,
    tls::{self, ClientTls, TlsConnector, TlsError},
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tonic::transport::{server::TcpIncoming, Endpoint, Server, ServerTlsConfig};

/// Longer than any handshake here takes; a failure must surface well before it.
const NO_HANG: Duration = Duration::from_secs(10);

/// A CA, a server and a client certificate signed by it, and a second, unrelated CA with
/// a client certificate of its own, as PEM files in a temporary directory.
pub struct Pki {
    pub dir: TempDir,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub stranger_cert: PathBuf,
    pub stranger_key: PathBuf,
}

fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("self-sign the CA");
    (cert.pem(), Issuer::new(params, key))
}

fn new_leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'static, KeyPair>,
) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, "grpcstream test");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("sign the leaf");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a PEM file");
    path
}

pub fn pki() -> Pki {
    let dir = TempDir::new().expect("temp dir");
    let d = dir.path();
    let (ca, issuer) = new_ca("grpcstream test CA");
    let (other_ca, other_issuer) = new_ca("unrelated CA");
    let (server_cert, server_key) = new_leaf(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
        &issuer,
    );
    let (client_cert, client_key) =
        new_leaf(&["client"], ExtendedKeyUsagePurpose::ClientAuth, &issuer);
    let (stranger_cert, stranger_key) = new_leaf(
        &["stranger"],
        ExtendedKeyUsagePurpose::ClientAuth,
        &other_issuer,
    );
    Pki {
        ca: write(d, "ca.pem", &ca),
        other_ca: write(d, "other-ca.pem", &other_ca),
        server_cert: write(d, "server.pem", &server_cert),
        server_key: write(d, "server.key", &server_key),
        client_cert: write(d, "client.pem", &client_cert),
        client_key: write(d, "client.key", &client_key),
        stranger_cert: write(d, "stranger.pem", &stranger_cert),
        stranger_key: write(d, "stranger.key", &stranger_key),
        dir,
    }
}

/// The echo service over TLS on 127.0.0.1:0; shuts down when dropped.
struct TlsServer {
    port: u16,
    shutdown: CancellationToken,
}

impl TlsServer {
    async fn start(tls: ServerTlsConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let echo = Echo::new(
            ServeConfig::default().echo,
            1 << 20,
            grpcstream::serve::Stop::default(),
        );
        let router = Server::builder()
            .tls_config(tls)
            .expect("tonic accepts the TLS config")
            .add_service(EchoServiceServer::new(echo));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(
            router.serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
                stop.cancelled().await
            }),
        );
        Self { port, shutdown }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The error and all its sources, as `{:#}` would print them.
fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One EchoClientStream call with the message "x": the reply, or the error from whichever
/// step failed (connect or RPC), with its whole chain.
async fn echo_x(url: &str, settings: &ClientTls) -> Result<String, String> {
    let connector = TlsConnector::new(settings).expect("valid client TLS settings");
    let endpoint = tls::endpoint(&url.parse().expect("a URI")).expect("an endpoint");
    let call = async {
        let channel = endpoint
            .connect_with_connector(connector)
            .await
            .map_err(|e| chain(&e))?;
        let request = tokio_stream::iter(vec![EchoRequest {
            message: "x".to_owned(),
        }]);
        let reply = EchoServiceClient::new(channel)
            .echo_client_stream(request)
            .await
            .map_err(|s| format!("{}: {}", s.code(), chain(&s)))?;
        Ok(reply.into_inner().message)
    };
    tokio::time::timeout(NO_HANG, call)
        .await
        .expect("the TLS call neither succeeded nor failed: it hangs")
}

async fn server(pki: &Pki, client_ca: Option<&Path>) -> TlsServer {
    let tls = tls::server_tls(&pki.server_cert, &pki.server_key, client_ca)
        .expect("server TLS from the generated PEMs");
    TlsServer::start(tls).await
}

fn trusting(ca: &Path) -> ClientTls {
    ClientTls {
        ca_cert: Some(ca.to_owned()),
        ..ClientTls::default()
    }
}

const REPLY: &str = "Received 1 messages: ['x']";

#[tokio::test]
async fn tls_handshake_succeeds_with_the_right_ca() {
    let pki = pki();
    let server = server(&pki, None).await;
    let url = format!("https://localhost:{}", server.port);
    assert_eq!(echo_x(&url, &trusting(&pki.ca)).await.as_deref(), Ok(REPLY));
}

#[tokio::test]
async fn tls_handshake_fails_with_the_wrong_ca() {
    let pki = pki();
    let server = server(&pki, None).await;
    let url = format!("https://localhost:{}", server.port);
    let err = echo_x(&url, &trusting(&pki.other_ca))
        .await
        .expect_err("a server signed by another CA must be refused");
    assert!(
        err.contains("invalid peer certificate") && err.contains("UnknownIssuer"),
        "{err}"
    );
    assert!(
        err.contains("--ca-cert"),
        "the message says what to do: {err}"
    );
}

#[tokio::test]
async fn tls_insecure_skip_verify_accepts_an_unknown_ca() {
    let pki = pki();
    let server = server(&pki, None).await;
    let url = format!("https://localhost:{}", server.port);
    let settings = ClientTls {
        insecure_skip_verify: true,
        ..trusting(&pki.other_ca)
    };
    assert_eq!(echo_x(&url, &settings).await.as_deref(), Ok(REPLY));
}

#[tokio::test]
async fn tls_server_name_overrides_the_uri_host() {
    let pki = pki();
    let server = server(&pki, None).await;
    let url = format!("https://127.0.0.1:{}", server.port);
    let named = |name: &str| ClientTls {
        server_name: Some(name.to_owned()),
        ..trusting(&pki.ca)
    };
    assert_eq!(
        echo_x(&url, &named("localhost")).await.as_deref(),
        Ok(REPLY)
    );
    // The certificate is valid for 127.0.0.1 too, so only a name it lacks proves the
    // override is what gets verified.
    let err = echo_x(&url, &named("elsewhere.example"))
        .await
        .expect_err("a name the certificate lacks must be refused");
    assert!(err.contains("not valid for name"), "{err}");
    assert!(err.contains("--tls-server-name"), "{err}");
}

#[tokio::test]
async fn tls_mutual_refuses_clients_without_a_trusted_certificate() {
    let pki = pki();
    let server = server(&pki, Some(&pki.ca)).await;
    let url = format!("https://localhost:{}", server.port);

    let err = echo_x(&url, &trusting(&pki.ca))
        .await
        .expect_err("a client without a certificate must be refused");
    assert!(err.contains("CertificateRequired"), "{err}");

    let stranger = ClientTls {
        client_cert: Some(pki.stranger_cert.clone()),
        client_key: Some(pki.stranger_key.clone()),
        ..trusting(&pki.ca)
    };
    let err = echo_x(&url, &stranger)
        .await
        .expect_err("a client certificate from another CA must be refused");
    assert!(err.contains("UnknownCA"), "{err}");

    let client = ClientTls {
        client_cert: Some(pki.client_cert.clone()),
        client_key: Some(pki.client_key.clone()),
        ..trusting(&pki.ca)
    };
    assert_eq!(echo_x(&url, &client).await.as_deref(), Ok(REPLY));
}

#[tokio::test]
async fn tls_lazy_channel_reports_the_handshake_error_in_the_status() {
    let pki = pki();
    let server = server(&pki, None).await;
    let url = format!("https://localhost:{}", server.port);
    let connector = TlsConnector::new(&trusting(&pki.other_ca)).expect("connector");
    let channel = tls::endpoint(&url.parse().expect("a URI"))
        .expect("an endpoint")
        .connect_with_connector_lazy(connector);
    let request = tokio_stream::iter(vec![EchoRequest {
        message: "x".to_owned(),
    }]);
    let status = tokio::time::timeout(
        NO_HANG,
        EchoServiceClient::new(channel).echo_client_stream(request),
    )
    .await
    .expect("no hang")
    .expect_err("a server signed by another CA must be refused");
    // tonic builds this status from the connect error's Display alone.
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("UnknownIssuer"), "{status:?}");
}

#[tokio::test]
async fn tls_connect_timeout_covers_the_handshake() {
    // Accepts TCP and then says nothing, as a stuck server or a plaintext port might.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let connector = TlsConnector::new(&ClientTls {
        insecure_skip_verify: true,
        ..ClientTls::default()
    })
    .expect("connector");
    let endpoint = tls::endpoint(&format!("https://localhost:{port}").parse().expect("a URI"))
        .expect("an endpoint")
        .connect_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(NO_HANG, endpoint.connect_with_connector(connector))
        .await
        .expect("the connect timeout must end a stalled handshake")
        .expect_err("no handshake, no channel");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(chain(&err).contains("elapsed"), "{}", chain(&err));
    silent.abort();
}

/// tonic's connector layer rejects an `https://` endpoint whose TLS it does not do itself,
/// which is why `tls::endpoint` dials `http://` with an `https://` origin. If tonic ever
/// stops doing this, `tls::endpoint` may become unnecessary.
#[tokio::test]
async fn tls_plain_https_endpoint_with_a_custom_connector_is_refused_by_tonic() {
    let pki = pki();
    let server = server(&pki, None).await;
    let connector = TlsConnector::new(&trusting(&pki.ca)).expect("connector");
    let endpoint =
        Endpoint::from_shared(format!("https://localhost:{}", server.port)).expect("endpoint");
    let err = tokio::time::timeout(NO_HANG, endpoint.connect_with_connector(connector))
        .await
        .expect("no hang")
        .expect_err("tonic refuses https without its own TLS");
    assert!(chain(&err).contains("HTTPS without TLS"), "{}", chain(&err));
}

fn connector_error(settings: ClientTls) -> TlsError {
    TlsConnector::new(&settings).expect_err("the settings must be refused")
}

#[test]
fn tls_bad_files_are_reported_by_name() {
    let pki = pki();
    let missing = pki.dir.path().join("missing-ca.pem");
    let err = connector_error(trusting(&missing));
    assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("missing-ca.pem"), "{err}");

    let garbage = write(pki.dir.path(), "garbage.pem", "not a certificate\n");
    for no_cert in [&garbage, &pki.server_key] {
        let err = connector_error(trusting(no_cert));
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&no_cert.display().to_string()),
            "{err}"
        );
    }

    // A certificate where the key should be.
    let err = connector_error(ClientTls {
        client_cert: Some(pki.client_cert.clone()),
        client_key: Some(pki.client_cert.clone()),
        ..trusting(&pki.ca)
    });
    assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err:?}");
    assert!(err.to_string().contains("client.pem"), "{err}");
    let err = tls::server_tls(&pki.server_cert, &pki.server_cert, None)
        .expect_err("a certificate is no key");
    assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err:?}");
    assert!(err.to_string().contains("server.pem"), "{err}");

    let err = tls::server_tls(&pki.server_cert, &pki.client_key, None)
        .expect_err("the key of another certificate");
    assert!(matches!(err, TlsError::BadKeyPair { .. }), "{err:?}");
    assert!(err.to_string().contains("client.key"), "{err}");

    let err = tls::server_tls(&pki.server_cert, &pki.server_key, Some(&garbage))
        .expect_err("a client CA file without a certificate");
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");

    let err = connector_error(ClientTls {
        client_cert: Some(pki.client_cert.clone()),
        ..trusting(&pki.ca)
    });
    assert!(matches!(err, TlsError::ClientCertWithoutKey(_)), "{err:?}");
    assert!(err.to_string().contains("--client-key"), "{err}");

    let err = connector_error(ClientTls {
        server_name: Some("not a name!".to_owned()),
        ..trusting(&pki.ca)
    });
    assert!(matches!(err, TlsError::InvalidServerName(_)), "{err:?}");
}
