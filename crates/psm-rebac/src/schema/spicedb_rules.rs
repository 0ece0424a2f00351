//! SpiceDB's type-system rules on wildcards (`Schema::parse_spicedb_strict`): a wildcard may not
//! be reached through a userset of another definition nor through the tupleset of an arrow
//! ("wildcard relations cannot be transitively included"), exactly where SpiceDB looks for one.

use foldhash::HashSet;

use super::model::{Definition, Relation, Rewrite, Schema};
use super::validate::invalid;
use crate::error::Result;

/// Checks the rules SpiceDB applies on top of the shared validation.
///
/// SpiceDB (1.54, `pkg/schema` type system) rejects
/// - an allowed subject `T#r` of a relation in definition `D`, when `T` is not `D` and `T#r`
///   includes a wildcard: directly, or through the usersets its allowed subjects name, in any
///   definition, transitively. A userset of the relation's own definition is not checked, and a
///   permission includes no wildcard (only relations' allowed subjects are followed);
/// - an arrow whose tupleset relation includes a wildcard the same way.
pub(crate) fn validate(schema: &Schema) -> Result<()> {
    for def in &schema.definitions {
        for rel in &def.relations {
            for a in &rel.allowed {
                let Some(r) = a.relation.as_deref().filter(|r| *r != "...") else {
                    continue;
                };
                if a.wildcard || a.object_type == def.name {
                    continue;
                }
                if let Some(via) = wildcard_via(schema, &a.object_type, r) {
                    return Err(invalid(
                        a.position,
                        "transitive-wildcard",
                        format!(
                            "for relation `{}`: relation/permission `{}#{r}` includes wildcard \
                             type `{}` via relation `{}`: wildcard relations cannot be \
                             transitively included",
                            rel.name, a.object_type, via.0, via.1
                        ),
                    ));
                }
            }
            arrows_without_wildcards(schema, def, rel, &rel.rewrite)?;
        }
    }
    Ok(())
}

fn arrows_without_wildcards(
    schema: &Schema,
    def: &Definition,
    rel: &Relation,
    rw: &Rewrite,
) -> Result<()> {
    match rw {
        Rewrite::Arrow {
            tupleset, position, ..
        } => match wildcard_via(schema, &def.name, tupleset) {
            Some((wild, via)) => Err(invalid(
                *position,
                "wildcard-in-arrow",
                format!(
                    "for arrow under permission `{}`: relation `{}#{tupleset}` includes wildcard \
                     type `{wild}` via relation `{via}`: wildcard relations cannot be used on the \
                     left side of arrows",
                    rel.name, def.name
                ),
            )),
            None => Ok(()),
        },
        Rewrite::Union(c) | Rewrite::Intersection(c) => c
            .iter()
            .try_for_each(|x| arrows_without_wildcards(schema, def, rel, x)),
        Rewrite::Exclusion(a, b) => {
            arrows_without_wildcards(schema, def, rel, a)?;
            arrows_without_wildcards(schema, def, rel, b)
        }
        Rewrite::This | Rewrite::Nil | Rewrite::Computed { .. } => Ok(()),
    }
}

/// The wildcard type `object_type#relation` includes and the relation allowing it: a wildcard
/// among its allowed subjects, or one its userset subjects include, depth first (each relation
/// visited once, so cycles end; the walk is bounded by the number of relations).
fn wildcard_via(schema: &Schema, object_type: &str, relation: &str) -> Option<(String, String)> {
    let mut seen: HashSet<(&str, &str)> = HashSet::default();
    let mut stack: Vec<(&str, &str)> = vec![(object_type, relation)];
    while let Some((ty, r)) = stack.pop() {
        if !seen.insert((ty, r)) {
            continue;
        }
        let Some(rel) = schema.relation(ty, r) else {
            continue;
        };
        if let Some(w) = rel.allowed.iter().find(|a| a.wildcard) {
            return Some((w.object_type.clone(), format!("{ty}#{r}")));
        }
        // Pushed in reverse, so that the first userset is walked first.
        for a in rel.allowed.iter().rev() {
            if let Some(next) = a.relation.as_deref().filter(|n| *n != "...") {
                stack.push((a.object_type.as_str(), next));
            }
        }
    }
    None
}
