//! `Tally`: the answers a timed loop got, counted inside the loop and asserted after it, so a
//! bench can never report the speed of wrong answers (or of errors).

/// Calls, hits and right answers of one timed loop (or of one task of it; see [`Tally::merge`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    calls: u64,
    hits: u64,
    right: u64,
}

/// The fewest calls of a loop whose hit/miss mix [`Tally::assert_right`] checks.
pub const MIX_MIN_CALLS: u64 = 64;

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
    /// both answers occurred, so the keys really varied over hits and misses. The mix is only
    /// asked of loops of at least [`MIX_MIN_CALLS`] calls: `cargo bench -- --test` runs each
    /// loop once, and one call cannot be both a hit and a miss.
    pub fn assert_right(&self, what: &str, expect_both: bool) {
        assert!(self.calls > 0, "{what}: the timed loop recorded no answer");
        assert_eq!(
            self.right,
            self.calls,
            "{what}: {} of {} answers were wrong",
            self.calls - self.right,
            self.calls
        );
        if expect_both && self.calls >= MIX_MIN_CALLS {
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

    #[test]
    fn a_long_loop_of_hits_only_fails_the_mix_and_a_single_call_does_not() {
        let mut hits_only = Tally::new();
        for _ in 0..MIX_MIN_CALLS {
            hits_only.record(true, true);
        }
        let unmixed = std::panic::catch_unwind(|| hits_only.assert_right("hits only", true));
        assert!(
            unmixed.is_err(),
            "a long loop with no miss must fail the mix check"
        );
        hits_only.assert_right("hits only, mix not asked", false);
        let mut once = Tally::new();
        once.record(true, true);
        once.assert_right("one call (cargo bench -- --test)", true);
    }
}
