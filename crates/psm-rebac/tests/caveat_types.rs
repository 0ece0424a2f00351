//! Caveat parameter types are typed at parse time in all three formats that declare them:
//! unknown ones are refused with a rule, the parameter's name and the type's position, and a
//! valid type prints back to the text it was written as.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use psm_rebac::{Error, Position, Schema};

/// The rule, position and message of a `SchemaInvalid` error.
fn invalid(result: Result<Schema, Error>) -> (&'static str, Position, String) {
    match result {
        Err(Error::SchemaInvalid {
            rule,
            position,
            message,
        }) => (rule, position, message),
        other => panic!("expected a SchemaInvalid error, got {other:?}"),
    }
}

#[test]
fn spicedb_unknown_type_is_refused_naming_the_parameter_at_the_type() {
    let (rule, position, message) = invalid(Schema::parse_spicedb(
        "definition user {}\ncaveat cav(x int,\n  when integer) { x == 1 }",
    ));
    assert_eq!(rule, "unknown-caveat-parameter-type");
    assert_eq!(position, Position { line: 3, column: 8 });
    assert!(
        message.contains("`cav`") && message.contains("`when`"),
        "{message}"
    );
    assert!(message.contains("`integer`"), "{message}");
    for bad in [
        "list",
        "map<int, int>",
        "int<string>",
        "list<foo>",
        "list<int, int>",
    ] {
        let src = format!("caveat cav(x {bad}) {{ x == 1 }}\ndefinition user {{}}");
        let (rule, _, message) = invalid(Schema::parse_spicedb(&src));
        assert_eq!(rule, "unknown-caveat-parameter-type", "{bad}");
        assert!(message.contains("`x`"), "{message}");
    }
}

#[test]
fn openfga_unknown_type_is_refused_naming_the_parameter_at_the_type() {
    let src = "model\n  schema 1.1\ntype user\n  relations\n    define r: [user with c]\n\
               condition c(x: int, y: strng) {\n  x == 1\n}\n";
    let (rule, position, message) = invalid(Schema::parse_openfga(src));
    assert_eq!(rule, "unknown-caveat-parameter-type");
    assert_eq!(
        position,
        Position {
            line: 6,
            column: 24
        }
    );
    assert!(
        message.contains("`c`") && message.contains("`y`"),
        "{message}"
    );
}

fn openfga_json(parameters: &str) -> String {
    format!(
        r#"{{"schema_version": "1.1",
  "type_definitions": [{{"type": "user", "relations": {{"r": {{"this": {{}}}}}},
    "metadata": {{"relations": {{"r": {{"directly_related_user_types":
      [{{"type": "user", "condition": "c"}}]}}}}}}}}],
  "conditions": {{"c": {{"name": "c", "expression": "x == x", "parameters": {parameters}}}}}}}"#
    )
}

#[test]
fn openfga_json_types_are_read_with_their_generic_types() {
    let (rule, _, message) = invalid(Schema::parse_openfga_json(&openfga_json(
        r#"{"x": {"type_name": "TYPE_NAME_INTEGER"}}"#,
    )));
    assert_eq!(rule, "unknown-caveat-parameter-type");
    assert!(
        message.contains("`x`") && message.contains("TYPE_NAME_INTEGER"),
        "{message}"
    );
    let (rule, ..) = invalid(Schema::parse_openfga_json(&openfga_json(
        r#"{"x": {"type_name": "TYPE_NAME_LIST"}}"#,
    )));
    assert_eq!(rule, "unknown-caveat-parameter-type");
    #[cfg(feature = "caveats")]
    {
        let src = openfga_json(
            r#"{"x": {"type_name": "TYPE_NAME_MAP",
                      "generic_types": [{"type_name": "TYPE_NAME_LIST",
                                         "generic_types": [{"type_name": "TYPE_NAME_IPADDRESS"}]}]}}"#,
        );
        let schema = Schema::parse_openfga_json(&src).unwrap();
        let ty = &schema.caveats()[0].parameters()[0].1;
        assert_eq!(ty.to_string(), "map<list<ipaddress>>");
        assert_eq!(ty.openfga_type_name(), "TYPE_NAME_MAP");
    }
}

/// Every type a valid schema can write, in both DSLs, parses to a typed value whose display is
/// the text as written.
#[cfg(feature = "caveats")]
#[test]
fn valid_types_print_back_byte_identical() {
    let scalars = [
        "any",
        "bool",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "duration",
        "timestamp",
        "ipaddress",
    ];
    let mut spicedb: Vec<String> = scalars.iter().map(|s| (*s).to_owned()).collect();
    for s in scalars {
        spicedb.push(format!("list<{s}>"));
        spicedb.push(format!("map<{s}>"));
    }
    spicedb.push("map<list<map<int>>>".to_owned());
    let params: Vec<String> = (0..spicedb.len())
        .map(|i| format!("p{i} {}", spicedb[i]))
        .collect();
    let src = format!(
        "caveat cav({}) {{ p2 == 1 }}\ndefinition user {{}}\ndefinition doc {{ relation viewer: user with cav }}",
        params.join(", ")
    );
    let schema = Schema::parse_spicedb(&src).unwrap();
    let printed: Vec<String> = schema.caveats()[0]
        .parameters()
        .iter()
        .map(|(_, t)| t.to_string())
        .collect();
    assert_eq!(printed, spicedb);

    // OpenFGA: generics one level deep.
    let fga = &spicedb[..spicedb.len() - 1];
    let params: Vec<String> = (0..fga.len())
        .map(|i| format!("p{i}: {}", fga[i]))
        .collect();
    let src = format!(
        "model\n  schema 1.1\ntype user\n  relations\n    define r: [user with cav]\n\
         condition cav({}) {{\n  p2 == 1\n}}\n",
        params.join(", ")
    );
    let schema = Schema::parse_openfga(&src).unwrap();
    let printed: Vec<String> = schema.caveats()[0]
        .parameters()
        .iter()
        .map(|(_, t)| t.to_string())
        .collect();
    assert_eq!(printed, fga);
    assert_eq!(
        schema.caveats()[0].parameters()[2].1,
        psm_rebac::schema::CaveatType::Int,
        "p2 is the third type written"
    );
}
