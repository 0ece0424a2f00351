//! OpenFGA store test files (`*.fga.yaml`), the format `fga model test` runs: a model inline
//! (`model`) or in a file (`model_file`, `.fga` DSL or `.json`), tuples inline (`tuples`) and
//! in files (`tuple_file`, `tuple_files`), and `tests`, each with its own `tuples` /
//! `tuple_file` and `check`, `list_objects` and `list_users` assertions with `context`.
//!
//! As in `fga`, unknown fields are errors, a test's tuples are added to the file's, a tuple
//! present twice fails the test, and files named by the store file must lie in its directory.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::openfga::{self, Extra};
use super::report::{Outcome, Report};
use super::stores::StoreFactory;
use super::tuple_file::{self, FgaTuple};
use super::{ValidationError, local_file};
use crate::{CaveatContext, Engine, Error, Relationship, Schema};

/// Top-level keys of a store file (any one marks the format).
const KEYS: &[&str] = &[
    "model",
    "model_file",
    "tuples",
    "tuple_file",
    "tuple_files",
    "tests",
];

/// Whether a YAML mapping looks like a store file.
pub fn recognises(m: &serde_norway::Mapping) -> bool {
    KEYS.iter().any(|k| m.contains_key(*k))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    model_file: Option<String>,
    #[serde(default)]
    tuples: Option<Vec<FgaTuple>>,
    #[serde(default)]
    tuple_file: Option<String>,
    #[serde(default)]
    tuple_files: Option<Vec<String>>,
    #[serde(default)]
    tests: Option<Vec<Test>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Test {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    tuples: Option<Vec<FgaTuple>>,
    #[serde(default)]
    tuple_file: Option<String>,
    #[serde(default)]
    check: Option<Vec<Check>>,
    #[serde(default)]
    list_objects: Option<Vec<ListObjects>>,
    #[serde(default)]
    list_users: Option<Vec<ListUsers>>,
}

type Context = Option<serde_json::Map<String, serde_json::Value>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    users: Option<Vec<String>>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    objects: Option<Vec<String>>,
    #[serde(default)]
    context: Context,
    #[serde(default)]
    assertions: BTreeMap<String, bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListObjects {
    user: String,
    #[serde(rename = "type")]
    object_type: String,
    #[serde(default)]
    context: Context,
    #[serde(default)]
    assertions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListUsers {
    object: String,
    user_filter: Vec<UserFilter>,
    #[serde(default)]
    context: Context,
    #[serde(default)]
    assertions: BTreeMap<String, ExpectedUsers>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFilter {
    #[serde(rename = "type")]
    object_type: String,
    #[serde(default)]
    relation: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedUsers {
    #[serde(default)]
    users: Vec<String>,
}

/// Runs a store file: errors when it cannot be interpreted, otherwise one case per assertion.
pub async fn run(
    path: &Path,
    text: &str,
    stores: &dyn StoreFactory,
    report: &mut Report,
) -> Result<(), ValidationError> {
    let file: StoreFile =
        serde_norway::from_str(text).map_err(|e| ValidationError::yaml(path, &e))?;
    let lines = Lines::new(text);
    let schema = model(path, &file, &lines)?;
    let mut global = file_tuples(path, lines.key("tuples"), file.tuples.as_deref())?;
    let mut names: Vec<&str> = file.tuple_file.iter().map(String::as_str).collect();
    names.extend(file.tuple_files.iter().flatten().map(String::as_str));
    let mut from_files = Vec::new();
    let mut seen = HashSet::new();
    for name in names {
        let line = lines.key("tuple_file").max(lines.key("tuple_files"));
        for t in tuple_file::read(path, line, name)? {
            let r = t.relationship().map_err(|e| {
                ValidationError::format(path, line, format!("tuple file `{name}`: {e}"))
            })?;
            // fga merges the tuple files without repeats.
            if seen.insert(r.to_string()) {
                from_files.push(r);
            }
        }
    }
    global.extend(from_files);
    for (i, test) in file.tests.iter().flatten().enumerate() {
        let line = lines.test(i);
        let mut tuples = global.clone();
        tuples.extend(file_tuples(path, line, test.tuples.as_deref())?);
        if let Some(name) = &test.tuple_file {
            for t in tuple_file::read(path, line, name)? {
                tuples.push(t.relationship().map_err(|e| {
                    ValidationError::format(path, line, format!("tuple file `{name}`: {e}"))
                })?);
            }
        }
        let name = test
            .name
            .clone()
            .unwrap_or_else(|| format!("test {}", i + 1));
        let queries = queries(path, line, test)?;
        let engine = setup(&schema, &tuples, stores).await;
        for q in queries {
            let label = format!("{name}: {}", q.label());
            let outcome = match &engine {
                Ok(engine) => q.run(engine).await,
                Err(why) => Outcome::Fail(why.clone()),
            };
            report.case(path, &label, outcome);
        }
    }
    Ok(())
}

/// The model, inline or from `model_file` (`.fga` DSL or OpenFGA `.json`).
fn model(path: &Path, file: &StoreFile, lines: &Lines) -> Result<Schema, ValidationError> {
    let (text, json, origin, offset) = match (&file.model, &file.model_file) {
        (Some(m), _) if !m.is_empty() => (m.clone(), false, path.to_path_buf(), lines.key("model")),
        (_, Some(name)) => {
            let line = lines.key("model_file");
            let full = local_file(path, name)
                .map_err(|why| ValidationError::format(path, line, format!("model_file {why}")))?;
            let json = full.extension().is_some_and(|e| e == "json");
            if full.extension().is_some_and(|e| e == "mod") {
                return Err(ValidationError::format(
                    path,
                    line,
                    format!("model_file `{name}`: modular models (fga.mod) are not supported"),
                ));
            }
            let text = std::fs::read_to_string(&full).map_err(|e| {
                ValidationError::format(path, line, format!("model_file `{name}`: {e}"))
            })?;
            (text, json, full, 0)
        }
        _ => {
            return Err(ValidationError::format(
                path,
                1,
                "the file has neither `model` nor `model_file`",
            ));
        }
    };
    let parsed = if json {
        Schema::parse_openfga_json(&text)
    } else {
        Schema::parse_openfga(&text)
    };
    parsed.map_err(|e| {
        let line = match &e {
            Error::SchemaSyntax { position, .. } | Error::SchemaInvalid { position, .. } => {
                position.line
            }
            _ => 0,
        };
        // an inline block scalar starts on the line after its key
        ValidationError::format(&origin, offset + line, format!("model: {e}"))
    })
}

/// Inline tuples as relationships; a tuple that does not parse is an error at `line`.
fn file_tuples(
    path: &Path,
    line: usize,
    tuples: Option<&[FgaTuple]>,
) -> Result<Vec<Relationship>, ValidationError> {
    tuples
        .unwrap_or_default()
        .iter()
        .map(|t| {
            t.relationship()
                .map_err(|e| ValidationError::format(path, line, format!("tuples: {e}")))
        })
        .collect()
}

/// A fresh store holding `tuples`, and an OpenFGA engine over it; why not, as a failure.
async fn setup(
    schema: &Schema,
    tuples: &[Relationship],
    stores: &dyn StoreFactory,
) -> Result<Engine, String> {
    let mut keys = HashSet::new();
    for t in tuples {
        if !keys.insert(t.key()) {
            return Err(format!("duplicate tuple `{t}`"));
        }
    }
    let fresh = stores.fresh().await.map_err(|e| format!("store: {e}"))?;
    let engine = openfga::engine(schema.clone(), fresh.store());
    for t in tuples {
        engine
            .validate_relationship(t)
            .map_err(|e| format!("tuple `{t}`: {e}"))?;
    }
    fresh
        .load(tuples)
        .await
        .map_err(|e| format!("store: {e}"))?;
    Ok(engine)
}

/// One query of a test and what it expects.
enum Query {
    Check {
        user: String,
        relation: String,
        object: String,
        context: CaveatContext,
        expect: bool,
    },
    ListObjects {
        user: String,
        relation: String,
        object_type: String,
        context: CaveatContext,
        expect: BTreeSet<String>,
    },
    ListUsers {
        object: String,
        relation: String,
        filters: Vec<(String, Option<String>)>,
        context: CaveatContext,
        expect: BTreeSet<String>,
    },
}

/// Every query of a test, in file order: checks (each user × object × assertion), then list
/// objects, then list users.
fn queries(path: &Path, line: usize, test: &Test) -> Result<Vec<Query>, ValidationError> {
    let mut out = Vec::new();
    for c in test.check.iter().flatten() {
        let users = one_or_many(path, line, "user", &c.user, &c.users)?;
        let objects = one_or_many(path, line, "object", &c.object, &c.objects)?;
        for user in &users {
            for object in &objects {
                for (relation, expect) in &c.assertions {
                    out.push(Query::Check {
                        user: user.clone(),
                        relation: relation.clone(),
                        object: object.clone(),
                        context: c.context.clone().unwrap_or_default(),
                        expect: *expect,
                    });
                }
            }
        }
    }
    for l in test.list_objects.iter().flatten() {
        for (relation, expect) in &l.assertions {
            out.push(Query::ListObjects {
                user: l.user.clone(),
                relation: relation.clone(),
                object_type: l.object_type.clone(),
                context: l.context.clone().unwrap_or_default(),
                expect: expect.iter().cloned().collect(),
            });
        }
    }
    for l in test.list_users.iter().flatten() {
        let filters: Vec<(String, Option<String>)> = l
            .user_filter
            .iter()
            .map(|f| (f.object_type.clone(), f.relation.clone()))
            .collect();
        for (relation, expect) in &l.assertions {
            out.push(Query::ListUsers {
                object: l.object.clone(),
                relation: relation.clone(),
                filters: filters.clone(),
                context: l.context.clone().unwrap_or_default(),
                expect: expect.users.iter().cloned().collect(),
            });
        }
    }
    Ok(out)
}

/// `user` or `users` (likewise `object` / `objects`): exactly one of the two.
fn one_or_many(
    path: &Path,
    line: usize,
    field: &str,
    one: &Option<String>,
    many: &Option<Vec<String>>,
) -> Result<Vec<String>, ValidationError> {
    match (one, many) {
        (Some(_), Some(_)) => Err(ValidationError::format(
            path,
            line,
            format!("check: both `{field}` and `{field}s`; use one"),
        )),
        (Some(one), None) => Ok(vec![one.clone()]),
        (None, Some(many)) if !many.is_empty() => Ok(many.clone()),
        _ => Err(ValidationError::format(
            path,
            line,
            format!("check: needs `{field}` or `{field}s`"),
        )),
    }
}

impl Query {
    /// The case name, in `fga`'s words.
    fn label(&self) -> String {
        match self {
            Self::Check {
                user,
                relation,
                object,
                ..
            } => format!("Check(user={user},relation={relation},object={object})"),
            Self::ListObjects {
                user,
                relation,
                object_type,
                ..
            } => format!("ListObjects(user={user},relation={relation},type={object_type})"),
            Self::ListUsers {
                object,
                relation,
                filters,
                ..
            } => {
                let f: Vec<String> = filters
                    .iter()
                    .map(|(t, r)| r.as_ref().map_or_else(|| t.clone(), |r| format!("{t}#{r}")))
                    .collect();
                format!(
                    "ListUsers(object={object},relation={relation},user_filter={})",
                    f.join(",")
                )
            }
        }
    }

    async fn run(self, engine: &Engine) -> Outcome {
        match self {
            Self::Check {
                user,
                relation,
                object,
                context,
                expect,
            } => {
                let got =
                    openfga::check(engine, &object, &relation, &user, Extra::context(context))
                        .await;
                compare(got, &expect)
            }
            Self::ListObjects {
                user,
                relation,
                object_type,
                context,
                expect,
            } => {
                let got = openfga::list_objects(
                    engine,
                    &object_type,
                    &relation,
                    &user,
                    Extra::context(context),
                )
                .await;
                compare(got, &expect)
            }
            Self::ListUsers {
                object,
                relation,
                filters,
                context,
                expect,
            } => {
                let filters: Vec<(&str, Option<&str>)> = filters
                    .iter()
                    .map(|(t, r)| (t.as_str(), r.as_deref()))
                    .collect();
                let got = openfga::list_users(
                    engine,
                    &object,
                    &relation,
                    &filters,
                    Extra::context(context),
                )
                .await;
                compare(got, &expect)
            }
        }
    }
}

/// Pass when the answer equals the expectation; an error is a failure, as in `fga`.
fn compare<T: PartialEq + std::fmt::Debug>(got: Result<T, u32>, expect: &T) -> Outcome {
    match got {
        Ok(v) if v == *expect => Outcome::Pass,
        Ok(v) => Outcome::Fail(format!("expected={expect:?}, got={v:?}")),
        Err(code) => Outcome::Fail(format!("expected={expect:?}, got error {code}")),
    }
}

/// Where the top-level keys and the tests of a block-style YAML file start (1-based lines;
/// 1 when not found, as for flow-style files).
struct Lines {
    keys: Vec<(String, usize)>,
    tests: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut keys = Vec::new();
        let mut tests = Vec::new();
        let mut in_tests = false;
        let mut item_indent: Option<usize> = None;
        for (i, l) in text.lines().enumerate() {
            let n = i + 1;
            let trimmed = l.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = l.len() - trimmed.len();
            if indent == 0 && !trimmed.starts_with('-') {
                if let Some((k, _)) = trimmed.split_once(':') {
                    keys.push((k.trim().to_owned(), n));
                    in_tests = k.trim() == "tests";
                    item_indent = None;
                }
                continue;
            }
            if in_tests && (trimmed.starts_with("- ") || trimmed == "-") {
                match item_indent {
                    None => {
                        item_indent = Some(indent);
                        tests.push(n);
                    }
                    Some(ind) if ind == indent => tests.push(n),
                    _ => {}
                }
            }
        }
        Self { keys, tests }
    }

    /// The line of a top-level key, or 1.
    fn key(&self, key: &str) -> usize {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map_or(1, |(_, n)| *n)
    }

    /// The line where test `i` (0-based) starts, or the `tests:` line.
    fn test(&self, i: usize) -> usize {
        self.tests
            .get(i)
            .copied()
            .unwrap_or_else(|| self.key("tests"))
    }
}
