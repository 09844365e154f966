//! The end of a run's sending. Every outgoing message checks it, and
//! `CancellationToken::is_cancelled` takes a mutex: the flag costs one load instead.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

#[derive(Debug, Default)]
pub struct Stop {
    flag: AtomicBool,
    token: CancellationToken,
}

impl Stop {
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Release);
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Completes when `cancel` is called, for waits that must end with the run.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::Stop;

    #[tokio::test]
    async fn cancel_sets_the_flag_and_wakes_the_waiters() {
        let stop = Arc::new(Stop::default());
        assert!(!stop.is_cancelled());
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.cancelled().await }
        });
        tokio::task::yield_now().await;
        stop.cancel();
        assert!(stop.is_cancelled());
        let woken = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert!(matches!(woken, Ok(Ok(()))), "{woken:?}");
    }
}
