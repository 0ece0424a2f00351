//! Lookup filters and `check_sql` with caveated relationships, against the engine with the
//! same request context, on every database: caveats the schema allows but no stored
//! relationship uses keep the filter pure SQL; stored caveated relationships make a union-only
//! permission SQL plus engine-checked ids, and a permission with an exclusion the engine's.

use std::sync::Arc;

use psm_rebac::testkit::model::Rng;
use psm_rebac::{
    CaveatContext, Engine, ObjectRef, Permissionship, Relationship, Schema, SubjectRef,
};
use psm_sql::rebac::{FilterStrategy, SqlTupleStore};

use crate::per_database;

const SCHEMA: &str = r#"
caveat limit(n int, max int) {
    n <= max
}
definition user {}
definition team {
    relation member: user | user with limit | team#member
}
definition folder {
    relation parent: folder | folder with limit
    relation viewer: user | user with limit | team#member
    permission view = viewer + parent->view
}
definition doc {
    relation parent: folder
    relation viewer: user | user with limit | team#member | team#member with limit
    relation banned: user | user with limit
    permission view = viewer + parent->view
    permission visible = view - banned
}
"#;

const USERS: usize = 5;

/// Random relationships; with `caveats`, about a third carry `limit` with a stored `max`.
fn relationships(rng: &mut Rng, n: usize, caveats: bool) -> Vec<Relationship> {
    let mut out: Vec<Relationship> = Vec::new();
    for _ in 0..n {
        let user = format!("user:u{}", rng.below(USERS));
        let team = format!("team:t{}", rng.below(3));
        let folder = format!("folder:f{}", rng.below(4));
        let doc = format!("doc:d{}", rng.below(8));
        let (s, can) = match rng.below(7) {
            0 => (format!("{team}#member@{user}"), true),
            1 => (
                format!("{team}#member@team:t{}#member", rng.below(3)),
                false,
            ),
            2 => (format!("{folder}#parent@folder:f{}", rng.below(4)), true),
            3 => (format!("{folder}#viewer@{user}"), true),
            4 => (format!("{doc}#parent@{folder}"), false),
            5 => (
                format!(
                    "{doc}#viewer@{}",
                    [&user, &format!("{team}#member")][rng.below(2)]
                ),
                true,
            ),
            _ => (format!("{doc}#banned@{user}"), true),
        };
        let s = if caveats && can && rng.below(3) == 0 {
            format!("{s}[limit:{{\"max\":{}}}]", rng.below(4))
        } else {
            s
        };
        out.push(s.parse().unwrap());
    }
    out.sort();
    out.dedup_by(|a, b| {
        a.resource == b.resource && a.relation == b.relation && a.subject == b.subject
    });
    out
}

fn ctx(json: &str) -> CaveatContext {
    serde_json::from_str(json).unwrap()
}

async fn caveated_filters_equal_engine(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let schema = Schema::parse_spicedb(SCHEMA).unwrap();
    let engine = Engine::new(schema.clone(), Arc::new(store.clone()));
    let mut subjects: Vec<SubjectRef> = (0..USERS)
        .map(|i| format!("user:u{i}").parse().unwrap())
        .collect();
    subjects.push("team:t1#member".parse().unwrap());
    let contexts = [r#"{}"#, r#"{"n": 1}"#, r#"{"n": 3}"#];

    // the schema allows caveats, but none is stored: pure SQL
    let mut rng = Rng::new(11);
    store.delete_all().await.unwrap();
    engine
        .touch(relationships(&mut rng, 40, false))
        .await
        .unwrap();
    for perm in ["view", "visible"] {
        let f = store
            .lookup_resources_filter(&schema, "doc", perm, &subjects[0])
            .await
            .unwrap();
        assert_eq!(*f.strategy(), FilterStrategy::Sql, "{perm}");
    }

    let mut mixed = 0;
    let mut granted_by_caveat = 0;
    for seed in [5u64, 23, 99] {
        let mut rng = Rng::new(seed);
        store.delete_all().await.unwrap();
        engine
            .touch(relationships(&mut rng, 70, true))
            .await
            .unwrap();
        for (ty, perms) in [
            ("doc", &["view", "visible", "viewer"][..]),
            ("folder", &["view"][..]),
            ("team", &["member"][..]),
        ] {
            for perm in perms {
                for s in &subjects {
                    let plain = engine.lookup_resources(ty, perm, s).await.unwrap();
                    for c in contexts {
                        let want = engine
                            .scope()
                            .with_context(ctx(c))
                            .lookup_resources(ty, perm, s)
                            .await
                            .unwrap();
                        granted_by_caveat += usize::from(want.len() > plain.len());
                        let filter = store
                            .lookup_resources_filter_with_context(&schema, ty, perm, s, &ctx(c))
                            .await
                            .unwrap();
                        if matches!(filter.strategy(), FilterStrategy::SqlAndChecked(_)) {
                            mixed += 1;
                        }
                        if *perm == "visible" {
                            assert!(
                                !matches!(filter.strategy(), FilterStrategy::SqlAndChecked(_)),
                                "an exclusion is never SQL plus checks"
                            );
                        }
                        let got = store
                            .lookup_resources_sql_with_context(&schema, ty, perm, s, &ctx(c))
                            .await
                            .unwrap();
                        assert_eq!(
                            got,
                            want,
                            "seed {seed}: {ty}#{perm}@{s} {c} ({:?})\n{}",
                            filter.strategy(),
                            filter.sql()
                        );
                        for id in ["d0", "d3", "f1", "t0", "t1"] {
                            let obj = ObjectRef::new(ty, id);
                            let want = engine
                                .check_with_context(&obj, perm, s, ctx(c))
                                .await
                                .unwrap()
                                == Permissionship::HasPermission;
                            let got = store
                                .check_sql_with_context(&schema, &obj, perm, s, &ctx(c))
                                .await
                                .unwrap();
                            assert_eq!(got, want, "seed {seed}: check {obj}#{perm}@{s} {c}");
                        }
                    }
                }
            }
        }
    }
    assert!(mixed > 0, "no filter took the SQL plus checks path");
    assert!(granted_by_caveat > 0, "no caveat ever granted");
    store.close().await;
}

per_database!(
    caveated_filters_match_engine,
    crate::rebac_caveat_filter::caveated_filters_equal_engine
);
