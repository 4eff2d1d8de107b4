//! A request to stop at the next batch boundary: what the CLI turns SIGINT
//! and SIGTERM into (a scaled-down pod gets SIGTERM), so that a following
//! ingest ends with its summary instead of dying inside a batch. Dying there
//! loses nothing either (every commit is atomic and a restart resumes at the
//! last one), but the batch in flight is done again and nothing is reported.

use std::sync::Arc;

use tokio::sync::watch;

/// Cloned to whoever must see the request; every clone sees it.
#[derive(Clone, Debug)]
pub struct Stop(Arc<watch::Sender<bool>>);

impl Default for Stop {
    fn default() -> Self {
        Stop(Arc::new(watch::channel(false).0))
    }
}

impl Stop {
    pub fn new() -> Self {
        Stop::default()
    }

    /// Asks every holder to stop once its current batch is committed.
    pub fn request(&self) {
        self.0.send_replace(true);
    }

    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once a stop is requested (at once if it already was).
    pub async fn wait(&self) {
        let mut requests = self.0.subscribe();
        // Only a dropped sender ends the wait with an error, and `self` holds it.
        let _ = requests.wait_for(|&stop| stop).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Stop;

    #[tokio::test]
    async fn a_request_wakes_a_waiting_clone_and_stays_requested() {
        let stop = Stop::new();
        assert!(!stop.requested());
        let waiter = stop.clone();
        let waited = tokio::spawn(async move { waiter.wait().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waited.is_finished(), "no request yet");
        stop.request();
        tokio::time::timeout(Duration::from_secs(5), waited).await.expect("woken").unwrap();
        assert!(stop.requested());
        tokio::time::timeout(Duration::from_secs(5), stop.wait()).await.expect("an earlier request counts");
    }
}
