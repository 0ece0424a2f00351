//! Minimising a disagreement: the round is cut to its one query, then stored and contextual
//! relationships are dropped (halves, then smaller chunks) while the real engine and psm still
//! disagree on that query in the same way (same class), within a number of tries and a deadline.

use std::time::Instant;

use crate::Error;
use crate::allowlist::{self, Case};
use crate::engines::{Disagreement, Setup};
use crate::round::Round;

/// Engine runs one shrink may spend.
const MAX_TRIES: usize = 48;

/// The smallest round found that still shows `d`'s class of disagreement.
pub async fn shrink(setup: &Setup, d: &Disagreement, deadline: Instant) -> Disagreement {
    let mut best = Disagreement {
        round: d.single(),
        test: 0,
        query: 0,
        ..d.clone()
    };
    let class = d.class();
    let mut tries = 0;
    // Stored relationships first (there are more of them), then contextual ones.
    for contextual in [false, true] {
        let mut chunk = len(&best.round, contextual).div_ceil(2);
        while chunk > 0 {
            let mut start = 0;
            while start < len(&best.round, contextual) {
                if tries >= MAX_TRIES || Instant::now() >= deadline {
                    return best;
                }
                tries += 1;
                let candidate = without(&best.round, contextual, start, chunk);
                match still(setup, &best, candidate, &class).await {
                    Ok(Some(smaller)) => best = smaller,
                    _ => start += chunk,
                }
            }
            chunk /= 2;
        }
    }
    best
}

fn len(round: &Round, contextual: bool) -> usize {
    if contextual {
        round.tests.first().map_or(0, |t| t.contextual.len())
    } else {
        round.tuples.len()
    }
}

fn without(round: &Round, contextual: bool, start: usize, chunk: usize) -> Round {
    let mut r = round.clone();
    let list = if contextual {
        match r.tests.first_mut() {
            Some(t) => &mut t.contextual,
            None => return r,
        }
    } else {
        &mut r.tuples
    };
    let end = (start + chunk).min(list.len());
    list.drain(start..end);
    r
}

/// The disagreement on `candidate`, when it still has `class`.
async fn still(
    setup: &Setup,
    d: &Disagreement,
    candidate: Round,
    class: &str,
) -> Result<Option<Disagreement>, Error> {
    let (theirs, ours) = setup
        .run(d.flavor, std::slice::from_ref(&candidate), "shrink")
        .await?;
    let store = setup.stores.iter().position(|s| s.name() == d.store);
    let engine = theirs
        .first()
        .and_then(|r| r.first())
        .and_then(|t| t.first());
    let mine = store
        .and_then(|s| ours.get(s))
        .and_then(|a| a.first())
        .and_then(|r| r.first())
        .and_then(|t| t.first());
    let (Some(engine), Some(mine), Some(query)) = (
        engine,
        mine,
        candidate.tests.first().and_then(|t| t.queries.first()),
    ) else {
        return Ok(None);
    };
    let case = Case {
        flavor: d.flavor,
        query,
        engine,
        psm: mine,
    };
    if crate::engines::agree(&case) || allowlist::excuse(&case).is_some() {
        return Ok(None);
    }
    let found = Disagreement {
        engine: engine.clone(),
        psm: mine.clone(),
        round: candidate,
        ..d.clone()
    };
    Ok((found.class() == class).then_some(found))
}
