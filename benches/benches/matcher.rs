//! Matcher check cost at 10, 100 and 10,000 grants: exact hit, pattern hit, miss; and a plain
//! `HashSet<String>` probe (the hand-rolled check) side by side.
// Bench harness code, not a library path: failing loudly on setup errors is intended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use psm_benches::grants;
use psm_core::permission::{ParsedPermission, PermissionSet};

fn matcher(c: &mut Criterion) {
    for n in [10usize, 100, 10_000] {
        let list = grants(n);
        let set = PermissionSet::new(&list).unwrap_or_default();
        let exact = list
            .iter()
            .find(|g| g.starts_with("res"))
            .cloned()
            .unwrap_or_default();
        let pattern_hit = "svc0:users:delete";
        let miss = "nothere:at:all";
        let mut group = c.benchmark_group(format!("matcher/{n}_grants"));
        for (name, perm) in [
            ("exact_hit", exact.as_str()),
            ("pattern_hit", pattern_hit),
            ("miss", miss),
        ] {
            assert_eq!(set.check(perm).ok(), Some(name != "miss"), "{name} at {n}");
            group.bench_function(format!("psm_check/{name}"), |b| {
                b.iter(|| set.check(black_box(perm)))
            });
        }
        let parsed = ParsedPermission::parse(&exact).ok();
        if let Some(parsed) = parsed {
            group.bench_function("psm_check_parsed/exact_hit", |b| {
                b.iter(|| set.check_parsed(black_box(parsed)))
            });
        }
        let plain: HashSet<String> = list.iter().cloned().collect();
        group.bench_function("std_hashset_contains/exact_hit", |b| {
            b.iter(|| plain.contains(black_box(exact.as_str())))
        });
        group.finish();
    }
}

criterion_group!(benches, matcher);
criterion_main!(benches);
