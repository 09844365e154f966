//! The one integration-test binary (it links once, which matters on a 2-core machine).

mod bad_input;
mod cli;
mod conformance;
mod controls;
mod ecosystem;
mod fuzz;
mod interop;
mod lifecycle;
mod limits;
mod probe;
mod python;
mod resilience;
mod serve;
mod soak;
mod tls;
mod util;
mod wire;
