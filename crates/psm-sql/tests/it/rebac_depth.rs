//! The SQL plans at the engine's depth limit, on every database: nested groups exactly at the
//! limit, one step past it, a cycle, and a write that lengthens a chain after the plan proved
//! the store shallow (its depth proof must not outlive the revision it was made at). Every
//! answer of the engine over the SQL store, errors included, equals the engine's over a memory
//! store holding the same relationships.

use std::sync::Arc;

use psm_rebac::store::{Plan, Planned};
use psm_rebac::{
    CaveatContext, Engine, EngineConfig, MemoryStore, ObjectRef, Permissionship, Relationship,
    Schema, SubjectRef, TupleStore,
};
use psm_sql::rebac::SqlTupleStore;

use crate::per_database;

const SCHEMA: &str = "
definition user {}
definition group { relation member: user | group#member }
definition folder {
    relation parent: folder
    relation reader: user | group#member
    permission view = reader + parent->view
}
definition doc {
    relation folder: folder
    relation reader: user | group#member
    relation banned: user
    permission view = (reader + folder->view) - banned
}";

/// The engine's depth limit in these tests.
const MAX: u32 = 6;

fn rel(s: &str) -> Relationship {
    s.parse().unwrap()
}

/// `doc:d#reader@group:c1#member`, `group:c{i}#member@group:c{i+1}#member` up to `c{n}`,
/// whose member is `user:u`: the walk from `doc:d#view` reaches `c{n}#member` at depth n + 1
/// (past the limit when n = `MAX`).
fn chain(n: usize) -> Vec<Relationship> {
    let mut out = vec![rel("doc:d#reader@group:c1#member")];
    for i in 1..n {
        out.push(rel(&format!("group:c{i}#member@group:c{}#member", i + 1)));
    }
    out.push(rel(&format!("group:c{n}#member@user:u")));
    out
}

struct Both {
    sql: Engine,
    memory: Engine,
    plan: Arc<dyn Plan>,
}

impl Both {
    async fn write(&self, rels: &[Relationship]) {
        self.sql.touch(rels.to_vec()).await.unwrap();
        self.memory.touch(rels.to_vec()).await.unwrap();
    }

    /// Checks and lookups on both stores, twice (the first may make the depth proof the
    /// second uses); returns whether the plan answered the check the second time.
    async fn compare(&self, what: &str) -> bool {
        let doc = ObjectRef::new("doc", "d");
        let mut answered = false;
        for _ in 0..2 {
            for user in ["user:u", "user:v"] {
                let s: SubjectRef = user.parse().unwrap();
                let want = self.memory.check(&doc, "view", &s).await;
                assert_eq!(
                    self.sql.check(&doc, "view", &s).await,
                    want,
                    "{what}: check doc:d#view@{user}"
                );
                let want_ids = self.memory.lookup_resources("doc", "view", &s).await;
                assert_eq!(
                    self.sql.lookup_resources("doc", "view", &s).await,
                    want_ids,
                    "{what}: lookup doc#view@{user}"
                );
                let ctx = CaveatContext::new();
                match self.plan.check(&doc, "view", &s, &ctx).await.unwrap() {
                    Planned::Answer(p) => {
                        answered = true;
                        assert_eq!(
                            Ok(p == Permissionship::HasPermission),
                            want,
                            "{what}: plan check doc:d#view@{user}"
                        );
                    }
                    Planned::Declined(_) => answered = false,
                }
                if let Planned::Answer(ids) = self
                    .plan
                    .lookup_resources("doc", "view", &s, &ctx)
                    .await
                    .unwrap()
                {
                    assert_eq!(Ok(ids), want_ids, "{what}: plan lookup doc#view@{user}");
                }
            }
        }
        answered
    }
}

async fn depth_limit_and_cycles_match_memory(url: String) {
    let store = SqlTupleStore::connect(&url).await.unwrap();
    let schema = Schema::parse_spicedb(SCHEMA).unwrap();
    let config = EngineConfig {
        max_depth: MAX,
        ..EngineConfig::default()
    };
    let plan = store
        .planner()
        .and_then(|p| p.plan(&Arc::new(schema.clone()), &config))
        .expect("the SQL store plans");
    let both = |memory: Arc<MemoryStore>| Both {
        sql: Engine::with_config(schema.clone(), Arc::new(store.clone()), config),
        memory: Engine::with_config(schema.clone(), memory, config),
        plan: plan.clone(),
    };
    // chains up to the limit are answered by the plan; one past it is declined (the engine
    // answers DepthExceeded)
    for n in 1..=(MAX as usize) {
        store.delete_all().await.unwrap();
        let b = both(Arc::new(MemoryStore::new()));
        b.write(&chain(n)).await;
        let answered = b.compare(&format!("chain of {n}")).await;
        let within = n < MAX as usize;
        assert_eq!(answered, within, "chain of {n}: planned");
        if within {
            // one more link, written after the plan's proof: the proof must not be used
            let mut more = vec![rel(&format!("group:c{n}#member@group:e1#member"))];
            for i in 1..=MAX {
                more.push(rel(&format!("group:e{i}#member@group:e{}#member", i + 1)));
            }
            b.write(&more).await;
            let answered = b.compare(&format!("chain of {n}, lengthened")).await;
            assert!(!answered, "chain of {n}, lengthened: the plan declines");
        }
    }
    // a folder chain whose walk ends exactly at the limit, next to a banned reader
    store.delete_all().await.unwrap();
    let b = both(Arc::new(MemoryStore::new()));
    // doc:d#view, folder:f1#view .. f5#view, folder:f5#reader: depth 6
    let mut folders = vec![
        rel("doc:d#folder@folder:f1"),
        rel("folder:f5#reader@user:u"),
        rel("doc:d#banned@user:v"),
        rel("doc:d#reader@user:v"),
    ];
    for i in 1..5 {
        folders.push(rel(&format!("folder:f{i}#parent@folder:f{}", i + 1)));
    }
    b.write(&folders).await;
    assert!(b.compare("folder chain at the limit").await);
    b.write(&[rel("folder:f5#parent@folder:f6")]).await;
    assert!(!b.compare("folder chain past the limit").await);
    // a cycle of groups: declined, and the engine's answer stands
    store.delete_all().await.unwrap();
    let b = both(Arc::new(MemoryStore::new()));
    b.write(&[
        rel("doc:d#reader@group:a#member"),
        rel("group:a#member@group:b#member"),
        rel("group:b#member@group:a#member"),
        rel("group:b#member@user:u"),
    ])
    .await;
    assert!(!b.compare("cycle").await);
    store.close().await;
}

per_database!(
    depth_limit_and_cycles,
    crate::rebac_depth::depth_limit_and_cycles_match_memory
);
