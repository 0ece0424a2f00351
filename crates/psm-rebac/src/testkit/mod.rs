//! The behaviour suite every `TupleStore` runs (feature `testkit`): the memory store here, the
//! SQL stores in psm-sql.
//!
//! A store's test file calls the macro with an async factory returning a fresh, empty,
//! isolated store:
//!
//! ```ignore
//! async fn store() -> std::sync::Arc<dyn psm_rebac::TupleStore> { /* ... */ }
//! psm_rebac::tuple_store_tests!(store);
//! ```
//!
//! This expands to one `#[tokio::test]` per case of [`cases`] (store semantics: create, touch,
//! delete, preconditions, atomicity, forward and reverse reads; engine behaviour on the store:
//! nested groups, arrows, exclusion, intersection, wildcards, cycles, depth, lookups, expand),
//! plus `model_equivalence`, which runs seeded random write and read sequences on the store and
//! on a `MemoryStore` and demands the same answers, plus the consistency and watch cases of
//! [`watch_cases`] (revisions, change log, watch, pruned horizon, `Consistency`).
//!
//! The watch cases want two handles onto one store (a write through one must be seen through
//! the other). Pass a second async factory returning `[Arc<dyn TupleStore>; 2]`, both handles
//! onto one fresh, empty store:
//!
//! ```ignore
//! async fn handles() -> [std::sync::Arc<dyn psm_rebac::TupleStore>; 2] { /* ... */ }
//! psm_rebac::tuple_store_tests!(store, handles);
//! ```
//!
//! With one factory the watch cases get the same handle twice. The calling crate needs tokio
//! with the `macros`, `rt-multi-thread` and `time` features. Test code: assertions panic by
//! design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub mod cases;
pub mod model;
pub mod watch_cases;

/// Two handles onto one store from a single-store factory: the same handle twice.
pub async fn same_handle_twice<F, Fut>(factory: F) -> [std::sync::Arc<dyn crate::TupleStore>; 2]
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = std::sync::Arc<dyn crate::TupleStore>>,
{
    let store = factory().await;
    [store.clone(), store]
}

/// Expands to the whole tuple-store suite for `$factory` (an async fn returning
/// `Arc<dyn TupleStore>`; each call must return a fresh, empty, isolated store) and, when
/// given, `$handles` (an async fn returning two handles onto one fresh, empty store).
#[macro_export]
macro_rules! tuple_store_tests {
    ($factory:path) => {
        $crate::tuple_store_tests!(@all $factory; $crate::testkit::same_handle_twice($factory));
    };
    ($factory:path, $handles:path) => {
        $crate::tuple_store_tests!(@all $factory; $handles());
    };
    (@all $factory:path; $handles:expr) => {
        $crate::tuple_store_tests!(@pairs $handles;
            writes_return_increasing_revisions_and_the_head_follows,
            changes_since_list_exactly_the_later_writes_in_order,
            a_watcher_wakes_on_a_write_from_another_handle,
            a_watcher_behind_the_pruned_horizon_must_resync,
            at_least_as_fresh_a_revision_never_issued_is_an_error,
            fully_consistent_reads_see_a_write_from_another_handle
        );
        $crate::tuple_store_tests!(@cases $factory;
            create_touch_delete_follow_the_memory_store,
            create_of_an_existing_relationship_fails_and_writes_nothing,
            repeated_relationship_in_one_write_fails_and_writes_nothing,
            preconditions_are_checked_atomically,
            revisions_increase_with_every_write,
            reads_use_forward_and_reverse_filters,
            read_limits_and_subject_relation_filters,
            wildcards_and_usersets_are_stored_as_subjects,
            check_follows_nested_groups_and_parents,
            exclusion_intersection_and_wildcards,
            cycles_terminate_and_depth_is_limited,
            lookups_agree_with_check,
            expand_and_check_bulk,
            model_equivalence
        );
    };
    (@pairs $handles:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let [a, b] = $handles.await;
                $crate::testkit::watch_cases::$case(a, b).await;
            }
        )*
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::testkit::cases::$case($factory().await).await;
            }
        )*
    };
}
