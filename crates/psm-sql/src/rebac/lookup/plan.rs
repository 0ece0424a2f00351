//! The SQL store's plans (psm-rebac's `Planner` capability): the engine over a
//! [`SqlTupleStore`] answers `check`, `check_bulk` and `lookup_resources` with `check_sql` and
//! the SQL lookup, for every caller (library, `psm serve`, the CLI), when SQL's answer is
//! exactly the engine's: the depth guard (`guard.rs`) shows no walk past the engine's depth
//! limit (nor a cycle), and no caveated relationship is stored where the request reads. Other
//! requests are declined and the engine evaluates them through `read`.
//!
//! Conditions: SQL evaluates no CEL, and the engine treats relationships differently by
//! whether the schema has caveats or expiration, so a plan is made only for schemas without
//! either; and since relationships with a caveat or an expiration written under an older
//! schema still count for the engine (as plain ones) but not for SQL, the plan's first request
//! looks for any (one statement, once per plan) and the plan declines everything if there are.
//!
//! A plan is built once per schema, when the engine is: it holds the schema and its edge
//! table; requests only bind values.

use std::sync::{Arc, OnceLock};

use psm_rebac::store::{Plan, Planned, Planner};
use psm_rebac::{CaveatContext, EngineConfig, ObjectRef, Permissionship, Schema, SubjectRef};

use super::guard;
use crate::rebac::store::{SqlTupleStore, store_error};

/// Why a plan declines when relationships with conditions are stored.
const CONDITIONS: &str = "relationships with a caveat or an expiration are stored";

/// The plans of one schema over one SQL store.
#[derive(Debug)]
struct SqlPlan {
    store: SqlTupleStore,
    schema: Arc<Schema>,
    max_depth: u32,
    /// The schema's edges for the depth guard (`None`: no edges, nothing can recurse).
    rules: Option<String>,
    /// Whether no stored relationship has a caveat or an expiration (looked up once).
    plain: OnceLock<bool>,
}

impl Planner for SqlTupleStore {
    fn plan(&self, schema: &Arc<Schema>, config: &EngineConfig) -> Option<Arc<dyn Plan>> {
        if schema.uses_caveats() || schema.uses_expiration_anywhere() {
            return None;
        }
        let dialect = self.live().ok()?.dialect;
        // A schema name SQL cannot quote safely: nothing is planned, the engine reads.
        let rules = guard::rules(schema, dialect).ok()?;
        Some(Arc::new(SqlPlan {
            store: self.clone(),
            schema: schema.clone(),
            max_depth: config.max_depth,
            rules,
            plain: OnceLock::new(),
        }))
    }
}

impl SqlPlan {
    /// Whether the store holds only plain relationships (no caveat, no expiration).
    async fn plain(&self) -> psm_rebac::Result<bool> {
        if let Some(&p) = self.plain.get() {
            return Ok(p);
        }
        let sql = {
            let inner = self.store.live().map_err(store_error)?;
            format!(
                "SELECT 'x' AS id FROM {} x WHERE x.caveat_name IS NOT NULL \
                 OR x.expires_at IS NOT NULL LIMIT 1",
                inner.tables.tuples
            )
        };
        let plain = self.store.texts(&sql, &[]).await?.is_empty();
        Ok(*self.plain.get_or_init(|| plain))
    }

    /// Whether the guard statement found a walk past the depth limit.
    async fn too_deep(
        &self,
        frag: Result<super::Frag, super::Unsupported>,
    ) -> psm_rebac::Result<bool> {
        match frag {
            Ok(f) => Ok(!self.store.texts(&f.sql, &f.binds).await?.is_empty()),
            Err(_) => Ok(true),
        }
    }
}

#[async_trait::async_trait]
impl Plan for SqlPlan {
    async fn check(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
        _context: &CaveatContext,
    ) -> psm_rebac::Result<Planned<Permissionship>> {
        if !self.plain().await? {
            return Ok(Planned::Declined(CONDITIONS));
        }
        if let Some(rules) = &self.rules {
            let frag = {
                let inner = self.store.live().map_err(store_error)?;
                guard::check(
                    rules,
                    inner.dialect,
                    &inner.tables.tuples,
                    &resource.object_type,
                    &resource.object_id,
                    permission,
                    self.max_depth,
                )
            };
            if self.too_deep(frag).await? {
                return Ok(Planned::Declined(
                    "a walk may reach the depth limit or a cycle",
                ));
            }
        }
        Ok(
            match self
                .store
                .check_in_sql(&self.schema, resource, permission, subject)
                .await?
            {
                Some(true) => Planned::Answer(Permissionship::HasPermission),
                Some(false) => Planned::Answer(Permissionship::NoPermission),
                None => Planned::Declined("caveated relationships or a rule SQL cannot express"),
            },
        )
    }

    async fn lookup_resources(
        &self,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
        _context: &CaveatContext,
    ) -> psm_rebac::Result<Planned<Vec<String>>> {
        if !self.plain().await? {
            return Ok(Planned::Declined(CONDITIONS));
        }
        if let Some(rules) = &self.rules {
            let frag = {
                let inner = self.store.live().map_err(store_error)?;
                guard::lookup(
                    rules,
                    inner.dialect,
                    &inner.tables.tuples,
                    subject,
                    resource_type,
                    permission,
                    self.max_depth,
                )
            };
            if self.too_deep(frag).await? {
                return Ok(Planned::Declined(
                    "a walk may reach the depth limit or a cycle",
                ));
            }
        }
        Ok(
            match self
                .store
                .lookup_in_sql(&self.schema, resource_type, permission, subject)
                .await?
            {
                Some(ids) => Planned::Answer(ids),
                None => Planned::Declined("caveated relationships or a rule SQL cannot express"),
            },
        )
    }
}
