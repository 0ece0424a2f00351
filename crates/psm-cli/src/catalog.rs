//! `psm catalog ...`: a declared permission tree (JSON, YAML or TOML file) — list, describe —
//! and assignments of its permissions to users and groups in the store at `--url` (SQL
//! databases; `memory://` lasts one command).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use permission_storage_manager::catalog::{
    AssignmentStore, Assignments, Catalog, Error as CatalogError, MemoryAssignments,
};
use permission_storage_manager::sql::catalog::SqlAssignments;
use serde_json::json;

use crate::error::{CliError, Outcome};
use crate::output::Output;

/// `psm catalog` options.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The catalog file (`.json`, `.yaml`/`.yml` or `.toml`): the root node with `children`.
    #[arg(long)]
    catalog: PathBuf,
    #[command(subcommand)]
    command: CatalogCommand,
}

/// The catalog subcommands.
#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Print the assignable permissions, in django-permagate's order.
    List,
    /// Show a declared permission's name, description and children (exit 1 when undeclared).
    Describe { permission: String },
    /// Grant a declared permission (or its `>` / `*` form) to a user.
    GrantUser { user: String, permission: String },
    /// Take a direct grant back (exit 1 when there was none).
    RevokeUser { user: String, permission: String },
    /// Grant a declared permission to a group.
    GrantGroup { group: String, permission: String },
    /// Take a group grant back (exit 1 when there was none).
    RevokeGroup { group: String, permission: String },
    /// Make a user a member of a group.
    AddMember { group: String, user: String },
    /// End a membership (exit 1 when there was none).
    RemoveMember { group: String, user: String },
    /// The user's direct and group grants.
    Grants { user: String },
    /// Whether the user has a permission through a direct or a group grant (exit 1 when not).
    Check { user: String, permission: String },
}

impl CatalogArgs {
    /// Whether the command may create the store (assignment commands open and migrate it).
    pub fn writes(&self) -> bool {
        !matches!(
            self.command,
            CatalogCommand::List | CatalogCommand::Describe { .. }
        )
    }
}

fn cli(e: CatalogError) -> CliError {
    match e {
        CatalogError::Store(inner) => inner.into(),
        other => CliError::input(other.to_string()),
    }
}

/// Runs a catalog command against the store at `url`.
pub async fn run(args: CatalogArgs, url: &str, out: &Output) -> Result<Outcome, CliError> {
    let catalog = Catalog::from_path(&args.catalog).map_err(cli)?;
    match args.command {
        CatalogCommand::List => {
            let list = catalog.permission_list().to_vec();
            out.emit(json!({ "permissions": list }), || list.join("\n"));
            Ok(Outcome::Done)
        }
        CatalogCommand::Describe { permission } => match catalog.describe(&permission) {
            None => Ok(Outcome::Denied),
            Some(d) => {
                let value = json!({
                    "permission": d.permission, "name": d.name,
                    "description": d.description, "children": d.children,
                });
                out.emit(value, || {
                    format!(
                        "{}\nname: {}\ndescription: {}\nchildren: {}",
                        d.permission,
                        d.name.as_deref().unwrap_or("-"),
                        d.description.as_deref().unwrap_or("-"),
                        d.children.join(" ")
                    )
                });
                Ok(Outcome::Done)
            }
        },
        command => {
            if url.starts_with("memory:") {
                let gate = Assignments::new(catalog, MemoryAssignments::new());
                assign(&gate, command, out).await
            } else {
                let store = SqlAssignments::connect(url).await?;
                let gate = Assignments::new(catalog, store.clone());
                let outcome = assign(&gate, command, out).await;
                store.close().await;
                outcome
            }
        }
    }
}

async fn assign<S: AssignmentStore>(
    gate: &Assignments<S>,
    command: CatalogCommand,
    out: &Output,
) -> Result<Outcome, CliError> {
    let changed = |done: bool| {
        out.emit(json!({ "changed": done }), || {
            if done { "changed" } else { "unchanged" }.to_owned()
        });
        Ok(Outcome::Done)
    };
    let removed = |done: bool| {
        out.emit(json!({ "removed": done }), || {
            if done { "removed" } else { "not found" }.to_owned()
        });
        Ok(Outcome::from_bool(done))
    };
    match command {
        CatalogCommand::GrantUser { user, permission } => {
            changed(gate.assign_user(&user, &permission).await.map_err(cli)?)
        }
        CatalogCommand::RevokeUser { user, permission } => {
            removed(gate.unassign_user(&user, &permission).await.map_err(cli)?)
        }
        CatalogCommand::GrantGroup { group, permission } => {
            changed(gate.assign_group(&group, &permission).await.map_err(cli)?)
        }
        CatalogCommand::RevokeGroup { group, permission } => removed(
            gate.unassign_group(&group, &permission)
                .await
                .map_err(cli)?,
        ),
        CatalogCommand::AddMember { group, user } => {
            changed(gate.add_member(&group, &user).await.map_err(cli)?)
        }
        CatalogCommand::RemoveMember { group, user } => {
            removed(gate.remove_member(&group, &user).await.map_err(cli)?)
        }
        CatalogCommand::Grants { user } => {
            let grants = gate.effective_grants(&user).await.map_err(cli)?;
            out.emit(json!({ "grants": grants }), || grants.join("\n"));
            Ok(Outcome::Done)
        }
        CatalogCommand::Check { user, permission } => {
            let yes = gate.has_permission(&user, &permission).await.map_err(cli)?;
            out.emit(json!({ "allowed": yes }), || {
                format!("{}  {permission}", if yes { "allowed" } else { "denied " })
            });
            Ok(Outcome::from_bool(yes))
        }
        CatalogCommand::List | CatalogCommand::Describe { .. } => Ok(Outcome::Done),
    }
}
