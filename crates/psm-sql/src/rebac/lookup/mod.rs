//! `lookup_resources_filter`: the resources a subject may access as a SQL subquery to compose
//! into your own query (no id list crosses the wire), and `check_sql`, a check in one
//! statement. See [`SqlFilter`] and the compiler's notes in `compile.rs`.
//!
//! What SQL expresses: unions, nested usersets and recursive arrows (`WITH RECURSIVE`, cycles
//! end because `UNION` drops rows already found), wildcards, intersections and exclusions whose
//! other side does not depend on the relation being computed (`IN` / `NOT IN`), and `.all()`
//! arrows outside cycles (`NOT EXISTS`). What falls back to candidates plus check (the engine's
//! `lookup_resources` over this store, returned as a list of bound ids, at most
//! [`MAX_FALLBACK_IDS`]): an intersection with two branches inside one cycle, an exclusion
//! subtracting a relation of its own cycle, and an `.all()` arrow inside a cycle.
//! [`SqlFilter::strategy`] says which one a filter used.
//!
//! Caveats: SQL cannot evaluate CEL, so where caveated relationships are stored on a relation
//! a lookup reads (one index probe tells, and only when the schema allows a caveat there), the
//! caveated part goes to the engine with the request's context: on a union-only permission the
//! SQL keeps every grant that needs no caveat and the ids only caveated relationships could
//! add are checked by the engine and bound as a list ([`FilterStrategy::SqlAndChecked`]); a
//! permission with an intersection, exclusion or `.all()` arrow is looked up by the engine
//! entirely ([`FilterStrategy::Candidates`]). `check_sql` answers from SQL unless caveated
//! relationships are stored where it reads (and, on a union-only permission, the SQL did not
//! already grant): then the engine's check with the context answers.
//!
//! Difference from the engine, by design: the recursion has no depth limit (the engine
//! answers `DepthExceeded` past `max_depth`; SQL stops at the fixed point, which always
//! exists).

mod caveats;
mod compile;
mod depth;
mod forward;
mod guard;
mod plan;
mod template;

use std::fmt::Write as _;
use std::sync::Arc;

use psm_rebac::{
    CaveatContext, CheckItem, Error, ObjectRef, Permissionship, Schema, StoreErrorKind, SubjectRef,
};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::rows::{SqlValue, bind_values};
use super::store::{SqlTupleStore, now_millis, store_error};
use crate::conn::{dispatch, read_fast};
use crate::dialect::Dialect;
use crate::rows::TextColumn;
use compile::{Compiler, Frag, Unsupported};
pub(crate) use template::SchemaCache;
use template::{Cached, CachedRoot, Compiled, Kind, NOW, RootInfo, Template};

/// Most ids a fallback filter binds (inside every database's bind limit).
pub const MAX_FALLBACK_IDS: usize = 30_000;

/// How a filter was built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterStrategy {
    /// One SQL statement over the relationship table.
    Sql,
    /// The schema needs a rule SQL cannot express here, or caveated relationships touch a
    /// permission that is not union-only (the reason); the ids were computed by the engine
    /// (candidates plus check, with the request's caveat context) and are bound as a list.
    Candidates(String),
    /// One SQL statement for the grants that need no caveat, united with the ids only
    /// caveated relationships could grant that the engine confirmed with the request's
    /// context, bound as a list (the reason names the caveated relations).
    SqlAndChecked(String),
}

/// A subquery yielding one column, `id`: the ids of the resources a subject may access.
///
/// Compose it into your own query with [`SqlFilter::push_in`] (sqlx `QueryBuilder`, binds
/// included) or take the text ([`SqlFilter::sql`], placeholders in the database's syntax) and
/// bind [`SqlFilter::binds`] in order.
///
/// Column types: on PostgreSQL the ids are `TEXT` in the database's default collation, left
/// implicit (they come out of a subquery), so the comparison takes your column's collation and
/// an index on it is used; on MySQL/MariaDB they are binary strings (no collation clash); on
/// SQLite plain `TEXT`.
#[derive(Debug, Clone)]
pub struct SqlFilter {
    dialect: Dialect,
    frag: Frag,
    strategy: FilterStrategy,
}

impl SqlFilter {
    /// The subquery, with placeholders numbered from `$1` on PostgreSQL (`?` elsewhere).
    pub fn sql(&self) -> String {
        self.sql_from(1)
    }

    /// The subquery with PostgreSQL placeholders numbered from `first` (for composing after
    /// binds of your own); other databases use `?`.
    pub fn sql_from(&self, first: usize) -> String {
        if self.dialect != Dialect::Postgres {
            return self.frag.sql.clone();
        }
        let mut out = String::with_capacity(self.frag.sql.len() + 16);
        let mut n = first;
        for ch in self.frag.sql.chars() {
            if ch == '?' {
                out.push('$');
                out.push_str(&n.to_string());
                n += 1;
            } else {
                out.push(ch);
            }
        }
        out
    }

    /// The values of the placeholders, in order.
    pub fn binds(&self) -> &[SqlValue] {
        &self.frag.binds
    }

    /// How the filter was built.
    pub fn strategy(&self) -> &FilterStrategy {
        &self.strategy
    }

    /// Pushes `{column} IN (<subquery>)` with its binds onto a query builder. `column` is your
    /// own SQL (e.g. `d.id`); never pass user input there.
    pub fn push_in<'args, DB>(&self, qb: &mut QueryBuilder<'args, DB>, column: &str)
    where
        DB: Database,
        String: Encode<'args, DB> + Type<DB>,
        Option<String>: Encode<'args, DB> + Type<DB>,
        i64: Encode<'args, DB> + Type<DB>,
        Option<i64>: Encode<'args, DB> + Type<DB>,
    {
        qb.push(column);
        qb.push(" IN (");
        self.push_subquery(qb);
        qb.push(")");
    }

    /// Pushes the bare subquery with its binds onto a query builder.
    pub fn push_subquery<'args, DB>(&self, qb: &mut QueryBuilder<'args, DB>)
    where
        DB: Database,
        String: Encode<'args, DB> + Type<DB>,
        Option<String>: Encode<'args, DB> + Type<DB>,
        i64: Encode<'args, DB> + Type<DB>,
        Option<i64>: Encode<'args, DB> + Type<DB>,
    {
        let mut binds = self.frag.binds.iter();
        let mut pieces = self.frag.sql.split('?').peekable();
        while let Some(piece) = pieces.next() {
            qb.push(piece);
            if pieces.peek().is_some() {
                match binds.next() {
                    Some(SqlValue::Text(s)) => qb.push_bind(s.to_string()),
                    Some(SqlValue::OptText(s)) => qb.push_bind(s.as_ref().map(|s| s.to_string())),
                    Some(SqlValue::Int(i)) => qb.push_bind(*i),
                    Some(SqlValue::OptInt(i)) => qb.push_bind(*i),
                    None => qb.push_bind(None::<i64>),
                };
            }
        }
    }
}

fn require(schema: &Schema, object_type: &str, relation: Option<&str>) -> psm_rebac::Result<()> {
    let def = schema
        .definition(object_type)
        .ok_or_else(|| Error::UnknownType {
            object_type: object_type.to_owned(),
        })?;
    if let Some(r) = relation
        && def.relation(r).is_none()
    {
        return Err(Error::UnknownRelation {
            object_type: object_type.to_owned(),
            relation: r.to_owned(),
        });
    }
    Ok(())
}

impl SqlTupleStore {
    /// The ids of `resource_type` objects on which `subject` has `permission` under `schema`,
    /// as a subquery to compose into your own SQL (see [`SqlFilter`] and the module docs for
    /// what falls back to candidates plus check). Caveats are evaluated without request
    /// context (see [`SqlTupleStore::lookup_resources_filter_with_context`]).
    pub async fn lookup_resources_filter(
        &self,
        schema: &Schema,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
    ) -> psm_rebac::Result<SqlFilter> {
        self.lookup_resources_filter_with_context(
            schema,
            resource_type,
            permission,
            subject,
            &CaveatContext::new(),
        )
        .await
    }

    /// [`SqlTupleStore::lookup_resources_filter`] with caveat parameters for relationships
    /// whose caveat needs them. When the schema allows caveats on a relation the lookup reads,
    /// one indexed probe first asks whether live caveated relationships are stored there; if
    /// so, on a union-only permission the ids only caveated relationships could grant are
    /// checked by the engine with `context` and bound as a list next to the SQL
    /// ([`FilterStrategy::SqlAndChecked`]); on other permissions the whole lookup is the
    /// engine's ([`FilterStrategy::Candidates`]). Both are bounded by [`MAX_FALLBACK_IDS`].
    pub async fn lookup_resources_filter_with_context(
        &self,
        schema: &Schema,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
        context: &CaveatContext,
    ) -> psm_rebac::Result<SqlFilter> {
        require(schema, resource_type, Some(permission))?;
        require(
            schema,
            &subject.object.object_type,
            subject.relation.as_deref(),
        )?;
        let compiled = self.compiled(schema)?;
        let (dialect, now) = (compiled.dialect, now_millis());
        let info = root_info(&compiled, resource_type, permission);
        let info = info.as_ref().as_ref().map_err(|e| unsupported(e.clone()))?;
        let certain =
            match lookup_template(&compiled, Kind::Lookup, resource_type, permission, subject)
                .as_ref()
            {
                Ok(t) => t.frag(subject, "", now),
                Err(why) => {
                    return self
                        .engine_filter(
                            schema,
                            resource_type,
                            permission,
                            subject,
                            context,
                            why.0.clone(),
                        )
                        .await;
                }
            };
        let Some(probe) = &info.probe else {
            return Ok(SqlFilter {
                dialect,
                frag: certain,
                strategy: FilterStrategy::Sql,
            });
        };
        if self
            .texts_run(&probe.sql, &probe.binds(subject, "", now))
            .await?
            .is_empty()
        {
            return Ok(SqlFilter {
                dialect,
                frag: certain,
                strategy: FilterStrategy::Sql,
            });
        }
        let names = info
            .caveated
            .iter()
            .map(|(t, r)| format!("{t}#{r}"))
            .collect::<Vec<_>>()
            .join(", ");
        if !info.monotone {
            let why =
                format!("caveated relationships stored on {names}, not a union-only permission");
            return self
                .engine_filter(schema, resource_type, permission, subject, context, why)
                .await;
        }
        // Candidates: what caveated relationships could add to the uncaveated grants.
        let possible = lookup_template(
            &compiled,
            Kind::LookupPossible,
            resource_type,
            permission,
            subject,
        );
        let possible = match possible.as_ref() {
            Ok(t) => t.frag(subject, "", now),
            Err(e) => return Err(unsupported(e.clone())),
        };
        let mut q = Frag::text("SELECT p.id AS id FROM (");
        q.sql.push_str(&possible.sql);
        q.binds.extend(possible.binds);
        q.push(") p WHERE p.id NOT IN (SELECT c.id FROM (");
        q.sql.push_str(&certain.sql);
        q.binds.extend(certain.binds.iter().cloned());
        let _ = write!(q.sql, ") c) LIMIT {}", MAX_FALLBACK_IDS + 1);
        let candidates = self.texts(&q.sql, &q.binds).await?;
        if candidates.len() > MAX_FALLBACK_IDS {
            return Err(Error::store(
                StoreErrorKind::Limit,
                format!(
                    "lookup_resources_filter: more than {MAX_FALLBACK_IDS} ids depend on caveats ({names})"
                ),
            ));
        }
        let items: Vec<CheckItem> = candidates
            .iter()
            .map(|id| CheckItem {
                resource: ObjectRef::new(resource_type, id.as_str()),
                permission: permission.to_owned(),
                subject: subject.clone(),
            })
            .collect();
        let engine = self.engine_for(schema);
        let allowed = engine
            .scope()
            .with_context(context.clone())
            .check_bulk(&items)
            .await?;
        let granted: Vec<String> = candidates
            .into_iter()
            .zip(allowed)
            .filter_map(|(id, ok)| ok.then_some(id))
            .collect();
        let frag = if granted.is_empty() {
            certain
        } else {
            let mut u = Frag::text("SELECT u.id AS id FROM (");
            u.sql.push_str(&certain.sql);
            u.binds.extend(certain.binds);
            u.push(") u UNION ");
            let list = id_list(dialect, &compiled.tuples, granted);
            u.sql.push_str(&list.sql);
            u.binds.extend(list.binds);
            u
        };
        Ok(SqlFilter {
            dialect,
            frag,
            strategy: FilterStrategy::SqlAndChecked(format!(
                "caveated relationships stored on {names}"
            )),
        })
    }

    /// The compiled statements of `schema` on this store (kept for the last few schemas).
    pub(crate) fn compiled(&self, schema: &Schema) -> psm_rebac::Result<Arc<Compiled>> {
        let inner = self.live().map_err(store_error)?;
        Ok(inner
            .schemas
            .get(schema, inner.dialect, &inner.tables.tuples))
    }

    /// The whole lookup by the engine (candidates plus check, with `context`), as a bound list.
    async fn engine_filter(
        &self,
        schema: &Schema,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
        context: &CaveatContext,
        why: String,
    ) -> psm_rebac::Result<SqlFilter> {
        let inner = self.live().map_err(store_error)?;
        let engine = self.engine_for(schema);
        let ids = engine
            .scope()
            .with_context(context.clone())
            .lookup_resources(resource_type, permission, subject)
            .await?;
        if ids.len() > MAX_FALLBACK_IDS {
            return Err(Error::store(
                StoreErrorKind::Limit,
                format!(
                    "lookup_resources_filter: {} ids exceed the fallback limit of {MAX_FALLBACK_IDS} ({why})",
                    ids.len(),
                ),
            ));
        }
        Ok(SqlFilter {
            dialect: inner.dialect,
            frag: id_list(inner.dialect, &inner.tables.tuples, ids),
            strategy: FilterStrategy::Candidates(why),
        })
    }

    /// Runs a lookup filter: the ids, sorted (as the engine's `lookup_resources` returns them).
    pub async fn lookup_resources_sql(
        &self,
        schema: &Schema,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
    ) -> psm_rebac::Result<Vec<String>> {
        let context = CaveatContext::new();
        self.lookup_resources_sql_with_context(schema, resource_type, permission, subject, &context)
            .await
    }

    /// [`SqlTupleStore::lookup_resources_sql`] with caveat parameters (see
    /// [`SqlTupleStore::lookup_resources_filter_with_context`]).
    pub async fn lookup_resources_sql_with_context(
        &self,
        schema: &Schema,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
        context: &CaveatContext,
    ) -> psm_rebac::Result<Vec<String>> {
        let filter = self
            .lookup_resources_filter_with_context(
                schema,
                resource_type,
                permission,
                subject,
                context,
            )
            .await?;
        let mut sql = filter.frag.sql.clone();
        sql.insert_str(0, "SELECT DISTINCT f.id FROM (");
        sql.push_str(") f");
        let mut ids = self.texts(&sql, &filter.frag.binds).await?;
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Whether `subject` has `permission` on `resource`, in one SQL statement whatever the
    /// depth: a forward walk from the resource when every relation reached is a union (see
    /// `forward.rs`), else the lookup filter restricted to the id. Schemas the filter cannot
    /// express fall back to the engine's check over this store (one statement per relation
    /// visited). Caveats are evaluated without request context (see
    /// [`SqlTupleStore::check_sql_with_context`]).
    pub async fn check_sql(
        &self,
        schema: &Schema,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
    ) -> psm_rebac::Result<bool> {
        self.check_sql_with_context(schema, resource, permission, subject, &CaveatContext::new())
            .await
    }

    /// [`SqlTupleStore::check_sql`] with caveat parameters. When the schema allows caveats on a
    /// relation the check reads (and the SQL statement did not already grant a union-only
    /// permission), a second statement (one index probe) asks whether live caveated
    /// relationships are stored there; if so, the answer is the engine's check with `context`.
    pub async fn check_sql_with_context(
        &self,
        schema: &Schema,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
        context: &CaveatContext,
    ) -> psm_rebac::Result<bool> {
        require(schema, &resource.object_type, Some(permission))?;
        require(
            schema,
            &subject.object.object_type,
            subject.relation.as_deref(),
        )?;
        if let Some(answer) = self
            .check_in_sql(schema, resource, permission, subject)
            .await?
        {
            return Ok(answer);
        }
        let engine = self.engine_for(schema);
        let answer = engine
            .check_with_context(resource, permission, subject, context.clone())
            .await?;
        Ok(answer == Permissionship::HasPermission)
    }

    /// `check_sql`'s answer from SQL alone: `None` when caveated relationships stored where
    /// the check reads (or a schema SQL cannot express) leave it to the engine.
    pub(crate) async fn check_in_sql(
        &self,
        schema: &Schema,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
    ) -> psm_rebac::Result<Option<bool>> {
        let compiled = self.compiled(schema)?;
        let now = now_millis();
        let info = root_info(&compiled, &resource.object_type, permission);
        let info = info.as_ref().as_ref().map_err(|e| unsupported(e.clone()))?;
        let sql = check_template(&compiled, &resource.object_type, permission, subject);
        let sql = sql.as_ref().as_ref().ok();
        let run = |t: &Template| t.binds(subject, &resource.object_id, now);
        // Without caveats in play the SQL answer is the answer; on a union-only permission a
        // grant without caveats is one whatever the caveated relationships say.
        let sql_first = info.monotone || info.probe.is_none();
        if sql_first
            && let Some(t) = sql
            && !self.texts_run(&t.sql, &run(t)).await?.is_empty()
        {
            return Ok(Some(true));
        }
        let caveated = match &info.probe {
            Some(p) => !self.texts_run(&p.sql, &run(p)).await?.is_empty(),
            None => false,
        };
        if !caveated && let Some(t) = sql {
            if sql_first {
                return Ok(Some(false));
            }
            return Ok(Some(!self.texts_run(&t.sql, &run(t)).await?.is_empty()));
        }
        Ok(None)
    }

    /// Runs a `?`-placeholder query returning one text column, on a read lane.
    pub(crate) async fn texts(
        &self,
        sql: &str,
        binds: &[SqlValue],
    ) -> psm_rebac::Result<Vec<String>> {
        let sql = self.live().map_err(store_error)?.dialect.sql(sql);
        self.texts_run(&sql, binds).await
    }

    /// Runs a query in the database's placeholder syntax returning one text column, on a
    /// read lane.
    pub(crate) async fn texts_run(
        &self,
        sql: &str,
        binds: &[SqlValue],
    ) -> psm_rebac::Result<Vec<String>> {
        let inner = self.live().map_err(store_error)?;
        let run = || -> crate::exec::BoxFut<'_, Vec<String>> {
            Box::pin(async {
                dispatch!(&inner.conns, h => read_fast!(h, "rebac_lookup_sql", conn => {
                    match bind_values!(sqlx::query(sql), binds.iter()).fetch_all(&mut *conn).await {
                        Ok(rows) => rows.iter().map(|r| r.text(0)).collect::<Result<Vec<_>, _>>(),
                        Err(e) => Err(e),
                    }
                }))
            })
        };
        run().await.map_err(store_error)
    }
}

/// What requests on `resource_type#permission` need to know (computed once per schema).
fn root_info(compiled: &Compiled, resource_type: &str, permission: &str) -> CachedRoot {
    compiled.root(resource_type, permission, || {
        let (schema, analysis) = (&compiled.schema, &compiled.analysis);
        let graph = analysis.reach(&(resource_type.to_owned(), permission.to_owned()));
        let caveated = caveats::caveat_relations(schema, &graph);
        let probe = caveats::probe(&compiled.tuples, &caveated, NOW)?
            .map(|f| Template::new(compiled.dialect, f));
        Ok(RootInfo {
            monotone: analysis.monotone_or_absent(resource_type, permission),
            caveated,
            probe,
        })
    })
}

/// The lookup statement of `kind` ([`Kind::Lookup`] or [`Kind::LookupPossible`]).
pub(crate) fn lookup_template(
    compiled: &Compiled,
    kind: Kind,
    resource_type: &str,
    permission: &str,
    subject: &SubjectRef,
) -> Cached {
    compiled.template(kind, resource_type, permission, subject, |s, _| {
        let root = (resource_type.to_owned(), permission.to_owned());
        let c = Compiler::new(
            &compiled.schema,
            &compiled.analysis,
            compiled.dialect,
            &compiled.tuples,
            s,
            NOW,
            root,
        );
        if kind == Kind::LookupPossible {
            c.with_caveated().compile(None)
        } else {
            c.compile(None)
        }
    })
}

/// `check_sql`'s statement: the forward walk when the permission is a union, else the lookup
/// restricted to the resource id; a row when the subject has the permission.
pub(crate) fn check_template(
    compiled: &Compiled,
    resource_type: &str,
    permission: &str,
    subject: &SubjectRef,
) -> Cached {
    compiled.template(Kind::Check, resource_type, permission, subject, |s, r| {
        let (schema, dialect, tuples) = (&compiled.schema, compiled.dialect, &compiled.tuples);
        let analysis = &compiled.analysis;
        forward::check(schema, analysis, dialect, tuples, s, NOW, r, permission).or_else(|_| {
            let root = (resource_type.to_owned(), permission.to_owned());
            Compiler::new(schema, analysis, dialect, tuples, s, NOW, root)
                .compile(Some(&r.object_id))
        })
    })
}

/// An internal compile failure after the lookup was found expressible (a bug, not a schema).
fn unsupported(why: Unsupported) -> Error {
    Error::store(
        StoreErrorKind::Other,
        format!("lookup_resources_filter: {}", why.0),
    )
}

/// A fallback filter: the ids as bound values.
fn id_list(dialect: Dialect, tuples: &str, ids: Vec<String>) -> Frag {
    if ids.is_empty() {
        return Frag {
            sql: format!("SELECT x.resource_id AS id FROM {tuples} x WHERE 1 = 0"),
            binds: Vec::new(),
        };
    }
    let one = match dialect {
        // the default collation, as the compiled filters yield (see `Compiler::compile`)
        Dialect::Postgres => "SELECT CAST(? AS TEXT) AS id",
        Dialect::MySql => "SELECT CAST(? AS BINARY) AS id",
        Dialect::Sqlite => "SELECT ? AS id",
    };
    let mut sql = String::from("SELECT v.id AS id FROM (");
    for i in 0..ids.len() {
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        sql.push_str(one);
    }
    sql.push_str(") v");
    Frag {
        sql,
        binds: ids
            .into_iter()
            .map(|id| SqlValue::Text(Arc::from(id)))
            .collect(),
    }
}
