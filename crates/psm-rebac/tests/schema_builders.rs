//! The schema model from outside psm-rebac: built by hand through its public constructors (its
//! types are `#[non_exhaustive]`, so no struct literal) and read through its accessors, it
//! describes the same schema as the text and the engine answers the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_rebac::schema::{
    AllowedSubject, ArrowKind, Definition, Relation, RelationKind, Rewrite, Schema,
};
use psm_rebac::{Engine, MemoryStore, Position, Relationship};

const TEXT: &str = "use expiration
definition user {}
definition group { relation member: user | user:* | group#member }
definition doc {
  relation parent: doc
  relation viewer: user | group#member
  relation banned: user | user with expiration
  permission view = (viewer + parent->view) - banned
}";

fn by_hand() -> Schema {
    let rel = |name: &str, allowed: Vec<AllowedSubject>| {
        Relation::new(name, RelationKind::Relation, allowed, Rewrite::This)
    };
    let user = Definition::new("user", Position::default());
    let mut group = Definition::new("group", Position::default());
    group.push_relation(rel(
        "member",
        vec![
            AllowedSubject::plain("user"),
            AllowedSubject::wildcard("user"),
            AllowedSubject::userset("group", "member"),
        ],
    ));
    let mut doc = Definition::new("doc", Position::default());
    doc.push_relation(rel("parent", vec![AllowedSubject::plain("doc")]));
    doc.push_relation(rel(
        "viewer",
        vec![
            AllowedSubject::plain("user"),
            AllowedSubject::userset("group", "member"),
        ],
    ));
    doc.push_relation(rel(
        "banned",
        vec![
            AllowedSubject::plain("user"),
            AllowedSubject::plain("user").with_expiration(),
        ],
    ));
    doc.push_relation(Relation::new(
        "view",
        RelationKind::Permission,
        Vec::new(),
        Rewrite::Exclusion(
            Box::new(Rewrite::Union(vec![
                Rewrite::computed("viewer"),
                Rewrite::arrow("parent", "view", ArrowKind::Any),
            ])),
            Box::new(Rewrite::computed("banned")),
        ),
    ));
    Schema::from_definitions(vec![user, group, doc])
}

/// Everything the accessors show, as text: `type#relation kind [allowed] rewrite`.
fn describe(s: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for d in s.definitions() {
        for r in d.relations() {
            let allowed: Vec<String> = r.allowed().iter().map(AllowedSubject::render).collect();
            out.push(format!(
                "{}#{} {:?} [{}] {:?}",
                d.name(),
                r.name(),
                r.kind(),
                allowed.join(", "),
                strip(r.rewrite())
            ));
        }
        if d.relations().is_empty() {
            out.push(d.name().to_owned());
        }
    }
    out
}

/// The rewrite without positions (the text has them, the hand-built one does not).
fn strip(rw: &Rewrite) -> String {
    match rw {
        Rewrite::This => "this".to_owned(),
        Rewrite::Nil => "nil".to_owned(),
        Rewrite::Computed { relation, .. } => relation.clone(),
        Rewrite::Arrow {
            tupleset,
            computed,
            kind,
            ..
        } => format!("{tupleset}->{computed} {kind:?}"),
        Rewrite::Union(c) => format!("({})", c.iter().map(strip).collect::<Vec<_>>().join(" + ")),
        Rewrite::Intersection(c) => {
            format!("({})", c.iter().map(strip).collect::<Vec<_>>().join(" & "))
        }
        Rewrite::Exclusion(a, b) => format!("({} - {})", strip(a), strip(b)),
        other => panic!("a rewrite form this test does not know: {other:?}"),
    }
}

#[test]
fn a_hand_built_schema_reads_like_the_parsed_one() {
    let parsed = Schema::parse_spicedb(TEXT).unwrap();
    assert_eq!(describe(&by_hand()), describe(&parsed));
    let banned = parsed.relation("doc", "banned").unwrap();
    assert!(banned.allowed()[0].is_unconditional());
    assert!(banned.allowed()[1].expiration());
    assert!(!banned.allowed()[1].is_unconditional());
    assert!(parsed.relation("group", "member").unwrap().allowed()[1].is_wildcard());
    assert_eq!(banned.position().line, 7);
    assert!(parsed.declares_expiration());
    assert!(parsed.uses_expiration_anywhere());
    assert!(parsed.caveats().is_empty());
}

#[tokio::test]
async fn the_engine_answers_the_same_over_both() {
    let rels: Vec<Relationship> = [
        "group:eng#member@user:alice",
        "doc:root#viewer@group:eng#member",
        "doc:d#parent@doc:root",
        "doc:d#banned@user:carol",
        "doc:root#viewer@user:carol",
    ]
    .iter()
    .map(|r| r.parse().unwrap())
    .collect();
    let mut answers = Vec::new();
    for schema in [Schema::parse_spicedb(TEXT).unwrap(), by_hand()] {
        let e = Engine::new(schema, Arc::new(MemoryStore::new()));
        e.touch(rels.iter().cloned()).await.unwrap();
        let mut got = Vec::new();
        for who in ["user:alice", "user:bob", "user:carol"] {
            got.push(
                e.check(&"doc:d".parse().unwrap(), "view", &who.parse().unwrap())
                    .await
                    .unwrap(),
            );
        }
        answers.push(got);
    }
    assert_eq!(answers[0], vec![true, false, false]);
    assert_eq!(answers[0], answers[1]);
}
