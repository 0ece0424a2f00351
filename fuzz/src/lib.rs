//! Shared checks of psm's fuzz targets: what each target does with its input once it is text.
//!
//! Every function must return normally on any input: a panic here is a bug libFuzzer reports.
//! Assertions below state properties of successful parses (validation runs, printing round-trips).
#![forbid(unsafe_code)]

use std::sync::{Arc, OnceLock};

use psm_rebac::caveat::Caveats;
use psm_rebac::{Engine, IdRules, MemoryStore, ObjectRef, Relationship, Schema, SubjectRef};

/// The input as text: invalid UTF-8 is replaced (U+FFFD) rather than skipped, so every input
/// reaches the parser.
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// What happens to a schema that parsed and validated: its caveats compile (or fail with a
/// typed error) and an engine can be built over it (reverse index, fast-path stack check).
pub fn use_schema(schema: Schema) {
    let _ = Caveats::validate(&schema);
    let _ = Engine::new(schema, Arc::new(MemoryStore::new()));
}

/// A SpiceDB schema: parse, validate, use.
pub fn spicedb_schema(src: &str) {
    if let Ok(schema) = Schema::parse_spicedb(src) {
        use_schema(schema);
    }
}

/// An OpenFGA DSL model (schema 1.1): parse, validate, use.
pub fn openfga_dsl(src: &str) {
    if let Ok(schema) = Schema::parse_openfga(src) {
        use_schema(schema);
    }
}

/// An OpenFGA JSON authorization model: parse, validate, use.
pub fn openfga_json(src: &str) {
    if let Ok(schema) = Schema::parse_openfga_json(src) {
        use_schema(schema);
    }
}

/// A dj_magister JSON schema: parse, validate, use.
pub fn json_schema(src: &str) {
    if let Ok(schema) = Schema::parse_json(src) {
        use_schema(schema);
    }
}

const RELATIONSHIP_SCHEMA: &str = "use expiration\n\
caveat cav(x int) { x == 1 }\n\
definition user {}\n\
definition group { relation member: user | user:* | group#member }\n\
definition doc {\n relation parent: doc\n relation viewer: user | user with cav | group#member | user with expiration\n\
 permission view = viewer + parent->view\n}\n";

/// An engine over a small fixed schema, to validate parsed relationships against.
fn relationship_engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            Schema::parse_spicedb(RELATIONSHIP_SCHEMA)
                .ok()
                .map(|schema| Engine::new(schema, Arc::new(MemoryStore::new())))
        })
        .as_ref()
}

/// Relationship, subject and object strings under both id rules: whatever parses prints back to
/// text that parses to the same value, and a parsed relationship validates (or not) against a
/// schema without panicking.
///
/// # Panics
///
/// When a print-back round trip changes the value: that is the bug this target looks for.
pub fn relationship(src: &str) {
    for rules in [IdRules::SpiceDb, IdRules::OpenFga] {
        if let Ok(r) = Relationship::parse_with(src, rules) {
            let printed = r.to_string();
            let again = Relationship::parse_with(&printed, rules);
            assert_eq!(
                again.as_ref().ok(),
                Some(&r),
                "{rules:?} relationship {src:?} printed as {printed:?}"
            );
            if let Some(engine) = relationship_engine() {
                let _ = engine.validate_relationship(&r);
            }
        }
        if let Ok(s) = SubjectRef::parse_with(src, rules) {
            let printed = s.to_string();
            let again = SubjectRef::parse_with(&printed, rules);
            assert_eq!(
                again.as_ref().ok(),
                Some(&s),
                "{rules:?} subject {src:?} printed as {printed:?}"
            );
        }
        if let Ok(o) = ObjectRef::parse_with(src, rules) {
            let printed = o.to_string();
            let again = ObjectRef::parse_with(&printed, rules);
            assert_eq!(
                again.as_ref().ok(),
                Some(&o),
                "{rules:?} object {src:?} printed as {printed:?}"
            );
        }
    }
}

/// psm-core's permission grammar: validation, and a permission set built from the permission
/// (one that validates is accepted by the set and, when concrete, grants itself).
///
/// # Panics
///
/// When a valid concrete permission is not granted by a set holding it.
pub fn permission(src: &str) {
    use psm_core::permission::{ParsedPermission, PermissionSet, Shape};
    let valid = psm_core::permission::validate_permission(src);
    let parsed = ParsedPermission::parse(src);
    assert_eq!(
        valid.is_ok(),
        parsed.is_ok(),
        "validate and parse disagree on {src:?}"
    );
    if let Ok(p) = parsed
        && let Ok(set) = PermissionSet::new([src])
        && p.shape() == Shape::Concrete
    {
        assert!(
            set.check_parsed(p),
            "{src:?} is not granted by a set holding it"
        );
    }
}
