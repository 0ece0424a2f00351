//! `ProbeTable`: the open-addressing hash table behind the interners and the pair index: one
//! array of (tag, value) slots, probed linearly from the slot the hash picks.
//!
//! Checks probe it twice (the role, the (resource, permission) pair), so it is kept to what a
//! lookup needs: a slot holds 32 bits of the hash (the tag, which also gives the slot's home
//! index, so growing and removing never rehash a key) and a small `Copy` value (an id, a pair of
//! ids); the keys themselves live in the interners' slots, and the caller's `eq` compares the
//! looked-up key with the one a value names. The table is at most half full, so a lookup reads
//! 1.5 slots on average when the key is present and 2.5 when it is absent (linear probing), each
//! a compare of the tag before any compare of keys; a removal shifts the rest of its run back
//! (no tombstones), so lookups never slow down after removals.

/// Set in every tag, so that a used slot's tag is never 0 (the mark of an empty slot). The bits
/// below it pick the home slot: up to 2^31 slots, far beyond the ACL's limits.
const USED: u32 = 1 << 31;

#[derive(Clone, Copy, Debug, Default)]
struct Slot<V> {
    /// 0: empty; otherwise the low 32 bits of the hash with `USED` set.
    tag: u32,
    value: V,
}

/// Values found by a 64-bit hash and an equality test of the caller's.
#[derive(Clone, Debug)]
pub(crate) struct ProbeTable<V> {
    /// Empty, or a power of two long and at most half full.
    slots: Vec<Slot<V>>,
    len: usize,
}

impl<V> Default for ProbeTable<V> {
    fn default() -> Self {
        ProbeTable {
            slots: Vec::new(),
            len: 0,
        }
    }
}

/// The tag stored for `hash` (the low bits give the home slot).
#[inline]
fn tag(hash: u64) -> u32 {
    // the low 32 bits, on purpose: the home index is taken from them
    (hash as u32) | USED
}

impl<V: Copy + Default> ProbeTable<V> {
    /// Number of values.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Number of slots (at least twice the number of values).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The value whose hash is `hash` and for which `eq` holds.
    ///
    /// The common case is one tag match, whose value `eq` accepts: the loop over tags calls
    /// nothing, and `eq` (which may call `memcmp`) runs once, after it; the rare value that
    /// shares the tag but not the key continues the probe out of line.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(&V) -> bool) -> Option<&V> {
        let tag = tag(hash);
        // empty table: the mask is all ones and `get` finds nothing
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = tag as usize & mask;
        let slot = loop {
            // at most half full: an empty slot ends every probe
            let slot = self.slots.get(i)?;
            if slot.tag == tag {
                break slot;
            }
            if slot.tag == 0 {
                return None;
            }
            i = (i + 1) & mask;
        };
        if eq(&slot.value) {
            return Some(&slot.value);
        }
        self.find_after(i, tag, eq)
    }

    /// `find` past slot `i`, whose tag matched but not its key.
    #[cold]
    #[inline(never)]
    fn find_after(&self, mut i: usize, tag: u32, mut eq: impl FnMut(&V) -> bool) -> Option<&V> {
        let mask = self.slots.len().wrapping_sub(1);
        loop {
            i = (i + 1) & mask;
            let slot = self.slots.get(i)?;
            if slot.tag == tag && eq(&slot.value) {
                return Some(&slot.value);
            }
            if slot.tag == 0 {
                return None;
            }
        }
    }

    /// Adds `value` under `hash`; the caller has checked that no equal key is present.
    pub(crate) fn insert_unique(&mut self, hash: u64, value: V) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.place(tag(hash), value);
        self.len += 1;
    }

    /// Writes `value` in the first empty slot of its run (the table has one: at most half full).
    fn place(&mut self, tag: u32, value: V) {
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = tag as usize & mask;
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.tag == 0 {
                *slot = Slot { tag, value };
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the slots (8 at first) and places every value again from its tag.
    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(8);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); n]);
        for slot in old.into_iter().filter(|s| s.tag != 0) {
            self.place(slot.tag, slot.value);
        }
    }

    /// Removes and returns the value under `hash` for which `eq` holds.
    pub(crate) fn remove(&mut self, hash: u64, mut eq: impl FnMut(&V) -> bool) -> Option<V> {
        let tag = tag(hash);
        let mask = self.slots.len().wrapping_sub(1);
        let mut hole = tag as usize & mask;
        loop {
            let slot = self.slots.get(hole)?;
            if slot.tag == tag && eq(&slot.value) {
                break;
            }
            if slot.tag == 0 {
                return None;
            }
            hole = (hole + 1) & mask;
        }
        let removed = self.slots.get(hole)?.value;
        // Backward shift: move later values of the run into the hole when the hole lies on
        // their probe path (between their home and their slot), so no lookup meets a gap.
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some(&slot) = self.slots.get(j) else {
                break;
            };
            if slot.tag == 0 {
                break;
            }
            let home = slot.tag as usize & mask;
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                if let Some(h) = self.slots.get_mut(hole) {
                    *h = slot;
                }
                hole = j;
            }
        }
        if let Some(h) = self.slots.get_mut(hole) {
            *h = Slot::default();
        }
        self.len -= 1;
        Some(removed)
    }

    /// The values, in slot order.
    #[cfg(test)]
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.slots.iter().filter(|s| s.tag != 0).map(|s| &s.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Hashes that collide on purpose: keys equal modulo `buckets` share the low bits (the
    /// home slot, spread over the whole array, its end included), `k` is above.
    fn hash(k: u32, buckets: u32) -> u64 {
        (u64::from(k) << 32) | u64::from((k % buckets).wrapping_mul(0x9E37_79B9))
    }

    fn agrees(t: &ProbeTable<u32>, model: &HashMap<u32, ()>, buckets: u32) {
        assert_eq!(t.len(), model.len());
        assert!(t.capacity() >= 2 * t.len());
        for k in 0..300 {
            let found = t.find(hash(k, buckets), |&v| v == k).copied();
            assert_eq!(found, model.get(&k).map(|_| k), "key {k}");
        }
        let mut values: Vec<u32> = t.values().copied().collect();
        values.sort_unstable();
        let mut keys: Vec<u32> = model.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(values, keys);
    }

    #[test]
    fn an_empty_table_finds_and_removes_nothing() {
        let mut t: ProbeTable<u32> = ProbeTable::default();
        assert!(t.find(7, |_| true).is_none());
        assert!(t.remove(7, |_| true).is_none());
        assert_eq!(t.len(), 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// Whatever the inserts and removals, and however the hashes collide (long runs that
        /// wrap around the end of the array), the table holds exactly what a map holds.
        #[test]
        fn the_table_agrees_with_a_map(
            buckets in 1u32..40,
            ops in proptest::collection::vec((proptest::bool::ANY, 0u32..300), 1..400),
        ) {
            let mut t: ProbeTable<u32> = ProbeTable::default();
            let mut model: HashMap<u32, ()> = HashMap::new();
            for (insert, k) in ops {
                let h = hash(k, buckets);
                if insert {
                    if model.insert(k, ()).is_none() {
                        t.insert_unique(h, k);
                    }
                } else {
                    assert_eq!(t.remove(h, |&v| v == k), model.remove(&k).map(|_| k));
                }
            }
            agrees(&t, &model, buckets);
        }
    }
}
