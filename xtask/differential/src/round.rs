//! One differential round: a model, stored relationships, and tests (contextual relationships
//! plus queries), generated from the seeded generator, in the shapes both engines' drivers read.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::model::{AllowedKind, Model, TypeDef};
use crate::rng::Rng;

/// An object: `doc:doc1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Obj {
    /// The object type.
    #[serde(rename = "type")]
    pub ty: String,
    /// The object id (`*` for a wildcard subject).
    pub id: String,
}

/// A subject: an object, or a userset `team:t1#member`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// The subject type.
    #[serde(rename = "type")]
    pub ty: String,
    /// The id, or `*`.
    pub id: String,
    /// The userset relation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
}

/// A condition (caveat) on a relationship, with its stored context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conditioned {
    /// The condition's name.
    pub name: String,
    /// The parameters the relationship supplies.
    pub context: Map<String, Value>,
}

/// A relationship (OpenFGA tuple).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tuple {
    /// The resource.
    pub resource: Obj,
    /// The relation.
    pub relation: String,
    /// The subject.
    pub subject: Subject,
    /// Its condition, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveat: Option<Conditioned>,
}

/// A query, with the condition parameters of the request.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Check / CheckPermission.
    Check {
        /// The resource.
        resource: Obj,
        /// Relation or permission.
        relation: String,
        /// The subject.
        subject: Subject,
        /// Request context.
        context: Map<String, Value>,
    },
    /// ListObjects / LookupResources.
    Objects {
        /// The resource type.
        ty: String,
        /// Relation or permission.
        relation: String,
        /// The subject.
        subject: Subject,
        /// Request context.
        context: Map<String, Value>,
    },
    /// ListUsers / LookupSubjects.
    Subjects {
        /// The resource.
        resource: Obj,
        /// Relation or permission.
        relation: String,
        /// The subject type of the filter.
        subject_type: String,
        /// The userset relation of the filter.
        subject_relation: Option<String>,
        /// Request context.
        context: Map<String, Value>,
    },
}

/// Contextual relationships and the queries that see them.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// Contextual relationships (OpenFGA only; empty for SpiceDB).
    pub contextual: Vec<Tuple>,
    /// The queries.
    pub queries: Vec<Query>,
}

/// A model, its stored relationships and its tests.
#[derive(Debug, Clone)]
pub struct Round {
    /// The model.
    pub model: Model,
    /// Stored relationships.
    pub tuples: Vec<Tuple>,
    /// The tests.
    pub tests: Vec<Test>,
}

/// How many of each query kind a round holds.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Tests per round (each with its own contextual relationships when `contextual`).
    pub tests: usize,
    /// Checks per test.
    pub checks: usize,
    /// Object lookups per test.
    pub objects: usize,
    /// Subject lookups per test.
    pub subjects: usize,
    /// Whether tests carry contextual relationships.
    pub contextual: bool,
    /// Percent of rounds that also hold inputs one engine rejects as a whole (unused
    /// conditions, usersets reaching a wildcard, `t:1#r@t:1#r`), which fail all their queries.
    pub edge_percent: usize,
    /// Whether relationship data must be acyclic: a userset of the resource's own type then
    /// points only to a lower id (SpiceDB fails cyclic data with "max depth exceeded", slowly).
    pub acyclic: bool,
}

/// Object ids per type.
const IDS: usize = 5;
/// User ids.
const USERS: usize = 7;

impl Tuple {
    /// Whether both name the same relationship (the condition aside): engines keep one of them.
    pub fn same_key(&self, other: &Tuple) -> bool {
        self.resource == other.resource
            && self.relation == other.relation
            && self.subject == other.subject
    }
}

impl Query {
    /// The kind's name, for reports.
    pub fn kind(&self, openfga: bool) -> &'static str {
        match (self, openfga) {
            (Query::Check { .. }, _) => "check",
            (Query::Objects { .. }, true) => "list_objects",
            (Query::Objects { .. }, false) => "lookup_resources",
            (Query::Subjects { .. }, true) => "list_users",
            (Query::Subjects { .. }, false) => "lookup_subjects",
        }
    }

    /// The request context.
    pub fn context(&self) -> &Map<String, Value> {
        match self {
            Query::Check { context, .. }
            | Query::Objects { context, .. }
            | Query::Subjects { context, .. } => context,
        }
    }
}

impl Round {
    /// A random round of the given shape.
    pub fn generate(rng: &mut Rng, shape: Shape) -> Self {
        let edge = rng.chance(shape.edge_percent);
        let model = Model::generate(rng, edge);
        let mut g = Gen {
            rng,
            model: &model,
            acyclic: shape.acyclic,
            edge,
        };
        let count = g.rng.range(20, 90);
        let mut tuples: Vec<Tuple> = Vec::new();
        for t in (0..count).filter_map(|_| g.tuple()) {
            if !tuples.iter().any(|u| u.same_key(&t)) {
                tuples.push(t);
            }
        }
        let tests = (0..shape.tests)
            .map(|_| {
                let contextual = if shape.contextual {
                    let n = g.rng.range(0, 4);
                    let mut contextual: Vec<Tuple> = Vec::new();
                    for t in (0..n).filter_map(|_| g.tuple()) {
                        if !tuples.iter().chain(&contextual).any(|u| u.same_key(&t)) {
                            contextual.push(t);
                        }
                    }
                    contextual
                } else {
                    Vec::new()
                };
                // An edge round is mostly rejected as a whole by one side or both, and then its
                // queries compare nothing: a tenth of them is enough.
                let scale = |n: usize| if edge { n.div_ceil(10) } else { n };
                let mut queries = Vec::new();
                queries.extend((0..scale(shape.checks)).filter_map(|_| g.check()));
                queries.extend((0..scale(shape.objects)).filter_map(|_| g.objects()));
                queries.extend((0..scale(shape.subjects)).filter_map(|_| g.subjects()));
                Test {
                    contextual,
                    queries,
                }
            })
            .collect();
        Round {
            model,
            tuples,
            tests,
        }
    }
}

struct Gen<'a> {
    rng: &'a mut Rng,
    model: &'a Model,
    acyclic: bool,
    edge: bool,
}

impl<'a> Gen<'a> {
    fn object_types(&self) -> &'a [TypeDef] {
        let model: &'a Model = self.model;
        model.types.get(1..).unwrap_or_default()
    }

    fn id(&mut self, ty: &str) -> String {
        if ty == "user" {
            format!("u{}", self.rng.below(USERS))
        } else {
            format!("{}{}", ty.get(..1).unwrap_or("o"), self.rng.below(IDS))
        }
    }

    fn tuple(&mut self) -> Option<Tuple> {
        let ty = self.rng.pick(self.object_types())?.clone();
        let direct: Vec<_> = ty
            .relations
            .iter()
            .filter(|r| !r.allowed().is_empty())
            .collect();
        let rel = *self.rng.pick(&direct)?;
        let allowed = self.rng.pick(rel.allowed())?.clone();
        let subject = match &allowed.kind {
            AllowedKind::Plain => Subject {
                id: self.id(&allowed.ty),
                ty: allowed.ty.clone(),
                relation: None,
            },
            AllowedKind::Wildcard => Subject {
                ty: allowed.ty.clone(),
                id: "*".into(),
                relation: None,
            },
            AllowedKind::Userset(r) => Subject {
                id: self.id(&allowed.ty),
                ty: allowed.ty.clone(),
                relation: Some(r.clone()),
            },
        };
        let caveat = allowed.condition.map(|name| Conditioned {
            name: name.into(),
            context: self.stored_context(name),
        });
        let id = self.id(&ty.name);
        let own_type_userset = subject.relation.is_some() && subject.ty == ty.name;
        if own_type_userset && self.acyclic && subject.id >= id {
            return None;
        }
        // `t:1#r@t:1#r`: OpenFGA refuses the implicit tuple (and with it the whole file).
        let implicit =
            own_type_userset && subject.id == id && subject.relation.as_ref() == Some(&rel.name);
        if implicit && !self.edge {
            return None;
        }
        Some(Tuple {
            resource: Obj { id, ty: ty.name },
            relation: rel.name.clone(),
            subject,
            caveat,
        })
    }

    /// What a relationship stores for its condition: usually part of the parameters.
    fn stored_context(&mut self, condition: &str) -> Map<String, Value> {
        let mut m = Map::new();
        match condition {
            "below_limit" => {
                m.insert("limit".into(), json!(self.rng.below(10)));
                if self.rng.chance(20) {
                    m.insert("x".into(), json!(self.rng.below(10)));
                }
            }
            "in_network" => {
                let cidr = ["10.0.0.0/8", "192.168.0.0/16", "10.1.0.0/16"];
                m.insert("cidr".into(), json!(self.rng.pick(&cidr)));
            }
            _ => {
                let key = ["a", "b"];
                m.insert("key".into(), json!(self.rng.pick(&key)));
            }
        }
        m
    }

    /// A request context: each parameter present with some probability.
    fn request_context(&mut self) -> Map<String, Value> {
        let mut m = Map::new();
        if self.rng.chance(75) {
            m.insert("x".into(), json!(self.rng.below(10)));
        }
        if self.rng.chance(75) {
            let addrs = ["10.1.2.3", "192.168.7.1", "172.16.0.1"];
            m.insert("addr".into(), json!(self.rng.pick(&addrs)));
        }
        if self.rng.chance(75) {
            let mut flags = Map::new();
            flags.insert("a".into(), json!(self.rng.chance(50)));
            flags.insert("b".into(), json!(self.rng.chance(50)));
            m.insert("flags".into(), Value::Object(flags));
        }
        m
    }

    fn relation_of(&mut self, ty: &TypeDef) -> Option<String> {
        self.rng.pick(&ty.relations).map(|r| r.name.clone())
    }

    fn subject(&mut self) -> Option<Subject> {
        let roll = self.rng.below(10);
        if roll < 8 {
            return Some(Subject {
                ty: "user".into(),
                id: self.id("user"),
                relation: None,
            });
        }
        let ty = self.rng.pick(self.object_types())?.clone();
        let relation = if roll == 8 {
            None
        } else {
            Some(self.relation_of(&ty)?).filter(|r| r != "parent")
        };
        Some(Subject {
            id: self.id(&ty.name),
            ty: ty.name,
            relation,
        })
    }

    fn check(&mut self) -> Option<Query> {
        let ty = self.rng.pick(self.object_types())?.clone();
        Some(Query::Check {
            resource: Obj {
                id: self.id(&ty.name),
                ty: ty.name.clone(),
            },
            relation: self.relation_of(&ty)?,
            subject: self.subject()?,
            context: self.request_context(),
        })
    }

    fn objects(&mut self) -> Option<Query> {
        let ty = self.rng.pick(self.object_types())?.clone();
        Some(Query::Objects {
            relation: self.relation_of(&ty)?,
            ty: ty.name,
            subject: self.subject()?,
            context: self.request_context(),
        })
    }

    fn subjects(&mut self) -> Option<Query> {
        let ty = self.rng.pick(self.object_types())?.clone();
        let (subject_type, subject_relation) = if self.rng.chance(70) {
            ("user".to_owned(), None)
        } else {
            let s = self.rng.pick(self.object_types())?.clone();
            let rel = if self.rng.chance(50) {
                None
            } else {
                self.relation_of(&s).filter(|r| r != "parent")
            };
            (s.name, rel)
        };
        Some(Query::Subjects {
            resource: Obj {
                id: self.id(&ty.name),
                ty: ty.name.clone(),
            },
            relation: self.relation_of(&ty)?,
            subject_type,
            subject_relation,
            context: self.request_context(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Round, Shape};
    use crate::rng::Rng;

    const SHAPE: Shape = Shape {
        tests: 2,
        checks: 5,
        objects: 2,
        subjects: 2,
        contextual: true,
        edge_percent: 0,
        acyclic: true,
    };

    #[test]
    fn rounds_hold_unique_acyclic_relationships_and_every_query() {
        for seed in 0..100 {
            let round = Round::generate(&mut Rng::new(seed), SHAPE);
            assert_eq!(round.tests.len(), 2);
            for test in &round.tests {
                // What one test sees: the stored relationships and its contextual ones.
                let all: Vec<_> = round.tuples.iter().chain(&test.contextual).collect();
                for (i, t) in all.iter().enumerate() {
                    assert!(
                        !all[..i].iter().any(|u| u.same_key(t)),
                        "seed {seed}: {t:?}"
                    );
                    if t.subject.relation.is_some() && t.subject.ty == t.resource.ty {
                        assert!(
                            t.subject.id < t.resource.id,
                            "seed {seed}: cycle-prone {t:?}"
                        );
                    }
                }
                assert_eq!(test.queries.len(), 9, "seed {seed}");
            }
        }
    }
}
