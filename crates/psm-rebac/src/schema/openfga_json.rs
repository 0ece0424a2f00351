//! OpenFGA's JSON authorization model (`schema_version`, `type_definitions`, `conditions`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::caveat_type::{CaveatType, unknown_parameter_type};
use super::model::{
    AllowedSubject, ArrowKind, CaveatDefinition, Definition, Relation, RelationKind, Rewrite,
    Schema,
};
use crate::error::{Error, Position, Result, SchemaFormat};

/// The deepest userset nesting accepted.
const MAX_NESTING: usize = 64;

fn err(message: impl Into<String>) -> Error {
    Error::SchemaSyntax {
        format: SchemaFormat::OpenFga,
        position: Position { line: 1, column: 1 },
        message: message.into(),
    }
}

fn invalid(rule: &'static str, message: String) -> Error {
    Error::SchemaInvalid {
        position: Position { line: 1, column: 1 },
        rule,
        message,
    }
}

/// Parses an OpenFGA JSON model (no shared validation; see [`Schema::parse_openfga_json`]).
pub fn parse(src: &str) -> Result<Schema> {
    let v: Value = serde_json::from_str(src).map_err(|e| Error::SchemaSyntax {
        format: SchemaFormat::OpenFga,
        position: Position {
            line: e.line(),
            column: e.column(),
        },
        message: e.to_string(),
    })?;
    match v.get("schema_version").and_then(Value::as_str) {
        None => {
            return Err(invalid(
                "schema-version-required",
                "schema version required".into(),
            ));
        }
        Some("1.1" | "1.2") => {}
        Some(other) => {
            return Err(invalid(
                "invalid-schema-version",
                format!("invalid schema {other}"),
            ));
        }
    }
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut note_module = |meta: Option<&Value>| {
        let Some(meta) = meta else { return };
        let module = meta.get("module").and_then(Value::as_str);
        let file = meta
            .get("source_info")
            .and_then(|s| s.get("file"))
            .and_then(Value::as_str);
        if let (Some(m), Some(f)) = (module, file) {
            modules
                .entry(f.to_owned())
                .or_default()
                .insert(m.to_owned());
        }
    };
    let mut schema = Schema::default();
    let types = v
        .get("type_definitions")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for t in types {
        let name = t
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| err("a type definition needs `type`"))?;
        let mut def = Definition::new(name, Position::default());
        let meta = t.get("metadata");
        note_module(meta);
        let rel_meta = meta.and_then(|m| m.get("relations"));
        if let Some(Value::Object(rels)) = t.get("relations") {
            for (rname, us) in rels {
                let rm = rel_meta.and_then(|m| m.get(rname));
                note_module(rm);
                let mut allowed = Vec::new();
                let drut = rm
                    .and_then(|m| m.get("directly_related_user_types"))
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice);
                for d in drut {
                    let ty = d
                        .get("type")
                        .and_then(Value::as_str)
                        .ok_or_else(|| err("a type restriction needs `type`"))?;
                    let mut a = AllowedSubject::plain(ty);
                    a.relation = d.get("relation").and_then(Value::as_str).map(str::to_owned);
                    a.wildcard = d.get("wildcard").is_some();
                    a.caveat = d
                        .get("condition")
                        .and_then(Value::as_str)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned);
                    allowed.push(a);
                }
                let rewrite = userset(us, 0)?;
                if !rewrite.contains_this() {
                    allowed.clear();
                }
                def.push_relation(Relation {
                    name: rname.clone(),
                    kind: if allowed.is_empty() {
                        RelationKind::Permission
                    } else {
                        RelationKind::Relation
                    },
                    allowed,
                    rewrite,
                    position: Position::default(),
                });
            }
        }
        schema.push_definition(def);
    }
    if let Some(Value::Object(conds)) = v.get("conditions") {
        for (key, c) in conds {
            note_module(c.get("metadata"));
            let name = c.get("name").and_then(Value::as_str).unwrap_or(key);
            if name != key {
                return Err(invalid(
                    "different-nested-condition-name",
                    format!("condition key is `{key}` but nested name property is {name}"),
                ));
            }
            let mut parameters = Vec::new();
            if let Some(p) = c.get("parameters").and_then(Value::as_object) {
                for (k, v) in p {
                    let ty = parameter_type(v, 0).ok_or_else(|| {
                        let text: String = v.to_string().chars().take(200).collect();
                        unknown_parameter_type(Position { line: 1, column: 1 }, key, k, &text)
                    })?;
                    parameters.push((k.clone(), ty));
                }
            }
            schema.caveats.push(CaveatDefinition {
                name: key.clone(),
                parameters,
                expression: c
                    .get("expression")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                position: Position::default(),
            });
        }
    }
    for (file, mods) in &modules {
        if mods.len() > 1 {
            return Err(invalid(
                "multiple-modules-in-file",
                format!("file {file} would contain multiple module definitions"),
            ));
        }
    }
    Ok(schema)
}

/// A condition parameter's type: `{"type_name": "TYPE_NAME_LIST", "generic_types": [...]}`.
fn parameter_type(v: &Value, depth: usize) -> Option<CaveatType> {
    if depth > MAX_NESTING {
        return None;
    }
    let name = v.get("type_name")?.as_str()?;
    let args = match v.get("generic_types") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|g| parameter_type(g, depth + 1))
            .collect::<Option<_>>()?,
        Some(_) => return None,
    };
    CaveatType::from_openfga_type_name(name, args)
}

fn name_of(v: &Value, key: &str) -> Result<String> {
    v.get(key)
        .and_then(|x| x.get("relation"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| err(format!("`{key}` needs a `relation`")))
}

fn userset(v: &Value, depth: usize) -> Result<Rewrite> {
    if depth > MAX_NESTING {
        return Err(err("userset nested too deeply"));
    }
    let children = |key: &str| -> Result<Vec<Rewrite>> {
        v.get(key)
            .and_then(|u| u.get("child"))
            .and_then(Value::as_array)
            .ok_or_else(|| err(format!("`{key}` needs `child`")))?
            .iter()
            .map(|c| userset(c, depth + 1))
            .collect()
    };
    if v.get("this").is_some() {
        Ok(Rewrite::This)
    } else if v.get("computedUserset").is_some() {
        Ok(Rewrite::Computed {
            relation: name_of(v, "computedUserset")?,
            position: Position::default(),
        })
    } else if let Some(t) = v.get("tupleToUserset") {
        Ok(Rewrite::Arrow {
            tupleset: name_of(t, "tupleset")?,
            computed: name_of(t, "computedUserset")?,
            kind: ArrowKind::Any,
            position: Position::default(),
        })
    } else if v.get("union").is_some() {
        Ok(Rewrite::Union(children("union")?))
    } else if v.get("intersection").is_some() {
        Ok(Rewrite::Intersection(children("intersection")?))
    } else if let Some(d) = v.get("difference") {
        let base = d
            .get("base")
            .ok_or_else(|| err("`difference` needs `base`"))?;
        let sub = d
            .get("subtract")
            .ok_or_else(|| err("`difference` needs `subtract`"))?;
        Ok(Rewrite::Exclusion(
            Box::new(userset(base, depth + 1)?),
            Box::new(userset(sub, depth + 1)?),
        ))
    } else {
        Err(err("unknown userset kind"))
    }
}

/// Whether every relation can be written in the OpenFGA DSL: direct assignment (`this`) may only
/// be the whole definition, a direct child of a top-level union or intersection, or the base of a
/// top-level difference.
pub fn check_dsl_expressible(schema: &Schema) -> Result<()> {
    for def in schema.definitions() {
        for rel in &def.relations {
            let ok = match &rel.rewrite {
                Rewrite::Union(c) | Rewrite::Intersection(c) => c
                    .iter()
                    .all(|x| matches!(x, Rewrite::This) || !x.contains_this()),
                Rewrite::Exclusion(a, b) => {
                    (matches!(**a, Rewrite::This) || !a.contains_this()) && !b.contains_this()
                }
                _ => true,
            };
            if !ok {
                return Err(invalid(
                    "not-dsl-expressible",
                    format!(
                        "the '{}' relation definition under the '{}' type is not supported by the OpenFGA DSL syntax yet",
                        rel.name, def.name
                    ),
                ));
            }
        }
    }
    Ok(())
}
