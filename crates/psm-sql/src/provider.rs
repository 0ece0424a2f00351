//! `SqlPermissionsProvider`: user permissions and roles in SQL tables, fetched in one query
//! (direct grants UNION role grants), checked against the permission grammar, optionally
//! expanded through a `Hierarchy`; plus grant, revoke and list for users and roles.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

use psm_core::permission::validate_permission;
use psm_core::{
    Error, Field, Hierarchy, PermissionsProvider, Principal, Result, Rule, StoreUrl, Timestamp,
    async_trait,
};

use crate::conn::Conns;
use crate::dialect::Dialect;
use crate::exec::{Bind, read_texts, write, write_all};
use crate::open::{make_ready, open_options};
use crate::provider_config::{MAX_ROLE_LEN, MAX_USERNAME_LEN, ProviderConfig};
use crate::provider_schema::{self, ProviderSql};
use crate::rows::to_db;

/// Permissions of users, granted directly or through roles, in SQL tables.
///
/// `fetch_permissions` runs one query: the user's direct grants `UNION` the grants of every role
/// assigned to the user. Grants are checked against psm's grammar on the way in (bad ones are
/// refused) and on the way out (rows written by other tools that break it are skipped and
/// counted, never passed on).
#[derive(Clone)]
pub struct SqlPermissionsProvider {
    inner: Arc<ProviderInner>,
}

struct ProviderInner {
    conns: Conns,
    dialect: Dialect,
    sql: ProviderSql,
    hierarchy: RwLock<Option<Arc<Hierarchy>>>,
    max_permissions: usize,
    closed: AtomicBool,
}

impl fmt::Debug for SqlPermissionsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlPermissionsProvider")
            .field("backend", &self.inner.dialect.name())
            .field("conns", &self.inner.conns)
            .field("hierarchy", &self.inner.hierarchy.read().is_some())
            .finish()
    }
}

fn check_name(field: Field, name: &str, max: usize) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(field, Rule::Empty));
    }
    if name.len() > max {
        return Err(Error::invalid(field, Rule::TooLong { max }));
    }
    if let Some((index, ch)) = name.char_indices().find(|&(_, c)| c.is_control()) {
        return Err(Error::invalid(
            field,
            Rule::ForbiddenChar {
                ch,
                index,
                allowed: "no control characters",
            },
        ));
    }
    Ok(())
}

/// Usernames are 1–500 bytes without control characters.
fn check_username(name: &str) -> Result<()> {
    check_name(Field::UserId, name, MAX_USERNAME_LEN)
}

/// Role names are 1–255 bytes without control characters.
fn check_role(name: &str) -> Result<()> {
    check_name(Field::Option("role"), name, MAX_ROLE_LEN)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v.dedup();
    v
}

impl SqlPermissionsProvider {
    /// Connects to a URL such as `postgres://host/db?table_prefix=authz_`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(ProviderConfig::from_url(StoreUrl::parse(url)?)?).await
    }

    /// Connects to a parsed URL, taking the provider's options (unknown options are errors).
    pub async fn from_url(url: StoreUrl) -> Result<Self> {
        Self::connect_with(ProviderConfig::from_url(url)?).await
    }

    /// Connects with a typed configuration; runs the migrations unless disabled.
    pub async fn connect_with(config: ProviderConfig) -> Result<Self> {
        let opened = open_options(&config.conn)?;
        let (dialect, prefix) = (opened.dialect, &config.conn.table_prefix);
        let limit = config.max_permissions.saturating_add(1);
        let provider = SqlPermissionsProvider {
            inner: Arc::new(ProviderInner {
                sql: ProviderSql::new(dialect, prefix, limit),
                conns: opened.conns,
                dialect,
                hierarchy: RwLock::new(config.hierarchy.map(Arc::new)),
                max_permissions: config.max_permissions,
                closed: AtomicBool::new(false),
            }),
        };
        let migrations = config
            .conn
            .migrate
            .then(|| provider_schema::migrations(dialect, prefix));
        make_ready(&provider.inner.conns, dialect, opened.memory, migrations).await?;
        Ok(provider)
    }

    /// Replaces (or with `None` removes) the hierarchy fetched permissions are expanded through.
    pub fn set_hierarchy(&self, hierarchy: Option<Hierarchy>) {
        *self.inner.hierarchy.write() = hierarchy.map(Arc::new);
    }

    fn conns(&self) -> Result<&Conns> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(&self.inner.conns)
    }

    /// Grants `permission` (a pattern is fine) to `username`; false if it was already granted.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn grant_permission(&self, username: &str, permission: &str) -> Result<bool> {
        check_username(username)?;
        validate_permission(permission)?;
        let id = psm_core::generate_session_id()?;
        let sql = &self.inner.sql.grant;
        let n = write(
            self.conns()?,
            "grant_permission",
            sql,
            &[
                Bind::Text(&id),
                Bind::Text(username),
                Bind::Text(permission),
            ],
        )
        .await?;
        Ok(n > 0)
    }

    /// Revokes a direct grant; false if there was none.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn revoke_permission(&self, username: &str, permission: &str) -> Result<bool> {
        check_username(username)?;
        validate_permission(permission)?;
        let binds = [Bind::Text(username), Bind::Text(permission)];
        let n = write(
            self.conns()?,
            "revoke_permission",
            &self.inner.sql.revoke,
            &binds,
        )
        .await?;
        Ok(n > 0)
    }

    /// The direct grants of `username` (not those of its roles), sorted.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn list_permissions(&self, username: &str) -> Result<Vec<String>> {
        check_username(username)?;
        let binds = [Bind::Text(username)];
        let sql = &self.inner.sql.list_user;
        Ok(sorted(
            read_texts(self.conns()?, "list_permissions", sql, &binds).await?,
        ))
    }

    /// Creates a role; false if it existed.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn create_role(&self, role: &str) -> Result<bool> {
        check_role(role)?;
        let now = to_db(Timestamp::now());
        let sql = &self.inner.sql.ensure_role;
        let n = write(
            self.conns()?,
            "create_role",
            sql,
            &[Bind::Text(role), Bind::Int(now)],
        )
        .await?;
        Ok(n > 0)
    }

    /// Deletes a role with its grants and assignments; false if it did not exist.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn delete_role(&self, role: &str) -> Result<bool> {
        check_role(role)?;
        let sql = &self.inner.sql;
        let b = [Bind::Text(role)];
        let done = write_all(
            self.conns()?,
            "delete_role",
            &[
                (sql.delete_role_users.as_str(), &b[..]),
                (sql.delete_role_permissions.as_str(), &b[..]),
                (sql.delete_role.as_str(), &b[..]),
            ],
        )
        .await?;
        Ok(done.last().is_some_and(|&n| n > 0))
    }

    /// Every role, sorted.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn list_roles(&self) -> Result<Vec<String>> {
        let sql = &self.inner.sql.list_roles;
        Ok(sorted(
            read_texts(self.conns()?, "list_roles", sql, &[]).await?,
        ))
    }

    /// Grants `permission` to `role` (creating the role if needed); false if already granted.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn grant_role_permission(&self, role: &str, permission: &str) -> Result<bool> {
        check_role(role)?;
        validate_permission(permission)?;
        let now = to_db(Timestamp::now());
        let sql = &self.inner.sql;
        let done = write_all(
            self.conns()?,
            "grant_role_permission",
            &[
                (
                    sql.ensure_role.as_str(),
                    &[Bind::Text(role), Bind::Int(now)][..],
                ),
                (
                    sql.grant_role.as_str(),
                    &[Bind::Text(role), Bind::Text(permission)][..],
                ),
            ],
        )
        .await?;
        Ok(done.last().is_some_and(|&n| n > 0))
    }

    /// Revokes a role's grant; false if there was none.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn revoke_role_permission(&self, role: &str, permission: &str) -> Result<bool> {
        check_role(role)?;
        validate_permission(permission)?;
        let binds = [Bind::Text(role), Bind::Text(permission)];
        let sql = &self.inner.sql.revoke_role;
        Ok(write(self.conns()?, "revoke_role_permission", sql, &binds).await? > 0)
    }

    /// The grants of `role`, sorted.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn list_role_permissions(&self, role: &str) -> Result<Vec<String>> {
        check_role(role)?;
        let sql = &self.inner.sql.list_role;
        let binds = [Bind::Text(role)];
        Ok(sorted(
            read_texts(self.conns()?, "list_role_permissions", sql, &binds).await?,
        ))
    }

    /// Assigns `role` to `username` (creating the role if needed); false if already assigned.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn assign_role(&self, username: &str, role: &str) -> Result<bool> {
        check_username(username)?;
        check_role(role)?;
        let now = to_db(Timestamp::now());
        let sql = &self.inner.sql;
        let done = write_all(
            self.conns()?,
            "assign_role",
            &[
                (
                    sql.ensure_role.as_str(),
                    &[Bind::Text(role), Bind::Int(now)][..],
                ),
                (
                    sql.assign.as_str(),
                    &[Bind::Text(username), Bind::Text(role)][..],
                ),
            ],
        )
        .await?;
        Ok(done.last().is_some_and(|&n| n > 0))
    }

    /// Removes `role` from `username`; false if it was not assigned.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn unassign_role(&self, username: &str, role: &str) -> Result<bool> {
        check_username(username)?;
        check_role(role)?;
        let binds = [Bind::Text(username), Bind::Text(role)];
        let sql = &self.inner.sql.unassign;
        Ok(write(self.conns()?, "unassign_role", sql, &binds).await? > 0)
    }

    /// The roles of `username`, sorted.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn list_user_roles(&self, username: &str) -> Result<Vec<String>> {
        check_username(username)?;
        let sql = &self.inner.sql.list_user_roles;
        let binds = [Bind::Text(username)];
        Ok(sorted(
            read_texts(self.conns()?, "list_user_roles", sql, &binds).await?,
        ))
    }

    /// Everything `username` is granted, directly or through roles (one query), expanded
    /// through the hierarchy when one is set; sorted and de-duplicated.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn permissions_of(&self, username: &str) -> Result<Vec<String>> {
        check_username(username)?;
        let binds = [Bind::Text(username), Bind::Text(username)];
        let sql = &self.inner.sql.fetch;
        let rows = read_texts(self.conns()?, "fetch_permissions", sql, &binds).await?;
        if rows.len() > self.inner.max_permissions {
            return Err(Error::QuotaExceeded {
                what: "permissions per user",
                limit: self.inner.max_permissions as u64,
            });
        }
        let valid: Vec<String> = rows
            .into_iter()
            .filter(|p| match validate_permission(p) {
                Ok(_) => true,
                Err(e) => {
                    metrics::counter!("psm_sql_invalid_grants_total").increment(1);
                    tracing::warn!(error = %e, "skipping a stored grant outside the permission grammar");
                    false
                }
            })
            .collect();
        let hierarchy = self.inner.hierarchy.read().clone();
        Ok(match hierarchy {
            Some(h) => h.expand(valid),
            None => sorted(valid),
        })
    }

    /// Closes the connections; later calls return `Error::Closed`.
    pub async fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner.conns.close().await;
        }
    }
}

#[async_trait]
impl PermissionsProvider for SqlPermissionsProvider {
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        self.permissions_of(principal.lookup_name()).await
    }
}
