//! `SqlAcl`: an in-memory [`Acl`] whose every change is written through to a [`SqlAclStore`].
//!
//! Additions (grant, roles, resources, permissions, parents) are validated and applied in
//! memory first (grammar, cycles, limits: a refusal touches neither side), then written; if
//! the write fails they are undone in memory. Removals are written first and applied in memory
//! once the database has them. A call that failed or was cancelled half-way marks the copy
//! dirty (a COMMIT whose answer was lost may still have landed), and the next call reloads it
//! from the tables before doing anything.

use std::ops::Deref;

use psm_acl::{Acl, AclSnapshot};
use psm_core::Result;

use crate::acl::store::{SqlAclStore, Statement, check_name};

/// An ACL kept in memory for checks (nanoseconds, no I/O) and in SQL for durability.
///
/// Reads go through `Deref` to the in-memory [`Acl`] (`check`, `which`, `snapshot`, ...).
/// One `SqlAcl` should be the only writer of its tables; other processes reading the same
/// tables call [`reload`](Self::reload) (for example when [`SqlAclStore::version`] moved).
#[derive(Debug)]
pub struct SqlAcl {
    store: SqlAclStore,
    acl: Acl,
    dirty: bool,
}

fn owned(binds: &[&str]) -> Vec<String> {
    binds.iter().map(|s| (*s).to_owned()).collect()
}

impl SqlAcl {
    /// Loads the ACL from `store`'s tables.
    pub async fn load(store: SqlAclStore) -> Result<Self> {
        let acl = store.load().await?;
        Ok(SqlAcl {
            store,
            acl,
            dirty: false,
        })
    }

    /// The store written to.
    pub fn store(&self) -> &SqlAclStore {
        &self.store
    }

    /// The in-memory ACL.
    pub fn acl(&self) -> &Acl {
        &self.acl
    }

    /// True after a write failed or was cancelled: the in-memory copy may differ from the
    /// tables until the next call (or [`reload`](Self::reload)) reloads it.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Replaces the in-memory copy with the tables' current content.
    pub async fn reload(&mut self) -> Result<()> {
        self.dirty = true;
        self.acl = self.store.load().await?;
        self.dirty = false;
        Ok(())
    }

    /// Replaces the whole ACL, in the tables (one transaction) and then in memory.
    pub async fn replace(&mut self, acl: Acl) -> Result<()> {
        self.settle().await?;
        self.dirty = true;
        self.store.save(&acl.snapshot()).await?;
        self.acl = acl;
        self.dirty = false;
        Ok(())
    }

    /// Reloads after a cancelled call.
    async fn settle(&mut self) -> Result<()> {
        if self.dirty {
            self.reload().await?;
        }
        Ok(())
    }

    /// Writes `statements`; on failure runs `undo` on the in-memory copy.
    async fn write_or_undo(
        &mut self,
        op: &'static str,
        statements: Vec<Statement>,
        undo: impl FnOnce(&mut Acl),
    ) -> Result<Vec<u64>> {
        self.dirty = true;
        let result = self.store.write(op, statements).await;
        match result {
            Ok(_) => self.dirty = false,
            // stays dirty: a COMMIT whose answer was lost may have landed; the next call reloads
            Err(_) => undo(&mut self.acl),
        }
        result
    }

    /// Writes `statements`, then applies `apply` in memory.
    async fn write_then<T>(
        &mut self,
        op: &'static str,
        statements: Vec<Statement>,
        apply: impl FnOnce(&mut Acl) -> T,
    ) -> Result<T> {
        self.dirty = true;
        self.store.write(op, statements).await?;
        let out = apply(&mut self.acl);
        self.dirty = false;
        Ok(out)
    }

    /// Grants `permission` on `resource` to `role`, creating what is missing (Miracle's
    /// `grant`); true when the grant is new.
    pub async fn grant(&mut self, role: &str, resource: &str, permission: &str) -> Result<bool> {
        self.settle().await?;
        check_name("role", role)?;
        check_name("resource", resource)?;
        let had_role = self.acl.has_role(role);
        let had_resource = self.acl.has_resource(resource);
        let had_permission = self.acl.has_permission(resource, permission);
        let new = self.acl.grant(role, resource, permission)?;
        if !new {
            return Ok(false);
        }
        let sql = self.store.sql();
        let statements = vec![
            (sql.ensure_role.clone(), owned(&[role])),
            (sql.ensure_resource.clone(), owned(&[resource])),
            (
                sql.ensure_permission.clone(),
                owned(&[resource, permission]),
            ),
            (
                sql.ensure_grant.clone(),
                owned(&[role, resource, permission]),
            ),
        ];
        self.write_or_undo("acl_grant", statements, |acl| {
            acl.revoke(role, resource, permission);
            if !had_permission {
                acl.remove_permission(resource, permission);
            }
            if !had_resource {
                acl.remove_resource(resource);
            }
            if !had_role {
                acl.remove_role(role);
            }
        })
        .await?;
        Ok(true)
    }

    /// Revokes a direct grant; false when there was none (nothing is written then).
    pub async fn revoke(&mut self, role: &str, resource: &str, permission: &str) -> Result<bool> {
        self.settle().await?;
        let held = self.acl.has_grant(role, resource, permission);
        if !held {
            return Ok(false);
        }
        let sql = self.store.sql();
        let statements = vec![(
            sql.delete_grant.clone(),
            owned(&[role, resource, permission]),
        )];
        self.write_then("acl_revoke", statements, |acl| {
            acl.revoke(role, resource, permission)
        })
        .await
    }

    /// Revokes every direct grant of `role` (on `resource` only, when given); how many.
    pub async fn revoke_all(&mut self, role: &str, resource: Option<&str>) -> Result<usize> {
        self.settle().await?;
        let sql = self.store.sql();
        let statements = match resource {
            Some(res) => vec![(sql.delete_role_grants_on.clone(), owned(&[role, res]))],
            None => vec![(sql.delete_role_grants.clone(), owned(&[role]))],
        };
        self.write_then("acl_revoke_all", statements, |acl| match resource {
            Some(res) => acl.revoke_all_on(role, res),
            None => acl.revoke_all(role, None),
        })
        .await
    }

    /// Defines a role; true when it is new.
    pub async fn add_role(&mut self, role: &str) -> Result<bool> {
        self.settle().await?;
        check_name("role", role)?;
        if !self.acl.add_role(role)? {
            return Ok(false);
        }
        let statements = vec![(self.store.sql().ensure_role.clone(), owned(&[role]))];
        self.write_or_undo("acl_add_role", statements, |acl| {
            acl.remove_role(role);
        })
        .await?;
        Ok(true)
    }

    /// Defines a resource; true when it is new.
    pub async fn add_resource(&mut self, resource: &str) -> Result<bool> {
        self.settle().await?;
        check_name("resource", resource)?;
        if !self.acl.add_resource(resource)? {
            return Ok(false);
        }
        let statements = vec![(self.store.sql().ensure_resource.clone(), owned(&[resource]))];
        self.write_or_undo("acl_add_resource", statements, |acl| {
            acl.remove_resource(resource);
        })
        .await?;
        Ok(true)
    }

    /// Defines `permission` on `resource` (creating the resource); true when it is new.
    pub async fn add_permission(&mut self, resource: &str, permission: &str) -> Result<bool> {
        self.settle().await?;
        check_name("resource", resource)?;
        let had_resource = self.acl.has_resource(resource);
        if !self.acl.add_permission(resource, permission)? {
            return Ok(false);
        }
        let sql = self.store.sql();
        let statements = vec![
            (sql.ensure_resource.clone(), owned(&[resource])),
            (
                sql.ensure_permission.clone(),
                owned(&[resource, permission]),
            ),
        ];
        self.write_or_undo("acl_add_permission", statements, |acl| {
            acl.remove_permission(resource, permission);
            if !had_resource {
                acl.remove_resource(resource);
            }
        })
        .await?;
        Ok(true)
    }

    /// Makes `role` inherit from `parent` (creating both); cycles are refused before anything
    /// is written. True when the edge is new.
    pub async fn add_parent(&mut self, role: &str, parent: &str) -> Result<bool> {
        self.settle().await?;
        check_name("role", role)?;
        check_name("role", parent)?;
        let had_role = self.acl.has_role(role);
        let had_parent = self.acl.has_role(parent);
        if !self.acl.add_parent(role, parent)? {
            return Ok(false);
        }
        let sql = self.store.sql();
        let statements = vec![
            (sql.ensure_role.clone(), owned(&[role])),
            (sql.ensure_role.clone(), owned(&[parent])),
            (sql.ensure_parent.clone(), owned(&[role, parent])),
        ];
        self.write_or_undo("acl_add_parent", statements, |acl| {
            acl.remove_parent(role, parent);
            if !had_role {
                acl.remove_role(role);
            }
            if !had_parent {
                acl.remove_role(parent);
            }
        })
        .await?;
        Ok(true)
    }

    /// Removes an inheritance edge; true when it was there.
    pub async fn remove_parent(&mut self, role: &str, parent: &str) -> Result<bool> {
        self.settle().await?;
        if !self.acl.parents(role).any(|p| p == parent) {
            return Ok(false);
        }
        let statements = vec![(
            self.store.sql().delete_parent.clone(),
            owned(&[role, parent]),
        )];
        self.write_then("acl_remove_parent", statements, |acl| {
            acl.remove_parent(role, parent)
        })
        .await
    }

    /// Removes a role with its grants and edges; true when it existed.
    pub async fn remove_role(&mut self, role: &str) -> Result<bool> {
        self.settle().await?;
        if !self.acl.has_role(role) {
            return Ok(false);
        }
        let sql = self.store.sql();
        let statements = vec![
            (sql.delete_role_grants.clone(), owned(&[role])),
            (sql.delete_role_parents.clone(), owned(&[role, role])),
            (sql.delete_role.clone(), owned(&[role])),
        ];
        self.write_then("acl_remove_role", statements, |acl| acl.remove_role(role))
            .await
    }

    /// Removes a resource with its permissions and grants; true when it existed.
    pub async fn remove_resource(&mut self, resource: &str) -> Result<bool> {
        self.settle().await?;
        if !self.acl.has_resource(resource) {
            return Ok(false);
        }
        let sql = self.store.sql();
        let statements = vec![
            (sql.delete_resource_grants.clone(), owned(&[resource])),
            (sql.delete_resource_permissions.clone(), owned(&[resource])),
            (sql.delete_resource.clone(), owned(&[resource])),
        ];
        self.write_then("acl_remove_resource", statements, |acl| {
            acl.remove_resource(resource)
        })
        .await
    }

    /// Removes a permission from one resource, with its grants; true when it was defined.
    pub async fn remove_permission(&mut self, resource: &str, permission: &str) -> Result<bool> {
        self.settle().await?;
        if !self.acl.has_permission(resource, permission) {
            return Ok(false);
        }
        let sql = self.store.sql();
        let statements = vec![
            (
                sql.delete_permission_grants.clone(),
                owned(&[resource, permission]),
            ),
            (
                sql.delete_permission.clone(),
                owned(&[resource, permission]),
            ),
        ];
        self.write_then("acl_remove_permission", statements, |acl| {
            acl.remove_permission(resource, permission)
        })
        .await
    }

    /// Removes everything, in the tables and in memory.
    pub async fn clear(&mut self) -> Result<()> {
        self.replace(Acl::new()).await
    }

    /// An immutable snapshot of the in-memory state.
    pub fn snapshot(&self) -> AclSnapshot {
        self.acl.snapshot()
    }
}

impl Deref for SqlAcl {
    type Target = Acl;
    fn deref(&self) -> &Acl {
        &self.acl
    }
}
