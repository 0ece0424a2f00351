//! `check` as one statement walking forward from the resource: a recursive CTE over the
//! relations the permission expands to (computed relations, usersets, arrows — each step one
//! forward-index probe), then one test of whether a reached relation holds the subject
//! directly (or through a wildcard), or is the subject's own userset. The walk only visits the
//! resource's side of the graph, so its cost follows the resource's depth, not how much the
//! subject may access. Applies when every relation reached is a union of `this`, computed
//! relations and `->` arrows; other permissions use the lookup filter restricted to the id.

use std::fmt::Write as _;

use psm_rebac::schema::{ArrowKind, Rewrite};
use psm_rebac::{ObjectRef, Schema, SubjectRef};

use super::compile::{Frag, Unsupported, cast, lit};
use super::graph::Graph;
use crate::dialect::Dialect;
use crate::rebac::rows::SqlValue;

/// Whether a rewrite is a union of `this`, computed relations and `->` arrows (monotone: more
/// relationships never remove a result).
pub(crate) fn union_only(rw: &Rewrite) -> bool {
    match rw {
        Rewrite::This | Rewrite::Nil | Rewrite::Computed { .. } => true,
        Rewrite::Arrow { kind, .. } => *kind == ArrowKind::Any,
        Rewrite::Union(c) => c.iter().all(union_only),
        Rewrite::Intersection(_) | Rewrite::Exclusion(..) => false,
    }
}

/// The one-statement forward check; yields a row when `subject` has `permission` on `resource`.
pub(crate) fn check(
    schema: &Schema,
    dialect: Dialect,
    tuples: &str,
    subject: &SubjectRef,
    now: i64,
    resource: &ObjectRef,
    permission: &str,
) -> Result<Frag, Unsupported> {
    let graph = Graph::build(
        schema,
        (resource.object_type.to_string(), permission.to_owned()),
    );
    let st = &*subject.object.object_type;
    let srel = subject.relation.as_deref().unwrap_or("");
    let mut rules = Vec::new();
    let mut direct = Vec::new();
    for (t, r) in &graph.nodes {
        let Some(rel) = schema.relation(t, r) else {
            continue;
        };
        if !union_only(&rel.rewrite) {
            return Err(Unsupported(format!(
                "`{t}#{r}` has an intersection, exclusion or `.all()`"
            )));
        }
        let mut this = false;
        rel.rewrite.for_each_leaf(&mut |leaf| match leaf {
            Rewrite::This => this = true,
            Rewrite::Computed { relation, .. } if schema.relation(t, relation).is_some() => {
                rules.push((
                    0,
                    t.clone(),
                    r.clone(),
                    t.clone(),
                    relation.clone(),
                    String::new(),
                    String::new(),
                ));
            }
            Rewrite::Arrow {
                tupleset, computed, ..
            } => {
                if let Some(ts) = schema.relation(t, tupleset) {
                    for a in ts.allowed.iter().filter(|a| !a.wildcard) {
                        if schema.relation(&a.object_type, computed).is_some() {
                            rules.push((
                                1,
                                t.clone(),
                                r.clone(),
                                a.object_type.clone(),
                                computed.clone(),
                                a.relation.clone().unwrap_or_default(),
                                tupleset.clone(),
                            ));
                        }
                    }
                }
            }
            _ => {}
        });
        if this {
            for a in &rel.allowed {
                if let Some(m) = &a.relation
                    && schema.relation(&a.object_type, m).is_some()
                {
                    rules.push((
                        1,
                        t.clone(),
                        r.clone(),
                        a.object_type.clone(),
                        m.clone(),
                        m.clone(),
                        r.clone(),
                    ));
                }
            }
            let d = rel.allowed.iter().any(|a| {
                a.object_type == st
                    && !a.wildcard
                    && a.relation.as_deref().unwrap_or("") == srel
                    && !subject.is_wildcard()
            });
            let w = rel
                .allowed
                .iter()
                .any(|a| a.object_type == st && a.wildcard && subject.relation.is_none());
            if d || w {
                direct.push((t.clone(), r.clone(), d, w));
            }
        }
    }
    rules.sort();
    rules.dedup();
    let c = |e: &str, n: usize| cast(dialect, e, n);
    let q = |v: &str| -> Result<String, Unsupported> {
        if v.is_empty() {
            Ok(c("''", 254))
        } else {
            Ok(c(&lit(v)?, 254))
        }
    };
    let dual = if dialect == Dialect::MySql {
        " FROM DUAL"
    } else {
        ""
    };
    let live = |x: &str, f: &mut Frag| {
        let _ = write!(
            f.sql,
            "({x}.expires_at IS NULL OR {x}.expires_at > ?) AND {x}.caveat_name IS NULL"
        );
        f.binds.push(SqlValue::Int(now));
    };
    let mut out = Frag::text(format!(
        "WITH RECURSIVE down(t, r, id) AS (SELECT {}, {}, {}{dual}",
        q(&resource.object_type)?,
        q(permission)?,
        c("?", 1024)
    ));
    out.binds.push(SqlValue::Text(resource.object_id.clone()));
    if !rules.is_empty() {
        let mut table = String::new();
        for (i, (kind, ft, fr, tt, tr, sr, via)) in rules.iter().enumerate() {
            if i > 0 {
                table.push_str(" UNION ALL ");
            }
            let _ = write!(
                table,
                "SELECT {kind} AS kind, {} AS ft, {} AS fr, {} AS tt, {} AS tr, {} AS srel, {} AS via{dual}",
                q(ft)?,
                q(fr)?,
                q(tt)?,
                q(tr)?,
                q(sr)?,
                q(via)?
            );
        }
        let _ = write!(
            out.sql,
            " UNION SELECT R.tt, R.tr, {} FROM down n JOIN ({table}) R ON R.ft = n.t AND R.fr = n.r \
             LEFT JOIN {tuples} x ON R.kind = 1 AND x.resource_type = n.t AND x.resource_id = n.id \
             AND x.relation = R.via AND x.subject_type = R.tt AND x.subject_relation = R.srel AND ",
            c(
                "(CASE WHEN R.kind = 0 THEN n.id ELSE x.subject_id END)",
                1024
            )
        );
        live("x", &mut out);
        out.push(" WHERE R.kind = 0 OR x.subject_id IS NOT NULL");
    }
    out.push(") SELECT 'y' AS id FROM down n WHERE ");
    let mut any = false;
    if let Some(m) = &subject.relation {
        let _ = write!(
            out.sql,
            "(n.t = {} AND n.r = {} AND n.id = ?)",
            lit(st)?,
            lit(m)?
        );
        out.binds
            .push(SqlValue::Text(subject.object.object_id.clone()));
        any = true;
    }
    if !direct.is_empty() {
        if any {
            out.push(" OR ");
        }
        let mut table = String::new();
        for (i, (t, r, d, w)) in direct.iter().enumerate() {
            if i > 0 {
                table.push_str(" UNION ALL ");
            }
            let _ = write!(
                table,
                "SELECT {} AS t, {} AS r, {} AS d, {} AS w{dual}",
                q(t)?,
                q(r)?,
                i32::from(*d),
                i32::from(*w)
            );
        }
        let _ = write!(
            out.sql,
            "EXISTS (SELECT 1 FROM ({table}) D JOIN {tuples} x ON x.resource_type = D.t \
             AND x.relation = D.r WHERE D.t = n.t AND D.r = n.r AND x.resource_id = n.id \
             AND x.subject_type = {} AND x.subject_relation = {} \
             AND ((D.d = 1 AND x.subject_id = ?) OR (D.w = 1 AND x.subject_id = '*')) AND ",
            lit(st)?,
            if srel.is_empty() {
                "''".to_owned()
            } else {
                lit(srel)?
            }
        );
        out.binds
            .push(SqlValue::Text(subject.object.object_id.clone()));
        live("x", &mut out);
        out.push(")");
        any = true;
    }
    if !any {
        out.push("1 = 0");
    }
    out.push(" LIMIT 1");
    Ok(out)
}
