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

    /// Whether two SpiceDB LookupSubjects answers (`id:has`, `id:cond`, `*:cond-[u2,u4]`) give
    /// every subject the same permissionship: its own entry's, or the wildcard's unless the
    /// wildcard excludes it, whichever is stronger. They may differ in form only (one names a
    /// conditional subject and excludes it from a conditional wildcard, the other leaves it to
    /// the wildcard; one names a subject the unconditional wildcard covers anyway).
    pub fn same_subjects(&self, other: &Answer) -> bool {
        let (Some(a), Some(b)) = (self.words(), other.words()) else {
            return false;
        };
        let (a, b) = (subjects(a), subjects(b));
        // Every subject either answer names, and one neither names (the wildcard's own).
        let ids: std::collections::BTreeSet<&str> = a
            .iter()
            .chain(&b)
            .flat_map(|(id, _, excluded)| {
                std::iter::once(*id).chain(excluded.iter().map(|e| e.trim_end_matches('?')))
            })
            .filter(|id| *id != "*")
            .chain(std::iter::once(""))
            .collect();
        ids.iter()
            .all(|id| permissionship(&a, id) == permissionship(&b, id))
    }

    /// The words, when this is a value.
    pub fn words(&self) -> Option<&[String]> {
        match self {
            Answer::Value(w) => Some(w),
            Answer::Error(_) => None,
        }
    }
}

/// LookupSubjects words as (id, permissionship, excluded ids).
fn subjects(words: &[String]) -> Vec<(&str, &str, Vec<&str>)> {
    words
        .iter()
        .map(|w| {
            let (id, rest) = w.split_once(':').unwrap_or((w.as_str(), ""));
            let (p, excluded) = match rest.split_once("-[") {
                Some((p, list)) => (
                    p,
                    list.trim_end_matches(']')
                        .split(',')
                        .filter(|e| !e.is_empty())
                        .collect(),
                ),
                None => (rest, Vec::new()),
            };
            (id, p, excluded)
        })
        .collect()
}

/// The permissionship an answer gives `id` (2 has, 1 conditional, 0 none); `""` is a subject
/// the answer does not name.
fn permissionship(subjects: &[(&str, &str, Vec<&str>)], id: &str) -> u8 {
    let rank = |p: &str| match p {
        "has" => 2,
        "cond" => 1,
        _ => 0,
    };
    // A conditional exclusion (`u2?`, SpiceDB's) leaves the wildcard's grant conditional.
    let conditional = format!("{id}?");
    subjects
        .iter()
        .filter_map(|(s, p, excluded)| {
            if *s == id && !id.is_empty() {
                Some(rank(p))
            } else if *s != "*" || excluded.contains(&id) {
                None
            } else if excluded.contains(&conditional.as_str()) {
                Some(rank(p).min(1))
            } else {
                Some(rank(p))
            }
        })
        .max()
        .unwrap_or(0)
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

    #[test]
    fn subject_lookups_compare_by_what_each_subject_gets() {
        let w = |words: &[&str]| Answer::value(words.iter().map(|s| (*s).to_owned()).collect());
        // Seed 177875063368246337: u2 named and excluded, or left to the wildcard: both cond.
        assert!(w(&["*:cond-[u4]", "u4:cond"]).same_subjects(&w(&[
            "*:cond-[u2,u4]",
            "u2:cond",
            "u4:cond"
        ])));
        // A conditional subject beside the unconditional wildcard that covers it.
        assert!(w(&["*:has", "u1:cond"]).same_subjects(&w(&["*:has"])));
        assert!(w(&["*:cond", "u1:cond"]).same_subjects(&w(&["*:cond"])));
        // Different permissionships.
        assert!(!w(&["u1:cond"]).same_subjects(&w(&[])));
        assert!(!w(&["*:has-[u2]"]).same_subjects(&w(&["*:has"])));
        assert!(!w(&["*:cond"]).same_subjects(&w(&["*:has"])));
        assert!(!w(&["*:has-[u2]", "u2:cond"]).same_subjects(&w(&["*:has-[u2]"])));
        assert!(!w(&["u1:has"]).same_subjects(&w(&["u1:cond"])));
        assert!(!w(&["*:has"]).same_subjects(&Answer::Error("x".into())));
        // Seed 12816208572388446904: SpiceDB excludes u2 conditionally, psm names u2 conditional.
        assert!(w(&["*:has-[u2?]"]).same_subjects(&w(&["*:has-[u2]", "u2:cond"])));
        assert!(!w(&["*:has-[u2?]"]).same_subjects(&w(&["*:has-[u2]"])));
    }
}
