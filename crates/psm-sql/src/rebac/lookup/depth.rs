//! The depth proof of the SQL plans: a bound on every walk the engine could take, over the
//! whole store at one revision, so that a plan skips the per-request depth guard (`guard.rs`)
//! while the store is still at that revision.
//!
//! The guard walks every edge reachable from a request's resource to show that no walk goes
//! past the engine's depth limit (nor meets a cycle); its cost follows the resource's whole
//! reachable graph, on every request. The proof bounds the same walks once for all requests:
//! the schema's edges (the guard's rules) form a graph over `type#relation` whose strongly
//! connected components are the schema analysis's (computed once per schema, shared with the
//! engine). A walk spends a bounded number of steps
//! in a component that does not recurse (0), leaves a component by one step, and never comes
//! back to it; only in a recursive component (a relation reaching itself, like nested groups or
//! a folder's parent chain) does the length depend on the data. For each recursive component
//! one statement walks, from every relationship that is an edge of the component, every walk
//! inside it (deduplicated on node and depth, one step past the limit at most) and returns the
//! longest; a walk inside the component starts with at most `size − 1` computed-relation steps
//! (on one object) before its first relationship step, so the component's bound is that longest
//! walk plus `size − 1` (unbounded when the walk reached past the limit, which includes every
//! cycle, or when computed relations alone form a cycle). A relation's bound is the longest
//! path of the components' bounds plus one step between components; when it is within the
//! depth limit, no walk from any object of that relation goes past the limit or meets a cycle,
//! which is exactly what the guard would find, so its answer is known without running it.
//!
//! Revisions. Every committed change of the relationships bumps the store revision in the same
//! transaction (writes, bulk loads and imports, deletes). The proof reads the revision before
//! and after its statements; equal, no change was committed in between, so the proof holds at
//! that revision. A planned statement compares the revision it reads (in its own snapshot) with
//! the proof's and runs the guard when they differ. Deletions can only shorten walks.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use psm_rebac::schema::Analysis;

use super::compile::{Unsupported, cast};
use super::guard::{self, Rule};
use crate::dialect::Dialect;
use crate::rebac::store::SqlTupleStore;

/// A `type#relation` of the schema.
type Node = (String, String);

/// The revision a statement compares with when nothing is proven (no revision is negative).
pub(crate) const UNPROVEN: i64 = -1;

/// Shortest pause between two proofs, and how many times a proof's duration must pass before
/// the next one ([`Pace::DEFAULT`]).
const MIN_PAUSE: Duration = Duration::from_millis(50);
const PAUSE_FACTOR: u32 = 10;
/// How old a proof that does not cover a request must be before that request makes a new one
/// (a request it covers makes one as soon as the store moved on).
pub(crate) const UNCOVERED_AGE: Duration = Duration::from_secs(10);

/// One strongly connected component of the schema's edge graph.
#[derive(Debug)]
struct Component {
    size: usize,
    /// The walk statement of a recursive component (`None`: nothing recurses, or computed
    /// relations alone form a cycle; see `unbounded`).
    statement: Option<String>,
    /// Computed relations alone form a cycle: every walk through it is endless.
    unbounded: bool,
    /// Components one step away.
    next: BTreeSet<usize>,
}

/// What the proof of one schema needs, built once per plan.
#[derive(Debug)]
pub(crate) struct Prover {
    components: Vec<Component>,
    of: HashMap<Node, usize>,
    max: u32,
    /// `SELECT` of the store revision (never NULL).
    revision: String,
}

/// A proof at one revision: the relations whose walks may go past the depth limit.
#[derive(Debug)]
pub(crate) struct Proof {
    pub(crate) revision: i64,
    /// The relations with an edge whose walks may go past the limit (a relation without
    /// edges has only walks of length 0).
    deep: BTreeSet<Node>,
    /// Every relation's walks stay within the limit (what a lookup's backward walk needs).
    pub(crate) all: bool,
    /// When it was made.
    pub(crate) made: Instant,
}

impl Proof {
    /// Whether no walk from `type#relation` goes past the limit.
    pub(crate) fn covers(&self, resource_type: &str, relation: &str) -> bool {
        !self
            .deep
            .contains(&(resource_type.to_owned(), relation.to_owned()))
    }
}

/// `COALESCE((SELECT revision ...), -2)`: the store revision in a statement's own snapshot.
pub(crate) fn revision_expr(revision_table: &str) -> String {
    format!("COALESCE((SELECT v.revision FROM {revision_table} v WHERE v.id = 1), -2)")
}

impl Prover {
    /// The components of `rules` and their statements.
    pub(crate) fn new(
        analysis: &Analysis,
        rules: &[Rule],
        dialect: Dialect,
        tuples: &str,
        revision_table: &str,
        max: u32,
    ) -> Result<Self, Unsupported> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut index: HashMap<Node, usize> = HashMap::new();
        let mut id = |n: Node, nodes: &mut Vec<Node>| -> usize {
            *index.entry(n.clone()).or_insert_with(|| {
                nodes.push(n);
                nodes.len() - 1
            })
        };
        for (_, ft, fr, tt, tr, _, _) in rules {
            id((ft.clone(), fr.clone()), &mut nodes);
            id((tt.clone(), tr.clone()), &mut nodes);
        }
        // the components are the schema analysis's (its dependency graph has exactly these
        // edges); numbered here in order of first appearance
        let mut local: HashMap<usize, usize> = HashMap::new();
        let mut comp_of = Vec::with_capacity(nodes.len());
        let mut members: Vec<usize> = Vec::new();
        for (t, r) in &nodes {
            let g = analysis
                .component(t, r)
                .ok_or_else(|| Unsupported(format!("no relation `{t}#{r}`")))?;
            let c = *local.entry(g).or_insert_with(|| {
                members.push(0);
                members.len() - 1
            });
            members[c] += 1;
            comp_of.push(c);
        }
        let mut components = Vec::with_capacity(members.len());
        for (c, m) in members.iter().enumerate() {
            let inner: Vec<&Rule> = rules
                .iter()
                .filter(|r| {
                    let a = index[&(r.1.clone(), r.2.clone())];
                    let b = index[&(r.3.clone(), r.4.clone())];
                    comp_of[a] == c && comp_of[b] == c
                })
                .collect();
            let next = rules
                .iter()
                .filter_map(|r| {
                    let a = comp_of[index[&(r.1.clone(), r.2.clone())]];
                    let b = comp_of[index[&(r.3.clone(), r.4.clone())]];
                    (a == c && b != c).then_some(b)
                })
                .collect();
            let computed_cycle = computed_cycle(&inner);
            let statement = if inner.is_empty() || computed_cycle {
                None
            } else {
                Some(walk_statement(&inner, dialect, tuples, max)?)
            };
            components.push(Component {
                size: *m,
                statement,
                unbounded: computed_cycle,
                next,
            });
        }
        let of = index.into_iter().map(|(k, v)| (k, comp_of[v])).collect();
        Ok(Prover {
            components,
            of,
            max,
            revision: format!(
                "SELECT {} AS id{}",
                int_text(dialect, &revision_expr(revision_table)),
                guard::dual(dialect)
            ),
        })
    }

    /// Proves what holds at the store's current revision; `None` when a write was committed
    /// while the statements ran (nothing is known then).
    pub(crate) async fn prove(&self, store: &SqlTupleStore) -> psm_rebac::Result<Option<Proof>> {
        let before = self.read_revision(store).await?;
        let mut longest: Vec<Option<u32>> = Vec::with_capacity(self.components.len());
        for c in &self.components {
            let own = match (&c.statement, c.unbounded) {
                (_, true) => None,
                (None, false) => Some(0),
                (Some(sql), false) => {
                    let rows = store.texts(sql, &[]).await?;
                    let walked = match rows.first() {
                        None => Some(0),
                        Some(d) => d.trim().parse::<u32>().ok().filter(|d| *d <= self.max),
                    };
                    walked.map(|d| d.saturating_add(u32::try_from(c.size - 1).unwrap_or(u32::MAX)))
                }
            };
            longest.push(own);
        }
        if self.read_revision(store).await? != before {
            return Ok(None);
        }
        let mut bound: Vec<Option<u32>> = vec![None; self.components.len()];
        let mut done = vec![false; self.components.len()];
        for c in 0..self.components.len() {
            self.bound(c, &longest, &mut bound, &mut done);
        }
        let ok = |c: usize| matches!(bound[c], Some(b) if b <= self.max);
        let deep = self
            .of
            .iter()
            .filter(|(_, c)| !ok(**c))
            .map(|(n, _)| n.clone())
            .collect();
        Ok(Some(Proof {
            revision: before,
            deep,
            all: (0..self.components.len()).all(ok),
            made: Instant::now(),
        }))
    }

    /// The longest walk from component `c` (`None`: unbounded), memoised in `memo`; the
    /// components form an acyclic graph.
    fn bound(
        &self,
        c: usize,
        own: &[Option<u32>],
        memo: &mut [Option<u32>],
        done: &mut [bool],
    ) -> Option<u32> {
        if done[c] {
            return memo[c];
        }
        let mut b = own[c];
        for &n in &self.components[c].next {
            let after = self.bound(n, own, memo, done);
            b = match (b, own[c], after) {
                (Some(b), Some(mine), Some(y)) => {
                    Some(b.max(mine.saturating_add(1).saturating_add(y)))
                }
                _ => None,
            };
        }
        memo[c] = b;
        done[c] = true;
        b
    }

    pub(crate) async fn read_revision(&self, store: &SqlTupleStore) -> psm_rebac::Result<i64> {
        let rows = store.texts(&self.revision, &[]).await?;
        Ok(rows
            .first()
            .and_then(|r| r.trim().parse::<i64>().ok())
            .unwrap_or(-2))
    }
}

/// An integer expression as text, on every database.
fn int_text(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::MySql => format!("CAST({expr} AS CHAR(32))"),
        _ => format!("CAST({expr} AS TEXT)"),
    }
}

/// Whether computed relations (edges on one object) alone form a cycle among `rules`.
fn computed_cycle(rules: &[&Rule]) -> bool {
    let edges: Vec<(Node, Node)> = rules
        .iter()
        .filter(|r| r.0 == 0)
        .map(|r| ((r.1.clone(), r.2.clone()), (r.3.clone(), r.4.clone())))
        .collect();
    // repeatedly drop nodes without an outgoing edge; a cycle is what remains
    let mut live = edges;
    loop {
        let sources: BTreeSet<&Node> = live.iter().map(|e| &e.0).collect();
        let keep: Vec<(Node, Node)> = live
            .iter()
            .filter(|e| sources.contains(&e.1))
            .cloned()
            .collect();
        if keep.len() == live.len() {
            return !keep.is_empty();
        }
        live = keep;
    }
}

/// The longest walk inside one component, from every relationship that is one of its edges,
/// up to one step past `max`: one row, the depth as text (no row: no such relationship).
fn walk_statement(
    rules: &[&Rule],
    dialect: Dialect,
    tuples: &str,
    max: u32,
) -> Result<String, Unsupported> {
    let owned: Vec<Rule> = rules.iter().map(|r| (*r).clone()).collect();
    let Some(table) = guard::table(&owned, dialect)? else {
        return Err(Unsupported("no edges".to_owned()));
    };
    let seeds: Vec<Rule> = owned.iter().filter(|r| r.0 == 1).cloned().collect();
    let mut sql = String::from("WITH RECURSIVE w(t, r, id, d) AS (");
    match guard::table(&seeds, dialect)? {
        Some(seed_table) => {
            let _ = write!(
                sql,
                "SELECT {}, {}, {}, 0 FROM ({seed_table}) S JOIN {tuples} x \
                 ON x.resource_type = S.ft AND x.relation = S.via AND x.subject_type = S.tt \
                 AND x.subject_relation = S.srel",
                cast(dialect, "S.ft", 254),
                cast(dialect, "S.fr", 254),
                cast(dialect, "x.resource_id", 1024),
            );
        }
        // only computed relations inside: walks of at most `size - 1` steps (no cycle)
        None => {
            let _ = write!(
                sql,
                "SELECT {}, {}, {}, 0{} WHERE 1 = 0",
                cast(dialect, "''", 254),
                cast(dialect, "''", 254),
                cast(dialect, "''", 1024),
                guard::dual(dialect)
            );
        }
    }
    sql.push_str(&guard::forward_step("w", &table, tuples, dialect, max));
    let _ = write!(
        sql,
        ") SELECT {} AS id FROM w ORDER BY w.d DESC LIMIT 1",
        int_text(dialect, "w.d")
    );
    Ok(sql)
}

/// The plan's proof: the latest one, when to make the next, and the background task making it.
///
/// Requests never wait for a proof: one that finds the proof missing or stale (a check whose
/// statement ran the guard, a lookup after [`Proofs::recheck`]) starts a refresh as a separate
/// task (at most one at a time, paced by the last proof's duration) and takes the guarded
/// statement meanwhile. The task's statements are bounded by [`PROOF_TIMEOUT`] (a timed-out
/// read discards its connection), end when the store is closed, and the task is aborted when
/// the plan is dropped.
#[derive(Debug)]
pub(crate) struct Proofs {
    current: Mutex<Option<Arc<Proof>>>,
    busy: AtomicBool,
    /// When the last proof started and how long it took.
    last: Mutex<Option<(Instant, Duration)>>,
    /// When a refresh last found the store still at the proof's revision.
    confirmed: Mutex<Option<Instant>>,
    pace: Pace,
    /// The refresh in flight, if any.
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Refreshes started, and walks over the store made (what the tests observe).
    started: AtomicU64,
    walks: AtomicU64,
}

/// Longest time a proof's statements may take together; a store too large to prove in this
/// time keeps the guard (its proof is given up and tried again after the pause).
pub(crate) const PROOF_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a lookup trusts the latest proof before it has the revision read again.
const LOOKUP_RECHECK: Duration = Duration::from_secs(1);

/// How often proofs are refreshed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    /// Shortest pause between two proofs.
    pub(crate) min_pause: Duration,
    /// How many times a proof's duration must pass before the next one.
    pub(crate) factor: u32,
    /// How long a lookup (which cannot tell a stale proof) trusts the proof before it starts a
    /// refresh (which first reads the revision: one small statement when nothing changed).
    pub(crate) recheck: Duration,
}

impl Pace {
    /// Under a stream of writes, proofs take a tenth of one connection at most.
    pub(crate) const DEFAULT: Pace = Pace {
        min_pause: MIN_PAUSE,
        factor: PAUSE_FACTOR,
        recheck: LOOKUP_RECHECK,
    };
}

/// Clears `busy` when a proof ends, however it ends (an error, an aborted task).
struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Proofs {
    /// No proof yet; refreshes paced by `pace`.
    pub(crate) fn new(pace: Pace) -> Self {
        Proofs {
            current: Mutex::new(None),
            busy: AtomicBool::new(false),
            last: Mutex::new(None),
            confirmed: Mutex::new(None),
            pace,
            task: Mutex::new(None),
            started: AtomicU64::new(0),
            walks: AtomicU64::new(0),
        }
    }

    /// The latest proof.
    pub(crate) fn current(&self) -> Option<Arc<Proof>> {
        self.current.lock().clone()
    }

    /// Refreshes started so far (each a separate task).
    #[cfg(test)]
    pub(crate) fn started(&self) -> u64 {
        self.started.load(Ordering::Acquire)
    }

    /// Walks over the store made so far (refreshes that found the revision unchanged make none).
    #[cfg(test)]
    pub(crate) fn walks(&self) -> u64 {
        self.walks.load(Ordering::Acquire)
    }

    /// Whether a lookup should have the proof looked at again: none yet, or not confirmed for
    /// [`Pace::recheck`].
    pub(crate) fn recheck_due(&self) -> bool {
        let Some(p) = self.current() else {
            return true;
        };
        let seen = (*self.confirmed.lock()).map_or(p.made, |c| c.max(p.made));
        seen.elapsed() >= self.pace.recheck
    }

    /// The refresh task in flight (tests await it; `None` when none runs).
    #[cfg(test)]
    pub(crate) fn take_task(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.task.lock().take()
    }

    /// Stops the refresh in flight (the plan is gone).
    pub(crate) fn abort(&self) {
        if let Some(task) = self.task.lock().as_ref() {
            task.abort();
        }
    }

    /// Starts a refresh in the background unless one runs or the pause after the last proof
    /// is not over; outside a Tokio runtime, refreshes in place. Returns at once either way
    /// when a runtime is there.
    pub(crate) async fn refresh(self: &Arc<Self>, prover: &Arc<Prover>, store: &SqlTupleStore) {
        if let Some((start, took)) = *self.last.lock() {
            let pause = (took * self.pace.factor).max(self.pace.min_pause);
            if start.elapsed() < pause {
                return;
            }
        }
        if self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        self.started.fetch_add(1, Ordering::AcqRel);
        let (proofs, prover, store) = (self.clone(), prover.clone(), store.clone());
        let work = async move {
            let _busy = Busy(&proofs.busy);
            proofs.run(&prover, &store).await;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let task = runtime.spawn(work);
                *self.task.lock() = Some(task);
            }
            Err(_) => work.await,
        }
    }

    /// One refresh: nothing more than a revision read when the store is still at the proof's
    /// revision; else a new proof (errors and timeouts leave the last one in place).
    async fn run(&self, prover: &Prover, store: &SqlTupleStore) {
        if let Some(at) = self.current().map(|p| p.revision)
            && let Ok(Ok(now)) =
                tokio::time::timeout(PROOF_TIMEOUT, prover.read_revision(store)).await
            && now == at
        {
            *self.confirmed.lock() = Some(Instant::now());
            return;
        }
        self.walks.fetch_add(1, Ordering::AcqRel);
        let start = Instant::now();
        let proof = tokio::time::timeout(PROOF_TIMEOUT, prover.prove(store)).await;
        *self.last.lock() = Some((start, start.elapsed()));
        if let Ok(Ok(Some(p))) = proof {
            *self.current.lock() = Some(Arc::new(p));
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use psm_rebac::{Relationship, RelationshipUpdate, Schema, TupleStore};

    use super::*;

    const SCHEMA: &str = "
        definition user {}
        definition group { relation member: user | group#member }
        definition doc {
            relation reader: user | group#member
            permission view = reader
        }";

    async fn write(store: &SqlTupleStore, rels: &[&str]) {
        let updates: Vec<RelationshipUpdate> = rels
            .iter()
            .map(|r| RelationshipUpdate::touch(r.parse::<Relationship>().unwrap()))
            .collect();
        store.write(&updates, &[]).await.unwrap();
    }

    async fn proof(store: &SqlTupleStore, max: u32) -> Proof {
        let schema = Schema::parse_spicedb(SCHEMA).unwrap();
        let inner = store.live().unwrap();
        let prover = Prover::new(
            schema.analysis(),
            &guard::rule_list(&schema),
            Dialect::Sqlite,
            &inner.tables.tuples,
            &inner.tables.revision,
            max,
        )
        .unwrap();
        prover.prove(store).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn bounds_are_the_longest_walks_and_cycles_are_unbounded() {
        let store = SqlTupleStore::connect("sqlite::memory:").await.unwrap();
        // doc:d#view (0), doc:d#reader (1), group:c1#member (2), c2 (3), c3 (4)
        write(
            &store,
            &[
                "doc:d#reader@group:c1#member",
                "group:c1#member@group:c2#member",
                "group:c2#member@group:c3#member",
                "group:c3#member@user:u",
            ],
        )
        .await;
        let at = TupleStore::revision(&store).await.unwrap();
        let p = proof(&store, 4).await;
        assert_eq!(u64::try_from(p.revision).unwrap(), at);
        assert!(p.covers("doc", "view") && p.covers("group", "member") && p.all);
        let p = proof(&store, 3).await;
        assert!(!p.covers("doc", "view") && !p.all);
        assert!(p.covers("doc", "reader") && p.covers("group", "member"));
        // a cycle: no limit covers it
        write(&store, &["group:c3#member@group:c1#member"]).await;
        let p = proof(&store, 50).await;
        assert!(!p.covers("group", "member") && !p.covers("doc", "view") && !p.all);
        assert!(u64::try_from(p.revision).unwrap() > at);
    }
}
