//! Caveats (SpiceDB) and conditions (OpenFGA): CEL expressions over typed parameters, compiled
//! once per schema and evaluated per relationship with the request context merged under the
//! context stored on the relationship (the stored value wins). A parameter the expression needs
//! but nobody supplied makes the result *missing*: SpiceDB answers "conditional", OpenFGA errors.
//!
//! CEL is compiled in with the `caveats` feature (on by default). Without it, a schema that
//! declares a caveat or condition fails to parse with rule `caveats-feature`, and a caveat met
//! anyway (a [`Schema`] built by hand) is a [`Error::CaveatEvaluation`]: never an allow.

mod context;
#[cfg(feature = "caveats")]
mod cost;
#[cfg(feature = "caveats")]
mod ip;
#[cfg(feature = "caveats")]
mod value;

use std::collections::BTreeSet;
use std::sync::Arc;

use foldhash::HashMap;
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
#[cfg(feature = "caveats")]
use crate::schema::CaveatType;
use crate::schema::Schema;

pub use context::StoredContext;

/// A request or relationship context: parameter name → JSON value.
pub type CaveatContext = Map<String, Json>;

/// The outcome of one caveat evaluation.
// Without the `caveats` feature every evaluation is an error, so none is built.
#[cfg_attr(not(feature = "caveats"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    True,
    False,
    /// These parameters were needed and not supplied.
    Missing(BTreeSet<String>),
}

#[cfg(feature = "caveats")]
struct Compiled {
    params: Vec<(String, CaveatType)>,
    program: cel::Program,
    /// What the cost estimate of an evaluation needs (see `cost.rs`).
    shape: cost::Shape,
}

/// Without the `caveats` feature nothing compiles, so there is no compiled caveat.
#[cfg(not(feature = "caveats"))]
enum Compiled {}

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

#[cfg(feature = "caveats")]
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

    #[cfg(not(feature = "caveats"))]
    fn compile_one(c: &crate::schema::CaveatDefinition) -> Result<Arc<Compiled>> {
        Err(disabled(c))
    }

    #[cfg(feature = "caveats")]
    fn compile_one(c: &crate::schema::CaveatDefinition) -> Result<Arc<Compiled>> {
        {
            let invalid = |rule: &'static str, message: String| Error::SchemaInvalid {
                position: c.position,
                rule,
                message,
            };
            // Parameter types were parsed (and unknown ones refused) with the schema.
            let params = c.parameters.clone();
            if c.expression.len() > MAX_EXPRESSION {
                return Err(invalid(
                    "caveat-expression",
                    format!(
                        "caveat `{}`: expression longer than {MAX_EXPRESSION} bytes",
                        c.name
                    ),
                ));
            }
            if bracket_depth(&c.expression) > MAX_EXPRESSION_NESTING {
                return Err(invalid(
                    "caveat-expression",
                    format!(
                        "caveat `{}`: brackets nested deeper than {MAX_EXPRESSION_NESTING}",
                        c.name
                    ),
                ));
            }
            let (program, shape) = compile_cel(&c.expression).map_err(|e| {
                invalid(
                    "caveat-expression",
                    format!("caveat `{}`: {}", c.name, first_line(&e)),
                )
            })?;
            Ok(Arc::new(Compiled {
                params,
                program,
                shape,
            }))
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

    /// Evaluates caveat `name` with the relationship's stored context over
    /// the request context. `strict`: any missing parameter makes the outcome missing (OpenFGA);
    /// otherwise only when the expression cannot be decided without it (SpiceDB). An
    /// evaluation estimated to cost more than `max_cost` is [`Error::BudgetExceeded`] before
    /// it runs.
    pub(crate) fn eval(
        &self,
        name: &str,
        stored: Option<&CaveatContext>,
        request: &CaveatContext,
        strict: bool,
        max_cost: u64,
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
        Self::run(name, c, stored, request, (strict, max_cost))
    }

    #[cfg(not(feature = "caveats"))]
    fn run(
        _: &str,
        c: &Compiled,
        _: Option<&CaveatContext>,
        _: &CaveatContext,
        _: (bool, u64),
    ) -> Result<Outcome> {
        match *c {}
    }

    #[cfg(feature = "caveats")]
    fn run(
        name: &str,
        c: &Compiled,
        stored: Option<&CaveatContext>,
        request: &CaveatContext,
        (strict, max_cost): (bool, u64),
    ) -> Result<Outcome> {
        let fail = |reason: String| Error::CaveatEvaluation {
            caveat: name.to_owned(),
            reason,
        };
        let mut ctx = cel::Context::default();
        ip::register(&mut ctx).map_err(|e| fail(e.to_string()))?;
        let mut missing = BTreeSet::new();
        let mut size = 0u64;
        for (p, ty) in &c.params {
            let v = stored.and_then(|s| s.get(p)).or_else(|| request.get(p));
            match v {
                Some(v) => {
                    size = size.saturating_add(cost::size(v));
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
        if c.shape.cost(size) > max_cost {
            return Err(Error::BudgetExceeded {
                bound: crate::engine::Bound::CaveatCost,
                limit: max_cost,
            });
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

#[cfg(feature = "caveats")]
/// Deepest nesting of `(`, `[` and `{` accepted in a caveat expression: cel's parser recurses
/// per level, about 170 KB of stack each in an unoptimised build.
const MAX_EXPRESSION_NESTING: usize = 32;
#[cfg(feature = "caveats")]
/// Stack of the thread cel compiles on: room for [`MAX_EXPRESSION_NESTING`] levels in any build,
/// whatever the caller's stack (a tokio worker has 2 MB).
const COMPILE_STACK: usize = 16 * 1024 * 1024;

#[cfg(feature = "caveats")]
/// Compiles a CEL expression on a thread of its own with a [`COMPILE_STACK`] stack, and
/// measures it for the cost estimate.
fn compile_cel(expression: &str) -> std::result::Result<(cel::Program, cost::Shape), String> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("psm-cel-compile".to_owned())
            .stack_size(COMPILE_STACK)
            .spawn_scoped(scope, || {
                let program = cel::Program::compile(expression).map_err(|e| e.to_string())?;
                let shape = cost::Shape::of(program.expression());
                Ok((program, shape))
            })
            .map_err(|e| format!("cannot start the CEL compiler thread: {e}"))?
            .join()
            .map_err(|_| "the CEL compiler failed on this expression".to_owned())?
    })
}

#[cfg(feature = "caveats")]
/// The deepest bracket nesting of a CEL expression, outside string literals (`'`, `"`, triple
/// quoted, `r`/`b` prefixed) and `//` comments.
fn bracket_depth(expr: &str) -> usize {
    let b = expr.as_bytes();
    let (mut i, mut depth, mut deepest) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            q @ (b'"' | b'\'') => {
                // A raw string: `r` or `R` among at most two letters of prefix (`r`, `br`, `rb`)
                // that do not end a longer identifier.
                let mut start = i;
                while start > 0 && i - start < 2 && b"rRbB".contains(&b[start - 1]) {
                    start -= 1;
                }
                let ident_before =
                    start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
                let raw = !ident_before && b[start..i].iter().any(|c| matches!(c, b'r' | b'R'));
                let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    if !raw && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if triple {
                        if b[i] == q && b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                            i += 2;
                            break;
                        }
                    } else if b[i] == q || b[i] == b'\n' {
                        break;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    deepest
}

#[cfg(feature = "caveats")]
fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

/// The error for caveat `c` in a build without the `caveats` feature.
#[cfg(not(feature = "caveats"))]
pub(crate) fn disabled(c: &crate::schema::CaveatDefinition) -> Error {
    Error::SchemaInvalid {
        position: c.position,
        rule: "caveats-feature",
        message: format!(
            "caveat or condition `{}` needs CEL, and psm-rebac was built without its `caveats` feature",
            c.name
        ),
    }
}

#[cfg(all(test, not(feature = "caveats")))]
mod without_caveats {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_schema_with_a_caveat_is_a_typed_error_without_the_caveats_feature() {
        let text = "caveat cav(x int) { x == 1 }\ndefinition user {}";
        match Schema::parse_spicedb(text) {
            Err(Error::SchemaInvalid { rule, message, .. }) => {
                assert_eq!(rule, "caveats-feature");
                assert!(message.contains("`cav`"), "{message}");
            }
            other => panic!("expected a caveats-feature error, got {other:?}"),
        }
    }

    #[test]
    fn a_caveat_in_a_hand_built_schema_is_an_evaluation_error_not_an_allow() {
        let mut schema = Schema::default();
        schema.caveats.push(crate::schema::CaveatDefinition {
            name: "cav".to_owned(),
            parameters: vec![("x".to_owned(), crate::schema::CaveatType::Int)],
            expression: "x == 1".to_owned(),
            position: crate::Position::default(),
        });
        let caveats = Caveats::compile(&schema);
        let outcome = caveats.eval("cav", None, &CaveatContext::new(), false, u64::MAX);
        assert!(
            matches!(outcome, Err(Error::CaveatEvaluation { .. })),
            "{outcome:?}"
        );
    }
}

#[cfg(all(test, feature = "caveats"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn nested(open: &str, close: &str, n: usize) -> String {
        format!(
            "caveat cav(x int) {{ x == {}1{} }}\ndefinition user {{}}",
            open.repeat(n),
            close.repeat(n)
        )
    }

    #[test]
    fn bracket_depth_skips_strings_and_comments() {
        assert_eq!(bracket_depth("f([1, {2: (3)}])"), 4);
        assert_eq!(bracket_depth(r#"x == "(((" && y == '[[['"#), 0);
        assert_eq!(bracket_depth(r#"x == """ ((( " ))) """ + ((1))"#), 2);
        assert_eq!(bracket_depth(r#"x == r"\" + [[1]]"#), 2);
        assert_eq!(bracket_depth(r#"x == "\")))" + [[1]]"#), 2);
        assert_eq!(bracket_depth("x // (((\n + [1]"), 1);
        // A closing bracket inside a string cannot hide the nesting after it.
        assert_eq!(bracket_depth(r#"[[")))" + [[1]]]]"#), 4);
    }

    /// Found by the spicedb_schema fuzz target: ~60 nested brackets overflowed the stack in
    /// cel's parser (SIGSEGV) when the schema's caveats were compiled.
    #[test]
    fn deeply_nested_caveat_is_a_typed_error_not_a_stack_overflow() {
        for (open, close) in [("[", "]"), ("(", ")")] {
            let schema = Schema::parse_spicedb(&nested(open, close, 60)).unwrap();
            match Caveats::validate(&schema) {
                Err(Error::SchemaInvalid { rule, message, .. }) => {
                    assert_eq!(rule, "caveat-expression");
                    assert!(message.contains("nested deeper than 32"), "{message}");
                }
                other => panic!("expected a caveat-expression error, got {other:?}"),
            }
        }
    }

    /// The deepest nesting allowed compiles on the compiler's own stack even when the caller's
    /// stack is small (2 MB, a tokio worker's).
    #[test]
    fn allowed_nesting_compiles_from_a_small_stack() {
        let schema = Schema::parse_spicedb(&nested("[", "]", MAX_EXPRESSION_NESTING)).unwrap();
        let outcome = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || Caveats::validate(&schema).map_err(|e| e.to_string()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(outcome, Ok(()));
    }
}
