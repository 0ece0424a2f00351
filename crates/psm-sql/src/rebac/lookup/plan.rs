//! The SQL store's plans (psm-rebac's `Planner` capability): the engine over a
//! [`SqlTupleStore`] answers `check`, `check_bulk` and `lookup_resources` with `check_sql` and
//! the SQL lookup, for every caller (library, `psm serve`, the CLI), when SQL's answer is
//! exactly the engine's: the depth guard (`guard.rs`) shows no walk past the engine's depth
//! limit (nor a cycle), and no caveated relationship is stored where the request reads. Other
//! requests are declined and the engine evaluates them through `read`.
//!
//! A plan is built once per schema, when the engine is: it holds the schema and its edge
//! table; requests only bind values.

use std::sync::Arc;

use psm_rebac::store::{Plan, Planned, Planner};
use psm_rebac::{CaveatContext, EngineConfig, ObjectRef, Permissionship, Schema, SubjectRef};

use super::guard;
use crate::rebac::store::{SqlTupleStore, store_error};

/// The plans of one schema over one SQL store.
#[derive(Debug)]
struct SqlPlan {
    store: SqlTupleStore,
    schema: Arc<Schema>,
    max_depth: u32,
    /// The schema's edges for the depth guard (`None`: no edges, nothing can recurse).
    rules: Option<String>,
}

impl Planner for SqlTupleStore {
    fn plan(&self, schema: &Arc<Schema>, config: &EngineConfig) -> Option<Arc<dyn Plan>> {
        let dialect = self.live().ok()?.dialect;
        // A schema name SQL cannot quote safely: nothing is planned, the engine reads.
        let rules = guard::rules(schema, dialect).ok()?;
        Some(Arc::new(SqlPlan {
            store: self.clone(),
            schema: schema.clone(),
            max_depth: config.max_depth,
            rules,
        }))
    }
}

impl SqlPlan {
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
