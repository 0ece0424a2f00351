//! The umbrella manager: contract methods, builder defaults, registry, env, blocking API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use permission_storage_manager as psm;
use psm::{Error, SessionStore};

#[tokio::test]
async fn contract_methods_round_trip_on_memory() {
    let m = psm::PermissionStorageManager::connect("memory://")
        .await
        .unwrap();
    m.store_permissions(
        "session_123",
        "user_456",
        ["read", "write", "admin"],
        Some(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    assert!(m.check_permission("session_123", "read").await.unwrap());
    let answers = m
        .check_permissions("session_123", ["read", "delete"])
        .await
        .unwrap();
    assert!(answers["read"] && !answers["delete"]);
    let session = m.get_permissions("session_123").await.unwrap().unwrap();
    assert_eq!(session.permissions, ["read", "write", "admin"]);
    assert!(
        m.update_permissions("session_123", ["read"], None)
            .await
            .unwrap()
    );
    let info = m.get_session_info("session_123").await.unwrap().unwrap();
    assert!(info.ttl_remaining.unwrap() <= Duration::from_secs(3600));
    assert!(
        m.extend_session_ttl("session_123", Duration::from_secs(7200))
            .await
            .unwrap()
    );
    let info = m.get_session_info("session_123").await.unwrap().unwrap();
    assert!(info.ttl_remaining.unwrap() > Duration::from_secs(3600));
    assert_eq!(m.list_sessions("user_456").await.unwrap(), ["session_123"]);
    assert!(m.invalidate_session("session_123").await.unwrap());
    assert_eq!(m.cleanup_expired_sessions().await.unwrap(), 0);
    assert!(m.health_check().await.is_healthy());
    m.close().await.unwrap();
    assert!(matches!(
        m.check_permission("session_123", "read").await,
        Err(Error::Closed)
    ));
}

#[tokio::test]
async fn ttl_none_uses_one_hour_unless_the_builder_says_otherwise() {
    let m = psm::PermissionStorageManager::connect("memory://")
        .await
        .unwrap();
    let s = m.store_permissions("a", "u", ["read"], None).await.unwrap();
    let ttl = s.expires_at.unwrap().saturating_since(s.created_at);
    assert_eq!(ttl, Duration::from_secs(3600));

    let m = psm::PermissionStorageManager::builder()
        .default_ttl(Duration::from_secs(60))
        .build()
        .await
        .unwrap();
    let s = m.store_permissions("a", "u", ["read"], None).await.unwrap();
    assert_eq!(
        s.expires_at.unwrap().saturating_since(s.created_at),
        Duration::from_secs(60)
    );

    let m = psm::PermissionStorageManager::builder()
        .no_default_ttl()
        .build()
        .await
        .unwrap();
    let s = m.store_permissions("a", "u", ["read"], None).await.unwrap();
    assert_eq!(s.expires_at, None);
}

#[tokio::test]
async fn unknown_scheme_and_bad_urls_are_typed_errors() {
    let err = psm::PermissionStorageManager::connect("nosuch://x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UnknownScheme { ref scheme } if scheme == "nosuch"),
        "{err:?}"
    );
    let err = psm::PermissionStorageManager::connect("not a url")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    let err = psm::PermissionStorageManager::connect("memory://?nope=1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn a_third_party_backend_registers_its_scheme() {
    // A third-party factory: it takes its own option, so the routing is visible.
    psm::PermissionStorageManager::register_provider(
        "thirdparty",
        |mut url: psm::StoreUrl| async move {
            assert_eq!(url.scheme(), "thirdparty");
            let cap = url.take_u64("cap")?;
            url.finish()?;
            let config = psm::memory::MemoryConfig {
                max_sessions: cap,
                ..Default::default()
            };
            Ok(Arc::new(psm::memory::MemoryStore::with_config(config)?) as Arc<dyn SessionStore>)
        },
    )
    .unwrap();
    let m = psm::PermissionStorageManager::connect("thirdparty://anything?cap=1")
        .await
        .unwrap();
    m.store_permissions("s", "u", ["x"], None).await.unwrap();
    assert!(m.check_permission("s", "x").await.unwrap());
    let err = m
        .store_permissions("t", "u", ["x"], None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::QuotaExceeded { .. }),
        "the factory's option applied: {err:?}"
    );
    assert!(psm::registry::schemes().contains(&"thirdparty".to_string()));
    let again = psm::PermissionStorageManager::register_provider("thirdparty", |_url| async {
        Ok(Arc::new(psm::memory::MemoryStore::new()) as Arc<dyn SessionStore>)
    });
    assert!(again.is_err(), "a scheme cannot be registered twice");
    let bad = psm::PermissionStorageManager::register_provider("1bad", |_url| async {
        Ok(Arc::new(psm::memory::MemoryStore::new()) as Arc<dyn SessionStore>)
    });
    assert!(bad.is_err());
}

/// Runs only as a child of `from_env_reads_psm_url`, with `PSM_URL` set by the parent.
#[tokio::test]
async fn from_env_child() {
    if std::env::var("PSM_FROM_ENV_CHILD").is_err() {
        return;
    }
    let m = psm::PermissionStorageManager::from_env().await.unwrap();
    let stats = m.stats().await.unwrap();
    assert_eq!(stats.backend, "memory");
    assert_eq!(
        stats.extra.get("max_sessions"),
        Some(&7),
        "PSM_URL's options were applied"
    );
}

#[test]
fn from_env_reads_psm_url() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(&exe)
        .args([
            "from_env_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PSM_URL", "memory://?max_sessions=7")
        .env("PSM_FROM_ENV_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test: {stdout}"
    );
    let out = std::process::Command::new(&exe)
        .args(["from_env_child", "--exact", "--test-threads=1"])
        .env_remove("PSM_URL")
        .env("PSM_FROM_ENV_CHILD", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "from_env without PSM_URL must fail");
    assert!(String::from_utf8_lossy(&out.stdout).contains("PSM_URL"));
}

#[test]
fn blocking_api_works_without_a_runtime() {
    let m = psm::blocking::PermissionStorageManager::connect("memory://").unwrap();
    m.store_permissions(
        "s1",
        "u1",
        ["read", "posts:*"],
        Some(Duration::from_secs(60)),
    )
    .unwrap();
    assert!(m.check_permission("s1", "posts:9").unwrap());
    assert!(!m.check_permissions("s1", ["write"]).unwrap()["write"]);
    assert_eq!(m.list_sessions("u1").unwrap(), ["s1"]);
    assert!(m.update_permissions("s1", ["write"], None).unwrap());
    assert!(m.get_permissions("s1").unwrap().unwrap().permissions == ["write"]);
    assert!(m.extend_session_ttl("s1", Duration::from_secs(10)).unwrap());
    assert!(m.get_session_info("s1").unwrap().is_some());
    assert!(m.invalidate_session("s1").unwrap());
    assert_eq!(m.cleanup_expired_sessions().unwrap(), 0);
    assert!(m.health_check().is_healthy());
    m.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_api_works_inside_spawn_blocking() {
    let checked = tokio::task::spawn_blocking(|| {
        let m = psm::blocking::PermissionStorageManager::connect("memory://")?;
        m.store_permissions("s1", "u1", ["read"], None)?;
        let ok = m.check_permission("s1", "read")?;
        drop(m);
        Ok::<bool, psm::Error>(ok)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(checked);
}
