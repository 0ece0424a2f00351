//! The SQL permissions provider: grant, revoke and list for users and roles, one-query fetch of
//! direct and role grants, grammar checks, hierarchy expansion, hostile names, and the
//! `authz_permissions(id, username, permission)` table of the original schema.

use psm_core::{Error, Field, Hierarchy, PermissionSet, PermissionsProvider, Principal};
use psm_sql::SqlPermissionsProvider;

use crate::per_database;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn provider_round_trip(url: String) {
    let provider = SqlPermissionsProvider::connect(&url).await.unwrap();
    // direct grants, as the auth-middleware's grant_permission/revoke_permission
    assert!(
        provider
            .grant_permission("john.doe", "read:posts")
            .await
            .unwrap()
    );
    assert!(
        provider
            .grant_permission("john.doe", "write:posts")
            .await
            .unwrap()
    );
    assert!(
        !provider
            .grant_permission("john.doe", "read:posts")
            .await
            .unwrap(),
        "already granted"
    );
    assert!(
        provider
            .grant_permission("admin", "delete:posts")
            .await
            .unwrap()
    );
    assert_eq!(
        provider.list_permissions("john.doe").await.unwrap(),
        strings(&["read:posts", "write:posts"])
    );
    assert!(
        provider
            .revoke_permission("john.doe", "write:posts")
            .await
            .unwrap()
    );
    assert!(
        !provider
            .revoke_permission("john.doe", "write:posts")
            .await
            .unwrap()
    );
    // roles
    assert!(provider.create_role("editor").await.unwrap());
    assert!(!provider.create_role("editor").await.unwrap());
    assert!(
        provider
            .grant_role_permission("editor", "edit:posts")
            .await
            .unwrap()
    );
    assert!(
        provider
            .grant_role_permission("editor", "read:posts")
            .await
            .unwrap()
    );
    assert!(
        provider
            .grant_role_permission("viewer", "read:*")
            .await
            .unwrap(),
        "creates the role"
    );
    assert_eq!(
        provider.list_roles().await.unwrap(),
        strings(&["editor", "viewer"])
    );
    assert!(provider.assign_role("john.doe", "editor").await.unwrap());
    assert!(!provider.assign_role("john.doe", "editor").await.unwrap());
    assert!(provider.assign_role("jane", "viewer").await.unwrap());
    assert_eq!(
        provider.list_user_roles("john.doe").await.unwrap(),
        strings(&["editor"])
    );
    assert_eq!(
        provider.list_role_permissions("editor").await.unwrap(),
        strings(&["edit:posts", "read:posts"])
    );
    // one fetch: direct UNION role grants, de-duplicated and sorted
    let john = Principal::new("sub-1").with_username("john.doe");
    assert_eq!(
        provider.fetch_permissions(&john).await.unwrap(),
        strings(&["edit:posts", "read:posts"])
    );
    let jane = Principal::new("jane");
    let grants = PermissionSet::new(provider.fetch_permissions(&jane).await.unwrap()).unwrap();
    assert!(grants.check("read:comments").unwrap());
    assert!(!grants.check("write:comments").unwrap());
    assert!(
        provider
            .fetch_permissions(&Principal::new("nobody"))
            .await
            .unwrap()
            .is_empty()
    );
    // revoking and unassigning take effect on the next fetch
    assert!(
        provider
            .revoke_role_permission("editor", "edit:posts")
            .await
            .unwrap()
    );
    assert_eq!(
        provider.fetch_permissions(&john).await.unwrap(),
        strings(&["read:posts"])
    );
    assert!(provider.unassign_role("jane", "viewer").await.unwrap());
    assert!(provider.fetch_permissions(&jane).await.unwrap().is_empty());
    // deleting a role removes its grants and assignments
    assert!(
        provider
            .grant_permission("john.doe", "own:thing")
            .await
            .unwrap()
    );
    assert!(provider.delete_role("editor").await.unwrap());
    assert!(!provider.delete_role("editor").await.unwrap());
    assert_eq!(
        provider.list_user_roles("john.doe").await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        provider.fetch_permissions(&john).await.unwrap(),
        strings(&["own:thing", "read:posts"]),
        "direct grants stay"
    );
    provider.close().await;
    assert!(matches!(
        provider.fetch_permissions(&john).await,
        Err(Error::Closed)
    ));
}

per_database!(
    grants_roles_and_fetch_round_trip,
    super::provider_round_trip
);

async fn provider_validates_and_expands(url: String) {
    let provider = SqlPermissionsProvider::connect(&url).await.unwrap();
    for bad in ["a::b", "foo*", ">", "has space", ""] {
        let err = provider.grant_permission("u", bad).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidPermission(_)),
            "{bad:?}: {err:?}"
        );
        let err = provider.grant_role_permission("r", bad).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidPermission(_)),
            "{bad:?}: {err:?}"
        );
    }
    let long = "u".repeat(501);
    for bad_user in ["", "line\nbreak", long.as_str()] {
        let err = provider
            .grant_permission(bad_user, "read")
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
            "{err:?}"
        );
    }
    let err = provider.assign_role("u", "tab\trole").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: Field::Option("role"),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        provider.list_roles().await.unwrap().is_empty(),
        "nothing written"
    );
    // a 500-byte username is fine
    let max_user = "ü".repeat(250);
    assert!(provider.grant_permission(&max_user, "read").await.unwrap());
    assert_eq!(
        provider.list_permissions(&max_user).await.unwrap(),
        strings(&["read"])
    );
    // hierarchy expansion of fetched grants
    provider.grant_permission("ed", "editor").await.unwrap();
    let hierarchy = Hierarchy::builder()
        .bundle("editor", ["read:posts", "write:posts"])
        .build()
        .unwrap();
    provider.set_hierarchy(Some(hierarchy));
    assert_eq!(
        provider
            .fetch_permissions(&Principal::new("ed"))
            .await
            .unwrap(),
        strings(&["editor", "read:posts", "write:posts"])
    );
    provider.set_hierarchy(None);
    assert_eq!(
        provider
            .fetch_permissions(&Principal::new("ed"))
            .await
            .unwrap(),
        strings(&["editor"])
    );
    provider.close().await;
}

per_database!(
    bad_grants_are_refused_and_hierarchies_expand,
    super::provider_validates_and_expands
);

async fn provider_hostile_names(url: String) {
    let provider = SqlPermissionsProvider::connect(&url).await.unwrap();
    let users = [
        "'; DROP TABLE authz_permissions; --",
        "\" OR 1=1 --",
        "\\'; --\\",
        "`; DROP TABLE x; --",
        "Zoë 🦀 漢字",
        "pad ",
        "pad",
    ];
    let perms = ["';DROP:TABLE--", "\"OR:1=1--", "back\\slash", "🦀:*"];
    for (i, user) in users.iter().enumerate() {
        let role = format!("{user} role{i}");
        for p in perms {
            assert!(provider.grant_permission(user, p).await.unwrap());
        }
        assert!(
            provider
                .grant_role_permission(&role, "role:grant")
                .await
                .unwrap()
        );
        assert!(provider.assign_role(user, &role).await.unwrap());
        let mut want = strings(&perms);
        want.push("role:grant".into());
        want.sort();
        assert_eq!(
            provider
                .fetch_permissions(&Principal::new(*user))
                .await
                .unwrap(),
            want,
            "{user:?}"
        );
        assert_eq!(
            provider.list_user_roles(user).await.unwrap(),
            vec![role.clone()]
        );
    }
    assert_eq!(provider.list_roles().await.unwrap().len(), users.len());
    provider.close().await;
}

per_database!(
    hostile_usernames_and_roles_round_trip,
    super::provider_hostile_names
);

/// Rows written by another tool that break the grammar are skipped, never passed on.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn stored_grants_outside_the_grammar_are_skipped() {
    use psm_core::SessionStore;
    use psm_sql::SqlPool;

    let url = crate::common::sqlite_store_url("");
    let provider = SqlPermissionsProvider::connect(&url).await.unwrap();
    provider
        .grant_permission("legacy", "read:posts")
        .await
        .unwrap();
    let store = psm_sql::SqlStore::connect(&format!("{url}?migrate=false"))
        .await
        .unwrap();
    let SqlPool::Sqlite(pool) = store.pool() else {
        panic!("sqlite pool")
    };
    psm_sql::sqlx::query(
        "INSERT INTO authz_permissions (id, username, permission) VALUES ('x1', 'legacy', 'read posts'), ('x2', 'legacy', 'admin*')",
    )
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(
        provider
            .fetch_permissions(&Principal::new("legacy"))
            .await
            .unwrap(),
        strings(&["read:posts"])
    );
    store.close().await.unwrap();
    provider.close().await;
}

async fn concurrent_grants(url: String) {
    let provider = SqlPermissionsProvider::connect(&url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let p = provider.clone();
        tasks.push(tokio::spawn(async move {
            let direct = p.grant_permission("busy", "read:posts").await.unwrap();
            let role = p
                .grant_role_permission("crowd", "write:posts")
                .await
                .unwrap();
            let assigned = p
                .assign_role(&format!("member-{}", i % 4), "crowd")
                .await
                .unwrap();
            (direct, role, assigned)
        }));
    }
    let (mut direct, mut role, mut assigned) = (0, 0, 0);
    for t in tasks {
        let (d, r, a) = t.await.unwrap();
        direct += usize::from(d);
        role += usize::from(r);
        assigned += usize::from(a);
    }
    assert_eq!(direct, 1, "one grant wins, the others see it granted");
    assert_eq!(role, 1);
    assert_eq!(assigned, 4, "one assignment per distinct member");
    assert_eq!(provider.list_roles().await.unwrap(), strings(&["crowd"]));
    assert_eq!(
        provider
            .fetch_permissions(&Principal::new("member-3"))
            .await
            .unwrap(),
        strings(&["write:posts"])
    );
    provider.close().await;
}

per_database!(
    concurrent_grants_apply_exactly_once,
    super::concurrent_grants
);
