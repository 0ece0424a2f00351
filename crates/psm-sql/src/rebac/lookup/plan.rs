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
//! A plan is built once per schema, when the engine is: it holds the schema, its edge table and
//! its compiled statements (`template.rs`), each compiled once per request shape; requests only
//! bind values. A check is one statement (the depth guard and the check folded together); a
//! lookup is one statement (a second one only when it found no id, to tell "none" from "the
//! guard fired").
//!
//! The depth proof (`depth.rs`) spares most requests the guard: while the store is at the
//! revision of the plan's last proof and the proof covers the request, the statement skips
//! the guard (it compares the revision it reads with the proof's, in its own snapshot). A check
//! that ran the guard because the store moved on starts a new proof, and a lookup (which cannot
//! tell) has the revision looked at now and then; either way the proof is made by a background
//! task, at most one at a time and paced by how long the last one took, and no request waits
//! for it (requests meanwhile run the guard).

use std::sync::{Arc, OnceLock};

use psm_rebac::store::{Plan, Planned, Planner};
use psm_rebac::{CaveatContext, EngineConfig, ObjectRef, Permissionship, Schema, SubjectRef};

use super::compile::{Compiler, Frag, Unsupported};
use super::depth::{self, Pace, Proofs, Prover, UNPROVEN};
use super::template::{Compiled, Kind, NOW, PROVEN};
use super::{forward, guard};
use crate::rebac::store::{SqlTupleStore, now_millis, store_error};

/// Why a plan declines when relationships with conditions are stored.
const CONDITIONS: &str = "relationships with a caveat or an expiration are stored";
/// Why a plan declines a request its depth guard stopped.
const DEEP: &str = "a walk may reach the depth limit or a cycle";
/// Why a plan declines a request SQL cannot express.
const INEXPRESSIBLE: &str = "a rule SQL cannot express";

/// The plans of one schema over one SQL store.
#[derive(Debug)]
struct SqlPlan {
    store: SqlTupleStore,
    /// The schema's statements, compiled once per request shape.
    compiled: Arc<Compiled>,
    max_depth: u32,
    /// The schema's edges for the depth guard (`None`: no edges, nothing can recurse).
    rules: Option<String>,
    /// Whether no stored relationship has a caveat or an expiration (looked up once).
    plain: OnceLock<bool>,
    /// The depth proof's statements (`None`: no edges, or a name SQL cannot quote).
    prover: Option<Arc<Prover>>,
    /// The latest depth proof and its background refresh.
    proofs: Arc<Proofs>,
    /// The revision table (what statements compare with the proof's revision).
    revision_table: String,
}

impl Planner for SqlTupleStore {
    fn plan(&self, schema: &Arc<Schema>, config: &EngineConfig) -> Option<Arc<dyn Plan>> {
        let plan: Arc<dyn Plan> = Arc::new(self.sql_plan(schema, config, Pace::DEFAULT)?);
        Some(plan)
    }
}

impl SqlTupleStore {
    /// The plans of `schema`, their depth proofs refreshed at `pace`.
    fn sql_plan(&self, schema: &Arc<Schema>, config: &EngineConfig, pace: Pace) -> Option<SqlPlan> {
        if schema.uses_caveats() || schema.uses_expiration_anywhere() {
            return None;
        }
        let inner = self.live().ok()?;
        let dialect = inner.dialect;
        // A schema name SQL cannot quote safely: nothing is planned, the engine reads.
        let rule_list = guard::rule_list(schema);
        let rules = guard::table(&rule_list, dialect).ok()?;
        let prover = Prover::new(
            schema.analysis(),
            &rule_list,
            dialect,
            &inner.tables.tuples,
            &inner.tables.revision,
            config.max_depth,
        )
        .ok()
        .filter(|_| rules.is_some())
        .map(Arc::new);
        let compiled = inner
            .schemas
            .get_shared(schema, dialect, &inner.tables.tuples);
        Some(SqlPlan {
            store: self.clone(),
            compiled,
            max_depth: config.max_depth,
            rules,
            plain: OnceLock::new(),
            prover,
            proofs: Arc::new(Proofs::new(pace)),
            revision_table: inner.tables.revision.clone(),
        })
    }
}

impl Drop for SqlPlan {
    /// Stops the depth proof's refresh in flight.
    fn drop(&mut self) {
        self.proofs.abort();
    }
}

impl SqlPlan {
    /// After a lookup's statements: a lookup cannot tell a stale proof, so one now and then
    /// has the revision read again (and a new proof made when it moved on), in the background.
    async fn lookup_refresh(&self) {
        if self.proofs.recheck_due()
            && let Some(prover) = &self.prover
        {
            self.proofs.refresh(prover, &self.store).await;
        }
    }

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

    /// The revision of the latest depth proof when it covers a request (`covers`), else
    /// [`UNPROVEN`].
    fn proven(&self, covers: impl Fn(&depth::Proof) -> bool) -> i64 {
        match self.proofs.current() {
            Some(p) if covers(&p) => p.revision,
            _ => UNPROVEN,
        }
    }

    /// The check in one statement: `'deep'` when the depth guard fires, else `'y'` or `'n'`.
    fn check_statement(
        &self,
        subject: &SubjectRef,
        resource: &ObjectRef,
        permission: &str,
    ) -> Result<Frag, Unsupported> {
        let c = &self.compiled;
        let (schema, dialect, tuples) = (&*c.schema, c.dialect, c.tuples.as_str());
        let analysis = &c.analysis;
        let check = forward::check(
            schema, analysis, dialect, tuples, subject, NOW, resource, permission,
        )
        .or_else(|_| {
            let root = (resource.object_type.to_string(), permission.to_owned());
            Compiler::new(schema, analysis, dialect, tuples, subject, NOW, root)
                .compile(Some(&resource.object_id))
        })?;
        let Some(rules) = &self.rules else {
            let mut out = Frag::text("SELECT COALESCE((SELECT 'y' FROM (");
            out.sql.push_str(&check.sql);
            out.binds.extend(check.binds);
            out.push(") c LIMIT 1), 'n') AS id");
            return Ok(out);
        };
        // proven: the check alone ('y' / 'n'); else the guard first ('deep'), then the check
        // ('sy' / 'sn': answered without the proof)
        let mut out = Frag::text(format!(
            "SELECT CASE WHEN {} = ? THEN COALESCE((SELECT 'y' FROM (",
            depth::revision_expr(&self.revision_table)
        ));
        out.binds.push(crate::rebac::rows::SqlValue::Int(PROVEN));
        out.sql.push_str(&check.sql);
        out.binds.extend(check.binds.iter().cloned());
        out.push(") c LIMIT 1), 'n') ELSE COALESCE(");
        {
            let g = guard::check(
                rules,
                dialect,
                tuples,
                &resource.object_type,
                &resource.object_id,
                permission,
                self.max_depth,
            )?;
            out.push("(SELECT g.id FROM (");
            out.sql.push_str(&g.sql);
            out.binds.extend(g.binds);
            out.push(") g LIMIT 1), ");
        }
        out.push("(SELECT 'sy' FROM (");
        out.sql.push_str(&check.sql);
        out.binds.extend(check.binds);
        out.push(") c LIMIT 1), 'sn') END AS id");
        Ok(out)
    }

    /// The lookup's ids, none when the depth guard fires ([`Kind::PlanLookup`]), or the guard
    /// alone ([`Kind::GuardLookup`]).
    fn lookup_statement(
        &self,
        kind: Kind,
        subject: &SubjectRef,
        resource_type: &str,
        permission: &str,
    ) -> Result<Frag, Unsupported> {
        let c = &self.compiled;
        let (schema, dialect, tuples) = (&*c.schema, c.dialect, c.tuples.as_str());
        let guard = match &self.rules {
            Some(rules) => Some(guard::lookup(
                rules,
                dialect,
                tuples,
                subject,
                resource_type,
                permission,
                self.max_depth,
            )?),
            None => None,
        };
        let proven = format!("{} = ?", depth::revision_expr(&self.revision_table));
        if kind == Kind::GuardLookup {
            let g = guard.ok_or_else(|| Unsupported("no depth guard".to_owned()))?;
            let mut out = Frag::text(format!("SELECT g.id FROM ({}) g WHERE NOT (", g.sql));
            out.binds.extend(g.binds);
            out.push(&proven);
            out.binds.push(crate::rebac::rows::SqlValue::Int(PROVEN));
            out.push(")");
            return Ok(out);
        }
        let root = (resource_type.to_owned(), permission.to_owned());
        let ids = Compiler::new(schema, &c.analysis, dialect, tuples, subject, NOW, root)
            .compile(None)?;
        let mut out = Frag::text("SELECT DISTINCT f.id FROM (");
        out.sql.push_str(&ids.sql);
        out.binds.extend(ids.binds);
        out.push(") f");
        if let Some(g) = guard {
            out.push(" WHERE (");
            out.push(&proven);
            out.binds.push(crate::rebac::rows::SqlValue::Int(PROVEN));
            out.push(" OR NOT EXISTS (SELECT 1 FROM (");
            out.sql.push_str(&g.sql);
            out.binds.extend(g.binds);
            out.push(") g))");
        }
        Ok(out)
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
        let t = self.compiled.template(
            Kind::PlanCheck,
            &resource.object_type,
            permission,
            subject,
            |s, r| self.check_statement(s, r, permission),
        );
        let Ok(t) = t.as_ref() else {
            return Ok(Planned::Declined(INEXPRESSIBLE));
        };
        let proven = self.proven(|p| p.covers(&resource.object_type, permission));
        let binds = t.binds_proven(subject, &resource.object_id, now_millis(), proven);
        let rows = self.store.texts_run(&t.sql, &binds).await?;
        let answer = rows.first().map(String::as_str);
        if matches!(answer, Some("deep" | "sy" | "sn"))
            && let Some(prover) = &self.prover
        {
            // the proof did not answer: none yet, or the store moved on (when the proof covers
            // this request), or the store may have become shallow since an old proof
            let due = match self.proofs.current() {
                None => true,
                Some(p) => proven != UNPROVEN || p.made.elapsed() >= depth::UNCOVERED_AGE,
            };
            if due {
                // in the background: this request has its answer already
                self.proofs.refresh(prover, &self.store).await;
            }
        }
        Ok(match answer {
            Some("deep") => Planned::Declined(DEEP),
            Some("y" | "sy") => Planned::Answer(Permissionship::HasPermission),
            _ => Planned::Answer(Permissionship::NoPermission),
        })
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
        let now = now_millis();
        let t = self.compiled.template(
            Kind::PlanLookup,
            resource_type,
            permission,
            subject,
            |s, _| self.lookup_statement(Kind::PlanLookup, s, resource_type, permission),
        );
        let Ok(t) = t.as_ref() else {
            return Ok(Planned::Declined(INEXPRESSIBLE));
        };
        let proven = self.proven(|p| p.all);
        let mut ids = self
            .store
            .texts_run(&t.sql, &t.binds_proven(subject, "", now, proven))
            .await?;
        if ids.is_empty() && self.rules.is_some() {
            // No ids: none granted, or the guard fired (one more statement tells).
            let g = self.compiled.template(
                Kind::GuardLookup,
                resource_type,
                permission,
                subject,
                |s, _| self.lookup_statement(Kind::GuardLookup, s, resource_type, permission),
            );
            let Ok(g) = g.as_ref() else {
                return Ok(Planned::Declined(DEEP));
            };
            let deep = self
                .store
                .texts_run(&g.sql, &g.binds_proven(subject, "", now, proven))
                .await?;
            if !deep.is_empty() {
                self.lookup_refresh().await;
                return Ok(Planned::Declined(DEEP));
            }
        }
        self.lookup_refresh().await;
        ids.sort();
        ids.dedup();
        Ok(Planned::Answer(ids))
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use psm_rebac::{Relationship, RelationshipUpdate};

    use super::*;

    const SCHEMA: &str = "
        definition user {}
        definition group { relation member: user | group#member }
        definition doc {
            relation reader: user | group#member
            permission view = reader
        }";

    /// Refreshes as often as requests ask for them.
    const EAGER: Pace = Pace {
        min_pause: Duration::ZERO,
        factor: 0,
        recheck: Duration::ZERO,
    };

    async fn write(store: &SqlTupleStore, rels: &[&str]) {
        let updates: Vec<RelationshipUpdate> = rels
            .iter()
            .map(|r| RelationshipUpdate::touch(r.parse::<Relationship>().unwrap()))
            .collect();
        psm_rebac::TupleStore::write(store, &updates, &[])
            .await
            .unwrap();
    }

    async fn setup() -> (SqlTupleStore, SqlPlan) {
        let store = SqlTupleStore::connect("sqlite::memory:").await.unwrap();
        write(
            &store,
            &["doc:d#reader@group:g#member", "group:g#member@user:u"],
        )
        .await;
        let schema = Arc::new(Schema::parse_spicedb(SCHEMA).unwrap());
        let plan = store
            .sql_plan(&schema, &EngineConfig::default(), EAGER)
            .unwrap();
        (store, plan)
    }

    async fn check(plan: &SqlPlan, user: &str) -> Planned<Permissionship> {
        let user: SubjectRef = user.parse().unwrap();
        let doc = ObjectRef::new("doc", "d");
        plan.check(&doc, "view", &user, &CaveatContext::new())
            .await
            .unwrap()
    }

    async fn lookup(plan: &SqlPlan, user: &str) -> Planned<Vec<String>> {
        let user: SubjectRef = user.parse().unwrap();
        plan.lookup_resources("doc", "view", &user, &CaveatContext::new())
            .await
            .unwrap()
    }

    /// Awaits the refresh task the last request started.
    async fn settle(plan: &SqlPlan) {
        plan.proofs.take_task().unwrap().await.unwrap();
    }

    // A current-thread runtime: a spawned task runs only when the test awaits, so a request
    // that returns before its refresh ran did not wait for it.
    #[tokio::test]
    async fn checks_answer_before_the_proof_their_refresh_makes() {
        let (store, plan) = setup().await;
        let granted = Planned::Answer(Permissionship::HasPermission);
        assert_eq!(check(&plan, "user:u").await, granted);
        assert_eq!(plan.proofs.started(), 1, "the check started a refresh");
        assert!(
            plan.proofs.current().is_none(),
            "and answered without waiting for it"
        );
        settle(&plan).await;
        let first = plan.proofs.current().unwrap();
        assert_eq!(plan.proofs.walks(), 1);
        // proven: nothing more to refresh
        assert_eq!(check(&plan, "user:u").await, granted);
        assert_eq!(plan.proofs.started(), 1);
        // the store moves on: the next check runs the guard and starts a refresh
        write(&store, &["group:g#member@user:v"]).await;
        assert_eq!(check(&plan, "user:v").await, granted);
        assert_eq!(plan.proofs.started(), 2);
        assert_eq!(plan.proofs.current().unwrap().revision, first.revision);
        settle(&plan).await;
        assert!(plan.proofs.current().unwrap().revision > first.revision);
        assert_eq!(plan.proofs.walks(), 2);
    }

    #[tokio::test]
    async fn lookups_refresh_a_stale_proof_in_the_background() {
        let (store, plan) = setup().await;
        let want = Planned::Answer(vec!["d".to_owned()]);
        assert_eq!(lookup(&plan, "user:u").await, want);
        assert_eq!(plan.proofs.started(), 1);
        assert!(plan.proofs.current().is_none());
        settle(&plan).await;
        let first = plan.proofs.current().unwrap();
        // unchanged store: the refresh reads the revision and walks nothing
        assert_eq!(lookup(&plan, "user:u").await, want);
        settle(&plan).await;
        assert_eq!((plan.proofs.started(), plan.proofs.walks()), (2, 1));
        // a lookup-only workload after a write: the stale proof is replaced
        write(&store, &["group:g#member@user:v"]).await;
        assert_eq!(lookup(&plan, "user:v").await, want);
        settle(&plan).await;
        assert_eq!(plan.proofs.walks(), 2);
        assert!(plan.proofs.current().unwrap().revision > first.revision);
    }

    #[tokio::test]
    async fn dropping_the_plan_aborts_its_refresh() {
        let (_store, plan) = setup().await;
        let _ = check(&plan, "user:u").await;
        let proofs = plan.proofs.clone();
        drop(plan);
        let ended = proofs.take_task().unwrap().await;
        assert!(ended.unwrap_err().is_cancelled());
        assert!(proofs.current().is_none());
    }
}
