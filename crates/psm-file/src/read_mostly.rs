//! `ReadMostly<T>`: the lock around the in-memory image, built for many concurrent readers.
//!
//! A single reader-writer lock makes every reader write the same lock word, so readers on
//! different cores contend for one cache line even though they never block each other. This lock
//! (crossbeam's `ShardedLock`) gives each thread its own reader slot on its own cache line; a
//! writer takes every slot. Writes here already wait for fsync, so their extra cost is noise,
//! while checks from many tasks scale with the cores instead of slowing down.
//!
//! Poisoning is ignored: the image is only changed by code that cannot panic midway (the crate
//! forbids panics on its paths), so a poisoned lock still guards a consistent value.

use std::sync::PoisonError;

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};

/// A reader-writer lock whose readers do not share a cache line.
#[derive(Debug, Default)]
pub(crate) struct ReadMostly<T>(ShardedLock<T>);

impl<T> ReadMostly<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(ShardedLock::new(value))
    }

    /// Shared access; cheap and uncontended between readers.
    #[inline]
    pub(crate) fn read(&self) -> ShardedLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access; waits for every reader.
    pub(crate) fn write(&self) -> ShardedLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::ReadMostly;

    #[test]
    fn writes_are_seen_by_later_reads_from_other_threads() {
        let lock = std::sync::Arc::new(ReadMostly::new(0_u32));
        *lock.write() += 1;
        let seen = std::thread::scope(|s| {
            let l = &lock;
            let h = s.spawn(move || {
                *l.write() += 1;
                *l.read()
            });
            h.join().unwrap_or(0)
        });
        assert_eq!(seen, 2);
        assert_eq!(*lock.read(), 2);
    }
}
