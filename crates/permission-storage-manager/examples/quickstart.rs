//! psm's main job on the embedded default (the memory backend, no server): store a session's
//! permissions with a TTL, check them (patterns included), update, list and invalidate.
//!
//! Run with `cargo run --example quickstart` (add `PSM_URL=redis://...` to try another backend).

use std::time::Duration;

use permission_storage_manager as psm;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), psm::Error> {
    let url = std::env::var(psm::URL_ENV).unwrap_or_else(|_| "memory://".to_owned());
    let manager = psm::PermissionStorageManager::connect(&url).await?;
    println!("backend: {}", manager.store().backend());

    let session_id = psm::generate_session_id()?;
    manager
        .store_permissions(
            &session_id,
            "user_456",
            ["read:posts", "write:posts", "admin:*", "reports>"],
            Some(Duration::from_secs(3600)),
        )
        .await?;
    println!("stored session {session_id} for user_456");

    for permission in [
        "read:posts",
        "delete:posts",
        "admin:users:delete",
        "reports.q3.pdf",
        "admin:*",
        "read:*",
    ] {
        let allowed = manager.check_permission(&session_id, permission).await?;
        println!(
            "  check {permission:<20} -> {}",
            if allowed { "allowed" } else { "denied" }
        );
    }

    let answers = manager
        .check_permissions(&session_id, ["read:posts", "delete:posts"])
        .await?;
    println!("bulk check: {answers:?}");

    manager
        .update_permissions(&session_id, ["read:posts"], None)
        .await?;
    let info = manager.get_session_info(&session_id).await?;
    if let Some(info) = info {
        println!(
            "after update: {} permission(s), {:?} left",
            info.permission_count,
            info.ttl_remaining.map(|d| Duration::from_secs(d.as_secs()))
        );
    }
    println!(
        "sessions of user_456: {:?}",
        manager.list_sessions("user_456").await?
    );

    match manager.check_permission(&session_id, "foo*").await {
        Err(e) => println!("bad input is a typed error: {e}"),
        Ok(v) => println!("unexpected answer {v}"),
    }

    manager.invalidate_session(&session_id).await?;
    println!(
        "invalidated; read:posts -> {}",
        manager.check_permission(&session_id, "read:posts").await?
    );
    manager.close().await
}
