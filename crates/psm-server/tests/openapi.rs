//! The generated OpenAPI document against the router it was generated with: every documented
//! operation is served, every other method on a documented path answers 405, no route is
//! registered outside the documented ones, the configured batch limit and the token show in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use psm_rebac::RelationshipStore;
use psm_server::{Config, ServerState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef-token";

async fn app(token: Option<&str>, config: Config) -> Router {
    let mut b = ServerState::builder()
        .sessions(Arc::new(psm_memory::MemoryStore::new()))
        .relationships(RelationshipStore::in_memory())
        .metrics(String::new)
        .config(config);
    if let Some(t) = token {
        b = b.token(t);
    }
    router(b.build().await.unwrap())
}

async fn send(app: &Router, method: Method, path: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from("{}"))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn document(app: &Router) -> Value {
    let (st, doc) = send(app, Method::GET, "/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    doc
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every operation the document lists is served (no 405, no "no such route" 404), and every
/// other method on its path answers 405: the document and the router agree path by path.
#[tokio::test]
async fn the_document_lists_exactly_the_operations_the_router_serves() {
    let app = app(Some(TOKEN), Config::default()).await;
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 19, "{}", paths.len());
    for (path, item) in paths {
        let url = path
            .replace("{session_id}", "nobody")
            .replace("{user_id}", "nobody");
        for method in METHODS {
            let (st, body) = send(&app, method.to_uppercase().parse().unwrap(), &url).await;
            if item.get(method).is_some() {
                let unrouted = st == StatusCode::METHOD_NOT_ALLOWED
                    || body["error"]["message"] == "no such route";
                assert!(!unrouted, "{method} {path} is documented but answered {st}");
                let documented = item[method]["responses"].get(st.as_str()).is_some();
                assert!(
                    documented,
                    "{method} {path} answered {st}, not documented: {body}"
                );
            } else {
                assert_eq!(
                    st,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented"
                );
            }
        }
    }
}

/// Routes exist only through `OpenApiRouter::routes(routes!(..))`, which documents them: the
/// router's source registers nothing with a plain axum `.route(` call.
#[test]
fn no_route_is_registered_outside_the_generated_document() {
    let source: String = include_str!("../src/lib.rs")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    for forbidden in [".route(", ".route_service(", ".nest(", ".nest_service("] {
        assert!(
            !source.contains(forbidden),
            "src/lib.rs registers a route with `{forbidden}`, which the document would miss"
        );
    }
    assert!(source.contains(".routes(routes!("));
}

/// The configured batch limit bounds every list the handlers bound with it.
#[tokio::test]
async fn the_batch_limit_in_the_document_is_the_configured_one() {
    let app = app(None, Config::default().max_batch(7)).await;
    let doc = document(&app).await;
    for pointer in [
        "/components/schemas/BulkCheckRequest/properties/items/maxItems",
        "/components/schemas/WriteRequest/properties/updates/maxItems",
        "/components/schemas/DeleteRequest/properties/relationships/maxItems",
        "/components/schemas/CheckRequest/properties/contextual_relationships/maxItems",
        "/components/schemas/CheckRequest/properties/context/oneOf/1/maxItems",
        "/components/schemas/ReadRequest/properties/limit/maximum",
        "/components/schemas/SessionCheckRequest/properties/permissions/maxItems",
        "/components/schemas/UpdateRequest/properties/permissions/maxItems",
    ] {
        assert_eq!(doc.pointer(pointer), Some(&json!(7)), "{pointer}");
    }
}

/// Bearer auth and 401 only with a token, and never on the open routes.
#[tokio::test]
async fn bearer_auth_is_declared_only_with_a_token() {
    let open = document(&app(None, Config::default()).await).await;
    assert!(open.get("security").is_none());
    assert!(open["components"].get("securitySchemes").is_none());
    assert!(
        open["paths"]["/v1/check"]["post"]["responses"]
            .get("401")
            .is_none()
    );

    let secured = document(&app(Some(TOKEN), Config::default()).await).await;
    assert_eq!(secured["security"], json!([{"bearer": []}]));
    assert_eq!(
        secured["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in ["/healthz", "/openapi.json"] {
        assert_eq!(
            secured["paths"][path]["get"]["security"],
            json!([]),
            "{path}"
        );
        assert!(
            secured["paths"][path]["get"]["responses"]
                .get("401")
                .is_none()
        );
    }
    assert!(
        secured["paths"]["/v1/check"]["post"]["responses"]
            .get("401")
            .is_some()
    );
    assert!(
        secured["paths"]["/metrics"]["get"]["responses"]
            .get("401")
            .is_some()
    );
}

/// A request the schema calls valid parses: the patterns agree with the parsers on samples
/// from each side.
#[tokio::test]
async fn patterns_are_in_the_document() {
    let doc = document(&app(None, Config::default()).await).await;
    let check = &doc["components"]["schemas"]["CheckRequest"];
    assert_eq!(check["additionalProperties"], json!(false), "{check}");
    let resource = &check["properties"]["resource"];
    let reference = resource["$ref"].as_str().unwrap_or_default();
    assert!(reference.ends_with("ObjectRefText"), "{resource}");
    let write = &doc["components"]["schemas"]["WriteRequest"];
    assert_eq!(
        write["properties"]["updates"]["minItems"],
        json!(1),
        "{write}"
    );
    for status in [
        "200", "400", "409", "413", "415", "422", "500", "501", "503",
    ] {
        assert!(
            doc["paths"]["/v1/check"]["post"]["responses"]
                .get(status)
                .is_some(),
            "/v1/check lacks {status}"
        );
    }
}
