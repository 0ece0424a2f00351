//! The engine's schema resolved once onto one store's symbols, for the fast path: per relation
//! (dense ids: the schema analysis's node ids) its type and relation symbols, its allowed
//! subject kinds, whether a cycle cut there is false, and the symbols and relations every leaf
//! of its rewrite names. A request then evaluates on ids alone: no name is hashed or compared
//! in the evaluation loop.
//!
//! Names the store has never issued (a permission's name, usually) get fixed symbols just under
//! `NONE`, which the request's own strings share ([`Syms`](super::Syms)); the compiled form is
//! valid while the store keeps the same symbol space and still lacks every one of them (a name
//! the store issues later would otherwise have two symbols), which each request checks.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::engine::reverse::ReverseIndex;
use crate::schema::{ArrowKind, Rewrite, Schema};
use crate::store::capability::{IndexSnapshot, NO_RELATION as NONE, Sym};

/// A relation's dense id: its node id in the schema analysis.
pub(crate) type NodeId = u32;

/// The symbol of the `k`th name the store lacks (request-local symbols follow them).
pub(crate) fn local_sym(k: usize) -> Sym {
    let k = u32::try_from(k).unwrap_or(u32::MAX);
    NONE.saturating_sub(1).saturating_sub(k)
}

/// The index `k` of a symbol issued by [`local_sym`].
pub(crate) fn local_index(x: Sym) -> usize {
    NONE.saturating_sub(1).wrapping_sub(x) as usize
}

/// One allowed subject kind of a relation, on symbols (parallel to `Relation::allowed`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Allowed {
    /// The subject type.
    pub ty: Sym,
    /// The subject relation (`NONE` for a plain or wildcard subject).
    pub rel: Sym,
    /// Whether this is the wildcard `type:*`.
    pub wildcard: bool,
    /// The relation `ty#rel` of a userset kind, if the schema has it.
    pub node: Option<NodeId>,
}

/// One object kind an arrow's tupleset allows (non-wildcard), with the arrow's computed
/// relation on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArrowTarget {
    /// The tupleset's subject type.
    pub ty: Sym,
    /// The tupleset's subject relation (`NONE` for plain subjects).
    pub rel: Sym,
    /// The computed relation on `ty`, if the schema has it.
    pub node: Option<NodeId>,
}

/// What a rewrite leaf names, resolved.
#[derive(Debug, Clone)]
pub(crate) enum Leaf {
    /// A computed relation of the same object (`None`: the schema lacks it).
    Computed(Option<NodeId>),
    /// `tupleset->computed`.
    Arrow {
        /// The tupleset relation's symbol.
        ts: Sym,
        /// Whether the object's type has the tupleset relation.
        has_ts: bool,
        /// Any or all.
        kind: ArrowKind,
        /// The tupleset's allowed object kinds.
        targets: Vec<ArrowTarget>,
    },
}

/// One relation of the schema, resolved.
#[derive(Debug, Clone)]
pub(crate) struct NodeInfo {
    /// The relation's symbol.
    pub rel: Sym,
    /// Whether a cycle cut here is false (a closed plain relation; `rules::cycle_cut`).
    pub closed: bool,
    /// Whether the rewrite is exactly the stored relationships.
    pub plain: bool,
    /// The allowed subject kinds, in the relation's order.
    pub allowed: Vec<Allowed>,
    /// The leaves of the rewrite that name something, by the leaf's address in the schema.
    leaves: Vec<(usize, Leaf)>,
}

impl NodeInfo {
    /// What the leaf `rw` of this relation's rewrite names (`None` for another leaf).
    #[inline]
    pub(crate) fn leaf(&self, rw: &Rewrite) -> Option<&Leaf> {
        let at = std::ptr::from_ref(rw) as usize;
        self.leaves.iter().find(|l| l.0 == at).map(|l| &l.1)
    }

    /// Whether this relation allows a subject `(type, id, relation)` of this kind (`rules::allows`
    /// on symbols; `star` is the symbol of `*`).
    #[inline]
    pub(crate) fn allows(&self, subject: [Sym; 3], star: Sym) -> bool {
        let wildcard = subject[1] == star;
        self.allowed
            .iter()
            .any(|a| a.ty == subject[0] && a.wildcard == wildcard && a.rel == subject[2])
    }
}

/// The engine's schema on one store's symbols.
#[derive(Debug)]
pub(crate) struct Compiled {
    /// The store's symbol space these symbols belong to.
    space: usize,
    /// The schema names the store lacked: name `k` is [`local_sym`]`(k)`.
    pub missing: Vec<Box<str>>,
    /// The relations, by node id.
    pub nodes: Vec<NodeInfo>,
    /// Relations some relation allows as a userset subject kind, whose names the store has
    /// issued: `(type, relation)` and the relation.
    pub userset_targets: Vec<([Sym; 2], NodeId)>,
    /// The symbol of `*`.
    pub star: Sym,
    /// Whether the store has issued `*` (some stored subject may be a wildcard).
    pub star_stored: bool,
}

impl Compiled {
    /// Resolves `schema` (analysed in `index`) on `store`'s symbols.
    pub(crate) fn new(schema: &Schema, index: &ReverseIndex, store: &dyn IndexSnapshot) -> Self {
        let analysis = &*index.analysis;
        let mut missing: Vec<Box<str>> = Vec::new();
        let mut sym = |s: &str| -> Sym {
            if let Some(x) = store.find(s) {
                return x;
            }
            let k = match missing.iter().position(|m| &**m == s) {
                Some(k) => k,
                None => {
                    missing.push(s.into());
                    missing.len() - 1
                }
            };
            local_sym(k)
        };
        let node = |t: &str, r: &str| {
            analysis
                .node_id(t, r)
                .and_then(|n| NodeId::try_from(n).ok())
        };
        let star_stored = store.find("*").is_some();
        let star = sym("*");
        let mut nodes: Vec<Option<NodeInfo>> = vec![None; analysis.nodes().len()];
        for def in schema.definitions() {
            for rel in &def.relations {
                let Some(n) = node(&def.name, &rel.name) else {
                    continue;
                };
                let allowed = rel
                    .allowed
                    .iter()
                    .map(|a| Allowed {
                        ty: sym(&a.object_type),
                        rel: a.relation.as_deref().map_or(NONE, &mut sym),
                        wildcard: a.wildcard,
                        node: a.relation.as_deref().and_then(|r| node(&a.object_type, r)),
                    })
                    .collect();
                let mut leaves = Vec::new();
                rel.rewrite.for_each_leaf(&mut |leaf| {
                    let at = std::ptr::from_ref(leaf) as usize;
                    match leaf {
                        Rewrite::Computed { relation, .. } => {
                            leaves.push((at, Leaf::Computed(node(&def.name, relation))));
                        }
                        Rewrite::Arrow {
                            tupleset,
                            computed,
                            kind,
                            ..
                        } => {
                            let ts_rel = def.relation(tupleset);
                            let targets = ts_rel
                                .map(|t| {
                                    t.allowed
                                        .iter()
                                        .filter(|a| !a.wildcard)
                                        .map(|a| ArrowTarget {
                                            ty: sym(&a.object_type),
                                            rel: a.relation.as_deref().map_or(NONE, &mut sym),
                                            node: node(&a.object_type, computed),
                                        })
                                        .collect()
                                })
                                .unwrap_or_default();
                            leaves.push((
                                at,
                                Leaf::Arrow {
                                    ts: sym(tupleset),
                                    has_ts: ts_rel.is_some(),
                                    kind: *kind,
                                    targets,
                                },
                            ));
                        }
                        _ => {}
                    }
                });
                let info = NodeInfo {
                    rel: sym(&rel.name),
                    closed: index.pair(&def.name, &rel.name).is_some_and(|p| p.closed),
                    plain: rel.rewrite == Rewrite::This,
                    allowed,
                    leaves,
                };
                if let Some(slot) = nodes.get_mut(n as usize) {
                    *slot = Some(info);
                }
            }
        }
        let mut userset_targets: Vec<([Sym; 2], NodeId)> = index
            .userset_targets
            .iter()
            .filter_map(|(t, r)| Some(([store.find(t)?, store.find(r)?], node(t, r)?)))
            .collect();
        userset_targets.sort_unstable();
        let nodes = nodes
            .into_iter()
            .map(|n| {
                n.unwrap_or(NodeInfo {
                    rel: NONE,
                    closed: false,
                    plain: false,
                    allowed: Vec::new(),
                    leaves: Vec::new(),
                })
            })
            .collect();
        Self {
            space: store.symbol_space(),
            missing,
            nodes,
            userset_targets,
            star,
            star_stored,
        }
    }

    /// Whether these symbols still hold for `store`: the same symbol space, and every name the
    /// store lacked is still unknown to it.
    pub(crate) fn holds_for(&self, store: &dyn IndexSnapshot) -> bool {
        self.space == store.symbol_space() && self.missing.iter().all(|m| store.find(m).is_none())
    }

    /// The symbol of a name the store lacked when these symbols were resolved.
    #[inline]
    pub(crate) fn missing_sym(&self, s: &str) -> Option<Sym> {
        self.missing.iter().position(|m| &**m == s).map(local_sym)
    }

    /// The relation `userset` names as a userset subject kind, if some relation allows it.
    #[inline]
    pub(crate) fn userset_target(&self, ty: Sym, rel: Sym) -> Option<NodeId> {
        self.userset_targets
            .iter()
            .find(|t| t.0 == [ty, rel])
            .map(|t| t.1)
    }
}

/// The compiled schema shared by one engine's fast-path requests, rebuilt when a request finds
/// it no longer holds for the store it reads.
#[derive(Debug, Default)]
pub(crate) struct SchemaSyms {
    slot: RwLock<Option<Arc<Compiled>>>,
}

impl SchemaSyms {
    /// The compiled schema for `store` (`schema` and `index` are the engine's).
    pub(crate) fn get(
        &self,
        schema: &Schema,
        index: &ReverseIndex,
        store: &dyn IndexSnapshot,
    ) -> Arc<Compiled> {
        if let Some(c) = self.slot.read().as_ref()
            && c.holds_for(store)
        {
            return c.clone();
        }
        let c = Arc::new(Compiled::new(schema, index, store));
        *self.slot.write() = Some(c.clone());
        c
    }
}
