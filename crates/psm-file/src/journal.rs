//! The change journal: writers append the record stem (the hashed file name, never the id) of
//! every session they are about to change (under the exclusive lock, before renaming), so other
//! processes reload just those records instead of rescanning the directory. Detecting "nothing
//! changed" costs one `fstat` of an open file. The journal holds no byte of any session: a
//! reader maps a stem whose record is gone back to the session through its own cache.
//!
//! Lines are `#<record stem>\n` (`#` never starts a session id, so a reader of the older
//! id-per-line form rescans instead of misreading one); `*` asks every reader for a full rescan. A line cut short by a
//! dead writer is followed by `\n*\n` from the next writer, and a journal that grew past its
//! bound is replaced by an empty one (readers see the old file's link count drop to zero and
//! rescan).

use std::fs::{File, Metadata};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fsio::{io_error, open_private_append, write_atomic};
use crate::layout::is_stem;

/// Reading more than this many unread bytes at once is replaced by a rescan (bounded memory).
const MAX_READ: u64 = 4 << 20;

/// What changed since a reader last looked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Changes {
    /// Nothing.
    None,
    /// The records with these stems changed; `next` is the offset after them.
    Records { stems: Vec<String>, next: u64 },
    /// Unknown changes: rescan the directory.
    Rescan,
}

/// An open journal and how far this process has read it.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    offset: u64,
}

fn replaced(meta: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.nlink() == 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

#[cfg(not(unix))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    let mut done = 0;
    while done < buf.len() {
        match f.read(&mut buf[done..])? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

impl Journal {
    /// Opens (creating) the journal; nothing is read yet.
    pub(crate) fn open(path: &Path) -> psm_core::Result<Self> {
        let file = open_private_append(path).map_err(|e| io_error("open journal", path, e))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            offset: 0,
        })
    }

    fn meta(&self) -> psm_core::Result<Metadata> {
        self.file
            .metadata()
            .map_err(|e| io_error("stat journal", &self.path, e))
    }

    /// One `fstat`: was anything appended, or the journal replaced, since we last read?
    pub(crate) fn changed(&self) -> psm_core::Result<bool> {
        let meta = self.meta()?;
        Ok(replaced(&meta) || meta.len() != self.offset)
    }

    /// Reads the complete lines appended since the last read. Call under a store lock, then
    /// [`consumed`](Self::consumed) or [`rescanned`](Self::rescanned) once the changes are applied.
    pub(crate) fn read(&self) -> psm_core::Result<Changes> {
        let meta = self.meta()?;
        let len = meta.len();
        if replaced(&meta) || len < self.offset || len - self.offset > MAX_READ {
            return Ok(Changes::Rescan);
        }
        if len == self.offset {
            return Ok(Changes::None);
        }
        let mut buf = vec![0u8; usize::try_from(len - self.offset).unwrap_or(0)];
        let n = read_at(&self.file, &mut buf, self.offset)
            .map_err(|e| io_error("read journal", &self.path, e))?;
        buf.truncate(n);
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
            return Ok(Changes::None); // only a partial line so far
        };
        let mut stems = Vec::new();
        for line in buf[..end].split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            match line
                .strip_prefix(b"#")
                .and_then(|stem| std::str::from_utf8(stem).ok())
            {
                Some(stem) if is_stem(stem) => stems.push(stem.to_owned()),
                _ => return Ok(Changes::Rescan), // `*`, or damage: trust nothing
            }
        }
        stems.sort_unstable();
        stems.dedup();
        Ok(Changes::Records {
            stems,
            next: self.offset + end as u64 + 1,
        })
    }

    /// Marks lines up to `next` as applied.
    pub(crate) fn consumed(&mut self, next: u64) {
        self.offset = next;
    }

    /// After a full rescan (under a lock): reopen if replaced and skip to the end.
    pub(crate) fn rescanned(&mut self) -> psm_core::Result<()> {
        if replaced(&self.meta()?) {
            self.file = open_private_append(&self.path)
                .map_err(|e| io_error("open journal", &self.path, e))?;
        }
        self.offset = self.meta()?.len();
        Ok(())
    }

    /// Appends the record stems a writer is about to change. Call under the exclusive lock,
    /// caught up.
    pub(crate) fn append<'a>(
        &mut self,
        stems: impl Iterator<Item = &'a str>,
    ) -> psm_core::Result<()> {
        let len = self.meta()?.len();
        let mut buf = Vec::new();
        if len > 0 {
            let mut last = [0u8; 1];
            read_at(&self.file, &mut last, len - 1)
                .map_err(|e| io_error("read journal", &self.path, e))?;
            if last[0] != b'\n' {
                // a writer died mid-line: end it and make every reader rescan
                buf.extend_from_slice(b"\n*\n");
            }
        }
        for stem in stems {
            buf.push(b'#');
            buf.extend_from_slice(stem.as_bytes());
            buf.push(b'\n');
        }
        (&self.file)
            .write_all(&buf)
            .map_err(|e| io_error("append to journal", &self.path, e))?;
        self.offset = len + buf.len() as u64;
        Ok(())
    }

    /// Replaces the journal with an empty one when it is longer than `max` bytes. Call under the
    /// exclusive lock; other processes notice and rescan once.
    pub(crate) fn compact_if_longer(&mut self, max: u64) -> psm_core::Result<bool> {
        if self.meta()?.len() <= max {
            return Ok(false);
        }
        write_atomic(&self.path, b"", false)?;
        self.file =
            open_private_append(&self.path).map_err(|e| io_error("open journal", &self.path, e))?;
        self.offset = 0;
        Ok(true)
    }

    /// Current length in bytes (for stats).
    pub(crate) fn len(&self) -> u64 {
        self.meta().map_or(0, |m| m.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn stem(id: &str) -> String {
        crate::layout::record_stem(id)
    }

    #[test]
    fn readers_see_appended_stems_and_a_replaced_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut writer = Journal::open(&path).unwrap();
        let mut reader = Journal::open(&path).unwrap();
        assert_eq!(reader.read().unwrap(), Changes::None);
        let (a, b, c) = (stem("a"), stem("b"), stem("c"));
        writer
            .append([b.as_str(), a.as_str(), b.as_str()].into_iter())
            .unwrap();
        assert!(reader.changed().unwrap());
        let Changes::Records { stems, next } = reader.read().unwrap() else {
            panic!("expected stems")
        };
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(stems, want);
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("a\n") && text.lines().all(|l| l.len() == 65),
            "{text}"
        );
        reader.consumed(next);
        assert!(!reader.changed().unwrap());
        assert!(writer.compact_if_longer(0).unwrap());
        assert!(reader.changed().unwrap());
        assert_eq!(reader.read().unwrap(), Changes::Rescan);
        reader.rescanned().unwrap();
        assert!(!reader.changed().unwrap());
        writer.append([c.as_str()].into_iter()).unwrap();
        assert!(matches!(reader.read().unwrap(), Changes::Records { stems, .. } if stems == [c]));
    }

    #[test]
    fn a_line_that_is_not_a_stem_makes_readers_rescan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let reader = Journal::open(&path).unwrap();
        fs::write(&path, b"session_123\n").unwrap(); // the older id-per-line form
        assert_eq!(reader.read().unwrap(), Changes::Rescan);
        fs::write(&path, format!("{}\n", stem("a"))).unwrap(); // no `#`
        assert_eq!(reader.read().unwrap(), Changes::Rescan);
        fs::write(&path, format!("#{}\n", &stem("a")[1..])).unwrap(); // too short
        assert_eq!(reader.read().unwrap(), Changes::Rescan);
    }

    #[test]
    fn a_line_cut_by_a_dead_writer_makes_readers_rescan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let reader = Journal::open(&path).unwrap();
        fs::write(&path, b"half-written-i").unwrap();
        assert_eq!(reader.read().unwrap(), Changes::None, "partial lines wait");
        let mut writer = Journal::open(&path).unwrap();
        writer.append([stem("next").as_str()].into_iter()).unwrap();
        assert_eq!(reader.read().unwrap(), Changes::Rescan);
    }
}
