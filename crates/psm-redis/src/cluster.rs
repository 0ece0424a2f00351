//! Cluster mode: the session key (slot of the session id) and the user index (slot of the user
//! id) live in different slots, so each changes in its own atomic step, in an order that keeps
//! one invariant:
//!
//! > every live session of user `u` is in `u`'s index with a score at least its expiry.
//!
//! * A write first **raises** the index entry (`ZADD GT`: scores only grow), then writes the
//!   session (a script conditional on the owner it expects), then raises again. A crash between
//!   steps leaves at most an extra entry, never a missing one.
//! * An entry is removed (invalidate, a session moved to another user, `list_sessions` finding
//!   it dead or foreign) by `ZREM` followed by a **re-check** of the session record: if a
//!   concurrent write made it live for that user meanwhile, the entry is put back. Together with
//!   the second raise of writers this closes every interleaving.
//! * `list_sessions` verifies every candidate against its session record, so it never returns a
//!   dead or foreign session; dropping entries whose score has passed is safe by the invariant.
//!
//! The guarantee: session changes are atomic; `list_sessions` never returns a dead or foreign
//! session, and never misses a live session whose write has returned. While a write is in
//! flight (or after a write failed midway) the index may hold an extra entry that the next
//! `list_sessions` or `cleanup_expired_sessions` drops.

use std::sync::Arc;

use futures_util::future::join_all;
use psm_core::{Error, Result, Timestamp};

use crate::conn::{BACKEND, Link};
use crate::keys::Keys;
use crate::record::CheckField;
use crate::scripts::{INDEX_CANDIDATES_SCRIPT, INDEX_RAISE_SCRIPT};
use crate::sessions::{self, Outcome, Write, removed_and_ids};

/// Most attempts of an expiry change racing with owner changes before giving up.
const MAX_OWNER_RACES: usize = 4;
/// Most index entries verified concurrently.
const VERIFY_BATCH: usize = 256;

/// Adds `session_id` to the index or raises its score to `score` (`""` = no expiry).
pub(crate) async fn raise(
    link: &Link,
    index_key: &str,
    session_id: &str,
    score: &str,
    now: Timestamp,
) -> Result<()> {
    let score = if score.is_empty() { "+inf" } else { score };
    link.run("index_raise", |mut c| async move {
        INDEX_RAISE_SCRIPT
            .key(index_key)
            .arg(session_id)
            .arg(score)
            .arg(now.as_millis())
            .invoke_async::<i64>(&mut c)
            .await
    })
    .await
    .map(drop)
}

/// Removes an index entry, then puts it back if the session turns out live for `user_id`.
/// Returns true when the entry stayed removed.
pub(crate) async fn remove_rechecked(
    link: &Link,
    keys: &Keys,
    user_id: &str,
    session_id: &str,
    now: Timestamp,
) -> Result<bool> {
    let index_key = keys.index(user_id);
    let session_key = keys.session(session_id);
    link.run("index_remove", |mut c| {
        let (index_key, session_id) = (&index_key, session_id);
        async move {
            redis::cmd("ZREM")
                .arg(index_key)
                .arg(session_id)
                .query_async::<i64>(&mut c)
                .await
        }
    })
    .await?;
    if let Some((owner, p)) = sessions::owner(link, &session_key).await? {
        let field = CheckField::parse(&p, &session_key)?;
        if owner == user_id && field.is_live(now) {
            let score = field
                .expires_at
                .map(|e| e.as_millis().to_string())
                .unwrap_or_default();
            raise(link, &index_key, session_id, &score, now).await?;
            return Ok(false);
        }
    }
    Ok(true)
}

/// Stores a session: raise the new owner's index, write, raise again, unlink the old owner.
pub(crate) async fn store(
    link: &Arc<Link>,
    keys: &Keys,
    w: &Write<'_>,
    user_id: &str,
    check_field: &str,
    metadata: &str,
) -> Result<()> {
    let index_key = keys.index(user_id);
    raise(link, &index_key, w.session_id, &w.score, w.now).await?;
    let old = sessions::store(link, w, &index_key, user_id, check_field, metadata).await?;
    raise(link, &index_key, w.session_id, &w.score, w.now).await?;
    if let Some(old) = old.filter(|old| old != user_id) {
        remove_rechecked(link, keys, &old, w.session_id, w.now).await?;
    }
    Ok(())
}

/// What an expiry change writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// `update_permissions` with a TTL: new grants and a new expiry.
    Update { grants_tail: &'a str },
    /// `extend_session_ttl`.
    Extend,
}

/// Changes the expiry of a live session: read the owner, raise the owner's index, write
/// (only if the owner is still the same), raise again.
pub(crate) async fn change_expiry(
    link: &Link,
    keys: &Keys,
    w: &Write<'_>,
    change: Change<'_>,
) -> Result<bool> {
    for _ in 0..MAX_OWNER_RACES {
        let Some((owner, p)) = sessions::owner(link, w.key).await? else {
            return Ok(false);
        };
        if !CheckField::parse(&p, w.key)?.is_live(w.now) {
            return Ok(false);
        }
        let index_key = keys.index(&owner);
        raise(link, &index_key, w.session_id, &w.score, w.now).await?;
        let outcome = match change {
            Change::Update { grants_tail } => {
                sessions::update(link, w, grants_tail, &owner).await?
            }
            Change::Extend => sessions::extend(link, w, &owner).await?,
        };
        match outcome {
            Outcome::Missing => return Ok(false),
            Outcome::Done(_) => {
                raise(link, &index_key, w.session_id, &w.score, w.now).await?;
                return Ok(true);
            }
            Outcome::OwnedBy(_) => continue,
        }
    }
    Err(Error::Backend {
        backend: BACKEND,
        message: "the session changed owner during every attempt to change its expiry".into(),
        source: None,
    })
}

/// Deletes a session, then unlinks it from its owner's index.
pub(crate) async fn invalidate(link: &Link, keys: &Keys, w: &Write<'_>) -> Result<bool> {
    let (live, owner) = sessions::invalidate(link, w).await?;
    if let Some(owner) = owner {
        remove_rechecked(link, keys, &owner, w.session_id, w.now).await?;
    }
    Ok(live)
}

/// Lists a user's live sessions, verifying every entry and dropping dead or foreign ones.
/// Returns (entries removed, live ids).
pub(crate) async fn list(
    link: &Link,
    keys: &Keys,
    user_id: &str,
    now: Timestamp,
) -> Result<(u64, Vec<String>)> {
    let index_key = keys.index(user_id);
    let reply = link
        .run("list_sessions", |mut c| {
            let index_key = &index_key;
            async move {
                INDEX_CANDIDATES_SCRIPT
                    .key(index_key)
                    .arg(now.as_millis())
                    .invoke_async(&mut c)
                    .await
            }
        })
        .await?;
    let (mut removed, candidates) = removed_and_ids(reply, &index_key)?;
    let mut live = Vec::with_capacity(candidates.len());
    for batch in candidates.chunks(VERIFY_BATCH) {
        let owners = join_all(batch.iter().map(|sid| {
            let key = keys.session(sid);
            async move { sessions::owner(link, &key).await.map(|o| (key, o)) }
        }))
        .await;
        let mut dead = Vec::new();
        for (sid, found) in batch.iter().zip(owners) {
            let (key, owner) = found?;
            let is_live = match owner {
                Some((owner, p)) => owner == user_id && CheckField::parse(&p, &key)?.is_live(now),
                None => false,
            };
            if is_live {
                live.push(sid.clone());
            } else {
                dead.push(sid);
            }
        }
        let outcomes = join_all(
            dead.iter()
                .map(|sid| remove_rechecked(link, keys, user_id, sid, now)),
        )
        .await;
        for outcome in outcomes {
            if outcome? {
                removed += 1;
            }
        }
    }
    Ok((removed, live))
}
