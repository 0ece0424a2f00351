//! `psm serve`'s request budget end to end over HTTP on 127.0.0.1: an exploding expand and a
//! costly caveat answer 422 `budget_exceeded`, and SIGTERM ends the process within its grace
//! period while an evaluation that never awaits is running. Waits are bounded; no timing is
//! asserted beyond them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

/// A running `psm serve --url memory://`; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_psm"))
        .args(["serve", "--listen", "127.0.0.1:0", "--url", "memory://"])
        .args(extra)
        .env_remove("PSM_URL")
        .env_remove("PSM_SERVE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start psm serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    Server { child, base }
}

async fn post(c: &reqwest::Client, s: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{}{path}", s.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn setup(c: &reqwest::Client, s: &Server, schema: &str, rels: &[String]) {
    let resp = c
        .put(format!("{}/v1/schema", s.base))
        .json(&json!({"schema": schema}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let updates: Vec<Value> = rels
        .iter()
        .map(|r| json!({"operation": "touch", "relationship": r}))
        .collect();
    let (st, v) = post(
        c,
        s,
        "/v1/relationships/write",
        json!({ "updates": updates }),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// `permission lvN = lv(N-1) & lv(N-1)`, with `lv0 = reader + lv{levels}` looping back: a
/// check of an outsider evaluates about 2^levels nodes, memoising nothing.
fn looping_schema(levels: usize) -> String {
    let mut text = format!(
        "definition user {{}}\ndefinition doc {{\n relation reader: user\n permission lv0 = reader + lv{levels}\n"
    );
    for n in 1..=levels {
        text.push_str(&format!(" permission lv{n} = lv{m} & lv{m}\n", m = n - 1));
    }
    text.push('}');
    text
}

fn wait_for_exit(child: &mut Child, bound: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + bound;
    while Instant::now() < until {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[tokio::test]
async fn an_exploding_expand_and_a_costly_caveat_answer_422_budget_exceeded() {
    let s = serve(&["--max-results", "5000"]);
    let c = reqwest::Client::new();
    // 21 levels of groups each holding both groups of the next level.
    let mut rels = Vec::new();
    for i in 0..21 {
        for x in ["a", "b"] {
            for y in ["a", "b"] {
                rels.push(format!("group:g{x}{i}#member@group:g{y}{}#member", i + 1));
            }
        }
    }
    let schema = "definition user {}\n\
        definition group { relation member: user | group#member }\n\
        caveat nested(l list<int>) { l.exists(a, l.exists(b, a == b + 1000000000)) }\n\
        definition doc { relation reader: user with nested\n permission read = reader }";
    rels.push("doc:d#reader@user:u[nested]".to_owned());
    setup(&c, &s, schema, &rels).await;

    let (st, v) = post(
        &c,
        &s,
        "/v1/expand",
        json!({"resource": "group:ga0", "permission": "member"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "budget_exceeded", "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("result size limit 5000"), "{message}");

    let l: Vec<i64> = (0..3000).collect();
    let (st, v) = post(
        &c,
        &s,
        "/v1/check",
        json!({"resource": "doc:d", "permission": "read", "subject": "user:u", "context": {"l": l}}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "budget_exceeded", "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("caveat evaluation cost"), "{message}");

    // the server still answers
    let (st, v) = post(
        &c,
        &s,
        "/v1/check",
        json!({"resource": "doc:d", "permission": "read", "subject": "user:u", "context": {"l": [1, 2]}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn a_long_evaluation_answers_422_at_its_step_bound() {
    let s = serve(&["--max-steps", "100000"]);
    let c = reqwest::Client::new();
    setup(
        &c,
        &s,
        &looping_schema(30),
        &["doc:d#reader@user:u".to_owned()],
    )
    .await;
    let (st, v) = post(
        &c,
        &s,
        "/v1/check",
        json!({"resource": "doc:d", "permission": "lv30", "subject": "user:outsider"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "budget_exceeded", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_server_within_its_grace_while_an_evaluation_runs() {
    // Without the budget this check would run for hours: no step bound to speak of, a long
    // request timeout; only the shutdown can stop it.
    let mut s = serve(&[
        "--shutdown-grace",
        "2s",
        "--request-timeout",
        "1h",
        "--max-steps",
        "1000000000000",
    ]);
    let c = reqwest::Client::new();
    setup(
        &c,
        &s,
        &looping_schema(40),
        &["doc:d#reader@user:u".to_owned()],
    )
    .await;
    let request = {
        let (c, url) = (c.clone(), format!("{}/v1/check", s.base));
        tokio::spawn(async move {
            let resp = c
                .post(url)
                .json(
                    &json!({"resource": "doc:d", "permission": "lv40", "subject": "user:outsider"}),
                )
                .send()
                .await?;
            let status = resp.status();
            Ok::<_, reqwest::Error>((status, resp.json::<Value>().await?))
        })
    };
    // Let the request reach the server (its outcome below shows whether it did).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status =
        tokio::task::block_in_place(|| wait_for_exit(&mut s.child, Duration::from_secs(20)));
    let status = status.expect("psm serve did not exit within 20 s of SIGTERM (grace 2 s)");
    assert_eq!(status.code(), Some(0));
    // The request was in flight and was stopped: it answers 503, not a result.
    let (st, v) = request.await.unwrap().unwrap();
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "unavailable", "{v}");
}
