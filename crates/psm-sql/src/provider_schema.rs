//! The permissions provider's tables — `authz_permissions(id, username, permission)` of the
//! Python auth-middleware plus roles (`authz_roles`, `authz_user_roles`,
//! `authz_role_permissions`) — their migrations per dialect, and the SQL of every operation.

use crate::dialect::Dialect;
use crate::migrate::{Migration, MigrationSet};

/// The provider's migrations under `prefix` (validated; default `authz_`).
pub(crate) fn migrations(dialect: Dialect, prefix: &str) -> MigrationSet {
    let q = |base: &str| dialect.quote(&format!("{prefix}{base}"));
    let (p, r, ur, rp) = (
        q("permissions"),
        q("roles"),
        q("user_roles"),
        q("role_permissions"),
    );
    let user_idx = dialect.quote(&format!("idx_{prefix}perm_username"));
    let unique = dialect.quote(&format!("uq_{prefix}perm_user_perm"));
    let role_idx = dialect.quote(&format!("idx_{prefix}user_roles_role"));
    let statements = match dialect {
        Dialect::MySql => vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {p} (id VARCHAR(27) CHARACTER SET ascii NOT NULL PRIMARY KEY, \
                 username VARBINARY(500) NOT NULL, permission VARBINARY(255) NOT NULL, \
                 INDEX {user_idx} (username), UNIQUE KEY {unique} (username, permission)) ENGINE=InnoDB"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {r} (name VARBINARY(255) NOT NULL PRIMARY KEY, \
                 created_at BIGINT NOT NULL) ENGINE=InnoDB"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {ur} (username VARBINARY(500) NOT NULL, \
                 role_name VARBINARY(255) NOT NULL, PRIMARY KEY (username, role_name), \
                 INDEX {role_idx} (role_name), \
                 FOREIGN KEY (role_name) REFERENCES {r} (name) ON DELETE CASCADE) ENGINE=InnoDB"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {rp} (role_name VARBINARY(255) NOT NULL, \
                 permission VARBINARY(255) NOT NULL, PRIMARY KEY (role_name, permission), \
                 FOREIGN KEY (role_name) REFERENCES {r} (name) ON DELETE CASCADE) ENGINE=InnoDB"
            ),
        ],
        _ => {
            // PostgreSQL compares in the "C" collation (bytes); SQLite's default is BINARY.
            let c = if dialect == Dialect::Postgres {
                " COLLATE \"C\""
            } else {
                ""
            };
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {p} (id VARCHAR(27) NOT NULL PRIMARY KEY, \
                     username VARCHAR(500){c} NOT NULL, permission VARCHAR(255){c} NOT NULL)"
                ),
                format!("CREATE INDEX IF NOT EXISTS {user_idx} ON {p} (username)"),
                format!("CREATE UNIQUE INDEX IF NOT EXISTS {unique} ON {p} (username, permission)"),
                format!(
                    "CREATE TABLE IF NOT EXISTS {r} (name VARCHAR(255){c} NOT NULL PRIMARY KEY, \
                     created_at BIGINT NOT NULL)"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {ur} (username VARCHAR(500){c} NOT NULL, \
                     role_name VARCHAR(255){c} NOT NULL REFERENCES {r} (name) ON DELETE CASCADE, \
                     PRIMARY KEY (username, role_name))"
                ),
                format!("CREATE INDEX IF NOT EXISTS {role_idx} ON {ur} (role_name)"),
                format!(
                    "CREATE TABLE IF NOT EXISTS {rp} (role_name VARCHAR(255){c} NOT NULL \
                     REFERENCES {r} (name) ON DELETE CASCADE, permission VARCHAR(255){c} NOT NULL, \
                     PRIMARY KEY (role_name, permission))"
                ),
            ]
        }
    };
    MigrationSet {
        table: format!("{prefix}migrations"),
        migrations: vec![Migration {
            version: 1,
            name: "permissions and roles",
            statements,
        }],
    }
}

/// The SQL text of every provider operation, built once per provider.
#[derive(Debug, Clone)]
pub(crate) struct ProviderSql {
    pub grant: String,
    pub revoke: String,
    pub list_user: String,
    pub ensure_role: String,
    pub delete_role_users: String,
    pub delete_role_permissions: String,
    pub delete_role: String,
    pub list_roles: String,
    pub grant_role: String,
    pub revoke_role: String,
    pub list_role: String,
    pub assign: String,
    pub unassign: String,
    pub list_user_roles: String,
    pub fetch: String,
}

impl ProviderSql {
    /// Statements for the tables under `prefix`; a fetch reads at most `limit` rows.
    pub(crate) fn new(dialect: Dialect, prefix: &str, limit: usize) -> Self {
        let q = |base: &str| dialect.quote(&format!("{prefix}{base}"));
        let (p, r, ur, rp) = (
            q("permissions"),
            q("roles"),
            q("user_roles"),
            q("role_permissions"),
        );
        // insert unless the key exists; affected rows tell whether it was new
        let insert_new = |table: &str, cols: &str, values: &str, key: &str| match dialect {
            Dialect::MySql => format!("INSERT IGNORE INTO {table} ({cols}) VALUES ({values})"),
            _ => format!(
                "INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT ({key}) DO NOTHING"
            ),
        };
        let s = |text: String| dialect.sql(&text);
        ProviderSql {
            grant: s(insert_new(
                &p,
                "id, username, permission",
                "?, ?, ?",
                "username, permission",
            )),
            revoke: s(format!(
                "DELETE FROM {p} WHERE username = ? AND permission = ?"
            )),
            list_user: s(format!("SELECT permission FROM {p} WHERE username = ?")),
            ensure_role: s(insert_new(&r, "name, created_at", "?, ?", "name")),
            delete_role_users: s(format!("DELETE FROM {ur} WHERE role_name = ?")),
            delete_role_permissions: s(format!("DELETE FROM {rp} WHERE role_name = ?")),
            delete_role: s(format!("DELETE FROM {r} WHERE name = ?")),
            list_roles: s(format!("SELECT name FROM {r}")),
            grant_role: s(insert_new(
                &rp,
                "role_name, permission",
                "?, ?",
                "role_name, permission",
            )),
            revoke_role: s(format!(
                "DELETE FROM {rp} WHERE role_name = ? AND permission = ?"
            )),
            list_role: s(format!("SELECT permission FROM {rp} WHERE role_name = ?")),
            assign: s(insert_new(
                &ur,
                "username, role_name",
                "?, ?",
                "username, role_name",
            )),
            unassign: s(format!(
                "DELETE FROM {ur} WHERE username = ? AND role_name = ?"
            )),
            list_user_roles: s(format!("SELECT role_name FROM {ur} WHERE username = ?")),
            fetch: s(format!(
                "SELECT permission FROM {p} WHERE username = ? \
                 UNION \
                 SELECT rp.permission FROM {ur} ur JOIN {rp} rp ON rp.role_name = ur.role_name \
                 WHERE ur.username = ? LIMIT {limit}"
            )),
        }
    }
}
