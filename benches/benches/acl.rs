//! temporary probe
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use casbin::prelude::*;
use std::time::Instant;

const MODEL: &str = r#"
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

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    for &(roles, res, perms) in &[(10usize, 100usize, 10usize), (100, 100, 10), (100, 1000, 10)] {
        let n = roles * res * perms;
        let t = Instant::now();
        let e = rt.block_on(async {
            let m = DefaultModel::from_str(MODEL).await.unwrap();
            let mut e = Enforcer::new(m, MemoryAdapter::default()).await.unwrap();
            let mut rules = Vec::with_capacity(n);
            for r in 0..roles { for s in 0..res { for p in 0..perms {
                rules.push(vec![format!("role{r}"), format!("res{s}"), format!("perm{p}")]);
            }}}
            e.add_policies(rules).await.unwrap();
            e
        });
        let load = t.elapsed();
        let t = Instant::now();
        let mut hits = 0;
        let iters = 20;
        for i in 0..iters {
            if e.enforce((format!("role{}", i % roles), format!("res{}", (i * 7) % res), format!("perm{}", i % perms))).unwrap() { hits += 1; }
        }
        let per = t.elapsed() / iters as u32;
        println!("n={n} load={load:?} enforce={per:?} hits={hits}");
        if load.as_secs() > 60 { break; }
    }
}
