//! The one behaviour suite every `SessionStore` backend runs (feature `testkit`).
//!
//! A backend's test file calls the macro with an async factory that returns a fresh, empty,
//! isolated store (its own key prefix, tables or directory):
//!
//! ```ignore
//! async fn store() -> std::sync::Arc<dyn psm_core::SessionStore> { /* ... */ }
//! psm_core::session_store_tests!(store);
//! ```
//!
//! A backend that reads the time from an injected [`Clock`](crate::clock::Clock) returns a
//! [`Subject`] with the [`ManualClock`](crate::clock::ManualClock) it was given instead: the
//! expiry cases then advance that clock rather than sleep.
//!
//! This expands to one `#[tokio::test]` per rule of the `SessionStore` contract (as the trait
//! documents it; each test named for the behaviour), plus `model_equivalence`, a proptest state machine that runs random operation
//! sequences on the backend and on a plain in-memory model and demands the same answers.
//! Test code: assertions panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cases;
pub mod model;
mod subject;

pub use subject::Subject;

/// The settings tests use for a service URL: `PSM_TEST_<NAME>_URL` or the given default.
pub fn service_url(name: &str, default: &str) -> String {
    std::env::var(format!("PSM_TEST_{name}_URL")).unwrap_or_else(|_| default.to_owned())
}

/// True when CI demands every backend's service (`PSM_REQUIRE_SERVICES=1`): a backend test whose
/// server is missing must then fail, never skip.
pub fn services_required() -> bool {
    flag_set("PSM_REQUIRE_SERVICES")
}

/// True when CI demands the data kept beside the repository (`PSM_REQUIRE_SHARED=1`, or `CI=true`):
/// a test whose data is missing must then fail, never skip.
pub fn shared_required() -> bool {
    flag_set("PSM_REQUIRE_SHARED") || flag_set("CI")
}

fn flag_set(name: &str) -> bool {
    matches!(
        std::env::var(name).as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// The directory `relative` (for example `"conformance"`) of the data kept beside the
/// repository: under `$PSM_SHARED_DIR`, else under `../shared` next to the workspace root found
/// above `manifest_dir` (pass `env!("CARGO_MANIFEST_DIR")`).
///
/// When it is absent the test should return early: this prints one line saying so and returns
/// `None`, or panics when [`shared_required`] (CI), so missing data never passes silently there.
pub fn shared_data(manifest_dir: &str, relative: &str) -> Option<std::path::PathBuf> {
    use std::path::{Path, PathBuf};
    let base = match std::env::var_os("PSM_SHARED_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(manifest_dir)
            .ancestors()
            .find(|dir| dir.join("Cargo.lock").is_file())
            .unwrap_or(Path::new(manifest_dir))
            .join("../shared"),
    };
    let dir = base.join(relative);
    if dir.is_dir() {
        return Some(dir);
    }
    if shared_required() {
        panic!(
            "shared data {} not found and PSM_REQUIRE_SHARED=1 (or CI=true): set PSM_SHARED_DIR",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: shared data {} not found (set PSM_SHARED_DIR to run, PSM_REQUIRE_SHARED=1 to fail)",
        dir.display()
    );
    None
}

/// A short unique token for isolating one test's keys, tables or ids.
pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}_{}_{}", std::process::id(), nanos, n)
}

/// Expands to the whole backend behaviour suite for `$factory` (an async fn returning
/// `Arc<dyn SessionStore>` or a [`Subject`]; each call must return a fresh, empty, isolated
/// store).
#[macro_export]
macro_rules! session_store_tests {
    ($factory:path) => {
        $crate::session_store_tests!(@cases $factory;
            store_then_get_returns_what_was_stored,
            duplicate_permissions_are_stored_once_in_first_seen_order,
            check_permission_follows_the_shared_grammar,
            check_permissions_answers_every_requested_permission,
            missing_session_is_none_and_checks_false,
            expired_session_is_invisible_before_any_cleanup,
            update_without_ttl_keeps_the_remaining_ttl,
            update_with_ttl_restarts_the_clock,
            extend_session_ttl_sets_expiry_from_now,
            list_sessions_returns_only_live_sessions_of_that_user,
            concurrent_stores_for_one_user_lose_no_index_entry,
            restoring_a_session_for_another_user_moves_it_between_users,
            returned_values_cannot_change_stored_state,
            invalid_input_is_rejected_with_nothing_written,
            invalid_update_leaves_the_session_unchanged,
            invalidate_removes_the_session_and_its_index_entry,
            cleanup_removes_expired_sessions_and_keeps_live_ones,
            count_sessions_counts_live_sessions_only,
            default_ttl_applies_when_none_is_given,
            sessions_without_expiry_have_no_ttl,
            metadata_round_trips_as_a_json_object,
            unicode_user_ids_and_longest_ids_work,
            health_check_reports_healthy,
            stats_report_live_sessions,
            closed_store_rejects_later_calls
        );

        #[test]
        fn model_equivalence() {
            $crate::testkit::model::run_model_equivalence(|| async {
                $crate::testkit::Subject::from($factory().await).store
            });
        }
    };
    (@cases $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $crate::testkit::Subject::from($factory().await);
                $crate::testkit::cases::$name(store).await;
            }
        )*
    };
}
