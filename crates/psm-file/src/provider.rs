//! `FilePermissionsProvider`: a `PermissionsProvider` over the JSON permissions file, reloaded
//! (debounced) when the file changes; a file that fails to load keeps the last good version.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};
use psm_core::{Error, PermissionsProvider, Principal, Result, Timestamp, async_trait};

use crate::blocking;
use crate::fsio::io_error;
use crate::permissions_file::{Compiled, compile};

/// Settings of a [`FilePermissionsProvider`].
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    path: PathBuf,
    reload_interval: Option<Duration>,
    max_file_bytes: u64,
}

impl ProviderConfig {
    /// Reads `path`, looking for changes at most once a second, files up to 16 MiB.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ProviderConfig {
            path: path.into(),
            reload_interval: Some(Duration::from_secs(1)),
            max_file_bytes: 16 << 20,
        }
    }

    /// How often a fetch may look at the file's metadata (`None`: never reload by itself;
    /// `Some(ZERO)`: on every fetch).
    pub fn reload_interval(mut self, every: Option<Duration>) -> Self {
        self.reload_interval = every;
        self
    }

    /// Largest file accepted (a bigger one fails to load).
    pub fn max_file_bytes(mut self, n: u64) -> Self {
        self.max_file_bytes = n;
        self
    }
}

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
    changed_ns: i64,
}

fn fingerprint(meta: &fs::Metadata) -> Fingerprint {
    #[cfg(unix)]
    let (inode, changed_ns) = {
        use std::os::unix::fs::MetadataExt;
        (
            meta.ino(),
            meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec(),
        )
    };
    #[cfg(not(unix))]
    let (inode, changed_ns) = (0, 0);
    Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode,
        changed_ns,
    }
}

#[derive(Debug)]
struct Inner {
    config: ProviderConfig,
    current: RwLock<Arc<Compiled>>,
    /// The version last tried (loaded or failed), `None` when the file was missing.
    seen: Mutex<Option<Option<Fingerprint>>>,
    last_error: Mutex<Option<String>>,
    next_check: AtomicU64,
    reloads: AtomicU64,
}

/// Permissions from a JSON file with `users`, `roles`, `user_roles` and an optional
/// `hierarchy` section (see the crate docs). A principal is looked up by
/// [`Principal::lookup_name`]; unknown users have no permissions.
///
/// ```
/// use psm_core::{PermissionsProvider, Principal};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> psm_core::Result<()> {
/// # let tmp = tempfile::tempdir().unwrap();
/// let path = tmp.path().join("permissions.json");
/// std::fs::write(&path, r#"{"roles": {"editor": ["read:posts", "write:posts"]},
///                           "user_roles": {"john.doe": ["editor"]}}"#).unwrap();
/// let provider = psm_file::FilePermissionsProvider::open(&path).await?;
/// let perms = provider.fetch_permissions(&Principal::new("john.doe")).await?;
/// assert_eq!(perms, ["read:posts", "write:posts"]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FilePermissionsProvider {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FilePermissionsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePermissionsProvider")
            .field("path", &self.inner.config.path)
            .field("users", &self.inner.current.read().users())
            .field("versions_loaded", &self.versions_loaded())
            .finish()
    }
}

impl FilePermissionsProvider {
    /// Loads `path` with the default settings; fails if the file is missing or invalid.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::with_config(ProviderConfig::new(path.as_ref())).await
    }

    /// Loads the file of `config`; fails if it is missing or invalid.
    pub async fn with_config(config: ProviderConfig) -> Result<Self> {
        let inner = Arc::new(Inner {
            config,
            current: RwLock::new(Arc::new(Compiled::default())),
            seen: Mutex::new(None),
            last_error: Mutex::new(None),
            next_check: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
        });
        let loader = Arc::clone(&inner);
        blocking::run(move || loader.reload_if_changed(true)).await?;
        inner.schedule(Timestamp::now());
        Ok(FilePermissionsProvider { inner })
    }

    /// Reloads now if the file changed. `Ok(true)`: a new version is in use; `Err`: the file
    /// is invalid or unreadable and the last good version stays in use.
    pub async fn reload(&self) -> Result<bool> {
        let inner = Arc::clone(&self.inner);
        blocking::run(move || inner.reload_if_changed(false)).await
    }

    /// The current permissions of `name`, without looking for changes.
    pub fn permissions_of(&self, name: &str) -> Vec<String> {
        self.inner.current.read().permissions_of(name)
    }

    /// Why the last load failed, if the last attempt failed.
    pub fn last_error(&self) -> Option<String> {
        self.inner.last_error.lock().clone()
    }

    /// How many versions have been loaded (the first load counts).
    pub fn versions_loaded(&self) -> u64 {
        self.inner.reloads.load(Ordering::Relaxed)
    }

    async fn maybe_reload(&self) {
        let Some(every) = self.inner.config.reload_interval else {
            return;
        };
        let now = Timestamp::now().as_millis();
        let due = self.inner.next_check.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now.saturating_add(u64::try_from(every.as_millis()).unwrap_or(u64::MAX));
        if !every.is_zero()
            && self
                .inner
                .next_check
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // errors are logged and kept in `last_error`; the last good version stays in use
        let _ = self.reload().await;
    }
}

impl Inner {
    fn schedule(&self, now: Timestamp) {
        if let Some(every) = self.config.reload_interval {
            let ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
            self.next_check
                .store(now.as_millis().saturating_add(ms), Ordering::Relaxed);
        }
    }

    /// Loads the file if its fingerprint differs from the last version tried (or `force`).
    fn reload_if_changed(&self, force: bool) -> Result<bool> {
        let path = &self.config.path;
        let mut seen = self.seen.lock();
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) => {
                let err = io_error("read permissions file", path, e);
                if force || *seen != Some(None) {
                    self.failed(&err);
                }
                *seen = Some(None);
                return Err(err);
            }
        };
        let print = fingerprint(&meta);
        if !force && seen.as_ref() == Some(&Some(print.clone())) {
            return match self.last_error.lock().clone() {
                // still the same broken version: report it again, do not log it again
                Some(reason) => Err(Error::Corrupt {
                    location: path.display().to_string(),
                    reason,
                }),
                None => Ok(false),
            };
        }
        *seen = Some(Some(print));
        match self.load(path) {
            Ok(compiled) => {
                tracing::info!(path = %path.display(), users = compiled.users(), "psm-file: permissions file loaded");
                *self.current.write() = Arc::new(compiled);
                *self.last_error.lock() = None;
                self.reloads.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("psm_file_permissions_reloads_total").increment(1);
                Ok(true)
            }
            Err(err) => {
                self.failed(&err);
                Err(err)
            }
        }
    }

    fn load(&self, path: &Path) -> Result<Compiled> {
        let mut bytes = Vec::new();
        fs::File::open(path)
            .and_then(|f| {
                f.take(self.config.max_file_bytes.saturating_add(1))
                    .read_to_end(&mut bytes)
            })
            .map_err(|e| io_error("read permissions file", path, e))?;
        if bytes.len() as u64 > self.config.max_file_bytes {
            return Err(Error::Corrupt {
                location: path.display().to_string(),
                reason: format!("larger than {} bytes", self.config.max_file_bytes),
            });
        }
        compile(&path.display().to_string(), &bytes)
    }

    fn failed(&self, err: &Error) {
        tracing::error!(
            path = %self.config.path.display(),
            error = %err,
            "psm-file: permissions file failed to load; keeping the last good version"
        );
        metrics::counter!("psm_file_permissions_load_errors_total").increment(1);
        *self.last_error.lock() = Some(err.to_string());
    }
}

#[async_trait]
impl PermissionsProvider for FilePermissionsProvider {
    #[tracing::instrument(level = "debug", skip_all, fields(provider = "file"))]
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        self.maybe_reload().await;
        Ok(self.permissions_of(principal.lookup_name()))
    }
}
