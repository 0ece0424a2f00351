//! `psm rebac watch --after N [--follow]`: relationship changes after a revision, one line per
//! change (`REVISION OP RELATIONSHIP`), at most `--limit` per poll; `--follow` keeps
//! long-polling until interrupted.

use std::time::Duration;

use psm_rebac::{Change, Revision, TupleStore};
use psm_server::render::{change_json, op_name};
use serde_json::{Value, json};

use crate::error::{CliError, Outcome};
use crate::output::Output;

/// How long one poll of `--follow` waits before asking again.
const FOLLOW_WAIT: Duration = Duration::from_secs(30);

fn change_line(c: &Change) -> String {
    format!("{} {} {}", c.revision, op_name(c.op), c.relationship)
}

/// At most `limit` changes after `after` (whole writes), waiting up to `wait` for the first.
async fn batch(
    store: &dyn TupleStore,
    after: Revision,
    limit: usize,
    wait: Duration,
) -> Result<Vec<Change>, CliError> {
    let mut changes = if wait.is_zero() {
        store.changes_since(after, limit).await?
    } else {
        store.watch_next(after, wait).await?
    };
    if changes.len() > limit {
        changes = store.changes_since(after, limit).await?;
    }
    Ok(changes)
}

/// Runs the command.
pub async fn run(
    store: &dyn TupleStore,
    after: Revision,
    follow: bool,
    limit: usize,
    out: &Output,
) -> Result<Outcome, CliError> {
    if !follow {
        let changes = batch(store, after, limit, Duration::ZERO).await?;
        let next = changes.last().map_or(after, |c| c.revision);
        let list: Vec<Value> = changes.iter().map(change_json).collect();
        out.emit(json!({"changes": list, "revision": next}), || {
            changes
                .iter()
                .map(change_line)
                .collect::<Vec<_>>()
                .join("\n")
        });
        return Ok(Outcome::Done);
    }
    let mut after = after;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let changes = tokio::select! {
            _ = &mut interrupted => return Ok(Outcome::Done),
            r = batch(store, after, limit, FOLLOW_WAIT) => r?,
        };
        for c in &changes {
            // JSON: one object per line, so a reader can act on each as it comes.
            out.emit(change_json(c), || change_line(c));
        }
        if let Some(last) = changes.last() {
            after = last.revision;
        }
    }
}
