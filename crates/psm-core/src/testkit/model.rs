//! Proptest state machine: random operation sequences on a backend and on a plain model agree.
//!
//! The model is a `BTreeMap` of sessions with long TTLs (expiry itself is covered by the cases),
//! so every answer of the backend can be predicted exactly. Each proptest case works under its own
//! id namespace, so one store serves all cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::permission::PermissionSet;
use crate::session::NewSession;
use crate::store::SessionStore;
use crate::testkit::unique_suffix;

const GRANTS: &[&str] = &[
    "read",
    "write",
    "admin:*",
    "posts:*:read",
    "test>",
    "a.b",
    "a:b",
    "*",
];
const QUERIES: &[&str] = &[
    "read",
    "write",
    "admin:x",
    "admin",
    "posts:1:read",
    "test",
    "test.x",
    "a.b",
    "a:b",
    "admin:*",
    "zzz",
];
const SESSIONS: usize = 4;
const USERS: usize = 3;

/// One operation of the state machine (fields are indices into small id pools).
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub enum Op {
    /// store_session
    Store {
        s: usize,
        u: usize,
        grants: Vec<usize>,
        hours: Option<u64>,
    },
    /// update_permissions
    Update {
        s: usize,
        grants: Vec<usize>,
        hours: Option<u64>,
    },
    /// check_permission
    Check { s: usize, q: usize },
    /// check_permissions
    CheckMany { s: usize, qs: Vec<usize> },
    /// get_session
    Get { s: usize },
    /// list_sessions
    List { u: usize },
    /// invalidate_session
    Invalidate { s: usize },
    /// extend_session_ttl
    Extend { s: usize, hours: u64 },
    /// get_session_info
    Info { s: usize },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let s = 0..SESSIONS;
    let grants = proptest::collection::vec(0..GRANTS.len(), 0..5);
    let hours = proptest::option::of(1u64..4);
    prop_oneof![
        3 => (s.clone(), 0..USERS, grants.clone(), hours.clone())
            .prop_map(|(s, u, grants, hours)| Op::Store { s, u, grants, hours }),
        2 => (s.clone(), grants, hours).prop_map(|(s, grants, hours)| Op::Update { s, grants, hours }),
        3 => (s.clone(), 0..QUERIES.len()).prop_map(|(s, q)| Op::Check { s, q }),
        1 => (s.clone(), proptest::collection::vec(0..QUERIES.len(), 0..4))
            .prop_map(|(s, qs)| Op::CheckMany { s, qs }),
        2 => s.clone().prop_map(|s| Op::Get { s }),
        2 => (0..USERS).prop_map(|u| Op::List { u }),
        1 => s.clone().prop_map(|s| Op::Invalidate { s }),
        1 => (s.clone(), 1u64..4).prop_map(|(s, hours)| Op::Extend { s, hours }),
        1 => s.prop_map(|s| Op::Info { s }),
    ]
}

#[derive(Debug, Clone)]
struct ModelSession {
    user: usize,
    grants: Vec<String>,
    /// Whether it expires at all (the exact instant is checked approximately).
    expires: bool,
}

/// Runs the state machine against stores made by `factory` (one store for the whole run).
pub fn run_model_equivalence<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(factory());
    let cases = std::env::var("PSM_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let ops = proptest::collection::vec(op_strategy(), 1..40);
    let result = runner.run(&ops, |ops| {
        rt.block_on(run_case(&store, &ops));
        Ok(())
    });
    if let Err(e) = result {
        panic!("backend {} disagrees with the model: {e}", store.backend());
    }
    rt.block_on(store.close()).unwrap();
}

async fn run_case(store: &Arc<dyn SessionStore>, ops: &[Op]) {
    let ns = unique_suffix();
    let sid = |s: usize| format!("m{ns}-s{s}");
    let uid = |u: usize| format!("model user {ns} #{u}");
    let pick =
        |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| GRANTS[i].to_owned()).collect() };
    let mut model: BTreeMap<usize, ModelSession> = BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        let ctx = format!("step {step}: {op:?}");
        match op {
            Op::Store {
                s,
                u,
                grants,
                hours,
            } => {
                let mut new = NewSession::new(sid(*s), uid(*u)).permissions(pick(grants));
                new = match hours {
                    Some(h) => new.ttl(Duration::from_secs(h * 3600)),
                    None => new.no_expiry(),
                };
                let stored = store.store_session(new).await.unwrap();
                let normalized = PermissionSet::new(pick(grants)).unwrap().to_vec();
                assert_eq!(stored.permissions, normalized, "{ctx}");
                model.insert(
                    *s,
                    ModelSession {
                        user: *u,
                        grants: normalized,
                        expires: hours.is_some(),
                    },
                );
            }
            Op::Update { s, grants, hours } => {
                let ttl = hours.map(|h| Duration::from_secs(h * 3600));
                let got = store
                    .update_permissions(&sid(*s), &pick(grants), ttl)
                    .await
                    .unwrap();
                assert_eq!(got, model.contains_key(s), "{ctx}");
                if let Some(m) = model.get_mut(s) {
                    m.grants = PermissionSet::new(pick(grants)).unwrap().to_vec();
                    m.expires |= hours.is_some();
                }
            }
            Op::Check { s, q } => {
                let got = store.check_permission(&sid(*s), QUERIES[*q]).await.unwrap();
                let want = model.get(s).is_some_and(|m| {
                    PermissionSet::new(&m.grants)
                        .unwrap()
                        .check(QUERIES[*q])
                        .unwrap()
                });
                assert_eq!(got, want, "{ctx}");
            }
            Op::CheckMany { s, qs } => {
                let queries: Vec<String> = qs.iter().map(|&q| QUERIES[q].to_owned()).collect();
                let got = store.check_permissions(&sid(*s), &queries).await.unwrap();
                let set = model.get(s).map(|m| PermissionSet::new(&m.grants).unwrap());
                let want: BTreeMap<String, bool> = queries
                    .iter()
                    .map(|q| (q.clone(), set.as_ref().is_some_and(|g| g.check(q).unwrap())))
                    .collect();
                assert_eq!(got, want, "{ctx}");
            }
            Op::Get { s } => {
                let got = store.get_session(&sid(*s)).await.unwrap();
                match (got, model.get(s)) {
                    (None, None) => {}
                    (Some(g), Some(m)) => {
                        assert_eq!(g.user_id, uid(m.user), "{ctx}");
                        assert_eq!(g.permissions, m.grants, "{ctx}");
                        assert_eq!(g.expires_at.is_some(), m.expires, "{ctx}");
                    }
                    (g, m) => panic!("{ctx}: backend {g:?}, model {m:?}"),
                }
            }
            Op::List { u } => {
                let got: BTreeSet<String> = store
                    .list_sessions(&uid(*u))
                    .await
                    .unwrap()
                    .into_iter()
                    .collect();
                let want: BTreeSet<String> = model
                    .iter()
                    .filter(|(_, m)| m.user == *u)
                    .map(|(s, _)| sid(*s))
                    .collect();
                assert_eq!(got, want, "{ctx}");
            }
            Op::Invalidate { s } => {
                let got = store.invalidate_session(&sid(*s)).await.unwrap();
                assert_eq!(got, model.remove(s).is_some(), "{ctx}");
            }
            Op::Extend { s, hours } => {
                let got = store
                    .extend_session_ttl(&sid(*s), Duration::from_secs(hours * 3600))
                    .await
                    .unwrap();
                assert_eq!(got, model.contains_key(s), "{ctx}");
                if let Some(m) = model.get_mut(s) {
                    m.expires = true;
                }
            }
            Op::Info { s } => {
                let got = store.get_session_info(&sid(*s)).await.unwrap();
                match (got, model.get(s)) {
                    (None, None) => {}
                    (Some(i), Some(m)) => {
                        assert_eq!(i.permission_count, m.grants.len(), "{ctx}");
                        assert_eq!(i.ttl_remaining.is_some(), m.expires, "{ctx}");
                    }
                    (g, m) => panic!("{ctx}: backend {g:?}, model {m:?}"),
                }
            }
        }
    }
    for s in model.keys() {
        store.invalidate_session(&sid(*s)).await.unwrap();
    }
}
