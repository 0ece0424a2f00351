//! Known quirks of the upstream engines that psm deliberately does not copy. A disagreement is
//! excused only when one of these matches it; everything else fails the run. Each entry says
//! why (docs/src/development.md lists them too). psm's own bugs never belong here.

use crate::Flavor;
use crate::answer::Answer;
use crate::round::Query;

/// A disagreement to judge: the query, the real engine's answer and psm's.
#[derive(Debug)]
pub struct Case<'a> {
    /// Which engine.
    pub flavor: Flavor,
    /// The query.
    pub query: &'a Query,
    /// The real engine's answer.
    pub engine: &'a Answer,
    /// psm's answer.
    pub psm: &'a Answer,
}

/// One known upstream quirk.
#[derive(Debug)]
pub struct Quirk {
    /// A short stable name, printed with every excused disagreement.
    pub id: &'static str,
    /// Why it is the engine's quirk and not psm's bug.
    pub reason: &'static str,
    matches: fn(&Case<'_>) -> bool,
}

/// Every known quirk.
pub static QUIRKS: [Quirk; 1] = [Quirk {
    id: "openfga-list-users-userset-filter-plain-objects",
    reason: "OpenFGA's ListUsers with a userset filter (`team#member`) also returns plain \
             objects of that type (`team:t1`), which are not usersets; psm returns only the \
             usersets the filter asks for. Excused when OpenFGA's answer without the plain \
             objects equals psm's.",
    matches: |c| {
        let Query::Subjects {
            subject_relation: Some(_),
            ..
        } = c.query
        else {
            return false;
        };
        match (c.flavor, c.engine.words(), c.psm.words()) {
            (Flavor::OpenFga, Some(engine), Some(psm)) => {
                let usersets: Vec<&String> = engine.iter().filter(|w| w.contains('#')).collect();
                usersets.len() < engine.len() && usersets.iter().copied().eq(psm.iter())
            }
            _ => false,
        }
    },
}];

/// The quirk that excuses this disagreement, if any.
pub fn excuse(case: &Case<'_>) -> Option<&'static Quirk> {
    QUIRKS.iter().find(|q| (q.matches)(case))
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::{Case, excuse};
    use crate::Flavor;
    use crate::answer::Answer;
    use crate::round::{Obj, Query};

    fn list_users(relation: Option<&str>) -> Query {
        Query::Subjects {
            resource: Obj {
                ty: "doc".into(),
                id: "d1".into(),
            },
            relation: "perm0".into(),
            subject_type: "team".into(),
            subject_relation: relation.map(str::to_owned),
            context: Map::new(),
        }
    }

    #[test]
    fn userset_filter_quirk_excuses_only_extra_plain_objects() {
        let q = list_users(Some("rel0"));
        let engine = Answer::value(vec!["team:t1".into(), "team:t2#rel0".into()]);
        let excused = |psm: &Answer, flavor| {
            excuse(&Case {
                flavor,
                query: &q,
                engine: &engine,
                psm,
            })
            .is_some()
        };
        let psm = Answer::value(vec!["team:t2#rel0".into()]);
        assert!(excused(&psm, Flavor::OpenFga));
        assert!(!excused(&psm, Flavor::SpiceDb));
        assert!(!excused(&Answer::value(vec![]), Flavor::OpenFga));
        let plain = list_users(None);
        let case = Case {
            flavor: Flavor::OpenFga,
            query: &plain,
            engine: &engine,
            psm: &psm,
        };
        assert!(excuse(&case).is_none());
    }
}
