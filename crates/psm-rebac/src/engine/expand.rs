//! `expand`: the userset tree of `resource#permission`, with cycles marked instead of followed.

use std::future::Future;
use std::pin::Pin;

use super::Scope;
use super::reader::Reader;
use crate::error::{Error, Result};
use crate::relationship::{ObjectRef, SubjectRef};
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

/// How a node's members are made up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expansion {
    /// Stored subjects (objects, wildcards and usersets) of a relation.
    Leaf(Vec<SubjectRef>),
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
    /// Every subject that appears in a leaf of the tree (usersets included), deduplicated.
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
}

impl<'a> Expander<'a> {
    fn node(&mut self, obj: ObjectRef, rel: String, depth: u32) -> BoxFut<'_, Result<ExpandNode>> {
        Box::pin(async move {
            if depth > self.max_depth {
                return Err(Error::DepthExceeded {
                    limit: self.max_depth,
                });
            }
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
                    let mut subjects = Vec::new();
                    for a in relation.map(|r| r.allowed.as_slice()).unwrap_or(&[]) {
                        for s in self
                            .reader
                            .subjects(obj, rel, &a.object_type, a.relation.as_deref())
                            .await?
                        {
                            if s.is_wildcard() == a.wildcard && !subjects.contains(&s) {
                                subjects.push(s);
                            }
                        }
                    }
                    let mut children = Vec::new();
                    for s in &subjects {
                        if let Some(sr) = &s.relation {
                            children.push(
                                self.node(s.object.clone(), sr.to_string(), depth + 1)
                                    .await?,
                            );
                        }
                    }
                    if children.is_empty() {
                        Expansion::Leaf(subjects)
                    } else {
                        children.insert(0, wrap(Expansion::Leaf(subjects)));
                        Expansion::Union(children)
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
                        for s in self
                            .reader
                            .subjects(obj, tupleset, &a.object_type, a.relation.as_deref())
                            .await?
                        {
                            children.push(self.node(s.object, computed.clone(), depth + 1).await?);
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
        };
        e.node(resource.clone(), permission.to_owned(), 0).await
    }
}
