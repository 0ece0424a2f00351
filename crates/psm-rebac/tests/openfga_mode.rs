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
        ..EngineConfig::default()
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

const IPS: &str = "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define same: [user with same_ip]\n    define other: [user with other_ip]\n    define net: [user with on_net]\ncondition same_ip(ip: ipaddress) {\n  ip == ipaddress(\"10.0.0.1\")\n}\ncondition other_ip(ip: ipaddress) {\n  ip != ipaddress(\"::1\")\n}\ncondition on_net(ip: ipaddress, cidr: string) {\n  ip.in_cidr(cidr)\n}\n";

fn ctx(json: &str) -> psm_rebac::CaveatContext {
    serde_json::from_str(json).unwrap()
}

async fn ip_check(relation: &str, context: &str) -> psm_rebac::Result<bool> {
    let e = openfga(IPS);
    e.touch([
        rel("doc:1#same@user:a[same_ip]"),
        rel("doc:1#other@user:a[other_ip]"),
        rel(r#"doc:1#net@user:a[on_net:{"cidr":"10.0.0.0/33"}]"#),
    ])
    .await
    .unwrap();
    e.with_contextual(Vec::new())
        .unwrap()
        .with_context(ctx(context))
        .require_context()
        .check(
            &"doc:1".parse().unwrap(),
            relation,
            &"user:a".parse().unwrap(),
        )
        .await
}

#[tokio::test]
async fn ipaddress_values_compare_with_eq_and_ne_as_addresses() {
    assert!(ip_check("same", r#"{"ip":"10.0.0.1"}"#).await.unwrap());
    assert!(!ip_check("same", r#"{"ip":"10.0.0.2"}"#).await.unwrap());
    // `::0:1` is `::1` written differently: the same address
    assert!(!ip_check("other", r#"{"ip":"::0:1"}"#).await.unwrap());
    assert!(ip_check("other", r#"{"ip":"::2"}"#).await.unwrap());
}

#[tokio::test]
async fn a_malformed_cidr_is_an_error_not_false() {
    let err = ip_check("net", r#"{"ip":"10.0.0.1"}"#).await.unwrap_err();
    assert!(matches!(err, Error::CaveatEvaluation { .. }), "{err:?}");
}

#[test]
fn string_of_an_ipaddress_is_refused_in_an_openfga_model() {
    let model = |expr: &str| {
        format!(
            "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define v: [user with c]\ncondition c(ip: ipaddress, s: string) {{\n  {expr}\n}}\n"
        )
    };
    let err = Schema::parse_openfga(&model("string(ip) == \"10.0.0.1\"")).unwrap_err();
    assert!(err.to_string().contains("string"), "{err}");
    assert!(Schema::parse_openfga(&model("string( ip ) == s")).is_err());
    assert!(Schema::parse_openfga(&model("string(s) == s && ip.in_cidr(s)")).is_ok());
}
