//! `psm quickstart`: psm's main job on the chosen store (the embedded SQLite file `./psm.db` by
//! default). It writes a session, a relationship schema and relationships, then prints checks
//! and lookups. Running it again rewrites the same data and prints the same answers.

use std::time::Duration;

use permission_storage_manager::{NewSession, PermissionStorageManager};
use psm_rebac::{Relationship, SubjectRef};
use serde_json::{Value, json};

use crate::error::{CliError, Outcome};
use crate::output::Output;
use permission_storage_manager::rebac::RelationshipStore;
use permission_storage_manager::tuple_stores::{open_tuple_store, supports_tuples};

/// The example schema (SpiceDB schema language).
pub const SCHEMA: &str = "\
definition user {}

definition group {
    relation member: user | group#member
}

definition document {
    relation owner: user
    relation reader: user | group#member
    relation parent: document
    permission edit = owner
    permission read = reader + edit + parent->read
}
";

/// The example relationships.
pub const RELATIONSHIPS: [&str; 5] = [
    "group:eng#member@user:alice",
    "group:eng#member@user:bob",
    "document:spec#reader@group:eng#member",
    "document:spec#owner@user:carol",
    "document:spec_v2#parent@document:spec",
];

const SESSION_ID: &str = "quickstart-alice";
const SESSION_PERMISSIONS: [&str; 4] = ["read:posts", "write:posts", "admin:*", "reports>"];
const SESSION_CHECKS: [&str; 5] = [
    "read:posts",
    "delete:posts",
    "admin:users:delete",
    "reports.q3.pdf",
    "admin:*",
];
const CHECKS: [&str; 4] = [
    "document:spec_v2#read@user:alice",
    "document:spec#edit@user:alice",
    "document:spec#edit@user:carol",
    "document:spec#read@user:dave",
];

/// Runs the quickstart against `url`.
pub async fn run(url: &str, out: &Output) -> Result<Outcome, CliError> {
    let manager = PermissionStorageManager::connect(url).await?;
    let sessions = sessions(&manager).await;
    let closed = manager.close().await;
    let sessions = sessions?;
    closed?;
    let relationships = if supports_tuples(url) {
        relationships(url).await?
    } else {
        Value::Null
    };
    let value = json!({
        "url": redact(url),
        "sessions": sessions,
        "relationships": relationships,
    });
    out.emit(value.clone(), || human(&value));
    Ok(Outcome::Done)
}

async fn sessions(m: &PermissionStorageManager) -> Result<Value, CliError> {
    let session = m
        .store_session(
            NewSession::new(SESSION_ID, "alice")
                .permissions(SESSION_PERMISSIONS)
                .ttl(Duration::from_secs(3600)),
        )
        .await?;
    let mut checks = Vec::new();
    for p in SESSION_CHECKS {
        checks.push(json!({"permission": p, "allowed": m.check_permission(SESSION_ID, p).await?}));
    }
    Ok(json!({
        "backend": m.store().backend(),
        "session_id": session.session_id,
        "user_id": session.user_id,
        "permissions": session.permissions,
        "checks": checks,
    }))
}

async fn relationships(url: &str) -> Result<Value, CliError> {
    let rebac = open_tuple_store(url).await?;
    let result = relationships_on(&rebac).await;
    rebac.close().await;
    result
}

async fn relationships_on(rebac: &RelationshipStore) -> Result<Value, CliError> {
    let schema = rebac.write_schema(SCHEMA).await?;
    let engine = rebac.engine_for(schema);
    let rels = RELATIONSHIPS
        .iter()
        .map(|r| r.parse::<Relationship>())
        .collect::<Result<Vec<_>, _>>()?;
    engine.touch(rels).await?;
    let mut checks = Vec::new();
    for c in CHECKS {
        let r: Relationship = c.parse()?;
        let allowed = engine.check(&r.resource, &r.relation, &r.subject).await?;
        checks.push(json!({"check": c, "allowed": allowed}));
    }
    let alice: SubjectRef = "user:alice".parse()?;
    let docs = engine.lookup_resources("document", "read", &alice).await?;
    let readers = engine
        .lookup_subjects(&"document:spec".parse()?, "read", "user", None)
        .await?;
    Ok(json!({
        "relationships": RELATIONSHIPS,
        "checks": checks,
        "lookup_resources": {"query": "document read user:alice", "resource_ids": docs},
        "lookup_subjects": {
            "query": "document:spec read user",
            "subjects": readers.iter().map(|f| f.subject.to_string()).collect::<Vec<_>>(),
        },
    }))
}

fn human(v: &Value) -> String {
    let mut s = String::new();
    let line = |s: &mut String, text: String| {
        s.push_str(&text);
        s.push('\n');
    };
    line(&mut s, format!("store: {}", str_of(&v["url"])));
    let sess = &v["sessions"];
    line(
        &mut s,
        format!(
            "\nsession {} of user {} on {}: {}",
            str_of(&sess["session_id"]),
            str_of(&sess["user_id"]),
            str_of(&sess["backend"]),
            list_of(&sess["permissions"], " ")
        ),
    );
    for c in sess["checks"].as_array().into_iter().flatten() {
        line(
            &mut s,
            format!(
                "  check {:<22} {}",
                str_of(&c["permission"]),
                verdict(&c["allowed"])
            ),
        );
    }
    let rel = &v["relationships"];
    if rel.is_null() {
        s.push_str("\nrelationships: not supported on this store URL");
        return s;
    }
    line(
        &mut s,
        "\nrelationships (schema: user, group, document):".to_owned(),
    );
    for r in rel["relationships"].as_array().into_iter().flatten() {
        line(&mut s, format!("  {}", str_of(r)));
    }
    for c in rel["checks"].as_array().into_iter().flatten() {
        line(
            &mut s,
            format!(
                "  check {:<36} {}",
                str_of(&c["check"]),
                verdict(&c["allowed"])
            ),
        );
    }
    line(
        &mut s,
        format!(
            "  lookup-resources {:<25} -> {}",
            str_of(&rel["lookup_resources"]["query"]),
            list_of(&rel["lookup_resources"]["resource_ids"], ", ")
        ),
    );
    line(
        &mut s,
        format!(
            "  lookup-subjects {:<26} -> {}",
            str_of(&rel["lookup_subjects"]["query"]),
            list_of(&rel["lookup_subjects"]["subjects"], ", ")
        ),
    );
    s.push_str("\nnext (psm is `cargo run -p psm-cli --` in a clone):\n  psm session check quickstart-alice read:posts\n  psm rebac check document:spec#read@user:bob\n  psm serve");
    s
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn verdict(v: &Value) -> &'static str {
    if v.as_bool() == Some(true) {
        "allowed"
    } else {
        "denied"
    }
}

fn list_of(v: &Value, sep: &str) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| str_of(x).to_owned())
        .collect::<Vec<_>>()
        .join(sep)
}

/// The URL without a password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let auth = &url[scheme_end + 3..at];
            match auth.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
