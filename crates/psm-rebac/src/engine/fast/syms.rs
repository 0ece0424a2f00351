//! Symbols for one fast-path request: the store's interned ids, the compiled schema's fixed
//! symbols for the schema names the store lacks, plus request-local ids for the request's own
//! strings the store has never seen (they can match no stored tuple, but must still compare).

use foldhash::HashMap;

use super::compiled::{Compiled, local_index, local_sym};
use crate::store::capability::{IndexSnapshot, Sym};

/// The store's symbol table seen from one request, extended with local symbols.
pub(crate) struct Syms<'a> {
    store: &'a dyn IndexSnapshot,
    /// The engine's schema on this store's symbols.
    compiled: &'a Compiled,
    /// Request-local symbol `k` is `local_sym(missing + k)` (after the schema's missing names).
    local: Vec<&'a str>,
    by_name: HashMap<&'a str, Sym>,
}

impl<'a> Syms<'a> {
    pub(crate) fn new(store: &'a dyn IndexSnapshot, compiled: &'a Compiled) -> Self {
        Self {
            store,
            compiled,
            local: Vec::new(),
            by_name: HashMap::default(),
        }
    }

    /// The compiled schema these symbols extend.
    pub(crate) fn compiled(&self) -> &'a Compiled {
        self.compiled
    }

    /// The symbol for a schema name (the same as [`sym_request`](Self::sym_request)).
    pub(crate) fn sym(&mut self, s: &'a str) -> Sym {
        self.sym_request(s)
    }

    /// The store these symbols index.
    pub(crate) fn store(&self) -> &'a dyn IndexSnapshot {
        self.store
    }

    /// The store's symbol for `s`, if the store has ever seen it.
    pub(crate) fn find(&self, s: &str) -> Option<Sym> {
        self.store.find(s)
    }

    /// The symbol for a string from the request: the store's, the compiled schema's, or a
    /// request-local one.
    pub(crate) fn sym_request(&mut self, s: &'a str) -> Sym {
        if let Some(x) = self.store.find(s) {
            return x;
        }
        if let Some(x) = self.compiled.missing_sym(s) {
            return x;
        }
        if let Some(&x) = self.by_name.get(s) {
            return x;
        }
        let x = local_sym(self.compiled.missing.len() + self.local.len());
        self.local.push(s);
        self.by_name.insert(s, x);
        x
    }

    /// The string of a symbol (empty for `NONE` or an id never issued).
    pub(crate) fn name(&self, x: Sym) -> &'a str {
        if let Some(s) = self.store.name(x) {
            return s;
        }
        let k = local_index(x);
        let missing = &self.compiled.missing;
        match missing.get(k) {
            Some(m) => m,
            None => self
                .local
                .get(k.wrapping_sub(missing.len()))
                .copied()
                .unwrap_or(""),
        }
    }
}
