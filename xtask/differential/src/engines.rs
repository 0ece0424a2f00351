//! Running rounds on the real engine and on psm's stores side by side, and finding where the
//! answers differ: the real engine works in its own process while psm answers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Child;
use std::time::Instant;

use crate::allowlist::{self, Case};
use crate::answer::Answer;
use crate::psm::{self, Store};
use crate::round::{Query, Round};
use crate::spicedb::Host;
use crate::{Error, Flavor, openfga, spicedb};

/// What the harness runs with: the real engines' programs, a work directory, psm's stores.
#[derive(Debug)]
pub struct Setup {
    /// The `fga` CLI.
    pub fga: PathBuf,
    /// The SpiceDB host.
    pub host: Host,
    /// Where round files go.
    pub work: PathBuf,
    /// psm's stores: memory and SQLite.
    pub stores: Vec<Store>,
}

/// Answers of one engine to one round, test by test.
pub type Answers = Vec<Vec<Answer>>;

/// A query on which psm (on one store) and the real engine disagree.
#[derive(Debug, Clone)]
pub struct Disagreement {
    /// Which engine.
    pub flavor: Flavor,
    /// The round (the whole of it; shrinking cuts it down).
    pub round: Round,
    /// The test of the query.
    pub test: usize,
    /// The query within the test.
    pub query: usize,
    /// The psm store that answered.
    pub store: &'static str,
    /// The real engine's answer.
    pub engine: Answer,
    /// psm's answer.
    pub psm: Answer,
}

/// What comparing a batch found.
#[derive(Debug, Default)]
pub struct Tally {
    /// Queries run (each on the engine and on every store).
    pub queries: usize,
    /// Queries compared, by psm store and query kind: those where psm's answer was judged
    /// against the engine's and no quirk excused the difference (agreements and unexplained
    /// disagreements), whole rounds both sides rejected (a model, a relationship) left out.
    pub compared: BTreeMap<&'static str, BTreeMap<&'static str, usize>>,
    /// Queries of rounds both the engine and psm rejected as a whole, summed over stores.
    pub rejected: usize,
    /// Seconds psm spent answering, by store.
    pub psm_secs: BTreeMap<&'static str, f64>,
    /// Seconds spent waiting for the engine once psm had answered.
    pub engine_wait_secs: f64,
    /// Queries the real engine answered with an error.
    pub engine_errors: usize,
    /// Queries by kind.
    pub by_kind: BTreeMap<&'static str, usize>,
    /// Disagreements no quirk explains.
    pub unexplained: Vec<Disagreement>,
    /// Disagreements excused, by quirk id.
    pub excused: BTreeMap<&'static str, usize>,
}

impl Tally {
    /// Queries of the given kinds compared on `store`.
    pub fn compared_on(&self, store: &str, kinds: &[&str]) -> usize {
        self.compared
            .get(store)
            .map_or(0, |k| kinds.iter().filter_map(|kind| k.get(kind)).sum())
    }

    /// The fewest queries of the given kinds compared on any of `stores`.
    pub fn least_compared(&self, stores: &[Store], kinds: &[&str]) -> usize {
        stores
            .iter()
            .map(|s| self.compared_on(s.name(), kinds))
            .min()
            .unwrap_or(0)
    }

    /// A disagreement a confirmed quirk excuses: counted as excused, no longer as compared.
    pub fn excuse(&mut self, (quirk, store, kind): crate::confirm::Excused) {
        *self.excused.entry(quirk).or_default() += 1;
        if let Some(n) = self.compared.get_mut(store).and_then(|k| k.get_mut(kind)) {
            *n = n.saturating_sub(1);
        }
    }
}

enum Pending {
    OpenFga(Vec<Child>),
    SpiceDb(Child),
}

impl Setup {
    /// The real engine's and psm's answers to `rounds`: the engine's, then each store's.
    pub async fn run(
        &self,
        flavor: Flavor,
        rounds: &[Round],
        tag: &str,
    ) -> Result<(Vec<Answers>, Vec<Vec<Answers>>), Error> {
        self.run_timed(flavor, rounds, tag, &mut Tally::default())
            .await
    }

    /// [`Setup::run`], adding psm's time and the wait for the engine to `tally`.
    async fn run_timed(
        &self,
        flavor: Flavor,
        rounds: &[Round],
        tag: &str,
        tally: &mut Tally,
    ) -> Result<(Vec<Answers>, Vec<Vec<Answers>>), Error> {
        let pending = match flavor {
            Flavor::OpenFga => Pending::OpenFga(
                rounds
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let path = self.work.join(format!("{tag}-{i}.fga.yaml"));
                        openfga::start(&self.fga, r, &path)
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Flavor::SpiceDb => {
                let path = self.work.join(format!("{tag}.spicedb.json"));
                Pending::SpiceDb(spicedb::start(&self.host, rounds, &path)?)
            }
        };
        // Each store answers every round in its own task, the stores side by side.
        let tasks: Vec<_> = self
            .stores
            .iter()
            .map(|store| {
                let (store, rounds) = (store.clone(), rounds.to_vec());
                tokio::spawn(async move {
                    let started = Instant::now();
                    let mut per_round = Vec::new();
                    for r in &rounds {
                        per_round.push(psm::run(r, flavor, &store).await);
                    }
                    (per_round, started.elapsed().as_secs_f64())
                })
            })
            .collect();
        let mut ours = Vec::new();
        for (store, task) in self.stores.iter().zip(tasks) {
            let (per_round, secs) = task
                .await
                .map_err(|e| Error::Store(format!("psm on {}: {e}", store.name())))?;
            ours.push(per_round);
            *tally.psm_secs.entry(store.name()).or_default() += secs;
        }
        let answered = Instant::now();
        let theirs = match pending {
            Pending::OpenFga(children) => children
                .into_iter()
                .zip(rounds)
                .map(|(c, r)| openfga::finish(c, r))
                .collect::<Result<_, _>>()?,
            Pending::SpiceDb(child) => spicedb::finish(child, rounds)?,
        };
        tally.engine_wait_secs += answered.elapsed().as_secs_f64();
        Ok((theirs, ours))
    }

    /// Runs `rounds` and adds what comparing them finds to `tally`.
    pub async fn compare(
        &self,
        flavor: Flavor,
        rounds: &[Round],
        tag: &str,
        tally: &mut Tally,
    ) -> Result<(), Error> {
        let (theirs, ours) = self.run_timed(flavor, rounds, tag, tally).await?;
        for (ri, round) in rounds.iter().enumerate() {
            for (ti, test) in round.tests.iter().enumerate() {
                for (qi, q) in test.queries.iter().enumerate() {
                    let kind = q.kind(flavor == Flavor::OpenFga);
                    tally.queries += 1;
                    *tally.by_kind.entry(kind).or_default() += 1;
                    let Some(engine) = answer_at(&theirs, ri, ti, qi) else {
                        continue;
                    };
                    if matches!(engine, Answer::Error(_)) {
                        tally.engine_errors += 1;
                    }
                    for (store, answers) in self.stores.iter().zip(&ours) {
                        let Some(mine) = answer_at(answers, ri, ti, qi) else {
                            continue;
                        };
                        if let (Answer::Error(theirs), Answer::Error(e)) = (engine, mine)
                            && failure(theirs).starts_with("rejects")
                            && failure(e).starts_with("rejects")
                        {
                            tally.rejected += 1;
                            continue;
                        }
                        let case = Case {
                            flavor,
                            query: q,
                            engine,
                            psm: mine,
                        };
                        let agrees = agree(&case);
                        let quirk = (!agrees).then(|| allowlist::excuse(&case)).flatten();
                        if let Some(quirk) = quirk {
                            *tally.excused.entry(quirk.id).or_default() += 1;
                            continue;
                        }
                        *tally
                            .compared
                            .entry(store.name())
                            .or_default()
                            .entry(kind)
                            .or_default() += 1;
                        if agrees {
                            continue;
                        }
                        tally.unexplained.push(Disagreement {
                            flavor,
                            round: round.clone(),
                            test: ti,
                            query: qi,
                            store: store.name(),
                            engine: engine.clone(),
                            psm: mine.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// What kind of failure an error message reports: a rejected model or relationship (which fails
/// every query of the round) or a failed request.
fn failure(message: &str) -> &'static str {
    let relationship = [
        "tuple:",
        "writing tuples",
        "Invalid tuple",
        "writing relationships",
    ];
    if message.starts_with("contextual tuples") {
        "rejects a contextual relationship"
    } else if relationship.iter().any(|m| message.contains(m)) {
        "rejects a relationship"
    } else if message.starts_with("model:")
        || message.contains("error running tests")
        || message.contains("Failed to bootstrap")
    {
        "rejects the model"
    } else {
        "fails"
    }
}

/// Whether psm's answer agrees with the engine's: equal, both errors, or for SpiceDB's
/// LookupSubjects the same permissionship for every subject ([`Answer::same_subjects`]).
pub fn agree(case: &Case<'_>) -> bool {
    case.engine.agrees(case.psm)
        || (case.flavor == Flavor::SpiceDb
            && matches!(case.query, Query::Subjects { .. })
            && case.engine.same_subjects(case.psm))
}

fn answer_at(answers: &[Answers], round: usize, test: usize, query: usize) -> Option<&Answer> {
    answers.get(round)?.get(test)?.get(query)
}

impl Disagreement {
    /// The class of the disagreement, for grouping: engine, query kind and how answers differ.
    pub fn class(&self) -> String {
        let openfga = self.flavor == Flavor::OpenFga;
        let query = &self.round.tests[self.test].queries[self.query];
        let how = match (&self.engine, &self.psm) {
            (Answer::Value(_), Answer::Error(e)) => {
                format!("psm {}, the engine answers", failure(e))
            }
            (Answer::Error(e), Answer::Value(_)) => {
                format!("the engine {}, psm answers", failure(e))
            }
            (Answer::Value(e), Answer::Value(p))
                if matches!(query, Query::Check { .. }) && e.len() == 1 && p.len() == 1 =>
            {
                format!("engine {} / psm {}", e[0], p[0])
            }
            (Answer::Value(e), Answer::Value(p)) => {
                let extra = p.iter().any(|w| !e.contains(w));
                let missing = e.iter().any(|w| !p.contains(w));
                match (extra, missing) {
                    (true, false) => "psm returns more".to_owned(),
                    (false, true) => "psm returns less".to_owned(),
                    _ => "psm returns different results".to_owned(),
                }
            }
            (Answer::Error(_), Answer::Error(_)) => "both fail".to_owned(),
        };
        // A rejected model or relationship fails every query of the round alike.
        let kind = if how.contains("rejects") {
            "round"
        } else {
            query.kind(openfga)
        };
        format!("{} {kind}: {how}", self.flavor.name())
    }

    /// The query's kind.
    pub fn kind(&self) -> &'static str {
        self.round.tests[self.test].queries[self.query].kind(self.flavor == Flavor::OpenFga)
    }

    /// The round cut down to the one query (keeping its test's contextual relationships).
    pub fn single(&self) -> Round {
        let mut round = self.round.clone();
        let test = round.tests.swap_remove(self.test);
        let query = test.queries[self.query].clone();
        round.tests = vec![crate::round::Test {
            contextual: test.contextual,
            queries: vec![query],
        }];
        round
    }
}
