//! `expand`: the userset tree of `resource#permission`, with cycles marked instead of followed.
//! It lists the relationships `check` counts (`rules.rs`: kinds the relation still allows, not
//! expired) under the same depth limit, and charges every node to the request's budget.

use std::future::Future;
use std::pin::Pin;

use super::Scope;
use super::reader::Reader;
use super::rules;
use crate::error::Result;
use crate::relationship::{CaveatRef, ObjectRef, Relationship, SubjectRef};
use crate::schema::{ArrowKind, Rewrite, Schema};

type BoxFut<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

/// One node of an expansion: which `object#relation` it describes and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandNode {
    /// The object.
    pub object: ObjectRef,
    /// The relation or permission.
    pub relation: String,
    /// Its members.
    pub expansion: Expansion,
}

/// A stored subject whose relationship holds only when its caveat allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaveatedSubject {
    /// The subject.
    pub subject: SubjectRef,
    /// The caveat and the context stored with the relationship.
    pub caveat: CaveatRef,
}

/// How a node's members are made up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expansion {
    /// Stored subjects (objects, wildcards and usersets) of a relation, without caveats.
    /// Expired relationships are left out.
    Leaf(Vec<SubjectRef>),
    /// Stored subjects of a relation whose relationships carry a caveat: members only when the
    /// caveat evaluates to true for a request's context. A relation with both kinds expands to
    /// a union of a `Leaf` and a `Caveated` node.
    Caveated(Vec<CaveatedSubject>),
    /// Members of any child.
    Union(Vec<ExpandNode>),
    /// Members of every child.
    Intersection(Vec<ExpandNode>),
    /// Members of the first that are not members of the second.
    Exclusion(Box<ExpandNode>, Box<ExpandNode>),
    /// The node is already being expanded higher up: a cycle, not followed.
    Cycle,
}

impl ExpandNode {
    /// Every subject that appears in a leaf of the tree (usersets and caveated subjects
    /// included), sorted and deduplicated.
    pub fn leaf_subjects(&self) -> Vec<SubjectRef> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect(&self, out: &mut Vec<SubjectRef>) {
        match &self.expansion {
            Expansion::Leaf(s) => out.extend(s.iter().cloned()),
            Expansion::Caveated(s) => out.extend(s.iter().map(|c| c.subject.clone())),
            Expansion::Union(c) | Expansion::Intersection(c) => {
                c.iter().for_each(|x| x.collect(out));
            }
            Expansion::Exclusion(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expansion::Cycle => {}
        }
    }
}

struct Expander<'a> {
    schema: &'a Schema,
    reader: Reader<'a>,
    max_depth: u32,
    path: Vec<(ObjectRef, String)>,
    /// The time expirations are compared with, taken once per request.
    now: chrono::DateTime<chrono::Utc>,
}

impl<'a> Expander<'a> {
    /// Whether a relationship has expired at `now` (the rule `check` follows).
    fn expired(&self, r: &Relationship) -> bool {
        rules::expired(r, self.now)
    }

    fn node(&mut self, obj: ObjectRef, rel: String, depth: u32) -> BoxFut<'_, Result<ExpandNode>> {
        Box::pin(async move {
            if let Some(r) = rules::too_deep(depth, self.max_depth) {
                return Err(r);
            }
            // A step, and a result node counted before it is built.
            self.reader.budget.step()?;
            self.reader.budget.add_results(1)?;
            let key = (obj.clone(), rel.clone());
            if self.path.contains(&key) {
                return Ok(ExpandNode {
                    object: obj,
                    relation: rel,
                    expansion: Expansion::Cycle,
                });
            }
            let schema = self.schema;
            let Some(relation) = schema.relation(&obj.object_type, &rel) else {
                return Ok(ExpandNode {
                    object: obj,
                    relation: rel,
                    expansion: Expansion::Leaf(Vec::new()),
                });
            };
            self.path.push(key);
            let r = self.rewrite(&obj, &rel, &relation.rewrite, depth).await;
            self.path.pop();
            Ok(ExpandNode {
                object: obj,
                relation: rel,
                expansion: r?,
            })
        })
    }

    fn rewrite<'s>(
        &'s mut self,
        obj: &'s ObjectRef,
        rel: &'s str,
        rw: &'a Rewrite,
        depth: u32,
    ) -> BoxFut<'s, Result<Expansion>> {
        Box::pin(async move {
            let wrap = |e: Expansion| ExpandNode {
                object: obj.clone(),
                relation: rel.to_owned(),
                expansion: e,
            };
            Ok(match rw {
                Rewrite::Nil => Expansion::Leaf(Vec::new()),
                Rewrite::This => {
                    let relation = self.schema.relation(&obj.object_type, rel);
                    let mut subjects: Vec<SubjectRef> = Vec::new();
                    let mut caveated: Vec<CaveatedSubject> = Vec::new();
                    for a in relation.map(|r| r.allowed.as_slice()).unwrap_or(&[]) {
                        for r in self
                            .reader
                            .subject_relationships(obj, rel, &a.object_type, a.relation.as_deref())
                            .await?
                        {
                            // What `check` counts: a kind the relation allows, not expired.
                            if r.subject.is_wildcard() != a.wildcard
                                || !relation.is_some_and(|rel| rules::fits(rel, &r))
                                || self.expired(&r)
                            {
                                continue;
                            }
                            self.reader.budget.add_results(1)?;
                            match r.caveat {
                                None if !subjects.contains(&r.subject) => subjects.push(r.subject),
                                Some(caveat)
                                    if !caveated.iter().any(|c| c.subject == r.subject) =>
                                {
                                    caveated.push(CaveatedSubject {
                                        subject: r.subject,
                                        caveat,
                                    });
                                }
                                _ => {}
                            }
                        }
                    }
                    let mut children = Vec::new();
                    let usersets = subjects
                        .iter()
                        .chain(caveated.iter().map(|c| &c.subject))
                        .filter_map(|s| Some((s.object.clone(), s.relation.as_deref()?)))
                        .map(|(o, r)| (o, r.to_owned()))
                        .collect::<Vec<_>>();
                    for (o, r) in usersets {
                        children.push(self.node(o, r, depth + 1).await?);
                    }
                    if caveated.is_empty() && children.is_empty() {
                        Expansion::Leaf(subjects)
                    } else {
                        let mut leaves = vec![wrap(Expansion::Leaf(subjects))];
                        if !caveated.is_empty() {
                            leaves.push(wrap(Expansion::Caveated(caveated)));
                        }
                        leaves.append(&mut children);
                        Expansion::Union(leaves)
                    }
                }
                Rewrite::Computed { relation, .. } => Expansion::Union(vec![
                    self.node(obj.clone(), relation.clone(), depth + 1).await?,
                ]),
                Rewrite::Arrow {
                    tupleset,
                    computed,
                    kind,
                    ..
                } => {
                    let mut children = Vec::new();
                    let ts = self.schema.relation(&obj.object_type, tupleset);
                    for a in ts.map(|r| r.allowed.as_slice()).unwrap_or(&[]) {
                        if a.wildcard {
                            continue;
                        }
                        for r in self
                            .reader
                            .subject_relationships(
                                obj,
                                tupleset,
                                &a.object_type,
                                a.relation.as_deref(),
                            )
                            .await?
                        {
                            if r.subject.is_wildcard()
                                || !ts.is_some_and(|t| rules::fits(t, &r))
                                || self.expired(&r)
                            {
                                continue;
                            }
                            let child = self.node(r.subject.object, computed.clone(), depth + 1);
                            children.push(child.await?);
                        }
                    }
                    match kind {
                        ArrowKind::Any => Expansion::Union(children),
                        ArrowKind::All => Expansion::Intersection(children),
                    }
                }
                Rewrite::Union(c) | Rewrite::Intersection(c) => {
                    let mut children = Vec::new();
                    for x in c {
                        let e = self.rewrite(obj, rel, x, depth).await?;
                        self.reader.budget.add_results(1)?;
                        children.push(wrap(e));
                    }
                    if matches!(rw, Rewrite::Union(_)) {
                        Expansion::Union(children)
                    } else {
                        Expansion::Intersection(children)
                    }
                }
                Rewrite::Exclusion(a, b) => {
                    let base = self.rewrite(obj, rel, a, depth).await?;
                    let sub = self.rewrite(obj, rel, b, depth).await?;
                    self.reader.budget.add_results(2)?;
                    Expansion::Exclusion(Box::new(wrap(base)), Box::new(wrap(sub)))
                }
            })
        })
    }
}

impl Scope<'_> {
    /// The userset tree of `resource#permission`, fully expanded down to stored subjects.
    pub async fn expand(&self, resource: &ObjectRef, permission: &str) -> Result<ExpandNode> {
        self.require_relation(&resource.object_type, permission)?;
        self.require_consistency().await?;
        let mut e = Expander {
            schema: &self.engine.schema,
            reader: self.reader(),
            max_depth: self.engine.config.max_depth,
            path: Vec::new(),
            now: chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()),
        };
        e.node(resource.clone(), permission.to_owned(), 0).await
    }
}
