//! A stop order that hot paths check for every message: a flag read with one atomic load, where
//! `CancellationToken::is_cancelled` takes a mutex and polling its future two lock round trips.
//! serve gives it when the shutdown grace period is over (every reply stream checks it); soak
//! when the run ends (every outgoing message checks it). Waits use the token.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use tokio_util::sync::{
    CancellationToken, WaitForCancellationFuture, WaitForCancellationFutureOwned,
};

#[derive(Debug, Clone, Default)]
pub struct Stop {
    given: Arc<AtomicBool>,
    token: CancellationToken,
}

impl Stop {
    pub fn give(&self) {
        // The flag first: the token's wake-ups must find it set.
        self.given.store(true, Ordering::Release);
        self.token.cancel();
    }

    pub fn is_given(&self) -> bool {
        self.given.load(Ordering::Acquire)
    }

    /// Completes when the order is given.
    pub fn given(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// [`Stop::given`] for a future that outlives this borrow.
    pub fn given_owned(&self) -> WaitForCancellationFutureOwned {
        self.token.clone().cancelled_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Stop;

    #[tokio::test]
    async fn giving_sets_the_flag_for_every_clone_and_wakes_the_waiters() {
        let stop = Stop::default();
        let copy = stop.clone();
        assert!(!copy.is_given());
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.given().await }
        });
        let owned = copy.given_owned();
        tokio::task::yield_now().await;
        stop.give();
        assert!(copy.is_given());
        let woken = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert!(matches!(woken, Ok(Ok(()))), "{woken:?}");
        assert!(tokio::time::timeout(Duration::from_secs(5), owned)
            .await
            .is_ok());
    }
}
