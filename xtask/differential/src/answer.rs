//! An engine's answer to one query, in a form both engines' answers compare in: a sorted list of
//! words (`true`, `has`, `doc:d1`, `u1:cond`, ...) or an error.

use std::fmt;

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The answer's words, sorted.
    Value(Vec<String>),
    /// The request failed; the message is for the report (errors compare equal to each other).
    Error(String),
}

impl Answer {
    /// A value from words in any order.
    pub fn value(mut words: Vec<String>) -> Self {
        words.sort();
        words.dedup();
        Answer::Value(words)
    }

    /// A single word.
    pub fn word(word: &str) -> Self {
        Answer::Value(vec![word.to_owned()])
    }

    /// Whether two answers agree: equal values, or both errors (codes and messages differ
    /// between engines by design).
    pub fn agrees(&self, other: &Answer) -> bool {
        match (self, other) {
            (Answer::Error(_), Answer::Error(_)) => true,
            (Answer::Value(a), Answer::Value(b)) => a == b,
            _ => false,
        }
    }

    /// The words, when this is a value.
    pub fn words(&self) -> Option<&[String]> {
        match self {
            Answer::Value(w) => Some(w),
            Answer::Error(_) => None,
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Value(words) => write!(f, "[{}]", words.join(", ")),
            Answer::Error(e) => write!(f, "error: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Answer;

    #[test]
    fn errors_agree_values_compare_sorted() {
        let a = Answer::value(vec!["b".into(), "a".into()]);
        assert!(a.agrees(&Answer::value(vec!["a".into(), "b".into()])));
        assert!(!a.agrees(&Answer::word("a")));
        assert!(!a.agrees(&Answer::Error("x".into())));
        assert!(Answer::Error("x".into()).agrees(&Answer::Error("y".into())));
    }
}
