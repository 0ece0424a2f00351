//! The JSON permissions file of the auth-middleware file provider, parsed, validated and compiled
//! into each user's expanded permission list.
//!
//! ```json
//! {
//!   "users":      { "john.doe": ["read:posts"] },
//!   "roles":      { "editor": ["read:posts", "write:posts"], "admin": ["admin:*"] },
//!   "user_roles": { "john.doe": ["editor"], "root": ["admin"] },
//!   "hierarchy":  { "write:posts": ["read:posts"] }
//! }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use psm_core::permission::validate_permission;
use psm_core::{Error, Hierarchy, Result};
use serde::Deserialize;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionsFile {
    #[serde(default)]
    users: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    user_roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    hierarchy: Option<BTreeMap<String, Vec<String>>>,
}

/// Every user's permissions: direct ones plus those of their roles, expanded through the
/// hierarchy, sorted and de-duplicated.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    by_user: FastMap<String, Arc<[String]>>,
}

impl Compiled {
    pub(crate) fn permissions_of(&self, user: &str) -> Vec<String> {
        self.by_user
            .get(user)
            .map(|p| p.to_vec())
            .unwrap_or_default()
    }

    pub(crate) fn users(&self) -> usize {
        self.by_user.len()
    }
}

/// Parses and validates `bytes` (the file at `location`). Any invalid permission, unknown role,
/// unknown key or hierarchy cycle fails the whole file.
pub(crate) fn compile(location: &str, bytes: &[u8]) -> Result<Compiled> {
    let bad = |reason: String| Error::Corrupt {
        location: location.to_owned(),
        reason,
    };
    let file: PermissionsFile =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid permissions file: {e}")))?;
    for (section, map) in [("users", &file.users), ("roles", &file.roles)] {
        for (name, perms) in map {
            for p in perms {
                validate_permission(p).map_err(|e| bad(format!("{section}.{name}: {e}")))?;
            }
        }
    }
    for (user, roles) in &file.user_roles {
        if let Some(role) = roles.iter().find(|r| !file.roles.contains_key(*r)) {
            return Err(bad(format!(
                "user_roles.{user}: role {role:?} is not defined in roles"
            )));
        }
    }
    let hierarchy = match &file.hierarchy {
        Some(map) => Some(Hierarchy::from_map(map.clone())?),
        None => None,
    };
    let names: BTreeSet<&String> = file.users.keys().chain(file.user_roles.keys()).collect();
    let mut by_user = FastMap::default();
    for name in names {
        let direct = file.users.get(name).into_iter().flatten();
        let via_roles = file
            .user_roles
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|role| file.roles.get(role))
            .flatten();
        let all: Vec<&String> = direct.chain(via_roles).collect();
        let expanded: Vec<String> = match &hierarchy {
            Some(h) => h.expand(all),
            None => all
                .into_iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        };
        by_user.insert(name.clone(), Arc::from(expanded));
    }
    Ok(Compiled { by_user })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_EXAMPLE: &str = r#"{
      "users": { "admin": ["admin:*"], "john.doe": ["read:posts", "write:posts"] },
      "roles": { "editor": ["read:posts", "write:posts", "edit:posts"], "viewer": ["read:posts"], "admin": ["admin:*"] },
      "user_roles": { "john.doe": ["editor"], "jane.smith": ["viewer"], "admin": ["admin"] }
    }"#;

    #[test]
    fn the_seed_example_combines_direct_and_role_permissions() {
        let c = compile("p.json", SEED_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(
            c.permissions_of("john.doe"),
            ["edit:posts", "read:posts", "write:posts"]
        );
        assert_eq!(c.permissions_of("jane.smith"), ["read:posts"]);
        assert_eq!(c.permissions_of("admin"), ["admin:*"]);
        assert!(c.permissions_of("nobody").is_empty());
        assert_eq!(c.users(), 3);
    }

    #[test]
    fn the_hierarchy_section_expands_roles_transitively() {
        let json = r#"{"roles": {"r": ["posts:admin"]}, "user_roles": {"u": ["r"]},
            "hierarchy": {"posts:admin": ["posts:write"], "posts:write": ["posts:read"]}}"#;
        let c = compile("p.json", json.as_bytes()).unwrap();
        assert_eq!(
            c.permissions_of("u"),
            ["posts:admin", "posts:read", "posts:write"]
        );
    }

    #[test]
    fn invalid_content_fails_with_a_typed_error_naming_the_place() {
        for (json, needle) in [
            (r#"{"users": {"u": ["a::b"]}}"#, "users.u"),
            (r#"{"roles": {"r": ["foo*"]}}"#, "roles.r"),
            (r#"{"user_roles": {"u": ["ghost"]}}"#, "ghost"),
            (r#"{"usres": {}}"#, "usres"),
            (r#"{"users": "#, "invalid permissions file"),
        ] {
            let err = compile("p.json", json.as_bytes()).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{json}: {err:?}");
            assert!(err.to_string().contains(needle), "{json}: {err}");
        }
        let cycle = r#"{"hierarchy": {"a": ["b"], "b": ["a"]}}"#;
        assert!(matches!(
            compile("p.json", cycle.as_bytes()),
            Err(Error::InvalidHierarchy { .. })
        ));
    }
}
