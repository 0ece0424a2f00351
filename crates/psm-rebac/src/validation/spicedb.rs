//! SpiceDB validation files: schema (or schemaFile), relationships, assertions, expected relations,
//! and check/lookup agreement over every resource × permission × subject.
//!
//! Negative tests. Some files exist to be rejected by SpiceDB's loader; SpiceDB's own
//! `pkg/validationfile/loader_test.go` names the error each must produce. [`NEGATIVE`] mirrors
//! that table: such a file PASSES exactly when loading it fails with an error of the expected
//! kind, and FAILS if it loads or fails for another reason. Every other file is positive; a
//! positive file whose `schemaFile` is absent (not shipped with the conformance data) is SKIPPED.
//! Caveats and expiration are evaluated: `assertTrue` / `assertFalse` may carry a context
//! (`... with {"param": value}`), and `assertCaveated` expects a conditional answer.

use std::path::Path;

use serde_norway::Value;

use super::agreement;
use super::report::{Outcome, Report};
use super::stores::StoreFactory;
use super::{list_field, local_file, str_field};
use crate::{
    CaveatContext, Engine, Error, ExpandNode, Expansion, IdRules, ObjectRef, Permissionship,
    Relationship, Schema, SubjectRef,
};

/// The top-level keys of a SpiceDB validation file (any one of them marks the format).
const KEYS: &[&str] = &[
    "schema",
    "schemaFile",
    "relationships",
    "assertions",
    "validation",
    "validation_tuples",
];

/// Whether a YAML mapping looks like a SpiceDB validation file.
pub fn recognises(m: &serde_norway::Mapping) -> bool {
    KEYS.iter().any(|k| m.contains_key(*k))
}

/// Why a file could not be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoadError {
    /// Not YAML, or an unknown layout (e.g. legacy `validation_tuples`).
    Format,
    /// Both `schema` and `schemaFile`.
    SchemaAndSchemaFile,
    /// `schemaFile` missing, unreadable, or outside the file's directory.
    SchemaFile,
    /// The schema does not parse or validate.
    Schema,
    /// A caveat named by the schema is not defined.
    UnknownCaveat,
    /// A relationship does not parse.
    RelationshipSyntax,
    /// A relationship does not fit the schema (unknown type or relation, subject not allowed).
    RelationshipInvalid,
    /// The same relationship appears twice.
    Repeated,
    /// The tuple store (`--store`) failed.
    Store,
}

/// Files that must fail to load, and how (from SpiceDB's loader tests).
const NEGATIVE: &[(&str, LoadError)] = &[
    ("legacy.yaml", LoadError::Format),
    ("just_rels.yaml", LoadError::RelationshipInvalid),
    ("invalid_caveat.yaml", LoadError::UnknownCaveat),
    ("invalid_caveated_rel.yaml", LoadError::RelationshipInvalid),
    (
        "invalid_caveated_rel_syntax.yaml",
        LoadError::RelationshipSyntax,
    ),
    ("repeated_relationship.yaml", LoadError::Repeated),
    ("schema_and_schemafile.yaml", LoadError::SchemaAndSchemaFile),
    (
        "loader_using_missing_schemafile.yaml",
        LoadError::SchemaFile,
    ),
    (
        "loader_using_non-local_schemafile.yaml",
        LoadError::SchemaFile,
    ),
    // Upstream this fails while parsing the schema file; that file is not part of the
    // conformance subset, so here it fails while reading it. Either way it must not load.
    (
        "loader_using_invalid_schemafile.yaml",
        LoadError::SchemaFile,
    ),
];

fn expected_failure(path: &Path) -> Option<LoadError> {
    let name = path.file_name()?.to_str()?;
    NEGATIVE.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}

/// A file that is not YAML: a passing case when it is a negative test expecting a format
/// error (then true); otherwise nothing is recorded and the caller reports the YAML error.
pub fn run_unparsable(path: &Path, report: &mut Report) -> bool {
    if expected_failure(path) == Some(LoadError::Format) {
        report.case(path, "load fails with Format", Outcome::Pass);
        true
    } else {
        false
    }
}

/// A loaded file: engine plus the parsed relationships.
struct Loaded {
    engine: Engine,
    relationships: Vec<Relationship>,
}

enum Load {
    Ok(Box<Loaded>),
    Skip(String),
    Err(LoadError, String),
}

pub async fn run(path: &Path, doc: &Value, stores: &dyn StoreFactory, report: &mut Report) {
    let loaded = load(path, doc, stores).await;
    if let Some(kind) = expected_failure(path) {
        let outcome = match loaded {
            Load::Err(k, _) if k == kind => Outcome::Pass,
            Load::Err(k, why) => {
                Outcome::Fail(format!("expected a {kind:?} error, got {k:?}: {why}"))
            }
            Load::Ok(_) => Outcome::Fail(format!("expected a {kind:?} error, but the file loaded")),
            Load::Skip(why) => Outcome::Skip(why),
        };
        return report.case(path, &format!("load fails with {kind:?}"), outcome);
    }
    let loaded = match loaded {
        Load::Ok(l) => l,
        Load::Skip(why) => {
            let n = count_cases(doc).max(1);
            for i in 0..n {
                report.case(path, &format!("case {}", i + 1), Outcome::Skip(why.clone()));
            }
            return;
        }
        Load::Err(k, why) => {
            return report.case(path, "load", Outcome::Fail(format!("{k:?}: {why}")));
        }
    };
    report.case(path, "load", Outcome::Pass);
    let assertions = doc.get("assertions");
    for (key, expect) in [
        ("assertTrue", Expect::True),
        ("assertFalse", Expect::False),
        ("assertCaveated", Expect::Caveated),
    ] {
        for a in assertions.map(|a| list_field(a, key)).unwrap_or(&[]) {
            let text = a.as_str().unwrap_or_default();
            let outcome = assert_one(&loaded.engine, text, expect).await;
            report.case(path, &format!("{key} {text}"), outcome);
        }
    }
    if let Some(Value::Mapping(expected)) = doc.get("validation") {
        for (k, v) in expected {
            let key = k.as_str().unwrap_or_default();
            let outcome = expected_relations(&loaded.engine, key, v).await;
            report.case(path, &format!("validation {key}"), outcome);
        }
    }
    agreement::run(path, &loaded.engine, &loaded.relationships, report).await;
}

/// How many cases a skipped file would have had (assertions and expected relations).
fn count_cases(doc: &Value) -> usize {
    let a = doc.get("assertions");
    let n: usize = ["assertTrue", "assertFalse", "assertCaveated"]
        .iter()
        .map(|k| a.map_or(0, |a| list_field(a, k).len()))
        .sum();
    let v = doc
        .get("validation")
        .and_then(Value::as_mapping)
        .map_or(0, |m| m.len());
    n + v + 1
}

async fn load(path: &Path, doc: &Value, stores: &dyn StoreFactory) -> Load {
    if doc.get("validation_tuples").is_some() {
        return Load::Err(
            LoadError::Format,
            "relationships must be specified in `relationships`".to_owned(),
        );
    }
    let schema_text = match (str_field(doc, "schema"), str_field(doc, "schemaFile")) {
        (Some(_), Some(_)) => {
            return Load::Err(
                LoadError::SchemaAndSchemaFile,
                "only one of schema or schemaFile can be specified".to_owned(),
            );
        }
        (Some(s), None) => s.to_owned(),
        (None, Some(f)) => match read_schema_file(path, f) {
            Ok(s) => s,
            // A positive test whose schema file is absent cannot be judged either way.
            Err(why) if expected_failure(path).is_none() && why.contains("not found") => {
                return Load::Skip(format!("{why}; it is not part of the conformance data"));
            }
            Err(why) => return Load::Err(LoadError::SchemaFile, why),
        },
        (None, None) => String::new(),
    };
    let schema = match Schema::parse_spicedb(&schema_text) {
        Ok(s) => s,
        Err(
            e @ Error::SchemaInvalid {
                rule: "unknown-caveat",
                ..
            },
        ) => {
            return Load::Err(LoadError::UnknownCaveat, e.to_string());
        }
        Err(e) => return Load::Err(LoadError::Schema, e.to_string()),
    };
    let mut relationships = Vec::new();
    let text = str_field(doc, "relationships").unwrap_or_default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        match Relationship::parse_with(line, IdRules::SpiceDb) {
            Ok(r) => relationships.push(r),
            Err(e) => {
                return Load::Err(
                    LoadError::RelationshipSyntax,
                    format!("error parsing relationship: {e}"),
                );
            }
        }
    }
    let fresh = match stores.fresh().await {
        Ok(f) => f,
        Err(e) => return Load::Err(LoadError::Store, format!("store: {e}")),
    };
    let engine = Engine::new(schema, fresh.store());
    let mut keys = std::collections::HashSet::new();
    for r in &relationships {
        if !keys.insert(r.key()) {
            return Load::Err(
                LoadError::Repeated,
                format!("found repeated relationship `{}`", r.key()),
            );
        }
    }
    for r in &relationships {
        match engine.validate_relationship(r) {
            Ok(()) => {}
            Err(Error::Unsupported { feature, detail }) => {
                return Load::Skip(format!("{feature} not yet supported ({detail})"));
            }
            Err(e) => return Load::Err(LoadError::RelationshipInvalid, e.to_string()),
        }
    }
    if let Err(e) = fresh.load(&relationships).await {
        return Load::Err(LoadError::Store, format!("store: {e}"));
    }
    Load::Ok(Box::new(Loaded {
        engine,
        relationships,
    }))
}

/// Reads a `schemaFile` relative to the validation file; it must stay inside that directory.
fn read_schema_file(path: &Path, name: &str) -> Result<String, String> {
    let full = local_file(path, name).map_err(|why| format!("schemaFile {why}"))?;
    if !full.exists() {
        return Err(format!("schemaFile `{name}` not found"));
    }
    std::fs::read_to_string(full).map_err(|e| format!("schemaFile `{name}`: {e}"))
}

/// What an assertion expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    True,
    False,
    /// Conditional on caveat parameters the assertion does not supply.
    Caveated,
}

/// Checks `res:id#permission@subject` or `res:id#permission@subject with {context}`.
async fn assert_one(engine: &Engine, text: &str, expect: Expect) -> Outcome {
    let (check, context) = match text.split_once(" with ") {
        Some((c, ctx)) => match serde_json::from_str::<CaveatContext>(ctx.trim()) {
            Ok(ctx) => (c, ctx),
            Err(e) => return Outcome::Fail(format!("bad caveat context `{ctx}`: {e}")),
        },
        None => (text, CaveatContext::new()),
    };
    let (resource, permission, subject) = match parse_check(check) {
        Ok(x) => x,
        Err(e) => return Outcome::Fail(e),
    };
    let got = match engine
        .check_with_context(&resource, &permission, &subject, context)
        .await
    {
        Ok(Permissionship::HasPermission) => Expect::True,
        Ok(Permissionship::NoPermission) => Expect::False,
        Ok(_) => Expect::Caveated,
        Err(e) => return Outcome::Fail(e.to_string()),
    };
    if got == expect {
        Outcome::Pass
    } else {
        Outcome::Fail(format!("expected {expect:?}, got {got:?}"))
    }
}

/// Splits `res:id#permission@subject`.
fn parse_check(text: &str) -> Result<(ObjectRef, String, SubjectRef), String> {
    let r = Relationship::parse_with(text, IdRules::SpiceDb).map_err(|e| e.to_string())?;
    Ok((r.resource, r.relation.to_string(), r.subject))
}

/// Compares `resource#permission: ["[subject] is <...>", ...]` with the expanded subjects. A
/// caveated subject is written `[subject[caveat]]` and must be caveated by that caveat in the
/// expansion; `[subject[expiration]]` marks an expiring relationship, compared as its subject.
async fn expected_relations(engine: &Engine, key: &str, v: &Value) -> Outcome {
    let Some((res, perm)) = key.split_once('#') else {
        return Outcome::Fail(format!("bad key `{key}`"));
    };
    let Ok(resource) = ObjectRef::parse_with(res, IdRules::SpiceDb) else {
        return Outcome::Fail(format!("bad resource `{res}`"));
    };
    let mut expected = Vec::new();
    for item in v.as_sequence().map_or(&[][..], |s| s.as_slice()) {
        let s = item.as_str().unwrap_or_default();
        match expected_subject(s) {
            Some(e) => expected.push(e),
            None => return Outcome::Fail(format!("cannot read expected subject `{s}`")),
        }
    }
    expected.sort();
    expected.dedup();
    match engine.expand(&resource, perm).await {
        Ok(tree) => {
            let mut got = Vec::new();
            expanded_subjects(&tree, &mut got);
            got.sort();
            got.dedup();
            if got == expected {
                Outcome::Pass
            } else {
                Outcome::Fail(format!("expected {expected:?}, got {got:?}"))
            }
        }
        Err(e) => Outcome::Fail(e.to_string()),
    }
}

/// `[user:tom] is <...>` or `[user:tom[caveat]] is <...>`: the subject and its caveat name.
fn expected_subject(text: &str) -> Option<(SubjectRef, Option<String>)> {
    let rest = text.strip_prefix('[')?;
    let (inner, _) = rest.split_once("] is ").or_else(|| rest.rsplit_once(']'))?;
    let (subject, caveat) = match inner.strip_suffix(']').and_then(|x| x.split_once('[')) {
        Some((subject, caveat)) => (subject, (caveat != "expiration").then(|| caveat.to_owned())),
        None => (inner, None),
    };
    let subject = SubjectRef::parse_with(subject, IdRules::SpiceDb).ok()?;
    Some((subject, caveat))
}

/// Every leaf subject of an expansion with the name of the caveat it holds under, if any.
fn expanded_subjects(node: &ExpandNode, out: &mut Vec<(SubjectRef, Option<String>)>) {
    match &node.expansion {
        Expansion::Leaf(s) => out.extend(s.iter().map(|x| (x.clone(), None))),
        Expansion::Caveated(s) => out.extend(
            s.iter()
                .map(|c| (c.subject.clone(), Some(c.caveat.name.clone()))),
        ),
        Expansion::Union(c) | Expansion::Intersection(c) => {
            c.iter().for_each(|x| expanded_subjects(x, out));
        }
        Expansion::Exclusion(a, b) => {
            expanded_subjects(a, out);
            expanded_subjects(b, out);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::expected_subject;

    #[test]
    fn expected_subjects_read_plain_userset_and_caveated_forms() {
        let plain = expected_subject("[user:tom] is <document:1#viewer>");
        assert_eq!(plain, Some(("user:tom".parse().unwrap(), None)));
        let userset = expected_subject("[group:eng#member] is <document:1#viewer>");
        assert_eq!(userset, Some(("group:eng#member".parse().unwrap(), None)));
        let caveated = expected_subject("[user:tom[on_net]] is <document:1#viewer>");
        assert_eq!(
            caveated,
            Some(("user:tom".parse().unwrap(), Some("on_net".to_owned())))
        );
        let expiring = expected_subject("[user:tom[expiration]] is <document:1#viewer>");
        assert_eq!(expiring, Some(("user:tom".parse().unwrap(), None)));
        assert_eq!(expected_subject("user:tom is <document:1#viewer>"), None);
        assert_eq!(expected_subject("[not a subject] is <x>"), None);
    }
}
