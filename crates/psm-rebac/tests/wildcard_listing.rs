//! `lookup_subjects` lists a concrete subject beside a wildcard only when a path names it, as
//! SpiceDB's LookupSubjects and OpenFGA's ListUsers do (found by the differential against both):
//! a subject whose own relationship does not hold, but whom `user:*` covers, is not listed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_rebac::{
    Engine, EngineConfig, IdRules, MemoryStore, ObjectRef, Permissionship, Relationship, Schema,
};

const MODEL: &str = "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user, user:*, user with cc]\n    define left: [user, user:*]\n    define right: [user, user:*]\n    define both: left and right\n    define either: left or right\n    define only_left: left but not right\ncondition cc(x: int) {\n  x > 1\n}\n";

const SCHEMA: &str = "caveat cc(x int) { x > 1 }\ndefinition user {}\ndefinition doc {\n  relation viewer: user | user:* | user with cc\n  relation left: user | user:*\n  relation right: user | user:*\n  permission both = left & right\n  permission either = left + right\n  permission only_left = left - right\n}\n";

async fn engines() -> Vec<Engine> {
    let openfga = Engine::with_config(
        Schema::parse_openfga(MODEL).unwrap(),
        Arc::new(MemoryStore::new()),
        EngineConfig {
            max_depth: 25,
            id_rules: IdRules::OpenFga,
            ..EngineConfig::default()
        },
    );
    let spicedb = Engine::new(
        Schema::parse_spicedb(SCHEMA).unwrap(),
        Arc::new(MemoryStore::new()),
    );
    let mut out = Vec::new();
    for e in [openfga, spicedb] {
        let rels: Vec<Relationship> = [
            "doc:1#viewer@user:*",
            "doc:1#viewer@user:anne",
            r#"doc:1#viewer@user:bob[cc:{"x":0}]"#,
            "doc:1#left@user:*",
            "doc:1#right@user:*",
            "doc:1#right@user:carl",
            "doc:2#left@user:*",
            "doc:2#right@user:dan",
            "doc:2#left@user:erin",
        ]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
        e.touch(rels).await.unwrap();
        out.push(e);
    }
    out
}

async fn listed(e: &Engine, doc: &str, permission: &str) -> Vec<String> {
    let doc = ObjectRef::new("doc", doc);
    let found = e
        .lookup_subjects(&doc, permission, "user", None)
        .await
        .unwrap();
    found.iter().map(|f| f.subject.to_string()).collect()
}

#[tokio::test]
async fn a_subject_only_the_wildcard_covers_is_not_listed_by_itself() {
    for e in engines().await {
        // bob's own relationship does not hold (x = 0): only `user:*` covers him.
        assert_eq!(listed(&e, "1", "viewer").await, ["user:*", "user:anne"]);
        // He still has the permission, and is no exclusion of the wildcard.
        let bob = "user:bob".parse().unwrap();
        assert!(
            e.check(&ObjectRef::new("doc", "1"), "viewer", &bob)
                .await
                .unwrap()
        );
        let doc = ObjectRef::new("doc", "1");
        let found = e
            .lookup_subjects(&doc, "viewer", "user", None)
            .await
            .unwrap();
        assert!(found.iter().all(|f| f.excluded.is_empty()), "{found:?}");
    }
}

#[tokio::test]
async fn set_operations_list_subjects_as_sets_with_a_wildcard_do() {
    for e in engines().await {
        // {*} ∩ {*, carl} = {*, carl}; {*} ∪ {*, carl} = {*, carl}.
        assert_eq!(listed(&e, "1", "both").await, ["user:*", "user:carl"]);
        assert_eq!(listed(&e, "1", "either").await, ["user:*", "user:carl"]);
        // {*, erin} ∩ {dan} = {dan}: the wildcard lets dan through, erin is not in right.
        assert_eq!(listed(&e, "2", "both").await, ["user:dan"]);
        // {*, erin} − {dan}: erin is listed by name, the wildcard stands for the rest.
        assert_eq!(listed(&e, "2", "only_left").await, ["user:*", "user:erin"]);
    }
}

/// SpiceDB's LookupSubjects reports a subject whose caveat lacks parameters as CONDITIONAL
/// (found by the differential: `folder:f2#rel0@user:u1[flag_set:{"key":"a"}]` without `flags`).
#[tokio::test]
async fn conditional_subjects_are_reported_with_their_missing_parameters() {
    let schema = "caveat flag_set(flags map<bool>, key string) { flags[key] }\ndefinition user {}\ndefinition folder {\n  relation viewer: user with flag_set | user:* with flag_set | user\n  permission view = viewer\n}\n";
    let e = Engine::new(
        Schema::parse_spicedb(schema).unwrap(),
        Arc::new(MemoryStore::new()),
    );
    e.touch(
        [
            r#"folder:f2#viewer@user:u1[flag_set:{"key":"a"}]"#,
            "folder:f2#viewer@user:u2",
            r#"folder:f3#viewer@user:*[flag_set:{"key":"b"}]"#,
        ]
        .map(|t| t.parse::<Relationship>().unwrap()),
    )
    .await
    .unwrap();
    let f2 = ObjectRef::new("folder", "f2");
    let found = e
        .scope()
        .lookup_subjects_permissionship(&f2, "view", "user", None)
        .await
        .unwrap();
    let words: Vec<(String, Permissionship)> = found
        .iter()
        .map(|f| (f.found.subject.to_string(), f.permissionship.clone()))
        .collect();
    let cond = Permissionship::Conditional {
        missing: vec!["flags".into()],
    };
    assert_eq!(
        words,
        [
            ("user:u1".to_owned(), cond.clone()),
            ("user:u2".to_owned(), Permissionship::HasPermission)
        ]
    );
    // lookup_subjects keeps only what holds without further context.
    let plain = e.lookup_subjects(&f2, "view", "user", None).await.unwrap();
    assert_eq!(plain.len(), 1);
    // With the parameter supplied, u1 is decided.
    let mut ctx = psm_rebac::CaveatContext::new();
    ctx.insert("flags".into(), serde_json::json!({"a": true}));
    let found = e
        .scope()
        .with_context(ctx)
        .lookup_subjects_permissionship(&f2, "view", "user", None)
        .await
        .unwrap();
    assert!(
        found
            .iter()
            .all(|f| f.permissionship == Permissionship::HasPermission)
    );
    assert_eq!(found.len(), 2);
    // A conditional wildcard is reported as such.
    let f3 = ObjectRef::new("folder", "f3");
    let found = e
        .scope()
        .lookup_subjects_permissionship(&f3, "view", "user", None)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].found.subject.to_string(), "user:*");
    assert_eq!(found[0].permissionship, cond);
}
