//! The on-disk layout: which file holds what, and how a session id becomes a file name (hashed,
//! never the raw id).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Name of the format marker file at the root of a store directory.
pub(crate) const MARKER: &str = "psm-file.json";
/// Name of the advisory lock file (`flock(2)` target).
pub(crate) const LOCK: &str = "lock";
/// Name of the change journal other processes follow.
pub(crate) const JOURNAL: &str = "journal";
/// Directory of session records.
pub(crate) const SESSIONS: &str = "sessions";
/// Directory of numbered backups.
pub(crate) const BACKUPS: &str = "backups";
/// Prefix of every temporary file (readers skip names starting with `.`).
pub(crate) const TMP_PREFIX: &str = ".tmp-";
/// Current on-disk format version.
pub(crate) const FORMAT_VERSION: u64 = 1;

/// Record files are spread over this many shard directories (`sessions/0` … `sessions/f`, by
/// the first hex digit of the name), so concurrent writes rarely queue on one directory lock.
pub(crate) const SHARDS: &str = "0123456789abcdef";

/// Domain separator hashed before every session id, so record names are specific to psm-file v1.
const HASH_DOMAIN: &[u8] = b"psm-file/v1/session\0";

/// Paths of one store directory.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
    sessions: PathBuf,
    backups: PathBuf,
}

/// SHA-256 over a domain tag and the session id: the record's name, as bytes.
pub(crate) fn record_digest(session_id: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(session_id.as_bytes());
    hasher.finalize().into()
}

/// The 64-hex-character file stem of a session id: the hex of [`record_digest`].
pub(crate) fn record_stem(session_id: &str) -> String {
    hex(&record_digest(session_id))
}

/// The digest a stem is the hex of (`None` unless [`is_stem`]).
pub(crate) fn stem_digest(stem: &str) -> Option<[u8; 32]> {
    if !is_stem(stem) {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(stem.as_bytes().chunks_exact(2)) {
        let nibble = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        };
        *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Some(out)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// True when `stem` has the form of [`record_stem`]'s output: 64 lower-case hex digits.
pub(crate) fn is_stem(stem: &str) -> bool {
    stem.len() == 64 && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// True when `name` is a record file name this store writes: a stem + `.json`.
pub(crate) fn is_record_name(name: &str) -> bool {
    name.strip_suffix(".json").is_some_and(is_stem)
}

impl Layout {
    pub(crate) fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
            sessions: root.join(SESSIONS),
            backups: root.join(BACKUPS),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The shard directories of `sessions/`.
    pub(crate) fn shard_dirs(&self) -> impl Iterator<Item = PathBuf> + '_ {
        SHARDS.chars().map(|c| self.sessions.join(c.to_string()))
    }

    /// The shard directory holding the record with this stem.
    pub(crate) fn shard_for_stem(&self, stem: &str) -> PathBuf {
        self.sessions.join(stem.get(..1).unwrap_or("0"))
    }

    pub(crate) fn backups_dir(&self) -> &Path {
        &self.backups
    }

    pub(crate) fn marker(&self) -> PathBuf {
        self.root.join(MARKER)
    }

    pub(crate) fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK)
    }

    pub(crate) fn journal(&self) -> PathBuf {
        self.root.join(JOURNAL)
    }

    /// The record file of a (validated) session id.
    pub(crate) fn record(&self, session_id: &str) -> PathBuf {
        self.record_for_stem(&record_stem(session_id))
    }

    pub(crate) fn record_for_stem(&self, stem: &str) -> PathBuf {
        self.shard_for_stem(stem).join(format!("{stem}.json"))
    }

    /// Backup number `n` (1 = most recent) of the record with this stem.
    pub(crate) fn backup(&self, stem: &str, n: u32) -> PathBuf {
        self.backups.join(format!("{stem}.{n}.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_are_hex_hashes_never_the_id() {
        let stem = record_stem("../../etc/passwd");
        assert_eq!(stem.len(), 64);
        assert!(is_record_name(&format!("{stem}.json")));
        assert_ne!(record_stem("a"), record_stem("b"));
        assert!(!is_record_name(".tmp-1-2"));
        assert!(!is_record_name("passwd.json"));
        let layout = Layout::new(Path::new("/store"));
        let shard = &stem[..1];
        assert_eq!(
            layout.record("../../etc/passwd"),
            Path::new("/store/sessions")
                .join(shard)
                .join(format!("{stem}.json"))
        );
        assert_eq!(layout.shard_dirs().count(), 16);
        assert_eq!(stem_digest(&stem), Some(record_digest("../../etc/passwd")));
        assert_eq!(stem_digest("abc"), None);
        assert_eq!(stem_digest(&stem.to_uppercase()), None);
    }
}
