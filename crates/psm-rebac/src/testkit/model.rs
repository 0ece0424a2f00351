//! A seeded random generator of writes and reads, and the equivalence run that applies them to
//! a store and to a `MemoryStore` (the reference) side by side.

use std::sync::Arc;

use crate::error::Error;
use crate::filter::{
    Precondition, RelationshipFilter, RelationshipUpdate, SubjectFilter, SubjectRelationFilter,
};
use crate::relationship::{ObjectRef, Relationship, SubjectRef};
use crate::store::TupleStore;
use crate::store::memory::MemoryStore;

/// A small deterministic generator (xorshift64*), so failures name a reproducible seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TYPES: [&str; 2] = ["doc", "group"];
const IDS: [&str; 4] = ["a", "b", "c", "*"];
const RELS: [&str; 2] = ["viewer", "member"];

/// A random relationship over a tiny vocabulary (so writes collide often).
pub fn relationship(rng: &mut Rng) -> Relationship {
    let id = *rng.pick(&IDS[..3]);
    let subject_id = *rng.pick(&IDS);
    let subject_relation = if subject_id == "*" || rng.below(3) > 0 {
        None
    } else {
        Some(Arc::from(*rng.pick(&RELS)))
    };
    Relationship::new(
        ObjectRef::new(*rng.pick(&TYPES), id),
        *rng.pick(&RELS),
        SubjectRef {
            object: ObjectRef::new(*rng.pick(&TYPES), subject_id),
            relation: subject_relation,
        },
    )
}

/// A random filter: any combination of resource fields and subject constraints.
pub fn filter(rng: &mut Rng) -> RelationshipFilter {
    let mut f = RelationshipFilter::default();
    if rng.below(2) == 0 {
        f.resource_type = Some(Arc::from(*rng.pick(&TYPES)));
    }
    if rng.below(3) == 0 {
        f.resource_id = Some(Arc::from(*rng.pick(&IDS[..3])));
    }
    if rng.below(2) == 0 {
        f.relation = Some(Arc::from(*rng.pick(&RELS)));
    }
    if rng.below(2) == 0 {
        f.subject = Some(SubjectFilter {
            subject_type: Arc::from(*rng.pick(&TYPES)),
            subject_id: (rng.below(2) == 0).then(|| Arc::from(*rng.pick(&IDS))),
            relation: match rng.below(3) {
                0 => SubjectRelationFilter::Any,
                1 => SubjectRelationFilter::None,
                _ => SubjectRelationFilter::Relation(Arc::from(*rng.pick(&RELS))),
            },
        });
    }
    f
}

/// A random write: 1–4 updates of any kind, sometimes a precondition.
pub fn write(rng: &mut Rng) -> (Vec<RelationshipUpdate>, Vec<Precondition>) {
    let n = 1 + rng.below(4);
    let updates = (0..n)
        .map(|_| {
            let r = relationship(rng);
            match rng.below(4) {
                0 => RelationshipUpdate::create(r),
                1 => RelationshipUpdate::delete(r),
                _ => RelationshipUpdate::touch(r),
            }
        })
        .collect();
    let pre = match rng.below(4) {
        0 => vec![Precondition::must_match(filter(rng))],
        1 => vec![Precondition::must_not_match(filter(rng))],
        _ => Vec::new(),
    };
    (updates, pre)
}

/// The kind of a write outcome, for comparing two stores (revisions differ by design).
fn outcome(r: &Result<u64, Error>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("{e}"),
    }
}

/// Sorted, printed relationships.
pub fn sorted(mut v: Vec<Relationship>) -> Vec<String> {
    v.sort();
    v.iter().map(ToString::to_string).collect()
}

/// Applies `steps` random operations from `seed` to `store` and to a fresh `MemoryStore`,
/// asserting identical outcomes for every write and identical results for every read.
pub async fn equivalence(store: &dyn TupleStore, seed: u64, steps: usize) {
    let model = MemoryStore::new();
    let mut rng = Rng::new(seed);
    for step in 0..steps {
        if rng.below(3) == 0 {
            let f = filter(&mut rng);
            let got = sorted(store.read(&f, None).await.unwrap());
            let want = sorted(model.read(&f, None).await.unwrap());
            assert_eq!(got, want, "seed {seed} step {step}: read {f}");
            let r = relationship(&mut rng);
            assert_eq!(
                store.contains(&r).await.unwrap(),
                model.contains(&r).await.unwrap(),
                "seed {seed} step {step}: contains {r}"
            );
        } else {
            let (updates, pre) = write(&mut rng);
            let got = store.write(&updates, &pre).await;
            let want = model.write(&updates, &pre).await;
            assert_eq!(
                outcome(&got),
                outcome(&want),
                "seed {seed} step {step}: write {updates:?} with {pre:?}"
            );
        }
    }
    let all = RelationshipFilter::default();
    assert_eq!(
        sorted(store.read(&all, None).await.unwrap()),
        sorted(model.read(&all, None).await.unwrap()),
        "seed {seed}: final contents"
    );
}
