//! `check` as one statement walking forward from the resource: a recursive CTE over the
//! relations the permission expands to (computed relations, usersets, arrows — each step one
//! forward-index probe), then one test of whether a reached relation holds the subject
//! directly (or through a wildcard), or is the subject's own userset. The walk only visits the
//! resource's side of the graph, so its cost follows the resource's depth, not how much the
//! subject may access; except at nested usersets (a relation holding usersets of itself, like
//! nested groups), where the walk stops and tests the subject's memberships (the lookup of
//! that relation, from the subject's side) instead of walking every group below. Applies as
//! such when the permission is monotone (every relation reached is a union of `this`, computed
//! relations and `->` arrows). A permission with intersections or exclusions whose operands
//! are computed relations or arrows is one boolean condition over such walks
//! (`EXISTS (walk) AND NOT EXISTS (walk)`, the operands recursively), as long as every walk
//! starts at a monotone relation, or is an arrow to a relation that is not a union (then the
//! lookup of that relation for the subject names the arrow's targets that grant); other
//! permissions use the lookup filter restricted to the id.

use std::fmt::Write as _;

use psm_rebac::schema::analysis::{Analysis, union_only};
use psm_rebac::schema::{ArrowKind, Relation, Rewrite};
use psm_rebac::{ObjectRef, Schema, SubjectRef};

use super::compile::{Compiler, Frag, Unsupported, cast, lit, subject_relation_lit};
use crate::dialect::Dialect;
use crate::rebac::rows::SqlValue;

/// Where a walk starts: the resource itself, or the objects its tupleset relationships point at
/// (an arrow's targets of one subject type and relation).
enum Seed<'a> {
    Resource,
    Arrow {
        tupleset: &'a str,
        subject_type: &'a str,
        subject_relation: &'a str,
    },
}

/// The request a statement is built for.
struct Ctx<'a> {
    schema: &'a Schema,
    analysis: &'a Analysis,
    dialect: Dialect,
    tuples: &'a str,
    subject: &'a SubjectRef,
    now: i64,
    resource: &'a ObjectRef,
}

/// Most computed relations a condition follows through non-monotone relations.
const MAX_NESTING: usize = 16;

/// The one-statement forward check; yields a row when `subject` has `permission` on `resource`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check(
    schema: &Schema,
    analysis: &Analysis,
    dialect: Dialect,
    tuples: &str,
    subject: &SubjectRef,
    now: i64,
    resource: &ObjectRef,
    permission: &str,
) -> Result<Frag, Unsupported> {
    let cx = Ctx {
        schema,
        analysis,
        dialect,
        tuples,
        subject,
        now,
        resource,
    };
    let rt = &*resource.object_type;
    if analysis.is_monotone(rt, permission) {
        return walk(&cx, rt, permission, &Seed::Resource);
    }
    let rel = schema
        .relation(rt, permission)
        .ok_or_else(|| Unsupported(format!("no relation `{rt}#{permission}`")))?;
    let mut visiting = vec![permission.to_owned()];
    let c = with_identity(
        &cx,
        permission,
        cond(&cx, rel, rel.rewrite(), &mut visiting)?,
    );
    let mut out = Frag::text(format!(
        "SELECT 'y' AS id{} WHERE ",
        if dialect == Dialect::MySql {
            " FROM DUAL"
        } else {
            ""
        }
    ));
    out.sql.push_str(&c.sql);
    out.binds.extend(c.binds);
    Ok(out)
}

/// `c`, or-ed with "the subject is this relation's own userset on the resource" when the
/// subject is a userset of the resource's type and `relation` (a relation holds its own
/// userset; the walks test that for the relations they visit).
fn with_identity(cx: &Ctx<'_>, relation: &str, c: Frag) -> Frag {
    let s = cx.subject;
    if s.relation.as_deref() != Some(relation) || s.object.object_type != cx.resource.object_type {
        return c;
    }
    // compared as bytes (MySQL's default collations ignore case)
    let mut out = Frag::text(if cx.dialect == Dialect::MySql {
        "((CAST(? AS BINARY) = CAST(? AS BINARY)) OR "
    } else {
        "((? = ?) OR "
    });
    out.binds.push(SqlValue::Text(s.object.object_id.clone()));
    out.binds
        .push(SqlValue::Text(cx.resource.object_id.clone()));
    out.sql.push_str(&c.sql);
    out.binds.extend(c.binds);
    out.push(")");
    out
}

/// `EXISTS (walk)` as a condition.
fn exists(walk: Frag) -> Frag {
    let mut out = Frag::text("EXISTS (SELECT 1 FROM (");
    out.sql.push_str(&walk.sql);
    out.binds.extend(walk.binds);
    out.push(") w)");
    out
}

/// Joins conditions with `op` (`AND` / `OR`), parenthesised; `empty` when there are none.
fn join(parts: Vec<Frag>, op: &str, empty: &str) -> Frag {
    if parts.is_empty() {
        return Frag::text(empty);
    }
    let mut out = Frag::text("(");
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(op);
        }
        out.sql.push_str(&p.sql);
        out.binds.extend(p.binds);
    }
    out.push(")");
    out
}

/// The condition that `rw` (part of the rewrite of `rel` on the resource's type) holds for the
/// subject on the resource: walks from monotone relations combined with `AND`, `OR`, `NOT`.
fn cond(
    cx: &Ctx<'_>,
    rel: &Relation,
    rw: &Rewrite,
    visiting: &mut Vec<String>,
) -> Result<Frag, Unsupported> {
    let t = &*cx.resource.object_type;
    match rw {
        Rewrite::Nil => Ok(Frag::text("1 = 0")),
        Rewrite::This => Err(Unsupported(format!(
            "`{t}#{}` mixes its own relationships with an intersection or exclusion",
            rel.name()
        ))),
        Rewrite::Computed { relation, .. } => {
            let Some(target) = cx.schema.relation(t, relation) else {
                return Ok(Frag::text("1 = 0"));
            };
            if cx.analysis.is_monotone(t, relation) {
                return Ok(exists(walk(cx, t, relation, &Seed::Resource)?));
            }
            if visiting.contains(relation) || visiting.len() >= MAX_NESTING {
                return Err(Unsupported(format!(
                    "`{t}#{relation}` is reached again through intersections or exclusions"
                )));
            }
            visiting.push(relation.clone());
            let c = cond(cx, target, target.rewrite(), visiting);
            visiting.pop();
            Ok(with_identity(cx, relation, c?))
        }
        Rewrite::Arrow {
            kind: ArrowKind::Any,
            tupleset,
            computed,
            ..
        } => {
            let Some(ts) = cx.schema.relation(t, tupleset) else {
                return Ok(Frag::text("1 = 0"));
            };
            let mut seeds: Vec<(&str, &str)> = ts
                .allowed()
                .iter()
                .filter(|a| {
                    !a.is_wildcard() && cx.schema.relation(a.object_type(), computed).is_some()
                })
                .map(|a| (a.object_type(), a.relation().unwrap_or("")))
                .collect();
            seeds.sort_unstable();
            seeds.dedup();
            let mut parts = Vec::new();
            for (u, srel) in seeds {
                if !cx.analysis.is_monotone(u, computed) {
                    parts.push(arrow_lookup(cx, tupleset, u, srel, computed)?);
                    continue;
                }
                let seed = Seed::Arrow {
                    tupleset,
                    subject_type: u,
                    subject_relation: srel,
                };
                parts.push(exists(walk(cx, u, computed, &seed)?));
            }
            Ok(join(parts, " OR ", "1 = 0"))
        }
        Rewrite::Arrow {
            kind: ArrowKind::All,
            ..
        } => Err(Unsupported(format!(
            "an `.all()` arrow on `{t}#{}`",
            rel.name()
        ))),
        Rewrite::Union(children) => {
            let parts = children
                .iter()
                .map(|c| cond(cx, rel, c, visiting))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(join(parts, " OR ", "1 = 0"))
        }
        Rewrite::Intersection(children) => {
            let parts = children
                .iter()
                .map(|c| cond(cx, rel, c, visiting))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(join(parts, " AND ", "1 = 0"))
        }
        Rewrite::Exclusion(base, sub) => {
            let b = cond(cx, rel, base, visiting)?;
            let s = cond(cx, rel, sub, visiting)?;
            let mut out = Frag::text("(");
            out.sql.push_str(&b.sql);
            out.binds.extend(b.binds);
            out.push(" AND NOT ");
            out.sql.push_str(&s.sql);
            out.binds.extend(s.binds);
            out.push(")");
            Ok(out)
        }
        // A form added to psm-rebac later (`Rewrite` is `#[non_exhaustive]`): decline.
        _ => Err(Unsupported::unknown_form(t, rel.name())),
    }
}

/// The subject's memberships of `t#r` (the lookup of `t#r`, from the subject's side) when the
/// walk should stop at `t#r` and test them instead of walking on: `t#r` holds usersets of
/// itself (nested groups), whose forward walk covers every group under a group, while the
/// groups above the subject are usually few. A walk that reaches `t:id#r` reaches the
/// subject through it exactly when `id` is among them (`t#r` is a union, and the lookup is the
/// fixed point the walk would reach).
fn membership(cx: &Ctx<'_>, t: &str, r: &str, rel: &Relation) -> Option<Frag> {
    let nested = rel
        .allowed()
        .iter()
        .any(|a| a.object_type() == t && a.relation() == Some(r));
    let mut this = false;
    rel.rewrite().for_each_leaf(&mut |leaf| {
        if matches!(leaf, Rewrite::This) {
            this = true;
        }
    });
    if !nested || !this || cx.subject.is_wildcard() {
        return None;
    }
    let root = (t.to_owned(), r.to_owned());
    Compiler::new(
        cx.schema,
        cx.analysis,
        cx.dialect,
        cx.tuples,
        cx.subject,
        cx.now,
        root,
    )
    .compile(None)
    .ok()
}

/// `tupleset->computed` on the resource when `u#computed` is not a union: some `u` object the
/// resource's `tupleset` relationships name is among the subject's `u#computed` (the lookup of
/// `u#computed`, which walks from the subject's side).
fn arrow_lookup(
    cx: &Ctx<'_>,
    tupleset: &str,
    u: &str,
    srel: &str,
    computed: &str,
) -> Result<Frag, Unsupported> {
    let root = (u.to_owned(), computed.to_owned());
    let ids = Compiler::new(
        cx.schema,
        cx.analysis,
        cx.dialect,
        cx.tuples,
        cx.subject,
        cx.now,
        root,
    )
    .compile(None)?;
    let mut out = Frag::text(format!(
        "EXISTS (SELECT 1 FROM {} a WHERE a.resource_type = {} AND a.resource_id = ? \
         AND a.relation = {} AND a.subject_type = {} AND a.subject_relation = {} AND ",
        cx.tuples,
        lit(&cx.resource.object_type)?,
        lit(tupleset)?,
        lit(u)?,
        subject_relation_lit(srel)?,
    ));
    out.binds
        .push(SqlValue::Text(cx.resource.object_id.clone()));
    let _ = write!(
        out.sql,
        "(a.expires_at IS NULL OR a.expires_at > ?) AND a.caveat_name IS NULL \
         AND a.subject_id IN (SELECT f.id FROM ("
    );
    out.binds.push(SqlValue::Int(cx.now));
    out.sql.push_str(&ids.sql);
    out.binds.extend(ids.binds);
    out.push(") f))");
    Ok(out)
}

/// The walk from `root_type#root_rel` (a monotone relation) at `seed`; yields a row when it
/// reaches the subject.
fn walk(
    cx: &Ctx<'_>,
    root_type: &str,
    root_rel: &str,
    seed: &Seed<'_>,
) -> Result<Frag, Unsupported> {
    let (schema, dialect, tuples, subject, now) =
        (cx.schema, cx.dialect, cx.tuples, cx.subject, cx.now);
    let graph = cx
        .analysis
        .reach(&(root_type.to_owned(), root_rel.to_owned()));
    let st = &*subject.object.object_type;
    let srel = subject.relation.as_deref().unwrap_or("");
    let mut rules = Vec::new();
    let mut direct = Vec::new();
    let mut cut: Vec<(&str, &str, Frag)> = Vec::new();
    for (t, r) in &graph.nodes {
        let Some(rel) = schema.relation(t, r) else {
            continue;
        };
        if !union_only(rel.rewrite()) {
            return Err(Unsupported(format!(
                "`{t}#{r}` has an intersection, exclusion or `.all()`"
            )));
        }
        if let Some(members) = membership(cx, t, r, rel) {
            cut.push((t, r, members));
            continue;
        }
        let mut this = false;
        let mut unknown = false;
        rel.rewrite().for_each_leaf(&mut |leaf| match leaf {
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
                tupleset,
                computed,
                kind: ArrowKind::Any,
                ..
            } => {
                if let Some(ts) = schema.relation(t, tupleset) {
                    for a in ts.allowed().iter().filter(|a| !a.is_wildcard()) {
                        if schema.relation(a.object_type(), computed).is_some() {
                            rules.push((
                                1,
                                t.clone(),
                                r.clone(),
                                a.object_type().to_owned(),
                                computed.clone(),
                                a.relation().unwrap_or_default().to_owned(),
                                tupleset.clone(),
                            ));
                        }
                    }
                }
            }
            Rewrite::Nil | Rewrite::Computed { .. } => {}
            // A form added to psm-rebac later (`Rewrite` and `ArrowKind` are
            // `#[non_exhaustive]`): the walk would miss its edges, so it declines below.
            _ => unknown = true,
        });
        if unknown {
            return Err(Unsupported::unknown_form(t, r));
        }
        if this {
            for a in rel.allowed() {
                if let Some(m) = a.relation()
                    && schema.relation(a.object_type(), m).is_some()
                {
                    rules.push((
                        1,
                        t.clone(),
                        r.clone(),
                        a.object_type().to_owned(),
                        m.to_owned(),
                        m.to_owned(),
                        r.clone(),
                    ));
                }
            }
            let d = rel.allowed().iter().any(|a| {
                a.object_type() == st
                    && !a.is_wildcard()
                    && a.relation().unwrap_or("") == srel
                    && !subject.is_wildcard()
            });
            let w = rel
                .allowed()
                .iter()
                .any(|a| a.object_type() == st && a.is_wildcard() && subject.relation.is_none());
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
    let mut out = match seed {
        Seed::Resource => Frag::text(format!(
            "WITH RECURSIVE down(t, r, id) AS (SELECT {}, {}, {}{dual}",
            q(root_type)?,
            q(root_rel)?,
            c("?", 1024)
        )),
        Seed::Arrow {
            tupleset,
            subject_type,
            subject_relation,
        } => Frag::text(format!(
            "WITH RECURSIVE down(t, r, id) AS (SELECT {}, {}, {} FROM {tuples} a \
             WHERE a.resource_type = {} AND a.resource_id = ? AND a.relation = {} \
             AND a.subject_type = {} AND a.subject_relation = {} AND ",
            q(subject_type)?,
            q(root_rel)?,
            c("a.subject_id", 1024),
            lit(&cx.resource.object_type)?,
            lit(tupleset)?,
            lit(subject_type)?,
            subject_relation_lit(subject_relation)?,
        )),
    };
    out.binds
        .push(SqlValue::Text(cx.resource.object_id.clone()));
    if let Seed::Arrow { .. } = seed {
        live("a", &mut out);
    }
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
    out.push(")");
    for (i, (_, _, members)) in cut.iter_mut().enumerate() {
        let _ = write!(out.sql, ", m{i}(id) AS (SELECT f.id FROM (");
        out.sql.push_str(&members.sql);
        out.binds.append(&mut members.binds);
        out.push(") f)");
    }
    out.push(" SELECT 'y' AS id FROM down n WHERE ");
    let mut any = false;
    for (i, (t, r, _)) in cut.iter().enumerate() {
        if any {
            out.push(" OR ");
        }
        let _ = write!(
            out.sql,
            "(n.t = {} AND n.r = {} AND n.id IN (SELECT m{i}.id FROM m{i}))",
            lit(t)?,
            lit(r)?
        );
        any = true;
    }
    if let Some(m) = &subject.relation {
        if any {
            out.push(" OR ");
        }
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
            subject_relation_lit(srel)?
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
