//! An independent client (Python grpcio, generated from the same proto) against `serve`.

use std::time::Duration;

use crate::{
    python::run_client,
    util::{fast, TestServer},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_client_gets_the_exact_texts() {
    let mut config = fast();
    // The client checks that async replies come after its half-close: keep the delay
    // well above the time it takes to send.
    config.echo.async_delay = Duration::from_millis(30);
    let server = TestServer::start(config).await;
    let addr = server.addr;
    let out = tokio::task::spawn_blocking(move || run_client(addr))
        .await
        .expect("client thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("PASS ")).count(),
        4,
        "{stdout}"
    );
}
