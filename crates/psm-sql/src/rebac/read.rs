//! Reads: relationship filters as parameterised `WHERE` clauses (always excluding expired
//! relationships), and the queries of `read`, `contains` and the schema.

use std::sync::Arc;

use psm_rebac::{Relationship, RelationshipFilter, SubjectRelationFilter};

use super::rows::{SqlValue, bind_values, relationship};
use super::store::{SqlTupleStore, now_millis};
use super::tables::TUPLE_COLUMNS;
use crate::conn::{dispatch, read_fast};
use crate::exec::BoxFut;

/// Appends the conditions of `filter` (and the live-row condition) to `out`, joined by `AND`,
/// each column prefixed with `alias` (`""` or `"t."`), pushing their binds.
pub(crate) fn filter_conditions(
    filter: &RelationshipFilter,
    alias: &str,
    now: i64,
    out: &mut String,
    binds: &mut Vec<SqlValue>,
) {
    let mut cond = |column: &str, value: &Arc<str>| {
        out.push_str(alias);
        out.push_str(column);
        out.push_str(" = ? AND ");
        binds.push(SqlValue::Text(value.clone()));
    };
    if let Some(v) = &filter.resource_type {
        cond("resource_type", v);
    }
    if let Some(v) = &filter.resource_id {
        cond("resource_id", v);
    }
    if let Some(v) = &filter.relation {
        cond("relation", v);
    }
    if let Some(s) = &filter.subject {
        cond("subject_type", &s.subject_type);
        if let Some(id) = &s.subject_id {
            cond("subject_id", id);
        }
        match &s.relation {
            SubjectRelationFilter::Any => {}
            SubjectRelationFilter::None => cond("subject_relation", &Arc::from("")),
            SubjectRelationFilter::Relation(r) => cond("subject_relation", r),
        }
    }
    out.push_str(&format!(
        "({alias}expires_at IS NULL OR {alias}expires_at > ?)"
    ));
    binds.push(SqlValue::Int(now));
}

impl SqlTupleStore {
    /// `SELECT ... WHERE filter [LIMIT n]` on a read lane.
    pub(crate) fn select<'a>(
        &'a self,
        filter: &'a RelationshipFilter,
        limit: Option<usize>,
    ) -> BoxFut<'a, Vec<Relationship>> {
        Box::pin(async move {
            let inner = self.live()?;
            if limit == Some(0) {
                return Ok(Vec::new());
            }
            let mut sql = format!("SELECT {TUPLE_COLUMNS} FROM {} WHERE ", inner.tables.tuples);
            let mut binds = Vec::new();
            filter_conditions(filter, "", now_millis(), &mut sql, &mut binds);
            if let Some(n) = limit {
                sql.push_str(" LIMIT ?");
                binds.push(SqlValue::Int(i64::try_from(n).unwrap_or(i64::MAX)));
            }
            let sql = inner.dialect.sql(&sql);
            dispatch!(&inner.conns, h => read_fast!(h, "rebac_read", conn => {
                match bind_values!(sqlx::query(&sql), binds.iter()).fetch_all(&mut *conn).await {
                    Ok(rows) => rows.iter().map(relationship).collect::<Result<Vec<_>, _>>(),
                    Err(e) => Err(e),
                }
            }))
        })
    }

    /// Whether the exact key of `r` is stored and live.
    pub(crate) fn contains_key<'a>(&'a self, r: &'a Relationship) -> BoxFut<'a, bool> {
        Box::pin(async move {
            let inner = self.live()?;
            let mut binds = key_binds(r);
            binds.push(SqlValue::Int(now_millis()));
            let sql = &inner.sql.contains;
            dispatch!(&inner.conns, h => read_fast!(h, "rebac_contains", conn => {
                bind_values!(sqlx::query(sql), binds.iter())
                    .fetch_optional(&mut *conn)
                    .await
                    .map(|row| row.is_some())
            }))
        })
    }
}

/// The six key values of a relationship in `key_match` order (resource type, id, relation,
/// subject type, id, relation).
pub(crate) fn key_binds(r: &Relationship) -> Vec<SqlValue> {
    vec![
        SqlValue::Text(r.resource.object_type.clone()),
        SqlValue::Text(r.resource.object_id.clone()),
        SqlValue::Text(r.relation.clone()),
        SqlValue::Text(r.subject.object.object_type.clone()),
        SqlValue::Text(r.subject.object.object_id.clone()),
        SqlValue::Text(r.subject.relation.clone().unwrap_or_else(|| Arc::from(""))),
    ]
}
