//! Key layout: where a session, a user's index and the roles provider's sets live in Redis.
//!
//! With prefix `P` (default `psm:`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P` `s:{<session id>}` | hash | one session (fields `u`, `p`, `c`, `t`, `m`, see `record.rs`) |
//! | `P` `u:{<escaped user id>}` | sorted set | the user's session ids, scored by expiry in ms (`+inf` = never) |
//!
//! The braces are Redis Cluster hash tags: a session key hashes by its session id and an index key
//! by its user id, so every atomic step touches one slot. User ids may contain `{`, `}` and `%`;
//! those three are percent-escaped so that a user id can never end or open a hash tag early.
//! Session ids are `[A-Za-z0-9._~-]` and need no escaping.

/// Builds the keys of one store from its prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    session_pattern: String,
    index_pattern: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        let glob = glob_escape(prefix);
        Keys {
            prefix: prefix.to_owned(),
            session_pattern: format!("{glob}s:{{*}}"),
            index_pattern: format!("{glob}u:{{*}}"),
        }
    }

    /// The key prefix as configured.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `P s:{sid}`.
    pub(crate) fn session(&self, session_id: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + session_id.len() + 4);
        key.push_str(&self.prefix);
        key.push_str("s:{");
        key.push_str(session_id);
        key.push('}');
        key
    }

    /// `P u:{escaped user}`.
    pub(crate) fn index(&self, user_id: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + user_id.len() + 4);
        key.push_str(&self.prefix);
        key.push_str("u:{");
        escape_tag_into(user_id, &mut key);
        key.push('}');
        key
    }

    /// SCAN MATCH pattern for every session key of this prefix.
    pub(crate) fn session_pattern(&self) -> &str {
        &self.session_pattern
    }

    /// SCAN MATCH pattern for every index key of this prefix.
    pub(crate) fn index_pattern(&self) -> &str {
        &self.index_pattern
    }

    /// The user id encoded in an index key of this prefix, if `key` is one.
    pub(crate) fn user_of_index(&self, key: &str) -> Option<String> {
        let inner = key
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix("u:{")?
            .strip_suffix('}')?;
        unescape_tag(inner)
    }
}

/// Percent-escapes `%`, `{` and `}` so the text can sit inside a hash tag (the Lua scripts do
/// the same with `string.gsub`).
pub(crate) fn escape_tag_into(text: &str, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '%' => out.push_str("%25"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
}

fn unescape_tag(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3)?;
        out.push(match code {
            "25" => '%',
            "7B" => '{',
            "7D" => '}',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// Escapes the glob characters of SCAN MATCH (`*`, `?`, `[`, `]`, `\`) so a prefix matches itself.
pub(crate) fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// True when `text` holds a complete Redis Cluster hash tag (`{...}` with something inside), so
/// every key built on it hashes to the same slot.
pub(crate) fn has_hash_tag(text: &str) -> bool {
    text.find('{')
        .and_then(|open| text[open + 1..].find('}'))
        .is_some_and(|len| len > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_with_braces_cannot_break_the_hash_tag() {
        let keys = Keys::new("app:");
        assert_eq!(keys.index("a}b{c%"), "app:u:{a%7Db%7Bc%25}");
        assert_eq!(
            keys.user_of_index(&keys.index("a}b{c%")).as_deref(),
            Some("a}b{c%")
        );
        assert_eq!(keys.session("s-1"), "app:s:{s-1}");
    }

    #[test]
    fn distinct_users_get_distinct_index_keys() {
        let keys = Keys::new("");
        assert_ne!(keys.index("%7B"), keys.index("{"));
    }

    #[test]
    fn scan_patterns_escape_glob_characters_of_the_prefix() {
        let keys = Keys::new("a*b?[x]\\:");
        assert_eq!(keys.session_pattern(), "a\\*b\\?\\[x\\]\\\\:s:{*}");
    }

    #[test]
    fn hash_tags_are_detected_only_when_complete_and_non_empty() {
        assert!(has_hash_tag("{app}:"));
        assert!(!has_hash_tag("{}app:"));
        assert!(!has_hash_tag("app{"));
        assert!(!has_hash_tag("app:"));
    }
}
