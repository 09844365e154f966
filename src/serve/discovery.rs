//! The standard services gRPC tooling expects beside ours: `grpc.health.v1.Health`
//! (grpc-health-probe, Kubernetes) and server reflection v1 and v1alpha (grpcurl).

use tonic::transport::server::Router;
use tonic_health::{pb::health_server::HealthServer, server::HealthReporter, ServingStatus};
use tonic_reflection::server::Builder;

use super::echo::Echo;
use crate::proto::{serving::echo_service_server::EchoServiceServer, FILE_DESCRIPTOR_SET};

/// Sets the health of the server (`""`) and of `api.stream.v1.EchoService`.
#[derive(Clone)]
pub struct Health(HealthReporter);

impl Health {
    /// A health service reporting SERVING for both names.
    pub async fn serving() -> (
        Self,
        HealthServer<impl tonic_health::pb::health_server::Health>,
    ) {
        let (reporter, service) = tonic_health::server::health_reporter();
        reporter.set_serving::<EchoServiceServer<Echo>>().await;
        (Self(reporter), service)
    }

    /// From the start of a graceful shutdown: load balancers stop sending new work.
    pub async fn not_serving(&self) {
        self.0.set_not_serving::<EchoServiceServer<Echo>>().await;
        self.0
            .set_service_status("", ServingStatus::NotServing)
            .await;
    }
}

fn reflection() -> Builder<'static> {
    Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Adds both reflection versions: grpcurl asks for v1, older tools for v1alpha.
pub fn with_reflection<L>(router: Router<L>) -> anyhow::Result<Router<L>> {
    Ok(router
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?))
}
