//! Watching a store: the polling `watch_next` stores without a wake-up signal use (backoff
//! bounded by the wait), and [`watch`], a `Stream` of changes built on `watch_next`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;

use super::change::{Change, MAX_CHANGES};
use super::{Revision, TupleStore};
use crate::error::Result;

/// First pause between two polls of a polling `watch_next`.
pub const POLL_MIN: Duration = Duration::from_millis(5);
/// Longest pause between two polls (the backoff doubles up to this, and never past the wait).
pub const POLL_MAX: Duration = Duration::from_millis(200);
/// How long each `watch_next` of a [`watch`] stream waits before polling again.
pub const STREAM_WAIT: Duration = Duration::from_secs(30);

/// When a wait of `wait` from now ends (a wait too long to represent ends in a year).
pub(crate) fn deadline(wait: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// Polls `changes_since(after)` until it returns something or `wait` runs out, pausing
/// [`POLL_MIN`] doubling to [`POLL_MAX`] between polls. Needs Tokio's time driver.
pub async fn poll_changes<S: TupleStore + ?Sized>(
    store: &S,
    after: Revision,
    wait: Duration,
) -> Result<Vec<Change>> {
    let deadline = deadline(wait);
    let mut pause = POLL_MIN;
    loop {
        let changes = store.changes_since(after, MAX_CHANGES).await?;
        let now = tokio::time::Instant::now();
        if !changes.is_empty() || now >= deadline {
            return Ok(changes);
        }
        tokio::time::sleep_until((now + pause).min(deadline)).await;
        pause = (pause * 2).min(POLL_MAX);
    }
}

/// Every change after `after`, in revision order, as a `Stream` (for cache invalidation).
///
/// The stream buffers at most one batch (`MAX_CHANGES`) and waits with
/// [`TupleStore::watch_next`]; it never ends on its own. An error — e.g.
/// [`Error::ChangesPruned`](crate::Error::ChangesPruned) when the watcher fell behind the
/// pruned horizon — is yielded once and ends the stream: resync and watch again from the
/// store's head. Needs a Tokio runtime with the time driver.
pub fn watch(
    store: Arc<dyn TupleStore>,
    after: Revision,
) -> impl Stream<Item = Result<Change>> + Send + 'static {
    struct State {
        store: Arc<dyn TupleStore>,
        after: Revision,
        buffer: VecDeque<Change>,
        done: bool,
    }
    let state = State {
        store,
        after,
        buffer: VecDeque::new(),
        done: false,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            if let Some(c) = s.buffer.pop_front() {
                return Some((Ok(c), s));
            }
            match s.store.watch_next(s.after, STREAM_WAIT).await {
                Ok(batch) => {
                    if let Some(last) = batch.last() {
                        s.after = last.revision;
                    }
                    s.buffer.extend(batch);
                }
                Err(e) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
            }
        }
    })
}
