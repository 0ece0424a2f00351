//! Compiling a permission into SQL: one CTE per strongly connected component of the schema's
//! dependency graph, `WITH RECURSIVE` for recursive ones (nested usersets, recursive arrows),
//! `UNION` for unions, `IN` / `NOT IN` for intersection and exclusion, `NOT EXISTS` for
//! `.all()` arrows. Recursion is a least fixed point computed with `UNION` (duplicates are
//! discarded, so cycles end: that is the cycle guard).
//!
//! A recursive CTE may name itself once, so every recursive derivation of a component is one
//! row of a rules table joined to the CTE and to the relationship table: `same` rules
//! (computed relations: same id) and `edge` rules (usersets and arrows: follow relationships
//! whose subject is the node). Guards on a rule (the other branches of an intersection, the
//! subtracted side of an exclusion) may only use earlier components; a schema where they
//! would need the component itself (an exclusion or intersection inside a cycle, an `.all()`
//! arrow in a cycle) is not stratifiable and is reported as [`Unsupported`].
//!
//! Only validated schema names appear in the SQL text (as string literals; their alphabet
//! `[A-Za-z0-9_/.-]` is re-checked here); the subject id and the clock are bound values.

use std::fmt::Write as _;

use psm_rebac::schema::{ArrowKind, Relation, Rewrite};
use psm_rebac::{Schema, SubjectRef};

use crate::dialect::Dialect;
use crate::rebac::rows::SqlValue;
use psm_rebac::schema::analysis::{Analysis, Node, Reach, leaf_deps, rewrite_deps};

/// Why a permission cannot be compiled to SQL (the caller falls back to candidates + check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported(pub String);

impl Unsupported {
    /// A rewrite form (or arrow kind) this compiler was not written for. psm-rebac's
    /// [`Rewrite`] and [`ArrowKind`] are `#[non_exhaustive]`: a form added there later reaches
    /// the fallback arms of this compiler's matches, which decline with this (the engine's
    /// generic path then answers) instead of guessing a translation. No such form exists today,
    /// so no test can build one; the arms are what keeps a new form from being a wrong answer.
    pub(crate) fn unknown_form(t: &str, rel: &str) -> Self {
        Unsupported(format!(
            "`{t}#{rel}` uses a rewrite form the SQL compiler does not know"
        ))
    }
}

/// SQL text with `?` placeholders and the values they take, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Frag {
    pub sql: String,
    pub binds: Vec<SqlValue>,
}

impl Frag {
    pub(crate) fn text(sql: impl Into<String>) -> Self {
        Frag {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }
    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }
    pub(crate) fn append(&mut self, other: Frag) {
        self.sql.push_str(&other.sql);
        self.binds.extend(other.binds);
    }
}

/// Quotes a schema name as a SQL string literal, refusing anything outside the name alphabet.
pub(crate) fn lit(name: &str) -> Result<String, Unsupported> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_/.-".contains(&b))
    {
        return Err(Unsupported(format!("name `{name}` is not a schema name")));
    }
    Ok(format!("'{name}'"))
}

/// The SQL literal of a relationship's `subject_relation` column: `''` for a plain subject (no
/// relation: the empty name), else the checked name ([`lit`]).
pub(crate) fn subject_relation_lit(relation: &str) -> Result<String, Unsupported> {
    if relation.is_empty() {
        Ok("''".to_owned())
    } else {
        lit(relation)
    }
}

/// `CAST(expr AS <text type>)`: one type and collation for every CTE column (MySQL takes a
/// recursive CTE's column types from its first term, so they must be wide enough).
pub(crate) fn cast(dialect: Dialect, expr: &str, len: usize) -> String {
    match dialect {
        Dialect::Postgres => format!("CAST({expr} AS TEXT) COLLATE \"C\""),
        Dialect::MySql => format!("CAST({expr} AS CHAR({len}))"),
        Dialect::Sqlite => expr.to_owned(),
    }
}

/// The compiler state for one lookup.
pub(crate) struct Compiler<'a> {
    schema: &'a Schema,
    dialect: Dialect,
    tuples: &'a str,
    subject: &'a SubjectRef,
    now: i64,
    graph: Reach,
    /// Whether caveated relationships count as granting (the over-approximation a
    /// union-only lookup takes its candidates from); by default they never grant.
    caveated: bool,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(
        schema: &'a Schema,
        analysis: &Analysis,
        dialect: Dialect,
        tuples: &'a str,
        subject: &'a SubjectRef,
        now: i64,
        root: Node,
    ) -> Self {
        let graph = analysis.reach(&root);
        Compiler {
            schema,
            dialect,
            tuples,
            subject,
            now,
            graph,
            caveated: false,
        }
    }

    /// Counts caveated relationships as granting (sound only for union-only lookups, where
    /// more relationships never remove a result).
    pub(crate) fn with_caveated(mut self) -> Self {
        self.caveated = true;
        self
    }

    /// `CAST(expr AS <text type>)` so that every CTE column has one type and collation.
    fn cast(&self, expr: &str, len: usize) -> String {
        cast(self.dialect, expr, len)
    }

    /// The live, uncaveated condition on relationship alias `x` (binds now); live only when
    /// caveated relationships count.
    fn live(&self, x: &str, f: &mut Frag) {
        let _ = write!(f.sql, "({x}.expires_at IS NULL OR {x}.expires_at > ?)");
        if !self.caveated {
            let _ = write!(f.sql, " AND {x}.caveat_name IS NULL");
        }
        f.binds.push(SqlValue::Int(self.now));
    }

    fn comp_of(&self, node: &Node) -> Option<usize> {
        self.graph.index.get(node).map(|&i| self.graph.comp[i])
    }

    /// `SELECT n.id AS id FROM s{c} n WHERE n.t = 'T' AND n.r = 'r'`.
    fn node_set(&self, node: &Node) -> Result<Frag, Unsupported> {
        let c = self
            .comp_of(node)
            .ok_or_else(|| Unsupported(format!("node {}#{} not in graph", node.0, node.1)))?;
        Ok(Frag::text(format!(
            "SELECT n.id AS id FROM s{c} n WHERE n.t = {} AND n.r = {}",
            lit(&node.0)?,
            lit(&node.1)?
        )))
    }

    /// Ids of `T` whose relation `via` holds a relationship to a member of `node` (subject
    /// relation `srel`, `""` for none).
    fn edge_set(&self, t: &str, via: &str, node: &Node, srel: &str) -> Result<Frag, Unsupported> {
        let c = self
            .comp_of(node)
            .ok_or_else(|| Unsupported(format!("node {}#{} not in graph", node.0, node.1)))?;
        // `CROSS JOIN` keeps the CTE outer on SQLite (one reverse-index probe per member);
        // SQLite 3.46 otherwise scans every relationship of the subject type and builds an
        // automatic index on the CTE. PostgreSQL and MySQL treat it as an inner join.
        let mut f = Frag::text(format!(
            "SELECT x.resource_id AS id FROM s{c} n CROSS JOIN {tuples} x WHERE n.t = {nt} \
             AND n.r = {nr} AND n.id = x.subject_id AND x.resource_type = {t} \
             AND x.relation = {via} AND x.subject_type = {nt} AND x.subject_relation = {srel} AND ",
            tuples = self.tuples,
            nt = lit(&node.0)?,
            nr = lit(&node.1)?,
            t = lit(t)?,
            via = lit(via)?,
            srel = subject_relation_lit(srel)?,
        ));
        self.live("x", &mut f);
        Ok(f)
    }

    /// The set of `t` ids `rw` yields for the subject; references to nodes of component
    /// `skip` count as empty (the base of a recursive component). `None` is the empty set.
    fn set(
        &self,
        t: &str,
        rel: &Relation,
        rw: &Rewrite,
        skip: Option<usize>,
    ) -> Result<Option<Frag>, Unsupported> {
        let skipped = |n: &Node| skip.is_some() && self.comp_of(n) == skip;
        let union = |frags: Vec<Frag>| -> Option<Frag> {
            let mut out: Option<Frag> = None;
            for f in frags {
                match &mut out {
                    None => out = Some(f),
                    Some(o) => {
                        o.push(" UNION ");
                        o.append(f);
                    }
                }
            }
            out
        };
        match rw {
            Rewrite::Nil => Ok(None),
            Rewrite::This => {
                let s = self.subject;
                let mut parts = Vec::new();
                let mut direct_seen = false;
                let mut wild_seen = false;
                for a in rel.allowed() {
                    if a.object_type() != &*s.object.object_type {
                        continue;
                    }
                    let wildcard = a.is_wildcard() && s.relation.is_none();
                    let direct = !a.is_wildcard()
                        && a.relation() == s.relation.as_deref()
                        && !s.is_wildcard();
                    if (wildcard && wild_seen) || (direct && direct_seen) || !(wildcard || direct) {
                        continue;
                    }
                    wild_seen |= wildcard;
                    direct_seen |= direct;
                    let mut f = Frag::text(format!(
                        "SELECT x.resource_id AS id FROM {} x WHERE x.resource_type = {} \
                         AND x.relation = {} AND x.subject_type = {} AND x.subject_id = ? \
                         AND x.subject_relation = {} AND ",
                        self.tuples,
                        lit(t)?,
                        lit(rel.name())?,
                        lit(a.object_type())?,
                        match (a.relation(), wildcard) {
                            (Some(r), false) => lit(r)?,
                            _ => "''".to_owned(),
                        }
                    ));
                    f.binds.push(SqlValue::Text(if wildcard {
                        "*".into()
                    } else {
                        s.object.object_id.clone()
                    }));
                    self.live("x", &mut f);
                    parts.push(f);
                }
                let mut seen = Vec::new();
                for a in rel.allowed() {
                    let Some(c) = a.relation() else { continue };
                    let node = (a.object_type().to_owned(), c.to_owned());
                    if self.schema.relation(&node.0, c).is_none()
                        || skipped(&node)
                        || seen.contains(&node)
                    {
                        continue;
                    }
                    parts.push(self.edge_set(t, rel.name(), &node, c)?);
                    seen.push(node);
                }
                Ok(union(parts))
            }
            Rewrite::Computed { relation, .. } => {
                let node = (t.to_owned(), relation.clone());
                if self.schema.relation(t, relation).is_none() || skipped(&node) {
                    return Ok(None);
                }
                self.node_set(&node).map(Some)
            }
            Rewrite::Arrow {
                tupleset,
                computed,
                kind: ArrowKind::Any,
                ..
            } => {
                let Some(ts) = self.schema.relation(t, tupleset) else {
                    return Ok(None);
                };
                let mut parts = Vec::new();
                let mut seen = Vec::new();
                for a in ts.allowed().iter().filter(|a| !a.is_wildcard()) {
                    let node = (a.object_type().to_owned(), computed.clone());
                    let srel = a.relation().unwrap_or_default().to_owned();
                    if self.schema.relation(&node.0, computed).is_none()
                        || skipped(&node)
                        || seen.contains(&(node.clone(), srel.clone()))
                    {
                        continue;
                    }
                    parts.push(self.edge_set(t, tupleset, &node, &srel)?);
                    seen.push((node, srel));
                }
                Ok(union(parts))
            }
            Rewrite::Arrow {
                tupleset,
                computed,
                kind: ArrowKind::All,
                ..
            } => self.all_arrow(t, tupleset, computed, skip),
            Rewrite::Union(children) => {
                let mut parts = Vec::new();
                for c in children {
                    if let Some(f) = self.set(t, rel, c, skip)? {
                        parts.push(f);
                    }
                }
                Ok(union(parts))
            }
            Rewrite::Intersection(children) => {
                let mut frags = Vec::new();
                for c in children {
                    match self.set(t, rel, c, skip)? {
                        Some(f) => frags.push(f),
                        None => return Ok(None),
                    }
                }
                let mut it = frags.into_iter();
                let Some(first) = it.next() else {
                    return Ok(None);
                };
                let rest: Vec<Frag> = it.collect();
                if rest.is_empty() {
                    return Ok(Some(first));
                }
                let mut out = Frag::text("SELECT q.id AS id FROM (");
                out.append(first);
                out.push(") q WHERE ");
                for (i, f) in rest.into_iter().enumerate() {
                    if i > 0 {
                        out.push(" AND ");
                    }
                    out.push("q.id IN (");
                    out.append(f);
                    out.push(")");
                }
                Ok(Some(out))
            }
            Rewrite::Exclusion(base, sub) => {
                let Some(b) = self.set(t, rel, base, skip)? else {
                    return Ok(None);
                };
                // the subtracted side is never taken as empty: it must not touch `skip`
                let Some(s) = self.set(t, rel, sub, None)? else {
                    return Ok(Some(b));
                };
                let mut out = Frag::text("SELECT q.id AS id FROM (");
                out.append(b);
                out.push(") q WHERE q.id NOT IN (");
                out.append(s);
                out.push(")");
                Ok(Some(out))
            }
            _ => Err(Unsupported::unknown_form(t, rel.name())),
        }
    }

    /// `tupleset.all(computed)`: ids with at least one tupleset target, all of them members.
    fn all_arrow(
        &self,
        t: &str,
        tupleset: &str,
        computed: &str,
        skip: Option<usize>,
    ) -> Result<Option<Frag>, Unsupported> {
        let Some(ts) = self.schema.relation(t, tupleset) else {
            return Ok(None);
        };
        let allowed: Vec<_> = ts.allowed().iter().filter(|a| !a.is_wildcard()).collect();
        if allowed.is_empty() {
            return Ok(None);
        }
        for a in &allowed {
            let node = (a.object_type().to_owned(), computed.to_owned());
            if skip.is_some() && self.comp_of(&node) == skip {
                return Err(Unsupported(format!(
                    "`{tupleset}.all({computed})` on `{t}` is inside a cycle"
                )));
            }
        }
        let kinds = |x: &str| -> Result<String, Unsupported> {
            let mut alts = Vec::new();
            for a in &allowed {
                alts.push(format!(
                    "({x}.subject_type = {} AND {x}.subject_relation = {})",
                    lit(a.object_type())?,
                    subject_relation_lit(a.relation().unwrap_or(""))?
                ));
            }
            Ok(format!("({})", alts.join(" OR ")))
        };
        let mut out = Frag::text(format!(
            "SELECT x.resource_id AS id FROM {tuples} x WHERE x.resource_type = {t} \
             AND x.relation = {ts} AND {kx} AND ",
            tuples = self.tuples,
            t = lit(t)?,
            ts = lit(tupleset)?,
            kx = kinds("x")?,
        ));
        self.live("x", &mut out);
        let _ = write!(
            out.sql,
            " AND NOT EXISTS (SELECT 1 FROM {tuples} y WHERE y.resource_type = {t} \
             AND y.resource_id = x.resource_id AND y.relation = {ts} AND {ky} \
             AND (y.expires_at IS NULL OR y.expires_at > ?) AND NOT (",
            tuples = self.tuples,
            t = lit(t)?,
            ts = lit(tupleset)?,
            ky = kinds("y")?,
        );
        out.binds.push(SqlValue::Int(self.now));
        let mut ok = Vec::new();
        for a in &allowed {
            let node = (a.object_type().to_owned(), computed.to_owned());
            if self.schema.relation(&node.0, computed).is_none() {
                continue;
            }
            let mut f = Frag::text(format!(
                "(y.subject_type = {} AND y.caveat_name IS NULL AND y.subject_id IN (",
                lit(a.object_type())?
            ));
            f.append(self.node_set(&node)?);
            f.push("))");
            ok.push(f);
        }
        if ok.is_empty() {
            out.push("1 = 0");
        }
        for (i, f) in ok.into_iter().enumerate() {
            if i > 0 {
                out.push(" OR ");
            }
            out.append(f);
        }
        out.push("))");
        Ok(Some(out))
    }

    /// The recursive rules of component `k` for node `t#rel`: `(kind, from, to, srel, via,
    /// guards)`, kind 0 = same id, 1 = follow a relationship.
    fn rules(
        &self,
        t: &str,
        rel: &Relation,
        rw: &Rewrite,
        k: usize,
        guards: &[Guard],
        out: &mut Vec<Rule>,
    ) -> Result<(), Unsupported> {
        let in_k = |n: &Node| self.comp_of(n) == Some(k);
        let touches_k = |rw: &Rewrite| rewrite_deps(self.schema, t, rel, rw).iter().any(in_k);
        match rw {
            Rewrite::Nil => {}
            Rewrite::Union(children) => {
                for c in children {
                    self.rules(t, rel, c, k, guards, out)?;
                }
            }
            Rewrite::Intersection(children) => {
                for (i, c) in children.iter().enumerate() {
                    if !touches_k(c) {
                        continue;
                    }
                    let mut g = guards.to_vec();
                    for (j, other) in children.iter().enumerate() {
                        if j == i {
                            continue;
                        }
                        if touches_k(other) {
                            return Err(Unsupported(format!(
                                "an intersection on `{t}#{}` has two branches inside one cycle",
                                rel.name()
                            )));
                        }
                        g.push(Guard::In(self.set(t, rel, other, None)?));
                    }
                    self.rules(t, rel, c, k, &g, out)?;
                }
            }
            Rewrite::Exclusion(base, sub) => {
                if touches_k(sub) {
                    return Err(Unsupported(format!(
                        "an exclusion on `{t}#{}` subtracts a relation of its own cycle",
                        rel.name()
                    )));
                }
                if touches_k(base) {
                    let mut g = guards.to_vec();
                    g.push(Guard::NotIn(self.set(t, rel, sub, None)?));
                    self.rules(t, rel, base, k, &g, out)?;
                }
            }
            Rewrite::Arrow {
                kind: ArrowKind::All,
                tupleset,
                computed,
                ..
            } => {
                if touches_k(rw) {
                    return Err(Unsupported(format!(
                        "`{tupleset}.all({computed})` on `{t}` is inside a cycle"
                    )));
                }
            }
            leaf @ (Rewrite::This
            | Rewrite::Computed { .. }
            | Rewrite::Arrow {
                kind: ArrowKind::Any,
                ..
            }) => {
                for dep in leaf_deps(self.schema, t, rel, leaf) {
                    if !in_k(&dep) {
                        continue;
                    }
                    let to = (t.to_owned(), rel.name().to_owned());
                    match leaf {
                        Rewrite::Computed { .. } => out.push(Rule {
                            same: true,
                            from: dep,
                            to,
                            srel: String::new(),
                            via: String::new(),
                            guards: guards.to_vec(),
                        }),
                        Rewrite::This => out.push(Rule {
                            same: false,
                            srel: dep.1.clone(),
                            from: dep,
                            to,
                            via: rel.name().to_owned(),
                            guards: guards.to_vec(),
                        }),
                        Rewrite::Arrow { tupleset, .. } => {
                            if let Some(ts) = self.schema.relation(t, tupleset) {
                                let mut srels: Vec<String> = ts
                                    .allowed()
                                    .iter()
                                    .filter(|a| !a.is_wildcard() && a.object_type() == dep.0)
                                    .map(|a| a.relation().unwrap_or_default().to_owned())
                                    .collect();
                                srels.sort();
                                srels.dedup();
                                for srel in srels {
                                    out.push(Rule {
                                        same: false,
                                        from: dep.clone(),
                                        to: to.clone(),
                                        srel,
                                        via: tupleset.clone(),
                                        guards: guards.to_vec(),
                                    });
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => return Err(Unsupported::unknown_form(t, rel.name())),
        }
        Ok(())
    }

    /// The whole lookup: `WITH RECURSIVE s0 AS (...), ... SELECT id FROM s{root}`; with `only`,
    /// restricted to that one resource id (a check).
    pub(crate) fn compile(&self, only: Option<&str>) -> Result<Frag, Unsupported> {
        let mut out = Frag::text("WITH RECURSIVE ");
        let seed = self
            .subject
            .relation
            .as_ref()
            .map(|r| (self.subject.object.object_type.to_string(), r.to_string()));
        let (tc, rc, ic) = (
            self.cast("t", 254),
            self.cast("r", 254),
            self.cast("id", 1024),
        );
        for (k, members) in self.graph.comps.iter().enumerate() {
            if k > 0 {
                out.push(", ");
            }
            let recursive = self.graph.recursive[k];
            let _ = write!(out.sql, "s{k}(t, r, id) AS (");
            // Non-recursive term: every member's base, plus the subject's own userset.
            let mut base: Vec<Frag> = Vec::new();
            for &m in members {
                let (t, r) = &self.graph.nodes[m];
                let Some(rel) = self.schema.relation(t, r) else {
                    continue;
                };
                let skip = recursive.then_some(k);
                if let Some(f) = self.set(t, rel, rel.rewrite(), skip)? {
                    let mut row = Frag::text(format!(
                        "SELECT {} AS t, {} AS r, {} AS id FROM (",
                        self.cast(&lit(t)?, 254),
                        self.cast(&lit(r)?, 254),
                        self.cast("b.id", 1024)
                    ));
                    row.append(f);
                    row.push(") b");
                    base.push(row);
                }
                if seed.as_ref() == Some(&self.graph.nodes[m]) {
                    let mut row = Frag::text(format!(
                        "SELECT {} AS t, {} AS r, {} AS id",
                        self.cast(&lit(t)?, 254),
                        self.cast(&lit(r)?, 254),
                        self.cast("?", 1024)
                    ));
                    row.binds
                        .push(SqlValue::Text(self.subject.object.object_id.clone()));
                    if self.dialect == Dialect::MySql {
                        row.push(" FROM DUAL");
                    }
                    base.push(row);
                }
            }
            out.push(&format!("SELECT {tc}, {rc}, {ic} FROM ("));
            if base.is_empty() {
                out.push(&format!(
                    "SELECT {} AS t, {} AS r, {} AS id FROM {} WHERE 1 = 0",
                    self.cast("''", 254),
                    self.cast("''", 254),
                    self.cast("''", 1024),
                    self.tuples
                ));
            }
            for (i, f) in base.into_iter().enumerate() {
                if i > 0 {
                    out.push(" UNION ");
                }
                out.append(f);
            }
            out.push(&format!(") base{k}"));
            if recursive {
                let mut rules = Vec::new();
                for &m in members {
                    let (t, r) = &self.graph.nodes[m];
                    if let Some(rel) = self.schema.relation(t, r) {
                        self.rules(t, rel, rel.rewrite(), k, &[], &mut rules)?;
                    }
                }
                self.recursive_term(k, &rules, &mut out)?;
            }
            out.push(")");
        }
        let root = &self.graph.nodes[0];
        // MySQL: a binary string compares with any column whatever its collation.
        // PostgreSQL: the ids leave a subquery in the default collation, so their derivation
        // is implicit and the caller's column decides the comparison's collation: an index on
        // that column stays usable (the CTEs' "C" collation would otherwise win over the
        // default one, and an index on a default-collation column could not be used).
        let (head, id, tail) = match self.dialect {
            Dialect::MySql => ("", "CAST(s.id AS BINARY)", ""),
            Dialect::Postgres => (
                " SELECT f.id AS id FROM (",
                "s.id COLLATE \"default\"",
                ") f",
            ),
            Dialect::Sqlite => ("", "s.id", ""),
        };
        let _ = write!(
            out.sql,
            "{head} SELECT {id} AS id FROM s{} s WHERE s.t = {} AND s.r = {}",
            self.graph.comp[0],
            lit(&root.0)?,
            lit(&root.1)?
        );
        if let Some(only) = only {
            out.push(" AND s.id = ?");
            out.binds.push(SqlValue::Text(only.into()));
        }
        out.push(tail);
        Ok(out)
    }

    /// ` UNION SELECT ... FROM s{k} n JOIN (rules) R ... LEFT JOIN tuples x ...`.
    fn recursive_term(&self, k: usize, rules: &[Rule], out: &mut Frag) -> Result<(), Unsupported> {
        if rules.is_empty() {
            return Ok(());
        }
        let mut table = String::new();
        for (i, r) in rules.iter().enumerate() {
            if i > 0 {
                table.push_str(" UNION ALL ");
            }
            let s = |v: &str| -> Result<String, Unsupported> {
                if v.is_empty() {
                    Ok(self.cast("''", 254))
                } else {
                    Ok(self.cast(&lit(v)?, 254))
                }
            };
            let _ = write!(
                table,
                "SELECT {i} AS rid, {} AS kind, {} AS ft, {} AS fr, {} AS tt, {} AS tr, {} AS srel, {} AS via",
                if r.same { 0 } else { 1 },
                s(&r.from.0)?,
                s(&r.from.1)?,
                s(&r.to.0)?,
                s(&r.to.1)?,
                s(&r.srel)?,
                s(&r.via)?,
            );
            if self.dialect == Dialect::MySql {
                table.push_str(" FROM DUAL");
            }
        }
        let produced = "(CASE WHEN R.kind = 0 THEN n.id ELSE x.resource_id END)";
        let _ = write!(
            out.sql,
            " UNION SELECT R.tt, R.tr, {} FROM s{k} n JOIN ({table}) R ON R.ft = n.t AND R.fr = n.r \
             LEFT JOIN {} x ON R.kind = 1 AND x.subject_type = n.t AND x.subject_id = n.id \
             AND x.subject_relation = R.srel AND x.resource_type = R.tt AND x.relation = R.via AND ",
            self.cast(produced, 1024),
            self.tuples
        );
        self.live("x", out);
        out.push(" WHERE (R.kind = 0 OR x.resource_id IS NOT NULL)");
        for (i, r) in rules.iter().enumerate() {
            for g in &r.guards {
                let _ = write!(out.sql, " AND (R.rid <> {i} OR {produced} ");
                match g {
                    Guard::In(None) => out.push("IS NULL"),
                    Guard::NotIn(None) => out.push("IS NOT NULL"),
                    Guard::In(Some(f)) => {
                        out.push("IN (");
                        out.append(f.clone());
                        out.push(")");
                    }
                    Guard::NotIn(Some(f)) => {
                        out.push("NOT IN (");
                        out.append(f.clone());
                        out.push(")");
                    }
                }
                out.push(")");
            }
        }
        Ok(())
    }
}

/// A condition on an id derived by a recursive rule (a set over earlier components).
#[derive(Debug, Clone)]
pub(crate) enum Guard {
    In(Option<Frag>),
    NotIn(Option<Frag>),
}

/// One recursive derivation of a component.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    same: bool,
    from: Node,
    to: Node,
    srel: String,
    via: String,
    guards: Vec<Guard>,
}
