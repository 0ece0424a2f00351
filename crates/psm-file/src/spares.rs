//! Spare record files: the inodes of replaced and deleted records, kept under temp names and
//! rewritten in place by later writes instead of creating new files.
//!
//! Why: on a journaling filesystem, freeing a record's blocks (the unlink behind a rename over
//! an older version) and allocating a new file's blocks (at its first fsync) each cost about a
//! journal commit, and they dominated the group commit. A write now takes a spare from its
//! shard directory, overwrites it in place (no allocation; for a same-sized record the fsync
//! is a data write only), fsyncs it and renames it over the record, after linking the old
//! record's inode under a temp name, where it becomes the next spare (so nothing is freed).
//!
//! Durability is unchanged: a spare is only ever a temp file (`.tmp-` prefix: never read,
//! removed at open), its new content is fsynced before the rename, and the old record's inode
//! joins the spares only after the directory fsync made the rename that detached it durable,
//! so an acknowledged record's content is never rewritten while a crash could still bring it
//! back. Spares are used only under the exclusive store lock, like every temp file.
//!
//! A record is emptied (cut to zero bytes) as it becomes a spare: once `invalidate_session` or a
//! replacing write returns, no file holds the old record's id, user or permissions. That frees
//! its data blocks (the inode is still reused), trading some of the saving for privacy.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Most spares kept per shard directory; beyond that an old record is simply removed.
pub(crate) const MAX_PER_DIR: usize = 64;

/// This process's spare files, by shard directory.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    by_dir: BTreeMap<PathBuf, Vec<PathBuf>>,
}

impl Spares {
    /// A spare in `dir`, if there is one.
    pub(crate) fn take(&mut self, dir: &Path) -> Option<PathBuf> {
        self.by_dir.get_mut(dir).and_then(Vec::pop)
    }

    /// Keeps `spare` (a temp file in `dir`) for reuse; returns it when `dir` has enough.
    pub(crate) fn give(&mut self, dir: &Path, spare: PathBuf) -> Option<PathBuf> {
        let list = self.by_dir.entry(dir.to_path_buf()).or_default();
        if list.len() >= MAX_PER_DIR {
            return Some(spare);
        }
        list.push(spare);
        None
    }

    /// How many spares there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_dir.values().map(Vec::len).sum()
    }
}

/// Cuts a record that just became a spare to zero bytes, so a replaced or deleted session's id,
/// user and permissions stay in no file (the spare keeps only its inode for reuse).
pub(crate) fn empty(path: &Path) -> std::io::Result<()> {
    OpenOptions::new().write(true).open(path)?.set_len(0)
}

/// Overwrites the spare at `path` with `bytes` (cutting it to their length) and fsyncs its data
/// when `sync`. Fails if the spare is gone (another process's open removed it) or unwritable;
/// the caller then writes a fresh temp file instead.
pub(crate) fn rewrite(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.write_all(bytes)?;
    let len = bytes.len() as u64;
    if file.metadata()?.len() != len {
        file.set_len(len)?;
    }
    if sync {
        file.sync_data()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_kept_per_directory_up_to_the_cap() {
        let mut spares = Spares::default();
        let (a, b) = (Path::new("/s/a"), Path::new("/s/b"));
        for i in 0..MAX_PER_DIR {
            assert_eq!(spares.give(a, a.join(i.to_string())), None);
        }
        assert_eq!(spares.give(a, a.join("x")), Some(a.join("x")));
        assert_eq!(spares.take(b), None);
        assert_eq!(spares.len(), MAX_PER_DIR);
        assert_eq!(spares.take(a), Some(a.join((MAX_PER_DIR - 1).to_string())));
    }

    #[test]
    fn rewrite_replaces_the_whole_content_longer_or_shorter() {
        let dir = std::env::temp_dir().join(format!("psm-file-spare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".tmp-spare");
        std::fs::write(&path, b"a much longer old record body").unwrap();
        rewrite(&path, b"short", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
        rewrite(&path, b"now longer than before", false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"now longer than before");
        std::fs::remove_file(&path).unwrap();
        assert!(
            rewrite(&path, b"x", false).is_err(),
            "a vanished spare is an error"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
