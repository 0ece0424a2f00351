//! The session table: its migrations per dialect and the SQL text of every store operation.
//!
//! One row per session (`session_id` primary key, `user_id`, `permissions` as space-separated
//! text — spaces never occur in a permission —, times as BIGINT milliseconds, `metadata` as JSON
//! text), so a check is one primary-key SELECT and the per-user index is the indexed `user_id`
//! column, atomic with the session by construction. Every statement filters expired rows with
//! `expires_at IS NULL OR expires_at > ?` (now, bound in milliseconds).

use crate::dialect::Dialect;
use crate::migrate::{Migration, MigrationSet};

const LIVE: &str = "(expires_at IS NULL OR expires_at > ?)";

/// The session store's migrations under `prefix` (validated).
pub(crate) fn migrations(dialect: Dialect, prefix: &str) -> MigrationSet {
    let t = dialect.quote(&format!("{prefix}sessions"));
    let user_idx = dialect.quote(&format!("{prefix}sessions_user_idx"));
    let expires_idx = dialect.quote(&format!("{prefix}sessions_expires_idx"));
    let statements = match dialect {
        Dialect::Postgres => vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 session_id TEXT COLLATE \"C\" NOT NULL PRIMARY KEY, \
                 user_id TEXT COLLATE \"C\" NOT NULL, \
                 permissions TEXT NOT NULL, \
                 created_at BIGINT NOT NULL, \
                 updated_at BIGINT NOT NULL, \
                 expires_at BIGINT NULL, \
                 metadata TEXT NOT NULL)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {user_idx} ON {t} (user_id)"),
            format!("CREATE INDEX IF NOT EXISTS {expires_idx} ON {t} (expires_at)"),
        ],
        Dialect::Sqlite => vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 session_id TEXT NOT NULL PRIMARY KEY, \
                 user_id TEXT NOT NULL, \
                 permissions TEXT NOT NULL, \
                 created_at INTEGER NOT NULL, \
                 updated_at INTEGER NOT NULL, \
                 expires_at INTEGER NULL, \
                 metadata TEXT NOT NULL) WITHOUT ROWID"
            ),
            format!("CREATE INDEX IF NOT EXISTS {user_idx} ON {t} (user_id)"),
            format!("CREATE INDEX IF NOT EXISTS {expires_idx} ON {t} (expires_at)"),
        ],
        // Ids are VARBINARY: compared byte for byte (case-sensitive, no trailing-space padding)
        // and at most 255 bytes, well inside InnoDB's index key limit.
        Dialect::MySql => vec![format!(
            "CREATE TABLE IF NOT EXISTS {t} (\
             session_id VARBINARY(255) NOT NULL, \
             user_id VARBINARY(255) NOT NULL, \
             permissions LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
             created_at BIGINT NOT NULL, \
             updated_at BIGINT NOT NULL, \
             expires_at BIGINT NULL, \
             metadata LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
             PRIMARY KEY (session_id), \
             INDEX {user_idx} (user_id), \
             INDEX {expires_idx} (expires_at)\
             ) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        )],
    };
    MigrationSet {
        table: format!("{prefix}migrations"),
        migrations: vec![Migration {
            version: 1,
            name: "sessions",
            statements,
        }],
    }
}

/// The SQL text of every session operation, built once per store.
#[derive(Debug, Clone)]
pub(crate) struct SessionSql {
    /// Unquoted table name (for error locations).
    pub table: String,
    pub upsert: String,
    pub select_permissions: String,
    pub select_session: String,
    pub update_permissions: String,
    pub update_permissions_ttl: String,
    pub extend: String,
    pub delete: String,
    pub list: String,
    pub count: String,
    pub stats: String,
    pub cleanup: String,
}

impl SessionSql {
    /// Statements for the table `{prefix}sessions`; cleanup deletes at most `batch` rows each.
    pub(crate) fn new(dialect: Dialect, prefix: &str, batch: u32) -> Self {
        let table = format!("{prefix}sessions");
        let t = dialect.quote(&table);
        let q = |s: String| dialect.sql(&s);
        let columns =
            "session_id, user_id, permissions, created_at, updated_at, expires_at, metadata";
        let upsert = match dialect {
            Dialect::MySql => format!(
                "INSERT INTO {t} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
                 user_id = VALUES(user_id), permissions = VALUES(permissions), \
                 created_at = VALUES(created_at), updated_at = VALUES(updated_at), \
                 expires_at = VALUES(expires_at), metadata = VALUES(metadata)"
            ),
            _ => format!(
                "INSERT INTO {t} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) \
                 DO UPDATE SET user_id = excluded.user_id, permissions = excluded.permissions, \
                 created_at = excluded.created_at, updated_at = excluded.updated_at, \
                 expires_at = excluded.expires_at, metadata = excluded.metadata"
            ),
        };
        let cleanup = match dialect {
            Dialect::MySql => {
                format!("DELETE FROM {t} WHERE expires_at <= ? ORDER BY expires_at LIMIT {batch}")
            }
            Dialect::Postgres => format!(
                "DELETE FROM {t} WHERE expires_at <= ? AND session_id IN \
                 (SELECT session_id FROM {t} WHERE expires_at <= ? LIMIT {batch} FOR UPDATE SKIP LOCKED)"
            ),
            Dialect::Sqlite => format!(
                "DELETE FROM {t} WHERE expires_at <= ? AND session_id IN \
                 (SELECT session_id FROM {t} WHERE expires_at <= ? LIMIT {batch})"
            ),
        };
        SessionSql {
            upsert: q(upsert),
            select_permissions: q(format!(
                "SELECT permissions FROM {t} WHERE session_id = ? AND {LIVE}"
            )),
            select_session: q(format!(
                "SELECT user_id, permissions, created_at, updated_at, expires_at, metadata \
                 FROM {t} WHERE session_id = ? AND {LIVE}"
            )),
            update_permissions: q(format!(
                "UPDATE {t} SET permissions = ?, updated_at = ? WHERE session_id = ? AND {LIVE}"
            )),
            update_permissions_ttl: q(format!(
                "UPDATE {t} SET permissions = ?, updated_at = ?, expires_at = ? \
                 WHERE session_id = ? AND {LIVE}"
            )),
            extend: q(format!(
                "UPDATE {t} SET expires_at = ?, updated_at = ? WHERE session_id = ? AND {LIVE}"
            )),
            delete: q(format!("DELETE FROM {t} WHERE session_id = ? AND {LIVE}")),
            list: q(format!(
                "SELECT session_id FROM {t} WHERE user_id = ? AND {LIVE}"
            )),
            count: q(format!("SELECT COUNT(*) FROM {t} WHERE {LIVE}")),
            stats: q(format!(
                "SELECT (SELECT COUNT(*) FROM {t} WHERE {LIVE}), \
                 (SELECT COUNT(*) FROM {t} WHERE expires_at <= ?), \
                 (SELECT COUNT(DISTINCT user_id) FROM {t} WHERE {LIVE})"
            )),
            cleanup: q(cleanup),
            table,
        }
    }

    /// How many times `now` is bound by the cleanup statement.
    pub(crate) fn cleanup_binds(dialect: Dialect) -> usize {
        match dialect {
            Dialect::MySql => 1,
            _ => 2,
        }
    }
}
