//! A bound on the work of one caveat evaluation, decided before it runs (cel has no cost
//! limit of its own): the expression's shape is measured once when it compiles, and each
//! evaluation multiplies it by the size of the parameters it was given.
//!
//! The estimate is `nodes × L^depth`, where `nodes` is the number of expression nodes (macros
//! expanded), `depth` the deepest nesting of comprehensions (`all`, `exists`, `exists_one`,
//! `map`, `filter`) whose loop bodies run once per element, and `L` a bound on the length of
//! any list or map the expression can iterate: the elements and string bytes in the parameters
//! plus the nodes of the expression (list literals), times one more for every `+` node (a
//! concatenation at most adds one such list to another). Every value an evaluation builds is
//! bounded by these, so the estimate bounds the nodes evaluated.

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr};
use serde_json::Value as Json;

/// What the estimate needs of an expression, measured once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Shape {
    /// Expression nodes.
    pub nodes: u64,
    /// `_+_` calls.
    pub plus: u64,
    /// Deepest nesting of comprehension loop bodies.
    pub depth: u32,
}

impl Shape {
    /// Measures `root` without recursion (a long `a + b + ...` chain is thousands deep).
    pub(super) fn of(root: &IdedExpr) -> Self {
        let mut shape = Self::default();
        let mut stack: Vec<(&IdedExpr, u32)> = vec![(root, 0)];
        while let Some((e, depth)) = stack.pop() {
            shape.nodes += 1;
            match &e.expr {
                Expr::Call(c) => {
                    if c.func_name == "_+_" {
                        shape.plus += 1;
                    }
                    if let Some(t) = &c.target {
                        stack.push((t, depth));
                    }
                    stack.extend(c.args.iter().map(|a| (a, depth)));
                }
                Expr::Comprehension(c) => {
                    let inner = depth + 1;
                    shape.depth = shape.depth.max(inner);
                    stack.push((&c.iter_range, depth));
                    stack.push((&c.accu_init, depth));
                    stack.push((&c.loop_cond, inner));
                    stack.push((&c.loop_step, inner));
                    stack.push((&c.result, depth));
                }
                Expr::List(l) => stack.extend(l.elements.iter().map(|x| (x, depth))),
                Expr::Map(m) => {
                    for entry in &m.entries {
                        if let EntryExpr::MapEntry(me) = &entry.expr {
                            stack.push((&me.key, depth));
                            stack.push((&me.value, depth));
                        }
                    }
                }
                Expr::Struct(s) => {
                    for entry in &s.entries {
                        match &entry.expr {
                            EntryExpr::StructField(f) => stack.push((&f.value, depth)),
                            EntryExpr::MapEntry(me) => {
                                stack.push((&me.key, depth));
                                stack.push((&me.value, depth));
                            }
                        }
                    }
                }
                Expr::Select(s) => stack.push((&s.operand, depth)),
                Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
            }
        }
        shape
    }

    /// The estimated cost of evaluating with parameters holding `size` elements and string
    /// bytes (see [`size`]).
    pub(super) fn cost(&self, size: u64) -> u64 {
        let longest = size
            .saturating_add(self.nodes)
            .saturating_mul(self.plus.saturating_add(1));
        let mut cost = self.nodes;
        for _ in 0..self.depth {
            cost = cost.saturating_mul(longest.max(1));
        }
        cost
    }
}

/// Elements of lists and maps and bytes of strings in a JSON value, counted without recursion.
pub(super) fn size(v: &Json) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::Array(a) => {
                total = total.saturating_add(a.len() as u64);
                stack.extend(a);
            }
            Json::Object(m) => {
                total = total.saturating_add(m.len() as u64);
                for (k, x) in m {
                    total = total.saturating_add(k.len() as u64);
                    stack.push(x);
                }
            }
            Json::String(s) => total = total.saturating_add(s.len() as u64),
            _ => {}
        }
    }
    total
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn shape(src: &str) -> Shape {
        Shape::of(cel::Program::compile(src).unwrap().expression())
    }

    #[test]
    fn nested_comprehensions_multiply() {
        let flat = shape("l.exists(a, a == 1)");
        let nested = shape("l.exists(a, l.exists(b, a == b + 1000000000))");
        assert_eq!(flat.depth, 1);
        assert_eq!(nested.depth, 2);
        assert_eq!(shape("x == 1").depth, 0);
        // the case: 3,000 integers, nested twice, is far past a million
        assert!(nested.cost(3000) > 100_000_000, "{nested:?}");
        // a single pass over 3,000 stays cheap
        assert!(flat.cost(3000) < 1_000_000, "{flat:?} {}", flat.cost(3000));
    }

    #[test]
    fn a_long_chain_is_measured_without_recursion() {
        let src = vec!["1"; 2000].join(" + ");
        let s = std::thread::Builder::new()
            .stack_size(64 * 1024 * 1024)
            .spawn(move || shape(&format!("x == {src}")))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(s.plus, 1999);
        assert_eq!(s.depth, 0);
    }

    #[test]
    fn sizes_count_elements_and_bytes() {
        let v = serde_json::json!({"l": [1, 2, [3, "abcd"]], "s": "xy"});
        // object: 2 entries + "l" + "s"; list 3 + inner list 2; "abcd" 4; "xy" 2
        assert_eq!(size(&v), 2 + 1 + 1 + 3 + 2 + 4 + 2);
    }
}
