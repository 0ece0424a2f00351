//! Heap bytes per session in the memory backend at 100k sessions of 5 short permissions,
//! measured with a counting global allocator (not a criterion bench: it prints one figure).
// Bench harness code, not a library path: failing loudly on setup errors is intended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::System;

use psm_core::{NewSession, SessionStore};
use psm_memory::{MemoryConfig, MemoryStore};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SESSIONS: usize = 100_000;

fn main() {
    // `cargo bench` passes --bench; any other flag (e.g. from `cargo test --benches`) is ignored.
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    // ids are built before measuring: the caller owns those strings, the store copies them
    let ids: Vec<(String, String)> = (0..SESSIONS)
        .map(|i| (format!("sess-{i:08}"), format!("user-{i:08}")))
        .collect();
    let config = MemoryConfig {
        cleanup_interval: None,
        ..MemoryConfig::default()
    };
    let Ok(store) = MemoryStore::with_config(config) else {
        std::process::exit(1);
    };
    let rss_before = rss_bytes();
    let region = Region::new(GLOBAL);
    rt.block_on(async {
        for (sid, uid) in &ids {
            let new = NewSession::new(sid.clone(), uid.clone())
                .permissions(["read", "write", "delete", "list", "admin:*"]);
            if let Err(e) = store.store_session(new).await {
                eprintln!("store: {e}");
                std::process::exit(1);
            }
        }
    });
    let change = region.change();
    // realloc growth and shrinkage are already folded into these two counters
    let net = change.bytes_allocated as i64 - change.bytes_deallocated as i64;
    println!(
        "memory_footprint: {SESSIONS} sessions x 5 permissions (one user each): {} bytes net heap, {:.0} bytes/session",
        net,
        net as f64 / SESSIONS as f64
    );
    if let (Some(before), Some(after)) = (rss_before, rss_bytes()) {
        println!(
            "memory_footprint: resident set growth (allocator overhead included): {:.0} bytes/session",
            after.saturating_sub(before) as f64 / SESSIONS as f64
        );
    }
    if let Ok(stats) = rt.block_on(store.stats()) {
        println!(
            "memory_footprint: the store's own estimate (stats.approx_bytes): {:.0} bytes/session",
            stats.approx_bytes.unwrap_or(0) as f64 / SESSIONS as f64
        );
    }
    drop(store);
}

/// Resident set size from /proc (Linux); `None` elsewhere.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
