//! `UserDirectory`: the example's table of users and their granted permissions.

use std::collections::{BTreeMap, BTreeSet};

use parking_lot::RwLock;
use psm_core::Result;
use psm_core::permission::validate_permission;

/// Users and their permissions (in a real application: a database behind a provider).
#[derive(Debug, Default)]
pub struct UserDirectory {
    users: RwLock<BTreeMap<String, BTreeSet<String>>>,
}

impl UserDirectory {
    /// The demo table: `admin` (everything on posts plus `admin:permissions`), `alice`
    /// (read and write posts), `bob` (read posts).
    pub fn demo() -> Self {
        let dir = UserDirectory::default();
        for (user, perms) in [
            (
                "admin",
                &[
                    "admin:permissions",
                    "read:posts",
                    "write:posts",
                    "delete:posts",
                ][..],
            ),
            ("alice", &["read:posts", "write:posts"][..]),
            ("bob", &["read:posts"][..]),
        ] {
            dir.users.write().insert(
                user.to_owned(),
                perms.iter().map(|p| p.to_string()).collect(),
            );
        }
        dir
    }

    /// The user's permissions, or `None` for an unknown user.
    pub fn permissions(&self, user: &str) -> Option<Vec<String>> {
        self.users
            .read()
            .get(user)
            .map(|s| s.iter().cloned().collect())
    }

    /// Grants `permission` (validated); `None` for an unknown user, else whether it was new.
    pub fn grant(&self, user: &str, permission: &str) -> Result<Option<bool>> {
        validate_permission(permission)?;
        Ok(self
            .users
            .write()
            .get_mut(user)
            .map(|s| s.insert(permission.to_owned())))
    }

    /// Revokes `permission`; `None` for an unknown user, else whether it was held.
    pub fn revoke(&self, user: &str, permission: &str) -> Result<Option<bool>> {
        validate_permission(permission)?;
        Ok(self
            .users
            .write()
            .get_mut(user)
            .map(|s| s.remove(permission)))
    }
}
