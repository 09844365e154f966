//! The client side every subcommand shares: a lazily connecting channel to the target,
//! wrapped in the timing layer so each RPC gets its log line.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tower::ServiceBuilder;

use crate::{
    config::Target,
    interceptor::{Timing, TimingLayer},
    proto::echo_service_client::EchoServiceClient,
};

pub type EchoClient = EchoServiceClient<Timing<Channel>>;

/// A client that connects on first use and reconnects after failures by itself, so a
/// server that comes back is picked up without a restart.
pub fn connect_lazy(target: &Target, connect_timeout: Duration) -> anyhow::Result<EchoClient> {
    if target.is_tls() {
        anyhow::bail!(
            "cannot probe {}: https:// targets are not supported yet; use http://",
            target.authority()
        );
    }
    let channel = Endpoint::from(target.uri.clone())
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .connect_lazy();
    let timed = ServiceBuilder::new()
        .layer(TimingLayer::client(target.authority()))
        .service(channel);
    // Replies can be as large as the server's limit (50 MiB by default), not tonic's 4 MiB.
    Ok(EchoServiceClient::new(timed).max_decoding_message_size(usize::MAX))
}
