//! The background task that removes expired sessions; it stops on close, on drop, or when the
//! store is gone.

use std::sync::Weak;
use std::time::Duration;

use crate::store::Shared;

/// Handle of the running sweep task.
#[derive(Debug)]
pub(crate) struct Sweeper {
    task: tokio::task::JoinHandle<()>,
}

impl Sweeper {
    /// Starts sweeping every `every` on the current tokio runtime; `None` outside a runtime
    /// (expired sessions stay invisible; `cleanup_expired_sessions` frees them).
    pub(crate) fn start(shared: Weak<Shared>, every: Duration) -> Option<Self> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let task = handle.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate
            loop {
                tick.tick().await;
                let Some(shared) = shared.upgrade() else {
                    break;
                };
                let removed = shared.sweep();
                if removed > 0 {
                    tracing::debug!(removed, "memory store swept expired sessions");
                }
            }
        });
        Some(Sweeper { task })
    }

    pub(crate) fn stop(self) {
        self.task.abort();
    }
}
