//! Relationship filters, write updates and preconditions: the vocabulary of the `TupleStore` trait.

use std::fmt;
use std::sync::Arc;

use crate::relationship::{Relationship, SubjectRef};

/// Which subject relation a filter accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum SubjectRelationFilter {
    /// Any relation or none.
    #[default]
    Any,
    /// Only subjects without a relation (`user:alice`, `user:*`).
    None,
    /// Only this relation (`group:eng#member`).
    Relation(Arc<str>),
}

/// A filter on the subject side of relationships.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectFilter {
    /// The subject type (required).
    pub subject_type: Arc<str>,
    /// The subject id, or any.
    pub subject_id: Option<Arc<str>>,
    /// The subject relation constraint.
    pub relation: SubjectRelationFilter,
}

impl SubjectFilter {
    /// A filter matching exactly this subject.
    pub fn exact(subject: &SubjectRef) -> Self {
        Self {
            subject_type: subject.object.object_type.clone(),
            subject_id: Some(subject.object.object_id.clone()),
            relation: match &subject.relation {
                Some(r) => SubjectRelationFilter::Relation(r.clone()),
                None => SubjectRelationFilter::None,
            },
        }
    }

    /// Whether a subject matches.
    pub fn matches(&self, s: &SubjectRef) -> bool {
        *s.object.object_type == *self.subject_type
            && self
                .subject_id
                .as_ref()
                .is_none_or(|id| **id == *s.object.object_id)
            && match &self.relation {
                SubjectRelationFilter::Any => true,
                SubjectRelationFilter::None => s.relation.is_none(),
                SubjectRelationFilter::Relation(r) => s.relation.as_deref() == Some(&**r),
            }
    }
}

/// A filter over relationships; every field left `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RelationshipFilter {
    /// The resource type.
    pub resource_type: Option<Arc<str>>,
    /// The resource id (meaningful with `resource_type`).
    pub resource_id: Option<Arc<str>>,
    /// The relation.
    pub relation: Option<Arc<str>>,
    /// The subject side; a reverse lookup sets this.
    pub subject: Option<SubjectFilter>,
}

impl RelationshipFilter {
    /// Filter on one resource and (optionally) relation.
    pub fn resource(object_type: &str, object_id: &str, relation: Option<&str>) -> Self {
        Self {
            resource_type: Some(object_type.into()),
            resource_id: Some(object_id.into()),
            relation: relation.map(Into::into),
            subject: None,
        }
    }

    /// Filter on one subject (a reverse lookup).
    pub fn subject(subject: &SubjectRef) -> Self {
        Self {
            subject: Some(SubjectFilter::exact(subject)),
            ..Self::default()
        }
    }

    /// Whether a relationship matches.
    pub fn matches(&self, r: &Relationship) -> bool {
        self.resource_type
            .as_ref()
            .is_none_or(|t| **t == *r.resource.object_type)
            && self
                .resource_id
                .as_ref()
                .is_none_or(|i| **i == *r.resource.object_id)
            && self.relation.as_ref().is_none_or(|x| **x == *r.relation)
            && self.subject.as_ref().is_none_or(|s| s.matches(&r.subject))
    }
}

impl fmt::Display for RelationshipFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let any = "*";
        write!(
            f,
            "{}:{}#{}@",
            self.resource_type.as_deref().unwrap_or(any),
            self.resource_id.as_deref().unwrap_or(any),
            self.relation.as_deref().unwrap_or(any)
        )?;
        match &self.subject {
            None => f.write_str("*"),
            Some(s) => {
                write!(
                    f,
                    "{}:{}",
                    s.subject_type,
                    s.subject_id.as_deref().unwrap_or("<any>")
                )?;
                match &s.relation {
                    SubjectRelationFilter::Any => Ok(()),
                    SubjectRelationFilter::None => f.write_str("#..."),
                    SubjectRelationFilter::Relation(r) => write!(f, "#{r}"),
                }
            }
        }
    }
}

/// What a write does with one relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateOp {
    /// Insert; fails the whole write if it already exists.
    Create,
    /// Insert or keep.
    Touch,
    /// Remove if present.
    Delete,
}

/// One change in a write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelationshipUpdate {
    /// The operation.
    pub op: UpdateOp,
    /// The relationship.
    pub relationship: Relationship,
}

impl RelationshipUpdate {
    /// A create.
    pub fn create(relationship: Relationship) -> Self {
        Self {
            op: UpdateOp::Create,
            relationship,
        }
    }
    /// A touch.
    pub fn touch(relationship: Relationship) -> Self {
        Self {
            op: UpdateOp::Touch,
            relationship,
        }
    }
    /// A delete.
    pub fn delete(relationship: Relationship) -> Self {
        Self {
            op: UpdateOp::Delete,
            relationship,
        }
    }
}

/// A condition checked atomically before a write is applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Precondition {
    /// The relationships looked for.
    pub filter: RelationshipFilter,
    /// `true`: at least one must match; `false`: none may match.
    pub must_exist: bool,
}

impl Precondition {
    /// Requires a matching relationship.
    pub fn must_match(filter: RelationshipFilter) -> Self {
        Self {
            filter,
            must_exist: true,
        }
    }
    /// Requires that nothing matches.
    pub fn must_not_match(filter: RelationshipFilter) -> Self {
        Self {
            filter,
            must_exist: false,
        }
    }
}
