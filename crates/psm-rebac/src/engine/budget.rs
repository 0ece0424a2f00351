//! The work budget of one request — evaluation steps, result size, a deadline, cancellation
//! and the cost of caveat expressions — and [`CancelToken`], which stops every request of an
//! engine at once (a server shutting down).
//!
//! Every evaluator charges the budget as it goes: each store read and each evaluated node is
//! a step (the synchronous in-memory evaluator charges in batches of [`BATCH`] steps), and
//! expand charges every node and subject it builds against the result size *before* building
//! it. The deadline and the cancellation flags are looked at every [`BATCH`] steps, so a loop
//! that never awaits still stops within a few hundred steps. Going past a bound is
//! [`Error::BudgetExceeded`] naming it. Dropping a request's future stops the work at its next
//! await; [`Budget::cancel`] and [`CancelToken::cancel`] stop work that does not await.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::EngineConfig;
use crate::error::{Error, Result};

/// Steps the synchronous evaluator counts locally before it charges the shared budget (and
/// looks at the deadline and the cancellation flags).
pub(crate) const BATCH: u32 = 256;

/// Which bound of a request's [`Budget`] was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Bound {
    /// Evaluation steps (store reads and evaluated nodes): [`EngineConfig::max_steps`].
    Steps,
    /// Nodes and subjects of a result being built: [`EngineConfig::max_results`].
    Results,
    /// The request's deadline, in milliseconds: [`EngineConfig::deadline`].
    Deadline,
    /// The request was cancelled ([`Budget::cancel`] or the engine's [`CancelToken`]).
    Cancelled,
    /// The estimated cost of one caveat evaluation: [`EngineConfig::max_caveat_cost`].
    CaveatCost,
}

impl Bound {
    /// A short name: `steps`, `results`, `deadline`, `cancelled`, `caveat_cost`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Steps => "steps",
            Self::Results => "results",
            Self::Deadline => "deadline",
            Self::Cancelled => "cancelled",
            Self::CaveatCost => "caveat_cost",
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Steps => "evaluation steps",
            Self::Results => "result size",
            Self::Deadline => "deadline (ms)",
            Self::Cancelled => "cancellation",
            Self::CaveatCost => "caveat evaluation cost",
        })
    }
}

/// Cancels every request of the engines that share it (see [`Engine::with_cancel`](super::Engine::with_cancel)).
/// Cheap to clone; clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: running and new requests stop within a few hundred steps with
    /// [`Bound::Cancelled`].
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[derive(Debug)]
struct Shared {
    steps: AtomicU64,
    results: AtomicU64,
    cancelled: AtomicBool,
    /// Set once the deadline was seen to pass: every later step fails.
    expired: AtomicBool,
    engine_cancel: Option<CancelToken>,
    max_steps: u64,
    max_results: u64,
    max_caveat_cost: u64,
    deadline: Option<(Instant, Duration)>,
}

/// The budget of one request: what it used so far and its bounds. Cheap to clone; clones
/// share the counters, so a caller can watch [`steps`](Self::steps) or [`cancel`](Self::cancel)
/// a request running elsewhere. Made by [`Engine::budget`](super::Engine::budget) and given to
/// a request with [`Scope::with_budget`](super::Scope::with_budget); every scope has one.
#[derive(Debug, Clone)]
pub struct Budget(Arc<Shared>);

impl Budget {
    /// A budget with `config`'s bounds; the deadline counts from now.
    pub fn new(config: &EngineConfig) -> Self {
        Self::with_cancel(config, None)
    }

    pub(crate) fn with_cancel(config: &EngineConfig, engine_cancel: Option<CancelToken>) -> Self {
        Self(Arc::new(Shared {
            steps: AtomicU64::new(0),
            results: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            expired: AtomicBool::new(false),
            engine_cancel,
            max_steps: config.max_steps,
            max_results: config.max_results,
            max_caveat_cost: config.max_caveat_cost,
            deadline: config.deadline.map(|d| (Instant::now() + d, d)),
        }))
    }

    /// Steps charged so far.
    pub fn steps(&self) -> u64 {
        self.0.steps.load(Ordering::Relaxed)
    }

    /// Result nodes and subjects charged so far.
    pub fn results(&self) -> u64 {
        self.0.results.load(Ordering::Relaxed)
    }

    /// Cancels this request: it stops within a few hundred steps with [`Bound::Cancelled`].
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Release);
    }

    /// The most a caveat evaluation may cost (see [`EngineConfig::max_caveat_cost`]).
    pub(crate) fn max_caveat_cost(&self) -> u64 {
        self.0.max_caveat_cost
    }

    /// Charges one step (a store read, an evaluated node).
    #[inline]
    pub(crate) fn step(&self) -> Result<()> {
        self.charge(1)
    }

    /// Charges `n` steps: fails once the steps are spent or the request was cancelled, and
    /// every [`BATCH`] steps also looks at the clock.
    pub(crate) fn charge(&self, n: u64) -> Result<()> {
        let s = &*self.0;
        let before = s.steps.fetch_add(n, Ordering::Relaxed);
        let after = before.saturating_add(n);
        if after > s.max_steps {
            return Err(exceeded(Bound::Steps, s.max_steps));
        }
        if n >= u64::from(BATCH) || before / u64::from(BATCH) != after / u64::from(BATCH) {
            self.checkpoint()
        } else {
            self.stopped()
        }
    }

    /// Fails when the request was cancelled or was seen past its deadline (no clock read).
    fn stopped(&self) -> Result<()> {
        let s = &*self.0;
        if s.cancelled.load(Ordering::Relaxed)
            || s.engine_cancel
                .as_ref()
                .is_some_and(CancelToken::is_cancelled)
        {
            return Err(exceeded(Bound::Cancelled, 0));
        }
        if s.expired.load(Ordering::Relaxed) {
            return Err(self.deadline_error());
        }
        Ok(())
    }

    fn deadline_error(&self) -> Error {
        let d = self.0.deadline.map_or(Duration::ZERO, |(_, d)| d);
        exceeded(
            Bound::Deadline,
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        )
    }

    /// Charges `n` result nodes or subjects before they are built; a charge past the bound
    /// is taken back, so [`results`](Self::results) never exceeds it.
    pub(crate) fn add_results(&self, n: u64) -> Result<()> {
        let s = &*self.0;
        let after = s.results.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if after > s.max_results {
            s.results.fetch_sub(n, Ordering::Relaxed);
            return Err(exceeded(Bound::Results, s.max_results));
        }
        Ok(())
    }

    /// Fails when the request was cancelled or its deadline passed (reads the clock).
    pub(crate) fn checkpoint(&self) -> Result<()> {
        self.stopped()?;
        let s = &*self.0;
        if let Some((at, _)) = s.deadline
            && Instant::now() >= at
        {
            s.expired.store(true, Ordering::Relaxed);
            return Err(self.deadline_error());
        }
        Ok(())
    }
}

/// The error for going past `bound`.
pub(crate) fn exceeded(bound: Bound, limit: u64) -> Error {
    Error::BudgetExceeded { bound, limit }
}

/// Counts a synchronous evaluator's steps and charges them to the budget in batches; once a
/// charge failed, every later step fails with the same error.
#[derive(Debug)]
pub(crate) struct Meter<'a> {
    budget: &'a Budget,
    pending: u32,
    failed: Option<Error>,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(budget: &'a Budget) -> Self {
        Self {
            budget,
            pending: 0,
            failed: None,
        }
    }

    /// Counts one step; every [`BATCH`] steps charges them (and looks at the clock).
    #[inline]
    pub(crate) fn step(&mut self) -> Result<()> {
        self.pending += 1;
        if self.pending >= BATCH || self.failed.is_some() {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Charges the steps counted so far.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let n = std::mem::take(&mut self.pending);
        if n == 0 {
            return Ok(());
        }
        let r = self.budget.charge(u64::from(n));
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }
}

impl Drop for Meter<'_> {
    fn drop(&mut self) {
        // Steps of an evaluation that ended (or failed) still count; the error, if any, was
        // or will be reported by the evaluation itself.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(max_steps: u64) -> EngineConfig {
        EngineConfig {
            max_steps,
            max_results: 3,
            ..EngineConfig::default()
        }
    }

    #[test]
    fn steps_past_the_bound_fail_naming_it() {
        let b = Budget::new(&config(10));
        for _ in 0..10 {
            b.step().unwrap();
        }
        assert_eq!(
            b.step(),
            Err(Error::BudgetExceeded {
                bound: Bound::Steps,
                limit: 10
            })
        );
    }

    #[test]
    fn results_are_bounded_before_they_are_built() {
        let b = Budget::new(&config(10));
        b.add_results(3).unwrap();
        assert_eq!(
            b.add_results(1),
            Err(Error::BudgetExceeded {
                bound: Bound::Results,
                limit: 3
            })
        );
        assert_eq!(b.results(), 3);
    }

    #[test]
    fn cancellation_is_seen_within_a_batch() {
        let token = CancelToken::new();
        let b = Budget::with_cancel(&config(1_000_000), Some(token.clone()));
        let mut m = Meter::new(&b);
        for _ in 0..BATCH * 2 {
            m.step().unwrap();
        }
        token.cancel();
        let failed = (0..BATCH).map(|_| m.step()).find(Result::is_err);
        assert_eq!(
            failed,
            Some(Err(Error::BudgetExceeded {
                bound: Bound::Cancelled,
                limit: 0
            }))
        );
        assert_eq!(b.steps(), u64::from(BATCH) * 3);
    }

    #[test]
    fn a_passed_deadline_stops_the_next_batch() {
        let c = EngineConfig {
            deadline: Some(Duration::ZERO),
            ..EngineConfig::default()
        };
        let b = Budget::new(&c);
        assert_eq!(
            b.charge(u64::from(BATCH)),
            Err(Error::BudgetExceeded {
                bound: Bound::Deadline,
                limit: 0
            })
        );
    }
}
