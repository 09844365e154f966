//! `probe health`: grpc.health.v1.Health/Check the way grpc-health-probe does it; only
//! SERVING passes.

use std::time::{Duration, Instant};

use tonic::metadata::MetadataMap;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

use super::patterns::{Check, Failure};
use crate::client::TimedChannel;

#[derive(Debug, Clone)]
pub struct HealthPlan {
    pub service: String,
    pub timeout: Duration,
    pub pause: Duration,
    pub headers: MetadataMap,
}

pub async fn run(mut client: HealthClient<TimedChannel>, plan: &HealthPlan, server: &str) -> Check {
    let start = Instant::now();
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: plan.service.clone(),
    });
    *request.metadata_mut() = plan.headers.clone();
    request.set_timeout(plan.timeout);
    let answer = tokio::time::timeout(plan.timeout, client.check(request)).await;
    let (result, received) = match answer {
        Err(_) => (Err(Failure::Timeout(plan.timeout)), 0),
        Ok(Err(status)) if status.code() == tonic::Code::Unimplemented => (
            Err(Failure::Mismatch(
                "the server has no grpc.health.v1.Health service".into(),
            )),
            0,
        ),
        Ok(Err(status)) => (Err(Failure::from_status(status, server)), 0),
        Ok(Ok(reply)) => {
            let status = reply.into_inner().status;
            let result = if status == ServingStatus::Serving as i32 {
                Ok(())
            } else {
                let name = ServingStatus::try_from(status)
                    .map_or("an unknown status".to_owned(), |s| {
                        s.as_str_name().to_owned()
                    });
                Err(Failure::Mismatch(format!(
                    "service {:?} is {name}, not SERVING",
                    plan.service
                )))
            };
            (result, 1)
        }
    };
    let elapsed = start.elapsed();
    Check {
        name: "health",
        result,
        sent: 1,
        received,
        first_reply: (received > 0).then_some(elapsed),
        elapsed,
    }
}
