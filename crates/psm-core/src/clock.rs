//! `Clock`: where backends read "now" from — the system clock in production, a [`ManualClock`]
//! that tests advance instead of sleeping.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//! use psm_core::clock::{ManualClock, SharedClock};
//! let manual = Arc::new(ManualClock::starting_now());
//! let clock = SharedClock::new(manual.clone());
//! let before = clock.now();
//! manual.advance(Duration::from_secs(5));
//! assert_eq!(clock.now(), before.saturating_add(Duration::from_secs(5)));
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::time::Timestamp;

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until told to move: tests advance it instead of sleeping.
#[derive(Debug)]
pub struct ManualClock {
    ms: AtomicU64,
}

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        ManualClock {
            ms: AtomicU64::new(at.as_millis()),
        }
    }

    /// A clock showing the system time of this call (so timestamps look real).
    pub fn starting_now() -> Self {
        Self::new(Timestamp::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // fetch_update with a closure that always returns Some never fails
        let _previous = self
            .ms
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(ms))
            });
    }

    /// Sets the clock to `at` (which may be earlier).
    pub fn set(&self, at: Timestamp) {
        self.ms.store(at.as_millis(), Ordering::Release);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.ms.load(Ordering::Acquire))
    }
}

/// The clock a backend holds: the system clock (the default, read by a direct call) or any
/// [`Clock`] shared with whoever moves it. Cheap to clone; equal when it is the same clock.
#[derive(Clone, Default)]
pub struct SharedClock(Option<Arc<dyn Clock>>);

impl SharedClock {
    /// The system clock.
    pub const fn system() -> Self {
        SharedClock(None)
    }

    /// Any clock, shared.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        SharedClock(Some(clock))
    }

    /// The current time: one read of the clock.
    #[inline]
    pub fn now(&self) -> Timestamp {
        match &self.0 {
            None => Timestamp::now(),
            Some(clock) => clock.now(),
        }
    }

    /// The current time as a `SystemTime`: one read of the clock, without the conversion to
    /// milliseconds since the epoch (about 90 instructions of `std` that a caller comparing
    /// instants need not pay). Another clock's reading is converted.
    #[inline]
    pub fn now_system_time(&self) -> SystemTime {
        match &self.0 {
            None => SystemTime::now(),
            Some(clock) => clock.now().to_system_time(),
        }
    }

    /// True for the system clock.
    pub fn is_system(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("SystemClock"),
            Some(clock) => clock.fmt(f),
        }
    }
}

impl PartialEq for SharedClock {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for SharedClock {}

impl<C: Clock> From<Arc<C>> for SharedClock {
    fn from(clock: Arc<C>) -> Self {
        SharedClock(Some(clock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let manual = Arc::new(ManualClock::new(Timestamp::from_millis(1_000)));
        let clock = SharedClock::from(manual.clone());
        assert_eq!(clock.now(), Timestamp::from_millis(1_000));
        manual.advance(Duration::from_millis(250));
        assert_eq!(clock.now(), Timestamp::from_millis(1_250));
        manual.set(Timestamp::from_millis(10));
        assert_eq!(clock.now(), Timestamp::from_millis(10));
    }

    #[test]
    fn clocks_are_equal_only_when_shared() {
        let a = SharedClock::from(Arc::new(ManualClock::starting_now()));
        assert_eq!(a, a.clone());
        assert_ne!(a, SharedClock::from(Arc::new(ManualClock::starting_now())));
        assert_eq!(SharedClock::system(), SharedClock::default());
        assert_ne!(a, SharedClock::system());
    }
}
