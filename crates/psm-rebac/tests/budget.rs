//! The request budget (issue #15): expansions that would explode stop at the result cap while
//! they are built, a caveat too costly to evaluate is a typed error before it runs, and a
//! dropped check stops taking steps. Functional tests: no timing is asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_rebac::{
    Bound, CaveatContext, Engine, EngineConfig, Error, MemoryStore, ObjectRef, Precondition,
    Relationship, RelationshipFilter, RelationshipUpdate, Revision, Schema, SubjectRef, TupleStore,
};

/// Groups `g{a,b}{i}#member`, each containing both `g{a,b}{i+1}#member`, `levels` deep: an
/// expansion tree of about 2^levels nodes over 4·levels relationships.
fn diamond(levels: usize) -> (Schema, Vec<Relationship>) {
    let schema = Schema::parse_spicedb(
        "definition user {}\ndefinition group { relation member: user | group#member }",
    )
    .unwrap();
    let mut rels = Vec::new();
    for i in 0..levels {
        for x in ["a", "b"] {
            for y in ["a", "b"] {
                rels.push(
                    format!("group:g{x}{i}#member@group:g{y}{}#member", i + 1)
                        .parse()
                        .unwrap(),
                );
            }
        }
    }
    for x in ["a", "b"] {
        rels.push(
            format!("group:g{x}{levels}#member@user:u{x}")
                .parse()
                .unwrap(),
        );
    }
    (schema, rels)
}

/// `permission lvN = lv(N-1) & lv(N-1)` for N = 1..=`levels`.
fn doubled(levels: usize) -> Schema {
    doubled_with(levels, "reader")
}

/// [`doubled`] whose `lv0 = reader + lv{levels}` loops back to the top: every evaluation of
/// `lv0` meets a cycle cut, so nothing is memoised and a check of an outsider takes about
/// 2^levels steps while using no memory.
fn looping(levels: usize) -> Schema {
    doubled_with(levels, &format!("reader + lv{levels}"))
}

fn doubled_with(levels: usize, lv0: &str) -> Schema {
    doubled_text(levels, lv0, "user")
}

fn doubled_text(levels: usize, lv0: &str, reader: &str) -> Schema {
    let header = if reader.contains("expiration") {
        "use expiration\n"
    } else {
        ""
    };
    let mut text = format!(
        "{header}definition user {{}}\ndefinition doc {{\n relation reader: {reader}\n permission lv0 = {lv0}\n"
    );
    for n in 1..=levels {
        text.push_str(&format!(" permission lv{n} = lv{m} & lv{m}\n", m = n - 1));
    }
    text.push('}');
    Schema::parse_spicedb(&text).unwrap()
}

async fn engine_with(
    schema: Schema,
    store: Arc<dyn TupleStore>,
    rels: Vec<Relationship>,
    config: EngineConfig,
) -> Engine {
    let engine = Engine::with_config(schema, store, config);
    engine.touch(rels).await.unwrap();
    engine
}

fn capped(max_results: u64) -> EngineConfig {
    EngineConfig {
        max_results,
        ..EngineConfig::default()
    }
}

fn is_bound(r: &Result<impl std::fmt::Debug, Error>, want: Bound) -> bool {
    matches!(r, Err(Error::BudgetExceeded { bound, .. }) if *bound == want)
}

#[tokio::test]
async fn the_diamond_expand_stops_at_the_result_cap_while_building() {
    let (schema, rels) = diamond(21);
    assert_eq!(rels.len(), 86);
    let e = engine_with(schema, Arc::new(MemoryStore::new()), rels, capped(1000)).await;
    let budget = e.budget();
    let root: ObjectRef = "group:ga0".parse().unwrap();
    let r = e
        .scope()
        .with_budget(budget.clone())
        .expand(&root, "member")
        .await;
    assert!(is_bound(&r, Bound::Results), "{r:?}");
    assert!(budget.results() <= 1000, "{}", budget.results());
    // The full tree has millions of nodes; the work done stays near the cap.
    assert!(budget.steps() <= 3 * 1000, "{}", budget.steps());
    // The default bounds stop it too.
    let (schema, rels) = diamond(21);
    let e = engine_with(
        schema,
        Arc::new(MemoryStore::new()),
        rels,
        EngineConfig::default(),
    )
    .await;
    let r = e.expand(&root, "member").await;
    assert!(is_bound(&r, Bound::Results), "{r:?}");
}

#[tokio::test]
async fn a_small_expand_fits_its_cap() {
    let (schema, rels) = diamond(3);
    let e = engine_with(schema, Arc::new(MemoryStore::new()), rels, capped(1000)).await;
    let tree = e
        .expand(&"group:ga0".parse().unwrap(), "member")
        .await
        .unwrap();
    let leaves: Vec<String> = tree
        .leaf_subjects()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(leaves.contains(&"user:ua".to_owned()), "{leaves:?}");
}

#[tokio::test]
async fn the_doubled_intersection_expand_stops_at_the_result_cap() {
    let rels = vec!["doc:d#reader@user:u".parse().unwrap()];
    let e = engine_with(doubled(25), Arc::new(MemoryStore::new()), rels, capped(500)).await;
    let budget = e.budget();
    let doc: ObjectRef = "doc:d".parse().unwrap();
    let r = e
        .scope()
        .with_budget(budget.clone())
        .expand(&doc, "lv25")
        .await;
    assert!(is_bound(&r, Bound::Results), "{r:?}");
    assert!(budget.results() <= 500, "{}", budget.results());
    assert!(budget.steps() <= 3 * 500, "{}", budget.steps());
    // check on the same schema is linear (memo) and answers.
    let u: SubjectRef = "user:u".parse().unwrap();
    assert!(e.check(&doc, "lv25", &u).await.unwrap());
}

fn reader_of_d() -> Vec<Relationship> {
    vec!["doc:d#reader@user:u".parse().unwrap()]
}

#[tokio::test]
async fn steps_are_bounded_on_both_check_paths() {
    let config = EngineConfig {
        max_steps: 1000,
        ..EngineConfig::default()
    };
    let memory = engine_with(
        looping(25),
        Arc::new(MemoryStore::new()),
        reader_of_d(),
        config,
    )
    .await;
    let generic = engine_with(
        looping(25),
        Arc::new(Opaque::default()),
        reader_of_d(),
        config,
    )
    .await;
    let doc: ObjectRef = "doc:d".parse().unwrap();
    let outsider: SubjectRef = "user:outsider".parse().unwrap();
    for e in [&memory, &generic] {
        let budget = e.budget();
        let r = e
            .scope()
            .with_budget(budget.clone())
            .check(&doc, "lv25", &outsider)
            .await;
        assert!(is_bound(&r, Bound::Steps), "{r:?}");
        // the synchronous path charges in batches of 256
        assert!(budget.steps() <= 1000 + 256, "{}", budget.steps());
    }
    // the reader itself is answered
    let u: SubjectRef = "user:u".parse().unwrap();
    assert!(memory.check(&doc, "lv25", &u).await.unwrap());
}

/// The fast path's backward membership walk is charged too: a subject in 1,000 groups asked
/// about a group it is not in takes one evaluated node but walks 1,000 usersets, so a budget of
/// 500 steps stops it (the walk was not counted before).
#[tokio::test]
async fn the_fast_path_membership_walk_is_budgeted() {
    let schema = Schema::parse_spicedb(
        "definition user {}
definition group { relation member: user | group#member }
definition doc { relation viewer: group#member }",
    )
    .unwrap();
    let mut rels: Vec<Relationship> = vec!["doc:d#viewer@group:other#member".parse().unwrap()];
    rels.extend((0..1000).map(|i| format!("group:g{i}#member@user:u").parse().unwrap()));
    let doc: ObjectRef = "doc:d".parse().unwrap();
    let u: SubjectRef = "user:u".parse().unwrap();
    let roomy = engine_with(
        schema.clone(),
        Arc::new(MemoryStore::new()),
        rels.clone(),
        EngineConfig::default(),
    )
    .await;
    let budget = roomy.budget();
    let r = roomy
        .scope()
        .with_budget(budget.clone())
        .check(&doc, "viewer", &u)
        .await;
    assert_eq!(r, Ok(false));
    assert!(budget.steps() >= 1000, "{}", budget.steps());
    let tight = engine_with(
        schema,
        Arc::new(MemoryStore::new()),
        rels,
        EngineConfig {
            max_steps: 500,
            ..EngineConfig::default()
        },
    )
    .await;
    let r = tight.check(&doc, "viewer", &u).await;
    assert!(is_bound(&r, Bound::Steps), "{r:?}");
}

const NESTED: &str = r#"
definition user {}
caveat nested(l list<int>) {
    l.exists(a, l.exists(b, a == b + 1000000000))
}
definition doc {
    relation reader: user with nested
    permission read = reader
}
"#;

#[tokio::test]
async fn a_nested_caveat_over_a_large_list_is_a_typed_error() {
    let e = engine_with(
        Schema::parse_spicedb(NESTED).unwrap(),
        Arc::new(MemoryStore::new()),
        vec!["doc:d#reader@user:u[nested]".parse().unwrap()],
        EngineConfig::default(),
    )
    .await;
    let doc: ObjectRef = "doc:d".parse().unwrap();
    let u: SubjectRef = "user:u".parse().unwrap();
    let context = |n: i64| -> CaveatContext {
        let l: Vec<i64> = (0..n).collect();
        serde_json::from_value(serde_json::json!({ "l": l })).unwrap()
    };
    let r = e.check_with_context(&doc, "read", &u, context(3000)).await;
    assert!(
        matches!(
            r,
            Err(Error::BudgetExceeded {
                bound: Bound::CaveatCost,
                limit: 1_000_000
            })
        ),
        "{r:?}"
    );
    // A small list is evaluated (no pair differs by a billion).
    let small = e.check_with_context(&doc, "read", &u, context(10)).await;
    assert_eq!(small.unwrap(), psm_rebac::Permissionship::NoPermission);
}

/// The memory store behind an opaque handle whose every read yields once to the scheduler:
/// the engine takes its generic async path, and a check is pending between reads.
#[derive(Debug, Default)]
struct Opaque(MemoryStore);

#[async_trait::async_trait]
impl TupleStore for Opaque {
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
        tokio::task::yield_now().await;
        self.0.read(filter, limit).await
    }
}

#[tokio::test]
async fn dropping_a_check_stops_its_evaluation() {
    // doc:d is read by 5,000 groups; with relationships that may expire (no membership
    // shortcut), a check of an outsider reads every group, yielding once per read.
    let schema = Schema::parse_spicedb(
        "use expiration\ndefinition user {}\n\
         definition group { relation member: user | user with expiration }\n\
         definition doc { relation reader: group#member\n permission read = reader }",
    )
    .unwrap();
    let rels: Vec<Relationship> = (0..5000)
        .map(|i| format!("doc:d#reader@group:g{i}#member").parse().unwrap())
        .collect();
    let e = Arc::new(
        engine_with(
            schema,
            Arc::new(Opaque::default()),
            rels,
            EngineConfig::default(),
        )
        .await,
    );
    let budget = e.budget();
    let task = {
        let (e, budget) = (e.clone(), budget.clone());
        tokio::spawn(async move {
            let doc: ObjectRef = "doc:d".parse().unwrap();
            let u: SubjectRef = "user:outsider".parse().unwrap();
            e.scope().with_budget(budget).check(&doc, "read", &u).await
        })
    };
    // Bounded wait until the check is under way.
    let mut rounds = 0;
    while budget.steps() < 50 {
        rounds += 1;
        assert!(rounds < 100_000, "the check never started");
        tokio::task::yield_now().await;
    }
    task.abort();
    let aborted = task.await;
    assert!(
        aborted.as_ref().is_err_and(|e| e.is_cancelled()),
        "{aborted:?} after {} steps",
        budget.steps()
    );
    let stopped_at = budget.steps();
    for _ in 0..1000 {
        tokio::task::yield_now().await;
    }
    assert_eq!(budget.steps(), stopped_at, "steps went on after the drop");
    // Far from the ~10,000 steps the whole check takes.
    assert!(stopped_at < 5000, "{stopped_at}");
}

#[tokio::test]
async fn cancelling_the_engine_stops_its_requests() {
    let token = psm_rebac::CancelToken::new();
    let e = engine_with(
        looping(25),
        Arc::new(MemoryStore::new()),
        reader_of_d(),
        EngineConfig::default(),
    )
    .await
    .with_cancel(token.clone());
    let doc: ObjectRef = "doc:d".parse().unwrap();
    let outsider: SubjectRef = "user:outsider".parse().unwrap();
    // A synchronous evaluation on another thread, cancelled while it runs.
    let budget = e.budget();
    let e = Arc::new(e);
    let worker = {
        let (e, budget) = (e.clone(), budget.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(e.scope().with_budget(budget).check(&doc, "lv25", &outsider))
        })
    };
    let mut rounds = 0u64;
    while budget.steps() < 10_000 {
        rounds += 1;
        assert!(rounds < 10_000_000, "the check never started");
        std::thread::yield_now();
    }
    token.cancel();
    let r = worker.join().unwrap();
    assert!(is_bound(&r, Bound::Cancelled), "{r:?}");
    // A later long request of the engine stops too.
    let budget = e.budget();
    let r = e
        .scope()
        .with_budget(budget.clone())
        .check(
            &"doc:d".parse().unwrap(),
            "lv25",
            &"user:outsider".parse().unwrap(),
        )
        .await;
    assert!(is_bound(&r, Bound::Cancelled), "{r:?}");
    assert!(budget.steps() <= 256, "{}", budget.steps());
}
