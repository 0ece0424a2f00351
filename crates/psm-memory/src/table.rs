//! The sharded session table and the per-user index, with every synchronous operation on them.
//!
//! Lock order is always session shard, then user shard; nothing takes them the other way round.
//! The user index is changed while the session shard's write lock is held, so a session and its
//! index entry change together.
//!
//! A check hashes its id once: the hash picks the shard (high bits) and probes the shard's table
//! (`hashbrown::HashTable`, low bits); keys are compared in line (`same_bytes`), and expiry is a
//! `SystemTime` compared with the clock's reading as it is, so a check converts nothing.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use hashbrown::HashTable;
use parking_lot::RwLock;
use psm_core::bytes::same_bytes;
use psm_core::permission::{ParsedPermission, PermissionSet};
use psm_core::{PermissionError, Session, Timestamp};

type Hasher = foldhash::fast::RandomState;

/// One stored session. Kept small: the id is the map key, the user is shared with the index.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) user: Arc<str>,
    pub(crate) grants: PermissionSet,
    pub(crate) created: u64,
    pub(crate) updated: u64,
    /// When it expires (`None`: never).
    pub(crate) expires: Option<SystemTime>,
    pub(crate) metadata: Option<Box<serde_json::Value>>,
}

impl Entry {
    #[inline]
    pub(crate) fn live(&self, now: SystemTime) -> bool {
        self.expires.is_none_or(|t| now < t)
    }

    pub(crate) fn to_session(&self, id: &str) -> Session {
        Session {
            session_id: id.to_owned(),
            user_id: self.user.to_string(),
            permissions: self.grants.to_vec(),
            created_at: Timestamp::from_millis(self.created),
            updated_at: Timestamp::from_millis(self.updated),
            expires_at: self.expires.map(Timestamp::from_system_time),
            metadata: self
                .metadata
                .as_deref()
                .cloned()
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
        }
    }
}

/// One shard of sessions, keyed by id; the hash of an id is the table's [`Hasher`]'s.
type Sessions = HashTable<(Arc<str>, Entry)>;
type Users = HashMap<Arc<str>, Vec<Arc<str>>, Hasher>;

/// Sessions and the user index, each split into lock shards.
#[derive(Debug)]
pub(crate) struct Table {
    hasher: Hasher,
    mask: usize,
    sessions: Box<[RwLock<Sessions>]>,
    users: Box<[RwLock<Users>]>,
    /// Entries held, live or expired-but-not-swept (what `max_sessions` is checked against
    /// after a sweep).
    held: AtomicU64,
}

/// What [`Table::insert`] needs besides the id.
pub(crate) struct NewEntry {
    pub(crate) user: String,
    pub(crate) grants: PermissionSet,
    pub(crate) expires: Option<SystemTime>,
    pub(crate) metadata: Option<Box<serde_json::Value>>,
}

impl Table {
    pub(crate) fn new(shards: usize) -> Self {
        let n = shards.clamp(1, 4096).next_power_of_two();
        Table {
            hasher: Hasher::default(),
            mask: n - 1,
            sessions: (0..n).map(|_| RwLock::new(Sessions::new())).collect(),
            users: (0..n).map(|_| RwLock::new(Users::default())).collect(),
            held: AtomicU64::new(0),
        }
    }

    #[inline]
    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard of a hash: its high bits (the table inside the shard uses the low ones and the
    /// top seven).
    #[inline]
    fn shard_of(&self, hash: u64) -> usize {
        (hash >> 40) as usize & self.mask
    }

    /// The shard of `id` and the hash that finds it there.
    #[inline]
    fn session_shard(&self, id: &str) -> (&RwLock<Sessions>, u64) {
        let hash = self.hash(id);
        (&self.sessions[self.shard_of(hash)], hash)
    }

    #[inline]
    fn user_shard(&self, user: &str) -> &RwLock<Users> {
        &self.users[self.shard_of(self.hash(user))]
    }

    pub(crate) fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Checks a permission of a live session; `false` when there is none.
    #[inline(always)]
    pub(crate) fn check(
        &self,
        id: &str,
        permission: ParsedPermission<'_>,
        now: SystemTime,
    ) -> bool {
        let (lock, hash) = self.session_shard(id);
        let shard = lock.read();
        find(&shard, hash, id).is_some_and(|e| e.live(now) && e.grants.check_parsed(permission))
    }

    /// Checks a permission of the session held under exactly `candidate` (an id that may be
    /// invalid: it is only hashed and compared byte for byte with held ids, which were all
    /// validated when stored); `false` when it expired, `None` when no session is held under it.
    #[inline(always)]
    pub(crate) fn check_held(
        &self,
        candidate: &str,
        permission: ParsedPermission<'_>,
        now: SystemTime,
    ) -> Option<bool> {
        let (lock, hash) = self.session_shard(candidate);
        let shard = lock.read();
        find(&shard, hash, candidate).map(|e| e.live(now) && e.grants.check_parsed(permission))
    }

    /// [`check_held`](Self::check_held) for a permission not yet validated
    /// ([`PermissionSet::check_unparsed`]: exact grants first); an expired session answers
    /// `false`, or the permission's error when it is invalid.
    #[inline(always)]
    pub(crate) fn check_held_unparsed(
        &self,
        candidate: &str,
        permission: &str,
        now: SystemTime,
    ) -> Option<Result<bool, PermissionError>> {
        let (lock, hash) = self.session_shard(candidate);
        let shard = lock.read();
        find(&shard, hash, candidate).map(|e| {
            if e.live(now) {
                e.grants.check_unparsed(permission)
            } else {
                ParsedPermission::parse(permission).map(|_| false)
            }
        })
    }

    /// Runs `f` on a live entry under the read lock.
    pub(crate) fn read<T>(
        &self,
        id: &str,
        now: SystemTime,
        f: impl FnOnce(&Entry) -> T,
    ) -> Option<T> {
        let (lock, hash) = self.session_shard(id);
        let shard = lock.read();
        find(&shard, hash, id).filter(|e| e.live(now)).map(f)
    }

    /// Runs `f` on a live entry under the write lock.
    pub(crate) fn modify(&self, id: &str, now: SystemTime, f: impl FnOnce(&mut Entry)) -> bool {
        let (lock, hash) = self.session_shard(id);
        let mut shard = lock.write();
        match shard.find_mut(hash, |(k, _)| same_bytes(k.as_bytes(), id.as_bytes())) {
            Some((_, e)) if e.live(now) => {
                f(e);
                true
            }
            _ => false,
        }
    }

    /// Inserts or replaces a session; `admit` decides, under the lock, whether a brand-new id may
    /// be added (the quota). A refused entry is handed back.
    pub(crate) fn insert(
        &self,
        id: &str,
        new: NewEntry,
        now: SystemTime,
        admit: impl FnOnce(u64) -> bool,
    ) -> Result<(), NewEntry> {
        let (lock, hash) = self.session_shard(id);
        let mut shard = lock.write();
        let (key, old) = match take(&mut shard, hash, id) {
            Some((key, old)) => (key, Some(old)),
            None => {
                if !admit(self.held()) {
                    return Err(new);
                }
                self.held.fetch_add(1, Ordering::Relaxed);
                (Arc::<str>::from(id), None)
            }
        };
        // Storing always starts a new session (created now), replacing any old one.
        let now = Timestamp::from_system_time(now).as_millis();
        let user = match &old {
            Some(o) if *o.user == *new.user => o.user.clone(),
            Some(o) => {
                self.unindex(&o.user, &key);
                self.index(&new.user, &key)
            }
            None => self.index(&new.user, &key),
        };
        let entry = Entry {
            user,
            grants: new.grants,
            created: now,
            updated: now,
            expires: new.expires,
            metadata: new.metadata,
        };
        let hasher = &self.hasher;
        shard.insert_unique(hash, (key, entry), |(k, _)| hasher.hash_one(&**k));
        Ok(())
    }

    /// Removes a session; true when it was live.
    pub(crate) fn remove(&self, id: &str, now: SystemTime) -> bool {
        let (lock, hash) = self.session_shard(id);
        let mut shard = lock.write();
        match take(&mut shard, hash, id) {
            Some((key, old)) => {
                self.held.fetch_sub(1, Ordering::Relaxed);
                self.unindex(&old.user, &key);
                old.live(now)
            }
            None => false,
        }
    }

    /// Adds `id` to `user`'s index and returns the shared user string.
    fn index(&self, user: &str, id: &Arc<str>) -> Arc<str> {
        let mut users = self.user_shard(user).write();
        let existing = users.get_key_value(user).map(|(k, _)| k.clone());
        match existing.and_then(|key| users.get_mut(user).map(|ids| (key, ids))) {
            Some((key, ids)) => {
                if !ids.iter().any(|s| s == id) {
                    ids.push(id.clone());
                }
                key
            }
            None => {
                let key: Arc<str> = Arc::from(user);
                users.insert(key.clone(), vec![id.clone()]);
                key
            }
        }
    }

    fn unindex(&self, user: &str, id: &str) {
        let mut users = self.user_shard(user).write();
        if let Some(ids) = users.get_mut(user) {
            ids.retain(|s| &**s != id);
            if ids.is_empty() {
                users.remove(user);
            }
        }
    }

    /// Live session ids of `user`, sorted. Each indexed id is verified against the table.
    pub(crate) fn list(&self, user: &str, now: SystemTime) -> Vec<String> {
        let ids: Vec<Arc<str>> = self
            .user_shard(user)
            .read()
            .get(user)
            .cloned()
            .unwrap_or_default();
        let mut out: Vec<String> = ids
            .iter()
            .filter(|id| self.read(id, now, |e| *e.user == *user).unwrap_or(false))
            .map(|id| id.to_string())
            .collect();
        out.sort_unstable();
        out
    }

    /// Removes every expired session; returns how many.
    pub(crate) fn sweep(&self, now: SystemTime) -> u64 {
        let mut removed = 0u64;
        for lock in self.sessions.iter() {
            let mut shard = lock.write();
            let mut expired: Vec<(Arc<str>, Arc<str>)> = Vec::new();
            shard.retain(|(key, e)| {
                let live = e.live(now);
                if !live {
                    expired.push((key.clone(), e.user.clone()));
                }
                live
            });
            for (key, user) in expired {
                self.unindex(&user, &key);
                self.held.fetch_sub(1, Ordering::Relaxed);
                removed += 1;
            }
        }
        removed
    }

    /// (live sessions, expired entries still held, users with any entry).
    pub(crate) fn census(&self, now: SystemTime) -> (u64, u64, u64) {
        let mut live = 0u64;
        let mut expired = 0u64;
        for lock in self.sessions.iter() {
            for (_, e) in lock.read().iter() {
                if e.live(now) {
                    live += 1;
                } else {
                    expired += 1;
                }
            }
        }
        let users = self.users.iter().map(|u| u.read().len() as u64).sum();
        (live, expired, users)
    }

    /// Rough bytes held: entries, keys, permission strings and index vectors.
    pub(crate) fn approx_bytes(&self) -> u64 {
        let mut bytes = 0usize;
        for lock in self.sessions.iter() {
            let shard = lock.read();
            bytes += shard.capacity() * (std::mem::size_of::<(Arc<str>, Entry)>() + 1);
            for (k, e) in shard.iter() {
                bytes += k.len() + 16 + e.grants.heap_size();
            }
        }
        for lock in self.users.iter() {
            let users = lock.read();
            bytes += users.capacity() * (std::mem::size_of::<(Arc<str>, Vec<Arc<str>>)>() + 1);
            for (k, v) in users.iter() {
                bytes += k.len() + 16 + v.capacity() * 16;
            }
        }
        bytes as u64
    }
}

/// The entry of `id` in `shard`, found with `hash` (from [`Table::hash`]).
#[inline]
fn find<'a>(shard: &'a Sessions, hash: u64, id: &str) -> Option<&'a Entry> {
    shard
        .find(hash, |(k, _)| same_bytes(k.as_bytes(), id.as_bytes()))
        .map(|(_, e)| e)
}

/// Removes the entry of `id` from `shard` and returns it with its key.
fn take(shard: &mut Sessions, hash: u64, id: &str) -> Option<(Arc<str>, Entry)> {
    shard
        .find_entry(hash, |(k, _)| same_bytes(k.as_bytes(), id.as_bytes()))
        .ok()
        .map(|occupied| occupied.remove().0)
}
