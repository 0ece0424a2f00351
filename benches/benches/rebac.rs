//! psm-rebac on a generated 1M-relationship graph (users in groups nested 4 deep, documents in
//! folder trees 5 deep): `check` and `lookup_resources`, side by side with cedar-policy's
//! `is_authorized` on the equivalent entity hierarchy. The `rebac_generic` group runs the same
//! requests through the engine's store-agnostic async path (the memory store behind a wrapper
//! that hides it), which is what every non-memory store gets and what the fast path replaced.
//! Each row cycles through 1,024 (document, user) probes drawn over every tree of the graph, and
//! every answer is counted and asserted against the generator's model after the loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression,
};
use criterion::{Criterion, criterion_group, criterion_main};
use psm_benches::Tally;
use psm_benches::rebac_graph::{
    Graph, L0, L1, L2, L3, Rng, SCHEMA, USERS, generate, top_group, user_for_tree,
};
use psm_rebac::{
    Engine, MemoryStore, ObjectRef, Precondition, Relationship, RelationshipFilter,
    RelationshipUpdate, Revision, Schema, SubjectRef, TupleStore,
};

/// The memory store without its fast path: the engine sees an opaque `TupleStore`.
#[derive(Debug)]
struct GenericPath(Arc<MemoryStore>);

#[async_trait::async_trait]
impl TupleStore for GenericPath {
    async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> psm_rebac::Result<Revision> {
        self.0.write(updates, preconditions).await
    }
    async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> psm_rebac::Result<Vec<Relationship>> {
        self.0.read(filter, limit).await
    }
    async fn contains(&self, relationship: &Relationship) -> psm_rebac::Result<bool> {
        self.0.contains(relationship).await
    }
}

fn cedar_uid(ty: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(EntityTypeName::from_str(ty).unwrap(), EntityId::new(id))
}

fn cedar_setup(graph: &Graph) -> (PolicySet, Entities) {
    let mut parents: HashMap<EntityUid, HashSet<EntityUid>> = HashMap::new();
    let mut viewers: HashMap<String, Vec<usize>> = HashMap::new();
    for u in 0..USERS {
        parents
            .entry(cedar_uid("User", &format!("u{u}")))
            .or_default()
            .insert(cedar_uid("Group", &format!("l0_{}", u % L0)));
    }
    for (level, (count, ps)) in [(L0, L1), (L1, L2), (L2, L3)].into_iter().enumerate() {
        for i in 0..count {
            parents
                .entry(cedar_uid("Group", &format!("l{level}_{i}")))
                .or_default()
                .insert(cedar_uid(
                    "Group",
                    &format!("l{}_{}", level + 1, i * ps / count),
                ));
        }
    }
    for i in 0..L3 {
        parents
            .entry(cedar_uid("Group", &format!("l3_{i}")))
            .or_default();
    }
    let mut policies = String::from(
        "permit(principal, action == Action::\"view\", resource) when { resource has viewers && resource.viewers.contains(principal) };\n",
    );
    for (t, levels) in graph.trees.iter().enumerate() {
        policies.push_str(&format!(
            "permit(principal in Group::\"l3_{}\", action == Action::\"view\", resource in Folder::\"t{t}\");\n",
            t % L3
        ));
        parents
            .entry(cedar_uid("Folder", &format!("t{t}")))
            .or_default();
        for level in levels.iter().skip(1) {
            for f in level {
                let p = f.rsplit_once('_').map(|x| x.0).unwrap();
                parents
                    .entry(cedar_uid("Folder", f))
                    .or_default()
                    .insert(cedar_uid("Folder", p));
            }
        }
    }
    for (id, _, f, vs) in &graph.docs {
        parents
            .entry(cedar_uid("Document", id))
            .or_default()
            .insert(cedar_uid("Folder", f));
        viewers.insert(id.clone(), vs.clone());
    }
    let entities = parents.into_iter().map(|(uid, ps)| {
        let is_doc = uid.type_name().to_string() == "Document";
        let mut attrs = HashMap::new();
        if is_doc {
            let id = uid.id().unescaped().to_owned();
            let vs = viewers.get(&id).cloned().unwrap_or_default();
            attrs.insert(
                "viewers".to_owned(),
                RestrictedExpression::new_set(vs.into_iter().map(|u| {
                    RestrictedExpression::new_entity_uid(cedar_uid("User", &format!("u{u}")))
                })),
            );
        }
        Entity::new(uid, attrs, ps).unwrap()
    });
    let entities = Entities::from_entities(entities, None).unwrap();
    (PolicySet::from_str(&policies).unwrap(), entities)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let t0 = Instant::now();
    let graph = generate();
    let generated = t0.elapsed();
    let store = Arc::new(MemoryStore::new());
    let t1 = Instant::now();
    store.extend(graph.rels.iter().cloned());
    let loaded = t1.elapsed();
    eprintln!(
        "rebac: generated {} relationships in {generated:?}, loaded into MemoryStore in {loaded:?}",
        store.len()
    );
    let generic = Engine::new(
        Schema::parse_spicedb(SCHEMA).unwrap(),
        Arc::new(GenericPath(store.clone())),
    );
    let engine = Engine::new(Schema::parse_spicedb(SCHEMA).unwrap(), store);

    // Probes over the whole graph: documents at the deepest folder level (4) of every tree,
    // each asked for a user whose 4 nested groups reach its tree's root (allowed) and for one
    // whose groups reach another tree (denied unless the generator made them a direct viewer).
    // Expected answers come from the generator's model, not from the engine.
    let mut rng = Rng(7);
    let deep: Vec<usize> = (0..graph.docs.len())
        .filter(|&d| graph.docs[d].2.matches('_').count() == 4)
        .collect();
    let probes: Vec<Probe> = (0..1024)
        .map(|_| {
            let d = deep[rng.below(deep.len())];
            let (id, t, _, viewers) = &graph.docs[d];
            let (alice, stranger) = (user_for_tree(*t), user_for_tree(t + 1));
            Probe {
                doc: format!("document:{id}").parse().unwrap(),
                doc_id: id.clone(),
                alice: format!("user:u{alice}").parse().unwrap(),
                stranger: format!("user:u{stranger}").parse().unwrap(),
                stranger_allowed: viewers.contains(&stranger) || top_group(stranger) == t % L3,
            }
        })
        .collect();
    assert!(
        probes.iter().any(|p| !p.stranger_allowed),
        "no denied probe"
    );
    for p in probes.iter().take(64) {
        for e in [&engine, &generic] {
            assert!(rt.block_on(e.check(&p.doc, "view", &p.alice)).unwrap());
            let denied = rt.block_on(e.check(&p.doc, "view", &p.stranger)).unwrap();
            assert_eq!(denied, p.stranger_allowed);
        }
    }
    // lookups for one user of each of the L3 top groups, their expected counts from the model
    let lookups: Vec<(SubjectRef, usize)> = (0..L3)
        .map(|t| {
            let u = user_for_tree(t);
            let count = graph
                .docs
                .iter()
                .filter(|(_, tree, _, viewers)| tree % L3 == t || viewers.contains(&u))
                .count();
            (format!("user:u{u}").parse().unwrap(), count)
        })
        .collect();
    let found = rt
        .block_on(engine.lookup_resources("document", "view", &lookups[7].0))
        .unwrap();
    eprintln!("rebac: lookup_resources returns {} documents", found.len());
    let found_generic = rt
        .block_on(generic.lookup_resources("document", "view", &lookups[7].0))
        .unwrap();
    assert_eq!(found, found_generic, "fast and generic paths disagree");

    for (group, e, lookup_samples) in [("rebac", &engine, 20), ("rebac_generic", &generic, 10)] {
        let mut g = c.benchmark_group(group);
        let (mut i, mut tally) = (0usize, Tally::new());
        g.bench_function("check_allowed_4_nested_groups_5_deep_folders", |b| {
            b.iter(|| {
                i = (i + 1) % probes.len();
                let p = &probes[i];
                let got = rt.block_on(e.check(black_box(&p.doc), "view", black_box(&p.alice)));
                tally.record(got.unwrap(), true)
            })
        });
        tally.assert_right(&format!("{group} check allowed"), false);
        let (mut i, mut tally) = (0usize, Tally::new());
        g.bench_function("check_denied_same_path", |b| {
            b.iter(|| {
                i = (i + 1) % probes.len();
                let p = &probes[i];
                let got = rt.block_on(e.check(black_box(&p.doc), "view", black_box(&p.stranger)));
                tally.record(got.unwrap(), p.stranger_allowed)
            })
        });
        tally.assert_right(&format!("{group} check denied"), false);
        g.sample_size(lookup_samples);
        let (mut i, mut tally) = (0usize, Tally::new());
        g.bench_function("lookup_resources_10k", |b| {
            b.iter(|| {
                i = (i + 1) % lookups.len();
                let (who, count) = &lookups[i];
                let found = rt.block_on(e.lookup_resources("document", "view", black_box(who)));
                tally.record(found.unwrap().len() == *count, true)
            })
        });
        tally.assert_right(&format!("{group} lookup_resources"), false);
        g.finish();
    }

    let t2 = Instant::now();
    let (policies, entities) = cedar_setup(&graph);
    eprintln!("cedar: built policies and entities in {:?}", t2.elapsed());
    let authorizer = Authorizer::new();
    let action = cedar_uid("Action", "view");
    let request = |who: &SubjectRef, doc_id: &str| {
        Request::new(
            cedar_uid("User", &who.object.object_id),
            action.clone(),
            cedar_uid("Document", doc_id),
            Context::empty(),
            None,
        )
        .unwrap()
    };
    let requests: Vec<(Request, Request, bool)> = probes
        .iter()
        .map(|p| {
            (
                request(&p.alice, &p.doc_id),
                request(&p.stranger, &p.doc_id),
                p.stranger_allowed,
            )
        })
        .collect();
    let mut g = c.benchmark_group("cedar");
    let (mut i, mut tally) = (0usize, Tally::new());
    g.bench_function("is_authorized_allowed_same_hierarchy", |b| {
        b.iter(|| {
            i = (i + 1) % requests.len();
            let decision = authorizer
                .is_authorized(black_box(&requests[i].0), &policies, &entities)
                .decision();
            tally.record(decision == Decision::Allow, true)
        })
    });
    tally.assert_right("cedar allowed", false);
    let (mut i, mut tally) = (0usize, Tally::new());
    g.bench_function("is_authorized_denied_same_hierarchy", |b| {
        b.iter(|| {
            i = (i + 1) % requests.len();
            let (_, deny, allowed) = &requests[i];
            let decision = authorizer
                .is_authorized(black_box(deny), &policies, &entities)
                .decision();
            tally.record(decision == Decision::Allow, *allowed)
        })
    });
    tally.assert_right("cedar denied", false);
    g.finish();
}

/// One check probe: a deep document, an allowed user and a (normally) denied one.
struct Probe {
    doc: ObjectRef,
    doc_id: String,
    alice: SubjectRef,
    stranger: SubjectRef,
    /// True when the "stranger" is allowed after all (a direct viewer, from the generator).
    stranger_allowed: bool,
}

criterion_group!(benches, bench);
criterion_main!(benches);
