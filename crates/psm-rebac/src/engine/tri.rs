//! Results (true, false, unknown-by-cycle, conditional-on-missing-caveat-context, or an error)
//! and how union and intersection fold them: the dominant value wins, otherwise an error,
//! otherwise the "maybe" values ordered false < unknown < conditional < true (a union takes the
//! largest, an intersection the smallest). Subject lookups also tell "true only through a
//! wildcard" ([`Tri::Wild`]) from true, with the algebra of subject sets: `{*} ∪ {u}` and
//! `{*} ∩ {*, u}` list `u`, `{*} ∩ {*}` does not.

use crate::error::{Error, Result};

/// A three-valued answer: unknown comes from a cycle cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown,
    /// True if caveat parameters nobody supplied turn out to allow it.
    Conditional,
    /// True, but only because a wildcard (`user:*`) covers the subject: the subject is not one
    /// a subject lookup lists by itself. Only a checker asked to tell it apart produces it.
    Wild,
}

impl Tri {
    /// `a ∧ b` in the order false < unknown < conditional < wild < true.
    pub fn and(a: Tri, b: Tri) -> Tri {
        let rank = |t: Tri| match t {
            Tri::False => 0,
            Tri::Unknown => 1,
            Tri::Conditional => 2,
            Tri::Wild => 3,
            Tri::True => 4,
        };
        if rank(a) <= rank(b) { a } else { b }
    }

    /// `¬a`: conditional and unknown stay what they are.
    pub fn not(a: Tri) -> Tri {
        match a {
            Tri::True | Tri::Wild => Tri::False,
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
    /// A child was [`Tri::Wild`].
    wild: bool,
    /// A child was true (in an intersection, where true does not decide).
    truth: bool,
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
            wild: false,
            truth: false,
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
            Ok(Tri::Wild) => {
                self.wild = true;
                None
            }
            Ok(Tri::True) => {
                self.truth = true;
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
            // A wildcard covers the subject in one branch of a union: covered, not listed.
            _ if union && self.wild => Ok(Tri::Wild),
            (Some(e), _, _) => Err(e),
            (None, _, true) if union => Ok(Tri::Conditional),
            (None, true, _) => Ok(Tri::Unknown),
            (None, false, true) => Ok(Tri::Conditional),
            (None, false, false) if union => Ok(Tri::False),
            // An intersection lists the subject when one branch does and the rest cover it.
            (None, false, false) if self.wild && !self.truth => Ok(Tri::Wild),
            (None, false, false) => Ok(Tri::True),
        };
        Res {
            val,
            height: self.height,
            clean: self.clean,
        }
    }
}
