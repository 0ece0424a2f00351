//! Durable file primitives: private directories and files (0700 / 0600), unique temp files,
//! fsync of files and directories, and mapping `io::Error` to psm's typed errors.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use psm_core::Error;

use crate::layout::TMP_PREFIX;

pub(crate) const BACKEND: &str = "file";

/// An `Error::Backend` for a failed file operation on `path`.
pub(crate) fn io_error(what: &str, path: &Path, err: io::Error) -> Error {
    Error::backend(BACKEND, format!("{what} {}", path.display()), err)
}

/// Creates `dir` (and missing parents) with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> psm_core::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| io_error("create directory", dir, e))
}

/// Open options for a new private file (0600).
fn private_options() -> OpenOptions {
    let mut opts = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

/// Opens (creating with mode 0600 if missing) a file for reading and appending.
pub(crate) fn open_private_append(path: &Path) -> io::Result<File> {
    private_options()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

/// A unique temp file name in `dir`: `.tmp-<pid>-<counter>`.
pub(crate) fn temp_path(dir: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{TMP_PREFIX}{}-{n}", std::process::id()))
}

/// Writes `bytes` to a fresh temp file in `dir` (never clobbering one), fsyncs it when `sync`,
/// and returns its path.
pub(crate) fn write_temp(dir: &Path, bytes: &[u8], sync: bool) -> psm_core::Result<PathBuf> {
    let path = temp_path(dir);
    let result = (|| {
        let mut file = private_options().write(true).create_new(true).open(&path)?;
        file.write_all(bytes)?;
        if sync {
            // data and size; the name becomes durable with the directory fsync after the rename
            file.sync_data()?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(path),
        Err(e) => {
            let _ = fs::remove_file(&path);
            Err(io_error("write temp file", &path, e))
        }
    }
}

/// Writes `bytes` durably to `path`: temp file in the same directory, fsync, rename, dir fsync.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], sync: bool) -> psm_core::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = write_temp(dir, bytes, sync)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("rename into", path, e));
    }
    if sync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// fsyncs a directory, making renames and unlinks in it durable.
pub(crate) fn sync_dir(dir: &Path) -> psm_core::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("fsync directory", dir, e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes a file; a missing file is not an error. Returns whether it existed.
pub(crate) fn remove_if_exists(path: &Path) -> psm_core::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("remove", path, e)),
    }
}

/// Renames a file; a missing source is not an error.
pub(crate) fn rename_if_exists(from: &Path, to: &Path) -> psm_core::Result<()> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("rename", from, e)),
    }
}

/// Removes every leftover temp file in `dir`. Only call while holding the exclusive store lock:
/// writers create temp files only under it, so any found then belong to a dead writer.
pub(crate) fn remove_stale_temps(dir: &Path) -> psm_core::Result<u64> {
    let mut removed = 0;
    let entries = fs::read_dir(dir).map_err(|e| io_error("read directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("read directory", dir, e))?;
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX)
            && remove_if_exists(&entry.path())?
        {
            removed += 1;
        }
    }
    Ok(removed)
}
