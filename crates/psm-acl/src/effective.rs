//! `Effective`: what one role holds, inheritance folded in — per resource a bitset of
//! permission indexes, the compiled pattern grants, and (for roles holding something on a good
//! share of all resources) a dense array indexed by resource id, so that a check of one of a
//! resource's first 64 permissions is an array load and a bit test instead of a hash probe.

use psm_core::PermissionSet;

use crate::bits::Bits;
use crate::interner::FastMap;

/// Fewest resources a role must hold something on before it gets a dense array.
const DENSE_MIN: usize = 64;
/// The dense array is built when at least 1 in `DENSE_ON` of its slots would be used ...
const DENSE_ON: usize = 4;
/// ... and dropped when fewer than 1 in `DENSE_OFF` are (hysteresis: no rebuild churn).
const DENSE_OFF: usize = 8;

/// What one role holds, inheritance included.
///
/// Invariant: when `dense` is not empty, it is longer than every resource id in `bits`, and
/// `dense[res]` is the first word (permissions 0..64) of `bits[res]`, 0 when absent. Its memory
/// is at most 8 × `DENSE_OFF` bytes per entry of `bits`, the order of the map's own.
#[derive(Clone, Debug, Default)]
pub(crate) struct Effective {
    bits: FastMap<u32, Bits>,
    /// Pattern grants per resource, compiled; only resources where the role holds a pattern.
    pub(crate) patterns: FastMap<u32, PermissionSet>,
    dense: Vec<u64>,
    /// An upper bound of the resource ids in `bits`.
    max_res: u32,
}

impl Effective {
    pub(crate) fn new(bits: FastMap<u32, Bits>, patterns: FastMap<u32, PermissionSet>) -> Self {
        let max_res = bits.keys().copied().max().unwrap_or(0);
        let mut eff = Effective {
            bits,
            patterns,
            dense: Vec::new(),
            max_res,
        };
        eff.rebalance();
        eff
    }

    /// The grants per resource.
    #[inline]
    pub(crate) fn map(&self) -> &FastMap<u32, Bits> {
        &self.bits
    }

    /// The grants on `res`.
    #[inline]
    pub(crate) fn get(&self, res: u32) -> Option<&Bits> {
        self.bits.get(&res)
    }

    /// Is permission index `i` held on `res`?
    #[inline]
    pub(crate) fn holds(&self, res: u32, i: u32) -> bool {
        if i < 64 && !self.dense.is_empty() {
            return self
                .dense
                .get(res as usize)
                .is_some_and(|w| (w >> i) & 1 == 1);
        }
        self.bits.get(&res).is_some_and(|b| b.contains(i))
    }

    /// Adds permission index `i` on `res`.
    pub(crate) fn insert(&mut self, res: u32, i: u32) {
        let bits = self.bits.entry(res).or_default();
        bits.insert(i);
        let first = bits.first_word();
        self.track(res, first);
    }

    /// Sets the grants on `res` (an empty set removes the entry).
    pub(crate) fn set(&mut self, res: u32, bits: Bits) {
        if bits.is_empty() {
            self.remove(res);
            return;
        }
        let first = bits.first_word();
        self.bits.insert(res, bits);
        self.track(res, first);
    }

    /// Drops everything held on `res`.
    pub(crate) fn remove(&mut self, res: u32) {
        self.bits.remove(&res);
        if let Some(w) = self.dense.get_mut(res as usize) {
            *w = 0;
        } else if res == self.max_res {
            // keep the bound tight, or a role that shrank back could never turn dense again
            self.max_res = self.bits.keys().copied().max().unwrap_or(0);
        }
        self.rebalance();
    }

    /// Mirrors a new first word of `res` in the dense array (growing or dropping it).
    fn track(&mut self, res: u32, first: u64) {
        self.max_res = self.max_res.max(res);
        if self.dense.is_empty() {
            self.rebalance();
            return;
        }
        let slot = res as usize;
        if slot >= self.dense.len() {
            if self.bits.len().saturating_mul(DENSE_OFF) < slot + 1 {
                self.dense = Vec::new();
                return;
            }
            self.dense.resize(slot + 1, 0);
        }
        if let Some(w) = self.dense.get_mut(slot) {
            *w = first;
        }
    }

    /// Builds or drops the dense array after the number of entries changed.
    fn rebalance(&mut self) {
        let n = self.bits.len();
        if self.dense.is_empty() {
            let len = self.max_res as usize + 1;
            if n >= DENSE_MIN && n.saturating_mul(DENSE_ON) >= len {
                let mut dense = vec![0u64; len];
                for (&res, b) in &self.bits {
                    if let Some(w) = dense.get_mut(res as usize) {
                        *w = b.first_word();
                    }
                }
                self.dense = dense;
            }
        } else if n < DENSE_MIN || n.saturating_mul(DENSE_OFF) < self.dense.len() {
            self.dense = Vec::new();
            self.max_res = self.bits.keys().copied().max().unwrap_or(0);
        }
    }

    /// True when the dense array is in use (for tests).
    #[cfg(test)]
    pub(crate) fn is_dense(&self) -> bool {
        !self.dense.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agrees(eff: &Effective) {
        for res in 0..(eff.max_res + 70) {
            for i in [0, 1, 5, 63, 64, 100] {
                assert_eq!(
                    eff.holds(res, i),
                    eff.get(res).is_some_and(|b| b.contains(i)),
                    "res {res} perm {i}"
                );
            }
        }
    }

    #[test]
    fn dense_array_appears_when_dense_mirrors_the_map_and_goes_when_sparse() {
        let mut eff = Effective::default();
        for res in 0..63 {
            eff.insert(res, res % 7);
        }
        assert!(!eff.is_dense(), "too few entries");
        eff.insert(63, 2);
        assert!(eff.is_dense());
        eff.insert(10, 64); // beyond the first word: answered by the map
        eff.set(11, Bits::default());
        eff.insert(200, 1); // grows: 64 entries over 201 slots is still dense
        assert!(eff.is_dense());
        agrees(&eff);
        eff.insert(5_000, 3); // too far: back to the map alone
        assert!(!eff.is_dense());
        agrees(&eff);
        let mut eff2 = Effective::new(eff.map().clone(), FastMap::default());
        assert!(!eff2.is_dense());
        eff2.remove(5_000);
        assert!(
            eff2.is_dense(),
            "the bound is recomputed when the array is dropped"
        );
        agrees(&eff2);
        for res in 0..60 {
            eff2.remove(res);
        }
        assert!(!eff2.is_dense());
        agrees(&eff2);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32, u32),
        Set(u32, u64),
        Remove(u32),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            6 => (0u32..300, 0u32..70).prop_map(|(r, i)| Op::Insert(r, i)),
            1 => (0u32..300, any::<u64>()).prop_map(|(r, w)| Op::Set(r, w)),
            2 => (0u32..300).prop_map(Op::Remove),
            1 => (0u32..5_000).prop_map(Op::Remove),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever the sequence, `holds` answers exactly what the map holds.
        #[test]
        fn holds_agrees_with_the_map(ops in proptest::collection::vec(op(), 1..600)) {
            let mut eff = Effective::default();
            for op in ops {
                match op {
                    Op::Insert(r, i) => eff.insert(r, i),
                    Op::Set(r, w) => eff.set(r, Bits::Small(w)),
                    Op::Remove(r) => eff.remove(r),
                }
            }
            agrees(&eff);
        }
    }
}
