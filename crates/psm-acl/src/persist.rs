//! JSON files: `save_json` writes atomically (temp file, fsync, rename, directory fsync), so a
//! crash leaves either the old file or the new one; `load_json` reads with a size bound.

use std::fmt::Debug;
use std::fs::File;
use std::hash::Hash;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::acl::Acl;
use crate::data::AclData;
use crate::error::{Error, Result};
use crate::limits::AclLimits;
use crate::permission::PermissionLike;
use crate::snapshot::AclSnapshot;

impl<R, Res, P> AclSnapshot<R, Res, P>
where
    R: Hash + Eq + Clone + Serialize,
    Res: Hash + Eq + Clone + Serialize,
    P: PermissionLike + Hash + Eq + Clone + Serialize,
{
    /// Writes the state to `path` as [`AclData`] JSON, atomically: a temporary file in the same
    /// directory is written and fsynced, renamed over `path`, and the directory is fsynced.
    #[tracing::instrument(level = "debug", skip_all, fields(path = %path.as_ref().display()))]
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".psm-acl-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        {
            let mut out = BufWriter::new(tmp.as_file());
            serde_json::to_writer(&mut out, &self.export()).map_err(|e| Error::Corrupt {
                location: path.display().to_string(),
                reason: format!("cannot encode: {e}"),
            })?;
            out.flush().map_err(|e| Error::io(tmp.path(), e))?;
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(tmp.path(), e))?;
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
        sync_dir(dir)?;
        metrics::counter!("psm_acl_saves_total").increment(1);
        Ok(())
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

impl<R, Res, P> Acl<R, Res, P>
where
    R: Hash + Eq + Clone + Debug + DeserializeOwned,
    Res: Hash + Eq + Clone + DeserializeOwned,
    P: PermissionLike + Hash + Eq + Clone + DeserializeOwned,
{
    /// Reads an ACL written by [`save_json`](AclSnapshot::save_json) (or any [`AclData`]
    /// JSON), validating it, with `limits` (which also bound the file size). For the default
    /// string types write `<Acl>::load_json(..)` or annotate the binding.
    ///
    /// ```
    /// use psm_acl::{Acl, AclLimits};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("acl.json");
    /// let mut acl = Acl::new();
    /// acl.grant("admin", "blog", "delete")?;
    /// acl.save_json(&path)?;
    /// let loaded = <Acl>::load_json(&path, AclLimits::default())?;
    /// assert!(loaded.check("admin", "blog", "delete"));
    /// # Ok::<(), psm_acl::Error>(())
    /// ```
    #[tracing::instrument(level = "debug", skip_all, fields(path = %path.as_ref().display()))]
    pub fn load_json(path: impl AsRef<Path>, limits: AclLimits) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len > limits.max_file_bytes {
            return Err(Error::quota(
                "file bytes",
                usize::try_from(limits.max_file_bytes).unwrap_or(usize::MAX),
            ));
        }
        // The bound holds even if the file grows while it is read.
        let reader = BufReader::new(file.take(limits.max_file_bytes));
        let data: AclData<R, Res, P> =
            serde_json::from_reader(reader).map_err(|e| Error::Corrupt {
                location: path.display().to_string(),
                reason: e.to_string(),
            })?;
        let acl = Acl::from_data(data, limits)?;
        metrics::counter!("psm_acl_loads_total").increment(1);
        Ok(acl)
    }

    /// Replaces this ACL's state with the file's (keeping this ACL's limits). On error
    /// nothing changes.
    pub fn reload_json(&mut self, path: impl AsRef<Path>) -> Result<()> {
        *self = Acl::load_json(path, self.limits)?;
        Ok(())
    }
}
