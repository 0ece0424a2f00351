//! The store capabilities through their public seam, as a third-party store would offer them:
//! a toy store with its own interned index gets the engine's synchronous path (its generic
//! `read` is never called) and answers what the memory store answers; a toy planner answers
//! the requests it plans, and the engine evaluates the ones it declines through `read`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;
use psm_rebac::store::{IndexSnapshot, InternedIndex, NO_RELATION, Plan, Planned, Planner, Sym};
use psm_rebac::{
    CaveatContext, CheckItem, Engine, EngineConfig, MemoryStore, ObjectRef, Permissionship,
    Precondition, Relationship, RelationshipFilter, RelationshipUpdate, Revision, Schema,
    SubjectRef, TupleStore, UpdateOp,
};

const SCHEMA: &str = "
definition user {}
definition group { relation member: user | group#member }
definition folder {
    relation parent: folder
    relation viewer: user | user:* | group#member
    permission view = viewer + parent->view
}
definition document {
    relation parent: folder
    relation reader: user | group#member
    relation banned: user
    permission view = (reader + parent->view) - banned
}";

const RELS: &[&str] = &[
    "group:eng#member@user:alice",
    "group:all#member@group:eng#member",
    "group:all#member@user:bob",
    "folder:root#viewer@group:all#member",
    "folder:sub#parent@folder:root",
    "folder:pub#viewer@user:*",
    "document:d1#parent@folder:sub",
    "document:d2#reader@user:carol",
    "document:d3#parent@folder:sub",
    "document:d3#banned@user:alice",
    "document:d4#parent@folder:pub",
];

/// A third party's interned tables, rebuilt on every write (a toy: small and obviously right).
#[derive(Debug, Default)]
struct Tables {
    rels: BTreeSet<Relationship>,
    symbols: Vec<String>,
    ids: HashMap<String, Sym>,
    tuples: BTreeSet<[Sym; 6]>,
    forward: HashMap<[Sym; 5], Vec<Sym>>,
    kinds: HashMap<[Sym; 3], Vec<[Sym; 2]>>,
    reverse: HashMap<[Sym; 3], Vec<[Sym; 3]>>,
    subject_rels: HashMap<[Sym; 2], Vec<Sym>>,
}

impl Tables {
    fn intern(&mut self, s: &str) -> Sym {
        if let Some(&x) = self.ids.get(s) {
            return x;
        }
        let x = Sym::try_from(self.symbols.len()).unwrap();
        self.symbols.push(s.to_owned());
        self.ids.insert(s.to_owned(), x);
        x
    }

    fn rebuild(&mut self) {
        let rels: Vec<Relationship> = self.rels.iter().cloned().collect();
        (self.tuples, self.forward, self.kinds) = Default::default();
        (self.reverse, self.subject_rels) = Default::default();
        for r in rels {
            let s = &r.subject;
            let t = [
                self.intern(&r.resource.object_type),
                self.intern(&r.resource.object_id),
                self.intern(&r.relation),
                self.intern(&s.object.object_type),
                self.intern(&s.object.object_id),
                s.relation
                    .as_deref()
                    .map_or(NO_RELATION, |x| self.intern(x)),
            ];
            self.tuples.insert(t);
            self.forward
                .entry([t[0], t[1], t[2], t[3], t[5]])
                .or_default()
                .push(t[4]);
            let kinds = self.kinds.entry([t[0], t[1], t[2]]).or_default();
            if !kinds.contains(&[t[3], t[5]]) {
                kinds.push([t[3], t[5]]);
            }
            self.reverse
                .entry([t[3], t[4], t[5]])
                .or_default()
                .push([t[0], t[1], t[2]]);
            let srels = self.subject_rels.entry([t[3], t[4]]).or_default();
            if !srels.contains(&t[5]) {
                srels.push(t[5]);
            }
        }
    }
}

impl IndexSnapshot for Tables {
    fn symbol_space(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
    fn find(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }
    fn name(&self, s: Sym) -> Option<&str> {
        self.symbols.get(s as usize).map(String::as_str)
    }
    fn has(&self, tuple: &[Sym; 6]) -> bool {
        self.tuples.contains(tuple)
    }
    fn subject_ids(&self, key: &[Sym; 5]) -> &[Sym] {
        self.forward.get(key).map_or(&[], Vec::as_slice)
    }
    fn subject_kinds(&self, key: &[Sym; 3]) -> &[[Sym; 2]] {
        self.kinds.get(key).map_or(&[], Vec::as_slice)
    }
    fn resources_of(&self, subject: &[Sym; 3]) -> &[[Sym; 3]] {
        self.reverse.get(subject).map_or(&[], Vec::as_slice)
    }
    fn subject_relations(&self, object: &[Sym; 2]) -> &[Sym] {
        self.subject_rels.get(object).map_or(&[], Vec::as_slice)
    }
    fn has_conditions(&self) -> bool {
        false
    }
}

/// A third-party store: relationships in a set, its own interned index, and (optionally) a
/// planner. `reads` counts the generic reads the engine made.
#[derive(Debug, Default)]
struct Toy {
    tables: Arc<RwLock<Tables>>,
    reads: AtomicUsize,
    offer_index: bool,
    plans: Option<ToyPlan>,
}

impl InternedIndex for Toy {
    fn read(&self, f: &mut dyn FnMut(&dyn IndexSnapshot)) {
        f(&*self.tables.read());
    }
}

#[async_trait::async_trait]
impl TupleStore for Toy {
    async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> psm_rebac::Result<Revision> {
        assert!(preconditions.is_empty(), "the toy takes no preconditions");
        let mut g = self.tables.write();
        for u in updates {
            match u.op {
                UpdateOp::Create | UpdateOp::Touch => g.rels.insert(u.relationship.clone()),
                UpdateOp::Delete => g.rels.remove(&u.relationship),
            };
        }
        g.rebuild();
        Ok(1)
    }

    async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> psm_rebac::Result<Vec<Relationship>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let g = self.tables.read();
        let found = g.rels.iter().filter(|r| filter.matches(r)).cloned();
        Ok(found.take(limit.unwrap_or(usize::MAX)).collect())
    }

    fn interned_index(&self) -> Option<&dyn InternedIndex> {
        self.offer_index.then_some(self as &dyn InternedIndex)
    }

    fn planner(&self) -> Option<&dyn Planner> {
        self.plans.as_ref().map(|p| p as &dyn Planner)
    }
}

/// What the toy planner saw, and the (resource, subject) pairs it grants `view` on.
#[derive(Debug, Default)]
struct PlanState {
    built: AtomicUsize,
    answered: AtomicUsize,
    declined: AtomicUsize,
    granted: BTreeSet<(String, String)>,
}

/// A planner that answers checks of `document#view` from a fixed table and declines the rest.
#[derive(Debug, Clone, Default)]
struct ToyPlan(Arc<PlanState>);

impl Planner for ToyPlan {
    fn plan(&self, _: &Arc<Schema>, _: &EngineConfig) -> Option<Arc<dyn Plan>> {
        self.0.built.fetch_add(1, Ordering::Relaxed);
        Some(Arc::new(self.clone()))
    }
}

#[async_trait::async_trait]
impl Plan for ToyPlan {
    async fn check(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
        _: &CaveatContext,
    ) -> psm_rebac::Result<Planned<Permissionship>> {
        let p = &self.0;
        if &*resource.object_type != "document" || permission != "view" {
            p.declined.fetch_add(1, Ordering::Relaxed);
            return Ok(Planned::Declined("not a document view"));
        }
        p.answered.fetch_add(1, Ordering::Relaxed);
        let key = (resource.to_string(), subject.to_string());
        Ok(Planned::Answer(if p.granted.contains(&key) {
            Permissionship::HasPermission
        } else {
            Permissionship::NoPermission
        }))
    }
}

fn rels() -> Vec<Relationship> {
    RELS.iter().map(|r| r.parse().unwrap()).collect()
}

fn subjects() -> Vec<SubjectRef> {
    [
        "user:alice",
        "user:bob",
        "user:carol",
        "user:dan",
        "group:eng#member",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

fn objects() -> Vec<ObjectRef> {
    let mut out: Vec<ObjectRef> = (1..=5)
        .map(|i| ObjectRef::new("document", format!("d{i}")))
        .collect();
    for f in ["root", "sub", "pub"] {
        out.push(ObjectRef::new("folder", f));
    }
    out
}

async fn engine_over(store: Arc<dyn TupleStore>) -> Engine {
    let e = Engine::new(Schema::parse_spicedb(SCHEMA).unwrap(), store);
    e.touch(rels()).await.unwrap();
    e
}

#[tokio::test]
async fn a_third_party_interned_index_gets_the_fast_path_and_the_same_answers() {
    let memory = engine_over(Arc::new(MemoryStore::new())).await;
    let toy = Arc::new(Toy {
        offer_index: true,
        ..Toy::default()
    });
    let engine = engine_over(toy.clone()).await;
    let mut items = Vec::new();
    for o in objects() {
        let permission = "view";
        for s in subjects() {
            let want = memory.check(&o, permission, &s).await.unwrap();
            assert_eq!(
                engine.check(&o, permission, &s).await.unwrap(),
                want,
                "{o} {s}"
            );
            items.push(CheckItem {
                resource: o.clone(),
                permission: permission.to_owned(),
                subject: s.clone(),
            });
        }
    }
    assert_eq!(
        engine.scope().check_bulk(&items).await.unwrap(),
        memory.scope().check_bulk(&items).await.unwrap()
    );
    for s in subjects() {
        for t in ["document", "folder"] {
            assert_eq!(
                engine.lookup_resources(t, "view", &s).await.unwrap(),
                memory.lookup_resources(t, "view", &s).await.unwrap(),
            );
        }
    }
    let alice: SubjectRef = "user:alice".parse().unwrap();
    assert_eq!(
        engine
            .lookup_resources("document", "view", &alice)
            .await
            .unwrap(),
        ["d1", "d4"]
    );
    assert_eq!(
        toy.reads.load(Ordering::Relaxed),
        0,
        "generic reads were made"
    );

    // A request with contextual relationships is not the index's to answer: it reads.
    let scoped = engine
        .with_contextual(vec!["document:d5#reader@user:dan".parse().unwrap()])
        .unwrap();
    let dan: SubjectRef = "user:dan".parse().unwrap();
    assert!(
        scoped
            .check(&ObjectRef::new("document", "d5"), "view", &dan)
            .await
            .unwrap()
    );
    assert!(toy.reads.load(Ordering::Relaxed) > 0);
}

#[tokio::test]
async fn the_same_store_without_the_index_reads_through_the_generic_path() {
    let toy = Arc::new(Toy::default());
    let engine = engine_over(toy.clone()).await;
    let alice: SubjectRef = "user:alice".parse().unwrap();
    assert!(
        engine
            .check(&ObjectRef::new("document", "d1"), "view", &alice)
            .await
            .unwrap()
    );
    assert!(toy.reads.load(Ordering::Relaxed) > 0);
}

#[tokio::test]
async fn a_planner_is_asked_once_per_schema_and_declines_fall_back_to_the_engine() {
    let plan = ToyPlan(Arc::new(PlanState {
        // deliberately not the truth, so an answer from the plan is visible
        granted: [("document:d2".to_owned(), "user:dan".to_owned())].into(),
        ..PlanState::default()
    }));
    let toy = Arc::new(Toy {
        plans: Some(plan.clone()),
        ..Toy::default()
    });
    let engine = engine_over(toy.clone()).await;
    assert_eq!(plan.0.built.load(Ordering::Relaxed), 1);
    let dan: SubjectRef = "user:dan".parse().unwrap();
    let alice: SubjectRef = "user:alice".parse().unwrap();
    // planned: the plan's table, not the relationships
    assert!(
        engine
            .check(&ObjectRef::new("document", "d2"), "view", &dan)
            .await
            .unwrap()
    );
    assert!(
        !engine
            .check(&ObjectRef::new("document", "d1"), "view", &alice)
            .await
            .unwrap()
    );
    assert_eq!(toy.reads.load(Ordering::Relaxed), 0);
    let items = vec![
        CheckItem {
            resource: ObjectRef::new("document", "d2"),
            permission: "view".to_owned(),
            subject: dan.clone(),
        },
        CheckItem {
            resource: ObjectRef::new("folder", "sub"),
            permission: "view".to_owned(),
            subject: alice.clone(),
        },
    ];
    // the folder item is declined and evaluated by the engine through `read`
    assert_eq!(
        engine.scope().check_bulk(&items).await.unwrap(),
        [true, true]
    );
    assert!(toy.reads.load(Ordering::Relaxed) > 0);
    assert!(
        engine
            .check(&ObjectRef::new("folder", "sub"), "view", &alice)
            .await
            .unwrap()
    );
    assert_eq!(plan.0.answered.load(Ordering::Relaxed), 3);
    assert_eq!(plan.0.declined.load(Ordering::Relaxed), 2);
    // lookups are not planned by this toy (the default declines): the engine answers
    assert_eq!(
        engine
            .lookup_resources("document", "view", &alice)
            .await
            .unwrap(),
        ["d1", "d4"]
    );
    // a clone of the engine shares its plan; nothing is planned again
    let again = engine.clone();
    assert!(
        again
            .check(&ObjectRef::new("document", "d2"), "view", &dan)
            .await
            .unwrap()
    );
    assert_eq!(plan.0.built.load(Ordering::Relaxed), 1);
}
