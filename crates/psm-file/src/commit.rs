//! Group commit: writers queue operations; one leader at a time takes the whole queue, applies it
//! under the exclusive lock, writes and fsyncs every record (in parallel), journals their names,
//! renames, fsyncs the directory once, and only then answers every caller.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use psm_core::{Error, Result};
use tokio::sync::oneshot;

use crate::fsio::{
    BACKEND, io_error, remove_if_exists, rename_if_exists, sync_dir, temp_path, write_temp,
};
use crate::journal::Journal;
use crate::layout::record_stem;
use crate::plan::{Change, Op, Outcome, Plan};
use crate::record::{Entry, encode};
use crate::spares::{self, Spares};
use crate::state::{Disk, Loaded, Shared, apply_loaded, bump, load};
use crate::{blocking, parallel};

/// Most threads doing one batch's file operations at once when each waits for an fsync.
const SYNC_WORKERS: usize = 16;
/// ... and when none does.
const FAST_WORKERS: usize = 4;
/// How often a leader looks whether the writers of the last batch have queued again.
const GATHER_STEP: Duration = Duration::from_micros(50);
/// Longest a leader waits for them (also at most a quarter of the last commit's duration).
const GATHER_MAX: Duration = Duration::from_millis(2);

/// Operations waiting for the next group commit.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    pending: VecDeque<Pending>,
    leader: bool,
}

#[derive(Debug)]
struct Pending {
    op: Op,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// One file to write or remove.
struct Write {
    id: String,
    stem: String,
    put: Option<(Entry, Vec<u8>)>,
    on_disk: bool,
}

/// What the leader knows after a commit: how many writers are active (the callers it is
/// answering plus those that queued meanwhile) and how long the commit took.
#[derive(Debug, Default)]
struct Round {
    writers: usize,
    took: Duration,
}

/// Resets the queue if a leader unwinds, so later writers are not stuck behind it.
struct LeaderGuard<'a>(&'a Shared);

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.queue.lock();
            q.leader = false;
            q.pending.clear(); // their callers get "worker stopped"
        }
    }
}

fn copy_error(e: &Error) -> Error {
    Error::Backend {
        backend: BACKEND,
        message: e.to_string(),
        source: None,
    }
}

impl Shared {
    /// Queues `op` and waits until it is durable (or failed).
    pub(crate) async fn submit(self: &Arc<Self>, op: Op) -> Result<Outcome> {
        let (reply, rx) = oneshot::channel();
        let lead = {
            let mut q = self.queue.lock();
            q.pending.push_back(Pending { op, reply });
            !std::mem::replace(&mut q.leader, true)
        };
        if lead {
            let shared = Arc::clone(self);
            blocking::spawn(move || shared.lead());
        }
        rx.await.map_err(|_| Error::Backend {
            backend: BACKEND,
            message: "the commit worker stopped".to_owned(),
            source: None,
        })?
    }

    /// Commits batches until the queue is empty.
    fn lead(&self) {
        let _guard = LeaderGuard(self);
        let mut round = Round::default();
        loop {
            if self.config.fsync && round.writers > 1 {
                self.gather(&round);
            }
            let batch: Vec<Pending> = {
                let mut q = self.queue.lock();
                if q.pending.is_empty() {
                    q.leader = false;
                    return;
                }
                let n = q.pending.len().min(self.config.max_batch);
                q.pending.drain(..n).collect()
            };
            round = self.commit_batch(batch);
        }
    }

    /// The callers a batch answered are about to write again, and the ones that queued while
    /// it ran are waiting already: give the former a moment to queue up too, so all of them
    /// share the next batch's fsyncs instead of splitting into two half-size batches. The wait
    /// ends as soon as they are all back, and never exceeds a quarter of the last commit's
    /// duration (nor [`GATHER_MAX`]), so it costs far less than the fsyncs it shares.
    fn gather(&self, round: &Round) {
        let want = round.writers.min(self.config.max_batch);
        let deadline = Instant::now() + (round.took / 4).min(GATHER_MAX);
        while self.queue.lock().pending.len() < want && Instant::now() < deadline {
            std::thread::sleep(GATHER_STEP);
        }
    }

    /// Commits one batch and answers its callers.
    fn commit_batch(&self, batch: Vec<Pending>) -> Round {
        let started = Instant::now();
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().map(|p| (p.op, p.reply)).unzip();
        let span = tracing::debug_span!("psm_file.commit", ops = ops.len());
        let _enter = span.enter();
        let result = {
            let mut disk = self.disk.blocking_lock();
            self.commit_locked(&mut disk, &ops)
        };
        bump(&self.counters.commits, 1);
        bump(&self.counters.ops, ops.len() as u64);
        metrics::counter!("psm_file_commits_total").increment(1);
        metrics::counter!("psm_file_ops_total").increment(ops.len() as u64);
        let took = started.elapsed();
        metrics::histogram!("psm_file_commit_seconds").record(took.as_secs_f64());
        let round = Round {
            writers: ops.len() + self.queue.lock().pending.len(),
            took,
        };
        match result {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "psm-file: group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(copy_error(&e)));
                }
            }
        }
        round
    }

    /// Under the exclusive lock: catch up, plan, write. Answers per op, or one error for all.
    fn commit_locked(&self, disk: &mut Disk, ops: &[Op]) -> Result<Vec<Result<Outcome>>> {
        let Disk {
            lock,
            journal,
            spares,
        } = disk;
        let _guard = lock.exclusive()?;
        self.catch_up(journal)?;
        let (outcomes, changes) = {
            let cache = self.cache.read();
            let mut plan = Plan::new(&cache, self.config.max_sessions);
            let outcomes: Vec<Result<Outcome>> = ops.iter().map(|op| plan.apply(op)).collect();
            (outcomes, plan.finish())
        };
        if changes.is_empty() {
            return Ok(outcomes);
        }
        let writes: Vec<Write> = changes
            .into_iter()
            .map(|(id, change, on_disk)| {
                let stem = record_stem(&id);
                let put = match change {
                    Change::Put(mut entry) => {
                        let bytes = encode(&id, &entry);
                        entry.bytes = bytes.len() as u64;
                        Some((entry, bytes))
                    }
                    Change::Delete => None,
                };
                Write {
                    id,
                    stem,
                    put,
                    on_disk,
                }
            })
            .collect();
        self.write(journal, spares, writes)?;
        match journal.compact_if_longer(self.config.journal_max_bytes) {
            Ok(true) => tracing::debug!("psm-file: journal compacted"),
            Ok(false) => {}
            // the batch is durable already; a journal that stays long is harmless
            Err(e) => tracing::warn!(error = %e, "psm-file: journal compaction failed"),
        }
        Ok(outcomes)
    }

    /// Temp files (fsynced), journal, backups, renames and unlinks, directory fsyncs, cache.
    /// File operations of each phase run in parallel; the journal is appended between them.
    /// Temp files are spares (old records' inodes) rewritten in place where there are any, and
    /// replaced or deleted records become spares once the directory fsync made that durable
    /// (see [`crate::spares`]).
    fn write(&self, journal: &mut Journal, spares: &mut Spares, writes: Vec<Write>) -> Result<()> {
        let sync = self.config.fsync;
        let workers = if sync { SYNC_WORKERS } else { FAST_WORKERS };
        let shards: Vec<PathBuf> = writes
            .iter()
            .map(|w| self.layout.shard_for_stem(&w.stem))
            .collect();
        let reuse: Vec<Option<PathBuf>> = writes
            .iter()
            .zip(&shards)
            .map(|(w, dir)| w.put.as_ref().and_then(|_| spares.take(dir)))
            .collect();
        // 1. every new version in its own temp file next to its record, fsynced
        let jobs: Vec<(&Write, &PathBuf, Option<&PathBuf>)> = writes
            .iter()
            .zip(&shards)
            .zip(&reuse)
            .map(|((w, dir), spare)| (w, dir, spare.as_ref()))
            .collect();
        let made = parallel::map(&jobs, workers, |(w, dir, spare)| match &w.put {
            Some((_, bytes)) => temp_with(dir, *spare, bytes, sync).map(Some),
            None => Ok(None),
        });
        let mut temps: Vec<Option<PathBuf>> = Vec::with_capacity(writes.len());
        let mut failed = None;
        for r in made {
            match r.unwrap_or_else(|| Err(not_run())) {
                Ok(tmp) => temps.push(tmp),
                Err(e) => {
                    failed.get_or_insert(e);
                    temps.push(None);
                }
            }
        }
        if let Some(e) = failed {
            remove_all(&temps);
            return Err(e);
        }
        if sync {
            bump(&self.counters.fsyncs, temps.iter().flatten().count() as u64);
        }
        // 2. tell other processes which records are about to change (by name, never by id)
        if let Err(e) = journal.append(writes.iter().map(|w| w.stem.as_str())) {
            remove_all(&temps);
            return Err(e);
        }
        // 3. renames over the records (after backing them up or setting them aside) and
        //    removals
        let jobs: Vec<(&Write, Option<&PathBuf>)> = writes
            .iter()
            .zip(temps.iter().map(Option::as_ref))
            .collect();
        let applied = parallel::map(&jobs, workers, |(w, tmp)| self.apply_file(w, *tmp));
        let mut backups_touched = false;
        let mut set_aside: Vec<PathBuf> = Vec::new();
        for r in applied {
            match r.unwrap_or_else(|| Err(not_run())) {
                Ok(done) => {
                    backups_touched |= done.backed_up;
                    set_aside.extend(done.aside);
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        // 4. make the renames and unlinks durable: one fsync per touched directory
        if failed.is_none() && sync {
            let mut dirs: BTreeSet<PathBuf> = shards.iter().cloned().collect();
            if backups_touched {
                dirs.insert(self.layout.backups_dir().to_path_buf());
            }
            let dirs: Vec<PathBuf> = dirs.into_iter().collect();
            bump(&self.counters.fsyncs, dirs.len() as u64);
            for r in parallel::map(&dirs, workers, |d| sync_dir(d)) {
                if let Err(e) = r.unwrap_or_else(|| Err(not_run())) {
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            None => {
                // the renames that detached these inodes are durable: they may be rewritten now
                for old in set_aside {
                    // emptied first: no byte of a replaced or deleted session outlives the call
                    if spares::empty(&old).is_err() {
                        let _ = std::fs::remove_file(&old);
                        continue;
                    }
                    let dir = old.parent().map(Path::to_path_buf).unwrap_or_default();
                    if let Some(extra) = spares.give(&dir, old) {
                        let _ = std::fs::remove_file(extra);
                    }
                }
                let mut cache = self.cache.write();
                for w in writes {
                    match w.put {
                        Some((entry, _)) => cache.insert(&w.id, entry),
                        None => {
                            cache.remove(&w.id);
                            cache.clear_corrupt(&w.stem);
                        }
                    }
                }
                Ok(())
            }
            Some(e) => {
                remove_all(&temps); // the renamed ones are gone already
                for old in &set_aside {
                    // maybe still the record after a crash: never rewrite, just drop the name
                    let _ = std::fs::remove_file(old);
                }
                // part of the batch may be on disk: make the cache say what the disk says
                let mut cache = self.cache.write();
                for w in &writes {
                    match load(&self.layout, &w.stem) {
                        Ok(found) => apply_loaded(&mut cache, &w.stem, found),
                        Err(_) => apply_loaded(&mut cache, &w.stem, Loaded::Absent),
                    }
                }
                Err(e)
            }
        }
    }

    /// Puts one temp file in place (backing up the old record, or setting its inode aside as a
    /// future spare) or removes one record (setting it aside too).
    fn apply_file(&self, w: &Write, tmp: Option<&PathBuf>) -> Result<Applied> {
        let path = self.layout.record_for_stem(&w.stem);
        let dir = self.layout.shard_for_stem(&w.stem);
        match (&w.put, tmp) {
            (Some(_), Some(tmp)) => {
                let backed_up = self.config.backups > 0 && w.on_disk;
                let mut aside = None;
                if backed_up {
                    self.rotate_backups(&w.stem, &path)?;
                } else if w.on_disk {
                    // a second name keeps the old inode (and its blocks) alive past the rename
                    let name = temp_path(&dir);
                    if std::fs::hard_link(&path, &name).is_ok() {
                        aside = Some(name);
                    }
                }
                if let Err(e) = std::fs::rename(tmp, &path) {
                    if let Some(name) = &aside {
                        let _ = std::fs::remove_file(name);
                    }
                    return Err(io_error("rename into", &path, e));
                }
                Ok(Applied { backed_up, aside })
            }
            (Some(_), None) => Err(not_run()),
            (None, _) => {
                let name = temp_path(&dir);
                let aside = match std::fs::rename(&path, &name) {
                    Ok(()) => Some(name),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(io_error("remove", &path, e)),
                };
                Ok(Applied {
                    backed_up: self.remove_backups(&w.stem)?,
                    aside,
                })
            }
        }
    }

    /// Shifts backups `1..n` up by one (dropping the oldest) and links the current record as 1.
    fn rotate_backups(&self, stem: &str, current: &Path) -> Result<()> {
        let n = self.config.backups;
        remove_if_exists(&self.layout.backup(stem, n))?;
        for i in (1..n).rev() {
            rename_if_exists(
                &self.layout.backup(stem, i),
                &self.layout.backup(stem, i + 1),
            )?;
        }
        let first = self.layout.backup(stem, 1);
        match std::fs::hard_link(current, &first) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(_) => std::fs::copy(current, &first)
                .map(|_| ())
                .map_err(|e| io_error("back up", current, e)),
        }
    }

    /// Removes the backups of a deleted record (numbered from 1 up to the first gap).
    fn remove_backups(&self, stem: &str) -> Result<bool> {
        let mut removed = false;
        for i in 1..=crate::config::MAX_BACKUPS {
            if !remove_if_exists(&self.layout.backup(stem, i))? {
                break;
            }
            removed = true;
        }
        Ok(removed)
    }
}

/// What putting one file in place did.
struct Applied {
    /// The backups directory changed.
    backed_up: bool,
    /// The old record's inode, now under this temp name: a spare once the batch is durable.
    aside: Option<PathBuf>,
}

/// The new version of a record in a temp file of `dir`: the spare rewritten in place when
/// there is one (a fresh file if that fails), else a fresh file.
fn temp_with(dir: &Path, spare: Option<&PathBuf>, bytes: &[u8], sync: bool) -> Result<PathBuf> {
    if let Some(spare) = spare {
        match spares::rewrite(spare, bytes, sync) {
            Ok(()) => return Ok(spare.clone()),
            Err(e) => {
                tracing::debug!(error = %e, spare = %spare.display(), "psm-file: spare unusable");
                let _ = std::fs::remove_file(spare);
            }
        }
    }
    write_temp(dir, bytes, sync)
}

fn remove_all(paths: &[Option<PathBuf>]) {
    for p in paths.iter().flatten() {
        let _ = std::fs::remove_file(p);
    }
}

fn not_run() -> Error {
    Error::Backend {
        backend: BACKEND,
        message: "a file operation of the batch did not run".to_owned(),
        source: None,
    }
}
