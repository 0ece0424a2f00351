//! `RedisPermissionsProvider`: a user's permissions from Redis sets, with grant/revoke helpers.
//!
//! Layout (prefix `P`, default none, as the auth-middleware library used it):
//! `P user_permissions:<user>` (the user's own grants), `P user_roles:<user>` (role names),
//! `P role_permissions:<role>` (each role's grants). All are plain Redis sets.

use std::sync::Arc;

use futures_util::future::join_all;
use psm_core::permission::validate_permission;
use psm_core::{
    Error, Field, PermissionsProvider, Principal, Result, StoreUrl, async_trait, validate,
};
use tracing::instrument;

use crate::config::RedisConfig;
use crate::conn::Link;
use crate::keys::has_hash_tag;
use crate::record::corrupt;
use crate::scripts::UNION_ROLES_SCRIPT;
use crate::store::open_link;

/// Reads a user's permissions as the union of their own set and the sets of their roles, in one
/// round trip (a Lua script) on a single server, or on a cluster when the prefix holds a hash
/// tag such as `{authz}:` (all keys then share one slot). On a cluster without such a prefix
/// the keys live in different slots and the fetch takes two round trips (the user's two sets,
/// then every role's set, each step sent concurrently).
#[derive(Debug, Clone)]
pub struct RedisPermissionsProvider {
    link: Arc<Link>,
    prefix: String,
    one_slot: bool,
}

impl RedisPermissionsProvider {
    /// Connects with a typed configuration; its `key_prefix` (default none) prefixes every key.
    pub async fn connect(config: RedisConfig) -> Result<Self> {
        config.validate()?;
        let prefix = config.key_prefix.clone().unwrap_or_default();
        let link = Arc::new(open_link(&config).await?);
        Ok(Self::with_link(link, prefix))
    }

    /// Connects with the options of a store URL (`key_prefix`, the pool and timeout options).
    pub async fn from_url(url: StoreUrl) -> Result<Self> {
        Self::connect(RedisConfig::from_url(url)?).await
    }

    pub(crate) fn with_link(link: Arc<Link>, prefix: String) -> Self {
        let one_slot = !link.is_cluster() || has_hash_tag(&prefix);
        RedisPermissionsProvider {
            link,
            prefix,
            one_slot,
        }
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }

    /// The union of the user's own grants and those of every role of the user, sorted.
    #[instrument(level = "debug", name = "redis.permissions_of", skip_all)]
    pub async fn permissions_of(&self, user: &str) -> Result<Vec<String>> {
        validate::user_id(user)?;
        let own = self.key("user_permissions", user);
        let roles = self.key("user_roles", user);
        let mut perms: Vec<String> = if self.one_slot {
            let role_prefix = self.key("role_permissions", "");
            self.link
                .run("fetch_permissions", |mut c| {
                    let (own, roles, role_prefix) = (&own, &roles, &role_prefix);
                    async move {
                        UNION_ROLES_SCRIPT
                            .key(own)
                            .key(roles)
                            .arg(role_prefix)
                            .invoke_async(&mut c)
                            .await
                    }
                })
                .await?
        } else {
            let (mut perms, role_names) =
                futures_util::future::try_join(self.members(&own), self.members(&roles)).await?;
            let role_sets = join_all(
                role_names
                    .iter()
                    .map(|r| async move { self.members(&self.key("role_permissions", r)).await }),
            )
            .await;
            for set in role_sets {
                perms.extend(set?);
            }
            perms
        };
        perms.sort_unstable();
        perms.dedup();
        if let Some(bad) = perms.iter().find(|p| validate_permission(p).is_err()) {
            return Err(corrupt(
                &own,
                &format!("stored permission {bad:?} is not in the grammar"),
            ));
        }
        Ok(perms)
    }

    async fn members(&self, key: &str) -> Result<Vec<String>> {
        self.link
            .run("fetch_permissions", |mut c| async move {
                redis::cmd("SMEMBERS").arg(key).query_async(&mut c).await
            })
            .await
    }

    async fn change(&self, op: &'static str, cmd: &str, key: &str, member: &str) -> Result<bool> {
        let n: i64 = self
            .link
            .run(op, |mut c| async move {
                redis::cmd(cmd)
                    .arg(key)
                    .arg(member)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(n > 0)
    }

    /// Grants `permission` to `user` directly; true when it was not granted before.
    pub async fn grant_user_permission(&self, user: &str, permission: &str) -> Result<bool> {
        validate::user_id(user)?;
        validate_permission(permission)?;
        let key = self.key("user_permissions", user);
        self.change("grant_user_permission", "SADD", &key, permission)
            .await
    }

    /// Revokes a direct grant; true when it was granted.
    pub async fn revoke_user_permission(&self, user: &str, permission: &str) -> Result<bool> {
        validate::user_id(user)?;
        validate_permission(permission)?;
        let key = self.key("user_permissions", user);
        self.change("revoke_user_permission", "SREM", &key, permission)
            .await
    }

    /// Grants `permission` to `role`; true when it was not granted before.
    pub async fn grant_role_permission(&self, role: &str, permission: &str) -> Result<bool> {
        validate_role(role)?;
        validate_permission(permission)?;
        let key = self.key("role_permissions", role);
        self.change("grant_role_permission", "SADD", &key, permission)
            .await
    }

    /// Revokes a grant of `role`; true when it was granted.
    pub async fn revoke_role_permission(&self, role: &str, permission: &str) -> Result<bool> {
        validate_role(role)?;
        validate_permission(permission)?;
        let key = self.key("role_permissions", role);
        self.change("revoke_role_permission", "SREM", &key, permission)
            .await
    }

    /// Gives `user` the role `role`; true when the user did not have it.
    pub async fn assign_role(&self, user: &str, role: &str) -> Result<bool> {
        validate::user_id(user)?;
        validate_role(role)?;
        let key = self.key("user_roles", user);
        self.change("assign_role", "SADD", &key, role).await
    }

    /// Takes the role `role` from `user`; true when the user had it.
    pub async fn unassign_role(&self, user: &str, role: &str) -> Result<bool> {
        validate::user_id(user)?;
        validate_role(role)?;
        let key = self.key("user_roles", user);
        self.change("unassign_role", "SREM", &key, role).await
    }

    /// The roles of `user`, sorted.
    pub async fn roles_of(&self, user: &str) -> Result<Vec<String>> {
        validate::user_id(user)?;
        let mut roles = self.members(&self.key("user_roles", user)).await?;
        roles.sort_unstable();
        Ok(roles)
    }

    /// The grants of `role`, sorted.
    pub async fn role_permissions(&self, role: &str) -> Result<Vec<String>> {
        validate_role(role)?;
        let mut perms = self.members(&self.key("role_permissions", role)).await?;
        perms.sort_unstable();
        Ok(perms)
    }

    /// Releases the connections; later calls return `Error::Closed`.
    pub fn close(&self) {
        self.link.close();
    }
}

/// Role names follow the user id rules: 1–255 bytes, no control characters.
fn validate_role(role: &str) -> Result<()> {
    validate::user_id(role).map_err(|e| match e {
        Error::InvalidInput { rule, .. } => Error::invalid(Field::Option("role"), rule),
        other => other,
    })
}

#[async_trait]
impl PermissionsProvider for RedisPermissionsProvider {
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        self.permissions_of(principal.lookup_name()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use psm_core::Rule;

    #[test]
    fn role_names_are_validated_like_user_ids() {
        assert!(validate_role("editor").is_ok());
        assert!(matches!(
            validate_role(""),
            Err(Error::InvalidInput {
                field: Field::Option("role"),
                rule: Rule::Empty
            })
        ));
        assert!(validate_role("a\nb").is_err());
    }
}
