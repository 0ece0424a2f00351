//! `Bits`: the set of permission indexes one role holds on one resource (inline up to 64).

/// A small bitset over a resource's local permission indexes. Up to 64 permissions per resource
/// it is one inline word; beyond, a boxed slice of words (trailing zero words are trimmed, so
/// equal sets are equal values).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Bits {
    Small(u64),
    Large(Box<[u64]>),
}

impl Default for Bits {
    fn default() -> Self {
        Bits::Small(0)
    }
}

impl Bits {
    fn words(&self) -> &[u64] {
        match self {
            Bits::Small(w) => std::slice::from_ref(w),
            Bits::Large(ws) => ws,
        }
    }

    fn from_words(mut words: Vec<u64>) -> Self {
        while words.len() > 1 && words.last() == Some(&0) {
            words.pop();
        }
        match words.as_slice() {
            [] => Bits::Small(0),
            [w] => Bits::Small(*w),
            _ => Bits::Large(words.into_boxed_slice()),
        }
    }

    /// A set holding only `index`.
    #[cfg(test)]
    pub(crate) fn single(index: u32) -> Self {
        let mut b = Bits::default();
        b.insert(index);
        b
    }

    /// The first word: permissions 0..64.
    #[inline]
    pub(crate) fn first_word(&self) -> u64 {
        match self {
            Bits::Small(w) => *w,
            Bits::Large(ws) => ws.first().copied().unwrap_or(0),
        }
    }

    #[inline]
    pub(crate) fn contains(&self, index: u32) -> bool {
        let (word, bit) = ((index / 64) as usize, index % 64);
        match self {
            Bits::Small(w) => word == 0 && (w >> bit) & 1 == 1,
            Bits::Large(ws) => ws.get(word).is_some_and(|w| (w >> bit) & 1 == 1),
        }
    }

    /// Adds `index`; true when it was not there.
    pub(crate) fn insert(&mut self, index: u32) -> bool {
        let (word, bit) = ((index / 64) as usize, index % 64);
        if let Bits::Small(w) = self
            && word == 0
        {
            let had = (*w >> bit) & 1 == 1;
            *w |= 1 << bit;
            return !had;
        }
        let mut words = self.words().to_vec();
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        let had = (words[word] >> bit) & 1 == 1;
        words[word] |= 1 << bit;
        *self = Bits::from_words(words);
        !had
    }

    /// Removes `index`; true when it was there.
    pub(crate) fn remove(&mut self, index: u32) -> bool {
        if !self.contains(index) {
            return false;
        }
        let (word, bit) = ((index / 64) as usize, index % 64);
        match self {
            Bits::Small(w) => *w &= !(1 << bit),
            Bits::Large(ws) => {
                let mut words = ws.to_vec();
                if let Some(w) = words.get_mut(word) {
                    *w &= !(1 << bit);
                }
                *self = Bits::from_words(words);
            }
        }
        true
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words().iter().all(|w| *w == 0)
    }

    pub(crate) fn len(&self) -> usize {
        self.words().iter().map(|w| w.count_ones() as usize).sum()
    }

    /// `self |= other`.
    pub(crate) fn union_with(&mut self, other: &Bits) {
        if let (Bits::Small(a), Bits::Small(b)) = (&mut *self, other) {
            *a |= *b;
            return;
        }
        let (a, b) = (self.words(), other.words());
        let words = (0..a.len().max(b.len()))
            .map(|i| a.get(i).copied().unwrap_or(0) | b.get(i).copied().unwrap_or(0))
            .collect();
        *self = Bits::from_words(words);
    }

    /// `self &= other`.
    pub(crate) fn intersect_with(&mut self, other: &Bits) {
        if let (Bits::Small(a), Bits::Small(b)) = (&mut *self, other) {
            *a &= *b;
            return;
        }
        let (a, b) = (self.words(), other.words());
        let words = a.iter().zip(b).map(|(x, y)| x & y).collect();
        *self = Bits::from_words(words);
    }

    /// True when the two sets share an index.
    pub(crate) fn intersects(&self, other: &Bits) -> bool {
        self.words()
            .iter()
            .zip(other.words())
            .any(|(a, b)| a & b != 0)
    }

    /// The indexes in the set, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words().iter().enumerate().flat_map(|(i, &w)| {
            let base = u32::try_from(i * 64).unwrap_or(u32::MAX);
            BitIter(w).map(move |b| base.saturating_add(b))
        })
    }
}

struct BitIter(u64);

impl Iterator for BitIter {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_sets_insert_remove_and_shrink_back() {
        let mut b = Bits::default();
        assert!(b.insert(3));
        assert!(!b.insert(3));
        assert!(b.insert(130));
        assert!(matches!(b, Bits::Large(_)));
        assert!(b.contains(3) && b.contains(130) && !b.contains(64));
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![3, 130]);
        assert_eq!(b.len(), 2);
        assert!(b.remove(130));
        assert_eq!(b, Bits::Small(1 << 3));
        assert!(!b.remove(130));
        assert!(b.remove(3));
        assert!(b.is_empty());
    }

    #[test]
    fn union_and_intersection_mix_sizes() {
        let mut a = Bits::single(1);
        a.union_with(&Bits::single(100));
        let mut c = a.clone();
        c.intersect_with(&Bits::single(100));
        assert_eq!(c, Bits::single(100));
        assert!(a.intersects(&Bits::single(1)));
        assert!(!Bits::single(2).intersects(&a));
        let mut d = Bits::single(5);
        d.intersect_with(&a);
        assert!(d.is_empty());
    }
}
