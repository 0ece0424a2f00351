//! The ReBAC tables: their versioned migrations per dialect and the fixed SQL text of the store.
//!
//! `{prefix}rebac_tuples` holds one row per relationship; its primary key is the forward index
//! (resource, relation, subject type, subject relation, subject id) and
//! `{prefix}rebac_tuples_rev` the reverse one (subject, then resource type and relation).
//! `subject_relation` is `''` for a plain subject (relation names are never empty), so both
//! indexes are plain composite keys on every database. Caveat name and context (JSON text) and
//! the expiration (as written, and as milliseconds since the epoch for filtering) are stored
//! from the first version on. `{prefix}rebac_revision` is a one-row counter bumped by every
//! write (it also serialises writes), `{prefix}rebac_changes` the change log a watch polls,
//! and `{prefix}rebac_schema` the schema source text. Version 2 adds `{prefix}rebac_tuples_cav`,
//! the caveated relationships by resource type and relation (partial on PostgreSQL and SQLite).

use crate::dialect::Dialect;
use crate::migrate::{Migration, MigrationSet};

/// Longest type or relation name stored (psm-rebac's `MAX_NAME_LEN`).
pub(crate) const NAME_LEN: usize = 254;
/// Longest object id stored (psm-rebac's `MAX_OBJECT_ID_LEN`).
pub(crate) const ID_LEN: usize = 1024;

/// Column list of a relationship row, in the order rows are decoded.
pub(crate) const TUPLE_COLUMNS: &str = "resource_type, resource_id, relation, subject_type, \
     subject_id, subject_relation, caveat_name, caveat_context, expiration";

/// The key columns, in primary-key order.
pub(crate) const KEY_COLUMNS: &str =
    "resource_type, resource_id, relation, subject_type, subject_relation, subject_id";

/// Quoted table names under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub tuples: String,
    pub changes: String,
    pub revision: String,
    pub schema: String,
    /// Unquoted name of the tuple table (for messages and callers' own SQL).
    pub tuples_plain: String,
}

impl Tables {
    pub(crate) fn new(dialect: Dialect, prefix: &str) -> Self {
        let q = |s: &str| dialect.quote(&format!("{prefix}{s}"));
        Tables {
            tuples: q("rebac_tuples"),
            changes: q("rebac_changes"),
            revision: q("rebac_revision"),
            schema: q("rebac_schema"),
            tuples_plain: format!("{prefix}rebac_tuples"),
        }
    }
}

/// The store's migrations under `prefix` (validated), recorded in `{prefix}rebac_migrations`.
pub(crate) fn migrations(dialect: Dialect, prefix: &str) -> MigrationSet {
    let t = Tables::new(dialect, prefix);
    let rev_idx = dialect.quote(&format!("{prefix}rebac_tuples_rev"));
    let exp_idx = dialect.quote(&format!("{prefix}rebac_tuples_exp"));
    let (tuples, changes, revision, schema) = (&t.tuples, &t.changes, &t.revision, &t.schema);
    let statements = match dialect {
        Dialect::Postgres => {
            let name = "TEXT COLLATE \"C\" NOT NULL";
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {tuples} (\
                     resource_type {name}, resource_id {name}, relation {name}, \
                     subject_type {name}, subject_id {name}, subject_relation {name}, \
                     caveat_name TEXT NULL, caveat_context TEXT NULL, \
                     expiration TEXT NULL, expires_at BIGINT NULL, \
                     PRIMARY KEY ({KEY_COLUMNS}))"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {rev_idx} ON {tuples} \
                     (subject_type, subject_id, subject_relation, resource_type, relation, resource_id)"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {exp_idx} ON {tuples} (expires_at) \
                     WHERE expires_at IS NOT NULL"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {changes} (\
                     revision BIGINT NOT NULL, seq INTEGER NOT NULL, op SMALLINT NOT NULL, \
                     resource_type {name}, resource_id {name}, relation {name}, \
                     subject_type {name}, subject_id {name}, subject_relation {name}, \
                     caveat_name TEXT NULL, caveat_context TEXT NULL, expiration TEXT NULL, \
                     PRIMARY KEY (revision, seq))"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {revision} (id INTEGER NOT NULL PRIMARY KEY, \
                     revision BIGINT NOT NULL)"
                ),
                format!(
                    "INSERT INTO {revision} (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {schema} (id INTEGER NOT NULL PRIMARY KEY, \
                     source TEXT NOT NULL, updated_at BIGINT NOT NULL)"
                ),
            ]
        }
        Dialect::Sqlite => {
            let name = "TEXT NOT NULL";
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {tuples} (\
                     resource_type {name}, resource_id {name}, relation {name}, \
                     subject_type {name}, subject_id {name}, subject_relation {name}, \
                     caveat_name TEXT NULL, caveat_context TEXT NULL, \
                     expiration TEXT NULL, expires_at INTEGER NULL, \
                     PRIMARY KEY ({KEY_COLUMNS})) WITHOUT ROWID"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {rev_idx} ON {tuples} \
                     (subject_type, subject_id, subject_relation, resource_type, relation, resource_id)"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {exp_idx} ON {tuples} (expires_at) \
                     WHERE expires_at IS NOT NULL"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {changes} (\
                     revision INTEGER NOT NULL, seq INTEGER NOT NULL, op INTEGER NOT NULL, \
                     resource_type {name}, resource_id {name}, relation {name}, \
                     subject_type {name}, subject_id {name}, subject_relation {name}, \
                     caveat_name TEXT NULL, caveat_context TEXT NULL, expiration TEXT NULL, \
                     PRIMARY KEY (revision, seq)) WITHOUT ROWID"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {revision} (id INTEGER NOT NULL PRIMARY KEY, \
                     revision INTEGER NOT NULL)"
                ),
                format!("INSERT OR IGNORE INTO {revision} (id, revision) VALUES (1, 0)"),
                format!(
                    "CREATE TABLE IF NOT EXISTS {schema} (id INTEGER NOT NULL PRIMARY KEY, \
                     source TEXT NOT NULL, updated_at INTEGER NOT NULL)"
                ),
            ]
        }
        // Names and ids are VARBINARY: byte comparison, no PAD SPACE; the six key columns
        // (4 x 254 + 2 x 1024 = 3064 bytes) fit InnoDB's 3072-byte key limit.
        Dialect::MySql => {
            let name = "VARBINARY(254) NOT NULL";
            let id = "VARBINARY(1024) NOT NULL";
            let text = "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL";
            let tail =
                "ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {tuples} (\
                     resource_type {name}, resource_id {id}, relation {name}, \
                     subject_type {name}, subject_id {id}, subject_relation {name}, \
                     caveat_name VARBINARY(254) NULL, caveat_context {text}, \
                     expiration VARBINARY(64) NULL, expires_at BIGINT NULL, \
                     PRIMARY KEY ({KEY_COLUMNS}), \
                     INDEX {rev_idx} (subject_type, subject_id, subject_relation, resource_type, relation, resource_id), \
                     INDEX {exp_idx} (expires_at)) {tail}"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {changes} (\
                     revision BIGINT NOT NULL, seq INTEGER NOT NULL, op SMALLINT NOT NULL, \
                     resource_type {name}, resource_id {id}, relation {name}, \
                     subject_type {name}, subject_id {id}, subject_relation {name}, \
                     caveat_name VARBINARY(254) NULL, caveat_context {text}, \
                     expiration VARBINARY(64) NULL, PRIMARY KEY (revision, seq)) {tail}"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {revision} (id INTEGER NOT NULL PRIMARY KEY, \
                     revision BIGINT NOT NULL) {tail}"
                ),
                format!("INSERT IGNORE INTO {revision} (id, revision) VALUES (1, 0)"),
                format!(
                    "CREATE TABLE IF NOT EXISTS {schema} (id INTEGER NOT NULL PRIMARY KEY, \
                     source LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
                     updated_at BIGINT NOT NULL) {tail}"
                ),
            ]
        }
    };
    // Version 2: an index of the caveated relationships by resource type and relation, so a
    // lookup filter finds out in one probe whether caveats touch it (see `lookup/caveats.rs`).
    let cav_idx = dialect.quote(&format!("{prefix}rebac_tuples_cav"));
    let caveat_index = match dialect {
        Dialect::MySql => {
            format!("CREATE INDEX {cav_idx} ON {tuples} (caveat_name, resource_type, relation)")
        }
        _ => format!(
            "CREATE INDEX IF NOT EXISTS {cav_idx} ON {tuples} (resource_type, relation) \
             WHERE caveat_name IS NOT NULL"
        ),
    };
    MigrationSet {
        table: format!("{prefix}rebac_migrations"),
        migrations: vec![
            Migration {
                version: 1,
                name: "rebac tuples, changes, revision, schema",
                statements,
            },
            Migration {
                version: 2,
                name: "rebac index of caveated relationships",
                statements: vec![caveat_index],
            },
        ],
    }
}

/// The fixed statements of the store (placeholders already in the dialect's syntax).
#[derive(Debug, Clone)]
pub(crate) struct StoreSql {
    /// Bumps the revision and returns it (PostgreSQL, SQLite: `RETURNING`); MySQL runs
    /// `bump_revision` then `select_revision`.
    pub bump_returning: Option<String>,
    pub bump_revision: String,
    pub select_revision: String,
    /// Inserts a new relationship, or replaces an expired one with the same key; touches no
    /// row when a live one exists (PostgreSQL, SQLite). MySQL inserts plainly, then on a
    /// duplicate key runs `revive`.
    pub create: String,
    pub revive: String,
    pub upsert: String,
    pub delete: String,
    pub log_change: String,
    pub contains: String,
    pub write_schema: String,
    pub read_schema: String,
}

impl StoreSql {
    pub(crate) fn new(dialect: Dialect, t: &Tables) -> Self {
        let q = |s: String| dialect.sql(&s);
        let (tuples, changes, revision, schema) = (&t.tuples, &t.changes, &t.revision, &t.schema);
        let insert_cols = format!("{TUPLE_COLUMNS}, expires_at");
        let values = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
        let upsert = match dialect {
            Dialect::MySql => format!(
                "INSERT INTO {tuples} ({insert_cols}) VALUES ({values}) ON DUPLICATE KEY UPDATE \
                 caveat_name = VALUES(caveat_name), caveat_context = VALUES(caveat_context), \
                 expiration = VALUES(expiration), expires_at = VALUES(expires_at)"
            ),
            _ => format!(
                "INSERT INTO {tuples} ({insert_cols}) VALUES ({values}) ON CONFLICT ({KEY_COLUMNS}) \
                 DO UPDATE SET caveat_name = excluded.caveat_name, \
                 caveat_context = excluded.caveat_context, expiration = excluded.expiration, \
                 expires_at = excluded.expires_at"
            ),
        };
        let key_match = "resource_type = ? AND resource_id = ? AND relation = ? AND \
                         subject_type = ? AND subject_id = ? AND subject_relation = ?";
        let write_schema = match dialect {
            Dialect::MySql => format!(
                "INSERT INTO {schema} (id, source, updated_at) VALUES (1, ?, ?) \
                 ON DUPLICATE KEY UPDATE source = VALUES(source), updated_at = VALUES(updated_at)"
            ),
            _ => format!(
                "INSERT INTO {schema} (id, source, updated_at) VALUES (1, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET source = excluded.source, \
                 updated_at = excluded.updated_at"
            ),
        };
        let create = match dialect {
            Dialect::MySql => format!("INSERT INTO {tuples} ({insert_cols}) VALUES ({values})"),
            _ => format!(
                "INSERT INTO {tuples} ({insert_cols}) VALUES ({values}) ON CONFLICT ({KEY_COLUMNS}) \
                 DO UPDATE SET caveat_name = excluded.caveat_name, \
                 caveat_context = excluded.caveat_context, expiration = excluded.expiration, \
                 expires_at = excluded.expires_at \
                 WHERE {tuples}.expires_at IS NOT NULL AND {tuples}.expires_at <= ?"
            ),
        };
        StoreSql {
            bump_returning: (dialect != Dialect::MySql).then(|| {
                q(format!(
                    "UPDATE {revision} SET revision = revision + 1 WHERE id = 1 RETURNING revision"
                ))
            }),
            create: q(create),
            revive: q(format!(
                "UPDATE {tuples} SET caveat_name = ?, caveat_context = ?, expiration = ?, \
                 expires_at = ? WHERE {key_match} AND expires_at IS NOT NULL AND expires_at <= ?"
            )),
            bump_revision: q(format!(
                "UPDATE {revision} SET revision = revision + 1 WHERE id = 1"
            )),
            select_revision: q(format!("SELECT revision FROM {revision} WHERE id = 1")),
            upsert: q(upsert),
            delete: q(format!("DELETE FROM {tuples} WHERE {key_match}")),
            log_change: q(format!(
                "INSERT INTO {changes} (revision, seq, op, resource_type, resource_id, relation, \
                 subject_type, subject_id, subject_relation, caveat_name, caveat_context, expiration) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )),
            contains: q(format!(
                "SELECT 1 FROM {tuples} WHERE {key_match} AND (expires_at IS NULL OR expires_at > ?)"
            )),
            write_schema: q(write_schema),
            read_schema: q(format!("SELECT source FROM {schema} WHERE id = 1")),
        }
    }
}
