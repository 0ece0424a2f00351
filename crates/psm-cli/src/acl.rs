//! `psm acl ...`: a role / resource / permission ACL (psm-acl) kept in a JSON file (written
//! atomically after every change) or in any ACL store the umbrella's registry opens by URL
//! (`--store sqlite://psm.db`, `postgres://...`, a third-party scheme): grant, revoke, inherit,
//! check, which, show.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use permission_storage_manager::acl_stores::{AclStore, JsonFileAclStore, open_acl_store};
use serde_json::json;

use crate::error::{CliError, Outcome};
use crate::output::Output;

/// `psm acl` arguments: the file and the subcommand.
#[derive(Debug, Args)]
pub struct AclArgs {
    /// The ACL file (created by the first change).
    #[arg(long, env = "PSM_ACL_FILE", default_value = "psm-acl.json")]
    file: PathBuf,
    /// An ACL store URL instead of the file (`sqlite://psm.db`, `postgres://...`, `file:PATH`
    /// for a JSON file, or a scheme a third-party crate registered). Also read from
    /// PSM_ACL_STORE.
    #[arg(long, env = "PSM_ACL_STORE")]
    store: Option<String>,
    #[command(subcommand)]
    command: AclCommand,
}

/// The ACL subcommands.
#[derive(Debug, Subcommand)]
enum AclCommand {
    /// Grant a permission (a pattern is allowed: `posts:*`) on a resource to a role.
    Grant {
        /// Role.
        role: String,
        /// Resource.
        resource: String,
        /// Permission.
        permission: String,
    },
    /// Revoke a grant (exit 1 when there was none).
    Revoke {
        /// Role.
        role: String,
        /// Resource.
        resource: String,
        /// Permission.
        permission: String,
    },
    /// Make `role` inherit everything `parent` holds.
    Inherit {
        /// The inheriting role.
        role: String,
        /// The role inherited from.
        parent: String,
    },
    /// Check whether any of the roles holds a permission on a resource; exit 0 yes, 1 no.
    Check {
        /// Resource.
        resource: String,
        /// Permission.
        permission: String,
        /// Roles (comma-separated or repeated).
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Every permission a role holds, by resource (inherited ones included).
    Which {
        /// Role.
        role: String,
    },
    /// The direct grants, by role and resource.
    Show,
}

/// Runs one ACL subcommand.
pub async fn run(args: AclArgs, out: &Output) -> Result<Outcome, CliError> {
    let store: Arc<dyn AclStore> = match &args.store {
        // a read does not create a missing `file:` or `sqlite:` store (the CLI's one rule)
        Some(url) if args.command.writes() => open_acl_store(url).await?,
        Some(url) => open_acl_store(&crate::store_url::without_create(url)).await?,
        None => Arc::new(JsonFileAclStore::new(args.file)),
    };
    let outcome = run_on(&*store, args.command, out).await;
    store.close().await;
    outcome
}

impl AclCommand {
    /// Whether the command changes the ACL (and so may create its store).
    fn writes(&self) -> bool {
        matches!(
            self,
            AclCommand::Grant { .. } | AclCommand::Revoke { .. } | AclCommand::Inherit { .. }
        )
    }
}

/// Runs one subcommand on the ACL `store` holds; a change is saved before it is reported.
async fn run_on(
    store: &dyn AclStore,
    command: AclCommand,
    out: &Output,
) -> Result<Outcome, CliError> {
    let mut acl = store.load().await?;
    match command {
        AclCommand::Grant {
            role,
            resource,
            permission,
        } => {
            let new = acl.grant(role.clone(), resource.clone(), permission.clone())?;
            store.save(&acl).await?;
            out.emit(
                json!({"role": role, "resource": resource, "permission": permission, "new": new}),
                || format!("granted {permission} on {resource} to {role}"),
            );
            Ok(Outcome::Done)
        }
        AclCommand::Revoke {
            role,
            resource,
            permission,
        } => {
            let removed = acl.revoke(role.as_str(), resource.as_str(), permission.as_str());
            if removed {
                store.save(&acl).await?;
            }
            out.emit(
                json!({"role": role, "resource": resource, "permission": permission, "revoked": removed}),
                || {
                    if removed {
                        format!("revoked {permission} on {resource} from {role}")
                    } else {
                        format!("{role} had no grant {permission} on {resource}")
                    }
                },
            );
            Ok(Outcome::from_bool(removed))
        }
        AclCommand::Inherit { role, parent } => {
            acl.add_parent(role.clone(), parent.clone())?;
            store.save(&acl).await?;
            out.emit(json!({"role": role, "parent": parent}), || {
                format!("{role} now inherits from {parent}")
            });
            Ok(Outcome::Done)
        }
        AclCommand::Check {
            resource,
            permission,
            roles,
        } => {
            psm_core::permission::ParsedPermission::parse(&permission)
                .map_err(|e| CliError::input(e.to_string()))?;
            let allowed = acl.check_any(
                roles.iter().map(String::as_str),
                resource.as_str(),
                permission.as_str(),
            );
            out.emit(
                json!({"roles": roles, "resource": resource, "permission": permission, "allowed": allowed}),
                || format!("{} {permission} on {resource}", if allowed { "allowed" } else { "denied" }),
            );
            Ok(Outcome::from_bool(allowed))
        }
        AclCommand::Which { role } => {
            let map = sorted(acl.which(role.as_str()).to_map());
            out.emit(json!({"role": role, "permissions": map}), || lines(&map));
            Ok(Outcome::Done)
        }
        AclCommand::Show => {
            let shown: BTreeMap<String, BTreeMap<String, Vec<String>>> = acl
                .show()
                .into_iter()
                .map(|(role, m)| (role, sorted(m)))
                .collect();
            out.emit(json!({"grants": shown}), || {
                shown
                    .iter()
                    .map(|(role, m)| {
                        let body = lines(m);
                        format!("{role}:\n{}", indent(&body))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(Outcome::Done)
        }
    }
}

fn sorted<S: std::hash::BuildHasher>(
    m: std::collections::HashMap<String, std::collections::HashSet<String, S>>,
) -> BTreeMap<String, Vec<String>> {
    m.into_iter()
        .map(|(k, v)| {
            let mut v: Vec<String> = v.into_iter().collect();
            v.sort();
            (k, v)
        })
        .collect()
}

fn lines(m: &BTreeMap<String, Vec<String>>) -> String {
    m.iter()
        .map(|(res, perms)| format!("{res}: {}", perms.join(" ")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
