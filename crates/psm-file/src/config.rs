//! `FileConfig`: every option of the file backend, from code or from a `file:` URL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use psm_core::{DEFAULT_TTL, Error, Field, Limits, Rule, SharedClock, StoreUrl};

/// Largest `backups` value.
pub const MAX_BACKUPS: u32 = 100;

/// Configuration of a [`FileStore`](crate::FileStore); see the crate docs for each option.
///
/// ```
/// use std::time::Duration;
/// let config = psm_file::FileConfig::new("/var/lib/psm")
///     .backups(3)
///     .max_sessions(100_000)
///     .default_ttl(Some(Duration::from_secs(1800)));
/// assert_eq!(config.dir(), std::path::Path::new("/var/lib/psm"));
/// ```
#[derive(Debug, Clone)]
pub struct FileConfig {
    pub(crate) dir: PathBuf,
    pub(crate) fsync: bool,
    pub(crate) backups: u32,
    pub(crate) max_sessions: u64,
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) limits: Limits,
    pub(crate) refresh: Duration,
    pub(crate) cleanup_interval: Option<Duration>,
    pub(crate) max_batch: usize,
    pub(crate) create: bool,
    pub(crate) journal_max_bytes: u64,
    pub(crate) clock: SharedClock,
}

impl FileConfig {
    /// Defaults for a store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileConfig {
            dir: dir.into(),
            fsync: true,
            backups: 0,
            max_sessions: 1_000_000,
            default_ttl: Some(DEFAULT_TTL),
            limits: Limits::default(),
            refresh: Duration::from_millis(100),
            cleanup_interval: Some(Duration::from_secs(600)),
            max_batch: 512,
            create: true,
            journal_max_bytes: 4 << 20,
            clock: SharedClock::system(),
        }
    }

    /// Reads a `file:///abs/dir` or `file:rel/dir` URL and its options (unknown options are errors).
    pub fn from_url(mut url: StoreUrl) -> psm_core::Result<Self> {
        if url.scheme() != "file" {
            return Err(url.invalid("the file backend needs a file: URL"));
        }
        let mut config = FileConfig::new(url.file_path()?);
        if let Some(v) = url.take_bool("fsync")? {
            config.fsync = v;
        }
        if let Some(v) = url.take_u64("backups")? {
            config.backups = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = url.take_u64("max_sessions")? {
            config.max_sessions = v;
        }
        if let Some(v) = url.take_duration("default_ttl")? {
            config.default_ttl = (!v.is_zero()).then_some(v);
        }
        if let Some(v) = url.take_usize("max_permissions")? {
            config.limits.max_permissions = v;
        }
        if let Some(v) = url.take_duration("refresh")? {
            config.refresh = v;
        }
        if let Some(v) = url.take_duration("cleanup_interval")? {
            config.cleanup_interval = (!v.is_zero()).then_some(v);
        }
        if let Some(v) = url.take_usize("max_batch")? {
            config.max_batch = v;
        }
        if let Some(v) = url.take_bool("create")? {
            config.create = v;
        }
        if let Some(v) = url.take_u64("journal_max_bytes")? {
            config.journal_max_bytes = v;
        }
        url.finish()?;
        config.validate()?;
        Ok(config)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// fsync records and directories before acknowledging a write (default `true`). Without it
    /// writes survive a killed process but not a power cut.
    pub fn fsync(mut self, on: bool) -> Self {
        self.fsync = on;
        self
    }

    /// Keep this many previous versions of each record (0–100, default 0).
    pub fn backups(mut self, n: u32) -> Self {
        self.backups = n;
        self
    }

    /// Most sessions the directory may hold; expired ones never count (default 1,000,000).
    pub fn max_sessions(mut self, n: u64) -> Self {
        self.max_sessions = n;
        self
    }

    /// TTL of sessions stored with `Expiry::Default` (default 1 h; `None` = never expire).
    pub fn default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Where the store reads the time (default: the system clock; tests inject a
    /// [`ManualClock`](psm_core::ManualClock) to move time without sleeping).
    pub fn clock(mut self, clock: impl Into<SharedClock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// Most permissions per session (default 10,000).
    pub fn max_permissions(mut self, n: usize) -> Self {
        self.limits.max_permissions = n;
        self
    }

    /// How often reads look for other processes' writes (default 100 ms; zero = on every read).
    pub fn refresh(mut self, every: Duration) -> Self {
        self.refresh = every;
        self
    }

    /// How often a background task removes expired records (default 10 min; `None` = never).
    pub fn cleanup_interval(mut self, every: Option<Duration>) -> Self {
        self.cleanup_interval = every;
        self
    }

    /// Most writes committed together by one group commit (default 512).
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n;
        self
    }

    /// Create the directory when it is missing (default `true`).
    pub fn create(mut self, on: bool) -> Self {
        self.create = on;
        self
    }

    /// Journal length past which it is replaced by an empty one (default 4 MiB).
    pub fn journal_max_bytes(mut self, n: u64) -> Self {
        self.journal_max_bytes = n;
        self
    }

    /// Checks every bound; errors name the option.
    pub fn validate(&self) -> psm_core::Result<()> {
        let range = |name: &'static str, ok: bool, allowed: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(Error::invalid(
                    Field::Option(name),
                    Rule::OutOfRange { allowed },
                ))
            }
        };
        range("backups", self.backups <= MAX_BACKUPS, "0 to 100")?;
        range("max_sessions", self.max_sessions >= 1, "at least 1")?;
        range(
            "max_permissions",
            self.limits.max_permissions >= 1,
            "at least 1",
        )?;
        range(
            "max_batch",
            (1..=65_536).contains(&self.max_batch),
            "1 to 65536",
        )?;
        range(
            "refresh",
            self.refresh <= Duration::from_secs(3600),
            "0 to 1 h",
        )?;
        range(
            "journal_max_bytes",
            self.journal_max_bytes >= 4096,
            "at least 4096",
        )?;
        if let Some(ttl) = self.default_ttl {
            psm_core::validate::ttl(ttl).map_err(|_| {
                Error::invalid(
                    Field::Option("default_ttl"),
                    Rule::OutOfRange {
                        allowed: "0 (never) or 1 ms to 100 years",
                    },
                )
            })?;
        }
        if let Some(every) = self.cleanup_interval {
            range(
                "cleanup_interval",
                every >= Duration::from_millis(10),
                "0 (off) or at least 10 ms",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_options_are_read_and_unknown_ones_rejected() {
        let url = StoreUrl::parse(
            "file:///tmp/x?fsync=false&backups=2&max_sessions=10&default_ttl=0&max_permissions=5&refresh=0&cleanup_interval=off",
        )
        .unwrap();
        let c = FileConfig::from_url(url).unwrap();
        assert!(!c.fsync);
        assert_eq!(c.backups, 2);
        assert_eq!(c.max_sessions, 10);
        assert_eq!(c.default_ttl, None);
        assert_eq!(c.limits.max_permissions, 5);
        assert_eq!(c.refresh, Duration::ZERO);
        assert_eq!(c.cleanup_interval, None);
        let err = FileConfig::from_url(StoreUrl::parse("file:rel?fsnyc=1").unwrap()).unwrap_err();
        assert!(err.to_string().contains("fsnyc"), "{err}");
        let err =
            FileConfig::from_url(StoreUrl::parse("file:rel?backups=101").unwrap()).unwrap_err();
        assert!(err.to_string().contains("backups"), "{err}");
        assert!(FileConfig::from_url(StoreUrl::parse("memory://").unwrap()).is_err());
    }
}
