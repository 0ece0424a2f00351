//! The in-memory image of the directory: sessions with compiled permissions, the per-user index
//! derived from them, and the record files that could not be decoded.
//!
//! The cache is rebuilt from the records on open and kept equal to the directory by the commit
//! path (own writes) and the journal (other processes' writes), so reads never touch the disk.

use std::collections::{BTreeSet, HashMap};

use psm_core::{Error, Timestamp, is_expired};

use crate::layout::{Layout, hex, record_digest, record_stem, stem_digest};
use crate::record::Entry;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A record file that failed to decode.
#[derive(Debug, Clone)]
pub(crate) struct CorruptFile {
    pub location: String,
    pub reason: String,
}

/// Sessions by id, session ids by user and by record name (the journal names records, never
/// sessions), and corrupt files by name stem.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    sessions: FastMap<Box<str>, Entry>,
    by_digest: FastMap<[u8; 32], Box<str>>,
    users: FastMap<Box<str>, BTreeSet<Box<str>>>,
    corrupt: FastMap<String, CorruptFile>,
    bytes: u64,
}

impl Cache {
    pub(crate) fn get(&self, session_id: &str) -> Option<&Entry> {
        self.sessions.get(session_id)
    }

    /// The live session `session_id` at `now`.
    #[inline]
    pub(crate) fn live(&self, session_id: &str, now: Timestamp) -> Option<&Entry> {
        self.sessions
            .get(session_id)
            .filter(|e| !is_expired(e.expires_at, now))
    }

    /// Number of records (live or expired, not counting corrupt ones).
    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.sessions.iter().map(|(k, v)| (&**k, v))
    }

    /// Session ids of `user_id` (live or not), sorted.
    pub(crate) fn user_sessions(&self, user_id: &str) -> impl Iterator<Item = &str> {
        self.users
            .get(user_id)
            .into_iter()
            .flat_map(|set| set.iter().map(|s| &**s))
    }

    /// Distinct users with at least one live session at `now`.
    pub(crate) fn live_users(&self, now: Timestamp) -> u64 {
        let count = self
            .users
            .values()
            .filter(|ids| ids.iter().any(|id| self.live(id, now).is_some()))
            .count();
        u64::try_from(count).unwrap_or(u64::MAX)
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The id of the cached session whose record has this stem.
    pub(crate) fn id_of_stem(&self, stem: &str) -> Option<&str> {
        self.by_digest.get(&stem_digest(stem)?).map(|id| &**id)
    }

    /// Inserts or replaces a session, moving it between users when its user changed.
    pub(crate) fn insert(&mut self, session_id: &str, entry: Entry) {
        let digest = record_digest(session_id);
        if !self.corrupt.is_empty() {
            self.corrupt.remove(&hex(&digest));
        }
        self.bytes = self.bytes.saturating_add(entry.bytes);
        let user = entry.user_id.clone();
        match self.sessions.insert(Box::from(session_id), entry) {
            Some(old) => {
                self.bytes = self.bytes.saturating_sub(old.bytes);
                if old.user_id != user {
                    self.unindex(&old.user_id, session_id);
                }
            }
            None => {
                self.by_digest.insert(digest, Box::from(session_id));
            }
        }
        self.users
            .entry(user)
            .or_default()
            .insert(Box::from(session_id));
    }

    /// Removes a session and its index entry.
    pub(crate) fn remove(&mut self, session_id: &str) -> Option<Entry> {
        let old = self.sessions.remove(session_id)?;
        self.by_digest.remove(&record_digest(session_id));
        self.bytes = self.bytes.saturating_sub(old.bytes);
        self.unindex(&old.user_id, session_id);
        Some(old)
    }

    fn unindex(&mut self, user_id: &str, session_id: &str) {
        if let Some(set) = self.users.get_mut(user_id) {
            set.remove(session_id);
            if set.is_empty() {
                self.users.remove(user_id);
            }
        }
    }

    /// Records that the file of `session_id` (if known) or `stem` is corrupt.
    pub(crate) fn set_corrupt(&mut self, stem: String, file: CorruptFile) {
        self.corrupt.insert(stem, file);
    }

    /// Forgets a corrupt file (it was replaced or removed).
    pub(crate) fn clear_corrupt(&mut self, stem: &str) {
        self.corrupt.remove(stem);
    }

    pub(crate) fn corrupt_count(&self) -> u64 {
        u64::try_from(self.corrupt.len()).unwrap_or(u64::MAX)
    }

    /// `Err(Error::Corrupt)` when the record file of `session_id` is known to be corrupt.
    /// Costs nothing while no file is corrupt.
    #[inline]
    pub(crate) fn ensure_not_corrupt(&self, session_id: &str) -> psm_core::Result<()> {
        if self.corrupt.is_empty() {
            return Ok(());
        }
        match self.corrupt.get(&record_stem(session_id)) {
            None => Ok(()),
            Some(c) => Err(Error::Corrupt {
                location: c.location.clone(),
                reason: c.reason.clone(),
            }),
        }
    }
}

/// The `Error::Corrupt` location of a record file.
pub(crate) fn location(layout: &Layout, stem: &str) -> String {
    layout.record_for_stem(stem).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use psm_core::PermissionSet;

    fn entry(user: &str) -> Entry {
        Entry {
            user_id: user.into(),
            perms: PermissionSet::empty(),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            expires_at: None,
            metadata: serde_json::json!({}),
            bytes: 10,
        }
    }

    #[test]
    fn the_user_index_follows_inserts_moves_and_removals() {
        let mut cache = Cache::default();
        cache.insert("s1", entry("a"));
        cache.insert("s2", entry("a"));
        cache.insert("s1", entry("b"));
        assert_eq!(cache.user_sessions("a").collect::<Vec<_>>(), ["s2"]);
        assert_eq!(cache.user_sessions("b").collect::<Vec<_>>(), ["s1"]);
        assert_eq!(cache.id_of_stem(&record_stem("s2")), Some("s2"));
        assert_eq!(cache.bytes(), 20);
        cache.remove("s2");
        assert_eq!(cache.user_sessions("a").count(), 0);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.bytes(), 10);
        assert_eq!(cache.id_of_stem(&record_stem("s2")), None);
        assert_eq!(cache.id_of_stem(&record_stem("s1")), Some("s1"));
    }
}
