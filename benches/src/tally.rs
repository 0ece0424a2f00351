//! `Tally`: the answers a timed loop got, counted inside the loop and asserted after it, so a
//! bench can never report the speed of wrong answers (or of errors).

/// Calls, hits and right answers of one timed loop (or of one task of it; see [`Tally::merge`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    calls: u64,
    hits: u64,
    right: u64,
}

impl Tally {
    /// An empty tally.
    pub const fn new() -> Self {
        Tally {
            calls: 0,
            hits: 0,
            right: 0,
        }
    }

    /// Records one answer `got` whose correct value is `expected`; returns `got` (so a loop body
    /// can end with `tally.record(..)` and hand the answer to `black_box`).
    #[inline]
    pub fn record(&mut self, got: bool, expected: bool) -> bool {
        self.calls += 1;
        self.hits += u64::from(got);
        self.right += u64::from(got == expected);
        got
    }

    /// Adds another task's tally to this one.
    pub fn merge(&mut self, other: Tally) {
        self.calls += other.calls;
        self.hits += other.hits;
        self.right += other.right;
    }

    /// Number of answers recorded.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// Number of `true` answers recorded.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Panics unless the loop ran, every answer was the expected one and (when `expect_both`)
    /// both answers occurred, so the keys really varied over hits and misses.
    pub fn assert_right(&self, what: &str, expect_both: bool) {
        assert!(self.calls > 0, "{what}: the timed loop recorded no answer");
        assert_eq!(
            self.right,
            self.calls,
            "{what}: {} of {} answers were wrong",
            self.calls - self.right,
            self.calls
        );
        if expect_both {
            assert!(
                self.hits > 0 && self.hits < self.calls,
                "{what}: {} hits in {} calls, expected both hits and misses",
                self.hits,
                self.calls
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_hits_and_wrong_answers() {
        let mut t = Tally::new();
        assert!(t.record(true, true));
        assert!(!t.record(false, false));
        t.assert_right("ok", true);
        let mut other = Tally::new();
        other.record(true, false);
        t.merge(other);
        assert_eq!((t.calls(), t.hits()), (3, 2));
        let wrong = std::panic::catch_unwind(|| t.assert_right("bad", false));
        assert!(wrong.is_err(), "a wrong answer must fail the assertion");
        let empty = std::panic::catch_unwind(|| Tally::new().assert_right("empty", false));
        assert!(empty.is_err(), "a loop that recorded nothing must fail");
    }
}
