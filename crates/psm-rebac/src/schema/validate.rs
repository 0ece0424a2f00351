//! Semantic validation shared by all schema formats: names, duplicates, unknown types and relations, arrows.

use foldhash::HashSet;

use super::model::{Definition, Relation, Rewrite, Schema};
use crate::error::{Error, Position, Result};

/// Which naming rules and format-specific checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    SpiceDb,
    OpenFga,
    Json,
}

pub(crate) fn invalid(position: Position, rule: &'static str, message: String) -> Error {
    Error::SchemaInvalid {
        position,
        rule,
        message,
    }
}

/// Validates a parsed schema; returns the first problem found, in source order.
pub(crate) fn validate(schema: &Schema, dialect: Dialect) -> Result<()> {
    let mut seen_types = HashSet::default();
    for def in &schema.definitions {
        check_type_name(def, dialect)?;
        if !seen_types.insert(def.name.as_str()) {
            return Err(invalid(
                def.position,
                "duplicate-type",
                format!("the type `{}` is a duplicate", def.name),
            ));
        }
        let mut seen_rel = HashSet::default();
        for rel in &def.relations {
            check_relation_name(def, rel, dialect)?;
            if !seen_rel.insert(rel.name.as_str()) {
                return Err(invalid(
                    rel.position,
                    "duplicate-relation",
                    format!("`{}` is already defined in `{}`", rel.name, def.name),
                ));
            }
        }
    }
    let mut seen_caveats = HashSet::default();
    for c in &schema.caveats {
        if !seen_caveats.insert(c.name.as_str()) {
            return Err(invalid(
                c.position,
                "duplicate-caveat",
                format!("caveat or condition `{}` is already defined", c.name),
            ));
        }
        let mut params = HashSet::default();
        for (p, _) in &c.parameters {
            if !params.insert(p.as_str()) {
                return Err(invalid(
                    c.position,
                    "duplicate-parameter",
                    format!("parameter `{p}` is already defined in `{}`", c.name),
                ));
            }
        }
    }
    #[cfg(not(feature = "caveats"))]
    if let Some(c) = schema.caveats.first() {
        return Err(crate::caveat::disabled(c));
    }
    for def in &schema.definitions {
        for rel in &def.relations {
            check_allowed(schema, def, rel, dialect)?;
            check_rewrite(schema, def, rel, &rel.rewrite)?;
        }
    }
    Ok(())
}

fn check_type_name(def: &Definition, dialect: Dialect) -> Result<()> {
    let ok = match dialect {
        Dialect::SpiceDb => {
            let parts: Vec<&str> = def.name.split('/').collect();
            parts.iter().all(|p| spicedb_ident(p, 64))
        }
        Dialect::OpenFga => {
            def.name != "self" && def.name != "this" && openfga_ident(&def.name, 254, false)
        }
        Dialect::Json => crate::relationship::check_type_name(&def.name).is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            def.position,
            "invalid-name",
            format!("type name `{}` breaks the naming rule", clip(&def.name)),
        ))
    }
}

fn check_relation_name(def: &Definition, rel: &Relation, dialect: Dialect) -> Result<()> {
    let ok = match dialect {
        Dialect::SpiceDb => spicedb_ident(&rel.name, 64),
        Dialect::OpenFga => {
            rel.name != "self" && rel.name != "this" && openfga_ident(&rel.name, 50, true)
        }
        Dialect::Json => crate::relationship::check_relation_name(&rel.name).is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            rel.position,
            "invalid-name",
            format!(
                "relation name `{}` of type `{}` breaks the naming rule",
                clip(&rel.name),
                def.name
            ),
        ))
    }
}

/// SpiceDB: `[a-z][a-z0-9_]{1,max-2}[a-z0-9]` (at least three characters).
fn spicedb_ident(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    b.len() >= 3
        && b.len() <= max
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        && b.last().is_some_and(|c| *c != b'_')
}

/// OpenFGA: 1..=max characters, none of `:#@` (and `*` for relations) or whitespace.
fn openfga_ident(s: &str, max: usize, relation: bool) -> bool {
    !s.is_empty()
        && s.chars().count() <= max
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ':' | '#' | '@') || (relation && c == '*'))
}

fn clip(s: &str) -> String {
    crate::error::clip(s)
}

fn check_allowed(
    schema: &Schema,
    def: &Definition,
    rel: &Relation,
    dialect: Dialect,
) -> Result<()> {
    let mut seen = HashSet::default();
    for a in &rel.allowed {
        let Some(target) = schema.definition(&a.object_type) else {
            return Err(invalid(
                a.position,
                "unknown-type",
                format!(
                    "`{}` in relation `{}#{}` is not a defined type",
                    a.object_type, def.name, rel.name
                ),
            ));
        };
        if let Some(r) = &a.relation
            && r != "..."
            && target.relation(r).is_none()
        {
            return Err(invalid(
                a.position,
                "unknown-relation",
                format!(
                    "`{}#{r}` in relation `{}#{}`: `{r}` is not a relation of `{}`",
                    a.object_type, def.name, rel.name, a.object_type
                ),
            ));
        }
        if let Some(r) = &a.relation
            && r != "..."
            && dialect == Dialect::SpiceDb
            && let Some((wild, via)) =
                wildcard_via(schema, &a.object_type, r, &mut HashSet::default())
        {
            return Err(invalid(
                a.position,
                "transitive-wildcard",
                format!(
                    "for relation `{}`: relation/permission `{}#{r}` includes wildcard type `{wild}` \
                     via relation `{via}`: wildcard relations cannot be transitively included",
                    rel.name, a.object_type
                ),
            ));
        }
        if let Some(c) = &a.caveat
            && !schema.caveats.iter().any(|x| &x.name == c)
        {
            return Err(invalid(
                a.position,
                "unknown-caveat",
                format!(
                    "caveat `{c}` used by relation `{}#{}` is not defined",
                    def.name, rel.name
                ),
            ));
        }
        if a.expiration && dialect == Dialect::SpiceDb && !schema.uses_expiration {
            return Err(invalid(
                a.position,
                "expiration-not-enabled",
                format!(
                    "relation `{}#{}` uses expiration without `use expiration`",
                    def.name, rel.name
                ),
            ));
        }
        if !seen.insert(a.render()) {
            return Err(invalid(
                a.position,
                "duplicate-type-restriction",
                format!(
                    "the type restriction `{}` is a duplicate in the relation `{}`",
                    a.render(),
                    rel.name
                ),
            ));
        }
    }
    Ok(())
}

fn check_rewrite(schema: &Schema, def: &Definition, rel: &Relation, rw: &Rewrite) -> Result<()> {
    match rw {
        Rewrite::This | Rewrite::Nil => Ok(()),
        Rewrite::Computed { relation, position } => {
            if def.relation(relation).is_none() {
                return Err(invalid(
                    *position,
                    "unknown-relation",
                    format!(
                        "the relation `{relation}` used by `{}#{}` does not exist",
                        def.name, rel.name
                    ),
                ));
            }
            Ok(())
        }
        Rewrite::Arrow {
            tupleset,
            computed,
            position,
            ..
        } => {
            let Some(ts) = def.relation(tupleset) else {
                return Err(invalid(
                    *position,
                    "unknown-relation",
                    format!(
                        "arrow `{tupleset}->{computed}` in `{}#{}`: `{tupleset}` is not a relation of `{}`",
                        def.name, rel.name, def.name
                    ),
                ));
            };
            if ts.rewrite != Rewrite::This || ts.allowed.iter().any(|a| a.wildcard) {
                return Err(invalid(
                    *position,
                    "arrow-over-computed",
                    format!(
                        "arrow `{tupleset}->{computed}` in `{}#{}`: `{tupleset}` must be a plain relation without wildcards",
                        def.name, rel.name
                    ),
                ));
            }
            let found = ts.allowed.iter().any(|a| {
                schema
                    .definition(&a.object_type)
                    .is_some_and(|d| d.relation(computed).is_some())
            });
            if !found {
                return Err(invalid(
                    *position,
                    "unknown-relation",
                    format!(
                        "arrow `{tupleset}->{computed}` in `{}#{}`: `{computed}` exists on none of the types of `{tupleset}`",
                        def.name, rel.name
                    ),
                ));
            }
            Ok(())
        }
        Rewrite::Union(c) | Rewrite::Intersection(c) => c
            .iter()
            .try_for_each(|x| check_rewrite(schema, def, rel, x)),
        Rewrite::Exclusion(a, b) => {
            check_rewrite(schema, def, rel, a)?;
            check_rewrite(schema, def, rel, b)
        }
    }
}

/// The wildcard type a userset `object_type#relation` includes, directly or through the usersets
/// its relation allows, with the relation that allows it (SpiceDB refuses such a userset as an
/// allowed subject: "wildcard relations cannot be transitively included"). Permissions include
/// none (SpiceDB looks only at relations' allowed types).
fn wildcard_via(
    schema: &Schema,
    object_type: &str,
    relation: &str,
    seen: &mut HashSet<(String, String)>,
) -> Option<(String, String)> {
    if !seen.insert((object_type.to_owned(), relation.to_owned())) {
        return None;
    }
    let rel = schema.relation(object_type, relation)?;
    for a in &rel.allowed {
        if a.wildcard {
            return Some((a.object_type.clone(), format!("{object_type}#{relation}")));
        }
    }
    for a in &rel.allowed {
        if let Some(r) = &a.relation
            && r != "..."
            && let Some(found) = wildcard_via(schema, &a.object_type, r, seen)
        {
            return Some(found);
        }
    }
    None
}
