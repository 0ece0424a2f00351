//! `psm rebac ...`: the relationship schema, writes and deletes, checks, lookups, expand, import
//! and export, and a watch of changes, on the store the URL names.

mod input;
pub(crate) mod options;
mod transfer;
mod watch;

use std::path::PathBuf;

use clap::Subcommand;
use psm_rebac::{ObjectRef, Permissionship, Relationship, RelationshipUpdate, SubjectRef};
use serde_json::json;

pub use input::{Format, relationship_arg};
use psm_server::render::{MAX_EXPAND_SUBJECTS, tree_json, tree_text};

use permission_storage_manager::tuple_stores::open_tuple_store;
use psm_rebac::{Engine, RelationshipStore};

use crate::error::{CliError, Outcome};
use crate::output::Output;

/// The relationship subcommands.
#[derive(Debug, Subcommand)]
pub enum RebacCommand {
    /// The schema (SpiceDB schema language).
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Write (create or keep) relationships: `document:spec#reader@user:alice`.
    Write {
        /// Relationships.
        #[arg(required = true)]
        relationships: Vec<String>,
        /// Fail, writing nothing, if any of them already exists.
        #[arg(long)]
        create: bool,
    },
    /// Delete relationships (deleting one that does not exist is not an error).
    Delete {
        /// Relationships.
        #[arg(required = true)]
        relationships: Vec<String>,
    },
    /// Check `resource#permission@subject`; exit 0 when allowed, 1 when denied or conditional
    /// (allowed only if caveat parameters that were not given allow it).
    Check {
        /// For example `document:spec#read@user:alice`.
        check: String,
        /// A relationship that holds for this check only, or a JSON object of caveat
        /// parameters (`--context '{"ip": "10.0.0.1"}'`; at most one object).
        #[arg(long = "context", value_name = "RELATIONSHIP|JSON")]
        context: Vec<String>,
        /// minimize_latency (default), fully_consistent or at_least_as_fresh:REVISION.
        #[arg(long, value_name = "LEVEL")]
        consistency: Option<String>,
    },
    /// Ids of the resources of a type on which a subject has a permission.
    LookupResources {
        /// Resource type, e.g. `document`.
        resource_type: String,
        /// Permission, e.g. `read`.
        permission: String,
        /// Subject, e.g. `user:alice` or `group:eng#member`.
        subject: String,
        /// A JSON object of caveat parameters.
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
        /// minimize_latency (default), fully_consistent or at_least_as_fresh:REVISION.
        #[arg(long, value_name = "LEVEL")]
        consistency: Option<String>,
    },
    /// Subjects of a type that have a permission on a resource.
    LookupSubjects {
        /// Resource, e.g. `document:spec`.
        resource: String,
        /// Permission, e.g. `read`.
        permission: String,
        /// Subject type, e.g. `user`, or a userset type such as `group#member`.
        subject_type: String,
        /// A JSON object of caveat parameters.
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
        /// minimize_latency (default), fully_consistent or at_least_as_fresh:REVISION.
        #[arg(long, value_name = "LEVEL")]
        consistency: Option<String>,
    },
    /// The tree of who has a permission on a resource: unions, intersections, exclusions and
    /// arrows down to stored subjects (caveated ones with their caveat; expired ones left out).
    Expand {
        /// Resource, e.g. `document:spec`.
        resource: String,
        /// Permission or relation, e.g. `read`.
        permission: String,
        /// minimize_latency (default), fully_consistent or at_least_as_fresh:REVISION.
        #[arg(long, value_name = "LEVEL")]
        consistency: Option<String>,
    },
    /// Import newline-delimited relationships from a file (`-` for stdin); blank lines and
    /// `//` comments are skipped. A file is checked whole before anything is written.
    Import {
        /// The file.
        file: PathBuf,
        /// Only check the file; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Export every relationship, one per line.
    Export,
    /// Relationship changes after a revision, one per line: `REVISION touch|delete
    /// RELATIONSHIP` (with --json, `{"changes", "revision"}`, or one change per line with
    /// --follow).
    Watch {
        /// The revision to list changes after (a write prints its revision; 0 for the start of
        /// the change log).
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Keep waiting for new changes until interrupted.
        #[arg(long)]
        follow: bool,
        /// Most changes per poll (a write is never split, so one write may exceed it).
        #[arg(long, default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(1..=psm_rebac::MAX_CHANGES as u64))]
        limit: u64,
    },
}

/// Schema subcommands.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Validate a SpiceDB schema file (`-` for stdin) and store it.
    Write {
        /// The schema file.
        file: PathBuf,
    },
    /// Print the stored schema.
    Read,
    /// Validate a schema file without storing it.
    Validate {
        /// The schema file.
        file: PathBuf,
        /// Its language.
        #[arg(long, value_enum, default_value = "spicedb")]
        format: Format,
    },
}

impl RebacCommand {
    /// Whether the command changes the store (and so may create it).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            RebacCommand::Schema(SchemaCommand::Write { .. })
                | RebacCommand::Write { .. }
                | RebacCommand::Delete { .. }
                | RebacCommand::Import { dry_run: false, .. }
        )
    }
}

/// Runs one relationship subcommand against the store at `url`.
pub async fn run(cmd: RebacCommand, url: &str, out: &Output) -> Result<Outcome, CliError> {
    // Validating a schema file needs no store.
    if let RebacCommand::Schema(SchemaCommand::Validate { file, format }) = &cmd {
        let text = input::read_text(file)?;
        let schema = input::parse_schema(&text, *format, &file.display().to_string())?;
        let names: Vec<&str> = schema.definitions().iter().map(|d| d.name()).collect();
        out.emit(json!({"valid": true, "definitions": names}), || {
            format!("valid: {} definitions ({})", names.len(), names.join(", "))
        });
        return Ok(Outcome::Done);
    }
    let rebac = open_tuple_store(url).await?;
    let result = execute(cmd, &rebac, out).await;
    rebac.close().await;
    result
}

/// An engine over the stored schema; an input error when none was written.
async fn engine(rebac: &RelationshipStore) -> Result<Engine, CliError> {
    psm_server::stored_engine(rebac)
        .await?
        .map(|(_, engine)| engine)
        .ok_or_else(|| {
            CliError::new(
                psm_core::ErrorKind::NoSchema,
                "no schema has been written yet: run `psm rebac schema write FILE`",
            )
        })
}

async fn execute(
    cmd: RebacCommand,
    rebac: &RelationshipStore,
    out: &Output,
) -> Result<Outcome, CliError> {
    match cmd {
        RebacCommand::Schema(SchemaCommand::Write { file }) => {
            let text = input::read_text(&file)?;
            input::parse_schema(&text, Format::Spicedb, &file.display().to_string())?;
            let schema = rebac.write_schema(&text).await?;
            let names: Vec<&str> = schema.definitions().iter().map(|d| d.name()).collect();
            out.emit(json!({"written": true, "definitions": names}), || {
                format!(
                    "schema written: {} definitions ({})",
                    names.len(),
                    names.join(", ")
                )
            });
            Ok(Outcome::Done)
        }
        RebacCommand::Schema(SchemaCommand::Read) => match rebac.read_schema().await? {
            Some(text) => {
                out.emit(json!({"schema": text}), || text.trim_end().to_owned());
                Ok(Outcome::Done)
            }
            None => {
                out.emit(json!({"schema": null}), || "no schema written".to_owned());
                Ok(Outcome::Denied)
            }
        },
        RebacCommand::Schema(SchemaCommand::Validate { .. }) => Ok(Outcome::Done),
        RebacCommand::Write {
            relationships,
            create,
        } => {
            let engine = engine(rebac).await?;
            let rels = parse_args(&relationships)?;
            for (i, r) in rels.iter().enumerate() {
                engine
                    .validate_relationship(r)
                    .map_err(|e| CliError::input(format!("argument {}: {e}", i + 1)))?;
            }
            let updates: Vec<RelationshipUpdate> = rels
                .into_iter()
                .map(|r| {
                    if create {
                        RelationshipUpdate::create(r)
                    } else {
                        RelationshipUpdate::touch(r)
                    }
                })
                .collect();
            let revision = engine.write(&updates, &[]).await?;
            out.emit(
                json!({"written": updates.len(), "revision": revision}),
                || {
                    format!(
                        "wrote {} relationships (revision {revision})",
                        updates.len()
                    )
                },
            );
            Ok(Outcome::Done)
        }
        RebacCommand::Delete { relationships } => {
            let engine = engine(rebac).await?;
            let updates: Vec<RelationshipUpdate> = parse_args(&relationships)?
                .into_iter()
                .map(RelationshipUpdate::delete)
                .collect();
            let revision = engine.write(&updates, &[]).await?;
            out.emit(
                json!({"deleted": updates.len(), "revision": revision}),
                || {
                    format!(
                        "deleted {} relationships (revision {revision})",
                        updates.len()
                    )
                },
            );
            Ok(Outcome::Done)
        }
        RebacCommand::Check {
            check,
            context,
            consistency,
        } => {
            let engine = engine(rebac).await?;
            let asked = check.parse::<Relationship>().map_err(|e| {
                CliError::input(format!("{e} (a check reads `resource#permission@subject`)"))
            })?;
            let consistency = options::consistency(consistency.as_deref())?;
            let context = options::context(&context, true)?;
            let answer = options::scope(&engine, context, consistency)?
                .check_permissionship(&asked.resource, &asked.relation, &asked.subject)
                .await?;
            let (allowed, word, missing) = match &answer {
                Permissionship::HasPermission => (true, "has_permission", None),
                Permissionship::NoPermission => (false, "no_permission", None),
                Permissionship::Conditional { missing } => (false, "conditional", Some(missing)),
            };
            let mut value =
                json!({"check": asked.to_string(), "allowed": allowed, "permissionship": word});
            if let Some(m) = missing {
                value["missing_context"] = json!(m);
            }
            out.emit(value, || match missing {
                Some(m) => format!("conditional {asked} (missing context: {})", m.join(", ")),
                None => format!("{} {asked}", if allowed { "allowed" } else { "denied" }),
            });
            Ok(Outcome::from_bool(allowed))
        }
        RebacCommand::LookupResources {
            resource_type,
            permission,
            subject,
            context,
            consistency,
        } => {
            let engine = engine(rebac).await?;
            let subject: SubjectRef = subject.parse()?;
            let consistency = options::consistency(consistency.as_deref())?;
            let context = options::context(context.as_slice(), false)?;
            let found = options::scope(&engine, context, consistency)?
                .lookup_resources_permissionship(&resource_type, &permission, &subject)
                .await?;
            // `resource_ids`: where the subject has the permission; `conditional`: where caveats
            // whose parameters were not given decide it.
            let (mut ids, mut conditional) = (Vec::new(), Vec::new());
            for f in &found {
                match &f.permissionship {
                    Permissionship::Conditional { missing } => conditional.push((&f.id, missing)),
                    _ => ids.push(&f.id),
                }
            }
            let value = json!({
                "resource_ids": ids,
                "conditional": conditional.iter().map(|(id, m)| json!({
                    "id": id, "missing_context": m,
                })).collect::<Vec<_>>(),
            });
            out.emit(value, || {
                let conditional = conditional.iter().map(|(id, m)| {
                    format!("{id} (conditional, missing context: {})", m.join(", "))
                });
                ids.iter()
                    .map(|id| (*id).clone())
                    .chain(conditional)
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(Outcome::Done)
        }
        RebacCommand::LookupSubjects {
            resource,
            permission,
            subject_type,
            context,
            consistency,
        } => {
            let engine = engine(rebac).await?;
            let resource: ObjectRef = resource.parse()?;
            let consistency = options::consistency(consistency.as_deref())?;
            let context = options::context(context.as_slice(), false)?;
            let (stype, srel) = match subject_type.split_once('#') {
                Some((t, r)) => (t, Some(r)),
                None => (subject_type.as_str(), None),
            };
            let found = options::scope(&engine, context, consistency)?
                .lookup_subjects(&resource, &permission, stype, srel)
                .await?;
            let value = json!({"subjects": found.iter().map(|f| json!({
                "subject": f.subject.to_string(),
                "excluded": f.excluded.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()});
            out.emit(value, || {
                found
                    .iter()
                    .map(|f| {
                        if f.excluded.is_empty() {
                            f.subject.to_string()
                        } else {
                            let ex: Vec<String> =
                                f.excluded.iter().map(ToString::to_string).collect();
                            format!("{} except {}", f.subject, ex.join(", "))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(Outcome::Done)
        }
        RebacCommand::Expand {
            resource,
            permission,
            consistency,
        } => {
            let engine = engine(rebac).await?;
            let resource: ObjectRef = resource.parse()?;
            let consistency = options::consistency(consistency.as_deref())?;
            let tree = engine
                .with_consistency(consistency)
                .expand(&resource, &permission)
                .await?;
            let value = json!({"tree": tree_json(&tree, MAX_EXPAND_SUBJECTS)?});
            let text = tree_text(&tree, MAX_EXPAND_SUBJECTS)?;
            out.emit(value, || text);
            Ok(Outcome::Done)
        }
        RebacCommand::Import { file, dry_run } => {
            let engine = engine(rebac).await?;
            transfer::import(&engine, &file, dry_run, out).await
        }
        RebacCommand::Export => {
            let engine = engine(rebac).await?;
            transfer::export(&engine, out).await
        }
        RebacCommand::Watch {
            after,
            follow,
            limit,
        } => {
            let limit = usize::try_from(limit).unwrap_or(psm_rebac::MAX_CHANGES);
            watch::run(&**rebac.tuples(), after, follow, limit, out).await
        }
    }
}

fn parse_args(args: &[String]) -> Result<Vec<Relationship>, CliError> {
    args.iter()
        .enumerate()
        .map(|(i, a)| relationship_arg(a, i))
        .collect()
}
