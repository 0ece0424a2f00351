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
//! on a `MemoryStore` and demands the same answers. The calling crate needs tokio with the
//! `macros` and `rt-multi-thread` features. Test code: assertions panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub mod cases;
pub mod model;

/// Expands to the whole tuple-store suite for `$factory` (an async fn returning
/// `Arc<dyn TupleStore>`; each call must return a fresh, empty, isolated store).
#[macro_export]
macro_rules! tuple_store_tests {
    ($factory:path) => {
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
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::testkit::cases::$case($factory().await).await;
            }
        )*
    };
}
