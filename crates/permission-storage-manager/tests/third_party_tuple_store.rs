//! A third-party tuple store registered by URL scheme is opened through the registry and served
//! by psm-server's router — the path `psm serve` takes.
#![cfg(all(feature = "server", feature = "memory"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use permission_storage_manager as psm;
use psm::rebac::{MemoryStore, RelationshipStore, SchemaStore};
use psm::server::{ServerState, router};
use psm::tuple_stores::{open_tuple_store, register_tuple_store, supports_tuples};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The toy store's schema: fixed, as a read-only catalogue might keep it.
const TOY_SCHEMA: &str = "definition user {}\ndefinition doc { relation viewer: user }";

#[derive(Debug)]
struct ToySchema;

#[psm::core::async_trait]
impl SchemaStore for ToySchema {
    async fn write_schema(&self, _text: &str) -> psm::rebac::Result<()> {
        Err(psm::rebac::Error::store(
            psm::rebac::StoreErrorKind::Other,
            "the toy schema is read-only",
        ))
    }
    async fn read_schema(&self) -> psm::rebac::Result<Option<String>> {
        Ok(Some(TOY_SCHEMA.to_owned()))
    }
}

async fn call(app: &axum::Router, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_tuple_store_registered_by_scheme_is_served() {
    assert!(!supports_tuples("toy://catalogue"));
    register_tuple_store("toy", |_url| async {
        Ok(RelationshipStore::new(
            Arc::new(MemoryStore::new()),
            Arc::new(ToySchema),
        ))
    })
    .unwrap();
    assert!(supports_tuples("toy://catalogue"));
    // a second registration of the scheme is refused
    assert!(
        register_tuple_store("toy", |_url| async { Ok(RelationshipStore::in_memory()) }).is_err()
    );

    let state = ServerState::builder()
        .sessions(Arc::new(psm::memory::MemoryStore::new()))
        .relationships(open_tuple_store("toy://catalogue").await.unwrap())
        .build()
        .await
        .unwrap();
    let app = router(state);
    let (st, v) = call(&app, "GET", "/v1/schema", Value::Null).await;
    assert_eq!(
        (st, v["schema"].as_str()),
        (StatusCode::OK, Some(TOY_SCHEMA))
    );
    let (st, v) = call(
        &app,
        "POST",
        "/v1/relationships/write",
        json!({"updates": [{"operation": "touch", "relationship": "doc:a#viewer@user:ann"}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let check = json!({"resource": "doc:a", "permission": "viewer", "subject": "user:ann"});
    let (st, v) = call(&app, "POST", "/v1/check", check).await;
    assert_eq!((st, &v["allowed"]), (StatusCode::OK, &json!(true)), "{v}");
    // the toy's own schema rules hold: writing a schema is refused by the store
    let (st, v) = call(&app, "PUT", "/v1/schema", json!({"schema": TOY_SCHEMA})).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
}
