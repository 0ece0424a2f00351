//! The HTTP API in process (`tower::ServiceExt::oneshot` on `psm_server::router`, no socket,
//! no process), built as `psm serve --url memory://` builds it: every relationship route, the
//! schema, batch and body limits, errors with line and column, revisions and consistency on
//! every read, the changes long poll, caveat context with conditional answers (also in resource
//! lookups), lookup pagination and expand. (psm-cli's `serve_http` keeps the few tests that need
//! the process: signals, the listener, the token file, SQLite files shared between processes.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use psm_rebac::RelationshipStore;
use psm_server::{Config, ServerState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The API of one in-process server; `base` is empty, so `format!("{}{path}", s.base)` is the
/// path the router sees.
struct Server {
    app: Router,
    base: String,
}

impl Server {
    fn client(&self) -> Client {
        Client(self.app.clone())
    }
}

/// Sends requests to the router in process.
#[derive(Clone)]
struct Client(Router);

/// The state `psm serve FLAGS` builds on `memory://`, for the flags these tests use.
async fn serve(flags: &[&str]) -> Server {
    let mut config = Config::default();
    for pair in flags.chunks(2) {
        match pair {
            ["--url", "memory://"] => {}
            ["--max-batch", n] => config = config.max_batch(n.parse().unwrap()),
            ["--max-body-bytes", n] => config = config.max_body_bytes(n.parse().unwrap()),
            ["--request-timeout", d] => {
                config = config.request_timeout(psm_core::duration::parse_ttl(d).unwrap());
            }
            other => panic!("flag not mapped in process: {other:?}"),
        }
    }
    let state = ServerState::builder()
        .sessions(Arc::new(psm_memory::MemoryStore::new()))
        .relationships(RelationshipStore::in_memory())
        .config(config)
        .build()
        .await
        .unwrap();
    Server {
        app: router(state),
        base: String::new(),
    }
}

async fn call(c: &Client, method: Method, url: String, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(url);
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = c.0.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

async fn post(c: &Client, s: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    call(c, Method::POST, format!("{}{path}", s.base), Some(body)).await
}

async fn get(c: &Client, s: &Server, path: &str) -> (StatusCode, Value) {
    call(c, Method::GET, format!("{}{path}", s.base), None).await
}

async fn put_schema(c: &Client, s: &Server, schema: &str) -> (StatusCode, Value) {
    call(
        c,
        Method::PUT,
        format!("{}/v1/schema", s.base),
        Some(json!({"schema": schema})),
    )
    .await
}

const SCHEMA: &str = "definition user {}\n\
definition group {\n    relation member: user | group#member\n}\n\
definition document {\n    relation owner: user\n    relation reader: user | group#member\n    permission edit = owner\n    permission read = reader + edit\n}\n";

#[tokio::test]
async fn relationships_schema_checks_and_lookups_over_http() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();

    let (st, v) = post(
        &c,
        &s,
        "/v1/check",
        json!({"resource": "document:spec", "permission": "read", "subject": "user:alice"}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "no_schema");

    let (st, v) = get(&c, &s, "/v1/schema").await;
    assert_eq!((st, &v["schema"]), (StatusCode::OK, &Value::Null));
    let (st, v) = put_schema(&c, &s, SCHEMA).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["definitions"], json!(["user", "group", "document"]));
    let (_, v) = get(&c, &s, "/v1/schema").await;
    assert_eq!(v["schema"], SCHEMA);

    let (st, v) = post(
        &c,
        &s,
        "/v1/relationships/write",
        json!({"updates": [
            {"operation": "touch", "relationship": "group:eng#member@user:alice"},
            {"operation": "touch", "relationship": "document:spec#reader@group:eng#member"},
            {"operation": "create", "relationship": "document:plan#owner@user:bob"},
        ]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["revision"].is_u64());

    // A create of an existing relationship conflicts and writes nothing.
    let (st, v) = post(
        &c,
        &s,
        "/v1/relationships/write",
        json!({"updates": [
            {"operation": "touch", "relationship": "document:other#owner@user:carol"},
            {"operation": "create", "relationship": "document:plan#owner@user:bob"},
        ]}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (_, v) = post(
        &c,
        &s,
        "/v1/relationships/read",
        json!({"resource_type": "document", "resource_id": "other"}),
    )
    .await;
    assert_eq!(v["relationships"], json!([]));

    let check =
        |r: &str, p: &str, sub: &str| json!({"resource": r, "permission": p, "subject": sub});
    let (st, v) = post(
        &c,
        &s,
        "/v1/check",
        check("document:spec", "read", "user:alice"),
    )
    .await;
    assert_eq!((st, v["allowed"].clone()), (StatusCode::OK, json!(true)));
    let (_, v) = post(
        &c,
        &s,
        "/v1/check",
        check("document:spec", "edit", "user:alice"),
    )
    .await;
    assert_eq!(v["allowed"], false);
    // Contextual relationships count for this check only.
    let mut with_ctx = check("document:spec", "edit", "user:alice");
    with_ctx["context"] = json!(["document:spec#owner@user:alice"]);
    let (_, v) = post(&c, &s, "/v1/check", with_ctx).await;
    assert_eq!(v["allowed"], true);
    let (_, v) = post(
        &c,
        &s,
        "/v1/check",
        check("document:spec", "edit", "user:alice"),
    )
    .await;
    assert_eq!(v["allowed"], false);

    let (st, v) = post(
        &c,
        &s,
        "/v1/check/bulk",
        json!({"items": [
            check("document:spec", "read", "user:alice"),
            check("document:plan", "read", "user:alice"),
            check("document:plan", "edit", "user:bob"),
        ]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["results"], json!([true, false, true]));

    let (_, v) = post(
        &c,
        &s,
        "/v1/lookup/resources",
        json!({"resource_type": "document", "permission": "read", "subject": "user:alice"}),
    )
    .await;
    assert_eq!(v["resource_ids"], json!(["spec"]));
    let (_, v) = post(
        &c,
        &s,
        "/v1/lookup/subjects",
        json!({"resource": "document:spec", "permission": "read", "subject_type": "user"}),
    )
    .await;
    assert_eq!(
        v["subjects"],
        json!([{"subject": "user:alice", "excluded": []}])
    );

    let (_, v) = post(
        &c,
        &s,
        "/v1/relationships/read",
        json!({"subject": "user:alice"}),
    )
    .await;
    assert_eq!(v["relationships"], json!(["group:eng#member@user:alice"]));
    let (st, v) = post(&c, &s, "/v1/relationships/read", json!({"limit": 1})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["relationships"].as_array().unwrap().len(), 1);
    assert_eq!(v["truncated"], true);

    let (st, _) = post(
        &c,
        &s,
        "/v1/relationships/delete",
        json!({"relationships": ["group:eng#member@user:alice"]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = post(
        &c,
        &s,
        "/v1/check",
        check("document:spec", "read", "user:alice"),
    )
    .await;
    assert_eq!(v["allowed"], false);
}

#[tokio::test]
async fn bad_requests_get_json_errors_that_say_what_and_where() {
    let s = serve(&["--url", "memory://", "--max-batch", "2"]).await;
    let c = s.client();
    let (st, v) = put_schema(
        &c,
        &s,
        "definition user {}\ndefinition doc {\n  relation r: nope\n}",
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("schema:3:"), "{msg}");
    let (st, _) = put_schema(&c, &s, SCHEMA).await;
    assert_eq!(st, StatusCode::OK);

    let (st, v) = post(
        &c,
        &s,
        "/v1/check",
        json!({"resource": "document", "permission": "read", "subject": "user:alice"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("resource:"),
        "{v}"
    );
    let (st, v) = post(
        &c,
        &s,
        "/v1/check",
        json!({"resource": "document:a", "permission": "nope", "subject": "user:alice"}),
    )
    .await;
    // well formed, but the stored schema has no such permission: the stored state refuses it
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "conflict", "{v}");
    let (st, v) = post(
        &c,
        &s,
        "/v1/relationships/write",
        json!({"updates": [{"operation": "touch", "relationship": "document:a#read@user:b"}]}),
    )
    .await;
    // a relationship on a permission: the stored schema refuses it
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("updates[0]"),
        "{v}"
    );
    let (st, v) = post(
        &c,
        &s,
        "/v1/check",
        json!({"resource": "document:a", "permission": "read", "subject": "user:b", "extra": 1}),
    )
    .await;
    // An unknown field: 422 naming it.
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "invalid_body", "{v}");
    assert_eq!(v["error"]["field"], "extra", "{v}");
    let req = Request::post(format!("{}/v1/check", s.base))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let resp = c.0.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["error"]["code"], "malformed_body");

    let item = json!({"resource": "document:a", "permission": "read", "subject": "user:b"});
    let (st, v) = post(
        &c,
        &s,
        "/v1/check/bulk",
        json!({"items": [item, item, item]}),
    )
    .await;
    // Too many items is a request too big: 413.
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["error"]["code"], "batch_too_large");

    let (st, v) = get(&c, &s, "/no/such/route").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");

    // A known route with another method: 405 in the same shape.
    let (st, v) = get(&c, &s, "/v1/check").await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn request_bodies_are_bounded() {
    let s = serve(&["--url", "memory://", "--max-body-bytes", "1024"]).await;
    let c = s.client();
    let big = "x".repeat(4096);
    let (st, v) = call(
        &c,
        Method::PUT,
        format!("{}/v1/schema", s.base),
        Some(json!({"schema": big})),
    )
    .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["error"]["code"], "body_too_large");
}

/// `POST /v1/check` for `doc#permission@subject` with extra body fields.
fn check_body(resource: &str, permission: &str, subject: &str, extra: Value) -> Value {
    let mut body = json!({"resource": resource, "permission": permission, "subject": subject});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

/// Writes one relationship; returns the revision the write answered.
async fn touch(c: &Client, s: &Server, relationship: &str) -> u64 {
    let (st, v) = post(
        c,
        s,
        "/v1/relationships/write",
        json!({"updates": [{"operation": "touch", "relationship": relationship}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["revision"]
        .as_u64()
        .unwrap_or_else(|| panic!("no revision: {v}"))
}

#[tokio::test]
async fn write_returns_a_revision_and_a_fully_consistent_read_sees_the_write() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    let r1 = touch(&c, &s, "document:spec#reader@user:alice").await;
    let r2 = touch(&c, &s, "document:spec#owner@user:bob").await;
    assert!(r2 > r1, "{r1} then {r2}");

    for consistency in [
        json!("fully_consistent"),
        json!("minimize_latency"),
        json!({"at_least_as_fresh": r2}),
        json!({"at_least_as_fresh": r2.to_string()}),
    ] {
        let body = check_body(
            "document:spec",
            "read",
            "user:alice",
            json!({"consistency": consistency}),
        );
        let (st, v) = post(&c, &s, "/v1/check", body).await;
        assert_eq!(st, StatusCode::OK, "{consistency}: {v}");
        assert_eq!(v["allowed"], true, "{consistency}: {v}");
        assert_eq!(v["permissionship"], "has_permission");
    }
    let (st, v) = post(
        &c,
        &s,
        "/v1/relationships/read",
        json!({"resource_type": "document", "consistency": {"at_least_as_fresh": r2}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["relationships"],
        json!([
            "document:spec#owner@user:bob",
            "document:spec#reader@user:alice"
        ])
    );
    let (st, v) = post(
        &c,
        &s,
        "/v1/relationships/delete",
        json!({"relationships": ["document:spec#reader@user:alice"]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let r3 = v["revision"].as_u64().unwrap();
    assert!(r3 > r2, "{r2} then {r3}");
    let body = check_body(
        "document:spec",
        "read",
        "user:alice",
        json!({"consistency": "fully_consistent"}),
    );
    let (_, v) = post(&c, &s, "/v1/check", body).await;
    assert_eq!(v["allowed"], false, "{v}");
}

#[tokio::test]
async fn at_least_as_fresh_of_a_future_revision_is_refused_on_every_read() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    let head = touch(&c, &s, "document:spec#reader@user:alice").await;
    let future = json!({"at_least_as_fresh": head + 1});
    let reads = [
        (
            "/v1/check",
            check_body("document:spec", "read", "user:alice", json!({})),
        ),
        (
            "/v1/check/bulk",
            json!({"items": [check_body("document:spec", "read", "user:alice", json!({}))]}),
        ),
        (
            "/v1/lookup/resources",
            json!({"resource_type": "document", "permission": "read", "subject": "user:alice"}),
        ),
        (
            "/v1/lookup/subjects",
            json!({"resource": "document:spec", "permission": "read", "subject_type": "user"}),
        ),
        ("/v1/relationships/read", json!({})),
    ];
    for (path, mut body) in reads {
        // The same request at the head answers...
        body["consistency"] = json!({"at_least_as_fresh": head});
        let (st, v) = post(&c, &s, path, body.clone()).await;
        assert_eq!(st, StatusCode::OK, "{path}: {v}");
        // ...and one revision later is refused, never answered stale.
        body["consistency"] = future.clone();
        let (st, v) = post(&c, &s, path, body).await;
        assert_eq!(st, StatusCode::CONFLICT, "{path}: {v}");
        assert_eq!(v["error"]["code"], "revision_not_issued", "{path}: {v}");
    }
}

#[tokio::test]
async fn a_bad_consistency_or_context_value_is_a_400_naming_the_field() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    let cases = [
        (json!({"consistency": "latest"}), "consistency: must be"),
        (json!({"consistency": 3}), "consistency: must be"),
        (
            json!({"consistency": {"at_least_as_fresh": -1}}),
            "consistency.at_least_as_fresh: must be a revision",
        ),
        (
            json!({"consistency": {"at_least_as_fresh": 1, "also": 2}}),
            "consistency: must be",
        ),
        (json!({"context": "n=1"}), "context: must be a JSON object"),
    ];
    for (extra, expected) in cases {
        let body = check_body("document:spec", "read", "user:alice", extra.clone());
        let (st, v) = post(&c, &s, "/v1/check", body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{extra}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "{extra}: {message}");
    }
    let (st, v) = post(
        &c,
        &s,
        "/v1/lookup/resources",
        json!({"resource_type": "document", "permission": "read", "subject": "user:alice",
               "context": ["document:spec#reader@user:alice"]}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("context:"),
        "{v}"
    );
}

#[tokio::test]
async fn watch_long_poll_returns_a_write_made_after_it_started() {
    // Room for a 10,001-relationship write (to overflow the change log) and long polls.
    let s = serve(&[
        "--url",
        "memory://",
        "--max-batch",
        "20000",
        "--max-body-bytes",
        "4194304",
        "--request-timeout",
        "60s",
    ])
    .await;
    let c = s.client();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    let r0 = touch(&c, &s, "document:spec#reader@user:alice").await;
    let changes = |q: String| {
        let c = c.clone();
        let url = format!("{}/v1/relationships/changes?{q}", s.base);
        async move { call(&c, Method::GET, url, None).await }
    };

    let (st, v) = changes("after=0".into()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"changes": [{"revision": r0, "op": "touch",
                            "relationship": "document:spec#reader@user:alice"}],
               "revision": r0})
    );
    // Nothing after the head yet: an answer without waiting is empty and keeps the revision.
    let (_, v) = changes(format!("after={r0}")).await;
    assert_eq!(v, json!({"changes": [], "revision": r0}));

    // A long poll started before the write answers with it (its bound: 30 s, then empty).
    let poll = tokio::spawn(changes(format!("after={r0}&wait_ms=30000")));
    tokio::time::sleep(Duration::from_millis(200)).await; // lets the poll start; not asserted
    let r1 = touch(&c, &s, "document:plan#owner@user:bob").await;
    let (st, v) = poll.await.unwrap();
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"changes": [{"revision": r1, "op": "touch",
                            "relationship": "document:plan#owner@user:bob"}],
               "revision": r1})
    );

    // `limit` cuts between writes; `revision` continues where the answer stopped.
    let (st, v) = post(
        &c,
        &s,
        "/v1/relationships/delete",
        json!({"relationships": ["document:plan#owner@user:bob"]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let r2 = v["revision"].as_u64().unwrap();
    let (_, v) = changes("after=0&limit=1".into()).await;
    assert_eq!(v["revision"], r0, "{v}");
    let (_, v) = changes(format!("after={r1}&limit=1")).await;
    assert_eq!(
        v,
        json!({"changes": [{"revision": r2, "op": "delete",
                            "relationship": "document:plan#owner@user:bob"}],
               "revision": r2})
    );

    // A revision the store never issued: 409. A bad parameter: 400 naming it.
    let (st, v) = changes(format!("after={}", r2 + 1)).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "revision_not_issued");
    for (q, field) in [
        ("after=1&wait_ms=30001", "wait_ms:"),
        ("limit=5", "after:"),
        ("after=1&limit=0", "limit:"),
    ] {
        let (st, v) = changes(q.into()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{q}: {message}");
    }

    // One write larger than the change log (10,000 by default) pushes its start out: a
    // watcher from before it must resync (410).
    let updates: Vec<Value> = (0..10_001)
        .map(|i| json!({"operation": "touch", "relationship": format!("document:d{i}#reader@user:u")}))
        .collect();
    let (st, v) = post(
        &c,
        &s,
        "/v1/relationships/write",
        json!({"updates": updates}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = changes(format!("after={r2}")).await;
    assert_eq!(st, StatusCode::GONE, "{v}");
    assert_eq!(v["error"]["code"], "changes_pruned");
}

const CAVEAT_SCHEMA: &str = "caveat within_limit(n int, max int) {\n    n <= max\n}\n\n\
definition user {}\n\n\
definition doc {\n    relation viewer: user with within_limit\n    permission view = viewer\n}\n";

#[tokio::test]
async fn caveat_context_grants_and_a_missing_parameter_answers_conditional() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();
    let (st, v) = put_schema(&c, &s, CAVEAT_SCHEMA).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    touch(&c, &s, r#"doc:a#viewer@user:alice[within_limit:{"max":5}]"#).await;

    let ask = |extra: Value| check_body("doc:a", "view", "user:alice", extra);
    let (st, v) = post(&c, &s, "/v1/check", ask(json!({}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"allowed": false, "permissionship": "conditional", "missing_context": ["n"]})
    );
    let (_, v) = post(&c, &s, "/v1/check", ask(json!({"context": {"n": 3}}))).await;
    assert_eq!(
        v,
        json!({"allowed": true, "permissionship": "has_permission"})
    );
    let (_, v) = post(&c, &s, "/v1/check", ask(json!({"context": {"n": 9}}))).await;
    assert_eq!(
        v,
        json!({"allowed": false, "permissionship": "no_permission"})
    );
    // The relationship's stored `max` wins over the request's.
    let (_, v) = post(
        &c,
        &s,
        "/v1/check",
        ask(json!({"context": {"n": 9, "max": 10}})),
    )
    .await;
    assert_eq!(v["allowed"], false, "{v}");

    let lookup = |n: i64| json!({"resource_type": "doc", "permission": "view", "subject": "user:alice", "context": {"n": n}});
    let (st, v) = post(&c, &s, "/v1/lookup/resources", lookup(3)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["resource_ids"], json!(["a"]));
    let (_, v) = post(&c, &s, "/v1/lookup/resources", lookup(9)).await;
    assert_eq!(v["resource_ids"], json!([]));
    let (_, v) = post(
        &c,
        &s,
        "/v1/check/bulk",
        json!({"items": [ask(json!({}))], "context": {"n": 3}}),
    )
    .await;
    assert_eq!(v["results"], json!([true]), "{v}");
}

/// Follows `cursor` from the first page to the last; returns every page's `key` items.
async fn walk_pages(
    c: &Client,
    s: &Server,
    path: &str,
    body: Value,
    key: &str,
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor = Value::Null;
    for pages in 1..=100 {
        let mut b = body.clone();
        b["cursor"] = cursor;
        let (st, v) = post(c, s, path, b).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let page = v[key].as_array().unwrap();
        assert!(
            page.len() <= body["limit"].as_u64().unwrap() as usize,
            "{v}"
        );
        items.extend(page.iter().cloned());
        cursor = v["cursor"].clone();
        if cursor.is_null() {
            return (items, pages);
        }
    }
    panic!("the cursor never ended");
}

#[tokio::test]
async fn lookup_pagination_walks_every_page_and_gets_exactly_the_unpaged_set() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    let updates: Vec<Value> = (0..7)
        .flat_map(|i| {
            [
                json!({"operation": "touch", "relationship": format!("document:d{i}#reader@user:alice")}),
                json!({"operation": "touch", "relationship": format!("document:spec#reader@user:u{i}")}),
            ]
        })
        .collect();
    let (st, v) = post(
        &c,
        &s,
        "/v1/relationships/write",
        json!({"updates": updates}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let resources =
        json!({"resource_type": "document", "permission": "read", "subject": "user:alice"});
    let (st, unpaged) = post(&c, &s, "/v1/lookup/resources", resources.clone()).await;
    assert_eq!(st, StatusCode::OK, "{unpaged}");
    assert_eq!(unpaged["cursor"], Value::Null, "{unpaged}");
    assert_eq!(unpaged["resource_ids"].as_array().unwrap().len(), 7);
    let mut paged = resources.clone();
    paged["limit"] = json!(3);
    let (results, pages) = walk_pages(&c, &s, "/v1/lookup/resources", paged, "results").await;
    assert_eq!(pages, 3);
    assert_eq!(Value::Array(results.clone()), unpaged["results"]);
    let ids: Vec<Value> = results.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(Value::Array(ids), unpaged["resource_ids"]);

    let subjects =
        json!({"resource": "document:spec", "permission": "read", "subject_type": "user"});
    let (st, unpaged) = post(&c, &s, "/v1/lookup/subjects", subjects.clone()).await;
    assert_eq!(st, StatusCode::OK, "{unpaged}");
    assert_eq!(
        unpaged["subjects"].as_array().unwrap().len(),
        7,
        "{unpaged}"
    );
    assert_eq!(unpaged["cursor"], Value::Null);
    let mut paged = subjects;
    paged["limit"] = json!(2);
    let (found, pages) = walk_pages(&c, &s, "/v1/lookup/subjects", paged, "subjects").await;
    assert_eq!(pages, 4);
    assert_eq!(Value::Array(found), unpaged["subjects"]);
}

#[tokio::test]
async fn a_bad_lookup_limit_or_cursor_is_a_400_naming_the_field() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    let resources =
        json!({"resource_type": "document", "permission": "read", "subject": "user:alice"});
    let subjects =
        json!({"resource": "document:spec", "permission": "read", "subject_type": "user"});
    for (path, base) in [
        ("/v1/lookup/resources", resources),
        ("/v1/lookup/subjects", subjects),
    ] {
        for (name, bad) in [
            ("limit", json!(0)),
            ("limit", json!(10_001)),
            ("limit", json!("ten")),
            ("cursor", json!("")),
            ("cursor", json!(42)),
        ] {
            let mut body = base.clone();
            body[name] = bad.clone();
            let (st, v) = post(&c, &s, path, body).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{path} {name}={bad}: {v}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.starts_with(&format!("{name}: ")), "{message}");
        }
    }
}

#[tokio::test]
async fn lookup_resources_reports_conditional_resources_with_the_missing_context() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();
    let (st, v) = put_schema(&c, &s, CAVEAT_SCHEMA).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    touch(&c, &s, r#"doc:a#viewer@user:alice[within_limit:{"max":5}]"#).await;
    touch(
        &c,
        &s,
        r#"doc:b#viewer@user:alice[within_limit:{"max":5,"n":1}]"#,
    )
    .await;
    touch(
        &c,
        &s,
        r#"doc:c#viewer@user:alice[within_limit:{"max":5,"n":8}]"#,
    )
    .await;

    let body = json!({"resource_type": "doc", "permission": "view", "subject": "user:alice", "context": {}});
    let (st, v) = post(&c, &s, "/v1/lookup/resources", body).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({
            "resource_ids": ["b"],
            "results": [
                {"id": "a", "permissionship": "conditional", "missing_context": ["n"]},
                {"id": "b", "permissionship": "has_permission"},
            ],
            "cursor": null,
        })
    );
    let body = json!({"resource_type": "doc", "permission": "view", "subject": "user:alice", "context": {"n": 2}});
    let (_, v) = post(&c, &s, "/v1/lookup/resources", body).await;
    assert_eq!(v["resource_ids"], json!(["a", "b"]), "{v}");
    assert_eq!(
        v["results"],
        json!([
            {"id": "a", "permissionship": "has_permission"},
            {"id": "b", "permissionship": "has_permission"},
        ])
    );
}

const EXPAND_SCHEMA: &str = "use expiration\n\n\
caveat limit(n int, max int) {\n    n <= max\n}\n\n\
definition user {}\n\n\
definition group {\n    relation member: user | user with limit | user with expiration\n}\n\n\
definition doc {\n    relation viewer: group#member\n    permission view = viewer\n}\n";

#[tokio::test]
async fn expand_shows_a_caveated_leaf_and_omits_an_expired_relationship() {
    let s = serve(&["--url", "memory://"]).await;
    let c = s.client();
    let (st, v) = put_schema(&c, &s, EXPAND_SCHEMA).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    for r in [
        "group:g#member@user:ann[expiration:2020-01-01T00:00:00Z]",
        "group:g#member@user:bob[expiration:2300-01-01T00:00:00Z]",
        "group:g#member@user:cat",
        r#"group:g#member@user:dan[limit:{"max":2}]"#,
        "doc:a#viewer@group:g#member",
    ] {
        touch(&c, &s, r).await;
    }
    let (st, v) = post(
        &c,
        &s,
        "/v1/expand",
        json!({"resource": "group:g", "permission": "member", "consistency": "fully_consistent"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"tree": {
            "object": "group:g", "relation": "member", "kind": "union",
            "children": [
                {"object": "group:g", "relation": "member", "kind": "leaf",
                 "subjects": ["user:bob", "user:cat"]},
                {"object": "group:g", "relation": "member", "kind": "caveated",
                 "subjects": [{"subject": "user:dan",
                               "caveat": {"name": "limit", "context": {"max": 2}}}]},
            ],
        }})
    );

    let (st, v) = post(
        &c,
        &s,
        "/v1/expand",
        json!({"resource": "doc:a", "permission": "view"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["tree"]["object"], "doc:a", "{v}");
    assert!(!v.to_string().contains("user:ann"), "{v}");
    assert!(v.to_string().contains("group:g#member"), "{v}");

    let (st, v) = post(
        &c,
        &s,
        "/v1/expand",
        json!({"resource": "doc:a", "permission": "nope"}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (st, v) = post(
        &c,
        &s,
        "/v1/expand",
        json!({"resource": "doc", "permission": "view"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("resource: "),
        "{v}"
    );
}

#[tokio::test]
async fn a_lookup_without_limit_answers_at_most_10000_results_and_a_cursor_to_the_rest() {
    let s = serve(&["--url", "memory://", "--max-batch", "5000"]).await;
    let c = s.client();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    for batch in 0..3 {
        let updates: Vec<Value> = (batch * 5000..(batch * 5000 + 5000).min(10_001))
            .map(|i| json!({"operation": "touch", "relationship": format!("document:d{i:05}#reader@user:alice")}))
            .collect();
        let (st, v) = post(
            &c,
            &s,
            "/v1/relationships/write",
            json!({"updates": updates}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let body = json!({"resource_type": "document", "permission": "read", "subject": "user:alice"});
    let (st, v) = post(&c, &s, "/v1/lookup/resources", body.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["resource_ids"].as_array().unwrap().len(), 10_000);
    assert_eq!(v["results"].as_array().unwrap().len(), 10_000);
    assert_eq!(v["cursor"], "d09999");
    let mut next = body;
    next["cursor"] = v["cursor"].clone();
    let (_, v) = post(&c, &s, "/v1/lookup/resources", next).await;
    assert_eq!(v["resource_ids"], json!(["d10000"]), "{v}");
    assert_eq!(v["cursor"], Value::Null);
}
