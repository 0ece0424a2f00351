//! OpenFGA language cases: DSL syntax/semantic cases, JSON model cases, DSL transformability
//! cases and object-id cases. A case with `expected_errors` (or `valid: false`) must be rejected;
//! every other case must be accepted. Exact messages are not compared.

use std::path::Path;

use serde_norway::Value;

use super::report::{Outcome, Report};
use super::{list_field, str_field};
use crate::schema::openfga_json;
use crate::{IdRules, Schema};

pub fn run(path: &Path, items: &[Value], report: &mut Report) {
    for item in items {
        let name = str_field(item, "name").unwrap_or("?");
        let outcome = if let Some(id) = item.get("object_id") {
            object_id(id, item)
        } else if let Some(dsl) = str_field(item, "dsl") {
            judge(item, Schema::parse_openfga(dsl).map(|_| ()))
        } else if let Some(json) = str_field(item, "json") {
            let parsed = Schema::parse_openfga_json(json);
            let result = if item.get("valid").is_some() || item.get("expected_errors").is_none() {
                // Transformer cases: the model must also be expressible in the DSL.
                parsed.and_then(|s| openfga_json::check_dsl_expressible(&s))
            } else {
                parsed.map(|_| ())
            };
            judge(item, result)
        } else {
            Outcome::Fail("unrecognised case (no `dsl`, `json` or `object_id`)".to_owned())
        };
        report.case(path, name, outcome);
    }
}

fn should_fail(item: &Value) -> bool {
    !list_field(item, "expected_errors").is_empty()
        || item.get("valid").and_then(Value::as_bool) == Some(false)
}

fn judge(item: &Value, result: crate::Result<()>) -> Outcome {
    match (should_fail(item), result) {
        (true, Err(_)) | (false, Ok(())) => Outcome::Pass,
        (true, Ok(())) => Outcome::Fail("accepted, but the case expects errors".to_owned()),
        (false, Err(e)) => Outcome::Fail(format!("rejected a valid case: {e}")),
    }
}

fn object_id(id: &Value, item: &Value) -> Outcome {
    let id = id.as_str().unwrap_or_default();
    let want = item.get("valid").and_then(Value::as_bool).unwrap_or(true);
    let got = IdRules::OpenFga.check_object_id(id).is_ok();
    if got == want {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "object id `{id}`: expected valid={want}, got valid={got}"
        ))
    }
}
