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

use serde_norway::Value;

use super::report::{Outcome, Report};
use super::stores::StoreFactory;
use super::{list_field, str_field};
use crate::engine::Scope;
use crate::{
    CaveatContext, CaveatRef, Engine, EngineConfig, Error, IdRules, ObjectRef, Relationship,
    Schema, StoredContext, SubjectRef, TupleStore,
};

/// OpenFGA's resolution depth limit (error 2002 beyond it).
const DEPTH: u32 = 25;

pub async fn run(path: &Path, doc: &Value, stores: &dyn StoreFactory, report: &mut Report) {
    for test in list_field(doc, "tests") {
        let name = str_field(test, "name").unwrap_or("?");
        run_test(path, name, test, stores, report).await;
    }
}

async fn run_test(
    path: &Path,
    name: &str,
    test: &Value,
    stores: &dyn StoreFactory,
    report: &mut Report,
) {
    let store = match stores.fresh().await {
        Ok(fresh) => fresh.store(),
        Err(e) => return report.case(path, name, Outcome::Fail(format!("store: {e}"))),
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
                "checkAssertions" => check_assertion(&engine, a).await,
                "listObjectsAssertions" => list_objects_assertion(&engine, a).await,
                _ => list_users_assertion(&engine, a).await,
            };
            report.case(path, &label(k, *i), outcome);
        }
    }
}

async fn setup_stage(stage: &Value, store: Arc<dyn TupleStore>) -> Result<Engine, String> {
    let model = str_field(stage, "model").unwrap_or_default();
    let schema = Schema::parse_openfga(model).map_err(|e| format!("model: {e}"))?;
    let engine = engine(schema, store);
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

/// An engine that follows OpenFGA's rules: its id rules and its depth limit.
pub(super) fn engine(schema: Schema, store: Arc<dyn TupleStore>) -> Engine {
    let config = EngineConfig {
        max_depth: DEPTH,
        id_rules: IdRules::OpenFga,
        ..EngineConfig::default()
    };
    Engine::with_config(schema, store, config)
}

/// A tuple of the staged format: `{object, relation, user, condition: {name, context}}`.
fn tuple(t: &Value) -> Result<Relationship, Error> {
    let condition = match t.get("condition") {
        Some(c) => {
            let context = match c.get("context") {
                Some(v) if !v.is_null() => {
                    Some(
                        serde_json::to_value(v).map_err(|e| Error::RelationshipSyntax {
                            input: str_field(c, "name").unwrap_or_default().to_owned(),
                            reason: format!("condition context: {e}"),
                        })?,
                    )
                }
                _ => None,
            };
            Some((str_field(c, "name").unwrap_or_default(), context))
        }
        None => None,
    };
    relationship(
        str_field(t, "object").unwrap_or_default(),
        str_field(t, "relation").unwrap_or_default(),
        str_field(t, "user").unwrap_or_default(),
        condition,
    )
}

/// An OpenFGA tuple key (`object`, `relation`, `user`, optional condition name and context)
/// as a relationship, under OpenFGA's id rules.
pub(super) fn relationship(
    object: &str,
    relation: &str,
    user: &str,
    condition: Option<(&str, Option<serde_json::Value>)>,
) -> Result<Relationship, Error> {
    let object = ObjectRef::parse_with(object, IdRules::OpenFga)?;
    let user = SubjectRef::parse_with(user, IdRules::OpenFga)?;
    let mut r = Relationship::new(object, relation, user);
    if let Some((name, context)) = condition {
        let context = match context {
            Some(v) => Some(
                serde_json::to_string(&v)
                    .map_err(|e| Error::RelationshipSyntax {
                        input: name.to_owned(),
                        reason: format!("condition context: {e}"),
                    })
                    .and_then(|text| StoredContext::parse(&text))?,
            ),
            None => None,
        };
        r.caveat = Some(CaveatRef {
            name: name.to_owned(),
            context,
        });
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

fn contextual(a: &Value) -> Result<Vec<Relationship>, u32> {
    list_field(a, "contextualTuples")
        .iter()
        .map(tuple)
        .collect::<Result<_, _>>()
        .map_err(|_| 2027)
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

/// OpenFGA's error code for an engine error.
pub(super) fn engine_code(e: &Error) -> u32 {
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

/// What a query carries besides its key: contextual tuples and condition parameters (or the
/// error codes they earn, reported only after the key's own checks, as OpenFGA orders them).
#[derive(Debug)]
pub(super) struct Extra {
    pub contextual: Result<Vec<Relationship>, u32>,
    pub context: Result<CaveatContext, u32>,
}

impl Extra {
    /// Only condition parameters.
    pub(super) fn context(context: CaveatContext) -> Self {
        Self {
            contextual: Ok(Vec::new()),
            context: Ok(context),
        }
    }

    /// The staged format's `contextualTuples` and `context` of an assertion.
    fn of(a: &Value) -> Self {
        Self {
            contextual: contextual(a),
            context: context(a),
        }
    }

    /// A scope that evaluates with these, and errors when a condition lacks a parameter.
    fn scope(self, engine: &Engine) -> Result<Scope<'_>, u32> {
        Ok(engine
            .with_contextual(self.contextual?)
            .map_err(|_| 2027u32)?
            .with_context(self.context?)
            .require_context())
    }
}

/// OpenFGA Check: `user` has `relation` on `object`, or the error code OpenFGA gives.
pub(super) async fn check(
    engine: &Engine,
    object: &str,
    relation: &str,
    user_text: &str,
    extra: Extra,
) -> Result<bool, u32> {
    let object = ObjectRef::parse_with(object, IdRules::OpenFga).map_err(|_| 2000u32)?;
    if engine
        .schema()
        .relation(&object.object_type, relation)
        .is_none()
    {
        return Err(2000);
    }
    let subject = user(user_text, engine)?;
    extra
        .scope(engine)?
        .check(&object, relation, &subject)
        .await
        .map_err(|e| engine_code(&e))
}

/// OpenFGA ListObjects: every `type:id` on which `user` has `relation`.
pub(super) async fn list_objects(
    engine: &Engine,
    ty: &str,
    relation: &str,
    user_text: &str,
    extra: Extra,
) -> Result<BTreeSet<String>, u32> {
    let Some(def) = engine.schema().definition(ty) else {
        return Err(2021);
    };
    if def.relation(relation).is_none() {
        return Err(2022);
    }
    let subject = user(user_text, engine)?;
    let ids = extra
        .scope(engine)?
        .lookup_resources(ty, relation, &subject)
        .await
        .map_err(|e| engine_code(&e))?;
    Ok(ids.into_iter().map(|id| format!("{ty}:{id}")).collect())
}

/// OpenFGA ListUsers: every user of the filters' types (`type` or `type#relation`) that has
/// `relation` on `object`.
pub(super) async fn list_users(
    engine: &Engine,
    object: &str,
    relation: &str,
    filters: &[(&str, Option<&str>)],
    extra: Extra,
) -> Result<BTreeSet<String>, u32> {
    let object = ObjectRef::parse_with(object, IdRules::OpenFga).map_err(|_| 2000u32)?;
    let Some(def) = engine.schema().definition(&object.object_type) else {
        return Err(2021);
    };
    if def.relation(relation).is_none() {
        return Err(2022);
    }
    for (ty, rel) in filters {
        let Some(d) = engine.schema().definition(ty) else {
            return Err(2021);
        };
        if rel.is_some_and(|r| d.relation(r).is_none()) {
            return Err(2022);
        }
    }
    let scope = extra.scope(engine)?;
    let mut out = BTreeSet::new();
    for (ty, rel) in filters {
        let found = scope
            .lookup_subjects(&object, relation, ty, *rel)
            .await
            .map_err(|e| engine_code(&e))?;
        out.extend(found.into_iter().map(|f| f.subject.to_string()));
    }
    Ok(out)
}

async fn check_assertion(engine: &Engine, a: &Value) -> Outcome {
    let t = a.get("tuple").unwrap_or(&Value::Null);
    let got = check(
        engine,
        str_field(t, "object").unwrap_or_default(),
        str_field(t, "relation").unwrap_or_default(),
        str_field(t, "user").unwrap_or_default(),
        Extra::of(a),
    )
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

async fn list_objects_assertion(engine: &Engine, a: &Value) -> Outcome {
    let req = a.get("request").unwrap_or(&Value::Null);
    let got = list_objects(
        engine,
        str_field(req, "type").unwrap_or_default(),
        str_field(req, "relation").unwrap_or_default(),
        str_field(req, "user").unwrap_or_default(),
        Extra::of(a),
    )
    .await;
    judge(a, got, || expected_set(a))
}

async fn list_users_assertion(engine: &Engine, a: &Value) -> Outcome {
    let req = a.get("request").unwrap_or(&Value::Null);
    let filters: Vec<(&str, Option<&str>)> = list_field(req, "filters")
        .iter()
        .map(|f| {
            let f = f.as_str().unwrap_or_default();
            match f.split_once('#') {
                Some((t, r)) => (t, Some(r)),
                None => (f, None),
            }
        })
        .collect();
    let got = list_users(
        engine,
        str_field(req, "object").unwrap_or_default(),
        str_field(req, "relation").unwrap_or_default(),
        &filters,
        Extra::of(a),
    )
    .await;
    judge(a, got, || expected_set(a))
}
