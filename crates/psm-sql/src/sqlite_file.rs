//! The SQLite database file before it is opened: a missing parent directory is named, a
//! missing file is created only when the URL allows it (`create`, default true; the `psm` command
//! passes `create=false` for reads), and a created file is readable by its owner only (0600;
//! SQLite gives its `-wal` and `-shm` files the same mode).

use std::path::Path;
use std::str::FromStr;

use psm_core::{Error, Result};
use sqlx::sqlite::SqliteConnectOptions;

/// Makes sure the database file of `driver_url` exists, creating it (0600) when `create`.
pub(crate) fn prepare(driver_url: &str, create: bool) -> Result<()> {
    let opts = SqliteConnectOptions::from_str(driver_url).map_err(|e| Error::InvalidUrl {
        url: driver_url.to_owned(),
        reason: e.to_string(),
    })?;
    let path = opts.get_filename();
    if path.exists() {
        return Ok(());
    }
    let invalid = |reason: String| Error::InvalidUrl {
        url: format!("sqlite://{}", path.display()),
        reason,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(invalid(format!(
            "the directory {} of the SQLite database does not exist",
            dir.display()
        )));
    }
    if !create {
        return Err(invalid(format!(
            "the SQLite database {} does not exist (add ?create=true to create it)",
            path.display()
        )));
    }
    create_private(path).map_err(|e| Error::Backend {
        backend: "sqlite",
        message: format!("cannot create the database {}: {e}", path.display()),
        source: Some(Box::new(e)),
    })
}

/// Creates an empty file readable and writable by its owner only; one that appeared meanwhile
/// is kept.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::prepare;

    #[test]
    fn a_database_is_created_only_when_allowed_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let url = format!("sqlite://{}", db.display());
        let e = prepare(&url, false).unwrap_err().to_string();
        assert!(e.contains("does not exist") && e.contains("a.db"), "{e}");
        assert!(!db.exists());
        prepare(&url, true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&db).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // it exists now: no create needed
        prepare(&url, false).unwrap();
        let nested = format!("sqlite://{}/missing/b.db", dir.path().display());
        let e = prepare(&nested, true).unwrap_err().to_string();
        assert!(e.contains("missing") && e.contains("directory"), "{e}");
    }
}
