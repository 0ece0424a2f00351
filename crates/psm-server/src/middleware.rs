//! Cross-cutting handlers and layers: the request deadline, request metrics, `/healthz`,
//! `/metrics` and the JSON 404.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use psm_core::ErrorKind;
use serde_json::json;

use crate::error::Error;
use crate::openapi::{Health, HealthOrError, Internal, NotFoundRoute, ServerErrors};
use crate::state::AppState;

/// Aborts the task when dropped: a request whose deadline passed, or whose client went away,
/// stops its work.
struct AbortOnDrop(tokio::task::JoinHandle<Response>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Answers 503 when the request takes longer than the deadline. The handler runs as a task of
/// its own, so on a multi-threaded runtime the deadline fires even while the handler computes
/// without yielding (a CPU-heavy check); the task is aborted at its next yield.
pub async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let mut task = AbortOnDrop(tokio::spawn(next.run(req)));
    match tokio::time::timeout(limit, &mut task.0).await {
        Ok(Ok(resp)) => resp,
        Ok(Err(_)) => Error::new(ErrorKind::Internal, "the request failed").into_response(),
        Err(_) => Error::new(
            ErrorKind::Timeout,
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

/// Counts requests and their durations by route, method and status.
pub async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!(
        "psm_http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "psm_http_request_duration_seconds",
        "route" => route,
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
    resp
}

/// The method as a metrics label: the standard methods by name, every other one as `other`, so
/// no request can add a label value.
fn method_label(method: &Method) -> &'static str {
    let name = method.as_str();
    ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
        .into_iter()
        .find(|known| *known == name)
        .unwrap_or("other")
}

/// `GET /healthz`: 200 when the session store answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/healthz",
    summary = "Liveness and the session store's health (503 when unhealthy)",
    responses(
        (status = 200, description = "healthy", body = Health),
        (status = 503, description = "unhealthy, or past the request deadline", body = HealthOrError),
        Internal
    )
)]
pub async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let health = state.sessions.health_check().await;
    let status = if health.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if health.healthy { "ok" } else { "unhealthy" },
        "backend": health.backend,
        "latency_ms": health.latency.as_secs_f64() * 1000.0,
        "message": health.message,
    });
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text, from the renderer the host installed (404 without one).
#[utoipa::path(
    get,
    path = "/metrics",
    summary = "Prometheus metrics (text; 404 when the host installed no recorder)",
    responses(
        (status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"),
        NotFoundRoute,
        ServerErrors
    )
)]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match &state.metrics {
        Some(render) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            render(),
        )
            .into_response(),
        None => Error::new(ErrorKind::NotFound, "no metrics recorder is installed").into_response(),
    }
}

/// A known path with another method: a JSON 405 (axum adds the `Allow` header).
pub async fn method_not_allowed() -> Error {
    Error::new(
        ErrorKind::MethodNotAllowed,
        "this route does not take this method",
    )
}

/// Unknown paths: a JSON 404.
pub async fn not_found() -> Error {
    Error::new(ErrorKind::NotFound, "no such route")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use axum::Router;
    use axum::routing::get;

    use super::{deadline, method_label};

    /// Any method name a client invents folds into one label value.
    #[test]
    fn method_labels_are_bounded() {
        for m in ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
            assert_eq!(method_label(&m.parse().unwrap()), m);
        }
        for m in ["FOO", "get", "PROPFIND", "X1"] {
            assert_eq!(method_label(&m.parse().unwrap()), "other", "{m}");
        }
    }

    /// A handler slower than the deadline gets 503 `timeout`; a fast one its own answer.
    #[tokio::test]
    async fn a_request_past_its_deadline_gets_503() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "fast" }))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(200),
                deadline,
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        let slow = client
            .get(format!("http://{addr}/slow"))
            .send()
            .await
            .unwrap();
        assert_eq!(slow.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = slow.json().await.unwrap();
        assert_eq!(body["error"]["code"], "timeout");
        let fast = client
            .get(format!("http://{addr}/fast"))
            .send()
            .await
            .unwrap();
        assert_eq!(fast.text().await.unwrap(), "fast");
        server.abort();
    }

    /// A handler that computes without ever yielding still gets its 503: the deadline does not
    /// wait for it to finish (it would answer "late" if it did).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_deadline_covers_work_that_never_yields() {
        let app = Router::new()
            .route(
                "/busy",
                get(|| async {
                    // blocks its worker thread, as a CPU-heavy evaluation would
                    std::thread::sleep(Duration::from_secs(3));
                    "late"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(100),
                deadline,
            ));
        let req = axum::http::Request::get("/busy")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = tower::ServiceExt::oneshot(app, req).await.unwrap();
        assert_eq!(resp.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
    }
}
