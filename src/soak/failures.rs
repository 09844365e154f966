//! The first failure of each status code a soak meets, logged with its message: the report
//! counts failures by code alone, and "UNAVAILABLE 407" does not say whether the port was
//! closed or the CA wrong.

use std::sync::atomic::{AtomicBool, Ordering};

use tonic::Status;
use tracing::warn;

use crate::interceptor::code_name;

/// gRPC's status codes run from 0 (OK) to 16 (UNAUTHENTICATED).
const CODES: usize = 17;

#[derive(Debug, Default)]
pub struct FirstFailures {
    logged: [AtomicBool; CODES],
}

impl FirstFailures {
    /// Logs `status` when it is the first failure with its code; says whether it was.
    pub fn note(&self, status: &Status) -> bool {
        let first = usize::try_from(i32::from(status.code()))
            .ok()
            .and_then(|code| self.logged.get(code))
            .is_some_and(|logged| !logged.swap(true, Ordering::Relaxed));
        if first {
            warn!(
                "a call failed: {} {}; later failures with this code are only counted",
                code_name(status.code()),
                status.message()
            );
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use tonic::Status;

    use super::FirstFailures;

    #[test]
    fn each_code_is_logged_once() {
        let failures = FirstFailures::default();
        assert!(failures.note(&Status::unavailable("no server")));
        assert!(!failures.note(&Status::unavailable("no server, again")));
        assert!(failures.note(&Status::cancelled("stopped")));
        assert!(!failures.note(&Status::cancelled("stopped")));
        assert!(failures.note(&Status::unauthenticated("no token")));
    }
}
