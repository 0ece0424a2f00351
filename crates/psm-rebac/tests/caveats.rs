//! Caveats (CEL over typed parameters) and expiring relationships, through the engine on the
//! memory store: conditional answers, context precedence, strict (OpenFGA) mode, type errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_rebac::{
    CaveatContext, Engine, Error, Expansion, MemoryStore, ObjectRef, Permissionship, Relationship,
    Schema, SubjectRef,
};

const SCHEMA: &str = r#"
use expiration

definition user {}

caveat limit(n int, max int) {
    n <= max
}

caveat on_network(ip ipaddress, cidr string) {
    ip.in_cidr(cidr)
}

definition group {
    relation member: user | user with limit | user with expiration
}

definition doc {
    relation viewer: user with limit | group#member | user with on_network
    permission view = viewer
}
"#;

fn ctx(json: &str) -> CaveatContext {
    serde_json::from_str(json).unwrap()
}

async fn engine(rels: &[&str]) -> Engine {
    let engine = Engine::new(
        Schema::parse_spicedb(SCHEMA).unwrap(),
        Arc::new(MemoryStore::new()),
    );
    engine
        .touch(rels.iter().map(|r| r.parse::<Relationship>().unwrap()))
        .await
        .unwrap();
    engine
}

async fn view(engine: &Engine, doc: &str, user: &str, context: &str) -> Permissionship {
    let d: ObjectRef = doc.parse().unwrap();
    let u: SubjectRef = user.parse().unwrap();
    engine
        .check_with_context(&d, "view", &u, ctx(context))
        .await
        .unwrap()
}

#[tokio::test]
async fn missing_parameters_give_a_conditional_answer_naming_them() {
    let e = engine(&["doc:a#viewer@user:ann[limit]"]).await;
    assert_eq!(
        view(&e, "doc:a", "user:ann", "{}").await,
        Permissionship::Conditional {
            missing: vec!["max".to_owned(), "n".to_owned()]
        }
    );
    assert_eq!(
        view(&e, "doc:a", "user:ann", r#"{"n": 3, "max": 5}"#).await,
        Permissionship::HasPermission
    );
    assert_eq!(
        view(&e, "doc:a", "user:ann", r#"{"n": 6, "max": 5}"#).await,
        Permissionship::NoPermission
    );
    // Plain `check` never answers yes for a conditional result.
    let d: ObjectRef = "doc:a".parse().unwrap();
    let u: SubjectRef = "user:ann".parse().unwrap();
    assert!(!e.check(&d, "view", &u).await.unwrap());
}

#[tokio::test]
async fn stored_context_wins_over_the_request_context() {
    let e = engine(&[r#"doc:a#viewer@user:ann[limit:{"max":5}]"#]).await;
    assert_eq!(
        view(&e, "doc:a", "user:ann", r#"{"n": 4, "max": 100}"#).await,
        Permissionship::HasPermission
    );
    assert_eq!(
        view(&e, "doc:a", "user:ann", r#"{"n": 50, "max": 100}"#).await,
        Permissionship::NoPermission
    );
}

#[tokio::test]
async fn strict_scopes_turn_missing_parameters_into_an_error() {
    let e = engine(&[r#"doc:a#viewer@user:ann[limit:{"max":5}]"#]).await;
    let d: ObjectRef = "doc:a".parse().unwrap();
    let u: SubjectRef = "user:ann".parse().unwrap();
    let r = e.scope().require_context().check(&d, "view", &u).await;
    assert_eq!(
        r,
        Err(Error::MissingContext {
            parameters: vec!["n".to_owned()]
        })
    );
    let ok = e
        .scope()
        .with_context(ctx(r#"{"n": 1}"#))
        .require_context()
        .check(&d, "view", &u)
        .await;
    assert_eq!(ok, Ok(true));
}

#[tokio::test]
async fn a_parameter_of_the_wrong_type_is_a_typed_error() {
    let e = engine(&["doc:a#viewer@user:ann[limit]"]).await;
    let d: ObjectRef = "doc:a".parse().unwrap();
    let u: SubjectRef = "user:ann".parse().unwrap();
    let r = e
        .check_with_context(&d, "view", &u, ctx(r#"{"n": "three", "max": 5}"#))
        .await;
    assert!(
        matches!(&r, Err(Error::CaveatEvaluation { caveat, reason }) if caveat == "limit" && reason.contains("`n`")),
        "{r:?}"
    );
}

#[tokio::test]
async fn expired_relationships_are_ignored_and_live_ones_count() {
    let e = engine(&[
        "group:old#member@user:ann[expiration:2020-01-01T00:00:00Z]",
        "group:new#member@user:bob[expiration:2300-01-01T00:00:00Z]",
        "doc:a#viewer@group:old#member",
        "doc:a#viewer@group:new#member",
    ])
    .await;
    assert_eq!(
        view(&e, "doc:a", "user:ann", "{}").await,
        Permissionship::NoPermission
    );
    assert_eq!(
        view(&e, "doc:a", "user:bob", "{}").await,
        Permissionship::HasPermission
    );
    let d: ObjectRef = "doc:a".parse().unwrap();
    let ann: SubjectRef = "user:ann".parse().unwrap();
    assert_eq!(
        e.lookup_resources("doc", "view", &ann).await.unwrap(),
        Vec::<String>::new()
    );
    let found = e.lookup_subjects(&d, "view", "user", None).await.unwrap();
    let names: Vec<String> = found.iter().map(|f| f.subject.to_string()).collect();
    assert_eq!(names, ["user:bob"]);
}

#[tokio::test]
async fn ip_addresses_are_matched_against_networks() {
    let e = engine(&[r#"doc:a#viewer@user:ann[on_network:{"cidr":"10.1.0.0/16"}]"#]).await;
    assert_eq!(
        view(&e, "doc:a", "user:ann", r#"{"ip": "10.1.2.3"}"#).await,
        Permissionship::HasPermission
    );
    assert_eq!(
        view(&e, "doc:a", "user:ann", r#"{"ip": "10.2.0.1"}"#).await,
        Permissionship::NoPermission
    );
    let d: ObjectRef = "doc:a".parse().unwrap();
    let u: SubjectRef = "user:ann".parse().unwrap();
    let bad = e
        .check_with_context(&d, "view", &u, ctx(r#"{"ip": "not-an-ip"}"#))
        .await;
    assert!(
        matches!(bad, Err(Error::CaveatEvaluation { .. })),
        "{bad:?}"
    );
}

#[tokio::test]
async fn an_unknown_caveat_or_a_bad_expiration_is_refused_at_write() {
    let e = engine(&[]).await;
    let unknown: Relationship = "doc:a#viewer@user:ann[nope]".parse().unwrap();
    assert!(e.touch([unknown]).await.is_err());
    // A bad expiration is refused when the relationship is parsed: no relationship holds one.
    let bad = "group:g#member@user:ann[expiration:tomorrow]".parse::<Relationship>();
    assert!(
        matches!(&bad, Err(Error::RelationshipSyntax { reason, .. }) if reason.contains("RFC 3339")),
        "{bad:?}"
    );
}

#[tokio::test]
async fn lookups_with_permissionship_report_conditional_resources_as_check_does() {
    let engine = engine(&[
        "doc:a#viewer@user:ann[limit:{\"max\":5}]",
        "doc:b#viewer@group:eng#member",
        "group:eng#member@user:ann",
        "doc:c#viewer@user:bob[limit]",
        "doc:d#viewer@user:ann[limit:{\"n\":9,\"max\":5}]",
    ])
    .await;
    let ann: SubjectRef = "user:ann".parse().unwrap();
    for context in ["{}", r#"{"n": 1}"#, r#"{"n": 7}"#] {
        let scope = engine.scope().with_context(ctx(context));
        let found = scope
            .lookup_resources_permissionship("doc", "view", &ann)
            .await
            .unwrap();
        // Exactly the documents check does not deny, with check's answer for each.
        let mut expected = Vec::new();
        for doc in ["a", "b", "c", "d"] {
            let p = view(&engine, &format!("doc:{doc}"), "user:ann", context).await;
            if p != Permissionship::NoPermission {
                expected.push((doc.to_owned(), p));
            }
        }
        let got: Vec<_> = found
            .into_iter()
            .map(|f| (f.id, f.permissionship))
            .collect();
        assert_eq!(got, expected, "context {context}");
    }
    let found = engine
        .scope()
        .lookup_resources_permissionship("doc", "view", &ann)
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[0].permissionship,
        Permissionship::Conditional {
            missing: vec!["n".to_owned()]
        }
    );
    // The plain lookup keeps only definite answers.
    assert_eq!(
        engine.lookup_resources("doc", "view", &ann).await.unwrap(),
        ["b"]
    );
    let strict = engine
        .scope()
        .require_context()
        .lookup_resources_permissionship("doc", "view", &ann)
        .await;
    assert!(
        matches!(strict, Err(Error::MissingContext { .. })),
        "{strict:?}"
    );
}

#[tokio::test]
async fn expand_leaves_out_expired_relationships_and_marks_caveated_subjects() {
    let e = engine(&[
        "group:g#member@user:ann[expiration:2020-01-01T00:00:00Z]",
        "group:g#member@user:bob[expiration:2300-01-01T00:00:00Z]",
        "group:g#member@user:cat",
        "group:g#member@user:dan[limit:{\"max\":2}]",
    ])
    .await;
    let g: ObjectRef = "group:g".parse().unwrap();
    let tree = e.expand(&g, "member").await.unwrap();
    let names: Vec<String> = tree
        .leaf_subjects()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["user:bob", "user:cat", "user:dan"]);
    let Expansion::Union(parts) = &tree.expansion else {
        panic!("a relation with caveated members expands to a union: {tree:?}");
    };
    let plain: Vec<String> = parts
        .iter()
        .filter_map(|p| match &p.expansion {
            Expansion::Leaf(s) => Some(s.iter().map(ToString::to_string)),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(plain, ["user:bob", "user:cat"]);
    let caveated: Vec<(String, String)> = parts
        .iter()
        .filter_map(|p| match &p.expansion {
            Expansion::Caveated(s) => Some(s.clone()),
            _ => None,
        })
        .flatten()
        .map(|c| (c.subject.to_string(), c.caveat.name))
        .collect();
    assert_eq!(caveated, [("user:dan".to_owned(), "limit".to_owned())]);
}
