//! psm-acl vs casbin: `check` at 100 roles x 1,000 resources x 10 permissions (1M grants),
//! `check_any` over 5 roles, `which(role)`, and casbin's `Enforcer::enforce` on the equivalent
//! RBAC model loaded with the same 1M policy lines (plus both at 10k, casbin's comfortable size).
//!
//! Run: `cargo bench -p psm-benches --bench acl` (`-- psm-acl` for psm-acl alone). For
//! load-independent instruction counts of `check`, see `crates/psm-acl/examples/check_profile.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use casbin::prelude::*;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use psm_acl::{Acl, SharedAcl};

/// casbin's RBAC model: roles are the policy subjects, `g` resolves role inheritance.
const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"#;

/// One size of the grant matrix: every role holds every permission on every resource.
#[derive(Clone, Copy)]
struct Size {
    roles: usize,
    resources: usize,
    perms: usize,
    label: &'static str,
}

const BIG: Size = Size {
    roles: 100,
    resources: 1000,
    perms: 10,
    label: "1M",
};
const SMALL: Size = Size {
    roles: 10,
    resources: 100,
    perms: 10,
    label: "10k",
};

fn triples(size: Size) -> impl Iterator<Item = (String, String, String)> {
    (0..size.roles).flat_map(move |r| {
        (0..size.resources).flat_map(move |s| {
            (0..size.perms)
                .map(move |p| (format!("role{r}"), format!("res{s}"), format!("perm{p}")))
        })
    })
}

/// 4096 pseudo-random (role, resource, permission) queries, all granted.
fn queries(size: Size) -> Vec<(String, String, String)> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..4096)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v = (x >> 33) as usize;
            (
                format!("role{}", v % size.roles),
                format!("res{}", (v / size.roles) % size.resources),
                format!("perm{}", (v / (size.roles * size.resources)) % size.perms),
            )
        })
        .collect()
}

fn build_acl(size: Size) -> Acl {
    let t = Instant::now();
    let mut acl = Acl::new();
    acl.grant_many(triples(size)).unwrap();
    eprintln!(
        "psm-acl {}: {} grants loaded in {:?}",
        size.label,
        acl.grant_count(),
        t.elapsed()
    );
    acl
}

fn build_casbin(size: Size) -> Enforcer {
    let t = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let enforcer = rt.block_on(async {
        let model = DefaultModel::from_str(CASBIN_MODEL).await.unwrap();
        let mut e = Enforcer::new(model, MemoryAdapter::default())
            .await
            .unwrap();
        let rules: Vec<Vec<String>> = triples(size).map(|(r, s, p)| vec![r, s, p]).collect();
        e.add_policies(rules).await.unwrap();
        e
    });
    eprintln!(
        "casbin {}: {} policies loaded in {:?}",
        size.label,
        enforcer.get_policy().len(),
        t.elapsed()
    );
    enforcer
}

fn bench_psm_checks(c: &mut Criterion, size: Size, acl: &Acl) {
    let qs = queries(size);
    let mut g = c.benchmark_group(format!("acl_check_{}", size.label));
    let mut i = 0usize;
    g.bench_function("psm-acl Acl::check", |b| {
        b.iter(|| {
            let (r, s, p) = &qs[i & 4095];
            i = i.wrapping_add(1);
            black_box(acl.check(r.as_str(), s.as_str(), p.as_str()))
        })
    });
    let snapshot = acl.snapshot();
    g.bench_function("psm-acl AclSnapshot::check", |b| {
        b.iter(|| {
            let (r, s, p) = &qs[i & 4095];
            i = i.wrapping_add(1);
            black_box(snapshot.check(r.as_str(), s.as_str(), p.as_str()))
        })
    });
    let shared = SharedAcl::new(acl);
    g.bench_function("psm-acl SharedAcl::check", |b| {
        b.iter(|| {
            let (r, s, p) = &qs[i & 4095];
            i = i.wrapping_add(1);
            black_box(shared.check(r.as_str(), s.as_str(), p.as_str()))
        })
    });
    g.finish();
}

fn bench_casbin(c: &mut Criterion, size: Size, enforcer: &Enforcer) {
    let qs = queries(size);
    let mut g = c.benchmark_group(format!("acl_check_{}", size.label));
    if size.label == BIG.label {
        // one enforce scans every policy line: ~0.1 s at 1M
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
    }
    let mut i = 0usize;
    g.bench_function("casbin Enforcer::enforce", |b| {
        b.iter(|| {
            let (r, s, p) = &qs[i & 4095];
            i = i.wrapping_add(1);
            black_box(
                enforcer
                    .enforce((r.as_str(), s.as_str(), p.as_str()))
                    .unwrap(),
            )
        })
    });
    g.finish();
}

/// Extra roles and patterns on top of the 1M matrix, for check_any, inheritance and patterns.
fn extend_big(acl: &mut Acl) {
    for k in 0..4 {
        // defined roles that hold nothing the queries ask for
        acl.grant(format!("nobody{k}"), "elsewhere", "read")
            .unwrap();
    }
    for u in 0..100 {
        // users inheriting from three roles each
        for k in 0..3 {
            acl.add_parent(format!("user{u}"), format!("role{}", (u + k * 31) % 100))
                .unwrap();
        }
    }
    for s in 0..1000 {
        acl.grant("ops", format!("res{s}"), "admin:*").unwrap();
    }
}

fn bench_psm_big_extras(c: &mut Criterion, acl: &Acl) {
    let qs = queries(BIG);
    let mut g = c.benchmark_group("acl_extras_1M");
    let mut i = 0usize;
    g.bench_function("psm-acl check_any 5 roles (hit on the 5th)", |b| {
        b.iter(|| {
            let (r, s, p) = &qs[i & 4095];
            i = i.wrapping_add(1);
            let roles = ["nobody0", "nobody1", "nobody2", "nobody3", r.as_str()];
            black_box(acl.check_any(roles, s.as_str(), p.as_str()))
        })
    });
    let users: Vec<String> = (0..100).map(|u| format!("user{u}")).collect();
    g.bench_function("psm-acl check via inheritance (3 parents)", |b| {
        b.iter(|| {
            let (_, s, p) = &qs[i & 4095];
            let u = &users[(i >> 3) % 100];
            i = i.wrapping_add(1);
            black_box(acl.check(u.as_str(), s.as_str(), p.as_str()))
        })
    });
    g.bench_function("psm-acl check via pattern grant (admin:*)", |b| {
        b.iter(|| {
            let (_, s, _) = &qs[i & 4095];
            i = i.wrapping_add(1);
            black_box(acl.check("ops", s.as_str(), "admin:users:delete"))
        })
    });
    let roles: Vec<String> = (0..100).map(|r| format!("role{r}")).collect();
    g.bench_function("psm-acl which(role) + visit all 10k pairs", |b| {
        b.iter(|| {
            let r = &roles[i % 100];
            i = i.wrapping_add(1);
            let mut n = 0usize;
            for (_res, perms) in acl.which(r.as_str()).iter() {
                n += perms.iter().count();
            }
            assert_eq!(n, 10_000);
            black_box(n)
        })
    });
    g.bench_function(
        "psm-acl which(role).to_map() (owned, Miracle's shape)",
        |b| {
            b.iter(|| {
                let r = &roles[i % 100];
                i = i.wrapping_add(1);
                black_box(acl.which(r.as_str()).to_map().len())
            })
        },
    );
    g.finish();
}

fn benches(c: &mut Criterion) {
    let mut big = build_acl(BIG);
    bench_psm_checks(c, BIG, &big);
    if psm_benches::table::quick() {
        // `cargo xtask bench --table --quick` needs psm's 1M check only (its peer is Python's)
        eprintln!("quick mode: casbin, the extras and the 10k rows are skipped");
        return;
    }
    let enforcer = build_casbin(BIG);
    bench_casbin(c, BIG, &enforcer);
    drop(enforcer);
    extend_big(&mut big);
    bench_psm_big_extras(c, &big);
    drop(big);

    let small = build_acl(SMALL);
    bench_psm_checks(c, SMALL, &small);
    let enforcer = build_casbin(SMALL);
    bench_casbin(c, SMALL, &enforcer);
}

criterion_group!(acl, benches);
criterion_main!(acl);
