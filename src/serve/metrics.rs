//! `--metrics-listen`: Prometheus metrics of the server's RPCs, named like go-grpc-prometheus
//! (`grpc_server_handled_total{grpc_service, grpc_method, grpc_code}` and friends) so
//! existing dashboards work, served over plain HTTP at `/metrics`.

use std::{convert::Infallible, sync::Arc};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::interceptor::{Finished, Observer};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Method {
    grpc_service: String,
    grpc_method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Handled {
    grpc_service: String,
    grpc_method: String,
    grpc_code: String,
}

fn method(path: &str) -> Method {
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("unknown", path));
    Method {
        grpc_service: service.to_owned(),
        grpc_method: method.to_owned(),
    }
}

fn duration_histogram() -> Histogram {
    // 100 µs to ~100 s: streaming RPCs run from a ping to minutes.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0001, 4.0, 11,
    ))
}

pub struct Metrics {
    registry: Registry,
    started: Family<Method, Counter>,
    handled: Family<Handled, Counter>,
    in_flight: Family<Method, Gauge>,
    received: Family<Method, Counter>,
    sent: Family<Method, Counter>,
    seconds: Family<Method, Histogram, fn() -> Histogram>,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut metrics = Self {
            registry: Registry::default(),
            started: Family::default(),
            handled: Family::default(),
            in_flight: Family::default(),
            received: Family::default(),
            sent: Family::default(),
            seconds: Family::new_with_constructor(duration_histogram),
        };
        let r = &mut metrics.registry;
        r.register(
            "grpc_server_started",
            "RPCs started on the server",
            metrics.started.clone(),
        );
        r.register(
            "grpc_server_handled",
            "RPCs completed on the server, by status code",
            metrics.handled.clone(),
        );
        r.register(
            "grpc_server_streams_in_flight",
            "RPCs running now",
            metrics.in_flight.clone(),
        );
        r.register(
            "grpc_server_msg_received",
            "Messages received from clients",
            metrics.received.clone(),
        );
        r.register(
            "grpc_server_msg_sent",
            "Messages sent to clients",
            metrics.sent.clone(),
        );
        r.register(
            "grpc_server_handling_seconds",
            "RPC duration, to the end of the stream",
            metrics.seconds.clone(),
        );
        Arc::new(metrics)
    }

    /// The Prometheus (OpenMetrics) text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

impl Observer for Metrics {
    fn started(&self, path: &str) {
        let method = method(path);
        self.started.get_or_create(&method).inc();
        self.in_flight.get_or_create(&method).inc();
    }

    fn finished(&self, rpc: &Finished<'_>) {
        let method = method(rpc.method);
        self.in_flight.get_or_create(&method).dec();
        self.received.get_or_create(&method).inc_by(rpc.received);
        self.sent.get_or_create(&method).inc_by(rpc.sent);
        self.seconds
            .get_or_create(&method)
            .observe(rpc.duration.as_secs_f64());
        let handled = Handled {
            grpc_service: method.grpc_service,
            grpc_method: method.grpc_method,
            grpc_code: rpc.status.to_owned(),
        };
        self.handled.get_or_create(&handled).inc();
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, shutdown: CancellationToken) {
    if let Ok(addr) = listener.local_addr() {
        info!("metrics on http://{addr}/metrics");
    }
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    debug!("metrics: accept failed: {err}");
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(respond(request.uri().path(), &metrics)) }
            });
            if let Err(err) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!("metrics: connection failed: {err}");
            }
        });
    }
}

fn respond(path: &str, metrics: &Metrics) -> http::Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/metrics" => (
            http::StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        _ => (
            http::StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: metrics are at /metrics\n".to_owned(),
        ),
    };
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}
