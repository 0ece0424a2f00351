//! The generated authorization model, engine-neutral, and its two renderings: the OpenFGA DSL
//! (schema 1.1) and the SpiceDB schema language. Generation keeps to what both engines accept:
//! names of at least three characters, every direct relation with a non-userset entry point,
//! computed relations referring only to earlier relations, arrows only to earlier types.

use std::fmt::Write as _;

use crate::rng::Rng;

/// A model: the `user` type, a few object types, and the conditions (caveats) they may use.
#[derive(Debug, Clone)]
pub struct Model {
    /// Object types, `user` first (it has no relations).
    pub types: Vec<TypeDef>,
    /// Conditions relations may name.
    pub conditions: Vec<&'static Condition>,
}

/// One type and its relations, in definition order.
#[derive(Debug, Clone)]
pub struct TypeDef {
    /// The type's name.
    pub name: String,
    /// Its relations.
    pub relations: Vec<RelationDef>,
}

/// A relation: directly assignable, or computed from others.
#[derive(Debug, Clone)]
pub struct RelationDef {
    /// The relation's name.
    pub name: String,
    /// Its definition.
    pub def: Def,
}

/// How a relation is defined.
#[derive(Debug, Clone)]
pub enum Def {
    /// Assignable subjects (OpenFGA type restrictions, SpiceDB relation types).
    Direct(Vec<Allowed>),
    /// A rewrite over other relations of the type and arrows.
    Computed(Op, Vec<Term>),
}

/// One assignable subject kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The subject type.
    pub ty: String,
    /// Plain objects, the wildcard, or a userset relation.
    pub kind: AllowedKind,
    /// The condition tuples of this kind carry, if any.
    pub condition: Option<&'static str>,
}

/// The shape of an assignable subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedKind {
    /// `user`
    Plain,
    /// `user:*`
    Wildcard,
    /// `group#member`
    Userset(String),
}

/// The operator of a computed relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `or` / `+`
    Union,
    /// `and` / `&`
    Intersection,
    /// `but not` / `-` (exactly two terms)
    Exclusion,
}

/// An operand of a computed relation.
#[derive(Debug, Clone)]
pub enum Term {
    /// Another relation of the same type.
    Relation(String),
    /// `rel from tupleset` / `tupleset->rel`.
    Arrow {
        /// The tupleset relation (direct, plain objects only).
        tupleset: String,
        /// The relation on the tupleset's objects.
        relation: String,
    },
}

/// A condition (OpenFGA) / caveat (SpiceDB) with its CEL body, the same in both engines.
#[derive(Debug)]
pub struct Condition {
    /// Its name.
    pub name: &'static str,
    /// Parameters: name and type (`int`, `string`, `ipaddress`, `map<bool>`).
    pub params: &'static [(&'static str, &'static str)],
    /// The CEL expression.
    pub body: &'static str,
}

/// Every condition the generator uses.
pub static CONDITIONS: [Condition; 3] = [
    Condition {
        name: "below_limit",
        params: &[("x", "int"), ("limit", "int")],
        body: "x < limit",
    },
    Condition {
        name: "in_network",
        params: &[("addr", "ipaddress"), ("cidr", "string")],
        body: "addr.in_cidr(cidr)",
    },
    Condition {
        name: "flag_set",
        params: &[("flags", "map<bool>"), ("key", "string")],
        body: "flags[key]",
    },
];

/// Names of the object types, in order (arrows point to earlier ones).
const TYPE_NAMES: [&str; 4] = ["team", "folder", "doc", "report"];

impl Model {
    /// A random model with 2 to 4 object types besides `user`. Unless `edge`, it keeps off
    /// what one engine rejects and psm accepts (or the reverse) as a whole model, so that the
    /// round's queries compare: unused conditions, usersets that reach a wildcard.
    pub fn generate(rng: &mut Rng, edge: bool) -> Self {
        let mut model = Model {
            types: vec![TypeDef {
                name: "user".into(),
                relations: Vec::new(),
            }],
            conditions: CONDITIONS.iter().collect(),
        };
        let count = rng.range(2, TYPE_NAMES.len());
        for name in TYPE_NAMES.iter().take(count) {
            let def = model.generate_type(rng, name, edge);
            model.types.push(def);
        }
        if !edge {
            let used: Vec<&str> = model
                .types
                .iter()
                .flat_map(|t| &t.relations)
                .flat_map(|r| r.allowed())
                .filter_map(|a| a.condition)
                .collect();
            model.conditions.retain(|c| used.contains(&c.name));
        }
        model
    }

    /// Whether `ty#rel` includes a wildcard, through usersets, rewrites and arrows (SpiceDB
    /// rejects a userset of such a relation). `current` is the type being generated.
    fn reaches_wildcard(&self, current: &TypeDef, ty: &str, rel: &str, depth: u32) -> bool {
        let Some(depth) = depth.checked_sub(1) else {
            return true;
        };
        let def = if ty == current.name {
            Some(current)
        } else {
            self.type_def(ty)
        };
        let Some(r) = def.and_then(|d| d.relation(rel)) else {
            return false;
        };
        match &r.def {
            Def::Direct(allowed) => allowed.iter().any(|a| match &a.kind {
                AllowedKind::Wildcard => true,
                AllowedKind::Userset(u) => self.reaches_wildcard(current, &a.ty, u, depth),
                AllowedKind::Plain => false,
            }),
            Def::Computed(_, terms) => terms.iter().any(|t| match t {
                Term::Relation(x) => self.reaches_wildcard(current, ty, x, depth),
                Term::Arrow { tupleset, relation } => {
                    def.and_then(|d| d.relation(tupleset)).is_some_and(|ts| {
                        ts.allowed()
                            .iter()
                            .any(|a| self.reaches_wildcard(current, &a.ty, relation, depth))
                    })
                }
            }),
        }
    }

    fn generate_type(&self, rng: &mut Rng, name: &str, edge: bool) -> TypeDef {
        let mut ty = TypeDef {
            name: name.to_owned(),
            relations: Vec::new(),
        };
        let earlier: Vec<&TypeDef> = self.types.iter().skip(1).collect();
        if let Some(parent) = rng.pick(&earlier).filter(|_| rng.chance(70)) {
            ty.relations.push(RelationDef {
                name: "parent".into(),
                def: Def::Direct(vec![Allowed {
                    ty: parent.name.clone(),
                    kind: AllowedKind::Plain,
                    condition: None,
                }]),
            });
        }
        // Relation names are unique across types: SpiceDB 1.54 caches whether a relation reaches
        // a wildcard by the relation's name alone, across definitions, and visits a definition's
        // relations in random order, so with one name in two types it may accept a model one run
        // and refuse it the next; unique names keep its verdict (and psm's rule) deterministic.
        let first = self
            .types
            .iter()
            .flat_map(|t| &t.relations)
            .filter(|r| matches!(r.def, Def::Direct(_)) && r.name != "parent")
            .count();
        for i in first..first + rng.range(1, 3) {
            let rel = format!("rel{i}");
            let allowed = self.generate_allowed(rng, &ty, &rel, edge);
            ty.relations.push(RelationDef {
                name: rel,
                def: Def::Direct(allowed),
            });
        }
        for i in 0..rng.range(1, 3) {
            let (op, terms) = self.generate_rewrite(rng, &ty);
            ty.relations.push(RelationDef {
                name: format!("perm{i}"),
                def: Def::Computed(op, terms),
            });
        }
        ty
    }

    /// Assignable subjects: one entry point that is not a userset, then up to three more.
    fn generate_allowed(&self, rng: &mut Rng, ty: &TypeDef, rel: &str, edge: bool) -> Vec<Allowed> {
        let condition = |rng: &mut Rng| {
            rng.chance(25)
                .then(|| rng.pick(&CONDITIONS).map(|c| c.name))
                .flatten()
        };
        let mut out = Vec::new();
        let first_ty = if rng.chance(80) {
            "user".to_owned()
        } else {
            rng.pick(&self.types[1..])
                .map_or_else(|| "user".to_owned(), |t| t.name.clone())
        };
        out.push(Allowed {
            ty: first_ty,
            kind: AllowedKind::Plain,
            condition: condition(rng),
        });
        for _ in 0..rng.range(0, 3) {
            let candidate = match rng.below(4) {
                0 => Allowed {
                    ty: "user".into(),
                    kind: AllowedKind::Wildcard,
                    condition: condition(rng),
                },
                1 => Allowed {
                    ty: "user".into(),
                    kind: AllowedKind::Plain,
                    condition: condition(rng),
                },
                _ => {
                    // A userset of an earlier type, or of this type (recursion through data).
                    let mut targets: Vec<(String, String)> = self.types[1..]
                        .iter()
                        .flat_map(|t| {
                            t.relations
                                .iter()
                                .filter(|r| r.name != "parent")
                                .map(|r| (t.name.clone(), r.name.clone()))
                        })
                        .collect();
                    targets.push((ty.name.clone(), rel.to_owned()));
                    targets.extend(
                        ty.relations
                            .iter()
                            .filter(|r| r.name != "parent")
                            .map(|r| (ty.name.clone(), r.name.clone())),
                    );
                    if !edge {
                        let wildcard_here = out.iter().any(|a| a.kind == AllowedKind::Wildcard);
                        targets.retain(|(t, r)| {
                            let own = *t == ty.name && r == rel;
                            !(own && wildcard_here || self.reaches_wildcard(ty, t, r, 8))
                        });
                    }
                    let Some((t, r)) = rng.pick(&targets).cloned() else {
                        continue;
                    };
                    Allowed {
                        ty: t,
                        kind: AllowedKind::Userset(r),
                        condition: condition(rng),
                    }
                }
            };
            if !out
                .iter()
                .any(|a| a.ty == candidate.ty && a.kind == candidate.kind)
            {
                out.push(candidate);
            }
        }
        out
    }

    fn generate_rewrite(&self, rng: &mut Rng, ty: &TypeDef) -> (Op, Vec<Term>) {
        let mut terms: Vec<Term> = ty
            .relations
            .iter()
            .filter(|r| r.name != "parent")
            .map(|r| Term::Relation(r.name.clone()))
            .collect();
        let parent = ty.relation("parent").and_then(|r| r.allowed().first());
        if let Some(target) = parent.and_then(|p| self.type_def(&p.ty)) {
            terms.extend(
                target
                    .relations
                    .iter()
                    .filter(|r| r.name != "parent")
                    .map(|r| Term::Arrow {
                        tupleset: "parent".into(),
                        relation: r.name.clone(),
                    }),
            );
        }
        let op = match rng.below(5) {
            0 | 1 => Op::Union,
            2 => Op::Intersection,
            _ => Op::Exclusion,
        };
        let n = if op == Op::Exclusion {
            2
        } else {
            rng.range(1, 3)
        };
        let mut chosen: Vec<Term> = Vec::new();
        for _ in 0..n {
            if let Some(t) = rng.pick(&terms) {
                // Both engines' validators reject a repeated operand.
                if !chosen.iter().any(|c| c.to_openfga() == t.to_openfga()) {
                    chosen.push(t.clone());
                }
            }
        }
        if chosen.len() < 2 {
            return (Op::Union, chosen);
        }
        (op, chosen)
    }

    /// The type named `name`.
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The model in the OpenFGA DSL (schema 1.1).
    pub fn to_openfga(&self) -> String {
        let mut out = String::from("model\n  schema 1.1\n");
        for ty in &self.types {
            let _ = writeln!(out, "type {}", ty.name);
            if !ty.relations.is_empty() {
                out.push_str("  relations\n");
            }
            for r in &ty.relations {
                let body = match &r.def {
                    Def::Direct(allowed) => {
                        let items: Vec<String> = allowed.iter().map(Allowed::to_openfga).collect();
                        format!("[{}]", items.join(", "))
                    }
                    Def::Computed(op, terms) => {
                        let sep = match op {
                            Op::Union => " or ",
                            Op::Intersection => " and ",
                            Op::Exclusion => " but not ",
                        };
                        let items: Vec<String> = terms.iter().map(Term::to_openfga).collect();
                        items.join(sep)
                    }
                };
                let _ = writeln!(out, "    define {}: {body}", r.name);
            }
        }
        for c in &self.conditions {
            let params: Vec<String> = c.params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
            let _ = writeln!(
                out,
                "condition {}({}) {{\n  {}\n}}",
                c.name,
                params.join(", "),
                c.body
            );
        }
        out
    }

    /// The model in the SpiceDB schema language.
    pub fn to_spicedb(&self) -> String {
        let mut out = String::new();
        for c in &self.conditions {
            let params: Vec<String> = c.params.iter().map(|(n, t)| format!("{n} {t}")).collect();
            let _ = writeln!(
                out,
                "caveat {}({}) {{\n  {}\n}}\n",
                c.name,
                params.join(", "),
                c.body
            );
        }
        for ty in &self.types {
            let _ = writeln!(out, "definition {} {{", ty.name);
            for r in &ty.relations {
                match &r.def {
                    Def::Direct(allowed) => {
                        let items: Vec<String> = allowed.iter().map(Allowed::to_spicedb).collect();
                        let _ = writeln!(out, "  relation {}: {}", r.name, items.join(" | "));
                    }
                    Def::Computed(op, terms) => {
                        let sep = match op {
                            Op::Union => " + ",
                            Op::Intersection => " & ",
                            Op::Exclusion => " - ",
                        };
                        let items: Vec<String> = terms.iter().map(Term::to_spicedb).collect();
                        let _ = writeln!(out, "  permission {} = {}", r.name, items.join(sep));
                    }
                }
            }
            out.push_str("}\n\n");
        }
        out
    }
}

impl TypeDef {
    /// The relation named `name`.
    pub fn relation(&self, name: &str) -> Option<&RelationDef> {
        self.relations.iter().find(|r| r.name == name)
    }
}

impl RelationDef {
    /// The assignable subjects (empty for a computed relation).
    pub fn allowed(&self) -> &[Allowed] {
        match &self.def {
            Def::Direct(allowed) => allowed,
            Def::Computed(..) => &[],
        }
    }
}

impl Allowed {
    fn base(&self) -> String {
        match &self.kind {
            AllowedKind::Plain => self.ty.clone(),
            AllowedKind::Wildcard => format!("{}:*", self.ty),
            AllowedKind::Userset(r) => format!("{}#{r}", self.ty),
        }
    }

    fn to_openfga(&self) -> String {
        match self.condition {
            Some(c) => format!("{} with {c}", self.base()),
            None => self.base(),
        }
    }

    fn to_spicedb(&self) -> String {
        // Same surface syntax in both languages.
        self.to_openfga()
    }
}

impl Term {
    fn to_openfga(&self) -> String {
        match self {
            Term::Relation(r) => r.clone(),
            Term::Arrow { tupleset, relation } => format!("{relation} from {tupleset}"),
        }
    }

    fn to_spicedb(&self) -> String {
        match self {
            Term::Relation(r) => r.clone(),
            Term::Arrow { tupleset, relation } => format!("{tupleset}->{relation}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use psm_rebac::Schema;

    use super::Model;
    use crate::rng::Rng;

    #[test]
    fn generated_models_parse_in_both_languages_and_replay_from_the_seed() {
        for seed in 0..200 {
            let model = Model::generate(&mut Rng::new(seed), false);
            let (fga, zed) = (model.to_openfga(), model.to_spicedb());
            assert!(Schema::parse_openfga(&fga).is_ok(), "seed {seed}:\n{fga}");
            assert!(
                Schema::parse_spicedb_strict(&zed).is_ok(),
                "seed {seed}:\n{zed}"
            );
            let again = Model::generate(&mut Rng::new(seed), false);
            assert_eq!(again.to_openfga(), fga);
        }
    }
}
