//! Engine behaviour: check, lookups, expand, writes with preconditions, contextual tuples,
//! cycles and the depth limit — including regressions for dj_magister's flaws.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_rebac::{
    CheckItem, Engine, EngineConfig, Error, Expansion, MemoryStore, ObjectRef, Permissionship,
    Precondition, Relationship, RelationshipFilter, RelationshipUpdate, Schema, SubjectRef,
};

const SCHEMA: &str = r#"
definition user {}
definition group {
    relation member: user | user:* | group#member
}
definition folder {
    relation parent: folder
    relation viewer: user | group#member
    permission view = viewer + parent->view
}
definition document {
    relation parent: folder | document
    relation owner: user
    relation viewer: user | user:* | group#member
    relation banned: user
    relation approver: user
    permission view = (viewer + owner + parent->view) - banned
    permission approve = view & approver
}
"#;

fn rel(s: &str) -> Relationship {
    s.parse().unwrap()
}
fn obj(s: &str) -> ObjectRef {
    s.parse().unwrap()
}
fn sub(s: &str) -> SubjectRef {
    s.parse().unwrap()
}

async fn engine(rels: &[&str]) -> Engine {
    let e = Engine::new(
        Schema::parse_spicedb(SCHEMA).unwrap(),
        Arc::new(MemoryStore::new()),
    );
    e.touch(rels.iter().map(|r| rel(r))).await.unwrap();
    e
}

#[tokio::test]
async fn check_follows_nested_groups_and_folder_parents() {
    let e = engine(&[
        "group:eng#member@user:alice",
        "group:all#member@group:eng#member",
        "folder:root#viewer@group:all#member",
        "folder:sub#parent@folder:root",
        "document:d#parent@folder:sub",
    ])
    .await;
    assert!(
        e.check(&obj("document:d"), "view", &sub("user:alice"))
            .await
            .unwrap()
    );
    assert!(
        !e.check(&obj("document:d"), "view", &sub("user:bob"))
            .await
            .unwrap()
    );
    assert!(
        e.check(&obj("document:d"), "view", &sub("group:eng#member"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn exclusion_and_intersection_are_respected() {
    let e = engine(&[
        "document:d#viewer@user:alice",
        "document:d#viewer@user:bob",
        "document:d#banned@user:bob",
        "document:d#approver@user:alice",
        "document:d#approver@user:carol",
    ])
    .await;
    let d = obj("document:d");
    assert!(e.check(&d, "view", &sub("user:alice")).await.unwrap());
    assert!(!e.check(&d, "view", &sub("user:bob")).await.unwrap());
    assert!(e.check(&d, "approve", &sub("user:alice")).await.unwrap());
    assert!(!e.check(&d, "approve", &sub("user:carol")).await.unwrap());
}

#[tokio::test]
async fn wildcard_grants_everyone_except_the_excluded() {
    let e = engine(&["document:d#viewer@user:*", "document:d#banned@user:mallory"]).await;
    let d = obj("document:d");
    assert!(e.check(&d, "view", &sub("user:anyone")).await.unwrap());
    assert!(!e.check(&d, "view", &sub("user:mallory")).await.unwrap());
    let found = e.lookup_subjects(&d, "view", "user", None).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject, sub("user:*"));
    assert_eq!(found[0].excluded, vec![sub("user:mallory")]);
    assert!(found[0].covers(&sub("user:anyone")));
    assert!(!found[0].covers(&sub("user:mallory")));
}

#[tokio::test]
async fn parent_cycles_terminate_and_answer_false() {
    // dj_magister recursed forever on `parent` cycles.
    let e = engine(&[
        "document:a#parent@document:b",
        "document:b#parent@document:a",
        "folder:x#parent@folder:y",
        "folder:y#parent@folder:x",
        "document:c#parent@folder:x",
        "group:g1#member@group:g2#member",
        "group:g2#member@group:g1#member",
    ])
    .await;
    assert!(
        !e.check(&obj("document:a"), "view", &sub("user:u"))
            .await
            .unwrap()
    );
    assert!(
        !e.check(&obj("document:c"), "view", &sub("user:u"))
            .await
            .unwrap()
    );
    assert!(
        !e.check(&obj("group:g1"), "member", &sub("user:u"))
            .await
            .unwrap()
    );
    assert!(
        e.lookup_resources("document", "view", &sub("user:u"))
            .await
            .unwrap()
            .is_empty()
    );
    let tree = e.expand(&obj("group:g1"), "member").await.unwrap();
    assert!(format!("{tree:?}").contains("Cycle"));
}

#[tokio::test]
async fn cycles_still_find_members_reachable_through_them() {
    let e = engine(&[
        "group:g1#member@group:g2#member",
        "group:g2#member@group:g1#member",
        "group:g2#member@user:alice",
    ])
    .await;
    assert!(
        e.check(&obj("group:g1"), "member", &sub("user:alice"))
            .await
            .unwrap()
    );
    let subjects = e
        .lookup_subjects(&obj("group:g1"), "member", "user", None)
        .await
        .unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].subject, sub("user:alice"));
}

#[tokio::test]
async fn depth_limit_returns_a_typed_error() {
    let schema = Schema::parse_spicedb(SCHEMA).unwrap();
    let config = EngineConfig {
        max_depth: 5,
        ..EngineConfig::default()
    };
    let e = Engine::with_config(schema, Arc::new(MemoryStore::new()), config);
    let mut rels = vec![rel("folder:f0#viewer@user:alice")];
    for i in 1..10 {
        rels.push(rel(&format!("folder:f{i}#parent@folder:f{}", i - 1)));
    }
    e.touch(rels).await.unwrap();
    assert!(
        e.check(&obj("folder:f2"), "view", &sub("user:alice"))
            .await
            .unwrap()
    );
    let err = e
        .check(&obj("folder:f9"), "view", &sub("user:alice"))
        .await
        .unwrap_err();
    assert_eq!(err, Error::DepthExceeded { limit: 5 });
}

#[tokio::test]
async fn lookup_resources_agrees_with_check_on_nested_groups() {
    // dj_magister's lookups missed resources reachable through nested groups.
    let e = engine(&[
        "group:eng#member@user:alice",
        "group:all#member@group:eng#member",
        "document:d1#viewer@group:all#member",
        "document:d2#owner@user:alice",
        "document:d3#viewer@user:bob",
        "folder:f#viewer@group:eng#member",
        "document:d4#parent@folder:f",
        "document:d5#parent@document:d4",
        "document:d5#banned@user:alice",
    ])
    .await;
    let alice = sub("user:alice");
    let found = e
        .lookup_resources("document", "view", &alice)
        .await
        .unwrap();
    assert_eq!(found, ["d1", "d2", "d4"]);
    for id in ["d1", "d2", "d3", "d4", "d5"] {
        let c = e
            .check(&obj(&format!("document:{id}")), "view", &alice)
            .await
            .unwrap();
        assert_eq!(c, found.iter().any(|x| x == id), "{id}");
    }
}

#[tokio::test]
async fn lookup_resources_pages_with_a_cursor() {
    let rels: Vec<String> = (0..25)
        .map(|i| format!("document:d{i:02}#viewer@user:alice"))
        .collect();
    let refs: Vec<&str> = rels.iter().map(String::as_str).collect();
    let e = engine(&refs).await;
    let scope = e.scope();
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = scope
            .lookup_resources_page(
                "document",
                "view",
                &sub("user:alice"),
                cursor.as_deref(),
                10,
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 10);
        all.extend(page.items);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(all.len(), 25);
    assert_eq!(
        all,
        e.lookup_resources("document", "view", &sub("user:alice"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn contextual_relationships_apply_to_one_request_only() {
    let e = engine(&[]).await;
    let d = obj("document:d");
    let scope = e
        .with_contextual(vec![rel("document:d#viewer@user:alice")])
        .unwrap();
    assert!(scope.check(&d, "view", &sub("user:alice")).await.unwrap());
    assert_eq!(
        scope
            .lookup_resources("document", "view", &sub("user:alice"))
            .await
            .unwrap(),
        ["d"]
    );
    assert!(!e.check(&d, "view", &sub("user:alice")).await.unwrap());
    assert!(
        e.with_contextual(vec![rel("document:d#view@user:alice")])
            .is_err()
    );
}

#[tokio::test]
async fn writes_validate_against_the_schema() {
    let e = engine(&[]).await;
    let bad = [
        ("document:d#view@user:a", "permission"),
        ("document:d#viewer@folder:f", "not allowed"),
        ("document:d#nope@user:a", "not found"),
        ("widget:d#viewer@user:a", "not found"),
        ("document:d#owner@user:*", "not allowed"),
    ];
    for (r, needle) in bad {
        let err = e.touch([rel(r)]).await.unwrap_err();
        assert!(err.to_string().contains(needle), "{r}: {err}");
    }
    let caveated = rel("document:d#viewer@user:a[c]");
    assert!(e.touch([caveated]).await.is_err());
}

#[tokio::test]
async fn preconditions_make_writes_atomic() {
    let e = engine(&["document:d#owner@user:alice"]).await;
    let owner_filter = RelationshipFilter::resource("document", "d", Some("owner"));
    let w = e
        .write(
            &[RelationshipUpdate::create(rel(
                "document:d#viewer@user:bob",
            ))],
            &[Precondition::must_not_match(owner_filter.clone())],
        )
        .await;
    assert!(matches!(
        w,
        Err(Error::PreconditionFailed {
            must_exist: false,
            ..
        })
    ));
    assert!(
        !e.check(&obj("document:d"), "view", &sub("user:bob"))
            .await
            .unwrap()
    );
    e.write(
        &[
            RelationshipUpdate::create(rel("document:d#viewer@user:bob")),
            RelationshipUpdate::delete(rel("document:d#owner@user:alice")),
        ],
        &[Precondition::must_match(owner_filter.clone())],
    )
    .await
    .unwrap();
    assert!(
        e.check(&obj("document:d"), "view", &sub("user:bob"))
            .await
            .unwrap()
    );
    assert!(e.read(&owner_filter, None).await.unwrap().is_empty());
    let dup = e
        .write(
            &[RelationshipUpdate::create(rel(
                "document:d#viewer@user:bob",
            ))],
            &[],
        )
        .await;
    assert!(matches!(dup, Err(Error::AlreadyExists { .. })));
}

#[tokio::test]
async fn read_by_subject_is_a_reverse_lookup() {
    let e = engine(&[
        "document:a#viewer@user:x",
        "document:b#owner@user:x",
        "document:c#viewer@user:y",
    ])
    .await;
    let mut got: Vec<String> = e
        .read(&RelationshipFilter::subject(&sub("user:x")), None)
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    got.sort();
    assert_eq!(got, ["document:a#viewer@user:x", "document:b#owner@user:x"]);
}

#[tokio::test]
async fn expand_shows_the_userset_tree() {
    let e = engine(&[
        "group:eng#member@user:alice",
        "document:d#viewer@group:eng#member",
    ])
    .await;
    let tree = e.expand(&obj("document:d"), "view").await.unwrap();
    let leaves = tree.leaf_subjects();
    assert!(leaves.contains(&sub("user:alice")));
    assert!(leaves.contains(&sub("group:eng#member")));
    assert!(matches!(tree.expansion, Expansion::Exclusion(..)));
}

#[tokio::test]
async fn check_bulk_matches_individual_checks() {
    let e = engine(&[
        "document:a#viewer@user:x",
        "document:b#banned@user:x",
        "document:b#viewer@user:x",
    ])
    .await;
    let items: Vec<CheckItem> = ["document:a", "document:b", "document:c"]
        .iter()
        .map(|d| CheckItem {
            resource: obj(d),
            permission: "view".into(),
            subject: sub("user:x"),
        })
        .collect();
    assert_eq!(
        e.scope().check_bulk(&items).await.unwrap(),
        [true, false, false]
    );
}

#[tokio::test]
async fn unknown_request_types_and_relations_are_errors() {
    let e = engine(&[]).await;
    assert!(matches!(
        e.check(&obj("nope:x"), "view", &sub("user:a")).await,
        Err(Error::UnknownType { .. })
    ));
    assert!(matches!(
        e.check(&obj("document:x"), "nope", &sub("user:a")).await,
        Err(Error::UnknownRelation { .. })
    ));
    assert!(matches!(
        e.lookup_resources("document", "view", &sub("group:g#nope"))
            .await,
        Err(Error::UnknownRelation { .. })
    ));
}

#[tokio::test]
async fn lookup_subjects_pages_cover_every_subject_once() {
    let rels: Vec<String> = (0..7)
        .map(|i| format!("document:d#viewer@user:u{i}"))
        .collect();
    let refs: Vec<&str> = rels.iter().map(String::as_str).collect();
    let e = engine(&refs).await;
    let scope = e.scope();
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let (items, next) = scope
            .lookup_subjects_page(
                &obj("document:d"),
                "view",
                "user",
                None,
                cursor.as_deref(),
                3,
            )
            .await
            .unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.into_iter().map(|f| f.subject.to_string()));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..7).map(|i| format!("user:u{i}")).collect();
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn cycles_among_plain_relations_do_not_turn_exclusions_unknown() {
    // group#member is a plain relation: membership is reachability, so a cycle of groups that
    // does not contain the subject is a definite "no" and the exclusion does not swallow access.
    let schema = Schema::parse_spicedb(
        "definition user {}
         definition group { relation member: user | group#member }
         definition doc {
             relation viewer: user
             relation banned: user | group#member
             permission view = viewer - banned
         }",
    )
    .unwrap();
    let e = Engine::new(schema, Arc::new(MemoryStore::new()));
    e.touch([
        rel("group:g1#member@group:g2#member"),
        rel("group:g2#member@group:g1#member"),
        rel("group:g2#member@user:mallory"),
        rel("doc:d#banned@group:g1#member"),
        rel("doc:d#viewer@user:alice"),
        rel("doc:d#viewer@user:mallory"),
    ])
    .await
    .unwrap();
    assert!(
        e.check(&obj("doc:d"), "view", &sub("user:alice"))
            .await
            .unwrap()
    );
    assert!(
        !e.check(&obj("doc:d"), "view", &sub("user:mallory"))
            .await
            .unwrap()
    );
    assert_eq!(
        e.lookup_resources("doc", "view", &sub("user:alice"))
            .await
            .unwrap(),
        ["d"]
    );
}

#[tokio::test]
async fn membership_cycles_do_not_turn_exclusions_unknown_when_conditions_are_evaluated() {
    // The same graph under a schema with a caveat and an expiring relation: every relationship's
    // condition is evaluated and no backward membership walk answers, yet the cycle of groups
    // without the subject is the same definite "no".
    let schema = Schema::parse_spicedb(
        "use expiration
         caveat ok(x int) { x == 1 }
         definition user {}
         definition group { relation member: user | group#member | group#member with ok }
         definition doc {
             relation viewer: user | user with expiration
             relation banned: user | group#member
             permission view = viewer - banned
             permission both = viewer & banned
         }",
    )
    .unwrap();
    let e = Engine::new(schema, Arc::new(MemoryStore::new()));
    e.touch([
        rel("group:g1#member@group:g2#member[ok:{\"x\":1}]"),
        rel("group:g2#member@group:g1#member"),
        rel("group:g2#member@user:mallory"),
        rel("doc:d#banned@group:g1#member"),
        rel("doc:d#viewer@user:alice"),
        rel("doc:d#viewer@user:mallory"),
    ])
    .await
    .unwrap();
    for (user, view) in [("user:alice", true), ("user:mallory", false)] {
        assert_eq!(
            e.check(&obj("doc:d"), "view", &sub(user)).await.unwrap(),
            view,
            "{user} view"
        );
        assert_eq!(
            e.check(&obj("doc:d"), "both", &sub(user)).await.unwrap(),
            !view,
            "{user} both"
        );
        assert_eq!(
            e.check_with_context(&obj("doc:d"), "view", &sub(user), Default::default())
                .await
                .unwrap(),
            if view {
                Permissionship::HasPermission
            } else {
                Permissionship::NoPermission
            },
            "{user} view with context"
        );
    }
    assert_eq!(
        e.lookup_resources("doc", "view", &sub("user:alice"))
            .await
            .unwrap(),
        ["d"]
    );
}
