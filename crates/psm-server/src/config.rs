//! [`Config`]: the server's limits and timeouts, with the defaults `psm serve` uses.

use std::time::Duration;

/// Limits and timeouts of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest request body accepted, in bytes (default 1 MiB); larger gets 413.
    pub max_body_bytes: usize,
    /// Deadline of one request (default 10 s); a slower request gets 503 `timeout`.
    pub request_timeout: Duration,
    /// Most items in one bulk check, write, delete or read (default 1000); more gets 413.
    pub max_batch: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(10),
            max_batch: 1000,
        }
    }
}

impl Config {
    /// Sets the largest request body.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets the deadline of one request.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the most items in one batch (at least 1).
    pub fn max_batch(mut self, max: usize) -> Self {
        self.max_batch = max.max(1);
        self
    }

    /// The longest long-poll wait of the changes route: at most
    /// `MAX_WAIT_MS` of the watch routes, and nine tenths of the request deadline so a
    /// poll that found nothing still answers before it.
    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(crate::watch_routes::MAX_WAIT_MS)
            .min(self.request_timeout.mul_f64(0.9))
    }
}
