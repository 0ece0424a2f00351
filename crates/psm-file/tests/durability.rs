//! On-disk behaviour of `FileStore`: reopening, several stores (as several processes would)
//! sharing one directory, corrupt records, backups, file modes, quotas and temp files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use psm_core::{Error, ManualClock, NewSession, SessionStore};
use psm_file::{FileConfig, FileStore};

const HOUR: Duration = Duration::from_secs(3600);

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

async fn open(dir: &Path) -> FileStore {
    FileStore::open(FileConfig::new(dir).cleanup_interval(None))
        .await
        .unwrap()
}

async fn put(store: &FileStore, sid: &str, user: &str, perms: &[&str]) {
    store
        .store_session(
            NewSession::new(sid, user)
                .permissions(perms.iter().copied())
                .ttl(HOUR),
        )
        .await
        .unwrap();
}

/// Every record file, across the shard directories of `sessions/` (temp files and spares,
/// `.tmp-*`, are not records).
fn records(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = files_in(&root.join("sessions"))
        .iter()
        .flat_map(|shard| files_in(shard))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    out.sort();
    out
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_store_has_every_session_and_its_user_index() {
    let tmp = scratch();
    let store = open(tmp.path()).await;
    put(&store, "a", "alice", &["read"]).await;
    put(&store, "b", "alice", &["write"]).await;
    put(&store, "c", "bob", &["admin:*"]).await;
    store.invalidate_session("b").await.unwrap();
    store
        .update_permissions("c", &["admin:*".into(), "x".into()], None)
        .await
        .unwrap();
    let before = store.get_session("c").await.unwrap();
    drop(store);
    let again = open(tmp.path()).await;
    assert_eq!(again.list_sessions("alice").await.unwrap(), ["a"]);
    assert_eq!(again.list_sessions("bob").await.unwrap(), ["c"]);
    assert_eq!(again.get_session("c").await.unwrap(), before);
    assert!(again.check_permission("c", "admin:users").await.unwrap());
    assert_eq!(again.count_sessions().await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_files_are_named_by_hash_and_hold_the_id() {
    let tmp = scratch();
    let store = open(tmp.path()).await;
    put(&store, "session_123", "user_456", &["read"]).await;
    let path = store.record_path("session_123").unwrap();
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(name.len(), 64 + ".json".len());
    assert!(!name.contains("session_123"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"session_id\":\"session_123\""), "{text}");
    assert!(text.contains("#psm-file len="), "{text}");
    assert_eq!(records(tmp.path()), [path]);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = scratch();
    let root = tmp.path().join("new-store");
    let store = FileStore::open(FileConfig::new(&root).backups(1))
        .await
        .unwrap();
    put(&store, "s", "u", &["read"]).await;
    put(&store, "s", "u", &["write"]).await; // makes a backup
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut dirs = vec![root.clone(), root.join("sessions"), root.join("backups")];
    dirs.extend(files_in(&root.join("sessions")));
    assert_eq!(dirs.len(), 3 + 16, "16 shard directories");
    for dir in dirs {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    let mut files = records(&root);
    files.extend(files_in(&root.join("backups")));
    files.extend(["lock", "journal", "psm-file.json"].map(|f| root.join(f)));
    assert_eq!(files.len(), 5);
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_directory_see_each_others_writes() {
    let tmp = scratch();
    let config = |dir: &Path| {
        FileConfig::new(dir)
            .refresh(Duration::ZERO)
            .cleanup_interval(None)
    };
    let a = FileStore::open(config(tmp.path())).await.unwrap();
    let b = FileStore::open(config(tmp.path())).await.unwrap();
    put(&a, "s1", "alice", &["read"]).await;
    assert!(b.check_permission("s1", "read").await.unwrap());
    assert!(
        b.update_permissions("s1", &["write".into()], None)
            .await
            .unwrap()
    );
    assert!(!a.check_permission("s1", "read").await.unwrap());
    assert!(a.check_permission("s1", "write").await.unwrap());
    put(&b, "s1", "bob", &["write"]).await; // moves between users
    assert!(a.list_sessions("alice").await.unwrap().is_empty());
    assert_eq!(a.list_sessions("bob").await.unwrap(), ["s1"]);
    assert!(a.invalidate_session("s1").await.unwrap());
    assert!(b.get_session("s1").await.unwrap().is_none());
    assert!(!b.invalidate_session("s1").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_in_two_stores_keep_one_consistent_index() {
    let tmp = scratch();
    let clock = Arc::new(ManualClock::starting_now());
    let on_clock = || {
        FileConfig::new(tmp.path())
            .cleanup_interval(None)
            .clock(clock.clone())
    };
    let a = FileStore::open(on_clock()).await.unwrap();
    let b = FileStore::open(on_clock()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..80 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let sid = format!("c{i:02}");
            put(&store, &sid, "shared-user", &["read"]).await;
            if i % 5 == 0 {
                assert!(store.invalidate_session(&sid).await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let want: Vec<String> = (0..80)
        .filter(|i| i % 5 != 0)
        .map(|i| format!("c{i:02}"))
        .collect();
    let fresh = open(tmp.path()).await;
    assert_eq!(fresh.list_sessions("shared-user").await.unwrap(), want);
    // the two writers converge too (within their refresh interval)
    clock.advance(Duration::from_millis(150));
    assert_eq!(a.list_sessions("shared-user").await.unwrap(), want);
    assert_eq!(b.list_sessions("shared-user").await.unwrap(), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_journal_makes_other_stores_rescan() {
    let tmp = scratch();
    let small = |dir: &Path| {
        FileConfig::new(dir)
            .refresh(Duration::ZERO)
            .journal_max_bytes(4096)
            .cleanup_interval(None)
    };
    let a = FileStore::open(small(tmp.path())).await.unwrap();
    let b = FileStore::open(small(tmp.path())).await.unwrap();
    for i in 0..400 {
        put(&a, &format!("journal-{i:04}"), "u", &["read"]).await;
    }
    assert_eq!(b.count_sessions().await.unwrap(), 400);
    let stats = b.stats().await.unwrap();
    assert!(stats.extra["rescans"] >= 1, "{stats:?}");
    assert!(stats.extra["journal_bytes"] <= 4096 + 64, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_is_a_typed_error_and_is_skipped_elsewhere() {
    let tmp = scratch();
    let store = open(tmp.path()).await;
    put(&store, "good", "u", &["read"]).await;
    put(&store, "bad", "u", &["read"]).await;
    put(&store, "cut", "u", &["read"]).await;
    let bad = store.record_path("bad").unwrap();
    let cut = store.record_path("cut").unwrap();
    drop(store);
    std::fs::write(&bad, b"{\"not\": \"a record\"}").unwrap();
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();

    let store = open(tmp.path()).await;
    for (sid, path) in [("bad", &bad), ("cut", &cut)] {
        match store.get_session(sid).await {
            Err(Error::Corrupt { location, .. }) => {
                assert_eq!(location, path.display().to_string())
            }
            other => panic!("{sid}: expected Corrupt, got {other:?}"),
        }
        assert!(matches!(
            store.check_permission(sid, "read").await,
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            store.update_permissions(sid, &["x".into()], None).await,
            Err(Error::Corrupt { .. })
        ));
    }
    assert_eq!(store.list_sessions("u").await.unwrap(), ["good"]);
    assert_eq!(store.count_sessions().await.unwrap(), 1);
    assert_eq!(store.cleanup_expired_sessions().await.unwrap(), 0);
    assert_eq!(store.stats().await.unwrap().corrupt_records, 2);
    assert!(store.check_permission("good", "read").await.unwrap());
    // the store keeps working, and the damaged sessions can be replaced or removed
    put(&store, "bad", "u", &["write"]).await;
    assert!(store.check_permission("bad", "write").await.unwrap());
    assert!(!store.invalidate_session("cut").await.unwrap());
    assert!(!cut.exists());
    assert_eq!(store.stats().await.unwrap().corrupt_records, 0);
    assert!(store.get_session("cut").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_keep_the_last_versions_and_go_with_their_session() {
    let tmp = scratch();
    let store = FileStore::open(FileConfig::new(tmp.path()).backups(2))
        .await
        .unwrap();
    for v in 1..=4 {
        put(&store, "s", "u", &[&format!("v{v}")]).await;
    }
    put(&store, "other", "u", &["read"]).await;
    let stem = store
        .record_path("s")
        .unwrap()
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let backups = tmp.path().join("backups");
    let read = |n: u32| std::fs::read_to_string(backups.join(format!("{stem}.{n}.json"))).unwrap();
    assert!(
        read(1).contains("\"v3\""),
        "newest backup is the previous version"
    );
    assert!(read(2).contains("\"v2\""));
    assert_eq!(files_in(&backups).len(), 2, "capped at 2; `other` has none");
    assert!(store.invalidate_session("s").await.unwrap());
    assert!(files_in(&backups).is_empty(), "removed with their session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quota_counts_live_sessions_only() {
    let tmp = scratch();
    let clock = Arc::new(ManualClock::starting_now());
    let config = FileConfig::new(tmp.path())
        .max_sessions(3)
        .clock(clock.clone());
    let store = FileStore::open(config).await.unwrap();
    put(&store, "a", "u", &["read"]).await;
    put(&store, "b", "u", &["read"]).await;
    store
        .store_session(NewSession::new("short", "u").ttl(Duration::from_millis(50)))
        .await
        .unwrap();
    let err = store
        .store_session(NewSession::new("d", "u"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::QuotaExceeded {
                what: "sessions",
                limit: 3
            }
        ),
        "{err:?}"
    );
    put(&store, "a", "u", &["write"]).await; // replacing is not growing
    clock.advance(Duration::from_millis(120));
    put(&store, "d", "u", &["read"]).await; // the expired one made room
    assert_eq!(records(tmp.path()).len(), 3);
    assert_eq!(store.count_sessions().await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_temp_files_are_never_read_and_are_removed_on_open() {
    let tmp = scratch();
    let store = open(tmp.path()).await;
    put(&store, "s", "u", &["read"]).await;
    drop(store);
    let shard = tmp.path().join("sessions").join("0");
    // what a writer killed between write and rename leaves behind
    std::fs::write(shard.join(".tmp-999999-0"), br#"{"session_id":"ghost"}"#).unwrap();
    let store = open(tmp.path()).await;
    assert!(!shard.join(".tmp-999999-0").exists());
    assert_eq!(records(tmp.path()).len(), 1);
    assert_eq!(store.count_sessions().await.unwrap(), 1);
    assert_eq!(store.stats().await.unwrap().extra["stale_temps_removed"], 1);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_records_become_spares_that_later_writes_rewrite_in_place() {
    use std::os::unix::fs::MetadataExt;
    let tmp = scratch();
    let store = open(tmp.path()).await;
    let inode = |store: &FileStore| {
        std::fs::metadata(store.record_path("s").unwrap())
            .unwrap()
            .ino()
    };
    put(&store, "s", "u", &["v1"]).await;
    let first = inode(&store);
    put(&store, "s", "u", &["v2"]).await; // no spare yet: a fresh file; the first becomes one
    let second = inode(&store);
    assert_ne!(first, second);
    let shard = store
        .record_path("s")
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let spares = || {
        files_in(&shard)
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .count()
    };
    assert_eq!(spares(), 1, "the replaced record is kept as a spare");
    put(&store, "s", "u", &["v3", "longer:than:before"]).await;
    assert_eq!(inode(&store), first, "the spare was rewritten in place");
    assert_eq!(spares(), 1, "and the record it replaced is the next spare");
    store.invalidate_session("s").await.unwrap();
    assert_eq!(spares(), 2, "a deleted record is a spare too");
    put(&store, "t", "u", &["w"]).await;
    assert_eq!(
        store.get_session("t").await.unwrap().unwrap().permissions,
        ["w"]
    );
    drop(store);
    let again = open(tmp.path()).await;
    assert!(again.get_session("s").await.unwrap().is_none());
    assert_eq!(
        again.get_session("t").await.unwrap().unwrap().permissions,
        ["w"]
    );
    let left: Vec<PathBuf> = files_in(&tmp.path().join("sessions"))
        .iter()
        .flat_map(|d| files_in(d))
        .collect();
    assert_eq!(
        left,
        [again.record_path("t").unwrap()],
        "reopening removed every spare; only t's record is left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_format_in_the_directory_is_refused() {
    let tmp = scratch();
    std::fs::write(
        tmp.path().join("psm-file.json"),
        br#"{"format":"psm-file","version":99}"#,
    )
    .unwrap();
    let err = FileStore::open(FileConfig::new(tmp.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    let missing = tmp.path().join("absent");
    let err = FileStore::open(FileConfig::new(&missing).create(false))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("absent"), "{err}");
    assert!(!missing.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_url_takes_every_documented_option() {
    let tmp = scratch();
    let url = format!(
        "file://{}?fsync=false&backups=1&max_sessions=5&default_ttl=0&max_permissions=2\
         &refresh=10ms&cleanup_interval=0&max_batch=8&create=true&journal_max_bytes=65536",
        tmp.path().display()
    );
    let store = FileStore::from_url(url.parse().unwrap()).await.unwrap();
    let s = store
        .store_session(NewSession::new("s", "u").permissions(["a", "b"]))
        .await
        .unwrap();
    assert_eq!(s.expires_at, None, "default_ttl=0 means no expiry");
    let err = store
        .store_session(NewSession::new("s", "u").permissions(["a", "b", "c"]))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let bad = format!("file://{}?colour=blue", tmp.path().display());
    assert!(matches!(
        FileStore::from_url(bad.parse().unwrap()).await,
        Err(Error::InvalidUrl { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_answered_from_memory_without_opening_record_files() {
    let tmp = scratch();
    let store = open(tmp.path()).await;
    put(&store, "s", "u", &["read", "admin:*"]).await;
    // take the records away: nothing but the cache can answer now
    let sessions = tmp.path().join("sessions");
    let hidden = tmp.path().join("hidden");
    std::fs::rename(&sessions, &hidden).unwrap();
    let answers = (
        store.check_permission("s", "admin:x").await,
        store.get_session("s").await.map(|s| s.is_some()),
        store.list_sessions("u").await,
        store.count_sessions().await,
    );
    std::fs::rename(&hidden, &sessions).unwrap();
    assert!(answers.0.unwrap());
    assert!(answers.1.unwrap());
    assert_eq!(answers.2.unwrap(), ["s"]);
    assert_eq!(answers.3.unwrap(), 1);
}

/// Every file under `root`, recursively.
fn every_file(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_byte_of_a_deleted_session_stays_in_any_file_of_the_store_journal_included() {
    let tmp = scratch();
    let store = open(tmp.path()).await;
    let (sid, user, perm) = ("secret-session-4711", "user-zebra-9", "perm:quokka:read");
    put(&store, "keep", "other", &["x"]).await;
    put(&store, sid, user, &[perm]).await;
    put(&store, sid, user, &[perm, "perm:quokka:write"]).await; // the first version is a spare
    assert!(store.invalidate_session(sid).await.unwrap());
    let leaks = |when: &str| {
        let files = every_file(tmp.path());
        assert!(
            files.iter().any(|p| p.file_name().unwrap() == "journal"),
            "{when}: the journal is among the files read: {files:?}"
        );
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            for needle in [sid, user, perm] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{when}: {} still holds {needle:?}",
                    path.display()
                );
            }
        }
    };
    leaks("after invalidate_session");
    store.close().await.unwrap();
    leaks("after close");
}
