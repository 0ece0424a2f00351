//! The request metrics stay bounded whatever clients send: invented method names fold into
//! `other`, unmatched paths into `unmatched`, and requests refused for a missing token add no
//! series of their own. Its own test binary, since it installs the process-wide recorder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use psm_server::{ServerState, router};
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef-token";

/// The label sets of `psm_http_requests_total` the recorder holds.
fn series(handle: &PrometheusHandle) -> BTreeSet<String> {
    handle
        .render()
        .lines()
        .filter(|l| l.starts_with("psm_http_requests_total{"))
        .filter_map(|l| l.split_once('}').map(|(labels, _)| labels.to_owned()))
        .collect()
}

async fn send(app: &Router, method: &str, path: &str) -> StatusCode {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

/// A batch of hostile requests: `n` invented methods on a known route, `n` unknown paths, and
/// `n` API calls without the token, and `n` invented methods on API paths.
async fn hostile_batch(app: &Router, from: usize, n: usize) {
    for i in from..from + n {
        let method = format!("X{i}METHOD");
        assert_eq!(
            send(app, &method, "/healthz").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            send(app, "GET", &format!("/no/such/route/{i}")).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            send(app, "GET", &format!("/v1/sessions/s{i}")).await,
            StatusCode::UNAUTHORIZED
        );
        // an invented method on an API route is refused before the token check
        assert_eq!(
            send(app, &method, &format!("/v1/users/u{i}/sessions")).await,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}

#[tokio::test]
async fn hostile_methods_paths_and_refused_requests_add_no_series() {
    let handle = PrometheusBuilder::new().install_recorder().unwrap();
    let state = ServerState::builder()
        .sessions(Arc::new(psm_memory::MemoryStore::new()))
        .token(TOKEN)
        .build()
        .await
        .unwrap();
    let app = router(state);
    hostile_batch(&app, 0, 5).await;
    let first = series(&handle);
    assert!(!first.is_empty(), "the requests were not recorded");
    // no label value comes from the client: not a method name, not a path, not an id
    for s in &first {
        assert!(!s.contains("METHOD") && !s.contains("/no/such"), "{s}");
        assert!(!s.contains("/s1") && !s.contains("/u1/"), "{s}");
    }
    assert!(
        first.iter().any(|s| s.contains(r#"method="other""#)),
        "{first:?}"
    );
    assert!(
        first.iter().any(|s| s.contains(r#"route="unmatched""#)),
        "{first:?}"
    );
    // forty times as many different hostile requests later, not one more series
    hostile_batch(&app, 5, 200).await;
    assert_eq!(series(&handle), first);
}
