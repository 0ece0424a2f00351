//! Profiling driver for `Acl::check` at 1M grants (100 roles x 1,000 resources x 10
//! permissions), for callgrind's load-independent instruction counts:
//!
//! ```text
//! cargo build --release -p psm-acl --example check_profile
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*run_checks*' \
//!     target/release/examples/check_profile 200000
//! ```
//!
//! Instructions per check = the total of `run_checks` divided by the count given. With a
//! second argument `any`, `run_checks` runs `check_any` over five roles (four holding nothing
//! there, the hit on the fifth), as the criterion bench does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use psm_acl::Acl;

fn queries() -> Vec<(String, String, String)> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..4096)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v = (x >> 33) as usize;
            (
                format!("role{}", v % 100),
                format!("res{}", (v / 100) % 1000),
                format!("perm{}", (v / 100_000) % 10),
            )
        })
        .collect()
}

#[inline(never)]
fn run_checks(acl: &Acl, qs: &[(String, String, String)], n: usize, any: bool) -> usize {
    let mut hits = 0;
    for i in 0..n {
        let (r, s, p) = &qs[i & 4095];
        let hit = if any {
            let roles = ["nobody0", "nobody1", "nobody2", "nobody3", r.as_str()];
            black_box(acl).check_any(roles, s.as_str(), p.as_str())
        } else {
            black_box(acl).check(r.as_str(), s.as_str(), p.as_str())
        };
        hits += usize::from(hit);
    }
    hits
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut acl = Acl::new();
    acl.grant_many((0..100).flat_map(|r| {
        (0..1000).flat_map(move |s| {
            (0..10).map(move |p| (format!("role{r}"), format!("res{s}"), format!("perm{p}")))
        })
    }))
    .unwrap();
    let any = std::env::args().nth(2).as_deref() == Some("any");
    for k in 0..4 {
        acl.grant(format!("nobody{k}"), "elsewhere", "read")
            .unwrap();
    }
    let qs = queries();
    let t = std::time::Instant::now();
    let hits = run_checks(&acl, &qs, n, any);
    let per = t.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(hits, n);
    println!("{n} checks, all granted, {per:.1} ns per check (wall clock)");
}
