//! The cases of the tuple-store suite; each takes a fresh, empty store.

use std::sync::Arc;

use super::model::{equivalence, sorted};
use crate::engine::{CheckItem, Engine, EngineConfig};
use crate::error::Error;
use crate::filter::{
    Precondition, RelationshipFilter, RelationshipUpdate, SubjectFilter, SubjectRelationFilter,
};
use crate::relationship::{ObjectRef, Relationship, SubjectRef};
use crate::schema::Schema;
use crate::store::TupleStore;

/// The schema the engine cases use.
pub const SCHEMA: &str = r#"
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

/// Parses a relationship.
pub fn rel(s: &str) -> Relationship {
    s.parse().unwrap()
}
/// Parses an object.
pub fn obj(s: &str) -> ObjectRef {
    s.parse().unwrap()
}
/// Parses a subject.
pub fn sub(s: &str) -> SubjectRef {
    s.parse().unwrap()
}

async fn all(store: &dyn TupleStore) -> Vec<String> {
    sorted(
        store
            .read(&RelationshipFilter::default(), None)
            .await
            .unwrap(),
    )
}

async fn engine(store: Arc<dyn TupleStore>, rels: &[&str]) -> Engine {
    let e = Engine::new(Schema::parse_spicedb(SCHEMA).unwrap(), store);
    if !rels.is_empty() {
        e.touch(rels.iter().map(|r| rel(r))).await.unwrap();
    }
    e
}

pub async fn create_touch_delete_follow_the_memory_store(store: Arc<dyn TupleStore>) {
    let a = rel("document:d#viewer@user:alice");
    let b = rel("document:d#viewer@group:eng#member");
    store
        .write(&[RelationshipUpdate::create(a.clone())], &[])
        .await
        .unwrap();
    assert!(store.contains(&a).await.unwrap());
    assert!(!store.contains(&b).await.unwrap());
    // touch keeps an existing relationship and adds a new one
    store
        .write(
            &[
                RelationshipUpdate::touch(a.clone()),
                RelationshipUpdate::touch(b.clone()),
            ],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        all(&*store).await,
        [
            "document:d#viewer@group:eng#member",
            "document:d#viewer@user:alice"
        ]
    );
    // deleting a missing relationship is fine; deleting a present one removes it
    store
        .write(
            &[
                RelationshipUpdate::delete(a.clone()),
                RelationshipUpdate::delete(rel("document:zz#viewer@user:nobody")),
            ],
            &[],
        )
        .await
        .unwrap();
    assert!(!store.contains(&a).await.unwrap());
    assert_eq!(all(&*store).await, ["document:d#viewer@group:eng#member"]);
    // a deleted relationship can be created again
    store
        .write(&[RelationshipUpdate::create(a.clone())], &[])
        .await
        .unwrap();
    assert!(store.contains(&a).await.unwrap());
}

pub async fn create_of_an_existing_relationship_fails_and_writes_nothing(
    store: Arc<dyn TupleStore>,
) {
    let a = rel("document:d#viewer@user:alice");
    store
        .write(&[RelationshipUpdate::touch(a.clone())], &[])
        .await
        .unwrap();
    let before = all(&*store).await;
    let err = store
        .write(
            &[
                RelationshipUpdate::touch(rel("document:d#owner@user:bob")),
                RelationshipUpdate::delete(a.clone()),
                RelationshipUpdate::create(rel("document:e#viewer@user:carol")),
                RelationshipUpdate::create(rel("document:d#viewer@user:alice")),
            ],
            &[],
        )
        .await;
    // the delete came before the create of the same key: a repeat, not an existing row
    assert!(
        matches!(err, Err(Error::RepeatedRelationship { .. })),
        "{err:?}"
    );
    assert_eq!(all(&*store).await, before);
    let err = store
        .write(
            &[
                RelationshipUpdate::touch(rel("document:d#owner@user:bob")),
                RelationshipUpdate::create(a.clone()),
            ],
            &[],
        )
        .await;
    assert!(
        matches!(&err, Err(Error::AlreadyExists { relationship }) if relationship == "document:d#viewer@user:alice"),
        "{err:?}"
    );
    assert_eq!(all(&*store).await, before, "a failed write changes nothing");
}

pub async fn repeated_relationship_in_one_write_fails_and_writes_nothing(
    store: Arc<dyn TupleStore>,
) {
    let err = store
        .write(
            &[
                RelationshipUpdate::touch(rel("document:d#viewer@user:alice")),
                RelationshipUpdate::touch(rel("document:d#owner@user:alice")),
                RelationshipUpdate::touch(rel("document:d#viewer@user:alice")),
            ],
            &[],
        )
        .await;
    assert!(
        matches!(err, Err(Error::RepeatedRelationship { .. })),
        "{err:?}"
    );
    assert!(all(&*store).await.is_empty());
}

pub async fn preconditions_are_checked_atomically(store: Arc<dyn TupleStore>) {
    let owner = RelationshipFilter::resource("document", "d", Some("owner"));
    let w = store
        .write(
            &[RelationshipUpdate::touch(rel("document:d#viewer@user:bob"))],
            &[Precondition::must_match(owner.clone())],
        )
        .await;
    assert!(
        matches!(
            w,
            Err(Error::PreconditionFailed {
                must_exist: true,
                ..
            })
        ),
        "{w:?}"
    );
    assert!(all(&*store).await.is_empty());
    store
        .write(
            &[RelationshipUpdate::touch(rel(
                "document:d#owner@user:alice",
            ))],
            &[Precondition::must_not_match(owner.clone())],
        )
        .await
        .unwrap();
    let w = store
        .write(
            &[RelationshipUpdate::touch(rel("document:d#viewer@user:bob"))],
            &[
                Precondition::must_match(owner.clone()),
                Precondition::must_not_match(RelationshipFilter::subject(&sub("user:alice"))),
            ],
        )
        .await;
    assert!(
        matches!(
            w,
            Err(Error::PreconditionFailed {
                must_exist: false,
                ..
            })
        ),
        "{w:?}"
    );
    assert_eq!(all(&*store).await, ["document:d#owner@user:alice"]);
    store
        .write(
            &[
                RelationshipUpdate::touch(rel("document:d#viewer@user:bob")),
                RelationshipUpdate::delete(rel("document:d#owner@user:alice")),
            ],
            &[Precondition::must_match(owner.clone())],
        )
        .await
        .unwrap();
    assert_eq!(all(&*store).await, ["document:d#viewer@user:bob"]);
}

pub async fn revisions_increase_with_every_write(store: Arc<dyn TupleStore>) {
    let r1 = store
        .write(
            &[RelationshipUpdate::touch(rel("document:d#viewer@user:a"))],
            &[],
        )
        .await
        .unwrap();
    let r2 = store
        .write(
            &[RelationshipUpdate::delete(rel("document:d#viewer@user:a"))],
            &[],
        )
        .await
        .unwrap();
    let failed = store
        .write(
            &[RelationshipUpdate::touch(rel("document:d#viewer@user:a"))],
            &[Precondition::must_match(RelationshipFilter::resource(
                "document", "x", None,
            ))],
        )
        .await;
    assert!(failed.is_err());
    let r3 = store
        .write(
            &[RelationshipUpdate::touch(rel("document:d#viewer@user:b"))],
            &[],
        )
        .await
        .unwrap();
    assert!(r1 < r2 && r2 < r3, "{r1} {r2} {r3}");
}

pub async fn reads_use_forward_and_reverse_filters(store: Arc<dyn TupleStore>) {
    let rels = [
        "document:a#viewer@user:x",
        "document:b#owner@user:x",
        "document:c#viewer@user:y",
        "document:c#viewer@group:g#member",
        "folder:f#viewer@user:x",
        "group:g#member@user:x",
    ];
    let updates: Vec<_> = rels
        .iter()
        .map(|r| RelationshipUpdate::touch(rel(r)))
        .collect();
    store.write(&updates, &[]).await.unwrap();
    let read = |f: RelationshipFilter| {
        let store = store.clone();
        async move { sorted(store.read(&f, None).await.unwrap()) }
    };
    assert_eq!(
        read(RelationshipFilter::subject(&sub("user:x"))).await,
        [
            "document:a#viewer@user:x",
            "document:b#owner@user:x",
            "folder:f#viewer@user:x",
            "group:g#member@user:x"
        ]
    );
    assert_eq!(
        read(RelationshipFilter::resource(
            "document",
            "c",
            Some("viewer")
        ))
        .await,
        [
            "document:c#viewer@group:g#member",
            "document:c#viewer@user:y"
        ]
    );
    assert_eq!(
        read(RelationshipFilter::resource("document", "c", None)).await,
        [
            "document:c#viewer@group:g#member",
            "document:c#viewer@user:y"
        ]
    );
    let mut by_type = RelationshipFilter {
        resource_type: Some("document".into()),
        relation: Some("viewer".into()),
        subject: Some(SubjectFilter::exact(&sub("user:x"))),
        ..RelationshipFilter::default()
    };
    assert_eq!(read(by_type.clone()).await, ["document:a#viewer@user:x"]);
    by_type.relation = None;
    assert_eq!(
        read(by_type).await,
        ["document:a#viewer@user:x", "document:b#owner@user:x"]
    );
    assert_eq!(
        read(RelationshipFilter::subject(&sub("group:g#member"))).await,
        ["document:c#viewer@group:g#member"]
    );
    assert!(
        read(RelationshipFilter::subject(&sub("user:nobody")))
            .await
            .is_empty()
    );
    assert_eq!(
        read(RelationshipFilter {
            resource_type: Some("folder".into()),
            ..RelationshipFilter::default()
        })
        .await,
        ["folder:f#viewer@user:x"]
    );
}

pub async fn read_limits_and_subject_relation_filters(store: Arc<dyn TupleStore>) {
    let updates: Vec<_> = (0..12)
        .map(|i| RelationshipUpdate::touch(rel(&format!("document:d#viewer@user:u{i:02}"))))
        .chain([
            RelationshipUpdate::touch(rel("document:d#viewer@group:g#member")),
            RelationshipUpdate::touch(rel("document:d#viewer@group:h#admin")),
        ])
        .collect();
    store.write(&updates, &[]).await.unwrap();
    let f = RelationshipFilter::resource("document", "d", Some("viewer"));
    assert_eq!(store.read(&f, Some(5)).await.unwrap().len(), 5);
    assert_eq!(store.read(&f, Some(0)).await.unwrap().len(), 0);
    assert_eq!(store.read(&f, None).await.unwrap().len(), 14);
    let with = |relation: SubjectRelationFilter| {
        let mut f = f.clone();
        f.subject = Some(SubjectFilter {
            subject_type: "group".into(),
            subject_id: None,
            relation,
        });
        f
    };
    let read = |f: RelationshipFilter| {
        let store = store.clone();
        async move { sorted(store.read(&f, None).await.unwrap()) }
    };
    assert_eq!(
        read(with(SubjectRelationFilter::Any)).await,
        [
            "document:d#viewer@group:g#member",
            "document:d#viewer@group:h#admin"
        ]
    );
    assert_eq!(
        read(with(SubjectRelationFilter::Relation("admin".into()))).await,
        ["document:d#viewer@group:h#admin"]
    );
    assert!(read(with(SubjectRelationFilter::None)).await.is_empty());
    let mut users = f.clone();
    users.subject = Some(SubjectFilter {
        subject_type: "user".into(),
        subject_id: None,
        relation: SubjectRelationFilter::None,
    });
    assert_eq!(read(users).await.len(), 12);
}

pub async fn wildcards_and_usersets_are_stored_as_subjects(store: Arc<dyn TupleStore>) {
    let rels = [
        rel("document:d#viewer@user:*"),
        rel("document:d#viewer@group:eng#member"),
        rel("document:d#viewer@user:alice"),
    ];
    let updates: Vec<_> = rels
        .iter()
        .cloned()
        .map(RelationshipUpdate::touch)
        .collect();
    store.write(&updates, &[]).await.unwrap();
    for r in &rels {
        assert!(store.contains(r).await.unwrap(), "{r}");
    }
    assert!(
        !store
            .contains(&rel("document:d#viewer@group:eng#admin"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .contains(&rel("document:d#viewer@group:eng"))
            .await
            .unwrap()
    );
    assert_eq!(
        sorted(
            store
                .read(&RelationshipFilter::subject(&sub("user:*")), None)
                .await
                .unwrap()
        ),
        ["document:d#viewer@user:*"]
    );
}

pub async fn check_follows_nested_groups_and_parents(store: Arc<dyn TupleStore>) {
    let e = engine(
        store,
        &[
            "group:eng#member@user:alice",
            "group:all#member@group:eng#member",
            "folder:root#viewer@group:all#member",
            "folder:sub#parent@folder:root",
            "document:d#parent@folder:sub",
        ],
    )
    .await;
    let d = obj("document:d");
    assert!(e.check(&d, "view", &sub("user:alice")).await.unwrap());
    assert!(!e.check(&d, "view", &sub("user:bob")).await.unwrap());
    assert!(e.check(&d, "view", &sub("group:eng#member")).await.unwrap());
}

pub async fn exclusion_intersection_and_wildcards(store: Arc<dyn TupleStore>) {
    let e = engine(
        store,
        &[
            "document:d#viewer@user:alice",
            "document:d#viewer@user:bob",
            "document:d#banned@user:bob",
            "document:d#approver@user:alice",
            "document:d#approver@user:carol",
            "document:w#viewer@user:*",
            "document:w#banned@user:mallory",
        ],
    )
    .await;
    let d = obj("document:d");
    assert!(e.check(&d, "view", &sub("user:alice")).await.unwrap());
    assert!(!e.check(&d, "view", &sub("user:bob")).await.unwrap());
    assert!(e.check(&d, "approve", &sub("user:alice")).await.unwrap());
    assert!(!e.check(&d, "approve", &sub("user:carol")).await.unwrap());
    let w = obj("document:w");
    assert!(e.check(&w, "view", &sub("user:anyone")).await.unwrap());
    assert!(!e.check(&w, "view", &sub("user:mallory")).await.unwrap());
    let found = e.lookup_subjects(&w, "view", "user", None).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject, sub("user:*"));
    assert_eq!(found[0].excluded, vec![sub("user:mallory")]);
}

pub async fn cycles_terminate_and_depth_is_limited(store: Arc<dyn TupleStore>) {
    let e = engine(
        store.clone(),
        &[
            "document:a#parent@document:b",
            "document:b#parent@document:a",
            "group:g1#member@group:g2#member",
            "group:g2#member@group:g1#member",
            "group:g2#member@user:alice",
        ],
    )
    .await;
    assert!(
        !e.check(&obj("document:a"), "view", &sub("user:x"))
            .await
            .unwrap()
    );
    assert!(
        e.check(&obj("group:g1"), "member", &sub("user:alice"))
            .await
            .unwrap()
    );
    let config = EngineConfig {
        max_depth: 5,
        ..EngineConfig::default()
    };
    let shallow = Engine::with_config(Schema::parse_spicedb(SCHEMA).unwrap(), store, config);
    let mut rels = vec![rel("folder:f0#viewer@user:alice")];
    for i in 1..10 {
        rels.push(rel(&format!("folder:f{i}#parent@folder:f{}", i - 1)));
    }
    shallow.touch(rels).await.unwrap();
    assert!(
        shallow
            .check(&obj("folder:f2"), "view", &sub("user:alice"))
            .await
            .unwrap()
    );
    assert_eq!(
        shallow
            .check(&obj("folder:f9"), "view", &sub("user:alice"))
            .await
            .unwrap_err(),
        Error::DepthExceeded { limit: 5 }
    );
}

pub async fn lookups_agree_with_check(store: Arc<dyn TupleStore>) {
    let e = engine(
        store,
        &[
            "group:eng#member@user:alice",
            "group:all#member@group:eng#member",
            "document:d1#viewer@group:all#member",
            "document:d2#owner@user:alice",
            "document:d3#viewer@user:bob",
            "folder:f#viewer@group:eng#member",
            "document:d4#parent@folder:f",
            "document:d5#parent@document:d4",
            "document:d5#banned@user:alice",
        ],
    )
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
    let subjects = e
        .lookup_subjects(&obj("document:d4"), "view", "user", None)
        .await
        .unwrap();
    let names: Vec<String> = subjects.iter().map(|s| s.subject.to_string()).collect();
    assert_eq!(names, ["user:alice"]);
}

pub async fn expand_and_check_bulk(store: Arc<dyn TupleStore>) {
    let e = engine(
        store,
        &[
            "group:eng#member@user:alice",
            "document:d#viewer@group:eng#member",
            "document:a#viewer@user:x",
            "document:b#banned@user:x",
            "document:b#viewer@user:x",
        ],
    )
    .await;
    let tree = e.expand(&obj("document:d"), "view").await.unwrap();
    let leaves = tree.leaf_subjects();
    assert!(leaves.contains(&sub("user:alice")));
    assert!(leaves.contains(&sub("group:eng#member")));
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

pub async fn model_equivalence(store: Arc<dyn TupleStore>) {
    // One store per case: later seeds continue on the state earlier ones left, and the
    // reference starts empty each time, so clear the store between seeds.
    for seed in [1u64, 7, 42, 1234, 99_991] {
        let everything = store
            .read(&RelationshipFilter::default(), None)
            .await
            .unwrap();
        let deletes: Vec<_> = everything
            .into_iter()
            .map(RelationshipUpdate::delete)
            .collect();
        if !deletes.is_empty() {
            store.write(&deletes, &[]).await.unwrap();
        }
        equivalence(&*store, seed, 120).await;
    }
}
