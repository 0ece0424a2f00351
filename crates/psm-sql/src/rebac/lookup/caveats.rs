//! Where SQL meets caveats: which stored relations a lookup reads may hold caveated
//! relationships (the schema allows a caveat on them), and the one-probe query telling whether
//! any live caveated relationship is stored there. SQL cannot evaluate CEL, so a lookup or
//! check touching such relationships hands that part to the engine (see the module docs).

use std::fmt::Write as _;

use psm_rebac::Schema;
use psm_rebac::schema::Rewrite;

use super::compile::{Frag, Unsupported, lit};
use crate::rebac::rows::SqlValue;
use psm_rebac::schema::analysis::{Node, Reach};

/// The stored relations (`type#relation` whose relationships the lookup reads: relations
/// with `this` and arrow tuplesets) that allow a caveat, sorted.
pub(crate) fn caveat_relations(schema: &Schema, graph: &Reach) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::new();
    let mut add = |t: &str, r: &str| {
        if let Some(rel) = schema.relation(t, r)
            && rel.allowed().iter().any(|a| a.caveat().is_some())
        {
            out.push((t.to_owned(), r.to_owned()));
        }
    };
    for (t, r) in &graph.nodes {
        let Some(rel) = schema.relation(t, r) else {
            continue;
        };
        rel.rewrite().for_each_leaf(&mut |leaf| match leaf {
            Rewrite::This => add(t, r),
            Rewrite::Arrow { tupleset, .. } => add(t, tupleset),
            // `Nil` and computed relations read no relationships here. A form added to
            // psm-rebac later (`Rewrite` is `#[non_exhaustive]`) is never answered from SQL:
            // the compiler declines it, so missing its relations here cannot give an answer.
            _ => {}
        });
    }
    out.sort();
    out.dedup();
    out
}

/// `SELECT 1 ... LIMIT 1`: a row when a live caveated relationship is stored in one of
/// `relations` (answered from the caveat index). `None` when `relations` is empty.
pub(crate) fn probe(
    tuples: &str,
    relations: &[Node],
    now: i64,
) -> Result<Option<Frag>, Unsupported> {
    if relations.is_empty() {
        return Ok(None);
    }
    let mut f = Frag::text(format!(
        "SELECT 'c' AS id FROM {tuples} x WHERE x.caveat_name IS NOT NULL AND ("
    ));
    for (i, (t, r)) in relations.iter().enumerate() {
        if i > 0 {
            f.push(" OR ");
        }
        let _ = write!(
            f.sql,
            "(x.resource_type = {} AND x.relation = {})",
            lit(t)?,
            lit(r)?
        );
    }
    f.push(") AND (x.expires_at IS NULL OR x.expires_at > ?) LIMIT 1");
    f.binds.push(SqlValue::Int(now));
    Ok(Some(f))
}
