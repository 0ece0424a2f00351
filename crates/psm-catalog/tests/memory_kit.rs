//! The shared assignment-store suite on `MemoryAssignments`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

async fn store() -> Option<psm_catalog::MemoryAssignments> {
    Some(psm_catalog::MemoryAssignments::new())
}

psm_catalog::assignment_store_tests!(store);
