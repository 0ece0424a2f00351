//! Session-key operations shared by single-server and cluster mode: the one-round-trip reads
//! (check, get) and the calls of the session scripts.

use std::sync::Arc;

use psm_core::permission::ParsedPermission;
use psm_core::{Result, Session, Timestamp};
use redis::Value;

use crate::conn::Link;
use crate::record::{CheckField, SESSION_FIELDS, corrupt, decode_session};
use crate::scripts::{EXTEND_SCRIPT, INVALIDATE_SCRIPT, STORE_SCRIPT, UPDATE_SCRIPT};

/// The `p` field of a session: one `HGET`, the only command a check sends (batched with
/// concurrent calls on its connection).
pub(crate) async fn fetch_check_field(
    link: &Arc<Link>,
    op: &'static str,
    key: &str,
) -> Result<Option<String>> {
    link.run_batched(op, || {
        let mut cmd = redis::Cmd::with_capacity(3, key.len() + 5);
        cmd.arg("HGET").arg(key).arg("p");
        cmd
    })
    .await
}

/// Checks each of `permissions` against the live session at `key` (false when there is none).
pub(crate) fn evaluate(
    raw: Option<&str>,
    key: &str,
    now: Timestamp,
    permissions: &[ParsedPermission<'_>],
) -> Result<Vec<bool>> {
    let Some(raw) = raw else {
        return Ok(vec![false; permissions.len()]);
    };
    let field = CheckField::parse(raw, key)?;
    if !field.is_live(now) {
        return Ok(vec![false; permissions.len()]);
    }
    let grants = field.compile(key)?;
    Ok(permissions
        .iter()
        .map(|p| grants.check_parsed(*p))
        .collect())
}

/// [`evaluate`] for one permission, without compiling the grants for a concrete one.
pub(crate) fn evaluate_one(
    raw: Option<&str>,
    key: &str,
    now: Timestamp,
    permission: ParsedPermission<'_>,
) -> Result<bool> {
    let Some(raw) = raw else {
        return Ok(false);
    };
    let field = CheckField::parse(raw, key)?;
    if !field.is_live(now) {
        return Ok(false);
    }
    field.check(permission, key)
}

/// The live session at `key`, one `HMGET`.
pub(crate) async fn get(
    link: &Link,
    session_id: &str,
    key: &str,
    now: Timestamp,
) -> Result<Option<Session>> {
    let fields: Vec<Option<String>> = link
        .run("get_session", |mut c| async move {
            redis::cmd("HMGET")
                .arg(key)
                .arg(&SESSION_FIELDS[..])
                .query_async(&mut c)
                .await
        })
        .await?;
    let fields: [Option<String>; 5] = fields
        .try_into()
        .map_err(|_| corrupt(key, "HMGET returned the wrong number of fields"))?;
    decode_session(session_id, key, fields, now)
}

/// Arguments of a session write.
#[derive(Debug)]
pub(crate) struct Write<'a> {
    pub(crate) prefix: &'a str,
    pub(crate) session_id: &'a str,
    pub(crate) key: &'a str,
    pub(crate) now: Timestamp,
    /// Expiry in ms as text (`""` = none or keep).
    pub(crate) score: String,
    /// `PEXPIREAT` argument: one ms before the expiry, so the key is gone at the expiry instant.
    pub(crate) pexpireat: String,
    /// `true` on a single server: the script updates the index in the same atomic step.
    pub(crate) with_index: bool,
}

impl<'a> Write<'a> {
    pub(crate) fn new(
        prefix: &'a str,
        session_id: &'a str,
        key: &'a str,
        now: Timestamp,
        expires_at: Option<Timestamp>,
        with_index: bool,
    ) -> Self {
        let (score, pexpireat) = match expires_at {
            Some(e) => (
                e.as_millis().to_string(),
                e.as_millis().saturating_sub(1).to_string(),
            ),
            None => (String::new(), String::new()),
        };
        Write {
            prefix,
            session_id,
            key,
            now,
            score,
            pexpireat,
            with_index,
        }
    }

    fn flag(&self) -> &'static str {
        if self.with_index { "1" } else { "0" }
    }
}

/// Stores the record; returns the previous owner. `index_key` is the new owner's index (used
/// when `with_index`). The `EVALSHA` is batched with concurrent calls on its connection; a
/// server that lost the script (`NOSCRIPT`: restarted, `SCRIPT FLUSH`) gets the same call
/// through the driver's `Script`, which loads it first. NOSCRIPT means nothing ran, so the
/// second call is the only one.
pub(crate) async fn store(
    link: &Arc<Link>,
    w: &Write<'_>,
    index_key: &str,
    user_id: &str,
    check_field: &str,
    metadata: &str,
) -> Result<Option<String>> {
    let evalsha = || {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(STORE_SCRIPT.get_hash())
            .arg(if w.with_index { 2 } else { 1 })
            .arg(w.key);
        if w.with_index {
            cmd.arg(index_key);
        }
        cmd.arg(w.prefix)
            .arg(w.session_id)
            .arg(user_id)
            .arg(check_field)
            .arg(w.now.as_millis())
            .arg(metadata)
            .arg(&w.score)
            .arg(&w.pexpireat)
            .arg(w.flag());
        cmd
    };
    match link.run_batched("store_session", evalsha).await {
        Err(err) if is_noscript(&err) => {}
        done => return done,
    }
    link.run("store_session", |mut c| async move {
        let mut call = STORE_SCRIPT.key(w.key);
        if w.with_index {
            call.key(index_key);
        }
        call.arg(w.prefix)
            .arg(w.session_id)
            .arg(user_id)
            .arg(check_field)
            .arg(w.now.as_millis())
            .arg(metadata)
            .arg(&w.score)
            .arg(&w.pexpireat)
            .arg(w.flag())
            .invoke_async(&mut c)
            .await
    })
    .await
}

/// True for the server's `NOSCRIPT` reply (the script is not loaded; nothing ran).
fn is_noscript(err: &psm_core::Error) -> bool {
    let psm_core::Error::Backend {
        source: Some(source),
        ..
    } = err
    else {
        return false;
    };
    source
        .downcast_ref::<redis::RedisError>()
        .is_some_and(|e| e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
}

/// Outcome of a conditional session write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No live session.
    Missing,
    /// Written; the session belongs to this user.
    Done(String),
    /// Owned by this other user; nothing written.
    OwnedBy(String),
}

fn outcome(value: (i64, String)) -> Outcome {
    match value {
        (1, user) => Outcome::Done(user),
        (2, user) => Outcome::OwnedBy(user),
        _ => Outcome::Missing,
    }
}

/// Replaces the grants (`w.score == ""` keeps the TTL). `expected` guards the owner (cluster).
pub(crate) async fn update(
    link: &Link,
    w: &Write<'_>,
    grants_tail: &str,
    expected: &str,
) -> Result<Outcome> {
    link.run("update_permissions", |mut c| async move {
        UPDATE_SCRIPT
            .key(w.key)
            .arg(w.prefix)
            .arg(w.session_id)
            .arg(grants_tail)
            .arg(w.now.as_millis())
            .arg(&w.score)
            .arg(&w.pexpireat)
            .arg(w.flag())
            .arg(expected)
            .invoke_async(&mut c)
            .await
    })
    .await
    .map(outcome)
}

/// Sets a new expiry. `expected` guards the owner (cluster).
pub(crate) async fn extend(link: &Link, w: &Write<'_>, expected: &str) -> Result<Outcome> {
    link.run("extend_session_ttl", |mut c| async move {
        EXTEND_SCRIPT
            .key(w.key)
            .arg(w.prefix)
            .arg(w.session_id)
            .arg(w.now.as_millis())
            .arg(&w.score)
            .arg(&w.pexpireat)
            .arg(w.flag())
            .arg(expected)
            .invoke_async(&mut c)
            .await
    })
    .await
    .map(outcome)
}

/// Deletes the session; returns whether it was live and its owner (if there was a record).
pub(crate) async fn invalidate(link: &Link, w: &Write<'_>) -> Result<(bool, Option<String>)> {
    let (status, user): (i64, String) = link
        .run("invalidate_session", |mut c| async move {
            INVALIDATE_SCRIPT
                .key(w.key)
                .arg(w.prefix)
                .arg(w.session_id)
                .arg(w.now.as_millis())
                .arg(w.flag())
                .invoke_async(&mut c)
                .await
        })
        .await?;
    Ok((status == 1, (!user.is_empty()).then_some(user)))
}

/// The owner of the session at `key` and its expiry field, if there is a record (`HMGET u p`).
pub(crate) async fn owner(link: &Link, key: &str) -> Result<Option<(String, String)>> {
    let rec: (Option<String>, Option<String>) = link
        .run("read_owner", |mut c| async move {
            redis::cmd("HMGET")
                .arg(key)
                .arg("u")
                .arg("p")
                .query_async(&mut c)
                .await
        })
        .await?;
    Ok(match rec {
        (Some(u), Some(p)) => Some((u, p)),
        _ => None,
    })
}

/// Decodes a script reply of the shape `{removed, {ids}}`.
pub(crate) fn removed_and_ids(value: Value, key: &str) -> Result<(u64, Vec<String>)> {
    redis::from_redis_value::<(u64, Vec<String>)>(value)
        .map_err(|e| corrupt(key, &format!("unexpected script reply: {e}")))
}
