//! The OpenAPI schemas of the API's text values — object references, subjects, relationships,
//! names, session ids, user ids, session permissions — with patterns written from the parsers
//! they go through (psm-rebac's `relationship.rs`, psm-core's `validate.rs` and permission
//! grammar), so a value the schema accepts parses and one it refuses does not. Patterns are
//! ECMA-262 and Python compatible (no look-around, explicit white-space classes).

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

/// A type, relation or permission name: 1–254 of `A-Z a-z 0-9 _ / . -`.
const NAME: &str = "[A-Za-z0-9_/.-]{1,254}";
/// An object id (SpiceDB rules): 1–1024 of `A-Z a-z 0-9 / _ | = + -`.
const ID: &str = "[A-Za-z0-9/_|=+-]{1,1024}";
/// The white space Rust's `str::trim` removes (Unicode `White_Space`), spelled out because `\s`
/// means different sets in ECMA-262 and Python.
const WS: &str =
    "[\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
/// A caveat context in a relationship, as far as a pattern can tell JSON: an object of up to
/// flat `"key": value` pairs (numbers, booleans, null, simple strings).
const CONTEXT: &str = "\\{(\"[A-Za-z0-9_]{1,32}\":(-?(0|[1-9][0-9]{0,14})|true|false|null|\"[A-Za-z0-9_ ]{0,32}\")(,\"[A-Za-z0-9_]{1,32}\":(-?(0|[1-9][0-9]{0,14})|true|false|null|\"[A-Za-z0-9_ ]{0,32}\"))*)?\\}";

fn string(pattern: String, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

/// `SUBJECT` without anchors: `type:id`, `type:id#relation` (or `#...`), `type:*`.
fn subject_body() -> String {
    format!("{NAME}:({ID}(#{NAME})?|\\*(#\\.\\.\\.)?)")
}

/// An RFC 3339 date-time exactly as `psm_rebac::Expiration::parse` (chrono's
/// `parse_from_rfc3339`) takes it: a real calendar date (leap years included), `T`, `t` or a
/// space, `hh:mm:ss` with a leap second 60, any fraction, and `Z`, `z` or a `±hh:mm` offset
/// (`−`, U+2212, too) within ±23:59.
const TIMESTAMP: &str = concat!(
    "([0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)",
    "|(0[13578]|1[02])-31)",
    "|([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[048]|[2468][048]|[13579][26])00)-02-29)",
    "[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?",
    "([Zz]|[+\\-\\u2212]([01][0-9]|2[0-3]):[0-5][0-9])"
);

/// The pattern of a relationship: `type:id#relation@subject`, then at most one caveat
/// (`[name]` or `[name:{...}]`) and at most one `[expiration:TIMESTAMP]`, white space around
/// trimmed.
pub fn relationship_pattern() -> String {
    format!(
        "^{WS}*{NAME}:{ID}#{NAME}@{}(\\[[A-Za-z0-9_/]{{1,128}}(:{CONTEXT})?\\])?(\\[expiration:{TIMESTAMP}\\])?{WS}*$",
        subject_body()
    )
}

/// A regex (no anchors) for strings of `max.len()` digits whose value is at most `max`.
fn digits_at_most(max: &str) -> String {
    let Some(first) = max.chars().next() else {
        return String::new();
    };
    let rest = &max[first.len_utf8()..];
    if rest.is_empty() {
        return format!("[0-{first}]");
    }
    let below = match first {
        '0' => String::new(),
        '1' => format!("0[0-9]{{{}}}|", rest.len()),
        d => format!("[0-{}][0-9]{{{}}}|", char::from(d as u8 - 1), rest.len()),
    };
    format!("({below}{first}{})", digits_at_most(rest))
}

/// A revision as a string: the digits of a `u64` (leading zeros allowed, as the server parses
/// them).
pub fn revision_digits() -> String {
    format!(
        "^([0-9]{{1,19}}|{})$",
        digits_at_most(&u64::MAX.to_string())
    )
}

/// Declares a string schema type named after the Rust type.
macro_rules! text_schema {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl ToSchema for $name {}
    };
}

text_schema!(
    /// `type:id`.
    ObjectRefText,
    string(format!("^{NAME}:{ID}$"), "an object: `type:id`")
);

text_schema!(
    /// `type:id`, `type:id#relation` or `type:*`.
    SubjectRefText,
    string(
        format!("^{}$", subject_body()),
        "a subject: `type:id`, `type:id#relation` or `type:*`"
    )
);

text_schema!(
    /// `type:id#relation@subject[caveat][expiration:...]`.
    RelationshipText,
    string(
        relationship_pattern(),
        "`resource#relation@subject`, then optionally a caveat `[name]` or `[name:{...}]` and \
         `[expiration:RFC3339]`"
    )
);

text_schema!(
    /// A type, relation or permission name.
    NameText,
    string(format!("^{NAME}$"), "a name: letters, digits, `_ / . -`")
);

text_schema!(
    /// An object id.
    ObjectIdText,
    string(format!("^{ID}$"), "an object id: letters, digits, `/ _ | = + -`")
);

text_schema!(
    /// A session id: 1–255 of `[A-Za-z0-9._~-]`.
    SessionIdText,
    string(
        "^[A-Za-z0-9._~-]{1,255}$".to_owned(),
        "a session id: 1–255 of `A-Z a-z 0-9 . _ ~ -`"
    )
);

text_schema!(
    /// A user id: 1–255 bytes without control characters.
    UserIdText,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(255))
        .pattern(Some("^[^\\x00-\\x1f\\x7f-\\x9f]+$"))
        .description(Some("a user id: 1–255 bytes of text without control characters"))
        .into()
);

/// One segment character of a session permission: printable, not white space, not invisible,
/// not a separator (`:` `.`) or a wildcard (`*` `>`).
const SEGMENT: &str = "[^\\x00-\\x20\\x7f-\\xa0:.*>\\u1680\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u2064\\u3000\\ufeff]";

text_schema!(
    /// A session permission: segments separated by `:` or `.`, `*` a whole segment, `>` last.
    PermissionText,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(255))
        .pattern(Some(format!(
            "^(({SEGMENT}+|\\*)[:.])*({SEGMENT}+>?|\\*)$"
        )))
        .description(Some(
            "a permission (at most 255 bytes): non-empty segments separated by `:` or `.`; a \
             segment `*` matches any one, a trailing `>` everything below"
        ))
        .into()
);

text_schema!(
    /// `consistency`.
    ConsistencyValue,
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["minimize_latency", "fully_consistent"])),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "at_least_as_fresh",
                    OneOfBuilder::new()
                        .item(
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .format(Some(SchemaFormat::Custom("uint64".into())))
                                .minimum(Some(0))
                                .maximum(Some(usize::MAX)),
                        )
                        .item(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .pattern(Some(revision_digits())),
                        ),
                )
                .required("at_least_as_fresh")
                .additional_properties(Some(
                    utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
                )),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "how fresh the answer must be (absent or null: `minimize_latency`); \
             `at_least_as_fresh` takes a revision a write returned, and one this store never \
             issued answers 409 `revision_not_issued`"
        ))
        .into()
);

text_schema!(
    /// The `limit` of a lookup.
    LookupLimitValue,
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Integer,
            Type::Null
        ]))
        .minimum(Some(1))
        .maximum(Some(crate::lookup_routes::MAX_LOOKUP_LIMIT))
        .description(Some(
            "most results in this page (absent or null: 10000, the most one page holds; a \
             `cursor` leads to the rest)"
        ))
        .into()
);

/// The `context` of `/v1/check`: caveat parameters, or (the older spelling) contextual
/// relationships.
pub fn check_context() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(CaveatContextValue::schema())
        .item(
            utoipa::openapi::schema::ArrayBuilder::new()
                .items(RelationshipText::schema())
                .max_items(Some(1000))
                .description(Some(
                    "the older spelling of `contextual_relationships` (not with both)",
                )),
        )
        .into()
}

text_schema!(
    /// Caveat parameters.
    CaveatContextValue,
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Object,
            Type::Null
        ]))
        .description(Some(
            "caveat parameters (CEL values) for this request; a parameter stored with a \
             relationship wins"
        ))
        .into()
);

text_schema!(
    /// The `cursor` of a page.
    CursorValue,
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null
        ]))
        .min_length(Some(1))
        .max_length(Some(4096))
        .description(Some(
            "the `cursor` of the previous page (absent or null: the first page; at most 4096 \
             bytes)"
        ))
        .into()
);

#[cfg(test)]
mod tests {
    use super::digits_at_most;

    #[test]
    fn digit_bounds_spell_every_smaller_number() {
        assert_eq!(digits_at_most("7"), "[0-7]");
        assert_eq!(digits_at_most("25"), "([0-1][0-9]{1}|2[0-5])");
        assert_eq!(digits_at_most("105"), "(0[0-9]{2}|1(0[0-5]))");
    }
}
