//! OpenFGA-only model rules: tupleset relations, duplicate operands, unused conditions,
//! entry points (every relation must be satisfiable by some tuple) and computed-rewrite loops.

use foldhash::HashSet;

use super::CaveatType;
use super::model::{Definition, Relation, Rewrite, Schema};
use super::validate::invalid;
use crate::error::Result;

/// Checks the rules OpenFGA applies on top of the shared validation.
pub(crate) fn validate(schema: &Schema) -> Result<()> {
    for def in &schema.definitions {
        for rel in &def.relations {
            tuplesets_are_direct(schema, def, rel, &rel.rewrite)?;
            no_duplicate_operands(rel, &rel.rewrite)?;
        }
    }
    let used: HashSet<&str> = schema
        .definitions
        .iter()
        .flat_map(|d| d.relations.iter())
        .flat_map(|r| r.allowed.iter())
        .filter_map(|a| a.caveat.as_deref())
        .collect();
    for c in &schema.caveats {
        if let Some((p, _)) = c
            .parameters
            .iter()
            .find(|(p, ty)| *ty == CaveatType::IpAddress && converts_to_string(&c.expression, p))
        {
            return Err(invalid(
                c.position,
                "condition-type",
                format!(
                    "condition `{}`: no matching overload for `string` applied to `{p}` (ipaddress)",
                    c.name
                ),
            ));
        }
        if !used.contains(c.name.as_str()) {
            return Err(invalid(
                c.position,
                "unused-condition",
                format!("`{}` condition is not used in the model", c.name),
            ));
        }
    }
    for def in &schema.definitions {
        for rel in &def.relations {
            let mut visited = Vec::new();
            if !has_entry(schema, &def.name, &rel.name, &mut visited, 0) {
                return Err(invalid(
                    rel.position,
                    "no-entrypoint",
                    format!(
                        "`{}` is an impossible relation for `{}` (no entrypoint or a loop)",
                        rel.name, def.name
                    ),
                ));
            }
            if rel.contains_direct() && computed_cycle(def, &rel.name) {
                return Err(invalid(
                    rel.position,
                    "computed-loop",
                    format!(
                        "`{}` is an impossible relation for `{}` (potential loop through rewrites)",
                        rel.name, def.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether `expression` applies `string(...)` to the bare parameter `param` (OpenFGA's CEL has
/// no `string(ipaddress)` overload).
fn converts_to_string(expression: &str, param: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    expression.match_indices("string").any(|(i, _)| {
        let before_ok = !expression[..i].chars().next_back().is_some_and(ident);
        let rest = expression[i + "string".len()..].trim_start();
        let Some(arg) = rest.strip_prefix('(') else {
            return false;
        };
        let arg = arg.trim_start();
        let Some(after) = arg.strip_prefix(param) else {
            return false;
        };
        before_ok && after.trim_start().starts_with(')')
    })
}

impl Relation {
    fn contains_direct(&self) -> bool {
        !self.allowed.is_empty()
    }
}

fn tuplesets_are_direct(
    schema: &Schema,
    def: &Definition,
    rel: &Relation,
    rw: &Rewrite,
) -> Result<()> {
    match rw {
        Rewrite::Arrow {
            tupleset, position, ..
        } => {
            let direct = def.relation(tupleset).is_some_and(|ts| {
                ts.rewrite == Rewrite::This
                    && ts
                        .allowed
                        .iter()
                        .all(|a| !a.wildcard && a.relation.is_none())
            });
            let _ = schema;
            if !direct {
                return Err(invalid(
                    *position,
                    "tupleset-not-direct",
                    format!(
                        "`{tupleset}` relation used inside from allows only direct relation (in `{}#{}`)",
                        def.name, rel.name
                    ),
                ));
            }
            Ok(())
        }
        Rewrite::Union(c) | Rewrite::Intersection(c) => c
            .iter()
            .try_for_each(|x| tuplesets_are_direct(schema, def, rel, x)),
        Rewrite::Exclusion(a, b) => {
            tuplesets_are_direct(schema, def, rel, a)?;
            tuplesets_are_direct(schema, def, rel, b)
        }
        _ => Ok(()),
    }
}

fn operand_name(rw: &Rewrite) -> Option<String> {
    match rw {
        Rewrite::Computed { relation, .. } => Some(relation.clone()),
        Rewrite::Arrow {
            tupleset, computed, ..
        } => Some(format!("{computed} from {tupleset}")),
        _ => None,
    }
}

fn no_duplicate_operands(rel: &Relation, rw: &Rewrite) -> Result<()> {
    let dup = |name: String| {
        Err(invalid(
            rel.position,
            "duplicate-operand",
            format!(
                "the partial relation definition `{name}` is a duplicate in the relation `{}`",
                rel.name
            ),
        ))
    };
    match rw {
        Rewrite::Union(c) | Rewrite::Intersection(c) => {
            let mut seen = HashSet::default();
            for x in c {
                if let Some(n) = operand_name(x)
                    && !seen.insert(n.clone())
                {
                    return dup(n);
                }
                no_duplicate_operands(rel, x)?;
            }
            Ok(())
        }
        Rewrite::Exclusion(a, b) => {
            if let (Some(x), Some(y)) = (operand_name(a), operand_name(b))
                && x == y
            {
                return dup(x);
            }
            no_duplicate_operands(rel, a)?;
            no_duplicate_operands(rel, b)
        }
        _ => Ok(()),
    }
}

/// Whether `type#relation` can be satisfied by some tuple; `visited` is the current path.
fn has_entry(
    schema: &Schema,
    ty: &str,
    rel: &str,
    visited: &mut Vec<(String, String)>,
    depth: usize,
) -> bool {
    if depth > 256 || visited.iter().any(|(t, r)| t == ty && r == rel) {
        return false;
    }
    let Some(r) = schema.relation(ty, rel) else {
        return false;
    };
    visited.push((ty.to_owned(), rel.to_owned()));
    let out = rewrite_has_entry(schema, ty, r, &r.rewrite, visited, depth);
    visited.pop();
    out
}

fn rewrite_has_entry(
    schema: &Schema,
    ty: &str,
    r: &Relation,
    rw: &Rewrite,
    visited: &mut Vec<(String, String)>,
    depth: usize,
) -> bool {
    match rw {
        Rewrite::This => r.allowed.iter().any(|a| match &a.relation {
            None => true,
            Some(sr) => has_entry(schema, &a.object_type, sr, visited, depth + 1),
        }),
        Rewrite::Nil => false,
        Rewrite::Computed { relation, .. } => has_entry(schema, ty, relation, visited, depth + 1),
        Rewrite::Arrow {
            tupleset, computed, ..
        } => schema.relation(ty, tupleset).is_some_and(|ts| {
            ts.allowed.iter().any(|a| {
                schema.relation(&a.object_type, computed).is_some()
                    && has_entry(schema, &a.object_type, computed, visited, depth + 1)
            })
        }),
        Rewrite::Union(c) => c
            .iter()
            .any(|x| rewrite_has_entry(schema, ty, r, x, visited, depth)),
        Rewrite::Intersection(c) => c
            .iter()
            .all(|x| rewrite_has_entry(schema, ty, r, x, visited, depth)),
        Rewrite::Exclusion(a, b) => {
            rewrite_has_entry(schema, ty, r, a, visited, depth)
                && rewrite_has_entry(schema, ty, r, b, visited, depth)
        }
    }
}

/// Whether `start` reaches itself through computed rewrites of the same type only.
fn computed_cycle(def: &Definition, start: &str) -> bool {
    let mut stack = vec![start.to_owned()];
    let mut seen: HashSet<String> = HashSet::default();
    while let Some(name) = stack.pop() {
        let Some(r) = def.relation(&name) else {
            continue;
        };
        let mut next = Vec::new();
        r.rewrite.for_each_leaf(&mut |l| {
            if let Rewrite::Computed { relation, .. } = l {
                next.push(relation.clone());
            }
        });
        for n in next {
            if n == start {
                return true;
            }
            if seen.insert(n.clone()) {
                stack.push(n);
            }
        }
    }
    false
}
