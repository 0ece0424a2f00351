//! The API in process (`tower::ServiceExt::oneshot`, no socket): sessions from store to
//! cleanup, relationship reads page by page, the token check and the error shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use psm_rebac::RelationshipStore;
use psm_server::{ServerState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef-token";

async fn app(token: Option<&str>) -> Router {
    let mut b = ServerState::builder()
        .sessions(Arc::new(psm_memory::MemoryStore::new()))
        .relationships(RelationshipStore::in_memory());
    if let Some(t) = token {
        b = b.token(t);
    }
    router(b.build().await.unwrap())
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn call(app: &Router, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send(app, req.body(body).unwrap()).await
}

#[tokio::test]
async fn a_session_from_store_to_cleanup_over_http() {
    let app = app(None).await;
    let new =
        json!({"session_id": "s1", "user_id": "ann", "permissions": ["read"], "ttl_seconds": 600});
    let (st, v) = call(&app, "POST", "/v1/sessions", Some(new)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = call(
        &app,
        "POST",
        "/v1/sessions",
        Some(json!({"session_id": "s2", "user_id": "ann", "permissions": []})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    // update without a TTL keeps the remaining one
    let (st, v) = call(
        &app,
        "PATCH",
        "/v1/sessions/s1",
        Some(json!({"permissions": ["read", "write"]})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["permissions"], json!(["read", "write"]));
    assert!(v["ttl_remaining_seconds"].as_u64().unwrap() <= 600, "{v}");
    let (st, v) = call(
        &app,
        "POST",
        "/v1/sessions/check",
        Some(json!({"session_id": "s1", "permissions": ["write"]})),
    )
    .await;
    assert_eq!((st, &v["allowed"]), (StatusCode::OK, &json!(true)), "{v}");

    // extend sets a new TTL from now
    let (st, v) = call(
        &app,
        "POST",
        "/v1/sessions/s1/extend",
        Some(json!({"ttl_seconds": 7200})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["ttl_remaining_seconds"].as_u64().unwrap() > 600, "{v}");

    let (st, v) = call(&app, "GET", "/v1/users/ann/sessions", None).await;
    assert_eq!(
        (st, &v["sessions"]),
        (StatusCode::OK, &json!(["s1", "s2"])),
        "{v}"
    );
    let (st, v) = call(&app, "GET", "/v1/sessions-stats", None).await;
    assert_eq!(
        (st, &v["live_sessions"]),
        (StatusCode::OK, &json!(2)),
        "{v}"
    );
    let (st, v) = call(&app, "POST", "/v1/sessions-cleanup", None).await;
    assert_eq!((st, &v["removed"]), (StatusCode::OK, &json!(0)), "{v}");

    let (st, _) = call(&app, "DELETE", "/v1/sessions/s1", None).await;
    assert_eq!(st, StatusCode::OK);
    for (method, path, body) in [
        ("PATCH", "/v1/sessions/s1", Some(json!({"permissions": []}))),
        (
            "POST",
            "/v1/sessions/s1/extend",
            Some(json!({"ttl_seconds": 5})),
        ),
        ("GET", "/v1/sessions/s1", None),
    ] {
        let (st, v) = call(&app, method, path, body).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], "not_found");
    }
    // a TTL beyond the limit names the field
    let (st, v) = call(
        &app,
        "POST",
        "/v1/sessions/s2/extend",
        Some(json!({"ttl_seconds": u64::MAX})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "ttl", "{v}");
}

#[tokio::test]
async fn relationship_reads_walk_every_page_with_the_cursor() {
    let app = app(None).await;
    let schema = "definition user {}\ndefinition doc { relation viewer: user }";
    let (st, v) = call(&app, "PUT", "/v1/schema", Some(json!({"schema": schema}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut written: Vec<String> = (0..7)
        .map(|i| format!("doc:d{i}#viewer@user:u{i}"))
        .collect();
    let updates: Vec<Value> = written
        .iter()
        .map(|r| json!({"operation": "touch", "relationship": r}))
        .collect();
    let (st, v) = call(
        &app,
        "POST",
        "/v1/relationships/write",
        Some(json!({"updates": updates})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = Value::Null;
    for _ in 0..10 {
        let (st, v) = call(
            &app,
            "POST",
            "/v1/relationships/read",
            Some(json!({"resource_type": "doc", "limit": 3, "cursor": cursor})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        seen.extend(
            v["relationships"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned()),
        );
        assert_eq!(v["truncated"], json!(!v["cursor"].is_null()));
        cursor = v["cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    written.sort();
    assert_eq!(seen, written);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_health_is_open() {
    let app = app(Some(TOKEN)).await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let req = Request::get("/v1/sessions/none")
            .header(header::AUTHORIZATION, format!("{scheme} {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let (st, v) = send(&app, req).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{scheme}: {v}");
    }
    let req = Request::get("/v1/sessions/none")
        .header(header::AUTHORIZATION, "Bearer wrong-token-0123456789")
        .body(Body::empty())
        .unwrap();
    let (st, v) = send(&app, req).await;
    assert_eq!(
        (st, &v["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("unauthorized"))
    );
    let (st, _) = call(&app, "GET", "/healthz", None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, doc) = call(&app, "GET", "/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    // bearer auth is declared when a token is configured, and not on the open routes
    assert_eq!(doc["security"], json!([{"bearer": []}]), "{doc}");
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
    assert_eq!(doc["paths"]["/openapi.json"]["get"]["security"], json!([]));
}

#[tokio::test]
async fn an_open_api_declares_no_bearer_auth() {
    let app = app(None).await;
    let (st, doc) = call(&app, "GET", "/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(doc.get("security").is_none(), "{doc}");
    assert!(doc["components"].get("securitySchemes").is_none(), "{doc}");
    // every route the router serves is documented, with the statuses it can answer
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/sessions/{session_id}/extend",
        "/v1/users/{user_id}/sessions",
        "/v1/sessions-cleanup",
        "/v1/sessions-stats",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let check = &doc["paths"]["/v1/check"]["post"]["responses"];
    for status in ["200", "400", "409", "413", "415", "422", "503"] {
        assert!(check.get(status).is_some(), "/v1/check lacks {status}");
    }
}

#[tokio::test]
async fn errors_share_one_shape_and_name_the_field() {
    let app = app(None).await;
    let (st, v) = call(&app, "GET", "/v1/sessions/check", None).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{v}");
    assert_eq!(v["error"]["code"], "method_not_allowed");
    let (st, v) = call(
        &app,
        "POST",
        "/v1/sessions/check",
        Some(json!({"session_id": "s", "permissions": ["a"], "bogus": 1})),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        (&v["error"]["code"], &v["error"]["field"]),
        (&json!("invalid_body"), &json!("bogus"))
    );
    let (st, v) = call(
        &app,
        "POST",
        "/v1/sessions",
        Some(json!({"session_id": "bad id", "user_id": "u"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "session_id", "{v}");
    let req = Request::post("/v1/sessions/check")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let (st, v) = send(&app, req).await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert_eq!(v["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn a_users_sessions_are_listed_page_by_page_with_a_bounded_limit() {
    let app = app(None).await;
    let mut ids: Vec<String> = (0..7).map(|i| format!("s{i}")).collect();
    for id in &ids {
        let (st, v) = call(
            &app,
            "POST",
            "/v1/sessions",
            Some(json!({"session_id": id, "user_id": "ann", "permissions": ["read"]})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    // another user's session is not listed
    let (st, _) = call(
        &app,
        "POST",
        "/v1/sessions",
        Some(json!({"session_id": "s3b", "user_id": "bob", "permissions": []})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/v1/users/ann/sessions?limit=3".to_owned();
    let mut pages = 0;
    for _ in 0..10 {
        let (st, v) = call(&app, "GET", &path, None).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        pages += 1;
        let page = v["sessions"].as_array().unwrap();
        assert!(page.len() <= 3, "{v}");
        seen.extend(page.iter().map(|s| s.as_str().unwrap().to_owned()));
        match v["cursor"].as_str() {
            Some(c) => path = format!("/v1/users/ann/sessions?limit=3&cursor={c}"),
            None => break,
        }
    }
    ids.sort();
    assert_eq!(seen, ids);
    assert_eq!(pages, 3);
    // without a limit, one page of the default size holds all seven and no cursor
    let (st, v) = call(&app, "GET", "/v1/users/ann/sessions", None).await;
    assert_eq!((st, &v["cursor"]), (StatusCode::OK, &Value::Null), "{v}");
    assert_eq!(v["sessions"].as_array().unwrap().len(), 7);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=a%20b", "cursor"),
        ("offset=2", "offset"),
    ] {
        let (st, v) = call(
            &app,
            "GET",
            &format!("/v1/users/ann/sessions?{query}"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert_eq!(v["error"]["field"], field, "{query}: {v}");
    }
}
