//! A third-party tuple store (and session store) registered by URL scheme is opened through the
//! registries by `server_stores::server_state` — what `psm serve` calls with its `--url` — and
//! served by psm-server's router, in process and over a loopback socket with `psm_server::serve`.
#![cfg(all(feature = "server", feature = "memory"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::call;

use std::sync::Arc;

use axum::http::StatusCode;
use permission_storage_manager as psm;
use psm::rebac::{MemoryStore, RelationshipStore, SchemaStore};
use psm::server::{ServeOptions, router, serve};
use psm::server_stores::server_state;
use psm::tuple_stores::{register_tuple_store, supports_tuples};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

    // the toy crate stores sessions too, under the same scheme
    psm::registry::register_provider("toy", |_url| async {
        Ok(Arc::new(psm::memory::MemoryStore::new()) as Arc<dyn psm::SessionStore>)
    })
    .unwrap();
    // the stores `psm serve --url toy://catalogue` opens
    let state = server_state("toy://catalogue")
        .await
        .unwrap()
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

    // and over a socket, served as `psm serve` serves it
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, ServeOptions::default(), async {
        let _ = stopped.await;
    }));
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /v1/schema HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut got = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        c.read_to_string(&mut got),
    )
    .await
    .expect("the server never answered")
    .unwrap();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.contains("definition doc"), "{got}");
    stop.send(()).unwrap();
    let ended = server.await.unwrap().unwrap();
    assert_eq!(ended.dropped_connections, 0);
}
