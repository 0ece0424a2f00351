//! The advisory cross-process lock (`flock(2)` through `fs4`): exclusive for writers, shared for
//! readers catching up. The kernel releases it when a process dies, even by `kill -9`.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::fsio::{io_error, open_private_append};

/// The lock file of a store directory. One per `FileStore`; flock locks belong to the open file,
/// so two stores in one process exclude each other like two processes do.
#[derive(Debug)]
pub(crate) struct StoreLock {
    file: File,
    path: PathBuf,
}

/// Holds the lock until dropped.
#[derive(Debug)]
pub(crate) struct LockGuard<'a> {
    lock: &'a StoreLock,
}

impl StoreLock {
    pub(crate) fn open(path: &Path) -> psm_core::Result<Self> {
        let file = open_private_append(path).map_err(|e| io_error("open lock file", path, e))?;
        Ok(StoreLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Blocks until this process holds the lock exclusively.
    pub(crate) fn exclusive(&self) -> psm_core::Result<LockGuard<'_>> {
        fs4::FileExt::lock(&self.file).map_err(|e| io_error("lock", &self.path, e))?;
        Ok(LockGuard { lock: self })
    }

    /// Blocks until this process holds the lock shared (no writer active).
    pub(crate) fn shared(&self) -> psm_core::Result<LockGuard<'_>> {
        fs4::FileExt::lock_shared(&self.file).map_err(|e| io_error("lock", &self.path, e))?;
        Ok(LockGuard { lock: self })
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = fs4::FileExt::unlock(&self.lock.file) {
            tracing::error!(path = %self.lock.path.display(), error = %e, "psm-file: unlock failed");
        }
    }
}
