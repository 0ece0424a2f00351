//! Running rounds on the real engine and on psm's stores side by side, and finding where the
//! answers differ: the real engine works in its own process while psm answers.

use std::path::PathBuf;
use std::process::Child;

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
    /// Queries compared (each on every store).
    pub queries: usize,
    /// Queries the real engine answered with an error.
    pub engine_errors: usize,
    /// Queries by kind.
    pub by_kind: std::collections::BTreeMap<&'static str, usize>,
    /// Disagreements no quirk explains.
    pub unexplained: Vec<Disagreement>,
    /// Disagreements excused, by quirk id.
    pub excused: std::collections::BTreeMap<&'static str, usize>,
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
        let mut ours = Vec::new();
        for store in &self.stores {
            let mut per_round = Vec::new();
            for r in rounds {
                per_round.push(psm::run(r, flavor, store).await);
            }
            ours.push(per_round);
        }
        let theirs = match pending {
            Pending::OpenFga(children) => children
                .into_iter()
                .zip(rounds)
                .map(|(c, r)| openfga::finish(c, r))
                .collect::<Result<_, _>>()?,
            Pending::SpiceDb(child) => spicedb::finish(child, rounds)?,
        };
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
        let (theirs, ours) = self.run(flavor, rounds, tag).await?;
        for (ri, round) in rounds.iter().enumerate() {
            for (ti, test) in round.tests.iter().enumerate() {
                for (qi, q) in test.queries.iter().enumerate() {
                    tally.queries += 1;
                    *tally
                        .by_kind
                        .entry(q.kind(flavor == Flavor::OpenFga))
                        .or_default() += 1;
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
                        if engine.agrees(mine) {
                            continue;
                        }
                        let case = Case {
                            flavor,
                            query: q,
                            engine,
                            psm: mine,
                        };
                        if let Some(quirk) = allowlist::excuse(&case) {
                            *tally.excused.entry(quirk.id).or_default() += 1;
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
