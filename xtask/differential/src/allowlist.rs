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
pub static QUIRKS: [Quirk; 8] = [
    Quirk {
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
                    let usersets: Vec<&String> =
                        engine.iter().filter(|w| w.contains('#')).collect();
                    usersets.len() < engine.len() && usersets.iter().copied().eq(psm.iter())
                }
                _ => false,
            }
        },
    },
    Quirk {
        id: "openfga-server-accepts-unused-condition",
        reason: "OpenFGA's language rules (its DSL semantic validation cases, which psm's \
                 conformance suite runs: \"`c` condition is not used in the model\") reject a \
                 model declaring a condition no relation uses; OpenFGA's server, and so \
                 `fga model test` and `fga model validate` (CLI 0.8.2, OpenFGA 1.22), accept it. \
                 psm follows the language rules. Excused only when psm's one complaint is the \
                 unused condition.",
        matches: |c| {
            c.flavor == Flavor::OpenFga
                && c.engine.words().is_some()
                && matches!(c.psm, Answer::Error(e) if e.starts_with("model:") && e.contains("unused-condition"))
        },
    },
    Quirk {
        id: "spicedb-lookup-resources-duplicates",
        reason: "SpiceDB's LookupResources may stream the same resource more than once, once per \
                 path (its API documents that results can repeat), so one id can come both as \
                 CONDITIONAL and as HAS; psm reports each id once, with HAS when any path grants \
                 it. Excused when SpiceDB's answer, each id kept once with its best \
                 permissionship, equals psm's.",
        matches: |c| {
            if c.flavor != Flavor::SpiceDb || !matches!(c.query, Query::Objects { .. }) {
                return false;
            }
            let (Some(engine), Some(psm)) = (c.engine.words(), c.psm.words()) else {
                return false;
            };
            let mut best: std::collections::BTreeMap<&str, &str> =
                std::collections::BTreeMap::new();
            for w in engine {
                let (id, p) = w.rsplit_once(':').unwrap_or((w.as_str(), ""));
                let e = best.entry(id).or_insert(p);
                if p == "has" {
                    *e = p;
                }
            }
            let deduped: Vec<String> = best.iter().map(|(id, p)| format!("{id}:{p}")).collect();
            deduped.len() < engine.len() && deduped.iter().eq(psm.iter())
        },
    },
    Quirk {
        id: crate::confirm::LIST_VS_CHECK,
        reason: "OpenFGA 1.22's ListObjects and ListUsers sometimes contradict its own Check on \
                 the same data (seen with exclusion under usersets and arrows: ListUsers returns \
                 a user its Check denies, or leaves out one its Check grants). Excused only when \
                 the harness asks OpenFGA's Check about every item only one side listed and each \
                 answer agrees with psm's list; also when it does so on the round without the \
                 relationships whose condition is false and psm's list is the same there (the \
                 false-condition quirk hiding a grant from that Check at the same time).",
        // Needs fresh answers from the engine: confirmed in confirm.rs, never by pattern.
        matches: |_| false,
    },
    Quirk {
        id: crate::confirm::UNEVALUABLE,
        reason: "Where a relationship's condition cannot be evaluated under the request's \
                 context (a missing parameter), OpenFGA 1.22's answer depends on the order in \
                 which its evaluation strategies meet that relationship: it fails, skips the \
                 path, or fails on a relationship no path from the object reaches, and the same \
                 request on the same data answered true once and false four times in five runs. \
                 Excused only when both engines agree once those relationships are removed and \
                 psm's answer is the missing-context error or that agreed answer.",
        matches: |_| false,
    },
    Quirk {
        id: crate::confirm::FALSE_CONDITION,
        reason: "A relationship whose condition is false under the request's context counts as \
                 absent in both engines' documentation, yet OpenFGA 1.22 sometimes answers \
                 differently with it present: `team:t4#rel0@user:u2` with a false `flag_set` \
                 beside `team:t4#rel0@user:*` makes `rel0 from parent` false for u2, although \
                 the wildcard grants it. Excused only when both engines agree once such \
                 relationships are removed and psm's answer is that agreed answer.",
        matches: |_| false,
    },
    Quirk {
        id: crate::confirm::RECURSIVE_CHECK,
        reason: "OpenFGA 1.22's Check of a relation that allows a userset of itself and one of \
                 another relation of its type (`rel3: [user, folder#rel3, folder#rel2]`) follows \
                 `folder:f0#rel2` as if it were `folder:f0#rel3`: with \
                 `folder:f1#rel3@folder:f0#rel2`, `folder:f0#rel3@user:u5` and `rel2: [team]` it \
                 grants `folder:f1#rel3` to u5, while its own ListObjects and ListUsers leave \
                 f1 out. Excused only in a model with such a relation (the query may reach it \
                 through rewrites and arrows), when OpenFGA's Check grants what psm denies and \
                 OpenFGA's ListObjects for that subject and relation, asked again, does not \
                 list the object (nor does psm's).",
        matches: |_| false,
    },
    Quirk {
        id: crate::confirm::SPICEDB_LIST_VS_CHECK,
        reason: "SpiceDB 1.54's LookupResources sometimes contradicts its own CheckPermission on \
                 the same data: for `rel0 - perm0` with `perm0 = rel0` and a caveated rel0 its \
                 CheckPermission answers CONDITIONAL while LookupResources leaves the resource \
                 out. Excused only when the harness asks SpiceDB's CheckPermission about every \
                 resource only one side listed and each answer is psm's permissionship for it.",
        matches: |_| false,
    },
];

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

    #[test]
    fn unused_condition_quirk_excuses_only_that_model_rejection() {
        let q = list_users(None);
        let engine = Answer::value(vec!["user:u1".into()]);
        let judge = |psm: &str, flavor| {
            excuse(&Case {
                flavor,
                query: &q,
                engine: &engine,
                psm: &Answer::Error(psm.into()),
            })
            .map(|q| q.id)
        };
        let unused = "model: schema line 9, column 1: unused-condition: `c` condition is not used";
        assert_eq!(
            judge(unused, Flavor::OpenFga),
            Some("openfga-server-accepts-unused-condition")
        );
        assert_eq!(judge(unused, Flavor::SpiceDb), None);
        assert_eq!(
            judge("missing context parameters: x", Flavor::OpenFga),
            None
        );
    }

    #[test]
    fn duplicate_lookup_resources_are_excused_only_when_they_collapse_to_psm() {
        let q = Query::Objects {
            ty: "doc".into(),
            relation: "view".into(),
            subject: crate::round::Subject {
                ty: "user".into(),
                id: "u1".into(),
                relation: None,
            },
            context: Map::new(),
        };
        let engine = Answer::value(vec!["d1:cond".into(), "d1:has".into(), "d2:cond".into()]);
        let judge = |psm: Vec<String>| {
            excuse(&Case {
                flavor: Flavor::SpiceDb,
                query: &q,
                engine: &engine,
                psm: &Answer::value(psm),
            })
            .is_some()
        };
        assert!(judge(vec!["d1:has".into(), "d2:cond".into()]));
        assert!(!judge(vec!["d1:cond".into(), "d2:cond".into()]));
        assert!(!judge(vec!["d1:has".into()]));
    }
}
