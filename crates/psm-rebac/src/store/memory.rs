//! In-memory `TupleStore`: interned strings, a forward index by resource and a reverse index by
//! subject, and a bounded change log whose watchers are woken by every write.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use foldhash::{HashMap, HashSet};
use parking_lot::RwLock;

use super::capability::{IndexSnapshot, InternedIndex};
use super::change::{Change, ChangeLog, ChangeOp, MAX_CHANGES};
use super::{Revision, TupleStore};
use crate::error::{Error, Result};
use crate::filter::{
    Precondition, RelationshipFilter, RelationshipUpdate, SubjectRelationFilter, UpdateOp,
};
use crate::relationship::{CaveatRef, ObjectRef, Relationship, SubjectRef};

/// Symbol used for "no subject relation".
pub(crate) use super::capability::NO_RELATION as NONE;
/// An interned string: an index into the store's symbol table.
pub(crate) use super::capability::Sym;
/// A stored tuple: resource type, id, relation, subject type, id, relation.
pub(crate) type Tuple = [Sym; 6];

/// An in-memory relationship store. Cloning the handle is cheap; state is shared.
///
/// Every write is logged for watchers in a bounded change log
/// ([`DEFAULT_CHANGE_LOG_CAPACITY`](super::change::DEFAULT_CHANGE_LOG_CAPACITY) changes unless
/// set with [`MemoryStore::with_change_log_capacity`]); the oldest changes are pruned past the
/// cap, and a watcher asking for changes older than that gets
/// [`Error::ChangesPruned`]. `watch_next` sleeps until a write wakes it (no polling).
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    inner: Arc<RwLock<Inner>>,
    /// The head revision, sent after every write to wake watchers.
    head: Arc<tokio::sync::watch::Sender<Revision>>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    symbols: Vec<Arc<str>>,
    lookup: HashMap<Arc<str>, Sym>,
    tuples: HashSet<Tuple>,
    /// (resource type, id, relation, subject type, subject relation) -> subject ids.
    forward: HashMap<[Sym; 5], Vec<Sym>>,
    /// (resource type, id, relation) -> the (subject type, subject relation) pairs present.
    kinds: HashMap<[Sym; 3], Vec<[Sym; 2]>>,
    /// (subject type, id, relation) -> (resource type, id, relation).
    reverse: HashMap<[Sym; 3], Vec<[Sym; 3]>>,
    /// (subject type, id) -> the subject relations present (`NONE` for plain subjects).
    subject_rels: HashMap<[Sym; 2], Vec<Sym>>,
    /// Caveat and expiration of the tuples that have one.
    extras: HashMap<Tuple, Extra>,
    revision: Revision,
    /// What writes applied, for watchers.
    log: ChangeLog,
    /// This table's symbol space, unique in the process.
    space: SymbolSpace,
}

/// A symbol-space id no other table of this process has had (an address could be reused by a
/// table made after this one is dropped, as a mirror does when it reloads).
#[derive(Debug)]
struct SymbolSpace(usize);

impl Default for SymbolSpace {
    fn default() -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        Self(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// What a relationship carries beyond its key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extra {
    caveat: Option<CaveatRef>,
    expiration: Option<crate::Expiration>,
}

impl Extra {
    fn of(r: &Relationship) -> Option<Self> {
        (r.caveat.is_some() || r.expiration.is_some()).then(|| Self {
            caveat: r.caveat.clone(),
            expiration: r.expiration.clone(),
        })
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose change log keeps at most `capacity` changes (0: none; every
    /// watcher behind the head then gets [`Error::ChangesPruned`]).
    pub fn with_change_log_capacity(capacity: usize) -> Self {
        let store = Self::default();
        store.inner.write().log = ChangeLog::with_capacity(capacity);
        store
    }

    /// How many relationships are stored.
    pub fn len(&self) -> usize {
        self.inner.read().tuples.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some stored relationship has a caveat or an expiration.
    pub fn has_conditions(&self) -> bool {
        !self.inner.read().extras.is_empty()
    }

    /// Inserts relationships without preconditions or duplicate errors (bulk loading). The
    /// changes are not logged: watchers behind the returned revision must resync.
    pub fn extend<I: IntoIterator<Item = Relationship>>(&self, rels: I) -> Revision {
        let mut g = self.inner.write();
        for r in rels {
            let t = g.intern_tuple(&r);
            g.insert(t);
            g.set_extra(t, &r);
        }
        g.revision += 1;
        let rev = g.revision;
        g.log.mark_unlogged(rev);
        drop(g);
        self.head.send_replace(rev);
        rev
    }
}

impl Inner {
    fn intern(&mut self, s: &Arc<str>) -> Sym {
        if let Some(&x) = self.lookup.get(&**s) {
            return x;
        }
        let id = Sym::try_from(self.symbols.len()).unwrap_or(NONE - 1);
        self.symbols.push(s.clone());
        self.lookup.insert(s.clone(), id);
        id
    }

    /// The symbol of an interned string.
    pub(crate) fn find(&self, s: &str) -> Option<Sym> {
        self.lookup.get(s).copied()
    }

    /// The string of a symbol (`None` for a symbol this store never issued).
    pub(crate) fn name(&self, s: Sym) -> Option<&str> {
        self.symbols.get(s as usize).map(|x| &**x)
    }

    /// Whether this exact tuple is stored.
    pub(crate) fn has(&self, t: &Tuple) -> bool {
        self.tuples.contains(t)
    }

    /// Subject ids of `(resource type, id, relation, subject type, subject relation)`.
    pub(crate) fn subject_ids(&self, key: &[Sym; 5]) -> &[Sym] {
        self.forward.get(key).map_or(&[], Vec::as_slice)
    }

    /// The `(subject type, subject relation)` kinds stored on `(resource type, id, relation)`.
    pub(crate) fn subject_kinds(&self, key: &[Sym; 3]) -> &[[Sym; 2]] {
        self.kinds.get(key).map_or(&[], Vec::as_slice)
    }

    /// `(resource type, id, relation)` of every tuple whose subject is `(type, id, relation)`.
    pub(crate) fn resources_of(&self, subject: &[Sym; 3]) -> &[[Sym; 3]] {
        self.reverse.get(subject).map_or(&[], Vec::as_slice)
    }

    /// The subject relations (`NONE` for plain subjects) stored for subject object `(type, id)`.
    pub(crate) fn subject_relations(&self, object: &[Sym; 2]) -> &[Sym] {
        self.subject_rels.get(object).map_or(&[], Vec::as_slice)
    }

    fn intern_tuple(&mut self, r: &Relationship) -> Tuple {
        [
            self.intern(&r.resource.object_type),
            self.intern(&r.resource.object_id),
            self.intern(&r.relation),
            self.intern(&r.subject.object.object_type),
            self.intern(&r.subject.object.object_id),
            r.subject.relation.as_ref().map_or(NONE, |x| self.intern(x)),
        ]
    }

    /// The tuple for a relationship if every string is already known.
    fn find_tuple(&self, r: &Relationship) -> Option<Tuple> {
        Some([
            self.find(&r.resource.object_type)?,
            self.find(&r.resource.object_id)?,
            self.find(&r.relation)?,
            self.find(&r.subject.object.object_type)?,
            self.find(&r.subject.object.object_id)?,
            match &r.subject.relation {
                Some(x) => self.find(x)?,
                None => NONE,
            },
        ])
    }

    fn insert(&mut self, t: Tuple) {
        if self.tuples.insert(t) {
            let ids = self
                .forward
                .entry([t[0], t[1], t[2], t[3], t[5]])
                .or_default();
            if ids.is_empty() {
                self.kinds
                    .entry([t[0], t[1], t[2]])
                    .or_default()
                    .push([t[3], t[5]]);
            }
            ids.push(t[4]);
            let rev = self.reverse.entry([t[3], t[4], t[5]]).or_default();
            if rev.is_empty() {
                self.subject_rels
                    .entry([t[3], t[4]])
                    .or_default()
                    .push(t[5]);
            }
            rev.push([t[0], t[1], t[2]]);
        }
    }

    /// Records (or clears) the caveat and expiration of a stored tuple.
    fn set_extra(&mut self, t: Tuple, r: &Relationship) {
        match Extra::of(r) {
            Some(e) => {
                self.extras.insert(t, e);
            }
            None => {
                self.extras.remove(&t);
            }
        }
    }

    fn remove(&mut self, t: Tuple) {
        self.extras.remove(&t);
        if self.tuples.remove(&t) {
            let key = [t[0], t[1], t[2], t[3], t[5]];
            if remove_from(&mut self.forward, key, t[4]) {
                remove_from(&mut self.kinds, [t[0], t[1], t[2]], [t[3], t[5]]);
            }
            if remove_from(&mut self.reverse, [t[3], t[4], t[5]], [t[0], t[1], t[2]]) {
                remove_from(&mut self.subject_rels, [t[3], t[4]], t[5]);
            }
        }
    }

    fn sym(&self, s: Sym) -> Arc<str> {
        self.symbols
            .get(s as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }

    fn relationship(&self, t: Tuple) -> Relationship {
        let mut r = self.bare_relationship(t);
        if let Some(e) = self.extras.get(&t) {
            r.caveat.clone_from(&e.caveat);
            r.expiration.clone_from(&e.expiration);
        }
        r
    }

    fn bare_relationship(&self, t: Tuple) -> Relationship {
        Relationship::new(
            ObjectRef {
                object_type: self.sym(t[0]),
                object_id: self.sym(t[1]),
            },
            self.sym(t[2]),
            SubjectRef {
                object: ObjectRef {
                    object_type: self.sym(t[3]),
                    object_id: self.sym(t[4]),
                },
                relation: (t[5] != NONE).then(|| self.sym(t[5])),
            },
        )
    }

    fn read(&self, f: &RelationshipFilter, limit: Option<usize>) -> Vec<Relationship> {
        let limit = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let push = |t: Tuple, out: &mut Vec<Relationship>| {
            let r = self.relationship(t);
            if f.matches(&r) && out.len() < limit {
                out.push(r);
            }
        };
        // Resource-keyed lookups use the forward index.
        if let (Some(ty), Some(id), Some(rel)) = (&f.resource_type, &f.resource_id, &f.relation) {
            let (Some(a), Some(b), Some(c)) = (self.find(ty), self.find(id), self.find(rel)) else {
                return out;
            };
            let Some(kinds) = self.kinds.get(&[a, b, c]) else {
                return out;
            };
            // Resolve the subject constraints once: `None` means "cannot match anything".
            let want_type = f.subject.as_ref().map(|sf| self.find(&sf.subject_type));
            let want_rel = f.subject.as_ref().and_then(|sf| match &sf.relation {
                SubjectRelationFilter::Any => None,
                SubjectRelationFilter::None => Some(Some(NONE)),
                SubjectRelationFilter::Relation(r) => Some(self.find(r)),
            });
            let want_id = f
                .subject
                .as_ref()
                .and_then(|sf| sf.subject_id.as_ref().map(|id| self.find(id)));
            for &[st, sr] in kinds {
                if want_type.is_some_and(|w| w != Some(st))
                    || want_rel.is_some_and(|w| w != Some(sr))
                {
                    continue;
                }
                if let Some(sid) = want_id {
                    if let Some(sid) = sid {
                        let t = [a, b, c, st, sid, sr];
                        if self.tuples.contains(&t) && out.len() < limit {
                            out.push(self.relationship(t));
                        }
                    }
                    continue;
                }
                for &sid in self.forward.get(&[a, b, c, st, sr]).into_iter().flatten() {
                    if out.len() >= limit {
                        break;
                    }
                    out.push(self.relationship([a, b, c, st, sid, sr]));
                }
            }
            return out;
        }
        // Subject-keyed lookups use the reverse index.
        if let Some(sf) = &f.subject
            && let Some(id) = &sf.subject_id
        {
            let (Some(a), Some(b)) = (self.find(&sf.subject_type), self.find(id)) else {
                return out;
            };
            let rels: Vec<Sym> = match &sf.relation {
                SubjectRelationFilter::None => vec![NONE],
                SubjectRelationFilter::Relation(r) => match self.find(r) {
                    Some(x) => vec![x],
                    None => return out,
                },
                SubjectRelationFilter::Any => {
                    self.subject_rels.get(&[a, b]).cloned().unwrap_or_default()
                }
            };
            // Resource-side constraints, resolved to symbols before anything is built.
            let want = |x: &Option<Arc<str>>| x.as_ref().map(|v| self.find(v));
            let (wt, wi, wr) = (
                want(&f.resource_type),
                want(&f.resource_id),
                want(&f.relation),
            );
            let ok = |w: Option<Option<Sym>>, v: Sym| w.is_none_or(|w| w == Some(v));
            for c in rels {
                for o in self.reverse.get(&[a, b, c]).into_iter().flatten() {
                    if ok(wt, o[0]) && ok(wi, o[1]) && ok(wr, o[2]) {
                        push([o[0], o[1], o[2], a, b, c], &mut out);
                    }
                }
            }
            return out;
        }
        for t in &self.tuples {
            push(*t, &mut out);
        }
        out
    }
}

/// Removes one value from a multimap entry; returns whether the entry became empty.
fn remove_from<K: std::hash::Hash + Eq, V: PartialEq>(
    map: &mut HashMap<K, Vec<V>>,
    key: K,
    value: V,
) -> bool {
    let mut emptied = false;
    if let Some(v) = map.get_mut(&key) {
        if let Some(i) = v.iter().position(|x| *x == value) {
            v.swap_remove(i);
        }
        emptied = v.is_empty();
    }
    if emptied {
        map.remove(&key);
    }
    emptied
}

impl MemoryStore {
    /// Applies another store's changes (as its `changes_since` listed them) in one step under
    /// the write lock, outside this store's change log and revision: a mirror's replica. A
    /// touch stores the relationship with its caveat and expiration, a delete removes it if
    /// present.
    #[cfg(feature = "mirror")]
    pub(crate) fn apply_changes(&self, changes: &[Change]) {
        let mut g = self.inner.write();
        for c in changes {
            match c.op {
                ChangeOp::Touch => {
                    let t = g.intern_tuple(&c.relationship);
                    g.insert(t);
                    g.set_extra(t, &c.relationship);
                }
                ChangeOp::Delete => {
                    if let Some(t) = g.find_tuple(&c.relationship)
                        && g.tuples.contains(&t)
                    {
                        g.remove(t);
                    }
                }
            }
        }
    }
}

#[async_trait]
impl TupleStore for MemoryStore {
    async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> Result<Revision> {
        let mut g = self.inner.write();
        for p in preconditions {
            let found = !g.read(&p.filter, Some(1)).is_empty();
            if found != p.must_exist {
                return Err(Error::PreconditionFailed {
                    filter: p.filter.to_string(),
                    must_exist: p.must_exist,
                });
            }
        }
        let mut seen = HashSet::default();
        for u in updates {
            let key = u.relationship.key();
            if !seen.insert(key.clone()) {
                return Err(Error::RepeatedRelationship {
                    relationship: key.to_string(),
                });
            }
            if u.op == UpdateOp::Create && g.find_tuple(&key).is_some_and(|t| g.tuples.contains(&t))
            {
                return Err(Error::AlreadyExists {
                    relationship: key.to_string(),
                });
            }
        }
        let revision = g.revision + 1;
        for u in updates {
            match u.op {
                UpdateOp::Create | UpdateOp::Touch => {
                    let t = g.intern_tuple(&u.relationship);
                    g.insert(t);
                    g.set_extra(t, &u.relationship);
                    g.log.push(Change {
                        revision,
                        op: ChangeOp::Touch,
                        relationship: u.relationship.clone(),
                    });
                }
                UpdateOp::Delete => {
                    if let Some(t) = g.find_tuple(&u.relationship)
                        && g.tuples.contains(&t)
                    {
                        g.remove(t);
                        g.log.push(Change {
                            revision,
                            op: ChangeOp::Delete,
                            relationship: u.relationship.key(),
                        });
                    }
                }
            }
        }
        g.revision = revision;
        drop(g);
        self.head.send_replace(revision);
        Ok(revision)
    }

    async fn revision(&self) -> Result<Revision> {
        Ok(self.inner.read().revision)
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> Result<Vec<Change>> {
        let g = self.inner.read();
        g.log.since(after, limit, g.revision)
    }

    /// Waits for a write (no polling): subscribes to the head before reading the log, so a
    /// write landing in between still wakes it.
    async fn watch_next(&self, after: Revision, wait: Duration) -> Result<Vec<Change>> {
        let mut head = self.head.subscribe();
        let deadline = super::watch::deadline(wait);
        loop {
            let changes = self.changes_since(after, MAX_CHANGES).await?;
            if !changes.is_empty() {
                return Ok(changes);
            }
            match tokio::time::timeout_at(deadline, head.changed()).await {
                Ok(Ok(())) => {}
                // the wait ran out (or the sender went, which `self` keeps from happening)
                Ok(Err(_)) | Err(_) => return Ok(Vec::new()),
            }
        }
    }

    async fn prune_changes(&self, through: Revision) -> Result<u64> {
        let mut g = self.inner.write();
        let through = through.min(g.revision);
        Ok(g.log.prune(through))
    }

    async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> Result<Vec<Relationship>> {
        Ok(self.inner.read().read(filter, limit))
    }

    fn interned_index(&self) -> Option<&dyn InternedIndex> {
        Some(self)
    }

    async fn contains(&self, relationship: &Relationship) -> Result<bool> {
        let g = self.inner.read();
        Ok(g.find_tuple(relationship)
            .is_some_and(|t| g.tuples.contains(&t)))
    }
}

/// The engine's synchronous fast path reads the store under its read lock.
impl InternedIndex for MemoryStore {
    fn read(&self, f: &mut dyn FnMut(&dyn IndexSnapshot)) {
        f(&*self.inner.read());
    }
}

impl IndexSnapshot for Inner {
    fn symbol_space(&self) -> usize {
        // symbols are only ever added, and the id is never reused in this process
        self.space.0
    }
    fn find(&self, s: &str) -> Option<Sym> {
        Inner::find(self, s)
    }
    fn name(&self, s: Sym) -> Option<&str> {
        Inner::name(self, s)
    }
    fn has(&self, tuple: &[Sym; 6]) -> bool {
        Inner::has(self, tuple)
    }
    fn subject_ids(&self, key: &[Sym; 5]) -> &[Sym] {
        Inner::subject_ids(self, key)
    }
    fn subject_kinds(&self, key: &[Sym; 3]) -> &[[Sym; 2]] {
        Inner::subject_kinds(self, key)
    }
    fn resources_of(&self, subject: &[Sym; 3]) -> &[[Sym; 3]] {
        Inner::resources_of(self, subject)
    }
    fn subject_relations(&self, object: &[Sym; 2]) -> &[Sym] {
        Inner::subject_relations(self, object)
    }
    fn has_conditions(&self) -> bool {
        !self.extras.is_empty()
    }
}
