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
    /// Most evaluation steps of one relationship request (default 10,000,000); more gets 422
    /// `budget_exceeded`. The request timeout is the evaluation's deadline as well.
    pub max_steps: u64,
    /// Most nodes and subjects one expand may build (default 100,000); more gets 422
    /// `budget_exceeded`, before the tree is built.
    pub max_results: u64,
    /// Most estimated cost of one caveat evaluation (default 1,000,000); more gets 422
    /// `budget_exceeded` before it runs.
    pub max_caveat_cost: u64,
}

impl Default for Config {
    fn default() -> Self {
        let engine = psm_rebac::EngineConfig::default();
        Self {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(10),
            max_batch: 1000,
            max_steps: engine.max_steps,
            max_results: engine.max_results,
            max_caveat_cost: engine.max_caveat_cost,
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

    /// Sets the most evaluation steps of one relationship request (at least 1).
    pub fn max_steps(mut self, max: u64) -> Self {
        self.max_steps = max.max(1);
        self
    }

    /// Sets the most nodes and subjects one expand may build (at least 1).
    pub fn max_results(mut self, max: u64) -> Self {
        self.max_results = max.max(1);
        self
    }

    /// Sets the most estimated cost of one caveat evaluation.
    pub fn max_caveat_cost(mut self, max: u64) -> Self {
        self.max_caveat_cost = max;
        self
    }

    /// The engine settings of relationship requests: the default depth limit with these
    /// bounds, and the request timeout as the deadline.
    pub fn engine_config(&self) -> psm_rebac::EngineConfig {
        psm_rebac::EngineConfig {
            max_steps: self.max_steps,
            max_results: self.max_results,
            max_caveat_cost: self.max_caveat_cost,
            deadline: Some(self.request_timeout),
            ..psm_rebac::EngineConfig::default()
        }
    }

    /// The longest long-poll wait of the changes route: at most
    /// `MAX_WAIT_MS` of the watch routes, and nine tenths of the request deadline so a
    /// poll that found nothing still answers before it.
    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(crate::watch_routes::MAX_WAIT_MS)
            .min(self.request_timeout.mul_f64(0.9))
    }
}
