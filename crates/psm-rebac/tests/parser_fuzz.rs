//! Fuzz smoke tests: every parser returns `Ok` or `Err` — never panics or overflows the stack —
//! on arbitrary text, arbitrary bytes, and mutations of valid inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use psm_rebac::{IdRules, ObjectRef, Relationship, Schema, SubjectRef};

const SPICEDB: &str = "use expiration\ncaveat cav(x int, l list<string>) { x == 42 && l.size() > 0 }\n\
definition user {}\n/* doc */ definition team/group { relation member: user | user:* | team/group#member }\n\
definition doc {\n relation parent: doc\n relation viewer: user with cav | team/group#member | user with expiration\n\
 permission view = (viewer + parent->view) - nil & parent.all(view)\n}\n";

const OPENFGA: &str = "model\n  schema 1.1\ntype user\ntype group\n  relations\n    define member: [user, user:*, group#member]\n\
type doc # comment\n  relations\n    define parent: [doc]\n    define blocked: [user with ip]\n\
    define viewer: [user, group#member] or viewer from parent\n    define can_view: (viewer and blocked) but not blocked\n\
condition ip(x: ipaddress, m: map<string>) {\n  x.in_cidr(\"10.0.0.0/8\")\n}\n";

const JSON: &str = r#"{"user": {}, "group": {"relations": {"member": ["user", "group#member", "user:*"]}},
"doc": {"relations": {"parent": ["doc"], "reader": ["user"]}, "permissions": {"read": ["reader", "parent->read"]}}}"#;

const OPENFGA_JSON: &str = r#"{"schema_version": "1.1", "type_definitions": [{"type": "user"},
{"type": "doc", "relations": {"viewer": {"this": {}}, "can": {"union": {"child": [{"computedUserset": {"relation": "viewer"}}]}}},
 "metadata": {"relations": {"viewer": {"directly_related_user_types": [{"type": "user"}]}}}}]}"#;

fn parse_everything(s: &str) {
    let _ = Schema::parse_spicedb(s);
    let _ = Schema::parse_openfga(s);
    let _ = Schema::parse_json(s);
    let _ = Schema::parse_openfga_json(s);
    let _ = s.parse::<Relationship>();
    let _ = Relationship::parse_with(s, IdRules::OpenFga);
    let _ = s.parse::<SubjectRef>();
    let _ = s.parse::<ObjectRef>();
}

/// Applies byte-level edits (insert, delete, replace) to a valid input.
fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for &(pos, kind, byte) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let p = pos % bytes.len();
        match kind % 3 {
            0 => bytes.insert(p, byte),
            1 => {
                bytes.remove(p);
            }
            _ => bytes[p] = byte,
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

const INTERESTING: &[u8] = b"(){}[]<>#:@*|+-&.,/= \n\t\"'0aZ_>";

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            any::<u8>(),
            prop_oneof![any::<u8>(), prop::sample::select(INTERESTING)],
        ),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(s in ".{0,300}") {
        parse_everything(&s);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..300)) {
        parse_everything(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn parsers_never_panic_on_mutated_valid_inputs(e in edits(), which in 0usize..5) {
        let base = [SPICEDB, OPENFGA, JSON, OPENFGA_JSON, "document:doc1#reader@group:eng#member[c:{\"a\":1}]"][which];
        parse_everything(&mutate(base, &e));
    }
}

#[test]
fn the_seed_inputs_are_valid() {
    // The mutation seeds must be valid, or the mutation test only explores error paths.
    Schema::parse_spicedb(SPICEDB).unwrap();
    Schema::parse_openfga(OPENFGA).unwrap();
    Schema::parse_json(JSON).unwrap();
    Schema::parse_openfga_json(OPENFGA_JSON).unwrap();
}

#[test]
fn deeply_nested_input_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        "definition user {{}}\ndefinition doc {{ relation viewer: user\n permission view = {}viewer{} }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(Schema::parse_spicedb(&deep).is_err());
    let fga = format!(
        "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user]\n    define v2: {}viewer{}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(Schema::parse_openfga(&fga).is_err());
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(Schema::parse_json(&json).is_err());
}
