//! The ACL tables — roles, resources, permissions, grants, parents and a one-row `meta` table
//! that serialises writers — their migrations per dialect, and the SQL text of every operation.
//!
//! Names are stored as bytes (`BYTEA`, `BLOB`, `VARBINARY(255)`): they compare and round-trip
//! byte for byte, including NUL, control characters, trailing spaces and any Unicode.

use crate::dialect::Dialect;
use crate::migrate::{Migration, MigrationSet};

/// Rows per multi-row `INSERT` when a whole ACL is saved (at most 3 binds per row).
pub(crate) const CHUNK: usize = 300;

/// The ACL's migrations under `prefix` (validated; default `psm_acl_`).
pub(crate) fn migrations(dialect: Dialect, prefix: &str) -> MigrationSet {
    let t = Tables::new(dialect, prefix);
    let idx = |name: &str| dialect.quote(&format!("idx_{prefix}{name}"));
    let (grants_perm, parents_parent) = (idx("grants_perm"), idx("parents_parent"));
    let (meta, roles, resources, perms, grants, parents) = (
        &t.meta,
        &t.roles,
        &t.resources,
        &t.permissions,
        &t.grants,
        &t.parents,
    );
    let statements = match dialect {
        Dialect::MySql => {
            let b = "VARBINARY(255) NOT NULL";
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {meta} (id INT NOT NULL PRIMARY KEY, \
                     version BIGINT NOT NULL) ENGINE=InnoDB"
                ),
                format!("INSERT IGNORE INTO {meta} (id, version) VALUES (1, 0)"),
                format!("CREATE TABLE IF NOT EXISTS {roles} (name {b} PRIMARY KEY) ENGINE=InnoDB"),
                format!(
                    "CREATE TABLE IF NOT EXISTS {resources} (name {b} PRIMARY KEY) ENGINE=InnoDB"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {perms} (resource {b}, permission {b}, \
                     PRIMARY KEY (resource, permission), \
                     FOREIGN KEY (resource) REFERENCES {resources} (name) ON DELETE CASCADE) \
                     ENGINE=InnoDB"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {grants} (role {b}, resource {b}, permission {b}, \
                     PRIMARY KEY (role, resource, permission), INDEX {grants_perm} (resource, permission), \
                     FOREIGN KEY (role) REFERENCES {roles} (name) ON DELETE CASCADE, \
                     FOREIGN KEY (resource, permission) REFERENCES {perms} (resource, permission) \
                     ON DELETE CASCADE) ENGINE=InnoDB"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {parents} (role {b}, parent {b}, \
                     PRIMARY KEY (role, parent), INDEX {parents_parent} (parent), \
                     FOREIGN KEY (role) REFERENCES {roles} (name) ON DELETE CASCADE, \
                     FOREIGN KEY (parent) REFERENCES {roles} (name) ON DELETE CASCADE) ENGINE=InnoDB"
                ),
            ]
        }
        _ => {
            let b = if dialect == Dialect::Postgres {
                "BYTEA NOT NULL"
            } else {
                "BLOB NOT NULL"
            };
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {meta} (id INTEGER NOT NULL PRIMARY KEY, \
                     version BIGINT NOT NULL)"
                ),
                format!(
                    "INSERT INTO {meta} (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
                ),
                format!("CREATE TABLE IF NOT EXISTS {roles} (name {b} PRIMARY KEY)"),
                format!("CREATE TABLE IF NOT EXISTS {resources} (name {b} PRIMARY KEY)"),
                format!(
                    "CREATE TABLE IF NOT EXISTS {perms} (resource {b} REFERENCES {resources} (name) \
                     ON DELETE CASCADE, permission {b}, PRIMARY KEY (resource, permission))"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {grants} (role {b} REFERENCES {roles} (name) \
                     ON DELETE CASCADE, resource {b}, permission {b}, \
                     PRIMARY KEY (role, resource, permission), \
                     FOREIGN KEY (resource, permission) REFERENCES {perms} (resource, permission) \
                     ON DELETE CASCADE)"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {grants_perm} ON {grants} (resource, permission)"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {parents} (role {b} REFERENCES {roles} (name) \
                     ON DELETE CASCADE, parent {b} REFERENCES {roles} (name) ON DELETE CASCADE, \
                     PRIMARY KEY (role, parent))"
                ),
                format!("CREATE INDEX IF NOT EXISTS {parents_parent} ON {parents} (parent)"),
            ]
        }
    };
    MigrationSet {
        table: format!("{prefix}migrations"),
        migrations: vec![Migration {
            version: 1,
            name: "acl roles, resources, permissions, grants, parents",
            statements,
        }],
    }
}

/// Quoted table names under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub meta: String,
    pub roles: String,
    pub resources: String,
    pub permissions: String,
    pub grants: String,
    pub parents: String,
}

impl Tables {
    pub(crate) fn new(dialect: Dialect, prefix: &str) -> Self {
        let q = |base: &str| dialect.quote(&format!("{prefix}{base}"));
        Tables {
            meta: q("meta"),
            roles: q("roles"),
            resources: q("resources"),
            permissions: q("permissions"),
            grants: q("grants"),
            parents: q("parents"),
        }
    }
}

/// The SQL text of every ACL operation, built once per store.
#[derive(Debug, Clone)]
pub(crate) struct AclSql {
    pub dialect: Dialect,
    pub tables: Tables,
    /// Bumps the version; its row lock serialises writers.
    pub bump: String,
    pub insert_meta: String,
    pub version: String,
    /// Deletes of every table, children first.
    pub clear: [String; 5],
    pub ensure_role: String,
    pub ensure_resource: String,
    pub ensure_permission: String,
    pub ensure_grant: String,
    pub ensure_parent: String,
    pub delete_grant: String,
    pub delete_role_grants: String,
    pub delete_role_grants_on: String,
    pub delete_role_parents: String,
    pub delete_role: String,
    pub delete_resource_grants: String,
    pub delete_resource_permissions: String,
    pub delete_resource: String,
    pub delete_permission_grants: String,
    pub delete_permission: String,
    pub delete_parent: String,
}

impl AclSql {
    pub(crate) fn new(dialect: Dialect, prefix: &str) -> Self {
        let t = Tables::new(dialect, prefix);
        let s = |text: String| dialect.sql(&text);
        let ensure = |table: &str, cols: &str, values: &str| {
            s(match dialect {
                Dialect::MySql => format!("INSERT IGNORE INTO {table} ({cols}) VALUES ({values})"),
                _ => {
                    format!("INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT DO NOTHING")
                }
            })
        };
        let Tables {
            meta,
            roles,
            resources,
            permissions,
            grants,
            parents,
        } = &t;
        AclSql {
            dialect,
            bump: s(format!(
                "UPDATE {meta} SET version = version + 1 WHERE id = 1"
            )),
            insert_meta: ensure(meta, "id, version", "1, 1"),
            version: s(format!("SELECT version FROM {meta} WHERE id = 1")),
            clear: [
                format!("DELETE FROM {parents}"),
                format!("DELETE FROM {grants}"),
                format!("DELETE FROM {permissions}"),
                format!("DELETE FROM {resources}"),
                format!("DELETE FROM {roles}"),
            ],
            ensure_role: ensure(roles, "name", "?"),
            ensure_resource: ensure(resources, "name", "?"),
            ensure_permission: ensure(permissions, "resource, permission", "?, ?"),
            ensure_grant: ensure(grants, "role, resource, permission", "?, ?, ?"),
            ensure_parent: ensure(parents, "role, parent", "?, ?"),
            delete_grant: s(format!(
                "DELETE FROM {grants} WHERE role = ? AND resource = ? AND permission = ?"
            )),
            delete_role_grants: s(format!("DELETE FROM {grants} WHERE role = ?")),
            delete_role_grants_on: s(format!(
                "DELETE FROM {grants} WHERE role = ? AND resource = ?"
            )),
            delete_role_parents: s(format!(
                "DELETE FROM {parents} WHERE role = ? OR parent = ?"
            )),
            delete_role: s(format!("DELETE FROM {roles} WHERE name = ?")),
            delete_resource_grants: s(format!("DELETE FROM {grants} WHERE resource = ?")),
            delete_resource_permissions: s(format!("DELETE FROM {permissions} WHERE resource = ?")),
            delete_resource: s(format!("DELETE FROM {resources} WHERE name = ?")),
            delete_permission_grants: s(format!(
                "DELETE FROM {grants} WHERE resource = ? AND permission = ?"
            )),
            delete_permission: s(format!(
                "DELETE FROM {permissions} WHERE resource = ? AND permission = ?"
            )),
            delete_parent: s(format!(
                "DELETE FROM {parents} WHERE role = ? AND parent = ?"
            )),
            tables: t,
        }
    }

    /// `SELECT` of every row of a table with `columns`, at most `limit` rows.
    pub(crate) fn select(&self, table: &str, columns: &str, limit: usize) -> String {
        format!("SELECT {columns} FROM {table} LIMIT {limit}")
    }

    /// A multi-row `INSERT` of `rows` rows of `columns` columns.
    pub(crate) fn insert_rows(
        &self,
        table: &str,
        columns: &str,
        width: usize,
        rows: usize,
    ) -> String {
        let row = format!("({})", vec!["?"; width].join(", "));
        let values = vec![row.as_str(); rows].join(", ");
        self.dialect
            .sql(&format!("INSERT INTO {table} ({columns}) VALUES {values}"))
    }
}
