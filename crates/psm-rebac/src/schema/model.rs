//! The schema model every parser produces: definitions, relations, allowed subject types and rewrites.

use foldhash::HashMap;

use super::caveat_type::CaveatType;
use crate::error::Position;

/// A whole schema: object definitions plus caveats (compiled and evaluated on every check and
/// lookup that meets a caveated relationship; they need the `caveats` feature).
///
/// Built by the `parse_*` constructors (or [`Schema::from_definitions`]); read through
/// accessors, so that a new field or rewrite form is not a breaking change.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Schema {
    pub(crate) definitions: Vec<Definition>,
    pub(crate) index: HashMap<String, usize>,
    /// Caveats (SpiceDB) or conditions (OpenFGA) declared by the schema.
    pub(crate) caveats: Vec<CaveatDefinition>,
    /// Whether the schema declares `use expiration`.
    pub(crate) uses_expiration: bool,
    /// Its analysis, computed on first use (see [`Schema::analysis`]).
    pub(crate) analysis: super::analysis::AnalysisCell,
}

/// One object type (`definition document { ... }` / `type document`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Definition {
    /// The type name.
    pub(crate) name: String,
    /// Relations and permissions in declaration order.
    pub(crate) relations: Vec<Relation>,
    pub(crate) index: HashMap<String, usize>,
    /// Where the definition starts.
    pub(crate) position: Position,
}

/// Whether a name was declared as a stored relation or a computed permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RelationKind {
    /// Holds relationships (`relation`, or an OpenFGA relation with type restrictions).
    Relation,
    /// Only computed (`permission`, or an OpenFGA relation without type restrictions).
    Permission,
}

/// A relation or permission of a definition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Relation {
    /// Its name.
    pub(crate) name: String,
    /// Relation or permission.
    pub(crate) kind: RelationKind,
    /// The subject types relationships on it may have (empty for a permission).
    pub(crate) allowed: Vec<AllowedSubject>,
    /// How its members are computed; `Rewrite::This` for a plain relation.
    pub(crate) rewrite: Rewrite,
    /// Where it is declared.
    pub(crate) position: Position,
}

/// One allowed subject type: `user`, `user:*`, `group#member`, optionally `with caveat` / `with expiration`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AllowedSubject {
    /// The subject type.
    pub(crate) object_type: String,
    /// The subject relation for a userset type (`group#member`).
    pub(crate) relation: Option<String>,
    /// Whether this is the wildcard `type:*`.
    pub(crate) wildcard: bool,
    /// A required caveat / condition, evaluated whenever a check or lookup meets a relationship
    /// of this type (CEL, feature `caveats`).
    pub(crate) caveat: Option<String>,
    /// Whether relationships of this type carry an expiration.
    pub(crate) expiration: bool,
    /// Where it is written.
    pub(crate) position: Position,
}

impl AllowedSubject {
    /// A plain allowed type.
    pub fn plain(object_type: &str) -> Self {
        Self {
            object_type: object_type.to_owned(),
            relation: None,
            wildcard: false,
            caveat: None,
            expiration: false,
            position: Position::default(),
        }
    }

    /// A userset type: subjects `object_type:id#relation` (`group#member`).
    pub fn userset(object_type: &str, relation: &str) -> Self {
        let mut a = Self::plain(object_type);
        a.relation = Some(relation.to_owned());
        a
    }

    /// The wildcard type `object_type:*` (every subject of the type).
    pub fn wildcard(object_type: &str) -> Self {
        let mut a = Self::plain(object_type);
        a.wildcard = true;
        a
    }

    /// This type with a required caveat / condition (`user with cav`).
    #[must_use]
    pub fn with_caveat(mut self, caveat: &str) -> Self {
        self.caveat = Some(caveat.to_owned());
        self
    }

    /// This type with relationships that carry an expiration (`user with expiration`).
    #[must_use]
    pub fn with_expiration(mut self) -> Self {
        self.expiration = true;
        self
    }

    /// The subject type (`group` in `group#member`).
    pub fn object_type(&self) -> &str {
        &self.object_type
    }

    /// The subject relation of a userset type (`member` in `group#member`).
    pub fn relation(&self) -> Option<&str> {
        self.relation.as_deref()
    }

    /// Whether this is the wildcard `type:*`.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The caveat / condition relationships of this type must satisfy, if any.
    pub fn caveat(&self) -> Option<&str> {
        self.caveat.as_deref()
    }

    /// Whether relationships of this type carry an expiration.
    pub fn expiration(&self) -> bool {
        self.expiration
    }

    /// Where it is written (line 0 for a type built in code or read from JSON).
    pub fn position(&self) -> Position {
        self.position
    }

    /// Whether this entry is unconditional (no caveat, no expiration).
    pub fn is_unconditional(&self) -> bool {
        self.caveat.is_none() && !self.expiration
    }

    /// Renders like the schema: `group#member`, `user:*`, `user with c`.
    pub fn render(&self) -> String {
        let mut s = self.object_type.clone();
        if self.wildcard {
            s.push_str(":*");
        }
        if let Some(r) = &self.relation {
            s.push('#');
            s.push_str(r);
        }
        if let Some(c) = &self.caveat {
            s.push_str(" with ");
            s.push_str(c);
        }
        if self.expiration {
            s.push_str(" with expiration");
        }
        s
    }
}

/// How an arrow combines the results over the tupleset's subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArrowKind {
    /// `->` / `.any()` / OpenFGA `from`: some subject has the permission.
    Any,
    /// `.all()`: every subject (at least one) has the permission.
    All,
}

/// A userset rewrite: the expression that computes a relation's members.
///
/// `#[non_exhaustive]`, as are its struct-like variants: a new rewrite form is not a breaking
/// change, so code outside psm-rebac that matches on it needs a fallback arm (psm-sql's compiler
/// declines a form it does not know, and the engine's generic path answers).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Rewrite {
    /// The relationships stored on this relation (filtered by its allowed types).
    This,
    /// The empty set (`nil`).
    Nil,
    /// Another relation or permission of the same object.
    #[non_exhaustive]
    Computed {
        /// Its name.
        relation: String,
        /// Where it is referenced.
        position: Position,
    },
    /// `tupleset->computed`: follow `tupleset` to objects, then `computed` on them.
    #[non_exhaustive]
    Arrow {
        /// The relation whose subjects are followed.
        tupleset: String,
        /// The relation or permission evaluated on those subjects.
        computed: String,
        /// Any or all.
        kind: ArrowKind,
        /// Where it is written.
        position: Position,
    },
    /// Members of any child.
    Union(Vec<Rewrite>),
    /// Members of every child.
    Intersection(Vec<Rewrite>),
    /// Members of the base that are not members of the subtraction.
    Exclusion(Box<Rewrite>, Box<Rewrite>),
}

impl Rewrite {
    /// `relation`: another relation or permission of the same object.
    pub fn computed(relation: &str) -> Self {
        Self::Computed {
            relation: relation.to_owned(),
            position: Position::default(),
        }
    }

    /// `tupleset->computed` (`ArrowKind::Any`) or `tupleset.all(computed)` (`ArrowKind::All`).
    pub fn arrow(tupleset: &str, computed: &str, kind: ArrowKind) -> Self {
        Self::Arrow {
            tupleset: tupleset.to_owned(),
            computed: computed.to_owned(),
            kind,
            position: Position::default(),
        }
    }

    /// Calls `f` on every leaf (This, Nil, Computed, Arrow).
    pub fn for_each_leaf<'a>(&'a self, f: &mut dyn FnMut(&'a Rewrite)) {
        match self {
            Self::Union(c) | Self::Intersection(c) => c.iter().for_each(|x| x.for_each_leaf(f)),
            Self::Exclusion(a, b) => {
                a.for_each_leaf(f);
                b.for_each_leaf(f);
            }
            leaf => f(leaf),
        }
    }

    /// Whether the expression (recursively) contains `This`.
    pub fn contains_this(&self) -> bool {
        let mut found = false;
        self.for_each_leaf(&mut |l| found |= matches!(l, Rewrite::This));
        found
    }
}

/// A caveat (SpiceDB) or condition (OpenFGA): typed parameters and a CEL expression, compiled
/// once per schema (feature `caveats`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaveatDefinition {
    /// Its name.
    pub(crate) name: String,
    /// Parameter names and their types, in declaration order.
    pub(crate) parameters: Vec<(String, CaveatType)>,
    /// The expression body as written.
    pub(crate) expression: String,
    /// Where it is declared.
    pub(crate) position: Position,
}

impl CaveatDefinition {
    /// A caveat named `name` over `parameters` (name and type, in order) with CEL body
    /// `expression`; not validated until it is part of a schema that is compiled.
    pub fn new(name: &str, parameters: Vec<(String, CaveatType)>, expression: &str) -> Self {
        Self {
            name: name.to_owned(),
            parameters,
            expression: expression.to_owned(),
            position: Position::default(),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parameter names and their types, in declaration order.
    pub fn parameters(&self) -> &[(String, CaveatType)] {
        &self.parameters
    }

    /// The CEL expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Where it is declared.
    pub fn position(&self) -> Position {
        self.position
    }
}

impl Schema {
    /// Builds a schema from definitions (no validation: the `parse_*` constructors validate).
    pub fn from_definitions(definitions: Vec<Definition>) -> Self {
        let mut s = Self::default();
        for d in definitions {
            s.push_definition(d);
        }
        s
    }

    pub(crate) fn push_definition(&mut self, d: Definition) {
        self.analysis = super::analysis::AnalysisCell::default();
        self.index
            .entry(d.name.clone())
            .or_insert(self.definitions.len());
        self.definitions.push(d);
    }

    /// Adds a caveat / condition (no validation).
    pub fn push_caveat(&mut self, caveat: CaveatDefinition) {
        self.caveats.push(caveat);
    }

    /// The caveats (SpiceDB) or conditions (OpenFGA) the schema declares, in order.
    pub fn caveats(&self) -> &[CaveatDefinition] {
        &self.caveats
    }

    /// Whether the schema declares `use expiration` (see also
    /// [`Schema::uses_expiration_anywhere`]).
    pub fn declares_expiration(&self) -> bool {
        self.uses_expiration
    }

    /// The schema's [`Analysis`](super::Analysis) (dependency graph and its components,
    /// monotone and closed relations, where caveats may be stored, which relations can hold
    /// each kind of subject), computed on first use and then shared: clones of this schema
    /// made after that share it too, and every evaluator or compiler of the schema (the engine,
    /// psm-sql's SQL compiler) can read the same one instead of computing its own.
    pub fn analysis(&self) -> &std::sync::Arc<super::Analysis> {
        self.analysis.get(self)
    }

    /// All definitions in declaration order.
    pub fn definitions(&self) -> &[Definition] {
        &self.definitions
    }

    /// The definition of a type.
    pub fn definition(&self, name: &str) -> Option<&Definition> {
        self.index.get(name).map(|&i| &self.definitions[i])
    }

    /// A relation or permission of a type.
    pub fn relation(&self, object_type: &str, relation: &str) -> Option<&Relation> {
        self.definition(object_type)?.relation(relation)
    }

    /// Whether any relation uses a caveat/condition or expiration, or the schema declares them.
    pub fn uses_caveats(&self) -> bool {
        !self.caveats.is_empty()
            || self.definitions.iter().any(|d| {
                d.relations
                    .iter()
                    .any(|r| r.allowed.iter().any(|a| a.caveat.is_some()))
            })
    }

    /// Whether the schema uses expiration anywhere.
    pub fn uses_expiration_anywhere(&self) -> bool {
        self.uses_expiration
            || self.definitions.iter().any(|d| {
                d.relations
                    .iter()
                    .any(|r| r.allowed.iter().any(|a| a.expiration))
            })
    }
}

impl Definition {
    /// An empty definition.
    pub fn new(name: &str, position: Position) -> Self {
        Self {
            name: name.to_owned(),
            relations: Vec::new(),
            index: HashMap::default(),
            position,
        }
    }

    /// Adds a relation (a duplicate name keeps the first for lookups; validation reports it).
    pub fn push_relation(&mut self, r: Relation) {
        self.index
            .entry(r.name.clone())
            .or_insert(self.relations.len());
        self.relations.push(r);
    }

    /// A relation or permission by name.
    pub fn relation(&self, name: &str) -> Option<&Relation> {
        self.index.get(name).map(|&i| &self.relations[i])
    }

    /// The type name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Relations and permissions in declaration order.
    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    /// Where the definition starts.
    pub fn position(&self) -> Position {
        self.position
    }
}

impl Relation {
    /// A relation or permission (no validation: the `parse_*` constructors validate).
    pub fn new(
        name: &str,
        kind: RelationKind,
        allowed: Vec<AllowedSubject>,
        rewrite: Rewrite,
    ) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            allowed,
            rewrite,
            position: Position::default(),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Relation (holds relationships) or permission (only computed).
    pub fn kind(&self) -> RelationKind {
        self.kind
    }

    /// The subject types relationships on it may have (empty for a permission).
    pub fn allowed(&self) -> &[AllowedSubject] {
        &self.allowed
    }

    /// How its members are computed; [`Rewrite::This`] for a plain relation.
    pub fn rewrite(&self) -> &Rewrite {
        &self.rewrite
    }

    /// Where it is declared.
    pub fn position(&self) -> Position {
        self.position
    }
}
