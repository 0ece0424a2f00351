//! Matcher check cost at 10, 100 and 10,000 grants: exact hit, pattern hit, miss; and a plain
//! `HashSet<String>` probe (the hand-rolled check) side by side. Each row probes permissions
//! drawn at random from the whole grant list (every exact grant, every `svcN:*` pattern, as
//! many misses), and every answer is counted and asserted after the loop.
// Bench harness code, not a library path: failing loudly on setup errors is intended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use psm_benches::{Tally, XorShift, grants};
use psm_core::permission::{ParsedPermission, PermissionSet};

fn matcher(c: &mut Criterion) {
    for n in [10usize, 100, 10_000] {
        let list = grants(n);
        let set = PermissionSet::new(&list).unwrap_or_default();
        let exact: Vec<String> = list
            .iter()
            .filter(|g| g.starts_with("res"))
            .cloned()
            .collect();
        let pattern_hit: Vec<String> = list
            .iter()
            .filter(|g| g.starts_with("svc"))
            .map(|g| format!("{}users:delete", g.trim_end_matches('*')))
            .collect();
        let miss: Vec<String> = (0..exact.len())
            .map(|i| format!("nothere{i}:at:all"))
            .collect();
        let mut group = c.benchmark_group(format!("matcher/{n}_grants"));
        for (name, probes) in [
            ("exact_hit", &exact),
            ("pattern_hit", &pattern_hit),
            ("miss", &miss),
        ] {
            let expected = name != "miss";
            assert!(!probes.is_empty(), "{name} at {n}: no probes");
            let (mut rng, mut tally) = (XorShift::new(7), Tally::new());
            group.bench_function(format!("psm_check/{name}"), |b| {
                b.iter(|| {
                    let p = &probes[rng.below(probes.len())];
                    let got = set.check(black_box(p)).unwrap_or(!expected);
                    tally.record(got, expected)
                })
            });
            tally.assert_right(&format!("matcher/{n}_grants psm_check/{name}"), false);
        }
        let parsed: Vec<ParsedPermission<'_>> = exact
            .iter()
            .map(|p| ParsedPermission::parse(p).unwrap())
            .collect();
        let (mut rng, mut tally) = (XorShift::new(11), Tally::new());
        group.bench_function("psm_check_parsed/exact_hit", |b| {
            b.iter(|| {
                let p = parsed[rng.below(parsed.len())];
                tally.record(set.check_parsed(black_box(p)), true)
            })
        });
        tally.assert_right(&format!("matcher/{n}_grants psm_check_parsed"), false);
        let plain: HashSet<String> = list.iter().cloned().collect();
        let (mut rng, mut tally) = (XorShift::new(13), Tally::new());
        group.bench_function("std_hashset_contains/exact_hit", |b| {
            b.iter(|| {
                let p = &exact[rng.below(exact.len())];
                tally.record(plain.contains(black_box(p.as_str())), true)
            })
        });
        tally.assert_right(&format!("matcher/{n}_grants std_hashset_contains"), false);
        group.finish();
    }
}

criterion_group!(benches, matcher);
criterion_main!(benches);
