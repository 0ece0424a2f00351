//! The manager's session check on its fast (synchronous) path: still counted by an installed
//! metrics recorder, still inside a `debug` span when a subscriber listens, and still refusing
//! every invalid session id although a held id is no longer scanned before the lookup.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use permission_storage_manager as psm;
use psm::Error;
use psm_core::{Field, Rule};

/// Counts the increments of `psm_checks_total`.
#[derive(Debug, Default)]
struct Checks(AtomicU64);

impl CounterFn for Checks {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

/// A recorder that hands out [`Checks`] for `psm_checks_total` and no-op handles otherwise.
#[derive(Debug, Default)]
struct Recorder {
    checks: Arc<Checks>,
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() == "psm_checks_total" {
            Counter::from_arc(self.checks.clone())
        } else {
            Counter::noop()
        }
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn managers(dir: &std::path::Path) -> Vec<psm::PermissionStorageManager> {
    let memory = psm::PermissionStorageManager::connect("memory://")
        .await
        .unwrap();
    // the image is refreshed on the first check, then trusted for an hour
    let url = format!("file://{}?fsync=false&refresh=1h", dir.display());
    let file = psm::PermissionStorageManager::connect(&url).await.unwrap();
    for m in [&memory, &file] {
        m.store_permissions("s1", "alice", ["read", "admin:*"], None)
            .await
            .unwrap();
        assert!(m.check_permission("s1", "read").await.unwrap());
        // both answer on the synchronous path now, which these tests are about
        assert!(
            m.store()
                .check_permission_now("s1", "read")
                .into_result()
                .is_some()
        );
    }
    vec![memory, file]
}

/// Checks on the synchronous path are counted once each (hit, denial, unknown session); a
/// refused input is not a check and is not counted.
#[test]
fn checks_are_counted_when_a_recorder_is_installed() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    for m in rt.block_on(managers(dir.path())) {
        let recorder = Recorder::default();
        let checks = recorder.checks.clone();
        let _guard = metrics::set_default_local_recorder(&recorder);
        rt.block_on(async {
            assert!(m.check_permission("s1", "read").await.unwrap());
            assert!(m.check_permission("s1", "admin:users").await.unwrap());
            assert!(!m.check_permission("s1", "write").await.unwrap());
            assert!(!m.check_permission("s2", "read").await.unwrap());
            assert!(m.check_permission("s1!", "read").await.is_err());
        });
        assert_eq!(
            checks.0.load(Ordering::Relaxed),
            4,
            "{}",
            m.store().backend()
        );
    }
}

fn refused_field(result: psm::Result<bool>) -> Field {
    match result {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("expected an invalid-input error, got {other:?}"),
    }
}

/// Every invalid id is refused with the session-id error, whether or not a held id is a prefix
/// of it, and also when the permission is invalid too (the id's error comes first).
#[test]
fn invalid_session_ids_are_refused_on_the_fast_path() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let long = "s".repeat(psm_core::validate::MAX_ID_LEN + 1);
    for m in rt.block_on(managers(dir.path())) {
        rt.block_on(async {
            for id in ["", "../s1", "s1/", "s1 ", "s1\0", "s\u{e9}1", long.as_str()] {
                for permission in ["read", "bad perm", "a::b"] {
                    let field = refused_field(m.check_permission(id, permission).await);
                    assert_eq!(field, Field::SessionId, "{id:?} {permission:?}");
                }
            }
            match m.check_permission(&long, "read").await {
                Err(Error::InvalidInput {
                    rule: Rule::TooLong { .. },
                    ..
                }) => {}
                other => panic!("expected too long, got {other:?}"),
            }
            // a valid id with an invalid permission names the permission
            assert!(matches!(
                m.check_permission("s1", "a::b").await,
                Err(Error::InvalidPermission(_))
            ));
        });
    }
}

/// A subscriber listening at `debug` that counts the `psm` spans entered.
#[derive(Debug, Default)]
struct Spans {
    entered: AtomicU64,
    next: AtomicU64,
}

impl tracing::Subscriber for Spans {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        assert_eq!(span.metadata().name(), "psm");
        tracing::span::Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {
        self.entered.fetch_add(1, Ordering::Relaxed);
    }
    fn exit(&self, _: &tracing::span::Id) {}
}

/// With a subscriber at `debug`, every check on the fast path opens and enters its span.
#[test]
fn checks_are_traced_when_a_subscriber_listens() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    for m in rt.block_on(managers(dir.path())) {
        let spans = Arc::new(Spans::default());
        let dispatch = tracing::Dispatch::from(spans.clone());
        tracing::dispatcher::with_default(&dispatch, || {
            rt.block_on(async {
                assert!(m.check_permission("s1", "read").await.unwrap());
                assert!(!m.check_permission("s2", "read").await.unwrap());
            });
        });
        assert_eq!(spans.entered.load(Ordering::Relaxed), 2);
    }
}
