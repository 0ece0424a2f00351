//! Read options of the relationship commands: `--consistency` (`minimize_latency`,
//! `fully_consistent` or `at_least_as_fresh:REVISION`) and `--context` (a JSON object of caveat
//! parameters, or a relationship that holds for this request only).

use psm_rebac::{Consistency, Relationship};
pub use psm_server::read_options::{RequestContext as Context, scope};
use serde_json::Value;

use crate::error::CliError;

/// Parses a `--consistency` value.
pub fn consistency(text: Option<&str>) -> Result<Consistency, CliError> {
    let Some(text) = text else {
        return Ok(Consistency::MinimizeLatency);
    };
    match text {
        "minimize_latency" => Ok(Consistency::MinimizeLatency),
        "fully_consistent" => Ok(Consistency::FullyConsistent),
        other => {
            let revision = other
                .strip_prefix("at_least_as_fresh:")
                .and_then(|n| n.parse::<u64>().ok());
            revision.map(Consistency::AtLeastAsFresh).ok_or_else(|| {
                CliError::input(format!(
                    "--consistency: `{}` must be minimize_latency, fully_consistent or \
                     at_least_as_fresh:REVISION (a revision a write printed)",
                    other.chars().take(64).collect::<String>()
                ))
            })
        }
    }
}

/// Splits `--context` values: one starting with `{` is the JSON object of caveat parameters
/// (at most one), every other one a contextual relationship.
pub fn context(values: &[String], relationships_allowed: bool) -> Result<Context, CliError> {
    let mut out = Context::default();
    let mut seen_object = false;
    for (i, v) in values.iter().enumerate() {
        if v.trim_start().starts_with('{') {
            if seen_object {
                return Err(CliError::input(
                    "--context: caveat parameters must be given as one JSON object",
                ));
            }
            seen_object = true;
            out.caveat = match serde_json::from_str::<Value>(v) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(CliError::input("--context: must be a JSON object")),
                Err(e) => {
                    return Err(CliError::input(format!(
                        "--context: not a JSON object of caveat parameters: {e}"
                    )));
                }
            };
        } else if relationships_allowed {
            out.contextual.push(
                v.parse::<Relationship>()
                    .map_err(|e| CliError::input(format!("--context {}: {e}", i + 1)))?,
            );
        } else {
            return Err(CliError::input(
                "--context: must be a JSON object of caveat parameters",
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_values_parse_and_bad_ones_name_the_flag() {
        assert_eq!(consistency(None).ok(), Some(Consistency::MinimizeLatency));
        assert_eq!(
            consistency(Some("at_least_as_fresh:12")).ok(),
            Some(Consistency::AtLeastAsFresh(12))
        );
        assert_eq!(
            consistency(Some("fully_consistent")).ok(),
            Some(Consistency::FullyConsistent)
        );
        let e = consistency(Some("at_least_as_fresh:x")).unwrap_err();
        assert!(e.to_string().starts_with("--consistency:"), "{e}");
    }

    #[test]
    fn context_values_split_into_parameters_and_relationships() {
        let c = context(
            &[r#"{"n": 1}"#.to_owned(), "doc:a#r@user:b".to_owned()],
            true,
        )
        .unwrap();
        assert_eq!(c.caveat.get("n"), Some(&serde_json::json!(1)));
        assert_eq!(c.contextual.len(), 1);
        assert!(context(&["{}".to_owned(), "{}".to_owned()], true).is_err());
        assert!(context(&["[1]".to_owned()], false).is_err());
        assert!(context(&["doc:a#r@user:b".to_owned()], false).is_err());
    }
}
