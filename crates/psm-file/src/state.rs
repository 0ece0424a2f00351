//! The shared state of one open store, opening a directory, and bringing the cache up to date
//! with the disk (full scan, or the records the journal names).

use std::fs;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use psm_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, CorruptFile, location};
use crate::commit::Queue;
use crate::config::FileConfig;
use crate::fsio::{create_private_dir, io_error, remove_stale_temps, write_atomic};
use crate::journal::{Changes, Journal};
use crate::layout::{FORMAT_VERSION, Layout, is_record_name};
use crate::lock::StoreLock;
use crate::read_mostly::ReadMostly;
use crate::record::{Entry, decode};
use crate::spares::Spares;

/// Everything one open `FileStore` shares between its handles and its commit worker.
#[derive(Debug)]
pub(crate) struct Shared {
    pub layout: Layout,
    pub config: FileConfig,
    pub closed: AtomicBool,
    pub cache: ReadMostly<Cache>,
    /// The lock file and journal; held by a commit or a catch-up, in this process.
    pub disk: Arc<tokio::sync::Mutex<Disk>>,
    /// Milliseconds timestamp before which reads do not look for other processes' writes.
    pub next_refresh: AtomicU64,
    pub queue: Mutex<Queue>,
    pub counters: Counters,
}

/// The cross-process half of the state.
#[derive(Debug)]
pub(crate) struct Disk {
    pub lock: StoreLock,
    pub journal: Journal,
    /// Inodes of replaced records, rewritten by later writes (used under the exclusive lock).
    pub spares: Spares,
}

/// Counters reported in `StoreStats::extra`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub commits: AtomicU64,
    pub ops: AtomicU64,
    pub fsyncs: AtomicU64,
    pub rescans: AtomicU64,
    pub reloads: AtomicU64,
    pub stale_temps_removed: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

#[derive(Serialize, Deserialize)]
struct Marker {
    format: String,
    version: u64,
}

/// What a record file holds right now.
pub(crate) enum Loaded {
    Present(String, Entry),
    Absent,
    Corrupt(CorruptFile),
}

/// Reads the record of `stem`.
pub(crate) fn load(layout: &Layout, stem: &str) -> Result<Loaded> {
    let path = layout.record_for_stem(stem);
    match fs::read(&path) {
        Ok(bytes) => Ok(match decode(stem, &bytes) {
            Ok((id, entry)) => Loaded::Present(id, entry),
            Err(reason) => Loaded::Corrupt(CorruptFile {
                location: location(layout, stem),
                reason,
            }),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Loaded::Absent),
        Err(e) => Err(io_error("read record", &path, e)),
    }
}

/// Applies what `load` found for the record `stem` to the cache (the session it held, if any,
/// is found through the cache's stem index).
pub(crate) fn apply_loaded(cache: &mut Cache, stem: &str, loaded: Loaded) {
    match loaded {
        Loaded::Present(id, entry) => cache.insert(&id, entry),
        Loaded::Absent => {
            forget(cache, stem);
            cache.clear_corrupt(stem);
        }
        Loaded::Corrupt(file) => {
            forget(cache, stem);
            cache.set_corrupt(stem.to_owned(), file);
        }
    }
}

fn forget(cache: &mut Cache, stem: &str) {
    if let Some(id) = cache.id_of_stem(stem).map(str::to_owned) {
        cache.remove(&id);
    }
}

/// Reads every record of the directory into a fresh cache (corrupt files are noted, not fatal).
pub(crate) fn scan(layout: &Layout) -> Result<Cache> {
    let mut cache = Cache::default();
    for dir in layout.shard_dirs() {
        for item in fs::read_dir(&dir).map_err(|e| io_error("read directory", &dir, e))? {
            let item = item.map_err(|e| io_error("read directory", &dir, e))?;
            let name = item.file_name();
            let Some(name) = name.to_str().filter(|n| is_record_name(n)) else {
                continue; // temp files and anything not ours
            };
            let stem = &name[..64];
            if layout.shard_for_stem(stem) != dir {
                continue; // not where this store would look for it
            }
            match load(layout, stem)? {
                Loaded::Present(id, entry) => cache.insert(&id, entry),
                Loaded::Absent => {}
                Loaded::Corrupt(file) => {
                    tracing::warn!(file = %file.location, reason = %file.reason, "psm-file: skipping a corrupt record");
                    cache.set_corrupt(stem.to_owned(), file);
                }
            }
        }
    }
    Ok(cache)
}

fn check_marker(layout: &Layout, fsync: bool) -> Result<()> {
    let path = layout.marker();
    match fs::read(&path) {
        Ok(bytes) => {
            let bad = |reason: String| Error::Corrupt {
                location: path.display().to_string(),
                reason,
            };
            let marker: Marker = serde_json::from_slice(&bytes)
                .map_err(|e| bad(format!("not a psm-file format marker: {e}")))?;
            if marker.format != "psm-file" || marker.version != FORMAT_VERSION {
                return Err(bad(format!(
                    "format {:?} version {} is not psm-file version {FORMAT_VERSION}",
                    marker.format, marker.version
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let marker = Marker {
                format: "psm-file".to_owned(),
                version: FORMAT_VERSION,
            };
            let bytes = serde_json::to_vec(&marker).unwrap_or_default();
            write_atomic(&path, &bytes, fsync)
        }
        Err(e) => Err(io_error("read", &path, e)),
    }
}

impl Shared {
    /// Opens (creating when allowed) the directory: marker, lock, stale temp removal, full scan.
    pub(crate) fn open_blocking(config: FileConfig) -> Result<Shared> {
        config.validate()?;
        let layout = Layout::new(&config.dir);
        if !config.create && !layout.root().is_dir() {
            return Err(Error::InvalidUrl {
                url: format!("file:{}", layout.root().display()),
                reason: format!(
                    "the store directory {} does not exist (add ?create=true to create it)",
                    layout.root().display()
                ),
            });
        }
        let mut dirs = vec![
            layout.root().to_path_buf(),
            layout.backups_dir().to_path_buf(),
        ];
        dirs.extend(layout.shard_dirs());
        for dir in &dirs {
            create_private_dir(dir)?;
        }
        let lock = StoreLock::open(&layout.lock_file())?;
        let counters = Counters::default();
        let (journal, cache) = {
            let _guard = lock.exclusive()?;
            check_marker(&layout, config.fsync)?;
            let mut stale = 0;
            for dir in &dirs {
                stale += remove_stale_temps(dir)?;
            }
            bump(&counters.stale_temps_removed, stale);
            let mut journal = Journal::open(&layout.journal())?;
            let cache = scan(&layout)?;
            journal.rescanned()?;
            (journal, cache)
        };
        Ok(Shared {
            layout,
            config,
            closed: AtomicBool::new(false),
            cache: ReadMostly::new(cache),
            disk: Arc::new(tokio::sync::Mutex::new(Disk {
                lock,
                journal,
                spares: Spares::default(),
            })),
            next_refresh: AtomicU64::new(0),
            queue: Mutex::new(Queue::default()),
            counters,
        })
    }

    /// Applies other processes' changes named by the journal (or rescans). The caller holds the
    /// store lock (shared or exclusive) and the `disk` mutex.
    pub(crate) fn catch_up(&self, journal: &mut Journal) -> Result<()> {
        match journal.read()? {
            Changes::None => Ok(()),
            Changes::Records { stems, next } => {
                let mut loaded = Vec::with_capacity(stems.len());
                for stem in &stems {
                    loaded.push(load(&self.layout, stem)?);
                }
                let mut cache = self.cache.write();
                for (stem, found) in stems.iter().zip(loaded) {
                    apply_loaded(&mut cache, stem, found);
                }
                drop(cache);
                journal.consumed(next);
                bump(&self.counters.reloads, stems.len() as u64);
                Ok(())
            }
            Changes::Rescan => {
                let fresh = scan(&self.layout)?;
                *self.cache.write() = fresh;
                journal.rescanned()?;
                bump(&self.counters.rescans, 1);
                Ok(())
            }
        }
    }
}
