//! Parser for dj_magister's JSON schema: `{"document": {"relations": {...}, "permissions": {...}}}`.
//!
//! Relations map to lists of allowed subject types (`"user"`, `"group#member"`, `"user:*"`);
//! permissions map to lists of union members (`"owner"`, `"parent->read"`).

use serde_json::Value;

use super::model::{
    AllowedSubject, ArrowKind, Definition, Relation, RelationKind, Rewrite, Schema,
};
use crate::error::{Error, Position, Result, SchemaFormat};

/// Parses a dj_magister JSON schema into a [`Schema`] (without semantic validation).
pub fn parse(src: &str) -> Result<Schema> {
    let value: Value = serde_json::from_str(src).map_err(|e| Error::SchemaSyntax {
        format: SchemaFormat::Json,
        position: Position {
            line: e.line(),
            column: e.column(),
        },
        message: e.to_string(),
    })?;
    let Value::Object(types) = value else {
        return Err(shape(src, "", "the schema must be a JSON object of types"));
    };
    let mut schema = Schema::default();
    for (type_name, body) in &types {
        let mut def = Definition::new(type_name, locate(src, type_name));
        let Value::Object(body) = body else {
            return Err(shape(src, type_name, "a type must map to an object"));
        };
        for key in body.keys() {
            if key != "relations" && key != "permissions" {
                return Err(shape(
                    src,
                    key,
                    "a type may only have `relations` and `permissions`",
                ));
            }
        }
        if let Some(rels) = body.get("relations") {
            for (name, types) in object(src, rels, type_name)? {
                let mut allowed = Vec::new();
                for item in strings(src, types, name)? {
                    allowed.push(allowed_subject(src, item)?);
                }
                def.push_relation(Relation {
                    name: name.clone(),
                    kind: RelationKind::Relation,
                    allowed,
                    rewrite: Rewrite::This,
                    position: locate(src, name),
                });
            }
        }
        if let Some(perms) = body.get("permissions") {
            for (name, items) in object(src, perms, type_name)? {
                let mut children = Vec::new();
                for item in strings(src, items, name)? {
                    children.push(member(src, item));
                }
                let rewrite = match children.len() {
                    0 => Rewrite::Nil,
                    1 => children.remove(0),
                    _ => Rewrite::Union(children),
                };
                def.push_relation(Relation {
                    name: name.clone(),
                    kind: RelationKind::Permission,
                    allowed: Vec::new(),
                    rewrite,
                    position: locate(src, name),
                });
            }
        }
        schema.push_definition(def);
    }
    Ok(schema)
}

fn object<'v>(src: &str, v: &'v Value, owner: &str) -> Result<&'v serde_json::Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(shape(
            src,
            owner,
            "`relations` and `permissions` must be objects",
        )),
    }
}

fn strings<'v>(src: &str, v: &'v Value, owner: &str) -> Result<Vec<&'v str>> {
    let Value::Array(items) = v else {
        return Err(shape(src, owner, "must be a list of strings"));
    };
    items
        .iter()
        .map(|i| {
            i.as_str()
                .ok_or_else(|| shape(src, owner, "must be a list of strings"))
        })
        .collect()
}

fn allowed_subject(src: &str, item: &str) -> Result<AllowedSubject> {
    let mut a = if let Some(t) = item.strip_suffix(":*") {
        let mut a = AllowedSubject::plain(t);
        a.wildcard = true;
        a
    } else if let Some((t, r)) = item.split_once('#') {
        let mut a = AllowedSubject::plain(t);
        a.relation = Some(r.to_owned());
        a
    } else {
        AllowedSubject::plain(item)
    };
    a.position = locate(src, item);
    if a.object_type.is_empty() || a.relation.as_deref() == Some("") {
        return Err(shape(
            src,
            item,
            "a subject type must be `type`, `type#relation` or `type:*`",
        ));
    }
    Ok(a)
}

fn member(src: &str, item: &str) -> Rewrite {
    let position = locate(src, item);
    match item.split_once("->") {
        Some((ts, comp)) => Rewrite::Arrow {
            tupleset: ts.to_owned(),
            computed: comp.to_owned(),
            kind: ArrowKind::Any,
            position,
        },
        None => Rewrite::Computed {
            relation: item.to_owned(),
            position,
        },
    }
}

/// The position of the first `"needle"` in the source, for error messages.
fn locate(src: &str, needle: &str) -> Position {
    let quoted = format!("\"{needle}\"");
    let Some(at) = src.find(&quoted) else {
        return Position { line: 1, column: 1 };
    };
    let before = &src[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Position { line, column }
}

fn shape(src: &str, near: &str, message: &str) -> Error {
    Error::SchemaSyntax {
        format: SchemaFormat::Json,
        position: locate(src, near),
        message: message.to_owned(),
    }
}
