//! What every relationship read takes from its JSON body besides its question: `consistency`
//! (`"minimize_latency"`, `"fully_consistent"` or `{"at_least_as_fresh": REVISION}`), `context`
//! (caveat parameters, a JSON object) and contextual relationships; validated here, at the
//! boundary, into an engine [`psm_rebac::Scope`].

use psm_rebac::{CaveatContext, Consistency, Engine, Permissionship, Relationship, Scope};
use serde_json::{Value, json};

use crate::error::Error;

/// Caveat parameters and contextual relationships of one request, and the engine scope they
/// make: the same as the CLI's.
/// Caveat parameters and contextual relationships of a read (the server's `context` fields and
/// the CLI's `--context` flags).
#[derive(Debug, Default)]
pub struct RequestContext {
    /// Caveat parameters.
    pub caveat: CaveatContext,
    /// Relationships that hold for this request only.
    pub contextual: Vec<Relationship>,
}

/// The engine scope of a read with these options (shared by the CLI and the server).
pub fn scope(
    engine: &Engine,
    context: RequestContext,
    consistency: Consistency,
) -> psm_rebac::Result<Scope<'_>> {
    let scope = if context.contextual.is_empty() {
        engine.scope()
    } else {
        engine.with_contextual(context.contextual)?
    };
    Ok(scope
        .with_context(context.caveat)
        .with_consistency(consistency))
}

/// The rule a `consistency` value breaks, in every message about it.
const CONSISTENCY_RULE: &str = "must be \"minimize_latency\", \"fully_consistent\" or \
                                {\"at_least_as_fresh\": REVISION}";

/// Parses the optional `consistency` field (absent or `null`: minimize latency).
pub fn consistency(value: Option<&Value>) -> Result<Consistency, Error> {
    let bad = |rule: &str| Error::invalid_field("consistency", rule);
    match value {
        None | Some(Value::Null) => Ok(Consistency::MinimizeLatency),
        Some(Value::String(s)) => match s.as_str() {
            "minimize_latency" => Ok(Consistency::MinimizeLatency),
            "fully_consistent" => Ok(Consistency::FullyConsistent),
            _ => Err(bad(CONSISTENCY_RULE)),
        },
        Some(Value::Object(map)) => {
            let (Some(token), 1) = (map.get("at_least_as_fresh"), map.len()) else {
                return Err(bad(CONSISTENCY_RULE));
            };
            revision(token, "consistency.at_least_as_fresh").map(Consistency::AtLeastAsFresh)
        }
        Some(_) => Err(bad(CONSISTENCY_RULE)),
    }
}

/// A revision token: a non-negative integer, or the same digits as a string.
pub fn revision(value: &Value, field: &str) -> Result<u64, Error> {
    let parsed = match value {
        Value::Number(n) => crate::whole::whole_u64(n),
        Value::String(s)
            if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().ok()
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        Error::invalid_field(
            field,
            "must be a revision: a non-negative integer a write returned as `revision`",
        )
    })
}

/// Parses `context` (a JSON object of caveat parameters; an array there is the older spelling
/// of contextual relationships) and `contextual_relationships`, at most `max` of those.
pub fn request_context(
    context: Option<Value>,
    contextual_relationships: &[String],
    max: usize,
) -> Result<RequestContext, Error> {
    let mut out = RequestContext::default();
    let mut texts: Vec<(String, String)> = Vec::new();
    match context {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => out.caveat = map,
        Some(Value::Array(items)) => {
            if !contextual_relationships.is_empty() {
                return Err(Error::invalid_field(
                    "context",
                    "an array of contextual relationships cannot be given together with \
                     `contextual_relationships`",
                ));
            }
            Error::check_batch(items.len(), max, "contextual relationships")?;
            for (i, v) in items.into_iter().enumerate() {
                let name = format!("context[{i}]");
                match v {
                    Value::String(s) => texts.push((name, s)),
                    _ => {
                        return Err(Error::invalid_field(&name, "must be a relationship string"));
                    }
                }
            }
        }
        Some(_) => {
            return Err(Error::invalid_field(
                "context",
                "must be a JSON object of caveat parameters",
            ));
        }
    }
    Error::check_batch(
        contextual_relationships.len(),
        max,
        "contextual relationships",
    )?;
    texts.extend(
        contextual_relationships
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("contextual_relationships[{i}]"), s.clone())),
    );
    for (name, text) in texts {
        let r = text
            .parse::<Relationship>()
            .map_err(|e| Error::input(format!("{name}: {e}")))?;
        out.contextual.push(r);
    }
    Ok(out)
}

/// A check's answer: `allowed`, `permissionship` (`has_permission`, `no_permission` or
/// `conditional`) and, when conditional, the caveat parameters that were missing.
pub fn permissionship(p: &Permissionship) -> Value {
    match p {
        Permissionship::HasPermission => {
            json!({"allowed": true, "permissionship": "has_permission"})
        }
        Permissionship::NoPermission => {
            json!({"allowed": false, "permissionship": "no_permission"})
        }
        Permissionship::Conditional { missing } => json!({
            "allowed": false,
            "permissionship": "conditional",
            "missing_context": missing,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: Error) -> String {
        e.message().to_owned()
    }

    #[test]
    fn consistency_levels_parse_and_bad_ones_name_the_field() {
        assert_eq!(consistency(None).ok(), Some(Consistency::MinimizeLatency));
        assert_eq!(
            consistency(Some(&json!("fully_consistent"))).ok(),
            Some(Consistency::FullyConsistent)
        );
        assert_eq!(
            consistency(Some(&json!({"at_least_as_fresh": 7}))).ok(),
            Some(Consistency::AtLeastAsFresh(7))
        );
        assert_eq!(
            consistency(Some(&json!({"at_least_as_fresh": "7"}))).ok(),
            Some(Consistency::AtLeastAsFresh(7))
        );
        let m = message(consistency(Some(&json!("latest"))).unwrap_err());
        assert!(m.starts_with("consistency: must be"), "{m}");
        let m = message(consistency(Some(&json!({"at_least_as_fresh": -1}))).unwrap_err());
        assert!(m.starts_with("consistency.at_least_as_fresh: "), "{m}");
        let m =
            message(consistency(Some(&json!({"at_least_as_fresh": 1, "extra": 2}))).unwrap_err());
        assert!(m.starts_with("consistency: "), "{m}");
    }

    #[test]
    fn context_is_an_object_of_parameters_or_the_older_array_of_relationships() {
        let c = request_context(Some(json!({"n": 1})), &[], 10).unwrap();
        assert_eq!(c.caveat.get("n"), Some(&json!(1)));
        let c = request_context(Some(json!(["doc:a#r@user:b"])), &[], 10).unwrap();
        assert_eq!(c.contextual.len(), 1);
        let m = message(request_context(Some(json!(3)), &[], 10).unwrap_err());
        assert!(m.starts_with("context: "), "{m}");
        let m = message(
            request_context(None, &["doc:a#r@user:b".into(), "nope".into()], 10).unwrap_err(),
        );
        assert!(m.starts_with("contextual_relationships[1]: "), "{m}");
    }
}
