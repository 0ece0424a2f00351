//! The workspace's member packages, read from `cargo metadata` (std only, no JSON library).

use crate::cmd::{self, Result};

/// A workspace member, as far as xtask needs to know it.
#[derive(Debug)]
pub struct Package {
    pub name: String,
    /// Whether any target runs doctests (a library; binaries, tests and benches do not).
    pub has_doctests: bool,
}

/// The members of the workspace.
pub fn packages() -> Result<Vec<Package>> {
    let mut metadata = cmd::cargo()?;
    metadata.args(["metadata", "--no-deps", "--format-version", "1"]);
    parse(&cmd::capture(&mut metadata)?)
}

/// Whether the workspace has a member called `name`.
pub fn has_package(name: &str) -> Result<bool> {
    Ok(packages()?.iter().any(|package| package.name == name))
}

fn parse(json: &str) -> Result<Vec<Package>> {
    // With --no-deps, "packages" lists the members only. Cargo writes each as
    // {"name":"N","version":…,"dependencies":[…],"targets":[…],…}; a dependency entry has
    // "source" after its name and a target starts with "kind", and quotes inside strings are
    // escaped, so `{"name":"N","version":` marks exactly where each package starts, and all up
    // to the next such mark (its targets included) belongs to it.
    let mut starts = Vec::new();
    for (at, mark) in json.match_indices(r#"{"name":""#) {
        let rest = &json[at + mark.len()..];
        if let Some(end) = rest.find('"')
            && rest[end..].starts_with(r#"","version":"#)
        {
            starts.push((at, rest[..end].to_owned()));
        }
    }
    if starts.is_empty() {
        return Err(
            "found no packages in the output of `cargo metadata` (did its format change?)".into(),
        );
    }
    let ends = starts.iter().skip(1).map(|(at, _)| *at).chain([json.len()]);
    Ok(starts
        .iter()
        .zip(ends)
        .map(|((start, name), end)| Package {
            name: name.clone(),
            has_doctests: json[*start..end].contains(r#""doctest":true"#),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_members_and_their_doctests_but_not_dependencies() {
        let json = r#"{"packages":[{"name":"psm-core","version":"0.1.0","description":"a {\"name\":\"fake\",\"version\":1}","dependencies":[{"name":"psm-cli","source":null,"req":"=0.1.0","kind":null}],"targets":[{"kind":["lib"],"crate_types":["lib"],"name":"psm_core","doctest":true,"test":true}]},{"name":"psm-cli","version":"0.1.0","dependencies":[],"targets":[{"kind":["bin"],"crate_types":["bin"],"name":"psm","doctest":false,"test":true}]}],"workspace_members":[]}"#;
        let packages = parse(json).unwrap();
        let found: Vec<(&str, bool)> = packages
            .iter()
            .map(|package| (package.name.as_str(), package.has_doctests))
            .collect();
        assert_eq!(found, [("psm-core", true), ("psm-cli", false)]);
    }

    #[test]
    fn fails_loudly_when_nothing_is_recognised() {
        assert!(parse(r#"{"packages":[]}"#).is_err());
    }
}
