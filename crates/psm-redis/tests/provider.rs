//! The Redis roles provider against a real server and the cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use psm_core::testkit::unique_suffix;
use psm_core::{Error, PermissionSet, PermissionsProvider, Principal, StoreUrl};
use psm_redis::RedisPermissionsProvider;

async fn provider(url: &str, prefix: &str) -> Option<RedisPermissionsProvider> {
    common::try_store(url).await?; // skip-or-fail policy for a missing server
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}key_prefix={prefix}");
    Some(
        RedisPermissionsProvider::from_url(StoreUrl::parse(&url).unwrap())
            .await
            .unwrap(),
    )
}

async fn grants_union_of_user_and_roles(p: &RedisPermissionsProvider) {
    assert!(
        p.grant_user_permission("john.doe", "read:posts")
            .await
            .unwrap()
    );
    assert!(
        !p.grant_user_permission("john.doe", "read:posts")
            .await
            .unwrap()
    );
    assert!(
        p.grant_role_permission("editor", "write:posts")
            .await
            .unwrap()
    );
    assert!(
        p.grant_role_permission("editor", "read:posts")
            .await
            .unwrap()
    );
    assert!(p.grant_role_permission("admin", "admin:*").await.unwrap());
    assert!(p.assign_role("john.doe", "editor").await.unwrap());
    assert!(p.assign_role("john.doe", "admin").await.unwrap());
    let principal = Principal::new("sub-1").with_username("john.doe");
    let got = p.fetch_permissions(&principal).await.unwrap();
    assert_eq!(got, vec!["admin:*", "read:posts", "write:posts"]);
    let set = PermissionSet::new(&got).unwrap();
    assert!(set.check("admin:users:delete").unwrap());

    assert!(p.unassign_role("john.doe", "admin").await.unwrap());
    assert!(!p.unassign_role("john.doe", "admin").await.unwrap());
    assert!(
        p.revoke_role_permission("editor", "write:posts")
            .await
            .unwrap()
    );
    assert!(
        p.revoke_user_permission("john.doe", "read:posts")
            .await
            .unwrap()
    );
    let got = p.permissions_of("john.doe").await.unwrap();
    assert_eq!(got, vec!["read:posts"], "still granted through editor");
    assert_eq!(p.roles_of("john.doe").await.unwrap(), vec!["editor"]);
    assert_eq!(
        p.role_permissions("editor").await.unwrap(),
        vec!["read:posts"]
    );
    assert!(p.permissions_of("nobody").await.unwrap().is_empty());
}

#[tokio::test]
async fn provider_unions_user_and_role_grants_on_a_server() {
    let prefix = format!("psmtest:{}:", unique_suffix());
    if let Some(p) = provider(&common::redis_url(), &prefix).await {
        grants_union_of_user_and_roles(&p).await;
    }
}

#[tokio::test]
async fn provider_unions_user_and_role_grants_on_a_cluster_across_slots() {
    let prefix = format!("psmtest:{}:", unique_suffix());
    if let Some(p) = provider(&common::cluster_url(), &prefix).await {
        grants_union_of_user_and_roles(&p).await;
    }
}

#[tokio::test]
async fn provider_uses_one_slot_on_a_cluster_when_the_prefix_has_a_hash_tag() {
    let prefix = format!("{{psmtest{}}}:", unique_suffix());
    if let Some(p) = provider(&common::cluster_url(), &prefix).await {
        grants_union_of_user_and_roles(&p).await;
    }
}

#[tokio::test]
async fn provider_rejects_bad_input_and_corrupt_data() {
    let prefix = format!("psmtest:{}:", unique_suffix());
    let Some(p) = provider(&common::redis_url(), &prefix).await else {
        return;
    };
    assert!(matches!(
        p.grant_user_permission("u", "a::b").await,
        Err(Error::InvalidPermission(_))
    ));
    assert!(matches!(
        p.assign_role("u", "").await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        p.permissions_of("bad\nuser").await,
        Err(Error::InvalidInput { .. })
    ));
    // a permission written by someone else outside the grammar fails closed
    let client = redis::Client::open(common::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("SADD")
        .arg(format!("{prefix}user_permissions:u"))
        .arg("foo*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(matches!(
        p.permissions_of("u").await,
        Err(Error::Corrupt { .. })
    ));
}
