//! The schema model every parser produces: definitions, relations, allowed subject types and rewrites.

use foldhash::HashMap;

use super::caveat_type::CaveatType;
use crate::error::Position;

/// A whole schema: object definitions plus caveats (compiled and evaluated on every check and
/// lookup that meets a caveated relationship; they need the `caveats` feature).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    pub(crate) definitions: Vec<Definition>,
    pub(crate) index: HashMap<String, usize>,
    /// Caveats (SpiceDB) or conditions (OpenFGA) declared by the schema.
    pub caveats: Vec<CaveatDefinition>,
    /// Whether the schema declares `use expiration`.
    pub uses_expiration: bool,
}

/// One object type (`definition document { ... }` / `type document`).
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The type name.
    pub name: String,
    /// Relations and permissions in declaration order.
    pub relations: Vec<Relation>,
    pub(crate) index: HashMap<String, usize>,
    /// Where the definition starts.
    pub position: Position,
}

/// Whether a name was declared as a stored relation or a computed permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationKind {
    /// Holds relationships (`relation`, or an OpenFGA relation with type restrictions).
    Relation,
    /// Only computed (`permission`, or an OpenFGA relation without type restrictions).
    Permission,
}

/// A relation or permission of a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// Its name.
    pub name: String,
    /// Relation or permission.
    pub kind: RelationKind,
    /// The subject types relationships on it may have (empty for a permission).
    pub allowed: Vec<AllowedSubject>,
    /// How its members are computed; `Rewrite::This` for a plain relation.
    pub rewrite: Rewrite,
    /// Where it is declared.
    pub position: Position,
}

/// One allowed subject type: `user`, `user:*`, `group#member`, optionally `with caveat` / `with expiration`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowedSubject {
    /// The subject type.
    pub object_type: String,
    /// The subject relation for a userset type (`group#member`).
    pub relation: Option<String>,
    /// Whether this is the wildcard `type:*`.
    pub wildcard: bool,
    /// A required caveat / condition, evaluated whenever a check or lookup meets a relationship
    /// of this type (CEL, feature `caveats`).
    pub caveat: Option<String>,
    /// Whether relationships of this type carry an expiration.
    pub expiration: bool,
    /// Where it is written.
    pub position: Position,
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
pub enum ArrowKind {
    /// `->` / `.any()` / OpenFGA `from`: some subject has the permission.
    Any,
    /// `.all()`: every subject (at least one) has the permission.
    All,
}

/// A userset rewrite: the expression that computes a relation's members.
#[derive(Debug, Clone, PartialEq)]
pub enum Rewrite {
    /// The relationships stored on this relation (filtered by its allowed types).
    This,
    /// The empty set (`nil`).
    Nil,
    /// Another relation or permission of the same object.
    Computed {
        /// Its name.
        relation: String,
        /// Where it is referenced.
        position: Position,
    },
    /// `tupleset->computed`: follow `tupleset` to objects, then `computed` on them.
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

/// A caveat (SpiceDB) or condition (OpenFGA), kept as text until CEL support lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaveatDefinition {
    /// Its name.
    pub name: String,
    /// Parameter names and their types, in declaration order.
    pub parameters: Vec<(String, CaveatType)>,
    /// The expression body as written.
    pub expression: String,
    /// Where it is declared.
    pub position: Position,
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
        self.index
            .entry(d.name.clone())
            .or_insert(self.definitions.len());
        self.definitions.push(d);
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
}
