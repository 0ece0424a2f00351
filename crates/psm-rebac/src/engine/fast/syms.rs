//! Symbols for one fast-path request: the store's interned ids, plus request-local ids for
//! strings the store has never seen (they can match no stored tuple, but must still compare).

use foldhash::HashMap;
use parking_lot::RwLock;

use crate::store::capability::{IndexSnapshot, NO_RELATION as NONE, Sym};

/// How many resolutions the per-request address cache keeps.
const MAX_CACHED: usize = 64;

/// A name's address and length: the key of the schema-name caches.
type Addr = (usize, usize);

/// A schema name's address and the store symbol a request found for it.
pub(crate) type Fresh = (Addr, Sym);

/// Store symbols of schema-owned names, shared by one engine's requests so that a request does
/// not resolve them again. Keyed by address, which is sound because the engine's schema is
/// immutable and lives as long as this cache; only symbols the store has issued are kept (they
/// never change), and the cache is cleared if it is ever used with a different store.
#[derive(Debug, Default)]
pub(crate) struct SchemaSyms {
    map: RwLock<(usize, HashMap<Addr, Sym>)>,
}

impl SchemaSyms {
    /// A read view for one request over `store`.
    pub(crate) fn read(&self) -> parking_lot::RwLockReadGuard<'_, (usize, HashMap<Addr, Sym>)> {
        self.map.read()
    }

    /// Adds the symbols a request resolved for the first time.
    pub(crate) fn learn(&self, store: &dyn IndexSnapshot, fresh: Vec<(Addr, Sym)>) {
        if fresh.is_empty() {
            return;
        }
        let id = store.symbol_space();
        let mut g = self.map.write();
        if g.0 != id {
            *g = (id, HashMap::default());
        }
        if g.1.len() < 4096 {
            g.1.extend(fresh);
        }
    }
}

/// The store's symbol table seen from one request, extended with local symbols.
pub(crate) struct Syms<'a> {
    store: &'a dyn IndexSnapshot,
    /// Local symbol `k` is `NONE - 1 - k`.
    local: Vec<&'a str>,
    by_name: HashMap<&'a str, Sym>,
    /// Resolutions by address: the schema's names recur, and hashing an address beats hashing
    /// and comparing the string against the store's large table.
    /// A short list searched linearly: a request touches few distinct names.
    by_ptr: Vec<(usize, usize, Sym)>,
    /// The engine-wide cache of schema names (empty if it belongs to another store).
    shared: Option<&'a HashMap<Addr, Sym>>,
    /// Schema names this request found in the store that the shared cache lacks.
    fresh: Vec<(Addr, Sym)>,
}

impl<'a> Syms<'a> {
    pub(crate) fn new(
        store: &'a dyn IndexSnapshot,
        shared: &'a (usize, HashMap<Addr, Sym>),
    ) -> Self {
        let same_store = shared.0 == store.symbol_space();
        Self {
            store,
            local: Vec::new(),
            by_name: HashMap::default(),
            by_ptr: Vec::with_capacity(32),
            shared: same_store.then_some(&shared.1),
            fresh: Vec::new(),
        }
    }

    /// The schema names resolved for the first time, for [`SchemaSyms::learn`].
    pub(crate) fn into_fresh(self) -> Vec<(Addr, Sym)> {
        self.fresh
    }

    /// The symbol for a string owned by the engine's schema (or `'static`): cached by address.
    pub(crate) fn sym(&mut self, s: &'a str) -> Sym {
        let at = (s.as_ptr() as usize, s.len());
        if let Some(&x) = self.shared.and_then(|m| m.get(&at)) {
            return x;
        }
        if let Some(&(_, _, x)) = self.by_ptr.iter().find(|e| (e.0, e.1) == at) {
            return x;
        }
        let x = self.sym_request(s);
        if self.store.name(x).is_some() {
            self.fresh.push((at, x));
        }
        if self.by_ptr.len() < MAX_CACHED {
            self.by_ptr.push((at.0, at.1, x));
        }
        x
    }

    /// The store these symbols index.
    pub(crate) fn store(&self) -> &'a dyn IndexSnapshot {
        self.store
    }

    /// The store's symbol for `s`, if the store has ever seen it.
    pub(crate) fn find(&self, s: &str) -> Option<Sym> {
        self.store.find(s)
    }

    /// The symbol for a string from the request: the store's, or a request-local one.
    pub(crate) fn sym_request(&mut self, s: &'a str) -> Sym {
        if let Some(x) = self.store.find(s) {
            return x;
        }
        if let Some(&x) = self.by_name.get(s) {
            return x;
        }
        let k = u32::try_from(self.local.len()).unwrap_or(u32::MAX);
        let x = NONE.saturating_sub(1).saturating_sub(k);
        self.local.push(s);
        self.by_name.insert(s, x);
        x
    }

    /// The string of a symbol (empty for `NONE` or an id never issued).
    pub(crate) fn name(&self, x: Sym) -> &'a str {
        if let Some(s) = self.store.name(x) {
            return s;
        }
        let k = NONE.saturating_sub(1).wrapping_sub(x) as usize;
        self.local.get(k).copied().unwrap_or("")
    }
}
