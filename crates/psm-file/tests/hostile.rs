//! Hostile ids never reach outside the storage directory: path tricks, NUL bytes, absolute paths,
//! 255-byte ids and Unicode user ids. The parent directory is scanned before and after.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use psm_core::{Error, Field, NewSession, SessionStore};
use psm_file::{FileConfig, FileStore};

fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.insert(path);
        }
    }
    out
}

fn is_hex_name(name: &str, suffix_ok: impl Fn(&str) -> bool) -> bool {
    name.len() > 64 && name[..64].bytes().all(|b| b.is_ascii_hexdigit()) && suffix_ok(&name[64..])
}

const BAD_SESSION_IDS: &[&str] = &[
    "../../etc/passwd",
    "../escape",
    "/abs",
    "/etc/passwd",
    "a/b",
    "..\\windows",
    "nul\0byte",
    "\0",
    "",
    "sp ace",
    "ünïcode",
    "line\nbreak",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_never_write_outside_the_store_directory() {
    let parent = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::write(parent.path().join("neighbour.txt"), b"keep me").unwrap();
    let root = parent.path().join("store");
    let store = FileStore::open(FileConfig::new(&root).backups(2))
        .await
        .unwrap();
    let before: BTreeSet<PathBuf> = tree(parent.path())
        .into_iter()
        .filter(|p| !p.starts_with(&root))
        .collect();

    let long_256 = "a".repeat(256);
    let mut bad: Vec<&str> = BAD_SESSION_IDS.to_vec();
    bad.push(&long_256);
    for sid in &bad {
        let err = store
            .store_session(NewSession::new(*sid, "u").permissions(["read"]))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: Field::SessionId,
                    ..
                }
            ),
            "{sid:?}: {err:?}"
        );
        for result in [
            store.get_session(sid).await.map(|_| ()),
            store.check_permission(sid, "read").await.map(|_| ()),
            store
                .update_permissions(sid, &["x".into()], None)
                .await
                .map(|_| ()),
            store
                .extend_session_ttl(sid, Duration::from_secs(1))
                .await
                .map(|_| ()),
            store.invalidate_session(sid).await.map(|_| ()),
            store.record_path(sid).map(|_| ()),
        ] {
            assert!(
                matches!(
                    result,
                    Err(Error::InvalidInput {
                        field: Field::SessionId,
                        ..
                    })
                ),
                "{sid:?}: {result:?}"
            );
        }
    }

    // valid but suspicious session ids, and user ids that look like paths: all just data
    let long_sid = "s".repeat(255);
    let long_uid = "ü".repeat(127);
    let odd_users = [
        "../../etc/passwd",
        "/abs/path",
        "..",
        "Zoë 🦀 / ../..",
        "C:\\Windows",
        long_uid.as_str(),
    ];
    let odd_sessions = ["..", ".", "...", "-", "~", long_sid.as_str()];
    for (sid, uid) in odd_sessions.iter().zip(odd_users) {
        store
            .store_session(
                NewSession::new(*sid, uid)
                    .permissions(["files:/etc/passwd"])
                    .metadata(serde_json::json!({"path": "../../../tmp/x"})),
            )
            .await
            .unwrap();
        store
            .store_session(NewSession::new(*sid, uid))
            .await
            .unwrap(); // a backup too
        assert_eq!(store.list_sessions(uid).await.unwrap(), [*sid], "{uid:?}");
    }
    for uid in ["nul\0user", "bell\u{7}", ""] {
        let err = store
            .store_session(NewSession::new("ok", uid))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: Field::UserId,
                    ..
                }
            ),
            "{uid:?}: {err:?}"
        );
        assert!(store.list_sessions(uid).await.is_err());
    }

    let after = tree(parent.path());
    let outside: BTreeSet<PathBuf> = after
        .iter()
        .filter(|p| !p.starts_with(&root))
        .cloned()
        .collect();
    assert_eq!(
        outside, before,
        "nothing appeared or vanished outside the store"
    );
    assert_eq!(
        std::fs::read(parent.path().join("neighbour.txt")).unwrap(),
        b"keep me"
    );
    // and inside it, only the documented names
    for path in after.iter().filter(|p| p.starts_with(&root) && **p != root) {
        let rel = path.strip_prefix(&root).unwrap();
        let parts: Vec<&str> = rel.iter().map(|c| c.to_str().unwrap()).collect();
        let ok = match parts.as_slice() {
            [name] => ["psm-file.json", "lock", "journal", "sessions", "backups"].contains(name),
            ["sessions", shard] => shard.len() == 1 && shard.bytes().all(|b| b.is_ascii_hexdigit()),
            ["sessions", shard, name] => {
                is_hex_name(name, |s| s == ".json") && name.starts_with(shard)
            }
            ["backups", name] => is_hex_name(name, |s| s == ".1.json" || s == ".2.json"),
            _ => false,
        };
        assert!(ok, "unexpected path {}", path.display());
    }
    assert_eq!(
        store.count_sessions().await.unwrap(),
        odd_sessions.len() as u64
    );
}
