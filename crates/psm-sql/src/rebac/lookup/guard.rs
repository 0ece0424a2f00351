//! The depth guard of the SQL plans: one statement that tells whether the engine could meet its
//! depth limit (or a cycle) on a request, so that a plan answers from SQL only when SQL's
//! answer is exactly the engine's.
//!
//! SQL computes a fixed point with no depth limit; the engine answers `DepthExceeded` when its
//! evaluation enters a relation deeper than `max_depth`, and cuts cycles. Both agree whenever
//! every walk the engine could take stays within the limit: then no cycle is reachable (a cycle
//! is a walk of any length) and no limit is met. The guard walks every edge of every rewrite
//! (computed relations, usersets, arrows, including the branches of intersections and
//! exclusions, and caveated or expired relationships too: a superset of what the engine may
//! visit), counting steps as the engine does, and stops one step past the limit; a row past
//! the limit means "let the engine answer". A check walks forward from the resource; a lookup
//! walks backwards from the subject to every candidate the engine could confirm, then forward
//! from those candidates as their checks would.

use std::fmt::Write as _;

use psm_rebac::schema::Rewrite;
use psm_rebac::{Schema, SubjectRef};

use super::compile::{Frag, Unsupported, cast, lit};
use crate::dialect::Dialect;
use crate::rebac::rows::SqlValue;

/// One edge of the schema: from `ft#fr` on an object to `tt#tr` — on the same object (`kind`
/// 0, a computed relation) or on the subject of a relationship `ft:id#via@tt:sid#srel` (`kind`
/// 1, a userset or an arrow).
pub(crate) type Rule = (u8, String, String, String, String, String, String);

/// Every edge of every rewrite of `schema` (computed relations, usersets, arrows, including the
/// branches of intersections and exclusions), sorted and without duplicates.
pub(crate) fn rule_list(schema: &Schema) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    let s = |v: &str| v.to_owned();
    for def in schema.definitions() {
        let t = def.name();
        for rel in def.relations() {
            let r = rel.name();
            rel.rewrite().for_each_leaf(&mut |leaf| match leaf {
                Rewrite::This => {
                    for a in rel.allowed() {
                        if let Some(m) = a.relation()
                            && schema.relation(a.object_type(), m).is_some()
                        {
                            rules.push((1, s(t), s(r), s(a.object_type()), s(m), s(m), s(r)));
                        }
                    }
                }
                Rewrite::Computed { relation, .. } if schema.relation(t, relation).is_some() => {
                    rules.push((0, s(t), s(r), s(t), s(relation), String::new(), s(r)));
                }
                Rewrite::Arrow {
                    tupleset, computed, ..
                } => {
                    if let Some(ts) = schema.relation(t, tupleset) {
                        for a in ts.allowed().iter().filter(|a| !a.is_wildcard()) {
                            if schema.relation(a.object_type(), computed).is_some() {
                                let srel = a.relation().unwrap_or("");
                                rules.push((
                                    1,
                                    s(t),
                                    s(r),
                                    s(a.object_type()),
                                    s(computed),
                                    s(srel),
                                    s(tupleset),
                                ));
                            }
                        }
                    }
                }
                // `Nil`, a computed relation the schema lacks, and any form added to psm-rebac
                // later (`Rewrite` is `#[non_exhaustive]`): no edge here. A new form cannot make
                // this guard vouch for a wrong answer: the statements it guards come from the
                // compiler (`compile.rs`, `forward.rs`), which declines every form it does not
                // know, so a request whose walk meets one is answered by the engine.
                _ => {}
            });
        }
    }
    rules.sort();
    rules.dedup();
    rules
}

/// `rules` as a constant table `(kind, ft, fr, tt, tr, srel, via)`; `None` when empty.
pub(crate) fn table(rules: &[Rule], dialect: Dialect) -> Result<Option<String>, Unsupported> {
    if rules.is_empty() {
        return Ok(None);
    }
    let dual = dual(dialect);
    let q = |v: &str| text(dialect, v);
    let mut table = String::new();
    for (i, (kind, ft, fr, tt, tr, srel, via)) in rules.iter().enumerate() {
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
            q(srel)?,
            q(via)?
        );
    }
    Ok(Some(table))
}

pub(crate) fn dual(dialect: Dialect) -> &'static str {
    if dialect == Dialect::MySql {
        " FROM DUAL"
    } else {
        ""
    }
}

pub(crate) fn text(dialect: Dialect, v: &str) -> Result<String, Unsupported> {
    Ok(if v.is_empty() {
        cast(dialect, "''", 254)
    } else {
        cast(dialect, &lit(v)?, 254)
    })
}

/// The forward step of a walk `{name}(t, r, id, d)` over the rules, up to one step past `max`.
pub(crate) fn forward_step(
    name: &str,
    rules: &str,
    tuples: &str,
    dialect: Dialect,
    max: u32,
) -> String {
    format!(
        " UNION SELECT R.tt, R.tr, {}, n.d + 1 FROM {name} n JOIN ({rules}) R ON R.ft = n.t \
         AND R.fr = n.r LEFT JOIN {tuples} x ON R.kind = 1 AND x.resource_type = n.t \
         AND x.resource_id = n.id AND x.relation = R.via AND x.subject_type = R.tt \
         AND x.subject_relation = R.srel WHERE (R.kind = 0 OR x.subject_id IS NOT NULL) \
         AND n.d <= {max}",
        cast(
            dialect,
            "(CASE WHEN R.kind = 0 THEN n.id ELSE x.subject_id END)",
            1024
        ),
    )
}

/// Yields a row when a check of `resource_type:?#permission` could walk past `max`.
pub(crate) fn check(
    rules: &str,
    dialect: Dialect,
    tuples: &str,
    resource_type: &str,
    resource_id: &str,
    permission: &str,
    max: u32,
) -> Result<Frag, Unsupported> {
    let mut out = Frag::text(format!(
        "WITH RECURSIVE down(t, r, id, d) AS (SELECT {}, {}, {}, 0{}",
        text(dialect, resource_type)?,
        text(dialect, permission)?,
        cast(dialect, "?", 1024),
        dual(dialect),
    ));
    out.binds.push(SqlValue::Text(resource_id.into()));
    out.sql
        .push_str(&forward_step("down", rules, tuples, dialect, max));
    let _ = write!(
        out.sql,
        ") SELECT 'deep' AS id FROM down WHERE d > {max} LIMIT 1"
    );
    Ok(out)
}

/// Yields a row when a lookup of `resource_type#permission` for `subject` could walk past
/// `max`: backwards from the subject to every candidate, or forwards from a candidate.
pub(crate) fn lookup(
    rules: &str,
    dialect: Dialect,
    tuples: &str,
    subject: &SubjectRef,
    resource_type: &str,
    permission: &str,
    max: u32,
) -> Result<Frag, Unsupported> {
    let srel = subject.relation.as_deref().unwrap_or("");
    let mut out = Frag::text(format!(
        "WITH RECURSIVE up(t, r, id, d) AS (SELECT {}, {}, {}, 0 FROM {tuples} x \
         WHERE x.subject_type = ? AND x.subject_relation = ? AND (x.subject_id = ?{})",
        cast(dialect, "x.resource_type", 254),
        cast(dialect, "x.relation", 254),
        cast(dialect, "x.resource_id", 1024),
        if srel.is_empty() {
            " OR x.subject_id = '*'"
        } else {
            ""
        },
    ));
    out.binds.extend([
        SqlValue::Text(subject.object.object_type.clone()),
        SqlValue::Text(srel.into()),
        SqlValue::Text(subject.object.object_id.clone()),
    ]);
    if !srel.is_empty() {
        let _ = write!(
            out.sql,
            " UNION SELECT {}, {}, {}, 0{}",
            text(dialect, &subject.object.object_type)?,
            text(dialect, srel)?,
            cast(dialect, "?", 1024),
            dual(dialect),
        );
        out.binds
            .push(SqlValue::Text(subject.object.object_id.clone()));
    }
    let _ = write!(
        out.sql,
        " UNION SELECT R.ft, R.fr, {}, n.d + 1 FROM up n JOIN ({rules}) R ON R.tt = n.t \
         AND R.tr = n.r LEFT JOIN {tuples} x ON R.kind = 1 AND x.subject_type = n.t \
         AND x.subject_id = n.id AND x.subject_relation = R.srel AND x.relation = R.via \
         AND x.resource_type = R.ft WHERE (R.kind = 0 OR x.resource_id IS NOT NULL) \
         AND n.d <= {max}), down(t, r, id, d) AS (SELECT DISTINCT u.t, u.r, u.id, 0 FROM up u \
         WHERE u.t = {} AND u.r = {}",
        cast(
            dialect,
            "(CASE WHEN R.kind = 0 THEN n.id ELSE x.resource_id END)",
            1024
        ),
        text(dialect, resource_type)?,
        text(dialect, permission)?,
    );
    out.sql
        .push_str(&forward_step("down", rules, tuples, dialect, max));
    let _ = write!(
        out.sql,
        ") SELECT 'deep' AS id FROM up WHERE d > {max} \
         UNION ALL SELECT 'deep' AS id FROM down WHERE d > {max} LIMIT 1"
    );
    Ok(out)
}
