//! An engine in OpenFGA mode (`IdRules::OpenFga`) answers as OpenFGA does where OpenFGA and
//! SpiceDB differ; each disagreement class found by the differential against the real
//! `fga model test` has its test here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_rebac::{Engine, EngineConfig, Error, IdRules, MemoryStore, Relationship, Schema};

fn openfga(model: &str) -> Engine {
    let schema = Schema::parse_openfga(model).unwrap();
    let config = EngineConfig {
        max_depth: 25,
        id_rules: IdRules::OpenFga,
    };
    Engine::with_config(schema, Arc::new(MemoryStore::new()), config)
}

fn spicedb_config(model: &str) -> Engine {
    Engine::new(
        Schema::parse_openfga(model).unwrap(),
        Arc::new(MemoryStore::new()),
    )
}

fn rel(text: &str) -> Relationship {
    Relationship::parse_with(text, IdRules::OpenFga).unwrap()
}

const GROUPS: &str = "model\n  schema 1.1\ntype user\ntype group\n  relations\n    define member: [user, group#member, user with c, user with cc]\ncondition c(x: int) {\n  x > 1\n}\ncondition cc(x: int) {\n  x > 1\n}\n";

#[test]
fn the_implicit_tuple_is_refused_in_openfga_mode() {
    let e = openfga(GROUPS);
    let implicit = rel("group:a#member@group:a#member");
    assert!(matches!(
        e.validate_relationship(&implicit),
        Err(Error::RelationshipNotAllowed { .. })
    ));
    assert!(
        e.validate_relationship(&rel("group:a#member@group:b#member"))
            .is_ok()
    );
    // the SpiceDB rules keep admitting it
    assert!(
        spicedb_config(GROUPS)
            .validate_relationship(&implicit)
            .is_ok()
    );
}

#[test]
fn a_one_character_condition_name_on_a_tuple_is_refused_in_openfga_mode() {
    let e = openfga(GROUPS);
    let short = rel("group:a#member@user:x[c]");
    let err = e.validate_relationship(&short).unwrap_err();
    assert!(err.to_string().contains("2 to 256"), "{err}");
    assert!(
        e.validate_relationship(&rel("group:a#member@user:x[cc]"))
            .is_ok()
    );
}
