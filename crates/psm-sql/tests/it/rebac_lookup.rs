//! `lookup_resources_filter` and `check_sql` against the engine on random data, on every
//! database: the filter's ids equal the engine's `lookup_resources`, and `check_sql` equals
//! the engine's `check`, for every permission and many subjects (differential, seeded). The
//! reference is the engine over a memory store holding the same relationships; the engine over
//! the SQL store (which takes the store's plans where they answer) must agree with it too,
//! errors included, and the plans must answer most requests (counted on the plan itself).

use std::sync::Arc;

use psm_rebac::store::Planned;
use psm_rebac::testkit::model::Rng;
use psm_rebac::{
    CaveatContext, Engine, EngineConfig, MemoryStore, ObjectRef, Relationship, Schema, SubjectRef,
    TupleStore,
};
use psm_sql::rebac::{FilterStrategy, SqlTupleStore};

use crate::per_database;

/// Unions, nested usersets, recursive arrows, wildcards, an exclusion and an intersection
/// inside recursion (stratifiable), an `.all()` arrow, and one exclusion that subtracts its
/// own cycle (not stratifiable: candidates plus check).
const SCHEMA: &str = r#"
definition user {}
definition team {
    relation member: user | user:* | team#member
    relation banned: user
    permission allowed = member - banned
}
definition folder {
    relation parent: folder
    relation viewer: user | team#member
    permission view = viewer + parent->view
}
definition doc {
    relation parent: doc | folder
    relation team: team
    relation owner: user
    relation viewer: user | user:* | team#member
    relation banned: user
    relation approver: user | team#member
    permission view = (viewer + owner + parent->view + team->allowed) - banned
    permission approve = view & approver
    permission edit = (owner + parent->edit) & approver
    permission every_team = team.all(allowed)
    permission odd = viewer - parent->odd
}
"#;

const USERS: usize = 6;

fn random_relationships(rng: &mut Rng, n: usize) -> Vec<Relationship> {
    let user = |rng: &mut Rng| format!("user:u{}", rng.below(USERS));
    let team = |rng: &mut Rng| format!("team:t{}", rng.below(4));
    let folder = |rng: &mut Rng| format!("folder:f{}", rng.below(5));
    let doc = |rng: &mut Rng| format!("doc:d{}", rng.below(12));
    let mut out = Vec::new();
    for _ in 0..n {
        let s = match rng.below(14) {
            0 => format!("{}#member@{}", team(rng), user(rng)),
            1 => format!("{}#member@{}#member", team(rng), team(rng)),
            2 => format!("{}#banned@{}", team(rng), user(rng)),
            3 => format!("{}#parent@{}", folder(rng), folder(rng)),
            4 => format!("{}#viewer@{}", folder(rng), user(rng)),
            5 => format!("{}#viewer@{}#member", folder(rng), team(rng)),
            6 => format!("{}#parent@{}", doc(rng), doc(rng)),
            7 => format!("{}#parent@{}", doc(rng), folder(rng)),
            8 => format!("{}#team@{}", doc(rng), team(rng)),
            9 => format!("{}#owner@{}", doc(rng), user(rng)),
            10 => format!("{}#viewer@{}", doc(rng), user(rng)),
            11 => format!("{}#banned@{}", doc(rng), user(rng)),
            12 => format!("{}#approver@{}", doc(rng), user(rng)),
            _ => match rng.below(3) {
                0 => format!("{}#viewer@user:*", doc(rng)),
                1 => format!("{}#viewer@{}#member", doc(rng), team(rng)),
                _ => format!("{}#approver@{}#member", doc(rng), team(rng)),
            },
        };
        out.push(s.parse().unwrap());
    }
    out.sort();
    out.dedup();
    out
}

async fn filter_equals_engine_lookup(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let schema = Schema::parse_spicedb(SCHEMA).unwrap();
    let engine = Engine::new(schema.clone(), Arc::new(store.clone()));
    let plan = store
        .planner()
        .and_then(|p| p.plan(&Arc::new(schema.clone()), &EngineConfig::default()))
        .expect("the SQL store plans");
    let (mut planned, mut declined) = (0, 0);
    let mut subjects: Vec<SubjectRef> = (0..USERS)
        .map(|i| format!("user:u{i}").parse().unwrap())
        .collect();
    subjects.push("team:t0#member".parse().unwrap());
    subjects.push("team:t2#member".parse().unwrap());
    // a permission's own userset: `team:t0#allowed` holds itself (through an exclusion)
    subjects.push("team:t0#allowed".parse().unwrap());
    for seed in [3u64, 17, 2024] {
        let mut rng = Rng::new(seed);
        store.delete_all().await.unwrap();
        let rels = random_relationships(&mut rng, 90);
        engine.touch(rels.clone()).await.unwrap();
        let memory = Engine::new(schema.clone(), Arc::new(MemoryStore::new()));
        memory.touch(rels).await.unwrap();
        let mut sql_used = 0;
        let mut found = 0;
        for (ty, perms) in [
            (
                "doc",
                &["view", "approve", "edit", "every_team", "odd", "viewer"][..],
            ),
            ("folder", &["view"][..]),
            ("team", &["member", "allowed"][..]),
        ] {
            for perm in perms {
                for s in &subjects {
                    let want = memory.lookup_resources(ty, perm, s).await;
                    assert_eq!(
                        engine.lookup_resources(ty, perm, s).await,
                        want,
                        "seed {seed}: engine over SQL, lookup {ty}#{perm}@{s}"
                    );
                    let ctx = CaveatContext::new();
                    match plan.lookup_resources(ty, perm, s, &ctx).await.unwrap() {
                        Planned::Answer(ids) => {
                            planned += 1;
                            assert_eq!(Ok(ids), want.clone(), "seed {seed}: plan {ty}#{perm}@{s}");
                        }
                        Planned::Declined(_) => declined += 1,
                    }
                    let Ok(want) = want else {
                        continue;
                    };
                    found += usize::from(!want.is_empty());
                    let filter = store
                        .lookup_resources_filter(&schema, ty, perm, s)
                        .await
                        .unwrap();
                    if *filter.strategy() == FilterStrategy::Sql {
                        sql_used += 1;
                    }
                    let got = store
                        .lookup_resources_sql(&schema, ty, perm, s)
                        .await
                        .unwrap_or_else(|e| panic!("{ty}#{perm}@{s}: {e}\n{}", filter.sql()));
                    assert_eq!(got, want, "seed {seed}: {ty}#{perm}@{s}\n{}", filter.sql());
                    for id in ["d0", "d1", "d5", "f1", "t0", "t3"] {
                        let obj = ObjectRef::new(ty, id);
                        let want = memory.check(&obj, perm, s).await;
                        assert_eq!(
                            engine.check(&obj, perm, s).await,
                            want,
                            "seed {seed}: engine over SQL, check {obj}#{perm}@{s}"
                        );
                        let Ok(want) = want else {
                            continue;
                        };
                        assert_eq!(
                            store.check_sql(&schema, &obj, perm, s).await.unwrap(),
                            want,
                            "seed {seed}: check {obj}#{perm}@{s}"
                        );
                        match plan.check(&obj, perm, s, &ctx).await.unwrap() {
                            Planned::Answer(p) => {
                                planned += 1;
                                assert_eq!(
                                    p == psm_rebac::Permissionship::HasPermission,
                                    want,
                                    "seed {seed}: plan check {obj}#{perm}@{s}"
                                );
                            }
                            Planned::Declined(_) => declined += 1,
                        }
                    }
                }
            }
        }
        assert!(sql_used > 0);
        eprintln!("seed {seed}: {planned} planned, {declined} declined so far");
        assert!(found > 20, "seed {seed}: only {found} non-empty lookups");
    }
    assert!(
        planned > 0 && declined > 0,
        "{planned} planned, {declined} declined"
    );
    // `odd` subtracts its own cycle: not stratifiable, so candidates plus check
    let filter = store
        .lookup_resources_filter(&schema, "doc", "odd", &subjects[0])
        .await
        .unwrap();
    assert!(matches!(filter.strategy(), FilterStrategy::Candidates(_)));
    let filter = store
        .lookup_resources_filter(&schema, "doc", "view", &subjects[0])
        .await
        .unwrap();
    assert_eq!(*filter.strategy(), FilterStrategy::Sql);
    assert!(filter.sql().starts_with("WITH RECURSIVE"));
    store.close().await;
}

per_database!(
    filter_matches_engine,
    crate::rebac_lookup::filter_equals_engine_lookup
);
