//! `FilePermissionsProvider`: the auth-middleware JSON layout, hot reload when the file changes,
//! keeping the last good version (and logging an error) when a new one is invalid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use psm_core::{Error, PermissionsProvider, Principal};
use psm_file::{FilePermissionsProvider, ProviderConfig};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber, span};

/// `path` fields of every `tracing::error!` event, from any thread.
fn error_paths() -> &'static Mutex<Vec<String>> {
    static PATHS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    PATHS.get_or_init(|| {
        struct Capture;
        struct PathField(Option<String>);
        impl Visit for PathField {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                if field.name() == "path" {
                    self.0 = Some(format!("{value:?}"));
                }
            }
        }
        impl Subscriber for Capture {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
                span::Id::from_u64(1)
            }
            fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
            fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
            fn event(&self, event: &Event<'_>) {
                if *event.metadata().level() == Level::ERROR {
                    let mut visitor = PathField(None);
                    event.record(&mut visitor);
                    if let Some(p) = visitor.0 {
                        error_paths().lock().unwrap().push(p);
                    }
                }
            }
            fn enter(&self, _: &span::Id) {}
            fn exit(&self, _: &span::Id) {}
        }
        let _ = tracing::subscriber::set_global_default(Capture);
        Mutex::new(Vec::new())
    })
}

fn errors_logged_for(path: &Path) -> usize {
    let want = path.display().to_string();
    error_paths()
        .lock()
        .unwrap()
        .iter()
        .filter(|p| **p == want)
        .count()
}

/// Replaces the file atomically, as editors and deploy tools do.
fn write(path: &Path, json: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

const SEED_EXAMPLE: &str = r#"{
  "users": { "admin": ["admin:*"], "john.doe": ["read:posts", "write:posts"] },
  "roles": { "editor": ["read:posts", "write:posts", "edit:posts"], "viewer": ["read:posts"], "admin": ["admin:*"] },
  "user_roles": { "john.doe": ["editor"], "jane.smith": ["viewer"], "admin": ["admin"] }
}"#;

async fn perms(provider: &FilePermissionsProvider, name: &str) -> Vec<String> {
    provider
        .fetch_permissions(&Principal::new("sub-1").with_username(name))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_layout_gives_direct_and_role_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("permissions.json");
    write(&path, SEED_EXAMPLE);
    let provider = FilePermissionsProvider::open(&path).await.unwrap();
    assert_eq!(
        perms(&provider, "john.doe").await,
        ["edit:posts", "read:posts", "write:posts"]
    );
    assert_eq!(perms(&provider, "jane.smith").await, ["read:posts"]);
    assert_eq!(perms(&provider, "admin").await, ["admin:*"]);
    assert!(perms(&provider, "stranger").await.is_empty());
    // without a username, the subject is the lookup name
    let by_subject = provider
        .fetch_permissions(&Principal::new("jane.smith"))
        .await
        .unwrap();
    assert_eq!(by_subject, ["read:posts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_is_reloaded_after_the_debounce_interval() {
    error_paths();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("permissions.json");
    write(&path, r#"{"users": {"u": ["read"]}}"#);
    let config = ProviderConfig::new(&path).reload_interval(Some(Duration::from_millis(50)));
    let provider = FilePermissionsProvider::with_config(config).await.unwrap();
    assert_eq!(perms(&provider, "u").await, ["read"]);
    write(&path, r#"{"users": {"u": ["write"]}}"#);
    let mut seen = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        seen = perms(&provider, "u").await;
        if seen == ["write"] {
            break;
        }
    }
    assert_eq!(seen, ["write"], "reloaded within 2 s");
    assert_eq!(provider.versions_loaded(), 2);
    assert_eq!(errors_logged_for(&path), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_new_version_keeps_the_last_good_one_and_logs_an_error() {
    error_paths();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("permissions.json");
    write(&path, r#"{"users": {"u": ["read"]}}"#);
    let config = ProviderConfig::new(&path).reload_interval(None);
    let provider = FilePermissionsProvider::with_config(config).await.unwrap();
    for (broken, needle) in [
        (r#"{"users": {"u": ["write::twice"]}}"#, "users.u"),
        (r#"{"users": {"u": ["read"]}"#, "invalid permissions file"),
        (r#"{"user_roles": {"u": ["ghost"]}}"#, "ghost"),
        (r#"{"hierarchy": {"a": ["b"], "b": ["a"]}}"#, "cycle"),
    ] {
        let logged = errors_logged_for(&path);
        write(&path, broken);
        let err = provider.reload().await.unwrap_err();
        assert!(err.to_string().contains(needle), "{broken}: {err}");
        assert_eq!(
            perms(&provider, "u").await,
            ["read"],
            "last good version kept"
        );
        assert!(provider.last_error().unwrap().contains(needle));
        assert_eq!(errors_logged_for(&path), logged + 1, "logged once");
        assert!(provider.reload().await.is_err(), "still broken");
        assert_eq!(errors_logged_for(&path), logged + 1, "not logged again");
    }
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        provider.reload().await,
        Err(Error::Backend { .. })
    ));
    assert_eq!(perms(&provider, "u").await, ["read"]);
    write(&path, r#"{"users": {"u": ["admin>"]}}"#);
    assert!(provider.reload().await.unwrap());
    assert_eq!(perms(&provider, "u").await, ["admin>"]);
    assert_eq!(provider.last_error(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_invalid_file_fails_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("permissions.json");
    assert!(FilePermissionsProvider::open(&path).await.is_err());
    write(&path, r#"{"roles": {"r": ["foo*"]}}"#);
    let err = FilePermissionsProvider::open(&path).await.unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    let big = ProviderConfig::new(&path).max_file_bytes(8);
    assert!(FilePermissionsProvider::with_config(big).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hierarchy_section_expands_through_the_shared_grammar() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("permissions.json");
    write(
        &path,
        r#"{"roles": {"editor": ["posts:editor"]}, "user_roles": {"ed": ["editor"]},
            "users": {"ops": ["admin:*"]},
            "hierarchy": {"posts:editor": ["posts:write", "posts:read"], "admin:*": ["audit:read"]}}"#,
    );
    let provider = FilePermissionsProvider::open(&path).await.unwrap();
    assert_eq!(
        perms(&provider, "ed").await,
        ["posts:editor", "posts:read", "posts:write"]
    );
    assert_eq!(perms(&provider, "ops").await, ["admin:*", "audit:read"]);
}
