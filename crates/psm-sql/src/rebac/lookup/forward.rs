//! `check` as one statement walking forward from the resource: a recursive CTE over the
//! relations the permission expands to (computed relations, usersets, arrows — each step one
//! forward-index probe), then one test of whether a reached relation holds the subject
//! directly (or through a wildcard), or is the subject's own userset. The walk only visits the
//! resource's side of the graph, so its cost follows the resource's depth, not how much the
//! subject may access; except at nested usersets (a relation holding usersets of itself, like
//! nested groups), where the walk stops and tests the subject's memberships (the lookup of
//! that relation, from the subject's side) instead of walking every group below; those
//! memberships are computed once per statement (`pm{k}`, ahead of the walks), however many
//! walks stop there. A walk that does not recurse is unrolled into nested index probes (an
//! `EXISTS` a step, no recursive CTE). Applies as
//! such when the permission is monotone (every relation reached is a union of `this`, computed
//! relations and `->` arrows). A permission with intersections or exclusions whose operands
//! are computed relations or arrows is one boolean condition over such walks
//! (`EXISTS (walk) AND NOT EXISTS (walk)`, the operands recursively), as long as every walk
//! starts at a monotone relation, or is an arrow to a relation that is not a union (then the
//! lookup of that relation for the subject names the arrow's targets that grant); other
//! permissions use the lookup filter restricted to the id.

use std::cell::{Cell, RefCell};
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
    /// The subject's memberships the walks test (`pm{k}`, the k-th: `t#r` and its lookup),
    /// computed once per statement however many walks stop there.
    members: RefCell<Vec<(String, String, Frag)>>,
    /// The next relationship alias of an unrolled walk (`u{n}`).
    aliases: Cell<usize>,
}

/// Most tests an unrolled walk (see [`unrolled`]) may have before the walk is a recursive CTE
/// instead.
const MAX_UNROLLED: usize = 64;

/// Most relations deep an unrolled walk may nest (each a subquery: SQLite's parser overflows
/// past a few dozen); a deeper walk is a recursive CTE.
const MAX_UNROLLED_DEPTH: usize = 6;

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
        members: RefCell::new(Vec::new()),
        aliases: Cell::new(0),
    };
    let rt = &*resource.object_type;
    let body = if analysis.is_monotone(rt, permission) {
        walk(&cx, rt, permission, &Seed::Resource)?
    } else {
        let rel = schema
            .relation(rt, permission)
            .ok_or_else(|| Unsupported(format!("no relation `{rt}#{permission}`")))?;
        let mut visiting = vec![permission.to_owned()];
        let c = with_identity(
            &cx,
            permission,
            cond(&cx, rel, rel.rewrite(), &mut visiting)?,
        );
        let mut out = Frag::text(format!("SELECT 'y' AS id{} WHERE ", dual(dialect)));
        out.sql.push_str(&c.sql);
        out.binds.extend(c.binds);
        out
    };
    let members = cx.members.into_inner();
    if members.is_empty() {
        return Ok(body);
    }
    // the memberships first, once for every walk that tests them
    let mut out = Frag::text("WITH ");
    for (k, (_, _, m)) in members.into_iter().enumerate() {
        if k > 0 {
            out.push(", ");
        }
        let _ = write!(out.sql, "pm{k}(id) AS (SELECT f.id FROM (");
        out.sql.push_str(&m.sql);
        out.binds.extend(m.binds);
        out.push(") f)");
    }
    out.push(" SELECT c.id AS id FROM (");
    out.sql.push_str(&body.sql);
    out.binds.extend(body.binds);
    out.push(") c");
    Ok(out)
}

/// `" FROM DUAL"` on MySQL (a `SELECT` without a table), else nothing.
fn dual(dialect: Dialect) -> &'static str {
    if dialect == Dialect::MySql {
        " FROM DUAL"
    } else {
        ""
    }
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
/// fixed point the walk would reach). The lookup is the statement's CTE `pm{k}`, `k` returned
/// (registered once per statement, shared by every walk that stops at `t#r`).
fn membership(cx: &Ctx<'_>, t: &str, r: &str, rel: &Relation) -> Option<usize> {
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
    if let Some(k) = cx
        .members
        .borrow()
        .iter()
        .position(|(mt, mr, _)| mt == t && mr == r)
    {
        return Some(k);
    }
    let root = (t.to_owned(), r.to_owned());
    let lookup = Compiler::new(
        cx.schema,
        cx.analysis,
        cx.dialect,
        cx.tuples,
        cx.subject,
        cx.now,
        root,
    )
    .compile(None)
    .ok()?;
    let mut members = cx.members.borrow_mut();
    members.push((t.to_owned(), r.to_owned(), lookup));
    Some(members.len() - 1)
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

/// An edge of a walk: `(kind, from type, from relation, to type, to relation, subject
/// relation, via)`; kind 0 a computed relation (the same object), 1 a relationship
/// `from:id#via@to:sid#srel` (a userset or an arrow).
type WalkRule = (u8, String, String, String, String, String, String);

/// A relation that may hold the subject directly: `(type, relation, the subject itself, its
/// type's wildcard)`.
type Direct = (String, String, bool, bool);

/// Where an unrolled walk reads an object's id: a bound value, or a relationship's column.
enum Id {
    Bound(std::sync::Arc<str>),
    Column(String),
}

impl Id {
    fn push(&self, f: &mut Frag) {
        match self {
            Id::Bound(v) => {
                f.push("?");
                f.binds.push(SqlValue::Text(v.clone()));
            }
            Id::Column(c) => f.push(c),
        }
    }
}

/// `(x.expires_at IS NULL OR x.expires_at > ?) AND x.caveat_name IS NULL` (binds now).
fn live(cx: &Ctx<'_>, x: &str, f: &mut Frag) {
    let _ = write!(
        f.sql,
        "({x}.expires_at IS NULL OR {x}.expires_at > ?) AND {x}.caveat_name IS NULL"
    );
    f.binds.push(SqlValue::Int(cx.now));
}

/// The opening of one unrolled edge probe, `EXISTS (SELECT 1 FROM tuples uN WHERE` on the
/// relationships of `resource` (type, id, relation) whose subject is of `subject_type` with
/// `subject_relation`, ending in `AND ` (the caller adds the subject test, [`live`] and the
/// closing parenthesis); with its fresh alias.
fn edge_probe(
    cx: &Ctx<'_>,
    (t, id, relation): (&str, &Id, &str),
    subject_type: &str,
    subject_relation: &str,
) -> Result<(String, Frag), Unsupported> {
    let a = alias(cx);
    let mut f = Frag::text(format!(
        "EXISTS (SELECT 1 FROM {} {a} WHERE {a}.resource_type = {} AND {a}.resource_id = ",
        cx.tuples,
        lit(t)?
    ));
    id.push(&mut f);
    let _ = write!(
        f.sql,
        " AND {a}.relation = {} AND {a}.subject_type = {} AND {a}.subject_relation = {} AND ",
        lit(relation)?,
        lit(subject_type)?,
        subject_relation_lit(subject_relation)?
    );
    Ok((a, f))
}

/// A fresh relationship alias for an unrolled walk.
fn alias(cx: &Ctx<'_>) -> String {
    let n = cx.aliases.get();
    cx.aliases.set(n + 1);
    format!("u{n}")
}

/// The walk as nested index probes, when it does not recurse (no path from the root meets a
/// relation twice): a relation reached with an id holds the subject when the id is among the
/// subject's memberships (a cut, `pm{k}`), is the subject's own userset, or a relationship
/// gives it the subject directly (or its wildcard), or when one of its edges leads to a
/// relation that holds the subject — `EXISTS` of the relationships the edge follows, with that
/// relation's tests on their subject. What the recursive walk computes, without its recursive
/// CTE, rules table and joins: one index probe a step. `None` when the walk recurses or needs
/// more than [`MAX_UNROLLED`] tests or [`MAX_UNROLLED_DEPTH`] levels (then the recursive walk).
fn unrolled(
    cx: &Ctx<'_>,
    root_type: &str,
    root_rel: &str,
    seed: &Seed<'_>,
    rules: &[WalkRule],
    direct: &[Direct],
    cut: &[(&str, &str, usize)],
) -> Result<Option<Frag>, Unsupported> {
    let walk = Unroll {
        cx,
        rules,
        direct,
        cut,
        inside: &[],
    };
    let mut path = Vec::new();
    let mut budget = MAX_UNROLLED;
    let mut out = Frag::text(format!("SELECT 'y' AS id{} WHERE ", dual(cx.dialect)));
    match seed {
        Seed::Resource => {
            let id = Id::Bound(cx.resource.object_id.clone());
            match walk.tests(root_type, root_rel, &id, &mut path, &mut budget)? {
                Some(c) => out.append(c),
                None => return Ok(None),
            }
        }
        Seed::Arrow {
            tupleset,
            subject_type,
            subject_relation,
        } => {
            let a = alias(cx);
            let _ = write!(
                out.sql,
                "EXISTS (SELECT 1 FROM {} {a} WHERE {a}.resource_type = {} AND {a}.resource_id = ? \
                 AND {a}.relation = {} AND {a}.subject_type = {} AND {a}.subject_relation = {} AND ",
                cx.tuples,
                lit(&cx.resource.object_type)?,
                lit(tupleset)?,
                lit(subject_type)?,
                subject_relation_lit(subject_relation)?,
            );
            out.binds
                .push(SqlValue::Text(cx.resource.object_id.clone()));
            live(cx, &a, &mut out);
            out.push(" AND ");
            let id = Id::Column(format!("{a}.subject_id"));
            match walk.tests(root_type, root_rel, &id, &mut path, &mut budget)? {
                Some(c) => out.append(c),
                None => return Ok(None),
            }
            out.push(")");
        }
    }
    Ok(Some(out))
}

/// What an unrolled walk expands (see [`unrolled`]).
struct Unroll<'c, 'a> {
    cx: &'c Ctx<'a>,
    rules: &'c [WalkRule],
    direct: &'c [Direct],
    cut: &'c [(&'c str, &'c str, usize)],
    /// The relations of a recursive component the walk's CTE follows itself: edges among them
    /// are not expanded (see [`recursive_part`]).
    inside: &'c [(String, String)],
}

impl Unroll<'_, '_> {
    /// The condition that `t:id#r` holds the subject; `None` when `t#r` is on `path` already
    /// (the walk recurses), `path` is [`MAX_UNROLLED_DEPTH`] long or `budget` tests are spent.
    fn tests(
        &self,
        t: &str,
        r: &str,
        id: &Id,
        path: &mut Vec<(String, String)>,
        budget: &mut usize,
    ) -> Result<Option<Frag>, Unsupported> {
        let cx = self.cx;
        if path.len() >= MAX_UNROLLED_DEPTH || path.iter().any(|(pt, pr)| pt == t && pr == r) {
            return Ok(None);
        }
        path.push((t.to_owned(), r.to_owned()));
        let s = cx.subject;
        let mut parts: Vec<Frag> = Vec::new();
        let spend = |budget: &mut usize| {
            *budget = budget.checked_sub(1)?;
            Some(())
        };
        if let Some((_, _, k)) = self.cut.iter().find(|(ct, cr, _)| *ct == t && *cr == r) {
            if spend(budget).is_none() {
                return Ok(None);
            }
            let mut f = Frag::default();
            id.push(&mut f);
            let _ = write!(f.sql, " IN (SELECT pm.id FROM pm{k} pm)");
            parts.push(f);
        }
        if let Some(m) = &s.relation
            && *s.object.object_type == *t
            && **m == *r
        {
            if spend(budget).is_none() {
                return Ok(None);
            }
            // compared as bytes (MySQL's default collations ignore case)
            let mysql = cx.dialect == Dialect::MySql;
            let mut f = Frag::text(if mysql { "CAST(" } else { "" });
            id.push(&mut f);
            f.push(if mysql {
                " AS BINARY) = CAST(? AS BINARY)"
            } else {
                " = ?"
            });
            f.binds.push(SqlValue::Text(s.object.object_id.clone()));
            parts.push(f);
        }
        if let Some((_, _, d, w)) = self.direct.iter().find(|x| x.0 == t && x.1 == r) {
            if spend(budget).is_none() {
                return Ok(None);
            }
            let (a, mut f) = edge_probe(
                cx,
                (t, id, r),
                &s.object.object_type,
                s.relation.as_deref().unwrap_or(""),
            )?;
            match (d, w) {
                (true, true) => {
                    let _ = write!(f.sql, "{a}.subject_id IN (?, '*') AND ");
                    f.binds.push(SqlValue::Text(s.object.object_id.clone()));
                }
                (true, false) => {
                    let _ = write!(f.sql, "{a}.subject_id = ? AND ");
                    f.binds.push(SqlValue::Text(s.object.object_id.clone()));
                }
                (false, true) => {
                    let _ = write!(f.sql, "{a}.subject_id = '*' AND ");
                }
                (false, false) => f.push("1 = 0 AND "),
            }
            live(cx, &a, &mut f);
            f.push(")");
            parts.push(f);
        }
        let is_inside = |t: &str, r: &str| self.inside.iter().any(|(a, b)| a == t && b == r);
        for (kind, _, _, tt, tr, sr, via) in self
            .rules
            .iter()
            .filter(|x| x.1 == t && x.2 == r && !(is_inside(t, r) && is_inside(&x.3, &x.4)))
        {
            if spend(budget).is_none() {
                return Ok(None);
            }
            if *kind == 0 {
                match self.tests(tt, tr, id, path, budget)? {
                    Some(c) => parts.push(c),
                    None => return Ok(None),
                }
                continue;
            }
            let (a, mut f) = edge_probe(cx, (t, id, via), tt, sr)?;
            live(cx, &a, &mut f);
            f.push(" AND ");
            let next = Id::Column(format!("{a}.subject_id"));
            match self.tests(tt, tr, &next, path, budget)? {
                Some(c) => f.append(c),
                None => return Ok(None),
            }
            f.push(")");
            parts.push(f);
        }
        path.pop();
        Ok(Some(join(parts, " OR ", "1 = 0")))
    }
}

/// A walk whose root lies on a cycle, split: the recursive CTE follows only the edges among
/// the root's strongly connected component (`inside`: the relations that reach the root and
/// that it reaches; their edges are returned), and every relation of the component tests the
/// rest on each id the CTE reached, unrolled (see [`unrolled`]) — the condition over `n`
/// returned. `None` when the root is on no cycle or the rest does not unroll.
fn recursive_part(
    cx: &Ctx<'_>,
    root: (&str, &str),
    rules: &[WalkRule],
    direct: &[Direct],
    cut: &[(&str, &str, usize)],
) -> Result<Option<(Vec<WalkRule>, Frag)>, Unsupported> {
    let from = |forward: bool| {
        let mut seen = vec![(root.0.to_owned(), root.1.to_owned())];
        let mut i = 0;
        while i < seen.len() {
            let (t, r) = seen[i].clone();
            for x in rules {
                let (a, b) = if forward {
                    ((&x.1, &x.2), (&x.3, &x.4))
                } else {
                    ((&x.3, &x.4), (&x.1, &x.2))
                };
                if *a.0 == t && *a.1 == r && !seen.iter().any(|(st, sr)| st == b.0 && sr == b.1) {
                    seen.push((b.0.clone(), b.1.clone()));
                }
            }
            i += 1;
        }
        seen
    };
    let back = from(false);
    let inside: Vec<(String, String)> = from(true)
        .into_iter()
        .filter(|n| back.contains(n))
        .collect();
    let has = |t: &str, r: &str| inside.iter().any(|(a, b)| a == t && b == r);
    let own: Vec<WalkRule> = rules
        .iter()
        .filter(|x| has(&x.1, &x.2) && has(&x.3, &x.4))
        .cloned()
        .collect();
    if own.is_empty() {
        return Ok(None);
    }
    let walk = Unroll {
        cx,
        rules,
        direct,
        cut,
        inside: &inside,
    };
    let mut parts = Vec::new();
    let mut budget = MAX_UNROLLED;
    for (t, r) in &inside {
        let mut path = Vec::new();
        let Some(c) = walk.tests(t, r, &Id::Column("n.id".to_owned()), &mut path, &mut budget)?
        else {
            return Ok(None);
        };
        let mut f = Frag::text(format!("(n.t = {} AND n.r = {} AND ", lit(t)?, lit(r)?));
        f.append(c);
        f.push(")");
        parts.push(f);
    }
    Ok(Some((own, join(parts, " OR ", "1 = 0"))))
}

/// The walk from `root_type#root_rel` (a monotone relation) at `seed`; yields a row when it
/// reaches the subject: unrolled into index probes when it does not recurse ([`unrolled`]),
/// else a recursive CTE over the relations it reaches.
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
    let mut rules: Vec<WalkRule> = Vec::new();
    let mut direct: Vec<Direct> = Vec::new();
    let mut cut: Vec<(&str, &str, usize)> = Vec::new();
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
    if let Some(f) = unrolled(cx, root_type, root_rel, seed, &rules, &direct, &cut)? {
        return Ok(f);
    }
    let split = recursive_part(cx, (root_type, root_rel), &rules, &direct, &cut)?;
    if let Some((own, _)) = &split {
        rules = own.clone();
    }
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
    if let [(1, ft, fr, tt, tr, sr, via)] = rules.as_slice()
        && ft == tt
        && fr == tr
    {
        // one edge from the relation to itself (a parent chain, nested groups): a plain join,
        // every column of the forward index bound (`CROSS JOIN` keeps the CTE outer on SQLite)
        let _ = write!(
            out.sql,
            " UNION SELECT n.t, n.r, {} FROM down n CROSS JOIN {tuples} x WHERE n.t = {ft} \
             AND n.r = {fr} AND x.resource_type = {ft} AND x.resource_id = n.id \
             AND x.relation = {via} AND x.subject_type = {ft} AND x.subject_relation = {sr} AND ",
            c("x.subject_id", 1024),
            ft = lit(ft)?,
            fr = lit(fr)?,
            via = lit(via)?,
            sr = subject_relation_lit(sr)?,
        );
        live("x", &mut out);
    } else if !rules.is_empty() {
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
    out.push(" SELECT 'y' AS id FROM down n WHERE ");
    if let Some((_, tests)) = split {
        out.append(tests);
        out.push(" LIMIT 1");
        return Ok(out);
    }
    let mut any = false;
    for (t, r, k) in &cut {
        if any {
            out.push(" OR ");
        }
        let _ = write!(
            out.sql,
            "(n.t = {} AND n.r = {} AND n.id IN (SELECT pm.id FROM pm{k} pm))",
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SCHEMA: &str = "
        definition user {}
        definition group { relation member: user | group#member }
        definition folder {
            relation parent: folder
            relation reader: user | group#member
            permission view = reader + parent->view
        }
        definition doc {
            relation folder: folder
            relation reader: user | group#member
            relation editor: user | group#member
            relation banned: user
            permission view = (reader + editor + folder->view) - banned
        }";

    fn statement(permission: &str) -> String {
        statement_of(SCHEMA, "doc", permission)
    }

    fn statement_of(schema: &str, resource_type: &str, permission: &str) -> String {
        let schema = Schema::parse_spicedb(schema).unwrap();
        let subject: SubjectRef = "user:u".parse().unwrap();
        let doc = ObjectRef::new(resource_type, "d");
        let f = check(
            &schema,
            schema.analysis(),
            Dialect::Sqlite,
            "t",
            &subject,
            0,
            &doc,
            permission,
        )
        .unwrap();
        f.sql
    }

    #[test]
    fn walks_share_the_memberships_and_only_recursion_is_a_recursive_cte() {
        let sql = statement("view");
        // the subject's groups: one CTE, tested by the walks of reader, editor and folder->view
        assert_eq!(sql.matches("pm0(id) AS").count(), 1, "{sql}");
        assert!(!sql.contains("pm1"), "{sql}");
        assert_eq!(sql.matches("FROM pm0 pm").count(), 3, "{sql}");
        // only the folder chain recurses; reader, editor and banned are index probes
        assert_eq!(sql.matches("WITH RECURSIVE down").count(), 1, "{sql}");
        assert!(sql.contains("u0.relation = 'reader'"), "{sql}");
        // which follows the parent edge alone (a plain join, no rules table), the readers
        // tested on each folder it reaches
        let down = &sql[sql.find("WITH RECURSIVE down").unwrap()..];
        let down = &down[..down.find("SELECT 'y'").unwrap()];
        assert!(down.contains("x.relation = 'parent'"), "{down}");
        assert!(!down.contains("AS kind"), "{down}");
    }

    #[test]
    fn a_deep_chain_is_a_recursive_cte_not_nested_subqueries() {
        // 27 usersets deep (OpenFGA's resolution_too_complex case): nesting a subquery a
        // relation would overflow SQLite's parser
        let mut src = String::from("definition user {}\ndefinition res {\n relation rel_1: user\n");
        for i in 2..=27 {
            src.push_str(&format!(" relation rel_{i}: res#rel_{}\n", i - 1));
        }
        src.push_str(" permission view = rel_27\n}");
        let sql = statement_of(&src, "res", "view");
        assert!(sql.contains("WITH RECURSIVE down"), "{sql}");
        assert!(sql.matches("EXISTS").count() < 8, "{sql}");
    }
}
