//! `psm session ...`: store, check, get, list, update, extend, invalidate, cleanup and stats of
//! per-session permission sets, through `PermissionStorageManager` on the chosen URL.

use std::time::Duration;

use clap::Subcommand;
use permission_storage_manager::{NewSession, PermissionStorageManager, Timestamp};
use serde_json::{Value, json};

use crate::error::{CliError, Outcome};
use crate::output::Output;
use psm_core::duration::parse_ttl;
use psm_server::render::session_json;

/// The session subcommands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Store (or replace) a session's permissions. Without --ttl the default is one hour.
    Store {
        /// Session id: 1-255 bytes of [A-Za-z0-9._~-].
        session_id: String,
        /// The user the session belongs to.
        user_id: String,
        /// Granted permissions (patterns allowed: `posts:*`, `admin>`, `*`).
        permissions: Vec<String>,
        /// Time to live: seconds, or 90s, 15m, 1.5h, 1h30m, 7d, 2w (at most 100y).
        #[arg(long, value_parser = parse_ttl, conflicts_with = "no_expiry")]
        ttl: Option<Duration>,
        /// The session never expires.
        #[arg(long)]
        no_expiry: bool,
        /// A JSON object kept with the session.
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Check permissions; exit 0 when all are allowed, 1 otherwise.
    Check {
        /// Session id.
        session_id: String,
        /// Permissions to check (a pattern asks whether the grants cover all of it).
        #[arg(required = true)]
        permissions: Vec<String>,
    },
    /// Show a session (exit 1 when there is no live session with this id).
    Get {
        /// Session id.
        session_id: String,
    },
    /// List a user's live sessions.
    List {
        /// User id.
        user_id: String,
    },
    /// Replace a session's permissions; without --ttl the remaining TTL is kept.
    Update {
        /// Session id.
        session_id: String,
        /// The new permissions.
        permissions: Vec<String>,
        /// A new time to live.
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
    },
    /// Give a session a new TTL from now.
    Extend {
        /// Session id.
        session_id: String,
        /// Time to live: seconds, or 90s, 15m, 1.5h, 1h30m, 7d, 2w (at most 100y).
        #[arg(value_parser = parse_ttl)]
        ttl: Duration,
    },
    /// Delete a session (exit 1 when there was none).
    Invalidate {
        /// Session id.
        session_id: String,
    },
    /// Remove expired sessions and print how many went.
    Cleanup,
    /// Backend statistics and health.
    Stats,
}

/// Runs one session subcommand against the store at `url`.
impl SessionCommand {
    /// Whether the command changes the store (and so may create it).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            SessionCommand::Store { .. }
                | SessionCommand::Update { .. }
                | SessionCommand::Extend { .. }
                | SessionCommand::Invalidate { .. }
                | SessionCommand::Cleanup
        )
    }
}

pub async fn run(cmd: SessionCommand, url: &str, out: &Output) -> Result<Outcome, CliError> {
    let manager = PermissionStorageManager::connect(url).await?;
    let result = execute(&manager, cmd, out).await;
    let closed = manager.close().await;
    let outcome = result?;
    closed?;
    Ok(outcome)
}

async fn execute(
    m: &PermissionStorageManager,
    cmd: SessionCommand,
    out: &Output,
) -> Result<Outcome, CliError> {
    match cmd {
        SessionCommand::Store {
            session_id,
            user_id,
            permissions,
            ttl,
            no_expiry,
            metadata,
        } => {
            let mut new = NewSession::new(session_id, user_id).permissions(permissions);
            new = if no_expiry {
                new.no_expiry()
            } else {
                new.ttl_or_default(ttl)
            };
            if let Some(text) = metadata {
                new = new.metadata(parse_metadata(&text)?);
            }
            let session = m.store_session(new).await?;
            out.emit(session_json(&session), || {
                format!(
                    "stored session {} for {} ({} permissions, {})",
                    session.session_id,
                    session.user_id,
                    session.permissions.len(),
                    expiry_text(session.expires_at)
                )
            });
            Ok(Outcome::Done)
        }
        SessionCommand::Check {
            session_id,
            permissions,
        } => {
            let answers = m.check_permissions(&session_id, &permissions).await?;
            let all = permissions
                .iter()
                .all(|p| answers.get(p).copied().unwrap_or(false));
            out.emit(
                json!({"session_id": session_id, "allowed": all, "results": answers}),
                || {
                    permissions
                        .iter()
                        .map(|p| {
                            let ok = answers.get(p).copied().unwrap_or(false);
                            format!("{:<8} {p}", if ok { "allowed" } else { "denied" })
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            Ok(Outcome::from_bool(all))
        }
        SessionCommand::Get { session_id } => match m.get_permissions(&session_id).await? {
            Some(s) => {
                out.emit(session_json(&s), || {
                    format!(
                        "session {}\nuser {}\npermissions {}\nmetadata {}\n{}",
                        s.session_id,
                        s.user_id,
                        s.permissions.join(" "),
                        s.metadata,
                        expiry_text(s.expires_at)
                    )
                });
                Ok(Outcome::Done)
            }
            None => not_found(out, &session_id),
        },
        SessionCommand::List { user_id } => {
            let ids = m.list_sessions(&user_id).await?;
            out.emit(json!({"user_id": user_id, "sessions": ids}), || {
                ids.join("\n")
            });
            Ok(Outcome::Done)
        }
        SessionCommand::Update {
            session_id,
            permissions,
            ttl,
        } => {
            if m.update_permissions(&session_id, &permissions, ttl).await? {
                out.emit(json!({"session_id": session_id, "updated": true}), || {
                    format!("updated session {session_id}")
                });
                Ok(Outcome::Done)
            } else {
                not_found(out, &session_id)
            }
        }
        SessionCommand::Extend { session_id, ttl } => {
            if m.extend_session_ttl(&session_id, ttl).await? {
                out.emit(
                    json!({"session_id": session_id, "extended": true, "ttl_seconds": ttl.as_secs()}),
                    || format!("session {session_id} now expires in {} s", ttl.as_secs()),
                );
                Ok(Outcome::Done)
            } else {
                not_found(out, &session_id)
            }
        }
        SessionCommand::Invalidate { session_id } => {
            if m.invalidate_session(&session_id).await? {
                out.emit(
                    json!({"session_id": session_id, "invalidated": true}),
                    || format!("invalidated session {session_id}"),
                );
                Ok(Outcome::Done)
            } else {
                not_found(out, &session_id)
            }
        }
        SessionCommand::Cleanup => {
            let n = m.cleanup_expired_sessions().await?;
            out.emit(json!({"removed": n}), || {
                format!("removed {n} expired sessions")
            });
            Ok(Outcome::Done)
        }
        SessionCommand::Stats => {
            let stats = m.stats().await?;
            let health = m.health_check().await;
            let value = json!({
                "stats": stats,
                "health": {
                    "backend": health.backend,
                    "healthy": health.healthy,
                    "latency_ms": health.latency.as_secs_f64() * 1000.0,
                    "message": health.message,
                },
            });
            out.emit(value, || {
                let mut lines = vec![
                    format!("backend {}", stats.backend),
                    format!("live sessions {}", stats.live_sessions),
                    format!("expired pending cleanup {}", stats.expired_pending),
                ];
                if let Some(u) = stats.users {
                    lines.push(format!("users {u}"));
                }
                lines.push(format!(
                    "healthy {} ({:.2} ms)",
                    health.healthy,
                    health.latency.as_secs_f64() * 1000.0
                ));
                if let Some(msg) = &health.message {
                    lines.push(format!("health message {msg}"));
                }
                lines.join("\n")
            });
            Ok(Outcome::from_bool(health.healthy))
        }
    }
}

fn not_found(out: &Output, session_id: &str) -> Result<Outcome, CliError> {
    out.emit(json!({"session_id": session_id, "found": false}), || {
        format!("no session {session_id}")
    });
    Ok(Outcome::Denied)
}

/// A metadata argument: it must be a JSON object.
fn parse_metadata(text: &str) -> Result<Value, CliError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(CliError::input("--metadata must be a JSON object")),
        Err(e) => Err(CliError::input(format!(
            "--metadata is not JSON: line {}, column {}: {e}",
            e.line(),
            e.column()
        ))),
    }
}

fn expiry_text(expires_at: Option<Timestamp>) -> String {
    match expires_at {
        None => "never expires".to_owned(),
        Some(t) => format!(
            "expires in {} s",
            t.saturating_since(Timestamp::now()).as_secs()
        ),
    }
}
