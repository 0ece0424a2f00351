//! `psm serve` as a process, over HTTP on 127.0.0.1 with an ephemeral port — what only the
//! process can show: the listener and its printed address, SIGTERM, the token file and a short
//! token refused at start, the Prometheus recorder behind `/metrics`, a missing store refused at
//! start, and SQLite files shared with other processes (the default store, the changes long
//! poll on it, a schema written by another process). The API itself is tested in process in
//! psm-server's `http_api` and `api` tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

const SCHEMA: &str = "definition user {}\n\
definition group {\n    relation member: user | group#member\n}\n\
definition document {\n    relation owner: user\n    relation reader: user | group#member\n    permission edit = owner\n    permission read = reader + edit\n}\n";

/// A running `psm serve`; killed when dropped.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str], env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    serve_in(dir, extra, env)
}

fn serve_in(dir: tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_psm"));
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    // `psm serve` does not create a store; these tests start on a fresh default one
    if !extra.contains(&"--url") {
        cmd.args(["--url", "sqlite://psm.db?create=true"]);
    }
    cmd.args(extra)
        .current_dir(dir.path())
        .env_remove("PSM_URL")
        .env_remove("PSM_SERVE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start psm serve");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    Server {
        child,
        base,
        _dir: dir,
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

async fn post(c: &reqwest::Client, s: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    call(
        c,
        reqwest::Method::POST,
        format!("{}{path}", s.base),
        Some(body),
    )
    .await
}

async fn get(c: &reqwest::Client, s: &Server, path: &str) -> (StatusCode, Value) {
    call(c, reqwest::Method::GET, format!("{}{path}", s.base), None).await
}

async fn put_schema(c: &reqwest::Client, s: &Server, schema: &str) -> (StatusCode, Value) {
    call(
        c,
        reqwest::Method::PUT,
        format!("{}/v1/schema", s.base),
        Some(json!({"schema": schema})),
    )
    .await
}

#[tokio::test]
async fn sessions_over_http_on_the_sqlite_default() {
    let s = serve(&[], &[]);
    let c = reqwest::Client::new();
    let (st, v) = post(&c, &s, "/v1/sessions", json!({"session_id": "s1", "user_id": "alice", "permissions": ["read:posts", "admin:*"], "ttl_seconds": 600})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["user_id"], "alice");
    assert!(v["ttl_remaining_seconds"].as_u64().unwrap() <= 600);
    let (st, v) = post(
        &c,
        &s,
        "/v1/sessions",
        json!({"user_id": "bob", "permissions": ["read"]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    assert!(
        v["session_id"].as_str().unwrap().len() >= 16,
        "a generated id"
    );

    let (_, v) = post(
        &c,
        &s,
        "/v1/sessions/check",
        json!({"session_id": "s1", "permissions": ["read:posts", "admin:users:delete"]}),
    )
    .await;
    assert_eq!(v["allowed"], true);
    let (_, v) = post(
        &c,
        &s,
        "/v1/sessions/check",
        json!({"session_id": "s1", "permissions": ["read:posts", "write:posts"]}),
    )
    .await;
    assert_eq!(v["allowed"], false);
    assert_eq!(v["results"]["write:posts"], false);

    let (st, v) = get(&c, &s, "/v1/sessions/s1").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["permissions"], json!(["read:posts", "admin:*"]));
    let (st, _) = call(
        &c,
        reqwest::Method::DELETE,
        format!("{}/v1/sessions/s1", s.base),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = call(
        &c,
        reqwest::Method::DELETE,
        format!("{}/v1/sessions/s1", s.base),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = get(&c, &s, "/v1/sessions/s1").await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, v) = post(
        &c,
        &s,
        "/v1/sessions",
        json!({"session_id": "bad id", "user_id": "u"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("session_id")
    );

    // Relationships live in the same SQLite file.
    let (st, _) = put_schema(&c, &s, SCHEMA).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = post(
        &c,
        &s,
        "/v1/relationships/write",
        json!({"updates": [{"operation": "touch", "relationship": "document:a#owner@user:alice"}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = post(
        &c,
        &s,
        "/v1/check",
        json!({"resource": "document:a", "permission": "read", "subject": "user:alice"}),
    )
    .await;
    assert_eq!(v["allowed"], true);

    // The default store is ./psm.db in the working directory.
    assert!(s._dir.path().join("psm.db").is_file());
}

#[tokio::test]
async fn health_metrics_and_an_openapi_document_whose_every_operation_is_served() {
    let s = serve(&["--url", "memory://"], &[]);
    let c = reqwest::Client::new();
    let (st, v) = get(&c, &s, "/healthz").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "ok");

    let (st, doc) = get(&c, &s, "/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 13, "{}", paths.len());
    for (path, item) in paths {
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "parameters")
        {
            let url = format!(
                "{}{}",
                s.base,
                path.replace("{session_id}", "nobody")
                    .replace("{user_id}", "nobody")
            );
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = c.request(m, &url).json(&json!({})).send().await.unwrap();
            let st = resp.status();
            let missing = st == StatusCode::METHOD_NOT_ALLOWED
                || (st == StatusCode::NOT_FOUND && !path.contains('{'));
            assert!(!missing, "{method} {path} answered {st}");
        }
    }

    let resp = c.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(text.contains("psm_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/openapi.json\""), "{text}");
}

#[tokio::test]
async fn a_bearer_token_protects_the_api_but_not_health() {
    let token = "s3cret-token-0123456789";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("{token}\n")).unwrap();
    let s = serve_in(dir, &["--url", "memory://", "--token-file", "token"], &[]);
    let c = reqwest::Client::new();
    let url = format!("{}/v1/schema", s.base);
    assert_eq!(
        c.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = c
        .get(&url)
        .bearer_auth("s3cret-token-0123456788")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    let short = c.get(&url).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(short.status(), StatusCode::UNAUTHORIZED);
    let ok = c.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let metrics = c.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::UNAUTHORIZED);
    let health = c.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // Unauthenticated writes change nothing.
    let resp = c
        .put(&url)
        .json(&json!({"schema": SCHEMA}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let v: Value = c
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["schema"], Value::Null);
}

#[test]
fn a_short_or_empty_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_psm"))
        .args(["serve", "--listen", "127.0.0.1:0", "--url", "memory://"])
        .current_dir(dir.path())
        .env("PSM_SERVE_TOKEN", "short")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 16"));
}

/// `psm serve` does not create a store: on an SQLite file that does not exist it stops at start
/// with exit code 2 and a message naming the file, and creates nothing.
#[test]
fn a_missing_store_is_refused_at_start_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_psm"))
        .args([
            "--url",
            "sqlite://typo.db",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .env_remove("PSM_URL")
        .env_remove("PSM_SERVE_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("typo.db") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!dir.path().join("typo.db").exists());
}

#[test]
fn sigterm_shuts_down_gracefully_with_exit_code_0() {
    let mut s = serve(&["--url", "memory://"], &[]);
    let pid = s.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "psm serve did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
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
async fn touch(c: &reqwest::Client, s: &Server, relationship: &str) -> u64 {
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
async fn the_changes_long_poll_and_consistency_work_on_the_sqlite_default() {
    let s = serve(&[], &[]);
    let c = reqwest::Client::new();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    let r0 = touch(&c, &s, "document:spec#reader@user:alice").await;
    let url = format!(
        "{}/v1/relationships/changes?after={r0}&wait_ms=8000",
        s.base
    );
    let poll = tokio::spawn({
        let c = c.clone();
        async move { call(&c, reqwest::Method::GET, url, None).await }
    });
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
    let ask = |revision: u64| {
        check_body(
            "document:plan",
            "edit",
            "user:bob",
            json!({"consistency": {"at_least_as_fresh": revision}}),
        )
    };
    let (st, v) = post(&c, &s, "/v1/check", ask(r1)).await;
    assert_eq!((st, &v["allowed"]), (StatusCode::OK, &json!(true)), "{v}");
    let (st, v) = post(&c, &s, "/v1/check", ask(r1 + 1)).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
}

#[tokio::test]
async fn a_schema_written_by_another_process_is_picked_up() {
    let s = serve(&["--schema-refresh", "1s"], &[]);
    let c = reqwest::Client::new();
    assert_eq!(put_schema(&c, &s, SCHEMA).await.0, StatusCode::OK);
    touch(&c, &s, "document:spec#reader@user:alice").await;
    let view = check_body("document:spec", "view", "user:alice", json!({}));
    let (st, v) = post(&c, &s, "/v1/check", view.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT, "no `view` yet: {v}");
    assert_eq!(v["error"]["code"], json!("conflict"), "{v}");
    // Another process (the CLI, on the same ./psm.db) adds `view`.
    let dir = s._dir.path();
    let newer = SCHEMA.replace(
        "permission read = reader + edit\n",
        "permission read = reader + edit\n    permission view = read\n",
    );
    std::fs::write(dir.join("newer.zed"), newer).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_psm"))
        .args(["rebac", "schema", "write", "newer.zed"])
        .current_dir(dir)
        .env_remove("PSM_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Bounded wait for the server's next refresh (every second); asserts that it happens.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut last = (StatusCode::CONFLICT, Value::Null);
    while std::time::Instant::now() < deadline {
        last = post(&c, &s, "/v1/check", view.clone()).await;
        if last.0 == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last.0, StatusCode::OK, "{}", last.1);
    assert_eq!(last.1["allowed"], json!(true), "{}", last.1);
}
