//! Shared helpers for psm's criterion benchmarks (data generators used by several bench files).

/// `n` grants: mostly exact `resN:actionM` names plus one pattern grant per 20 (`svcN:*`,
/// `treeN>`, `itemsN:*:read`), the mix a real service would hold.
pub fn grants(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 20 {
            0 => format!("svc{i}:*"),
            10 => format!("tree{i}>"),
            15 => format!("items{i}:*:read"),
            _ => format!("res{}:action{}", i / 4, i % 4),
        })
        .collect()
}

/// A deterministic pseudo-random sequence (xorshift), for picking keys without a rand crate.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// Seeded generator (a zero seed is replaced).
    pub fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    /// Next value in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % bound.max(1) as u64) as usize
    }
}

mod python;
pub mod rebac_graph;
pub mod session_set;
pub mod table;
mod tally;
pub mod tasks;

pub use python::{PythonFigure, print_beside_python, python_figures};
pub use tally::Tally;
