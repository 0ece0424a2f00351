//! SpiceDB-style consistency: for every resource × permission × subject of a file, `check`,
//! `lookup_resources` and `lookup_subjects` must give the same answer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::report::{Outcome, Report};
use crate::{Engine, FoundSubject, ObjectRef, Relationship, SubjectRef};

/// One case per `type#permission`: every object of that type against every subject in the file.
pub async fn run(path: &Path, engine: &Engine, rels: &[Relationship], report: &mut Report) {
    let schema = engine.schema();
    let mut objects: BTreeSet<ObjectRef> = BTreeSet::new();
    let mut subjects: BTreeSet<SubjectRef> = BTreeSet::new();
    for r in rels {
        objects.insert(r.resource.clone());
        if !r.subject.is_wildcard() {
            objects.insert(r.subject.object.clone());
        }
        if r.subject.relation.is_some() {
            subjects.insert(r.subject.clone());
        }
    }
    for o in &objects {
        if schema.definition(&o.object_type).is_some() {
            subjects.insert(SubjectRef {
                object: o.clone(),
                relation: None,
            });
        }
    }
    for def in schema.definitions() {
        let resources: Vec<&ObjectRef> = objects
            .iter()
            .filter(|o| *o.object_type == *def.name)
            .collect();
        if resources.is_empty() {
            continue;
        }
        for rel in &def.relations {
            let name = format!(
                "agreement {}#{} ({} objects × {} subjects)",
                def.name,
                rel.name,
                resources.len(),
                subjects.len()
            );
            let outcome = agree(engine, &def.name, &rel.name, &resources, &subjects).await;
            report.case(path, &name, outcome);
        }
    }
}

async fn agree(
    engine: &Engine,
    ty: &str,
    perm: &str,
    resources: &[&ObjectRef],
    subjects: &BTreeSet<SubjectRef>,
) -> Outcome {
    let mut by_resource: BTreeMap<(String, Option<String>, &ObjectRef), Vec<FoundSubject>> =
        BTreeMap::new();
    for s in subjects {
        let found = match engine.lookup_resources(ty, perm, s).await {
            Ok(v) => v,
            Err(e) => return Outcome::Fail(format!("lookup_resources {ty}#{perm}@{s}: {e}")),
        };
        for r in resources {
            let checked = match engine.check(r, perm, s).await {
                Ok(b) => b,
                Err(e) => return Outcome::Fail(format!("check {r}#{perm}@{s}: {e}")),
            };
            let in_lr = found.binary_search(&r.object_id.to_string()).is_ok();
            let key = (
                s.object.object_type.to_string(),
                s.relation.as_deref().map(str::to_owned),
                *r,
            );
            if !by_resource.contains_key(&key) {
                let ls = engine
                    .lookup_subjects(r, perm, &s.object.object_type, s.relation.as_deref())
                    .await;
                match ls {
                    Ok(v) => {
                        by_resource.insert(key.clone(), v);
                    }
                    Err(e) => return Outcome::Fail(format!("lookup_subjects {r}#{perm}: {e}")),
                }
            }
            let in_ls = by_resource
                .get(&key)
                .is_some_and(|v| v.iter().any(|f| f.covers(s)));
            if checked != in_lr || checked != in_ls {
                return Outcome::Fail(format!(
                    "{r}#{perm}@{s}: check {checked}, lookup_resources {in_lr}, lookup_subjects {in_ls}"
                ));
            }
        }
    }
    Outcome::Pass
}
