//! psm's side: a round run through psm-rebac's `Engine` over the memory store or psm-sql's
//! SQLite tuple store, in OpenFGA mode (strict context, OpenFGA ids, depth 25) or SpiceDB mode.

use std::sync::Arc;

use psm_rebac::{
    CaveatRef, Engine, EngineConfig, IdRules, MemoryStore, ObjectRef, Permissionship, Relationship,
    Schema, Scope, StoredContext, SubjectRef, TupleStore,
};
use psm_sql::rebac::SqlTupleStore;

use crate::Flavor;
use crate::answer::Answer;
use crate::round::{Query, Round, Subject, Tuple};

/// Where psm keeps the round's relationships.
#[derive(Debug, Clone)]
pub enum Store {
    /// A fresh `MemoryStore` per round.
    Memory,
    /// One SQLite database, emptied before each round.
    Sqlite(SqlTupleStore),
}

impl Store {
    /// The store's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::Sqlite(_) => "sqlite",
        }
    }

    /// An in-memory SQLite tuple store.
    pub async fn sqlite() -> Result<Self, crate::Error> {
        let store = SqlTupleStore::connect("sqlite::memory:")
            .await
            .map_err(|e| crate::Error::Store(e.to_string()))?;
        Ok(Store::Sqlite(store))
    }

    async fn fresh(&self) -> Result<Arc<dyn TupleStore>, String> {
        match self {
            Store::Memory => Ok(Arc::new(MemoryStore::new())),
            Store::Sqlite(s) => {
                s.delete_all().await.map_err(|e| e.to_string())?;
                Ok(Arc::new(s.clone()))
            }
        }
    }
}

/// psm's answers to every query of the round, test by test (every query fails alike when the
/// model or the stored relationships are rejected).
pub async fn run(round: &Round, flavor: Flavor, store: &Store) -> Vec<Vec<Answer>> {
    let engine = match setup(round, flavor, store).await {
        Ok(engine) => engine,
        Err(e) => {
            let answer = Answer::Error(e);
            return round
                .tests
                .iter()
                .map(|t| vec![answer.clone(); t.queries.len()])
                .collect();
        }
    };
    let mut out = Vec::new();
    for test in &round.tests {
        let contextual: Result<Vec<_>, _> = test
            .contextual
            .iter()
            .map(|t| relationship(t, flavor))
            .collect();
        let scope = contextual.and_then(|c| engine.with_contextual(c));
        let mut answers = Vec::new();
        for q in &test.queries {
            answers.push(match &scope {
                Ok(scope) => answer(scope, q, flavor).await,
                Err(e) => Answer::Error(format!("contextual tuples: {e}")),
            });
        }
        out.push(answers);
    }
    out
}

async fn setup(round: &Round, flavor: Flavor, store: &Store) -> Result<Engine, String> {
    let (schema, config) = match flavor {
        Flavor::OpenFga => (
            Schema::parse_openfga(&round.model.to_openfga()),
            EngineConfig {
                max_depth: 25,
                id_rules: IdRules::OpenFga,
                ..EngineConfig::default()
            },
        ),
        Flavor::SpiceDb => (
            Schema::parse_spicedb_strict(&round.model.to_spicedb()),
            EngineConfig::default(),
        ),
    };
    let schema = schema.map_err(|e| format!("model: {e}"))?;
    let store = store.fresh().await.map_err(|e| format!("store: {e}"))?;
    let engine = Engine::with_config(schema, store, config);
    let rels = round
        .tuples
        .iter()
        .map(|t| relationship(t, flavor))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tuple: {e}"))?;
    engine
        .touch(rels)
        .await
        .map_err(|e| format!("writing tuples: {e}"))?;
    Ok(engine)
}

fn rules(flavor: Flavor) -> IdRules {
    match flavor {
        Flavor::OpenFga => IdRules::OpenFga,
        Flavor::SpiceDb => IdRules::SpiceDb,
    }
}

fn subject(s: &Subject, flavor: Flavor) -> Result<SubjectRef, psm_rebac::Error> {
    let text = match &s.relation {
        Some(r) => format!("{}:{}#{r}", s.ty, s.id),
        None => format!("{}:{}", s.ty, s.id),
    };
    SubjectRef::parse_with(&text, rules(flavor))
}

fn relationship(t: &Tuple, flavor: Flavor) -> Result<Relationship, psm_rebac::Error> {
    let resource = ObjectRef::parse_with(
        &format!("{}:{}", t.resource.ty, t.resource.id),
        rules(flavor),
    )?;
    let mut r = Relationship::new(resource, t.relation.as_str(), subject(&t.subject, flavor)?);
    r.caveat = t.caveat.as_ref().map(|c| CaveatRef {
        name: c.name.clone(),
        context: (!c.context.is_empty()).then(|| StoredContext::from_map(c.context.clone())),
    });
    Ok(r)
}

fn word(p: &Permissionship) -> &'static str {
    match p {
        Permissionship::NoPermission => "no",
        Permissionship::HasPermission => "has",
        Permissionship::Conditional { .. } => "cond",
    }
}

async fn answer(scope: &Scope<'_>, q: &Query, flavor: Flavor) -> Answer {
    let mut scope = scope.clone().with_context(q.context().clone());
    if flavor == Flavor::OpenFga {
        scope = scope.require_context();
    }
    match ask(&scope, q, flavor).await {
        Ok(a) => a,
        Err(e) => Answer::Error(e.to_string()),
    }
}

async fn ask(scope: &Scope<'_>, q: &Query, flavor: Flavor) -> Result<Answer, psm_rebac::Error> {
    let openfga = flavor == Flavor::OpenFga;
    Ok(match q {
        Query::Check {
            resource,
            relation,
            subject: s,
            ..
        } => {
            let resource =
                ObjectRef::parse_with(&format!("{}:{}", resource.ty, resource.id), rules(flavor))?;
            let s = subject(s, flavor)?;
            if openfga {
                let ok = scope.check(&resource, relation, &s).await?;
                Answer::word(if ok { "true" } else { "false" })
            } else {
                let p = scope.check_permissionship(&resource, relation, &s).await?;
                Answer::word(word(&p))
            }
        }
        Query::Objects {
            ty,
            relation,
            subject: s,
            ..
        } => {
            let s = subject(s, flavor)?;
            if openfga {
                let ids = scope.lookup_resources(ty, relation, &s).await?;
                Answer::value(ids.into_iter().map(|id| format!("{ty}:{id}")).collect())
            } else {
                let found = scope
                    .lookup_resources_permissionship(ty, relation, &s)
                    .await?;
                Answer::value(
                    found
                        .iter()
                        .map(|f| format!("{}:{}", f.id, word(&f.permissionship)))
                        .collect(),
                )
            }
        }
        Query::Subjects {
            resource,
            relation,
            subject_type,
            subject_relation,
            ..
        } => {
            let resource =
                ObjectRef::parse_with(&format!("{}:{}", resource.ty, resource.id), rules(flavor))?;
            let found = scope
                .lookup_subjects_permissionship(
                    &resource,
                    relation,
                    subject_type,
                    subject_relation.as_deref(),
                )
                .await?;
            Answer::value(
                found
                    .iter()
                    .filter(|f| !openfga || f.permissionship == Permissionship::HasPermission)
                    .map(|f| {
                        if openfga {
                            f.found.subject.to_string()
                        } else {
                            let excluded: Vec<String> = f
                                .found
                                .excluded
                                .iter()
                                .map(|e| e.object.object_id.to_string())
                                .collect();
                            subject_word(
                                &f.found.subject.object.object_id,
                                word(&f.permissionship),
                                excluded,
                            )
                        }
                    })
                    .collect(),
            )
        }
    })
}

/// A SpiceDB subject lookup result as a word: `id:permissionship[excluded ids]`.
pub fn subject_word(id: &str, permissionship: &str, mut excluded: Vec<String>) -> String {
    if excluded.is_empty() {
        return format!("{id}:{permissionship}");
    }
    excluded.sort();
    format!("{id}:{permissionship}-[{}]", excluded.join(","))
}
