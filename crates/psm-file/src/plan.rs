//! Applying a batch of write operations to a view of the cache, in memory only: decides every
//! operation's answer and the final state of each touched session. No I/O happens here.

use std::collections::BTreeMap;
use std::time::Duration;

use psm_core::{Error, PermissionSet, Result, Session, Timestamp, is_expired};

use crate::cache::Cache;
use crate::record::Entry;

/// A write operation, validated before it was queued.
#[derive(Debug)]
pub(crate) enum Op {
    Store {
        id: String,
        entry: Entry,
    },
    Update {
        id: String,
        perms: PermissionSet,
        ttl: Option<Duration>,
        now: Timestamp,
    },
    Extend {
        id: String,
        ttl: Duration,
        now: Timestamp,
    },
    Invalidate {
        id: String,
        now: Timestamp,
    },
    Cleanup {
        now: Timestamp,
    },
}

/// The answer to one operation.
#[derive(Debug)]
pub(crate) enum Outcome {
    Stored(Session),
    Done(bool),
    Removed(u64),
}

/// The final state of a touched session.
#[derive(Debug)]
pub(crate) enum Change {
    Put(Entry),
    Delete,
}

/// A batch being applied on top of the cache.
pub(crate) struct Plan<'c> {
    cache: &'c Cache,
    changes: BTreeMap<String, Change>,
    records: u64,
    max_sessions: u64,
}

impl<'c> Plan<'c> {
    pub(crate) fn new(cache: &'c Cache, max_sessions: u64) -> Self {
        Plan {
            cache,
            changes: BTreeMap::new(),
            records: cache.len() as u64,
            max_sessions,
        }
    }

    fn view(&self, id: &str) -> Option<&Entry> {
        match self.changes.get(id) {
            Some(Change::Put(e)) => Some(e),
            Some(Change::Delete) => None,
            None => self.cache.get(id),
        }
    }

    fn live(&self, id: &str, now: Timestamp) -> Option<&Entry> {
        self.view(id).filter(|e| !is_expired(e.expires_at, now))
    }

    /// The record file of `id` is corrupt and not yet replaced in this batch.
    fn corrupt(&self, id: &str) -> Option<Error> {
        if self.changes.contains_key(id) {
            return None;
        }
        self.cache.ensure_not_corrupt(id).err()
    }

    fn put(&mut self, id: &str, entry: Entry) {
        if self.view(id).is_none() {
            self.records += 1;
        }
        self.changes.insert(id.to_owned(), Change::Put(entry));
    }

    fn delete(&mut self, id: &str) {
        if self.view(id).is_some() {
            self.records = self.records.saturating_sub(1);
        }
        self.changes.insert(id.to_owned(), Change::Delete);
    }

    /// Deletes every expired session in view; returns how many.
    fn purge_expired(&mut self, now: Timestamp) -> u64 {
        let mut dead: Vec<String> = self
            .cache
            .iter()
            .filter(|(id, _)| !self.changes.contains_key(*id))
            .filter(|(_, e)| is_expired(e.expires_at, now))
            .map(|(id, _)| id.to_owned())
            .collect();
        dead.extend(self.changes.iter().filter_map(|(id, c)| match c {
            Change::Put(e) if is_expired(e.expires_at, now) => Some(id.clone()),
            _ => None,
        }));
        for id in &dead {
            self.delete(id);
        }
        dead.len() as u64
    }

    /// Applies one operation; an error fails only this operation.
    pub(crate) fn apply(&mut self, op: &Op) -> Result<Outcome> {
        match op {
            Op::Store { id, entry } => {
                if self.view(id).is_none() && self.records >= self.max_sessions {
                    self.purge_expired(entry.updated_at);
                    if self.records >= self.max_sessions {
                        return Err(Error::QuotaExceeded {
                            what: "sessions",
                            limit: self.max_sessions,
                        });
                    }
                }
                self.put(id, entry.clone());
                Ok(Outcome::Stored(entry.to_session(id)))
            }
            Op::Update {
                id,
                perms,
                ttl,
                now,
            } => self.modify(id, *now, |e| {
                e.perms = perms.clone();
                if let Some(ttl) = ttl {
                    e.expires_at = Some(now.saturating_add(*ttl));
                }
            }),
            Op::Extend { id, ttl, now } => self.modify(id, *now, |e| {
                e.expires_at = Some(now.saturating_add(*ttl));
            }),
            Op::Invalidate { id, now } => {
                let live = self.live(id, *now).is_some();
                let on_disk = self.view(id).is_some() || self.corrupt(id).is_some();
                if on_disk {
                    self.delete(id); // an expired or corrupt record goes too
                }
                Ok(Outcome::Done(live))
            }
            Op::Cleanup { now } => Ok(Outcome::Removed(self.purge_expired(*now))),
        }
    }

    fn modify(&mut self, id: &str, now: Timestamp, f: impl FnOnce(&mut Entry)) -> Result<Outcome> {
        if let Some(err) = self.corrupt(id) {
            return Err(err);
        }
        let Some(old) = self.live(id, now) else {
            return Ok(Outcome::Done(false));
        };
        let mut entry = old.clone();
        entry.updated_at = now.max(old.updated_at);
        f(&mut entry);
        self.put(id, entry);
        Ok(Outcome::Done(true))
    }

    /// The touched sessions with their final state, and whether each has a file on disk now.
    pub(crate) fn finish(self) -> Vec<(String, Change, bool)> {
        let cache = self.cache;
        self.changes
            .into_iter()
            .map(|(id, change)| {
                let on_disk = cache.get(&id).is_some() || cache.ensure_not_corrupt(&id).is_err();
                (id, change, on_disk)
            })
            .filter(|(_, change, on_disk)| matches!(change, Change::Put(_)) || *on_disk)
            .collect()
    }
}
