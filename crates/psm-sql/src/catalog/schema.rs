//! The assignment tables — user grants, group grants, memberships — their migrations per
//! dialect, and the SQL text of every operation.

use psm_catalog::MAX_EFFECTIVE_GRANTS;

use crate::dialect::Dialect;
use crate::migrate::{Migration, MigrationSet};

/// The assignment tables' migrations under `prefix` (validated).
pub(crate) fn migrations(dialect: Dialect, prefix: &str) -> MigrationSet {
    let t = Tables::new(dialect, prefix);
    let members_user = dialect.quote(&format!("idx_{prefix}members_user"));
    let (users, groups, members) = (&t.users, &t.groups, &t.members);
    let statements = match dialect {
        Dialect::MySql => {
            let b = "VARBINARY(255) NOT NULL";
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {users} (user_id {b}, permission {b}, \
                     PRIMARY KEY (user_id, permission)) ENGINE=InnoDB"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {groups} (group_id {b}, permission {b}, \
                     PRIMARY KEY (group_id, permission)) ENGINE=InnoDB"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {members} (group_id {b}, user_id {b}, \
                     PRIMARY KEY (group_id, user_id), INDEX {members_user} (user_id)) ENGINE=InnoDB"
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
                    "CREATE TABLE IF NOT EXISTS {users} (user_id {b}, permission {b}, \
                     PRIMARY KEY (user_id, permission))"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {groups} (group_id {b}, permission {b}, \
                     PRIMARY KEY (group_id, permission))"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {members} (group_id {b}, user_id {b}, \
                     PRIMARY KEY (group_id, user_id))"
                ),
                format!("CREATE INDEX IF NOT EXISTS {members_user} ON {members} (user_id)"),
            ]
        }
    };
    MigrationSet {
        table: format!("{prefix}migrations"),
        migrations: vec![Migration {
            version: 1,
            name: "catalog user grants, group grants, members",
            statements,
        }],
    }
}

/// Quoted table names under one prefix.
#[derive(Debug, Clone)]
struct Tables {
    users: String,
    groups: String,
    members: String,
}

impl Tables {
    fn new(dialect: Dialect, prefix: &str) -> Self {
        let q = |base: &str| dialect.quote(&format!("{prefix}{base}"));
        Tables {
            users: q("user_grants"),
            groups: q("group_grants"),
            members: q("members"),
        }
    }
}

/// The SQL text of every operation, built once per store; each takes two binds except the lists.
#[derive(Debug, Clone)]
pub(crate) struct CatalogSql {
    pub grant_user: String,
    pub revoke_user: String,
    pub grant_group: String,
    pub revoke_group: String,
    pub add_member: String,
    pub remove_member: String,
    pub user_grants: String,
    pub group_grants: String,
    pub groups_of: String,
    /// Binds the user twice; reads one row more than the limit to detect excess.
    pub effective: String,
}

impl CatalogSql {
    pub(crate) fn new(dialect: Dialect, prefix: &str) -> Self {
        let Tables {
            users,
            groups,
            members,
        } = Tables::new(dialect, prefix);
        let s = |text: String| dialect.sql(&text);
        let ensure = |table: &str, cols: &str| {
            s(match dialect {
                Dialect::MySql => format!("INSERT IGNORE INTO {table} ({cols}) VALUES (?, ?)"),
                _ => format!("INSERT INTO {table} ({cols}) VALUES (?, ?) ON CONFLICT DO NOTHING"),
            })
        };
        let limit = MAX_EFFECTIVE_GRANTS + 1;
        let list = |col: &str, table: &str, key: &str| {
            s(format!(
                "SELECT {col} FROM {table} WHERE {key} = ? ORDER BY {col} LIMIT {limit}"
            ))
        };
        CatalogSql {
            grant_user: ensure(&users, "user_id, permission"),
            revoke_user: s(format!(
                "DELETE FROM {users} WHERE user_id = ? AND permission = ?"
            )),
            grant_group: ensure(&groups, "group_id, permission"),
            revoke_group: s(format!(
                "DELETE FROM {groups} WHERE group_id = ? AND permission = ?"
            )),
            add_member: ensure(&members, "group_id, user_id"),
            remove_member: s(format!(
                "DELETE FROM {members} WHERE group_id = ? AND user_id = ?"
            )),
            user_grants: list("permission", &users, "user_id"),
            group_grants: list("permission", &groups, "group_id"),
            groups_of: list("group_id", &members, "user_id"),
            effective: s(format!(
                "SELECT permission FROM {users} WHERE user_id = ? \
                 UNION SELECT g.permission FROM {groups} g \
                 JOIN {members} m ON m.group_id = g.group_id WHERE m.user_id = ? \
                 LIMIT {limit}"
            )),
        }
    }
}
