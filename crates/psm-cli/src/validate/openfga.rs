//! OpenFGA test YAML: staged models and tuples, check / list-objects / list-users assertions,
//! contextual tuples and error codes.
//!
//! Error codes follow the conformance README: 2000 validation, 2002 resolution too complex
//! (depth > 25), 2021 type not found, 2022 relation not found, 2027 invalid (contextual) tuple.
//! Which code a bad request gets depends on the API, as in OpenFGA: Check reports any unknown
//! type or relation in the request as 2000; ListObjects reports its own type/relation as
//! 2021/2022 and a bad user as 2000; ListUsers reports its object type, relation and filters
//! as 2021/2022.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use psm_rebac::{
    CaveatContext, CaveatRef, Engine, EngineConfig, Error, IdRules, ObjectRef, Relationship,
    Schema, SubjectRef, TupleStore,
};
use serde_norway::Value;

use super::report::{Outcome, Report};
use super::{list_field, str_field};

const DEPTH: u32 = 25;

pub async fn run(path: &Path, doc: &Value, report: &mut Report) {
    for test in list_field(doc, "tests") {
        let name = str_field(test, "name").unwrap_or("?");
        run_test(path, name, test, report).await;
    }
}

async fn run_test(path: &Path, name: &str, test: &Value, report: &mut Report) {
    let store = match super::store::fresh().await {
        Ok(fresh) => fresh.store,
        Err(why) => return report.case(path, name, Outcome::Fail(why)),
    };
    for (si, stage) in list_field(test, "stages").iter().enumerate() {
        let label = |kind: &str, i: usize| format!("{name} stage {} {kind} {}", si + 1, i + 1);
        let cases: Vec<(&str, usize, &Value)> = [
            "checkAssertions",
            "listObjectsAssertions",
            "listUsersAssertions",
        ]
        .iter()
        .flat_map(|k| {
            list_field(stage, k)
                .iter()
                .enumerate()
                .map(move |(i, a)| (*k, i, a))
        })
        .collect();
        let engine = match setup_stage(stage, store.clone()).await {
            Ok(e) => e,
            Err(why) => {
                for (k, i, _) in &cases {
                    report.case(path, &label(k, *i), Outcome::Fail(why.clone()));
                }
                continue;
            }
        };
        for (k, i, a) in &cases {
            let outcome = match *k {
                "checkAssertions" => check(&engine, a).await,
                "listObjectsAssertions" => list_objects(&engine, a).await,
                _ => list_users(&engine, a).await,
            };
            report.case(path, &label(k, *i), outcome);
        }
    }
}

async fn setup_stage(stage: &Value, store: Arc<dyn TupleStore>) -> Result<Engine, String> {
    let model = str_field(stage, "model").unwrap_or_default();
    let schema = Schema::parse_openfga(model).map_err(|e| format!("model: {e}"))?;
    let config = EngineConfig {
        max_depth: DEPTH,
        id_rules: IdRules::OpenFga,
    };
    let engine = Engine::with_config(schema, store, config);
    let mut rels = Vec::new();
    for t in list_field(stage, "tuples") {
        rels.push(tuple(t).map_err(|e| format!("tuple: {e}"))?);
    }
    engine
        .touch(rels)
        .await
        .map_err(|e| format!("writing tuples: {e}"))?;
    Ok(engine)
}

fn tuple(t: &Value) -> Result<Relationship, Error> {
    let object =
        ObjectRef::parse_with(str_field(t, "object").unwrap_or_default(), IdRules::OpenFga)?;
    let relation = str_field(t, "relation").unwrap_or_default();
    let user = SubjectRef::parse_with(str_field(t, "user").unwrap_or_default(), IdRules::OpenFga)?;
    let mut r = Relationship::new(object, relation, user);
    if let Some(c) = t.get("condition") {
        let name = str_field(c, "name").unwrap_or_default().to_owned();
        let context = match c.get("context") {
            Some(v) if !v.is_null() => {
                Some(
                    serde_json::to_string(v).map_err(|e| Error::RelationshipSyntax {
                        input: name.clone(),
                        reason: format!("condition context: {e}"),
                    })?,
                )
            }
            _ => None,
        };
        r.caveat = Some(CaveatRef { name, context });
    }
    Ok(r)
}

/// The assertion's `context` (condition parameters), or the validation code.
fn context(a: &Value) -> Result<CaveatContext, u32> {
    match a.get("context") {
        None | Some(Value::Null) => Ok(CaveatContext::new()),
        Some(v) => match serde_json::to_value(v) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            _ => Err(2000),
        },
    }
}

fn contextual(a: &Value) -> Result<Vec<Relationship>, Error> {
    list_field(a, "contextualTuples")
        .iter()
        .map(tuple)
        .collect()
}

/// Compares a result (or an error code) with the assertion's expectation.
fn judge<T: PartialEq + std::fmt::Debug>(
    a: &Value,
    got: Result<T, u32>,
    expect: impl FnOnce() -> T,
) -> Outcome {
    let want_code = a.get("errorCode").and_then(Value::as_u64);
    match (want_code, got) {
        (Some(c), Err(g)) if u64::from(g) == c => Outcome::Pass,
        (Some(c), Err(g)) => Outcome::Fail(format!("expected error {c}, got error {g}")),
        (Some(c), Ok(v)) => Outcome::Fail(format!("expected error {c}, got {v:?}")),
        (None, Err(g)) => Outcome::Fail(format!("unexpected error {g}")),
        (None, Ok(v)) => {
            let want = expect();
            if v == want {
                Outcome::Pass
            } else {
                Outcome::Fail(format!("expected {want:?}, got {v:?}"))
            }
        }
    }
}

fn engine_code(e: &Error) -> u32 {
    match e {
        Error::DepthExceeded { .. } => 2002,
        Error::UnknownType { .. } => 2021,
        Error::UnknownRelation { .. } => 2022,
        _ => 2000,
    }
}

/// A subject string, or the validation code for it.
fn user(s: &str, engine: &Engine) -> Result<SubjectRef, u32> {
    let u = SubjectRef::parse_with(s, IdRules::OpenFga).map_err(|_| 2000u32)?;
    let schema = engine.schema();
    let ok = match &u.relation {
        Some(r) => schema.relation(&u.object.object_type, r).is_some(),
        None => schema.definition(&u.object.object_type).is_some(),
    };
    if ok { Ok(u) } else { Err(2000) }
}

async fn check(engine: &Engine, a: &Value) -> Outcome {
    let t = a.get("tuple").unwrap_or(&Value::Null);
    let got = async {
        let object =
            ObjectRef::parse_with(str_field(t, "object").unwrap_or_default(), IdRules::OpenFga)
                .map_err(|_| 2000u32)?;
        let relation = str_field(t, "relation").unwrap_or_default();
        if engine
            .schema()
            .relation(&object.object_type, relation)
            .is_none()
        {
            return Err(2000);
        }
        let subject = user(str_field(t, "user").unwrap_or_default(), engine)?;
        let ctx = contextual(a).map_err(|_| 2027u32)?;
        let scope = engine
            .with_contextual(ctx)
            .map_err(|_| 2027u32)?
            .with_context(context(a)?)
            .require_context();
        scope
            .check(&object, relation, &subject)
            .await
            .map_err(|e| engine_code(&e))
    }
    .await;
    judge(a, got, || {
        a.get("expectation")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    })
}

fn expected_set(a: &Value) -> BTreeSet<String> {
    list_field(a, "expectation")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

async fn list_objects(engine: &Engine, a: &Value) -> Outcome {
    let req = a.get("request").unwrap_or(&Value::Null);
    let got = async {
        let ty = str_field(req, "type").unwrap_or_default();
        let relation = str_field(req, "relation").unwrap_or_default();
        let Some(def) = engine.schema().definition(ty) else {
            return Err(2021u32);
        };
        if def.relation(relation).is_none() {
            return Err(2022);
        }
        let subject = user(str_field(req, "user").unwrap_or_default(), engine)?;
        let ctx = contextual(a).map_err(|_| 2027u32)?;
        let scope = engine
            .with_contextual(ctx)
            .map_err(|_| 2027u32)?
            .with_context(context(a)?)
            .require_context();
        let ids = scope
            .lookup_resources(ty, relation, &subject)
            .await
            .map_err(|e| engine_code(&e))?;
        Ok(ids
            .into_iter()
            .map(|id| format!("{ty}:{id}"))
            .collect::<BTreeSet<_>>())
    }
    .await;
    judge(a, got, || expected_set(a))
}

async fn list_users(engine: &Engine, a: &Value) -> Outcome {
    let req = a.get("request").unwrap_or(&Value::Null);
    let got = async {
        let object = ObjectRef::parse_with(
            str_field(req, "object").unwrap_or_default(),
            IdRules::OpenFga,
        )
        .map_err(|_| 2000u32)?;
        let relation = str_field(req, "relation").unwrap_or_default();
        let Some(def) = engine.schema().definition(&object.object_type) else {
            return Err(2021u32);
        };
        if def.relation(relation).is_none() {
            return Err(2022);
        }
        let mut filters = Vec::new();
        for f in list_field(req, "filters") {
            let f = f.as_str().unwrap_or_default();
            let (ty, rel) = match f.split_once('#') {
                Some((t, r)) => (t, Some(r)),
                None => (f, None),
            };
            let Some(d) = engine.schema().definition(ty) else {
                return Err(2021);
            };
            if rel.is_some_and(|r| d.relation(r).is_none()) {
                return Err(2022);
            }
            filters.push((ty, rel));
        }
        let ctx = contextual(a).map_err(|_| 2027u32)?;
        let scope = engine
            .with_contextual(ctx)
            .map_err(|_| 2027u32)?
            .with_context(context(a)?)
            .require_context();
        let mut out = BTreeSet::new();
        for (ty, rel) in filters {
            let found = scope
                .lookup_subjects(&object, relation, ty, rel)
                .await
                .map_err(|e| engine_code(&e))?;
            out.extend(found.into_iter().map(|f| f.subject.to_string()));
        }
        Ok(out)
    }
    .await;
    judge(a, got, || expected_set(a))
}
