//! Export / import, serde JSON round trips that replace the state, and atomic JSON files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use psm_acl::{Acl, AclData, AclLimits, Error, SharedAcl};

fn sample() -> Acl {
    let mut acl = Acl::new();
    acl.add([
        ("blog", vec!["read", "write", "posts:*"]),
        ("empty", vec![]),
    ])
    .unwrap();
    acl.add_role("idle").unwrap();
    acl.grant("viewer", "blog", "read").unwrap();
    acl.grant("editor", "blog", "write").unwrap();
    acl.grant("editor", "blog", "posts:*").unwrap();
    acl.add_parent("editor", "viewer").unwrap();
    acl
}

fn sorted(acl: &Acl) -> AclData {
    let mut d = acl.export();
    d.sort();
    d
}

#[test]
fn export_lists_rows_for_every_table() {
    let d = sorted(&sample());
    assert_eq!(d.roles, ["editor", "idle", "viewer"]);
    assert_eq!(d.resources, ["blog", "empty"]);
    assert_eq!(d.permissions.len(), 3);
    assert_eq!(
        d.grants,
        [
            ("editor".into(), "blog".into(), "posts:*".into()),
            ("editor".into(), "blog".into(), "write".into()),
            ("viewer".into(), "blog".into(), "read".into()),
        ]
    );
    assert_eq!(d.parents, [("editor".into(), "viewer".into())]);
}

#[test]
fn json_round_trip_preserves_everything() {
    let acl = sample();
    let json = serde_json::to_string(&acl).unwrap();
    let back: Acl = serde_json::from_str(&json).unwrap();
    assert_eq!(sorted(&back), sorted(&acl));
    assert_eq!(back.structure(), acl.structure());
    assert!(back.check("editor", "blog", "read"));
    assert!(back.check("editor", "blog", "posts:new"));
}

#[test]
fn import_replaces_the_state_and_never_merges() {
    let mut acl = Acl::new();
    acl.grant("stale", "old", "perm").unwrap();
    acl.import(sample().export()).unwrap();
    assert!(!acl.has_role("stale"));
    assert!(!acl.has_resource("old"));
    assert_eq!(sorted(&acl), sorted(&sample()));
}

#[test]
fn a_failed_import_leaves_the_state_unchanged() {
    let mut acl = sample();
    let before = sorted(&acl);
    let mut cyclic = sample().export();
    cyclic.parents.push(("viewer".into(), "editor".into()));
    assert!(matches!(acl.import(cyclic), Err(Error::Cycle { .. })));
    let mut invalid = sample().export();
    invalid.grants.push(("x".into(), "y".into(), "bad*".into()));
    assert!(matches!(
        acl.import(invalid),
        Err(Error::InvalidPermission(_))
    ));
    assert_eq!(sorted(&acl), before);
}

#[test]
fn minimal_json_with_only_grants_is_accepted() {
    let acl: Acl = serde_json::from_str(r#"{"grants":[["a","r","p"]]}"#).unwrap();
    assert!(acl.check("a", "r", "p"));
    let err = serde_json::from_str::<Acl>(r#"{"grants":[["a","r","p*"]]}"#).unwrap_err();
    assert!(err.to_string().contains("invalid permission"));
    let err = serde_json::from_str::<Acl>(r#"{"parents":[["a","a"]]}"#).unwrap_err();
    assert!(err.to_string().contains("cycle"));
    let err = serde_json::from_str::<Acl>(r#"{"grant":[["a","r","p"]]}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field"));
}

#[test]
fn save_and_load_json_round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acl.json");
    let acl = sample();
    acl.save_json(&path).unwrap();
    let loaded = <Acl>::load_json(&path, AclLimits::default()).unwrap();
    assert_eq!(sorted(&loaded), sorted(&acl));
    // overwrite atomically; no temporary file is left behind
    let mut acl2 = acl.clone();
    acl2.remove_role("viewer");
    acl2.save_json(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["acl.json"]);
    let mut target = sample();
    target.reload_json(&path).unwrap();
    assert!(!target.has_role("viewer"));
}

#[test]
fn loading_a_missing_corrupt_or_oversized_file_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    assert!(matches!(
        <Acl>::load_json(&missing, AclLimits::default()),
        Err(Error::Io { .. })
    ));
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, b"{\"grants\": [[\"a\", ").unwrap();
    assert!(matches!(
        <Acl>::load_json(&corrupt, AclLimits::default()),
        Err(Error::Corrupt { .. })
    ));
    let big = dir.path().join("big.json");
    sample().save_json(&big).unwrap();
    assert!(matches!(
        <Acl>::load_json(&big, AclLimits::default().with_max_file_bytes(10)),
        Err(Error::QuotaExceeded {
            what: "file bytes",
            ..
        })
    ));
    let mut acl = sample();
    assert!(acl.reload_json(&corrupt).is_err());
    assert!(acl.has_role("viewer"));
}

#[test]
fn saving_into_a_missing_directory_fails_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/acl.json");
    assert!(matches!(sample().save_json(&path), Err(Error::Io { .. })));
}

#[test]
fn shared_acl_readers_see_only_published_states() {
    let mut acl = sample();
    let shared = SharedAcl::new(&acl);
    let old = shared.snapshot();
    acl.revoke("viewer", "blog", "read");
    assert!(shared.check("editor", "blog", "read"));
    assert!(shared.check_any(["x", "viewer"], "blog", "read"));
    shared.publish(&acl);
    assert!(!shared.check("editor", "blog", "read"));
    assert!(!shared.check_all(["viewer"], "blog", "read"));
    assert!(old.check("editor", "blog", "read"));
    shared.store(old);
    assert!(shared.check("editor", "blog", "read"));
}

#[test]
fn checks_run_concurrently_on_snapshots_while_the_writer_changes_the_acl() {
    let mut acl = Acl::new();
    for i in 0..50 {
        acl.grant(format!("r{i}"), "res", "p").unwrap();
    }
    let shared = std::sync::Arc::new(SharedAcl::new(&acl));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let shared = std::sync::Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut seen_granted = 0;
                for i in 0..2000 {
                    let snap = shared.snapshot();
                    // within one snapshot, r0 and r49 agree: they change together
                    let a = snap.check("r0", "res", "p");
                    let b = snap.check(&format!("r{}", 49), "res", "p");
                    assert_eq!(a, b, "iteration {i}");
                    seen_granted += usize::from(a);
                }
                seen_granted
            })
        })
        .collect();
    for round in 0..200 {
        if round % 2 == 0 {
            acl.revoke("r0", "res", "p");
            acl.revoke("r49", "res", "p");
        } else {
            acl.grant("r0", "res", "p").unwrap();
            acl.grant("r49", "res", "p").unwrap();
        }
        shared.publish(&acl);
    }
    for r in readers {
        r.join().unwrap();
    }
}
