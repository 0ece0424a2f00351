//! Second looks at disagreements that only fresh evidence can excuse: each candidate is asked
//! again, on a round built for it, of both the real engine and psm. These quirks of OpenFGA 1.22
//! are confirmed this way (their reasons are in the allowlist), and the first for SpiceDB's
//! LookupResources too:
//! - a ListObjects / ListUsers answer that OpenFGA's own Check contradicts, item by item, where
//!   psm's list agrees with that Check;
//! - an answer that depends on relationships whose condition cannot be evaluated under the
//!   request's context (a missing parameter): OpenFGA meets, fails on or skips them in an order
//!   that changes with its evaluation strategy, and from run to run on identical input. Excused
//!   only when both engines agree once those relationships are removed, and psm's own answer is
//!   either the missing-context error or that agreed answer (an answer that holds whatever the
//!   conditions evaluate to);
//! - the same with relationships whose condition is certainly false.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::Error;
use crate::answer::Answer;
use crate::engines::{Disagreement, Setup};
use crate::model::{AllowedKind, CONDITIONS};
use crate::round::{Obj, Query, Round, Subject, Tuple};

/// The quirk confirmed when a list contradicts OpenFGA's own Check.
pub const LIST_VS_CHECK: &str = "openfga-list-contradicts-its-check";
/// The quirk confirmed when SpiceDB's LookupResources contradicts its own CheckPermission.
pub const SPICEDB_LIST_VS_CHECK: &str = "spicedb-lookup-resources-contradicts-its-check";
/// The quirk confirmed when an unevaluable condition is the whole difference.
pub const UNEVALUABLE: &str = "openfga-unevaluable-condition-order";
/// The quirk confirmed when relationships whose condition is false are the whole difference.
pub const FALSE_CONDITION: &str = "openfga-false-condition-changes-answer";
/// The quirk confirmed when OpenFGA's Check of a recursive relation grants what its own
/// ListObjects does not list.
pub const RECURSIVE_CHECK: &str = "openfga-recursive-check-contradicts-its-list";

/// Confirmation rounds run side by side.
const BATCH: usize = 4;

/// One disagreement a confirmed quirk excuses: the quirk, the psm store, the query kind.
pub type Excused = (&'static str, &'static str, &'static str);

/// Splits unexplained disagreements into those still unexplained and those a quirk the fresh
/// answers confirm excuses, asking the engines again until `deadline`.
pub async fn recheck(
    setup: &Setup,
    disagreements: Vec<Disagreement>,
    deadline: Instant,
) -> Result<(Vec<Disagreement>, Vec<Excused>), Error> {
    let mut excused: Vec<Excused> = Vec::new();
    let mut unexplained = Vec::new();
    // One look per query and answers: memory and SQLite mostly disagree alike on the same
    // round, and then the look judged on one store's fresh answers settles both.
    let mut verdicts: BTreeMap<String, Option<&'static str>> = BTreeMap::new();
    // Each disagreement with the plans that could confirm a quirk (none for a repeat).
    let mut pending: Vec<(String, Disagreement, Vec<Plan>)> = Vec::new();
    for d in disagreements {
        let key = format!(
            "{}|{}|{}",
            crate::openfga::store_file(&d.single(), None),
            d.engine,
            d.psm
        );
        if verdicts.contains_key(&key) || pending.iter().any(|(k, ..)| *k == key) {
            pending.push((key, d, Vec::new()));
            continue;
        }
        let plans = plans(&d);
        pending.push((key, d, plans));
    }
    // One call holds one engine's disagreements.
    let flavor = pending
        .first()
        .map_or(crate::Flavor::OpenFga, |(_, d, _)| d.flavor);
    // Every (disagreement, plan) to ask; a disagreement is excused by the first plan that
    // confirms a quirk.
    let mut todo: Vec<(usize, usize)> = pending
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, plans))| (0..plans.len()).map(move |p| (i, p)))
        .collect();
    while Instant::now() < deadline {
        // Plans of a query some earlier plan confirmed are not asked.
        todo.retain(|&(i, _)| verdicts.get(&pending[i].0).copied().flatten().is_none());
        if todo.is_empty() {
            break;
        }
        let batch: Vec<(usize, usize)> = todo.drain(..todo.len().min(BATCH)).collect();
        let rounds: Vec<Round> = batch
            .iter()
            .map(|&(i, p)| pending[i].2[p].round().clone())
            .collect();
        let (theirs, ours) = setup.run(flavor, &rounds, "confirm").await?;
        for (n, &(i, p)) in batch.iter().enumerate() {
            let (key, d, plans) = &pending[i];
            let store = setup.stores.iter().position(|s| s.name() == d.store);
            let engine = theirs.get(n).and_then(|r| r.first());
            let mine = store
                .and_then(|s| ours.get(s))
                .and_then(|a| a.get(n))
                .and_then(|r| r.first());
            let verdict = match (engine, mine) {
                (Some(engine), Some(mine)) => judge(d, &plans[p], engine, mine),
                _ => None,
            };
            let entry = verdicts.entry(key.clone()).or_default();
            *entry = entry.or(verdict);
        }
    }
    todo.retain(|&(i, _)| verdicts.get(&pending[i].0).copied().flatten().is_none());
    if !todo.is_empty() {
        println!(
            "second looks: {} not asked before the deadline (their disagreements stay unexplained)",
            todo.len()
        );
    }
    for (key, d, _) in pending {
        match verdicts.get(&key).copied().flatten() {
            Some(quirk) => excused.push((quirk, d.store, d.kind())),
            None => unexplained.push(d),
        }
    }
    Ok((unexplained, excused))
}

/// One way to ask again about a disagreement.
#[derive(Debug)]
enum Plan {
    /// The list query, then a check of every item only one engine listed.
    /// With `reduced`, on the round without relationships whose condition is false (psm's list
    /// must stay what it was): OpenFGA's two quirks at once, the false condition hiding a
    /// grant from its Check and its list contradicting that Check (seed 6536666421241245448).
    Checks {
        round: Round,
        items: Vec<String>,
        reduced: bool,
    },
    /// The query without the relationships whose condition cannot be evaluated (`unevaluable`)
    /// or is false under the request's context.
    Without { round: Round, unevaluable: bool },
    /// A check the engine granted and psm denied, asked again as the check (first) and as
    /// ListObjects of the check's type and relation for its subject (second).
    ListOf { round: Round, object: String },
}

impl Plan {
    fn round(&self) -> &Round {
        match self {
            Plan::Checks { round, .. }
            | Plan::Without { round, .. }
            | Plan::ListOf { round, .. } => round,
        }
    }
}

/// The plans that could confirm a quirk behind `d`: for two lists, the engine's own checks of
/// the items only one side listed, and the query without relationships whose condition is
/// unevaluable or false; for anything else, the latter alone. None when nothing can excuse it.
fn plans(d: &Disagreement) -> Vec<Plan> {
    let single = d.single();
    let Some(query) = single
        .tests
        .first()
        .and_then(|t| t.queries.first())
        .cloned()
    else {
        return Vec::new();
    };
    let without = plan_without(d, single.clone(), &query);
    let list_of = plan_list_of(d, single.clone(), &query);
    let checks = match (d.engine.words(), d.psm.words()) {
        (Some(engine), Some(psm)) if !matches!(query, Query::Check { .. }) => {
            plan_checks(d, single, &query, engine, psm)
        }
        _ => None,
    };
    // The engine's checks again, on the round without the false relationships.
    let reduced_checks = match (&without, d.engine.words(), d.psm.words()) {
        (Some(Plan::Without { round, .. }), Some(engine), Some(psm)) => {
            match plan_checks(d, round.clone(), &query, engine, psm) {
                Some(Plan::Checks { round, items, .. }) => Some(Plan::Checks {
                    round,
                    items,
                    reduced: true,
                }),
                _ => None,
            }
        }
        _ => None,
    };
    checks
        .into_iter()
        .chain(without)
        .chain(reduced_checks)
        .chain(list_of)
        .collect()
}

/// For an OpenFGA check the engine grants and psm denies in a model with a recursive relation
/// (one that allows a userset of itself, `folder#rel3`, and one of another relation of its
/// type, `folder#rel2`):
/// the check again, then OpenFGA's ListObjects for the same subject, type and relation. OpenFGA
/// 1.22's Check follows `folder:f0#rel2` on such a relation as if it were `folder:f0#rel3`
/// (it grants `folder:f1#rel3` to u5 from `folder:f1#rel3@folder:f0#rel2` and
/// `folder:f0#rel3@user:u5`, with `rel2: [team]`), while its ListObjects and ListUsers do not.
fn plan_list_of(d: &Disagreement, single: Round, query: &Query) -> Option<Plan> {
    let Query::Check {
        resource,
        relation,
        subject,
        context,
    } = query
    else {
        return None;
    };
    let granted_denied = d.engine == Answer::word("true") && d.psm == Answer::word("false");
    // Some relation of the model has the shape (the query may reach it through rewrites and
    // arrows: seed 12493178158467759429 asks `perm2 = perm1`, `perm1 = rel6`).
    let recursive = single.model.types.iter().any(|ty| {
        ty.relations.iter().any(|rel| {
            let usersets = |own: bool| {
                rel.allowed().iter().any(|a| {
                    a.ty == ty.name
                        && matches!(&a.kind, AllowedKind::Userset(r) if (*r == rel.name) == own)
                })
            };
            usersets(true) && usersets(false)
        })
    });
    if d.flavor != crate::Flavor::OpenFga || !granted_denied || !recursive {
        return None;
    }
    let mut round = single;
    let list = Query::Objects {
        ty: resource.ty.clone(),
        relation: relation.clone(),
        subject: subject.clone(),
        context: context.clone(),
    };
    round.tests.first_mut()?.queries.push(list);
    Some(Plan::ListOf {
        round,
        object: format!("{}:{}", resource.ty, resource.id),
    })
}

/// The list query, then a check of every item only one side listed.
fn plan_checks(
    d: &Disagreement,
    single: Round,
    query: &Query,
    engine: &[String],
    psm: &[String],
) -> Option<Plan> {
    let mut items: Vec<String> = engine
        .iter()
        .filter(|w| !psm.contains(w))
        .chain(psm.iter().filter(|w| !engine.contains(w)))
        .cloned()
        .collect();
    if d.flavor == crate::Flavor::SpiceDb {
        // `id:permissionship` words of LookupResources; subject lookups (wildcards with
        // exclusions) are not confirmed this way.
        if !matches!(query, Query::Objects { .. }) {
            return None;
        }
        let id = |w: &String| {
            w.rsplit_once(':')
                .map_or(w.clone(), |(id, _)| id.to_owned())
        };
        let mut ids: Vec<String> = items.iter().map(id).collect();
        ids.sort();
        ids.dedup();
        let Query::Objects { ty, .. } = query else {
            return None;
        };
        items = ids.iter().map(|i| format!("{ty}:{i}")).collect();
    }
    let checks: Vec<Query> = items
        .iter()
        .map(|i| item_check(query, i))
        .collect::<Option<_>>()?;
    if checks.is_empty() {
        return None;
    }
    let mut round = single;
    if let Some(t) = round.tests.first_mut() {
        t.queries.extend(checks);
    }
    Some(Plan::Checks {
        round,
        items,
        reduced: false,
    })
}

/// The query without the relationships whose condition is unevaluable or false (OpenFGA only:
/// SpiceDB's answers are only checked against its own CheckPermission). For two lists that
/// differ, only the relationships whose condition is false go: OpenFGA's Check then often
/// contradicts its own list too (its `rel0 from parent` is false for u5 with a false
/// `team:t4#rel0@user:u5` beside a true `team:t4#rel0@user:*`, although its Check of
/// `team:t4#rel0` grants u5), and nothing else is excused that way.
fn plan_without(d: &Disagreement, single: Round, query: &Query) -> Option<Plan> {
    if d.flavor != crate::Flavor::OpenFga {
        return None;
    }
    let context = query.context();
    let two_lists = !matches!(query, Query::Check { .. })
        && d.engine.words().is_some()
        && d.psm.words().is_some();
    let unevaluable = |t: &Tuple| !two_lists && !missing(t, context).is_empty();
    let removable = |t: &Tuple| unevaluable(t) || condition_false(t, context);
    let all = || {
        single
            .tuples
            .iter()
            .chain(single.tests.iter().flat_map(|t| &t.contextual))
    };
    if !all().any(removable) {
        return None;
    }
    let unevaluable = all().any(unevaluable);
    let mut round = single;
    round.tuples.retain(|t| !removable(t));
    for t in &mut round.tests {
        t.contextual.retain(|t| !removable(t));
    }
    Some(Plan::Without { round, unevaluable })
}

/// The parameters `t`'s condition needs that neither its stored context nor the request's
/// context supplies.
pub fn missing(t: &Tuple, request: &Map<String, Value>) -> Vec<&'static str> {
    let Some(c) = &t.caveat else {
        return Vec::new();
    };
    CONDITIONS
        .iter()
        .filter(|def| def.name == c.name)
        .flat_map(|def| def.params.iter().map(|(p, _)| *p))
        .filter(|p| !c.context.contains_key(*p) && !request.contains_key(*p))
        .collect()
}

/// Whether `t`'s condition is certainly false under the request's context: every parameter
/// supplied, and false whichever of the stored and the request's context wins for a parameter
/// both give (the generator's three conditions, evaluated here as CEL would).
pub fn condition_false(t: &Tuple, request: &Map<String, Value>) -> bool {
    let Some(c) = &t.caveat else {
        return false;
    };
    if !missing(t, request).is_empty() {
        return false;
    }
    let merged = |stored_wins: bool| {
        let (low, high) = if stored_wins {
            (request, &c.context)
        } else {
            (&c.context, request)
        };
        let mut m = low.clone();
        m.extend(high.iter().map(|(k, v)| (k.clone(), v.clone())));
        m
    };
    [true, false]
        .into_iter()
        .all(|stored_wins| evaluate(&c.name, &merged(stored_wins)) == Some(false))
}

/// One of the generator's conditions on complete parameters; `None` when it cannot be
/// evaluated (a malformed value, a key the map lacks).
fn evaluate(condition: &str, p: &Map<String, Value>) -> Option<bool> {
    match condition {
        "below_limit" => Some(p.get("x")?.as_i64()? < p.get("limit")?.as_i64()?),
        "in_network" => {
            let addr: std::net::Ipv4Addr = p.get("addr")?.as_str()?.parse().ok()?;
            let (net, bits) = p.get("cidr")?.as_str()?.split_once('/')?;
            let net: std::net::Ipv4Addr = net.parse().ok()?;
            let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            Some(u32::from(addr) & mask == u32::from(net) & mask)
        }
        "flag_set" => p.get("flags")?.get(p.get("key")?.as_str()?)?.as_bool(),
        _ => None,
    }
}

/// The check that asks whether a list query's item belongs: the object of a ListObjects
/// answer, the user of a ListUsers answer.
fn item_check(q: &Query, item: &str) -> Option<Query> {
    match q {
        Query::Objects {
            ty,
            relation,
            subject,
            context,
        } => {
            let (t, id) = item.split_once(':')?;
            (t == ty).then(|| Query::Check {
                resource: Obj {
                    ty: ty.clone(),
                    id: id.to_owned(),
                },
                relation: relation.clone(),
                subject: subject.clone(),
                context: context.clone(),
            })
        }
        Query::Subjects {
            resource,
            relation,
            context,
            ..
        } => {
            let (t, rest) = item.split_once(':')?;
            let (id, rel) = match rest.split_once('#') {
                Some((id, r)) => (id, Some(r.to_owned())),
                None => (rest, None),
            };
            Some(Query::Check {
                resource: resource.clone(),
                relation: relation.clone(),
                subject: Subject {
                    ty: t.to_owned(),
                    id: id.to_owned(),
                    relation: rel,
                },
                context: context.clone(),
            })
        }
        Query::Check { .. } => None,
    }
}

/// The quirk the fresh answers confirm, if any.
fn judge(
    d: &Disagreement,
    plan: &Plan,
    engine: &[Answer],
    mine: &[Answer],
) -> Option<&'static str> {
    match plan {
        Plan::Checks { items, reduced, .. } => {
            let psm = d.psm.words()?;
            if *reduced && !mine.first()?.agrees(&d.psm) {
                return None;
            }
            let checks = engine.get(1..)?;
            // What psm's list says of the item, as its check would answer it.
            let expected = |item: &String| -> String {
                if d.flavor == crate::Flavor::OpenFga {
                    let word = if psm.contains(item) { "true" } else { "false" };
                    return word.to_owned();
                }
                let id = item.split_once(':').map_or(item.as_str(), |(_, id)| id);
                psm.iter()
                    .find_map(|w| {
                        w.rsplit_once(':')
                            .filter(|(i, _)| *i == id)
                            .map(|(_, p)| p.to_owned())
                    })
                    .unwrap_or_else(|| "no".to_owned())
            };
            let ours = mine.get(1..)?;
            // A concrete subject psm leaves to a wildcard it lists: its check decides.
            let wildcard_covers = |item: &String| {
                d.flavor == crate::Flavor::OpenFga
                    && !item.contains('#')
                    && item
                        .split_once(':')
                        .is_some_and(|(ty, _)| psm.contains(&format!("{ty}:*")))
            };
            let consistent = items.len() == checks.len()
                && items.len() == ours.len()
                && items
                    .iter()
                    .zip(checks)
                    .zip(ours)
                    .all(|((item, check), mine)| {
                        let listed = Answer::word(&expected(item));
                        check.agrees(mine) && (mine.agrees(&listed) || wildcard_covers(item))
                    });
            let quirk = if d.flavor == crate::Flavor::OpenFga {
                LIST_VS_CHECK
            } else {
                SPICEDB_LIST_VS_CHECK
            };
            consistent.then_some(quirk)
        }
        Plan::ListOf { object, .. } => {
            // The engine grants it again, yet neither its list nor psm's holds the object.
            let (again, list) = (engine.first()?, engine.get(1)?.words()?);
            let ours = mine.get(1)?.words()?;
            let confirmed = again.agrees(&d.engine)
                && mine.first()?.agrees(&d.psm)
                && !list.contains(object)
                && !ours.contains(object);
            confirmed.then_some(RECURSIVE_CHECK)
        }
        Plan::Without { unevaluable, .. } => {
            let (engine, mine) = (engine.first()?, mine.first()?);
            let missing_context =
                matches!(&d.psm, Answer::Error(e) if e.contains("missing context"));
            let psm_kept_to_it = (*unevaluable && missing_context) || d.psm.agrees(mine);
            let quirk = if *unevaluable {
                UNEVALUABLE
            } else {
                FALSE_CONDITION
            };
            (engine.agrees(mine) && matches!(mine, Answer::Value(_)) && psm_kept_to_it)
                .then_some(quirk)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::{
        FALSE_CONDITION, LIST_VS_CHECK, Plan, UNEVALUABLE, condition_false, judge, missing, plans,
    };
    use crate::Flavor;
    use crate::answer::Answer;
    use crate::engines::Disagreement;
    use crate::model::{Allowed, AllowedKind, Def, Model, RelationDef, TypeDef};
    use crate::rng::Rng;
    use crate::round::{Conditioned, Obj, Query, Round, Subject, Test, Tuple};

    /// The first plan for `d`.
    fn plan(d: &Disagreement) -> Plan {
        let mut all = plans(d);
        assert!(!all.is_empty(), "no plan for {d:?}");
        all.swap_remove(0)
    }

    fn tuple(caveat: Option<(&str, serde_json::Value)>) -> Tuple {
        Tuple {
            resource: Obj {
                ty: "team".into(),
                id: "t1".into(),
            },
            relation: "rel0".into(),
            subject: Subject {
                ty: "user".into(),
                id: "u1".into(),
                relation: None,
            },
            caveat: caveat.map(|(name, ctx)| Conditioned {
                name: name.into(),
                context: ctx.as_object().cloned().unwrap_or_default(),
            }),
        }
    }

    fn disagreement(query: Query, tuples: Vec<Tuple>, engine: Answer, psm: Answer) -> Disagreement {
        Disagreement {
            flavor: Flavor::OpenFga,
            round: Round {
                model: Model::generate(&mut Rng::new(1), false),
                tuples,
                tests: vec![Test {
                    contextual: Vec::new(),
                    queries: vec![query],
                }],
            },
            test: 0,
            query: 0,
            store: "memory",
            engine,
            psm,
        }
    }

    fn check(context: serde_json::Value) -> Query {
        Query::Check {
            resource: Obj {
                ty: "team".into(),
                id: "t1".into(),
            },
            relation: "rel0".into(),
            subject: Subject {
                ty: "user".into(),
                id: "u1".into(),
                relation: None,
            },
            context: context.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn a_parameter_is_missing_only_when_neither_context_has_it() {
        let t = tuple(Some(("below_limit", json!({"limit": 3}))));
        assert_eq!(missing(&t, &Map::new()), vec!["x"]);
        let request = json!({"x": 1});
        assert!(missing(&t, request.as_object().unwrap_or(&Map::new())).is_empty());
        assert!(missing(&tuple(None), &Map::new()).is_empty());
    }

    #[test]
    fn unevaluable_conditions_excuse_only_when_removing_them_settles_it() {
        let conditioned = tuple(Some(("below_limit", json!({"limit": 3}))));
        let d = disagreement(
            check(json!({})),
            vec![conditioned.clone()],
            Answer::Error("OpenFGA error {}".into()),
            Answer::word("false"),
        );
        let p = plan(&d);
        let Plan::Without { round, .. } = &p else {
            panic!("{p:?}");
        };
        assert!(round.tuples.is_empty(), "the unevaluable relationship goes");
        let f = || vec![Answer::word("false")];
        assert_eq!(judge(&d, &p, &f(), &f()), Some(UNEVALUABLE));
        // Still disagreeing without it: not this quirk.
        assert_eq!(judge(&d, &p, &[Answer::word("true")], &f()), None);
        // psm answering something else than the settled answer: not excused.
        let d2 = Disagreement {
            psm: Answer::word("true"),
            ..d.clone()
        };
        assert_eq!(judge(&d2, &p, &f(), &f()), None);
        // With the parameter in the request nothing is unevaluable: no such plan.
        let d3 = disagreement(
            check(json!({"x": 1})),
            vec![conditioned],
            Answer::Error("OpenFGA error {}".into()),
            Answer::word("false"),
        );
        assert!(plans(&d3).is_empty());
    }

    #[test]
    fn false_conditions_are_told_from_true_and_unevaluable_ones() {
        let obj = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let flag = tuple(Some(("flag_set", json!({"key": "b"}))));
        assert!(condition_false(
            &flag,
            &obj(json!({"flags": {"a": true, "b": false}}))
        ));
        assert!(!condition_false(
            &flag,
            &obj(json!({"flags": {"a": false, "b": true}}))
        ));
        assert!(
            !condition_false(&flag, &obj(json!({}))),
            "unevaluable is not false"
        );
        let net = tuple(Some(("in_network", json!({"cidr": "10.0.0.0/8"}))));
        assert!(condition_false(&net, &obj(json!({"addr": "192.168.7.1"}))));
        assert!(!condition_false(&net, &obj(json!({"addr": "10.1.2.3"}))));
        // Stored x = 5 < 9 but request x = 9: false only if the request won; not certain.
        let limit = tuple(Some(("below_limit", json!({"limit": 9, "x": 5}))));
        assert!(!condition_false(&limit, &obj(json!({"x": 9}))));
        assert!(condition_false(
            &tuple(Some(("below_limit", json!({"limit": 1})))),
            &obj(json!({"x": 4}))
        ));
        // A disagreement that disappears without the false relationship, psm answering as
        // both engines then do.
        let d = disagreement(
            check(json!({"flags": {"a": true, "b": false}})),
            vec![flag],
            Answer::word("false"),
            Answer::word("true"),
        );
        let p = plan(&d);
        assert!(
            matches!(
                &p,
                Plan::Without {
                    unevaluable: false,
                    ..
                }
            ),
            "{p:?}"
        );
        let t = || vec![Answer::word("true")];
        assert_eq!(judge(&d, &p, &t(), &t()), Some(FALSE_CONDITION));
        assert_eq!(judge(&d, &p, &[Answer::word("false")], &t()), None);
        // psm failing with missing context is no answer when nothing was unevaluable.
        let d2 = Disagreement {
            psm: Answer::Error("missing context parameters: x".into()),
            ..d.clone()
        };
        assert_eq!(judge(&d2, &p, &t(), &t()), None);
    }

    #[test]
    fn differing_lists_are_asked_again_without_only_the_false_relationships() {
        // Seed 3044227215048637249: OpenFGA lists no folder, psm lists folder:f3 (granted by a
        // true `user:*` tuple beside u5's false one); without the false tuple both list f3.
        let q = Query::Objects {
            ty: "folder".into(),
            relation: "perm1".into(),
            subject: Subject {
                ty: "user".into(),
                id: "u5".into(),
                relation: None,
            },
            context: json!({"addr": "172.16.0.1", "x": 4})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let false_one = tuple(Some(("in_network", json!({"cidr": "10.1.0.0/16"}))));
        let true_one = tuple(Some(("below_limit", json!({"limit": 8}))));
        let unevaluable = tuple(Some(("flag_set", json!({"key": "a"}))));
        let d = disagreement(
            q,
            vec![false_one, true_one.clone(), unevaluable.clone()],
            Answer::value(vec![]),
            Answer::value(vec!["folder:f3".into()]),
        );
        let all = plans(&d);
        assert_eq!(all.len(), 3, "{all:?}");
        // Seed 6536666421241245448: without the false relationship OpenFGA's Check grants f3,
        // its list still leaves it out; psm's list stays [f3].
        let Plan::Checks { reduced: true, .. } = &all[2] else {
            panic!("{all:?}");
        };
        let f3_list = || Answer::value(vec!["folder:f3".into()]);
        let t = Answer::word("true");
        assert_eq!(
            judge(
                &d,
                &all[2],
                &[Answer::value(vec![]), t.clone()],
                &[f3_list(), t.clone()]
            ),
            Some(LIST_VS_CHECK)
        );
        // psm's own list changing without the false relationship: not excused.
        assert_eq!(
            judge(
                &d,
                &all[2],
                &[Answer::value(vec![]), t.clone()],
                &[Answer::value(vec![]), t.clone()]
            ),
            None
        );
        assert!(matches!(&all[0], Plan::Checks { .. }));
        let Plan::Without {
            round,
            unevaluable: false,
        } = &all[1]
        else {
            panic!("{all:?}");
        };
        assert_eq!(
            round.tuples,
            vec![true_one, unevaluable],
            "only the false one goes"
        );
        let f3 = || vec![Answer::value(vec!["folder:f3".into()])];
        assert_eq!(judge(&d, &all[1], &f3(), &f3()), Some(FALSE_CONDITION));
        // The engine still listing nothing without it: not this quirk.
        assert_eq!(judge(&d, &all[1], &[Answer::value(vec![])], &f3()), None);
        // psm changing its answer without it: psm depended on a false relationship.
        assert_eq!(
            judge(
                &d,
                &all[1],
                &[Answer::value(vec![])],
                &[Answer::value(vec![])]
            ),
            None
        );
        // Without any false relationship there is nothing to ask this way.
        let d2 = Disagreement {
            round: Round {
                tuples: d.round.tuples[1..].to_vec(),
                ..d.round.clone()
            },
            ..d.clone()
        };
        assert!(plans(&d2).iter().all(|p| matches!(p, Plan::Checks { .. })));
    }

    #[test]
    fn a_recursive_check_is_excused_only_when_the_engines_own_list_leaves_the_object_out() {
        // Seed 177875063368246337: `rel3: [user, folder#rel3 with in_network, folder#rel2]`.
        let mut d = disagreement(
            check(json!({})),
            vec![tuple(None)],
            Answer::word("true"),
            Answer::word("false"),
        );
        let q = Query::Check {
            resource: Obj {
                ty: "folder".into(),
                id: "f1".into(),
            },
            relation: "rel3".into(),
            subject: Subject {
                ty: "user".into(),
                id: "u5".into(),
                relation: None,
            },
            context: Map::new(),
        };
        d.round.tests[0].queries = vec![q];
        // `folder`'s rel2: [team], and rel3: [user] plus the given usersets of folder.
        let model = |usersets: &[&str]| {
            let allowed = |ty: &str, kind| Allowed {
                ty: ty.into(),
                kind,
                condition: None,
            };
            let mut rel3 = vec![allowed("user", AllowedKind::Plain)];
            rel3.extend(
                usersets
                    .iter()
                    .map(|r| allowed("folder", AllowedKind::Userset((*r).into()))),
            );
            let direct = |name: &str, allowed| RelationDef {
                name: name.into(),
                def: Def::Direct(allowed),
            };
            let ty = |name: &str, relations| TypeDef {
                name: name.into(),
                relations,
            };
            Model {
                types: vec![
                    ty("user", Vec::new()),
                    ty("team", Vec::new()),
                    ty(
                        "folder",
                        vec![
                            direct("rel2", vec![allowed("team", AllowedKind::Plain)]),
                            direct("rel3", rel3),
                        ],
                    ),
                ],
                conditions: Vec::new(),
            }
        };
        d.round.model = model(&["rel3", "rel2"]);
        let all = plans(&d);
        let Some(p) = all.iter().find(|p| matches!(p, Plan::ListOf { .. })) else {
            panic!("{all:?}");
        };
        let list = |words: &[&str]| Answer::value(words.iter().map(|w| (*w).to_owned()).collect());
        let t = Answer::word("true");
        let f = Answer::word("false");
        assert_eq!(
            judge(&d, p, &[t.clone(), list(&[])], &[f.clone(), list(&[])]),
            Some(super::RECURSIVE_CHECK)
        );
        // The engine's own list holding the object: its check and list agree, psm differs.
        assert_eq!(
            judge(
                &d,
                p,
                &[t.clone(), list(&["folder:f1"])],
                &[f.clone(), list(&[])]
            ),
            None
        );
        // psm's list holding it: psm contradicts itself.
        assert_eq!(
            judge(
                &d,
                p,
                &[t.clone(), list(&[])],
                &[f.clone(), list(&["folder:f1"])]
            ),
            None
        );
        // A query reaching the recursive relation through a rewrite: the same plan.
        let mut through = d.clone();
        if let Query::Check { relation, .. } = &mut through.round.tests[0].queries[0] {
            *relation = "perm0".into();
        }
        assert!(
            plans(&through)
                .iter()
                .any(|p| matches!(p, Plan::ListOf { .. }))
        );
        // No recursive relation in the model, or psm granting: no such plan.
        d.round.model = model(&["rel2"]);
        assert!(!plans(&d).iter().any(|p| matches!(p, Plan::ListOf { .. })));
        d.round.model = model(&["rel3", "rel2"]);
        d.psm = t;
        assert!(!plans(&d).iter().any(|p| matches!(p, Plan::ListOf { .. })));
    }

    #[test]
    fn spicedb_lookup_resources_are_excused_only_when_its_check_gives_psms_permissionship() {
        let q = Query::Objects {
            ty: "team".into(),
            relation: "perm2".into(),
            subject: Subject {
                ty: "user".into(),
                id: "u6".into(),
                relation: None,
            },
            context: Map::new(),
        };
        let d = Disagreement {
            flavor: Flavor::SpiceDb,
            ..disagreement(
                q,
                vec![tuple(None)],
                Answer::value(vec![]),
                Answer::value(vec!["t2:cond".into()]),
            )
        };
        let p = plan(&d);
        let Plan::Checks { items, .. } = &p else {
            panic!("{p:?}");
        };
        assert_eq!(items, &["team:t2"]);
        let engine = |check: &str| vec![Answer::value(vec![]), Answer::word(check)];
        let ours = |check: &str| vec![Answer::value(vec!["t2:cond".into()]), Answer::word(check)];
        assert_eq!(
            judge(&d, &p, &engine("cond"), &ours("cond")),
            Some(super::SPICEDB_LIST_VS_CHECK)
        );
        assert_eq!(judge(&d, &p, &engine("no"), &ours("cond")), None);
        assert_eq!(judge(&d, &p, &engine("has"), &ours("cond")), None);
        // psm's own check disagreeing with its list: psm's inconsistency, not excused.
        assert_eq!(judge(&d, &p, &engine("has"), &ours("has")), None);
    }

    #[test]
    fn lists_are_excused_only_when_the_engines_own_check_agrees_with_psm() {
        let q = Query::Subjects {
            resource: Obj {
                ty: "doc".into(),
                id: "d0".into(),
            },
            relation: "perm1".into(),
            subject_type: "user".into(),
            subject_relation: None,
            context: Map::new(),
        };
        let d = disagreement(
            q,
            vec![tuple(None)],
            Answer::value(vec!["user:u2".into(), "user:u3".into()]),
            Answer::value(vec!["user:u3".into()]),
        );
        let p = plan(&d);
        let Plan::Checks {
            items,
            round,
            reduced: false,
        } = &p
        else {
            panic!("{p:?}");
        };
        assert_eq!(items, &["user:u2"]);
        assert_eq!(round.tests[0].queries.len(), 2);
        let listed = Answer::value(vec!["user:u2".into(), "user:u3".into()]);
        let engine = |check: &str| vec![listed.clone(), Answer::word(check)];
        let ours = |check: &str| vec![Answer::value(vec!["user:u3".into()]), Answer::word(check)];
        assert_eq!(
            judge(&d, &p, &engine("false"), &ours("false")),
            Some(LIST_VS_CHECK)
        );
        assert_eq!(judge(&d, &p, &engine("true"), &ours("false")), None);
        assert_eq!(judge(&d, &p, &engine("true"), &ours("true")), None);
        assert_eq!(
            judge(
                &d,
                &p,
                &[listed.clone(), Answer::Error("x".into())],
                &ours("false")
            ),
            None
        );
        // psm listing the wildcard leaves u2 to it: excused when both checks grant u2.
        let d2 = Disagreement {
            engine: Answer::value(vec!["user:*".into(), "user:u2".into(), "user:u3".into()]),
            psm: Answer::value(vec!["user:*".into(), "user:u3".into()]),
            ..d.clone()
        };
        let p2 = plan(&d2);
        assert_eq!(
            judge(&d2, &p2, &engine("true"), &ours("true")),
            Some(LIST_VS_CHECK)
        );
        assert_eq!(judge(&d2, &p2, &engine("false"), &ours("true")), None);
    }
}
