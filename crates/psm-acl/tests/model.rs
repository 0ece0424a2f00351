//! Property test: for random operation sequences the ACL (and every snapshot taken on the way)
//! agrees with a naive model — a set of triples plus the inheritance closure, with checks
//! answered by psm-core's `PermissionSet` over the role's effective grants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proptest::prelude::*;
use psm_acl::{Acl, AclSnapshot};
use psm_core::PermissionSet;

/// The values one property test draws its operations from.
struct Domain {
    roles: &'static [&'static str],
    resources: &'static [&'static str],
    perms: &'static [&'static str],
}

/// A broad domain: several roles and resources, exact and pattern permissions.
const BROAD: Domain = Domain {
    roles: &["r0", "r1", "r2", "r3"],
    resources: &["s0", "s1", "s2"],
    perms: &[
        "read",
        "write",
        "posts",
        "posts:read",
        "posts:*",
        "posts.*",
        "posts>",
        "*",
        "a.b",
    ],
};

/// A narrow domain where patterns and exact grants meet on the same (role, resource) often.
const PATTERNS: Domain = Domain {
    roles: &["r0", "r1", "r2"],
    resources: &["s0", "s1"],
    perms: &["posts", "posts:read", "posts:*", "posts.*", "posts>", "*"],
};

/// Queried on top of the domain: unknown names, concrete names patterns match, an invalid one.
const EXTRA_ROLES: [&str; 1] = ["ghost"];
const EXTRA_RESOURCES: [&str; 1] = ["ghost"];
const EXTRA_PERMS: [&str; 5] = ["posts:x:y", "posts.x", "zzz", "bad*", "read"];

impl Domain {
    fn query_roles(&self) -> Vec<&'static str> {
        self.roles.iter().chain(&EXTRA_ROLES).copied().collect()
    }
    fn query_resources(&self) -> Vec<&'static str> {
        self.resources
            .iter()
            .chain(&EXTRA_RESOURCES)
            .copied()
            .collect()
    }
    fn query_perms(&self) -> Vec<&'static str> {
        let mut v: Vec<&str> = self.perms.to_vec();
        v.extend(EXTRA_PERMS.iter().filter(|p| !self.perms.contains(p)));
        v
    }
}

#[derive(Debug, Clone)]
enum Op {
    Grant(usize, usize, usize),
    Revoke(usize, usize, usize),
    RevokeAll(usize, Option<usize>),
    AddRole(usize),
    RemoveRole(usize),
    AddResource(usize),
    RemoveResource(usize),
    AddPermission(usize, usize),
    RemovePermission(usize, usize),
    AddParent(usize, usize),
    RemoveParent(usize, usize),
    Clear,
    Snapshot,
    RoundTrip,
}

fn op(d: &Domain) -> impl Strategy<Value = Op> + use<> {
    let r = 0..d.roles.len();
    let s = 0..d.resources.len();
    let p = 0..d.perms.len();
    prop_oneof![
        8 => (r.clone(), s.clone(), p.clone()).prop_map(|(a, b, c)| Op::Grant(a, b, c)),
        3 => (r.clone(), s.clone(), p.clone()).prop_map(|(a, b, c)| Op::Revoke(a, b, c)),
        1 => (r.clone(), proptest::option::of(s.clone())).prop_map(|(a, b)| Op::RevokeAll(a, b)),
        1 => r.clone().prop_map(Op::AddRole),
        1 => r.clone().prop_map(Op::RemoveRole),
        1 => s.clone().prop_map(Op::AddResource),
        1 => s.clone().prop_map(Op::RemoveResource),
        1 => (s.clone(), p.clone()).prop_map(|(a, b)| Op::AddPermission(a, b)),
        2 => (s.clone(), p).prop_map(|(a, b)| Op::RemovePermission(a, b)),
        4 => (r.clone(), r.clone()).prop_map(|(a, b)| Op::AddParent(a, b)),
        1 => (r.clone(), r).prop_map(|(a, b)| Op::RemoveParent(a, b)),
        1 => Just(Op::Clear),
        1 => Just(Op::Snapshot),
        1 => Just(Op::RoundTrip),
    ]
}

type Triple = (String, String, String);

#[derive(Debug, Clone, Default)]
struct Model {
    roles: BTreeSet<String>,
    structure: BTreeMap<String, BTreeSet<String>>,
    grants: BTreeSet<Triple>,
    parents: BTreeSet<(String, String)>,
}

impl Model {
    /// The role and every role reachable through parent edges.
    fn closure(&self, role: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::from([role.to_string()]);
        let mut stack = vec![role.to_string()];
        while let Some(r) = stack.pop() {
            for (c, p) in &self.parents {
                if *c == r && out.insert(p.clone()) {
                    stack.push(p.clone());
                }
            }
        }
        out
    }

    fn effective(&self, role: &str, res: &str) -> BTreeSet<String> {
        if !self.roles.contains(role) {
            return BTreeSet::new();
        }
        let closure = self.closure(role);
        self.grants
            .iter()
            .filter(|(r, s, _)| closure.contains(r) && s == res)
            .map(|(_, _, p)| p.clone())
            .collect()
    }

    fn check(&self, role: &str, res: &str, perm: &str) -> bool {
        PermissionSet::new(self.effective(role, res))
            .unwrap()
            .check(perm)
            .unwrap_or(false)
    }

    fn which(&self, role: &str) -> HashMap<String, HashSet<String>> {
        self.structure
            .keys()
            .map(|s| (s.clone(), self.effective(role, s)))
            .filter(|(_, ps)| !ps.is_empty())
            .map(|(s, ps)| (s, ps.into_iter().collect()))
            .collect()
    }

    fn which_all(&self, roles: &[&str]) -> HashMap<String, HashSet<String>> {
        if roles.is_empty() {
            return HashMap::new();
        }
        let mut out = HashMap::new();
        for s in self.structure.keys() {
            let mut acc: Option<BTreeSet<String>> = None;
            for r in roles {
                let e = self.effective(r, s);
                acc = Some(match acc {
                    None => e,
                    Some(a) => a.intersection(&e).cloned().collect(),
                });
            }
            let acc = acc.unwrap_or_default();
            if !acc.is_empty() {
                out.insert(s.clone(), acc.into_iter().collect());
            }
        }
        out
    }

    fn which_any(&self, roles: &[&str]) -> HashMap<String, HashSet<String>> {
        let mut out: HashMap<String, HashSet<String>> = HashMap::new();
        for r in roles {
            for (s, ps) in self.which(r) {
                out.entry(s).or_default().extend(ps);
            }
        }
        out
    }

    fn show(&self) -> HashMap<String, HashMap<String, HashSet<String>>> {
        let mut out: HashMap<String, HashMap<String, HashSet<String>>> = HashMap::new();
        for (r, s, p) in &self.grants {
            out.entry(r.clone())
                .or_default()
                .entry(s.clone())
                .or_default()
                .insert(p.clone());
        }
        out
    }

    fn apply(&mut self, d: &Domain, acl: &mut Acl, op: &Op) {
        match *op {
            Op::Grant(r, s, p) => {
                let (r, s, p) = (d.roles[r], d.resources[s], d.perms[p]);
                let new = acl.grant(r, s, p).unwrap();
                self.roles.insert(r.into());
                self.structure.entry(s.into()).or_default().insert(p.into());
                assert_eq!(new, self.grants.insert((r.into(), s.into(), p.into())));
            }
            Op::Revoke(r, s, p) => {
                let (r, s, p) = (d.roles[r], d.resources[s], d.perms[p]);
                let had = self.grants.remove(&(r.into(), s.into(), p.into()));
                assert_eq!(acl.revoke(r, s, p), had);
            }
            Op::RevokeAll(r, s) => {
                let r = d.roles[r];
                let before = self.grants.len();
                self.grants
                    .retain(|(gr, gs, _)| !(gr == r && s.is_none_or(|s| gs == d.resources[s])));
                let n = match s {
                    Some(s) => acl.revoke_all_on(r, d.resources[s]),
                    None => acl.revoke_all(r, None),
                };
                assert_eq!(n, before - self.grants.len());
            }
            Op::AddRole(r) => {
                assert_eq!(
                    acl.add_role(d.roles[r]).unwrap(),
                    self.roles.insert(d.roles[r].into())
                );
            }
            Op::RemoveRole(r) => {
                let r = d.roles[r];
                assert_eq!(acl.remove_role(r), self.roles.remove(r));
                self.grants.retain(|(gr, _, _)| gr != r);
                self.parents.retain(|(c, p)| c != r && p != r);
            }
            Op::AddResource(s) => {
                let s = d.resources[s];
                let new = !self.structure.contains_key(s);
                self.structure.entry(s.into()).or_default();
                assert_eq!(acl.add_resource(s).unwrap(), new);
            }
            Op::RemoveResource(s) => {
                let s = d.resources[s];
                assert_eq!(acl.remove_resource(s), self.structure.remove(s).is_some());
                self.grants.retain(|(_, gs, _)| gs != s);
            }
            Op::AddPermission(s, p) => {
                let (s, p) = (d.resources[s], d.perms[p]);
                let new = self.structure.entry(s.into()).or_default().insert(p.into());
                assert_eq!(acl.add_permission(s, p).unwrap(), new);
            }
            Op::RemovePermission(s, p) => {
                let (s, p) = (d.resources[s], d.perms[p]);
                let had = self.structure.get_mut(s).is_some_and(|ps| ps.remove(p));
                assert_eq!(acl.remove_permission(s, p), had);
                self.grants.retain(|(_, gs, gp)| !(gs == s && gp == p));
            }
            Op::AddParent(r, p) => {
                let (r, p) = (d.roles[r], d.roles[p]);
                let cyclic = r == p || self.closure(p).contains(r);
                match acl.add_parent(r, p) {
                    Ok(new) => {
                        assert!(!cyclic);
                        self.roles.insert(r.into());
                        self.roles.insert(p.into());
                        assert_eq!(new, self.parents.insert((r.into(), p.into())));
                    }
                    Err(psm_acl::Error::Cycle { .. }) => assert!(cyclic),
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            Op::RemoveParent(r, p) => {
                let (r, p) = (d.roles[r], d.roles[p]);
                assert_eq!(
                    acl.remove_parent(r, p),
                    self.parents.remove(&(r.into(), p.into()))
                );
            }
            Op::Clear => {
                acl.clear();
                *self = Model::default();
            }
            Op::Snapshot | Op::RoundTrip => {}
        }
    }
}

fn set_of<'a>(it: impl Iterator<Item = &'a String>) -> BTreeSet<String> {
    it.cloned().collect()
}

/// Every check agrees with the model (cheap enough to run after each operation).
fn assert_checks(d: &Domain, acl: &AclSnapshot, model: &Model) {
    for r in d.query_roles() {
        for s in d.query_resources() {
            for p in d.query_perms() {
                assert_eq!(
                    acl.check(r, s, p),
                    model.check(r, s, p),
                    "check({r}, {s}, {p})"
                );
            }
        }
    }
}

/// Every query agrees with the model.
fn assert_agrees(d: &Domain, acl: &AclSnapshot, model: &Model) {
    assert_checks(d, acl, model);
    let (query_roles, query_resources, query_perms) =
        (d.query_roles(), d.query_resources(), d.query_perms());
    assert_eq!(set_of(acl.roles()), model.roles);
    let structure: HashMap<String, HashSet<String>> = model
        .structure
        .iter()
        .map(|(s, ps)| (s.clone(), ps.iter().cloned().collect()))
        .collect();
    assert_eq!(acl.structure(), structure);
    assert_eq!(acl.show(), model.show());
    assert_eq!(acl.grant_count(), model.grants.len());
    assert_eq!(acl.parent_count(), model.parents.len());
    let mut parents: Vec<(String, String)> = acl.export().parents;
    parents.sort();
    assert_eq!(parents, model.parents.iter().cloned().collect::<Vec<_>>());
    for mask in 0u32..(1 << query_roles.len()) {
        let roles: Vec<&str> = query_roles
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, r)| *r)
            .collect();
        for &s in &query_resources {
            for &p in &query_perms {
                let any = roles.iter().any(|r| model.check(r, s, p));
                let all = !roles.is_empty() && roles.iter().all(|r| model.check(r, s, p));
                assert_eq!(
                    acl.check_any(roles.iter().copied(), s, p),
                    any,
                    "any {roles:?} {s} {p}"
                );
                assert_eq!(
                    acl.check_all(roles.iter().copied(), s, p),
                    all,
                    "all {roles:?} {s} {p}"
                );
            }
            let eff: Vec<BTreeSet<String>> = roles.iter().map(|r| model.effective(r, s)).collect();
            let union: BTreeSet<String> = eff.iter().flatten().cloned().collect();
            let inter: BTreeSet<String> = match eff.split_first() {
                None => BTreeSet::new(),
                Some((first, rest)) => first
                    .iter()
                    .filter(|p| rest.iter().all(|e| e.contains(*p)))
                    .cloned()
                    .collect(),
            };
            let got_any = set_of(acl.which_permissions_any(roles.iter().copied(), s).iter());
            let got_all = set_of(acl.which_permissions_all(roles.iter().copied(), s).iter());
            assert_eq!(got_any, union, "which_permissions_any {roles:?} {s}");
            assert_eq!(got_all, inter, "which_permissions_all {roles:?} {s}");
        }
        assert_eq!(
            acl.which_any(roles.iter().copied()).to_map(),
            model.which_any(&roles)
        );
        assert_eq!(
            acl.which_all(roles.iter().copied()).to_map(),
            model.which_all(&roles)
        );
    }
    for &r in &query_roles {
        assert_eq!(acl.which(r).to_map(), model.which(r), "which({r})");
        for &s in &query_resources {
            assert_eq!(
                set_of(acl.which_permissions(r, s).iter()),
                model.effective(r, s),
                "which_permissions({r}, {s})"
            );
        }
    }
}

fn run(d: &Domain, ops: &[Op]) {
    let mut acl = Acl::new();
    let mut model = Model::default();
    let mut snapshots: Vec<(AclSnapshot, Model)> = Vec::new();
    for op in ops {
        model.apply(d, &mut acl, op);
        match op {
            Op::Snapshot => snapshots.push((acl.snapshot(), model.clone())),
            Op::RoundTrip => {
                let json = serde_json::to_string(&acl).unwrap();
                let mut fresh = Acl::new();
                fresh.grant("leftover", "state", "x").unwrap();
                fresh
                    .import(serde_json::from_str::<psm_acl::AclData>(&json).unwrap())
                    .unwrap();
                acl = fresh;
            }
            _ => {}
        }
        assert_checks(d, &acl, &model);
    }
    assert_agrees(d, &acl, &model);
    for (snapshot, then) in &snapshots {
        assert_agrees(d, snapshot, then);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn acl_and_its_snapshots_agree_with_the_naive_model(
        ops in proptest::collection::vec(op(&BROAD), 1..40)
    ) {
        run(&BROAD, &ops);
    }

    #[test]
    fn pattern_and_exact_grants_on_shared_resources_agree_with_the_model(
        ops in proptest::collection::vec(op(&PATTERNS), 1..30)
    ) {
        run(&PATTERNS, &ops);
    }
}
