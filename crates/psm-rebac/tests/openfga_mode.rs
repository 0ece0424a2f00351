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

/// Conditions met while answering, each case as `fga model test` (OpenFGA 1.22) answers it.
const CONDS: &str = "model\n  schema 1.1\ntype user\ntype team\n  relations\n    define m: [user, user with cc]\n    define m2: [user, user with cc]\n    define w: [user, user:* with cc]\ntype doc\n  relations\n    define r: [user, team#m, team#m2 with cc]\n    define r2: [user, team#m, team#m with cc]\n    define s: [user, team#m2 with cc]\n    define parent: [team, team with cc]\n    define v: m from parent\n    define r3: [user, user:* with cc, team#m]\ncondition cc(x: int) {\n  x > 1\n}\n";

async fn conds() -> Engine {
    let e = openfga(CONDS);
    e.touch(
        [
            "doc:1#r@team:a#m",
            "doc:1#r@team:b#m2[cc]",
            "doc:1#r2@team:a#m",
            "doc:1#r2@team:b#m[cc]",
            "doc:1#s@team:b#m2[cc]",
            "team:a#m@user:u2",
            "doc:3#parent@team:a",
            "doc:3#parent@team:b[cc]",
            "doc:4#parent@team:a[cc]",
            "doc:5#r3@user:*[cc]",
            "doc:5#r3@team:a#m",
        ]
        .map(rel),
    )
    .await
    .unwrap();
    e
}

/// `check` in OpenFGA mode with an empty request context (so `cc`'s `x` is missing).
async fn strict_check(e: &Engine, object: &str, relation: &str, user: &str) -> Option<bool> {
    let object = psm_rebac::ObjectRef::parse_with(object, IdRules::OpenFga).unwrap();
    let user = psm_rebac::SubjectRef::parse_with(user, IdRules::OpenFga).unwrap();
    match e
        .scope()
        .require_context()
        .check(&object, relation, &user)
        .await
    {
        Ok(b) => Some(b),
        Err(Error::MissingContext { .. }) => None,
        Err(other) => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_userset_relationship_whose_condition_fails_is_an_error_even_for_a_non_member() {
    let e = conds().await;
    // Only team:b#m2 [cc] could grant `s`: u9 is no member, yet its condition cannot be evaluated.
    assert_eq!(strict_check(&e, "doc:1", "s", "user:u9").await, None);
    // A member through another relationship is granted; the failure does not matter then.
    assert_eq!(strict_check(&e, "doc:1", "r", "user:u2").await, Some(true));
    // team#m2 [cc] is its own group beside team#m: the failure stays.
    assert_eq!(strict_check(&e, "doc:1", "r", "user:u9").await, None);
    // In one group (team#m, with and without cc), a relationship that holds drops the failing one.
    assert_eq!(
        strict_check(&e, "doc:1", "r2", "user:u9").await,
        Some(false)
    );
    // So do the tupleset relationships of an arrow...
    assert_eq!(strict_check(&e, "doc:3", "v", "user:u9").await, Some(false));
    assert_eq!(strict_check(&e, "doc:3", "v", "user:u2").await, Some(true));
    // ...unless none holds.
    assert_eq!(strict_check(&e, "doc:4", "v", "user:u9").await, None);
    // A wildcard whose condition fails is an error unless a relationship grants the user.
    assert_eq!(strict_check(&e, "doc:5", "r3", "user:u9").await, None);
    assert_eq!(strict_check(&e, "doc:5", "r3", "user:u2").await, Some(true));
    // Without require_context (SpiceDB's way) the non-member is simply not granted.
    let doc = psm_rebac::ObjectRef::new("doc", "1");
    let u9 = "user:u9".parse().unwrap();
    assert!(!e.check(&doc, "s", &u9).await.unwrap());
}

#[tokio::test]
async fn list_requests_fail_on_any_reached_relationship_whose_condition_fails() {
    let e = conds().await;
    let strict = e.scope().require_context();
    let u2 = psm_rebac::SubjectRef::parse_with("user:u2", IdRules::OpenFga).unwrap();
    // From u2 backwards, doc:1#r2 is reached through team:a#m only: team:b#m [cc] is not read.
    assert_eq!(
        strict.lookup_resources("doc", "r2", &u2).await.unwrap(),
        ["1"]
    );
    // doc:5#r3@user:* [cc] is reached from u2's wildcard: the whole request fails.
    let err = strict.lookup_resources("doc", "r3", &u2).await.unwrap_err();
    assert!(matches!(err, Error::MissingContext { .. }), "{err:?}");
    // A relationship that cannot lead to the asked relation is not reached.
    assert_eq!(
        strict.lookup_resources("team", "m", &u2).await.unwrap(),
        ["a"]
    );
    // Forwards from doc:1#r2, team:b#m [cc] is read: ListUsers fails, whoever else is found.
    let doc1 = psm_rebac::ObjectRef::new("doc", "1");
    let err = strict
        .lookup_subjects(&doc1, "r2", "user", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingContext { .. }), "{err:?}");
    // Without require_context the lists answer.
    let found = e.lookup_subjects(&doc1, "r2", "user", None).await.unwrap();
    assert_eq!(found.len(), 1);
}

/// OpenFGA evaluates only what can lead to the subject's type (its type graph): a failing
/// condition elsewhere does not matter (found by the differential; each case as `fga model test`).
const PRUNED: &str = "model\n  schema 1.1\ntype user\ntype team\n  relations\n    define rel0: [user with cc, team#rel0 with cc, user:* with cc]\n    define rel1: [user with cc]\n    define perm0: rel1 but not rel0\ntype folder\n  relations\n    define rel0: [user, folder#rel0]\ncondition cc(x: int) {\n  x > 1\n}\n";

#[tokio::test]
async fn a_failing_condition_off_the_subjects_type_graph_does_not_matter() {
    let e = openfga(PRUNED);
    e.touch(
        [
            "team:t1#rel0@team:t0#rel0[cc]",
            "team:t2#rel0@user:*[cc]",
            "team:t4#rel0@user:u6[cc]",
        ]
        .map(rel),
    )
    .await
    .unwrap();
    // A plain team is never a subject of team#rel0: false, not the failing userset's error.
    assert_eq!(
        strict_check(&e, "team:t1", "rel0", "team:t2").await,
        Some(false)
    );
    // ...whereas a user could be one: the failure stands.
    assert_eq!(strict_check(&e, "team:t1", "rel0", "user:u9").await, None);
    let strict = e.scope().require_context();
    // ListObjects expands an exclusion's base only; what it subtracts is checked on candidates.
    let u2 = psm_rebac::SubjectRef::parse_with("user:u2", IdRules::OpenFga).unwrap();
    let none: Vec<String> = Vec::new();
    assert_eq!(
        strict.lookup_resources("team", "perm0", &u2).await.unwrap(),
        none
    );
    // ListUsers for folders never reads team:t4's user relationships.
    let t4 = psm_rebac::ObjectRef::new("team", "t4");
    let found = strict
        .lookup_subjects(&t4, "rel0", "folder", None)
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
    // For users it does, and fails.
    assert!(
        strict
            .lookup_subjects(&t4, "rel0", "user", None)
            .await
            .is_err()
    );
}

/// Where OpenFGA's evaluation strategies read relationships (each case as `fga model test`
/// answers it): a plain subject's own relationships on a directly assigned userset, all usersets
/// of a relation that nests itself at once, an intersection's first operand for ListObjects, and
/// every relationship of a node ListUsers expands.
const STRATEGIES: &str = "model\n  schema 1.1\ntype user\ntype team\n  relations\n    define m: [user, user with cc]\n    define w: [user, user:* with cc]\n    define rel1: [user]\n    define rel2: [user, team#rel1 with cc, team#rel2]\n    define rel3: [user with cc]\ntype doc\n  relations\n    define u: [user, team#m]\n    define parent: [team]\n    define v: w from parent\n    define both: m from parent and rel2 from parent\ncondition cc(x: int) {\n  x > 1\n}\n";

#[tokio::test]
async fn openfga_strategies_meet_the_conditions_openfga_meets() {
    let e = openfga(STRATEGIES);
    e.touch(
        [
            "doc:2#u@team:a#m",
            "team:z#m@user:u3[cc]",
            "doc:5#parent@team:a",
            "team:a#w@user:*[cc]",
            "team:a#w@user:u1",
            "team:t3#rel2@team:t0#rel2",
            "team:t3#rel2@team:t0#rel1[cc]",
            "team:t0#rel1@user:u4",
            "doc:7#parent@team:t3",
            "team:f3#rel3@user:u1[cc]",
        ]
        .map(rel),
    )
    .await
    .unwrap();
    // u3's own team:z#m [cc] fails, though doc:2 only names team:a#m.
    assert_eq!(strict_check(&e, "doc:2", "u", "user:u3").await, None);
    // Through the arrow, the failing wildcard on team:a#w is read beside u1's relationship.
    assert_eq!(strict_check(&e, "doc:5", "v", "user:u1").await, None);
    // team#rel2 nests itself: its usersets are one group, team:t0#rel2 holds, the failure drops.
    assert_eq!(
        strict_check(&e, "team:t3", "rel2", "user:u0").await,
        Some(false)
    );
    let strict = e.scope().require_context();
    let u4 = psm_rebac::SubjectRef::parse_with("user:u4", IdRules::OpenFga).unwrap();
    let none: Vec<String> = Vec::new();
    assert_eq!(
        strict.lookup_resources("doc", "both", &u4).await.unwrap(),
        none
    );
    let f3 = psm_rebac::ObjectRef::new("team", "f3");
    assert!(
        strict
            .lookup_subjects(&f3, "rel3", "team", Some("rel3"))
            .await
            .is_err()
    );
}

/// An exclusion whose subtracted side is an empty cycle of usersets (`f2#rel3 ⊇ f3#rel3 ⊇
/// f2#rel3`, no user anywhere) subtracts nothing: OpenFGA answers true for the base's members
/// (found by the differential, seed 9472952362439759790: psm answered false).
#[tokio::test]
async fn an_exclusion_over_an_empty_userset_cycle_subtracts_nothing() {
    let model = "model\n  schema 1.1\ntype user\ntype team\n  relations\n    define rel2: [user]\ntype folder\n  relations\n    define parent: [team]\n    define rel3: [user, folder#rel3]\n    define perm0: rel2 from parent but not rel3\ntype doc\n  relations\n    define rel4: [user with flag_set]\ncondition flag_set(flags: map<bool>, key: string) {\n  flags[key]\n}\n";
    let e = openfga(model);
    e.touch([
        rel("folder:f2#parent@team:t0"),
        rel("team:t0#rel2@user:u5"),
        rel("folder:f2#rel3@folder:f3#rel3"),
        rel("folder:f3#rel3@folder:f2#rel3"),
    ])
    .await
    .unwrap();
    assert_eq!(
        strict_check(&e, "folder:f2", "perm0", "user:u5").await,
        Some(true)
    );
    assert_eq!(
        strict_check(&e, "folder:f2", "rel3", "user:u5").await,
        Some(false)
    );
    let u5 = psm_rebac::SubjectRef::parse_with("user:u5", IdRules::OpenFga).unwrap();
    let objects = e
        .scope()
        .require_context()
        .lookup_resources("folder", "perm0", &u5)
        .await
        .unwrap();
    assert_eq!(objects, vec!["f2".to_owned()]);
}

/// A cycle through a relation with other usersets besides itself (`rel4: [team with flag_set,
/// folder#rel3, folder#rel4]`) is one OpenFGA reports as a cycle, and an exclusion of it denies:
/// `rel3 but not (rel3 and rel4)` is false for rel3's members (found by the differential, seed
/// 3044227215048637249, check and list_objects).
#[tokio::test]
async fn an_exclusion_over_a_reported_cycle_denies() {
    let model = "model\n  schema 1.1\ntype user\ntype team\n  relations\n    define rel0: [user]\ntype folder\n  relations\n    define rel3: [user]\n    define rel4: [team with flag_set, folder#rel3, folder#rel4]\n    define perm0: rel3 and rel4\n    define perm1: rel3 but not perm0\ncondition flag_set(flags: map<bool>, key: string) {\n  flags[key]\n}\n";
    let e = openfga(model);
    e.touch([
        rel("folder:f3#rel4@folder:f0#rel4"),
        rel("folder:f0#rel4@folder:f3#rel4"),
        rel("folder:f0#rel3@user:u0"),
    ])
    .await
    .unwrap();
    assert_eq!(
        strict_check(&e, "folder:f0", "perm1", "user:u0").await,
        Some(false)
    );
    assert_eq!(
        strict_check(&e, "folder:f0", "rel3", "user:u0").await,
        Some(true)
    );
}
