//! `Interner`: maps values (roles, resources, permissions) to dense `u32` ids, reusing freed ids.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

use crate::probe::ProbeTable;

pub(crate) type FastState = foldhash::fast::RandomState;
pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;
pub(crate) type FastSet<T> = HashSet<T, FastState>;

/// Values with dense ids. Ids of removed values are reused by later insertions, so every
/// per-id table stays as long as the largest number of values alive at once.
///
/// The values live once, in `slots`; `ids` finds a value's id by its hash and compares the
/// looked-up value with the one in the slot the id names.
#[derive(Clone, Debug)]
pub(crate) struct Interner<T> {
    ids: ProbeTable<u32>,
    state: FastState,
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            ids: ProbeTable::default(),
            state: FastState::default(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Interner<T> {
    /// Number of live values.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// One past the largest id ever handed out (the length per-id tables need).
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }
}

impl<T: Hash + Eq + Clone> Interner<T> {
    /// The id of `value`, if present.
    #[inline]
    pub(crate) fn id<Q>(&self, value: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slots = &self.slots;
        self.ids
            .find(self.state.hash_one(value), |&id| {
                slots
                    .get(id as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|v| v.borrow() == value)
            })
            .copied()
    }

    /// The id of `value`, adding it when missing; the flag says whether it was added.
    /// `None` only when `u32` ids are exhausted.
    pub(crate) fn intern(&mut self, value: T) -> Option<(u32, bool)> {
        if let Some(id) = self.id(&value) {
            return Some((id, false));
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => u32::try_from(self.slots.len()).ok()?,
        };
        let hash = self.state.hash_one(&value);
        let slot = id as usize;
        if slot == self.slots.len() {
            self.slots.push(Some(value));
        } else if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(value);
        }
        self.ids.insert_unique(hash, id);
        Some((id, true))
    }

    /// Removes `value`, returning its former id.
    pub(crate) fn remove<Q>(&mut self, value: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slots = &self.slots;
        let id = self.ids.remove(self.state.hash_one(value), |&id| {
            slots
                .get(id as usize)
                .and_then(Option::as_ref)
                .is_some_and(|v| v.borrow() == value)
        })?;
        if let Some(s) = self.slots.get_mut(id as usize) {
            *s = None;
        }
        self.free.push(id);
        Some(id)
    }

    /// Removes the value with id `id`.
    pub(crate) fn remove_id(&mut self, id: u32) -> Option<T> {
        let value = self.slots.get_mut(id as usize)?.take()?;
        self.ids.remove(self.state.hash_one(&value), |&i| i == id);
        self.free.push(id);
        Some(value)
    }

    /// The value with id `id`.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&T> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    /// Live values with their ids, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some((u32::try_from(i).ok()?, v.as_ref()?)))
    }

    pub(crate) fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.id(value).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_reused_after_removal() {
        let mut i = Interner::default();
        assert_eq!(i.intern("a"), Some((0, true)));
        assert_eq!(i.intern("b"), Some((1, true)));
        assert_eq!(i.intern("a"), Some((0, false)));
        assert_eq!(i.remove("a"), Some(0));
        assert_eq!(i.get(0), None);
        assert_eq!(i.intern("c"), Some((0, true)));
        assert_eq!(i.get(0), Some(&"c"));
        assert_eq!(i.len(), 2);
        assert_eq!(i.capacity(), 2);
        assert_eq!(i.iter().collect::<Vec<_>>(), vec![(0, &"c"), (1, &"b")]);
    }

    #[test]
    fn an_interner_stays_at_most_half_full() {
        let mut i = Interner::default();
        for k in 0..1000 {
            i.intern(k).unwrap();
            assert!(
                i.ids.capacity() >= 2 * i.len(),
                "{} of {}",
                i.len(),
                i.ids.capacity()
            );
        }
        assert_eq!(i.id(&999), Some(999));
    }
}
