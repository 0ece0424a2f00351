//! The caveat context stored on a relationship: a JSON map of parameters, parsed once when the
//! relationship is parsed or read from a store, kept with the text it was written as.

use std::fmt;
use std::sync::Arc;

use serde_json::Value as Json;

use super::CaveatContext;
use crate::error::{Error, Result};

/// A relationship's caveat context (`[name:{json}]`): parameter name → JSON value. Equal,
/// ordered and hashed by the text it was written as, which it prints back.
#[derive(Clone)]
pub struct StoredContext {
    map: Arc<CaveatContext>,
    text: Arc<str>,
}

impl StoredContext {
    /// Parses a JSON object; anything else is [`Error::RelationshipSyntax`] naming the rule.
    pub fn parse(text: &str) -> Result<Self> {
        serde_json::from_str::<CaveatContext>(text)
            .map(|map| Self::with_text(map, text))
            .map_err(|e| Error::RelationshipSyntax {
                input: crate::error::clip(text),
                reason: format!("caveat context must be a JSON object: {e}"),
            })
    }

    /// The context of `map`, written as compact JSON.
    pub fn from_map(map: CaveatContext) -> Self {
        let text = Json::Object(map.clone()).to_string();
        Self::with_text(map, &text)
    }

    /// A map already parsed from `text`.
    pub(crate) fn with_text(map: CaveatContext, text: &str) -> Self {
        Self {
            map: Arc::new(map),
            text: Arc::from(text),
        }
    }

    /// The parameters.
    pub fn map(&self) -> &CaveatContext {
        &self.map
    }

    /// The JSON text it was written as.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for StoredContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoredContext").field(&self.text).finish()
    }
}

impl fmt::Display for StoredContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for StoredContext {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for StoredContext {}

impl PartialOrd for StoredContext {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StoredContext {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl std::hash::Hash for StoredContext {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl std::str::FromStr for StoredContext {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::StoredContext;
    use crate::error::Error;

    #[test]
    fn a_context_is_parsed_once_and_prints_as_written() {
        let c = StoredContext::parse(r#"{ "x": 1, "l": [1, 2] }"#).unwrap();
        assert_eq!(c.map().get("x"), Some(&serde_json::json!(1)));
        assert_eq!(c.to_string(), r#"{ "x": 1, "l": [1, 2] }"#);
        let m = StoredContext::from_map(c.map().clone());
        assert_eq!(m.map(), c.map());
        assert_eq!(
            StoredContext::parse(m.as_str()).unwrap().map(),
            c.map(),
            "{m}"
        );
    }

    #[test]
    fn anything_but_a_json_object_is_a_syntax_error() {
        for bad in ["[1]", "1", "{", "{\"x\":}", ""] {
            let e = StoredContext::parse(bad).unwrap_err();
            assert!(
                matches!(&e, Error::RelationshipSyntax { reason, .. } if reason.contains("JSON object")),
                "{bad}: {e}"
            );
        }
    }
}
