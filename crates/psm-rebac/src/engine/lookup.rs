//! `lookup_resources` and `lookup_subjects`: candidates by graph traversal, each confirmed by `check`.
//!
//! Soundness: every result passed `check` — or, for a permission that is union-only all the way
//! down, was reached within the depth limit, which is exactly when `check` is true (a union
//! answers true as soon as one path reaches the subject; see `reverse.rs`). Completeness: the
//! traversal over-approximates every
//! way `check` can answer true. Backwards, from the subject, it inverts each step `check` takes
//! (direct relationship, wildcard, userset, computed relation, arrow), ignoring whether a step sits
//! under an intersection or an exclusion. Forwards, from the resource, it collects every subject
//! `check` could compare equal to the asked subject; a subject never met behaves exactly like the
//! wildcard `type:*`, which is therefore checked too and reported with its exceptions.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use foldhash::HashSet;

use super::check::Checker;
use super::rules;
use super::{Permissionship, Scope};
use crate::error::Result;
use crate::relationship::{ObjectRef, Relationship, SubjectRef};
use crate::schema::{Rewrite, Schema};

/// A page of lookup results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LookupPage {
    /// Object ids, sorted.
    pub items: Vec<String>,
    /// Pass back to get the next page; `None` when this is the last page.
    pub cursor: Option<String>,
}

/// One [`Scope::lookup_resources_permissionship`] result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundResource {
    /// The object id.
    pub id: String,
    /// [`Permissionship::HasPermission`], or [`Permissionship::Conditional`] with the caveat
    /// parameters the request lacked.
    pub permissionship: Permissionship,
}

/// One `lookup_subjects` result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FoundSubject {
    /// The subject (`user:alice`, `group:eng#member`, or the wildcard `user:*`).
    pub subject: SubjectRef,
    /// For a wildcard: known subjects of that type that do *not* have the permission.
    pub excluded: Vec<SubjectRef>,
}

/// One [`Scope::lookup_subjects_permissionship`] result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSubjectPermissionship {
    /// The subject (with its exceptions, for a wildcard).
    pub found: FoundSubject,
    /// [`Permissionship::HasPermission`], or [`Permissionship::Conditional`] with the caveat
    /// parameters the request lacked.
    pub permissionship: Permissionship,
}

impl FoundSubject {
    /// Whether a concrete subject is covered by this result.
    pub fn covers(&self, s: &SubjectRef) -> bool {
        if self.subject == *s {
            return true;
        }
        self.subject.is_wildcard()
            && s.relation.is_none()
            && !s.is_wildcard()
            && self.subject.object.object_type == s.object.object_type
            && !self.excluded.contains(s)
    }
}

impl Scope<'_> {
    /// All ids of `resource_type` objects on which `subject` has `permission`, sorted.
    pub async fn lookup_resources(
        &self,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
    ) -> Result<Vec<String>> {
        self.require_relation(resource_type, permission)?;
        self.require_subject(&subject.object.object_type, subject.relation.as_deref())?;
        self.require_consistency().await?;
        if let Some(ix) = self.fast_index().await? {
            let mut out = None;
            ix.read(&mut |g| {
                if g.has_conditions() {
                    return;
                }
                let compiled =
                    self.engine
                        .schema_syms
                        .get(&self.engine.schema, &self.engine.reverse, g);
                out = Some(super::fast::lookup_resources(
                    &self.engine.schema,
                    &self.engine.reverse,
                    super::fast::Syms::new(g, &compiled),
                    (resource_type, permission),
                    subject,
                    self.engine.config.max_depth,
                    &self.budget,
                ));
            });
            if let Some(r) = out {
                return r;
            }
        }
        if let Some(plan) = self.plan()
            && let crate::store::Planned::Answer(ids) = plan
                .lookup_resources(resource_type, permission, subject, &self.context)
                .await?
        {
            return Ok(ids);
        }
        let candidates = self
            .resource_candidates(resource_type, permission, subject)
            .await?;
        let key = (resource_type.to_owned(), permission.to_owned());
        if !self.engine.conditional && self.engine.reverse.monotone.contains(&key) {
            // Union-only all the way down: `check` is true exactly when the resource is reachable
            // within the depth limit, which the breadth-first distances tell directly.
            // A resource reachable only beyond the limit is one `check` fails on with the depth
            // error, as the confirming path below would report it.
            let max = self.engine.config.max_depth;
            if candidates.values().any(|d| *d > max) {
                return Err(crate::error::Error::DepthExceeded { limit: max });
            }
            return Ok(candidates.into_keys().map(|id| id.to_string()).collect());
        }
        let confirmed = self
            .confirm(resource_type, permission, subject, candidates)
            .await?;
        Ok(confirmed
            .into_iter()
            .filter_map(|(id, p)| (p == Permissionship::HasPermission).then(|| id.to_string()))
            .collect())
    }

    /// Checks every candidate id of `resource_type` (one memo for all); keeps those `check` does
    /// not deny, with its answer, in id order.
    async fn confirm(
        &self,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
        candidates: BTreeMap<Arc<str>, u32>,
    ) -> Result<Vec<(Arc<str>, Permissionship)>> {
        let objects: Vec<ObjectRef> = candidates
            .keys()
            .map(|id| ObjectRef::new(resource_type, id.clone()))
            .collect();
        let answers = self.check_many(&objects, permission, subject).await?;
        Ok(candidates
            .into_keys()
            .zip(answers)
            .filter(|(_, p)| *p != Permissionship::NoPermission)
            .collect())
    }

    /// Like [`Scope::lookup_resources`], but also reports the resources the subject has the
    /// permission on only if caveats whose parameters this request did not supply allow it
    /// (SpiceDB's `CONDITIONAL_PERMISSION`, with the missing parameter names). Sorted by id;
    /// never contains [`Permissionship::NoPermission`]. With
    /// [`Scope::require_context`] a missing parameter is an error instead, as in `check`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use psm_rebac::{Engine, MemoryStore, Permissionship, Relationship, Schema};
    ///
    /// let schema = Schema::parse_spicedb(r#"
    ///     caveat on_network(ip_ok bool) { ip_ok }
    ///     definition user {}
    ///     definition doc { relation viewer: user | user with on_network
    ///                      permission view = viewer }
    /// "#)?;
    /// let engine = Engine::new(schema, Arc::new(MemoryStore::new()));
    /// engine.touch([
    ///     "doc:a#viewer@user:ann".parse::<Relationship>()?,
    ///     "doc:b#viewer@user:ann[on_network]".parse()?,
    /// ]).await?;
    /// let ann = "user:ann".parse()?;
    /// let found = engine.scope().lookup_resources_permissionship("doc", "view", &ann).await?;
    /// assert_eq!(found[0].id, "a");
    /// assert_eq!(found[0].permissionship, Permissionship::HasPermission);
    /// assert_eq!(found[1].permissionship,
    ///            Permissionship::Conditional { missing: vec!["ip_ok".into()] });
    /// // `lookup_resources` keeps only what holds without further context.
    /// assert_eq!(engine.lookup_resources("doc", "view", &ann).await?, ["a"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn lookup_resources_permissionship(
        &self,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
    ) -> Result<Vec<FoundResource>> {
        if !self.engine.conditional {
            // Without caveats every answer is definite: the plain lookup is the whole answer.
            let ids = self
                .lookup_resources(resource_type, permission, subject)
                .await?;
            return Ok(ids
                .into_iter()
                .map(|id| FoundResource {
                    id,
                    permissionship: Permissionship::HasPermission,
                })
                .collect());
        }
        self.require_relation(resource_type, permission)?;
        self.require_subject(&subject.object.object_type, subject.relation.as_deref())?;
        self.require_consistency().await?;
        let candidates = self
            .resource_candidates(resource_type, permission, subject)
            .await?;
        let confirmed = self
            .confirm(resource_type, permission, subject, candidates)
            .await?;
        Ok(confirmed
            .into_iter()
            .map(|(id, permissionship)| FoundResource {
                id: id.to_string(),
                permissionship,
            })
            .collect())
    }

    /// One page of [`Scope::lookup_resources`]: ids after `cursor`, at most `limit` of them.
    pub async fn lookup_resources_page(
        &self,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<LookupPage> {
        let all = self
            .lookup_resources(resource_type, permission, subject)
            .await?;
        let start = match cursor {
            Some(c) => all.partition_point(|id| id.as_str() <= c),
            None => 0,
        };
        let items: Vec<String> = all.iter().skip(start).take(limit.max(1)).cloned().collect();
        let more = start + items.len() < all.len();
        let cursor = if more { items.last().cloned() } else { None };
        Ok(LookupPage { items, cursor })
    }

    /// Breadth-first walk backwards from the subject, inverting every step `check` takes; returns
    /// each reached resource of the asked type with its shortest distance in `check`'s depth units.
    async fn resource_candidates(
        &self,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
    ) -> Result<BTreeMap<Arc<str>, u32>> {
        let reader = self.reader();
        let schema = &*self.engine.schema;
        let reverse = &self.engine.reverse;
        // Relations whose relationships can lead to the asked permission: a relationship met
        // there is one the request reaches (its condition must then be evaluable in OpenFGA mode).
        let towards = leading_to(schema, resource_type, permission);
        let reached = |t: &Relationship| -> Result<()> {
            if towards.contains(&(t.resource.object_type.to_string(), t.relation.to_string())) {
                self.require_condition(t)?;
            }
            Ok(())
        };
        let mut seen: HashSet<(ObjectRef, Arc<str>)> = HashSet::default();
        let mut queue = VecDeque::new();
        let mut push = |o: ObjectRef, r: Arc<str>, d: u32, q: &mut VecDeque<_>| {
            if seen.insert((o.clone(), r.clone())) {
                q.push_back((o, r, d));
            }
        };
        if let Some(r) = &subject.relation {
            push(subject.object.clone(), r.clone(), 0, &mut queue);
        }
        let mut starts = vec![subject.clone()];
        if subject.relation.is_none() && !subject.is_wildcard() {
            starts.push(SubjectRef::wildcard(subject.object.object_type.clone()));
        }
        for s in &starts {
            for t in reader.by_subject(s).await? {
                if stored_and_allowed(schema, &t) {
                    reached(&t)?;
                    push(t.resource, t.relation, 0, &mut queue);
                }
            }
        }
        let mut out = BTreeMap::new();
        while let Some((o, r, d)) = queue.pop_front() {
            if *o.object_type == *resource_type && *r == *permission {
                out.entry(o.object_id.clone()).or_insert(d);
            }
            let key = (o.object_type.to_string(), r.to_string());
            if let Some(perms) = reverse.computed.get(&key) {
                for p in perms {
                    push(o.clone(), Arc::from(p.as_str()), d + 1, &mut queue);
                }
            }
            if let Some(arrows) = reverse.arrows.get(&key) {
                for (t2, p2, ts) in arrows {
                    let Some(tsr) = schema.relation(t2, ts) else {
                        continue;
                    };
                    for t in reader.by_subject_object(&o, t2, ts).await? {
                        if rules::allows_subject_of(tsr, &t) {
                            reached(&t)?;
                            push(t.resource, Arc::from(p2.as_str()), d + 1, &mut queue);
                        }
                    }
                }
            }
            if reverse.userset_targets.contains(&key) {
                let userset = SubjectRef {
                    object: o.clone(),
                    relation: Some(r.clone()),
                };
                for t in reader.by_subject(&userset).await? {
                    if stored_and_allowed(schema, &t) {
                        reached(&t)?;
                        push(t.resource, t.relation, d + 1, &mut queue);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Subjects of `subject_type` (with `subject_relation`, or plain objects and the wildcard)
    /// that have `permission` on `resource`, sorted. As in SpiceDB and OpenFGA, a subject is
    /// listed by itself only when a path names it: one that only a wildcard covers is left to
    /// the wildcard's result (`{user:*} ∪ {user:u}` lists both, `{user:*} ∩ {user:*, user:u}`
    /// lists both, `{user:*}` alone lists only `user:*`).
    pub async fn lookup_subjects(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject_type: &str,
        subject_relation: Option<&str>,
    ) -> Result<Vec<FoundSubject>> {
        let all = self
            .lookup_subjects_permissionship(resource, permission, subject_type, subject_relation)
            .await?;
        Ok(all
            .into_iter()
            .filter(|f| f.permissionship == Permissionship::HasPermission)
            .map(|f| f.found)
            .collect())
    }

    /// Like [`Scope::lookup_subjects`], but also reports the subjects that have the permission
    /// only if caveats whose parameters this request did not supply allow it (SpiceDB's
    /// `CONDITIONAL_PERMISSION`, with the missing parameter names), as SpiceDB's LookupSubjects
    /// does. Sorted; never holds [`Permissionship::NoPermission`]. With
    /// [`Scope::require_context`] a missing parameter is an error instead, as in `check`.
    pub async fn lookup_subjects_permissionship(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject_type: &str,
        subject_relation: Option<&str>,
    ) -> Result<Vec<FoundSubjectPermissionship>> {
        self.require_relation(&resource.object_type, permission)?;
        self.require_subject(subject_type, subject_relation)?;
        self.require_consistency().await?;
        let candidates = self
            .subject_candidates(resource, permission, subject_type, subject_relation)
            .await?;
        let schema = &*self.engine.schema;
        let Some(rel) = schema.relation(&resource.object_type, permission) else {
            return Ok(Vec::new());
        };
        let max = self.engine.config.max_depth;
        let mut found = Vec::new();
        let mut denied = Vec::new();
        let mut wildcard = None;
        let mut covered_only = Vec::new();
        let plain = |subject: SubjectRef, permissionship| FoundSubjectPermissionship {
            found: FoundSubject {
                subject,
                excluded: Vec::new(),
            },
            permissionship,
        };
        for s in &candidates {
            // A concrete subject covered only by a wildcard is not listed by itself (both
            // engines list `user:*` alone then), but it is not an exclusion of the wildcard.
            let weak = !s.is_wildcard() && s.relation.is_none();
            let mut c = Checker::new(schema, &self.engine.reverse, self.reader(), s, max)
                .with_conditions(self.conditions())
                .with_weak_wildcard(weak);
            let t = c.check_root_tri(resource, &rel.name).await?;
            let wild = t == super::tri::Tri::Wild;
            let p = self.answer(t, &c.missing)?;
            if s.is_wildcard() {
                wildcard = Some(p);
                continue;
            }
            if p != Permissionship::HasPermission {
                // Not (or only conditionally) covered: an exception to the wildcard.
                denied.push(s.clone());
            }
            if p == Permissionship::NoPermission {
                continue;
            }
            if wild {
                covered_only.push(s.clone());
            } else {
                found.push(plain(s.clone(), p));
            }
        }
        // Covered through a wildcard that is not itself a result (`{*} − ({*} − {u})` is `{u}`):
        // listed by name.
        if wildcard != Some(Permissionship::HasPermission) {
            found.extend(
                covered_only
                    .into_iter()
                    .map(|s| plain(s, Permissionship::HasPermission)),
            );
        }
        if let Some(p) = wildcard.filter(|p| *p != Permissionship::NoPermission) {
            found.push(FoundSubjectPermissionship {
                found: FoundSubject {
                    subject: SubjectRef::wildcard(subject_type),
                    excluded: denied,
                },
                permissionship: p,
            });
        }
        found.sort_by(|a, b| a.found.cmp(&b.found));
        Ok(found)
    }

    /// One page of [`Scope::lookup_subjects`]: results whose subject prints after `cursor`.
    pub async fn lookup_subjects_page(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject_type: &str,
        subject_relation: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<FoundSubject>, Option<String>)> {
        let mut all = self
            .lookup_subjects(resource, permission, subject_type, subject_relation)
            .await?;
        all.sort_by_cached_key(|f| f.subject.to_string());
        let start = match cursor {
            Some(c) => all.partition_point(|f| f.subject.to_string().as_str() <= c),
            None => 0,
        };
        let total = all.len();
        let items: Vec<FoundSubject> = all.into_iter().skip(start).take(limit.max(1)).collect();
        let next = (start + items.len() < total)
            .then(|| items.last().map(|f| f.subject.to_string()))
            .flatten();
        Ok((items, next))
    }

    async fn subject_candidates(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject_type: &str,
        subject_relation: Option<&str>,
    ) -> Result<BTreeSet<SubjectRef>> {
        let schema = &*self.engine.schema;
        let reader = self.reader();
        // Relations that can hold the asked kind of subject: OpenFGA's ListUsers reads (and
        // evaluates the conditions of) only relationships that can lead there.
        let toward = self
            .engine
            .analysis
            .reaching(subject_type, subject_relation);
        let leads = |t: &str, r: &str| toward.has(t, r);
        let mut seen: HashSet<(ObjectRef, String)> = HashSet::default();
        let mut queue = VecDeque::new();
        seen.insert((resource.clone(), permission.to_owned()));
        queue.push_back((resource.clone(), permission.to_owned()));
        let mut out = BTreeSet::new();
        while let Some((o, r)) = queue.pop_front() {
            let Some(rel) = schema.relation(&o.object_type, &r) else {
                continue;
            };
            if subject_relation == Some(r.as_str()) && *o.object_type == *subject_type {
                out.insert(SubjectRef {
                    object: o.clone(),
                    relation: Some(Arc::from(r.as_str())),
                });
            }
            let mut next: Vec<(ObjectRef, String)> = Vec::new();
            let mut leaves = Vec::new();
            rel.rewrite.for_each_leaf(&mut |l| leaves.push(l));
            for leaf in leaves {
                match leaf {
                    Rewrite::This => {
                        let mut kinds: Vec<(&str, Option<&str>)> = rel
                            .allowed
                            .iter()
                            .map(|a| (a.object_type.as_str(), a.relation.as_deref()))
                            .collect();
                        kinds.dedup();
                        for (t, sr) in kinds {
                            for rs in reader.subject_relationships(&o, &r, t, sr).await? {
                                if leads(&o.object_type, &r) {
                                    self.require_condition(&rs)?;
                                }
                                if !rules::allows_subject_of(rel, &rs) {
                                    continue;
                                }
                                let s = rs.subject;
                                if *s.object.object_type == *subject_type
                                    && s.relation.as_deref() == subject_relation
                                {
                                    out.insert(s.clone());
                                }
                                if let Some(x) = &s.relation {
                                    next.push((s.object.clone(), x.to_string()));
                                }
                            }
                        }
                    }
                    Rewrite::Computed { relation, .. } => next.push((o.clone(), relation.clone())),
                    Rewrite::Arrow {
                        tupleset, computed, ..
                    } => {
                        let Some(ts) = schema.relation(&o.object_type, tupleset) else {
                            continue;
                        };
                        for a in ts.allowed.iter().filter(|a| !a.wildcard) {
                            for rs in reader
                                .subject_relationships(
                                    &o,
                                    tupleset,
                                    &a.object_type,
                                    a.relation.as_deref(),
                                )
                                .await?
                            {
                                if leads(&o.object_type, &r) {
                                    self.require_condition(&rs)?;
                                }
                                let s = rs.subject;
                                if schema.relation(&s.object.object_type, computed).is_some() {
                                    next.push((s.object, computed.clone()));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            for n in next {
                if seen.insert(n.clone()) {
                    queue.push_back(n);
                }
            }
        }
        Ok(out)
    }
}

/// Whether `check` would read this relationship: its relation keeps stored relationships and
/// allows its subject's kind (relationships left over from an older schema are ignored).
fn stored_and_allowed(schema: &Schema, t: &Relationship) -> bool {
    schema
        .relation(&t.resource.object_type, &t.relation)
        .is_some_and(|rel| rel.rewrite.contains_this() && rules::allows_subject_of(rel, t))
}

/// Every relation (as `(type, relation)`) whose relationships can lead to `resource_type#permission`:
/// the permission itself, and what its rewrite reads, transitively (computed relations, arrows'
/// tuplesets and their targets, usersets' relations).
fn leading_to(
    schema: &Schema,
    resource_type: &str,
    permission: &str,
) -> std::collections::HashSet<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(resource_type.to_owned(), permission.to_owned())];
    while let Some((ty, rel)) = stack.pop() {
        if !seen.insert((ty.clone(), rel.clone())) {
            continue;
        }
        let Some(relation) = schema.relation(&ty, &rel) else {
            continue;
        };
        let mut leaves = Vec::new();
        expanded_leaves(&relation.rewrite, &mut leaves);
        for leaf in leaves {
            match leaf {
                Rewrite::This => {
                    for a in &relation.allowed {
                        if let Some(r) = &a.relation {
                            stack.push((a.object_type.clone(), r.clone()));
                        }
                    }
                }
                Rewrite::Computed { relation: c, .. } => stack.push((ty.clone(), c.clone())),
                Rewrite::Arrow {
                    tupleset, computed, ..
                } => {
                    stack.push((ty.clone(), tupleset.clone()));
                    if let Some(ts) = schema.relation(&ty, tupleset) {
                        for a in &ts.allowed {
                            stack.push((a.object_type.clone(), computed.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    seen
}

/// The leaves a walk towards the permission expands: all of a union's, an intersection's first
/// operand only and an exclusion's base only (the rest is checked on the candidates found, not
/// expanded, as OpenFGA's ListObjects does).
fn expanded_leaves<'a>(rw: &'a Rewrite, out: &mut Vec<&'a Rewrite>) {
    match rw {
        Rewrite::Union(c) => c.iter().for_each(|x| expanded_leaves(x, out)),
        Rewrite::Intersection(c) => c.iter().take(1).for_each(|x| expanded_leaves(x, out)),
        Rewrite::Exclusion(base, _) => expanded_leaves(base, out),
        leaf => out.push(leaf),
    }
}
