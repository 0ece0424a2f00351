//! Caveats (SpiceDB) and conditions (OpenFGA): CEL expressions over typed parameters, compiled
//! once per schema and evaluated per relationship with the request context merged under the
//! context stored on the relationship (the stored value wins). A parameter the expression needs
//! but nobody supplied makes the result *missing*: SpiceDB answers "conditional", OpenFGA errors.

mod ip;
mod value;

use std::collections::BTreeSet;
use std::sync::Arc;

use foldhash::HashMap;
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::schema::Schema;
use value::ParamType;

/// A request or relationship context: parameter name → JSON value.
pub type CaveatContext = Map<String, Json>;

/// The outcome of one caveat evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    True,
    False,
    /// These parameters were needed and not supplied.
    Missing(BTreeSet<String>),
}

struct Compiled {
    params: Vec<(String, ParamType)>,
    program: cel::Program,
}

/// A schema's caveats, compiled; [`Caveats::validate`] reports one that does not compile.
#[derive(Default)]
pub struct Caveats {
    /// A caveat that does not compile keeps its error, reported when it is evaluated.
    map: HashMap<String, std::result::Result<Arc<Compiled>, String>>,
}

impl std::fmt::Debug for Caveats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

/// The longest caveat expression compiled (CEL parsing is recursive).
const MAX_EXPRESSION: usize = 8 * 1024;

impl Caveats {
    /// Compiles every caveat of `schema`; one that does not compile fails when evaluated.
    pub(crate) fn compile(schema: &Schema) -> Self {
        let mut map = HashMap::default();
        for c in &schema.caveats {
            map.insert(
                c.name.clone(),
                Self::compile_one(c).map_err(|e| e.to_string()),
            );
        }
        Self { map }
    }

    /// Checks that every caveat of `schema` compiles (typed error with the caveat's position).
    pub fn validate(schema: &Schema) -> Result<()> {
        for c in &schema.caveats {
            Self::compile_one(c)?;
        }
        Ok(())
    }

    fn compile_one(c: &crate::schema::CaveatDefinition) -> Result<Arc<Compiled>> {
        {
            let invalid = |rule: &'static str, message: String| Error::SchemaInvalid {
                position: c.position,
                rule,
                message,
            };
            let mut params = Vec::with_capacity(c.parameters.len());
            for (name, ty) in &c.parameters {
                let t = ParamType::parse(ty).ok_or_else(|| {
                    invalid(
                        "unknown-caveat-parameter-type",
                        format!(
                            "caveat `{}`: parameter `{name}` has unknown type `{ty}`",
                            c.name
                        ),
                    )
                })?;
                params.push((name.clone(), t));
            }
            if c.expression.len() > MAX_EXPRESSION {
                return Err(invalid(
                    "caveat-expression",
                    format!(
                        "caveat `{}`: expression longer than {MAX_EXPRESSION} bytes",
                        c.name
                    ),
                ));
            }
            let program = cel::Program::compile(&c.expression).map_err(|e| {
                invalid(
                    "caveat-expression",
                    format!("caveat `{}`: {}", c.name, first_line(&e.to_string())),
                )
            })?;
            Ok(Arc::new(Compiled { params, program }))
        }
    }

    /// Whether caveat `name` is defined.
    pub(crate) fn defines(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Whether no caveats are defined.
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Evaluates caveat `name` with the relationship's stored context (JSON object text) over
    /// the request context. `strict`: any missing parameter makes the outcome missing (OpenFGA);
    /// otherwise only when the expression cannot be decided without it (SpiceDB).
    pub(crate) fn eval(
        &self,
        name: &str,
        stored: Option<&str>,
        request: &CaveatContext,
        strict: bool,
    ) -> Result<Outcome> {
        let c = match self.map.get(name) {
            Some(Ok(c)) => c,
            Some(Err(why)) => {
                return Err(Error::CaveatEvaluation {
                    caveat: name.to_owned(),
                    reason: why.clone(),
                });
            }
            None => {
                return Err(Error::CaveatEvaluation {
                    caveat: name.to_owned(),
                    reason: "caveat is not defined by the schema".to_owned(),
                });
            }
        };
        let fail = |reason: String| Error::CaveatEvaluation {
            caveat: name.to_owned(),
            reason,
        };
        let stored: Option<CaveatContext> = match stored {
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| fail(format!("stored context is not a JSON object: {e}")))?,
            ),
            None => None,
        };
        let mut ctx = cel::Context::default();
        ip::register(&mut ctx).map_err(|e| fail(e.to_string()))?;
        let mut missing = BTreeSet::new();
        for (p, ty) in &c.params {
            let v = stored
                .as_ref()
                .and_then(|s| s.get(p))
                .or_else(|| request.get(p));
            match v {
                Some(v) => {
                    let v = ty
                        .convert(v)
                        .map_err(|why| fail(format!("parameter `{p}`: {why}")))?;
                    ctx.add_variable_from_value(p.clone(), v);
                }
                None => {
                    missing.insert(p.clone());
                }
            }
        }
        if strict && !missing.is_empty() {
            // OpenFGA: every parameter must be supplied, whatever the expression would decide.
            return Ok(Outcome::Missing(missing));
        }
        match c.program.execute(&ctx) {
            Ok(cel::Value::Bool(true)) => Ok(Outcome::True),
            Ok(cel::Value::Bool(false)) => Ok(Outcome::False),
            Ok(other) => Err(fail(format!("expression gave {other:?}, not a boolean"))),
            Err(_) if !missing.is_empty() => Ok(Outcome::Missing(missing)),
            Err(e) => Err(fail(first_line(&e.to_string()))),
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}
