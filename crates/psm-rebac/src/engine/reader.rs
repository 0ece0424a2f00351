//! Reads for one request: the store plus the request's contextual relationships.

use std::sync::Arc;

use super::budget::Budget;
use crate::error::Result;
use crate::filter::{RelationshipFilter, SubjectFilter, SubjectRelationFilter};
use crate::relationship::{ObjectRef, Relationship, SubjectRef};
use crate::store::TupleStore;

/// The store seen through a request's contextual relationships; every read is a step of the
/// request's budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub store: &'a dyn TupleStore,
    pub contextual: &'a [Relationship],
    pub budget: &'a Budget,
}

impl Reader<'_> {
    /// The relationship `obj#rel@subject` with its caveat and expiration, if it exists
    /// (a contextual one first).
    pub async fn find(
        &self,
        obj: &ObjectRef,
        rel: &str,
        subject: &SubjectRef,
    ) -> Result<Option<Relationship>> {
        self.budget.step()?;
        if let Some(r) = self
            .contextual
            .iter()
            .find(|r| r.resource == *obj && *r.relation == *rel && r.subject == *subject)
        {
            return Ok(Some(r.clone()));
        }
        let filter = RelationshipFilter {
            resource_type: Some(obj.object_type.clone()),
            resource_id: Some(obj.object_id.clone()),
            relation: Some(Arc::from(rel)),
            subject: Some(SubjectFilter::exact(subject)),
        };
        Ok(self.store.read(&filter, Some(1)).await?.into_iter().next())
    }

    /// Relationships on `obj#rel` whose subjects have the given type and relation, with their
    /// caveats and expirations; a contextual relationship replaces a stored one with its key.
    pub async fn subject_relationships(
        &self,
        obj: &ObjectRef,
        rel: &str,
        subject_type: &str,
        subject_relation: Option<&str>,
    ) -> Result<Vec<Relationship>> {
        self.budget.step()?;
        let filter = RelationshipFilter {
            resource_type: Some(obj.object_type.clone()),
            resource_id: Some(obj.object_id.clone()),
            relation: Some(Arc::from(rel)),
            subject: Some(SubjectFilter {
                subject_type: Arc::from(subject_type),
                subject_id: None,
                relation: match subject_relation {
                    Some(r) => SubjectRelationFilter::Relation(Arc::from(r)),
                    None => SubjectRelationFilter::None,
                },
            }),
        };
        let mut out = self.store.read(&filter, None).await?;
        for r in self.contextual {
            if filter.matches(r) {
                out.retain(|x| x.subject != r.subject);
                out.push(r.clone());
            }
        }
        Ok(out)
    }

    /// Relationships whose subject is exactly `subject`.
    pub async fn by_subject(&self, subject: &SubjectRef) -> Result<Vec<Relationship>> {
        self.budget.step()?;
        let filter = RelationshipFilter::subject(subject);
        let mut out = self.store.read(&filter, None).await?;
        for r in self.contextual {
            if filter.matches(r) && !out.contains(r) {
                out.push(r.clone());
            }
        }
        Ok(out)
    }

    /// Relationships `resource_type:?#relation@subject` (subject matched exactly).
    pub async fn by_subject_on(
        &self,
        subject: &SubjectRef,
        resource_type: &str,
        relation: &str,
    ) -> Result<Vec<Relationship>> {
        self.budget.step()?;
        let filter = RelationshipFilter {
            resource_type: Some(Arc::from(resource_type)),
            resource_id: None,
            relation: Some(Arc::from(relation)),
            subject: Some(SubjectFilter::exact(subject)),
        };
        let mut out = self.store.read(&filter, None).await?;
        for r in self.contextual {
            if filter.matches(r) && !out.contains(r) {
                out.push(r.clone());
            }
        }
        Ok(out)
    }

    /// Relationships `?#relation@object` (any subject relation) on resources of `resource_type`.
    pub async fn by_subject_object(
        &self,
        object: &ObjectRef,
        resource_type: &str,
        relation: &str,
    ) -> Result<Vec<Relationship>> {
        self.budget.step()?;
        let filter = RelationshipFilter {
            resource_type: Some(Arc::from(resource_type)),
            resource_id: None,
            relation: Some(Arc::from(relation)),
            subject: Some(SubjectFilter {
                subject_type: object.object_type.clone(),
                subject_id: Some(object.object_id.clone()),
                relation: SubjectRelationFilter::Any,
            }),
        };
        let mut out = self.store.read(&filter, None).await?;
        for r in self.contextual {
            if filter.matches(r) && !out.contains(r) {
                out.push(r.clone());
            }
        }
        Ok(out)
    }
}
