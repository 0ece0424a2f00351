//! Results (true, false, unknown-by-cycle, conditional-on-missing-caveat-context, or an error)
//! and how union and intersection fold them: the dominant value wins, otherwise an error,
//! otherwise the "maybe" values ordered false < unknown < conditional < true (a union takes the
//! largest, an intersection the smallest).

use crate::error::{Error, Result};

/// A three-valued answer: unknown comes from a cycle cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown,
    /// True if caveat parameters nobody supplied turn out to allow it.
    Conditional,
}

impl Tri {
    /// `a ∧ b` in the order false < unknown < conditional < true.
    pub fn and(a: Tri, b: Tri) -> Tri {
        let rank = |t: Tri| match t {
            Tri::False => 0,
            Tri::Unknown => 1,
            Tri::Conditional => 2,
            Tri::True => 3,
        };
        if rank(a) <= rank(b) { a } else { b }
    }

    /// `¬a`: conditional and unknown stay what they are.
    pub fn not(a: Tri) -> Tri {
        match a {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            x => x,
        }
    }
}

/// One node's evaluation with the facts the memo needs.
#[derive(Debug, Clone)]
pub(crate) struct Res {
    /// The value, or the error that decided it.
    pub val: Result<Tri>,
    /// How many nodes deep the evaluation went below this point.
    pub height: u32,
    /// Whether no cycle cut and no error occurred below this point.
    pub clean: bool,
}

impl Res {
    /// A definite, clean result of height 0.
    pub fn of(t: Tri) -> Self {
        Self {
            val: Ok(t),
            height: 0,
            clean: true,
        }
    }
}

/// Accumulates children of a union (`dominant = True`) or an intersection (`dominant = False`).
pub(crate) struct Fold {
    dominant: Tri,
    err: Option<Error>,
    unknown: bool,
    conditional: bool,
    height: u32,
    clean: bool,
}

impl Fold {
    pub fn new(dominant: Tri) -> Self {
        Self {
            dominant,
            err: None,
            unknown: false,
            conditional: false,
            height: 0,
            clean: true,
        }
    }

    /// Adds a child; returns the final result when the child decides it.
    pub fn add(&mut self, r: Res) -> Option<Res> {
        self.height = self.height.max(r.height);
        self.clean &= r.clean;
        match r.val {
            Ok(t) if t == self.dominant => Some(self.finish_with(t)),
            Ok(Tri::Unknown) => {
                self.unknown = true;
                None
            }
            Ok(Tri::Conditional) => {
                self.conditional = true;
                None
            }
            Ok(_) => None,
            Err(e) => {
                self.err.get_or_insert(e);
                None
            }
        }
    }

    fn finish_with(&self, t: Tri) -> Res {
        Res {
            val: Ok(t),
            height: self.height,
            clean: self.clean,
        }
    }

    pub fn finish(self) -> Res {
        let union = self.dominant == Tri::True;
        let val = match (self.err, self.unknown, self.conditional) {
            (Some(e), _, _) => Err(e),
            (None, _, true) if union => Ok(Tri::Conditional),
            (None, true, _) => Ok(Tri::Unknown),
            (None, false, true) => Ok(Tri::Conditional),
            (None, false, false) => Ok(if union { Tri::False } else { Tri::True }),
        };
        Res {
            val,
            height: self.height,
            clean: self.clean,
        }
    }
}
