//! Pattern-versus-pattern coverage: do the grants, together, match everything a pattern matches?
//!
//! Patterns only compare segments for equality with their own literals or accept any segment, so
//! every literal the patterns never mention behaves alike. The question is therefore decided over
//! a finite alphabet (the mentioned literals plus one fresh one, and the two separators) by a
//! breadth-first search of the product automaton. The search is bounded; when the bound is hit the
//! answer is "not covered" (fail closed).

use std::collections::{HashSet, VecDeque};

use super::grammar::{Item, Pattern};

/// Largest number of product states explored before answering "not covered".
const MAX_STATES: usize = 50_000;

/// Position of a pattern in its automaton: items matched so far, or dead.
const DEAD: u16 = u16::MAX;

/// Does the union of `grants` match every permission `target` matches?
pub(crate) fn covers<'a>(grants: impl IntoIterator<Item = &'a str>, target: &str) -> bool {
    let target = Pattern::parse(target);
    let grants: Vec<Pattern<'_>> = grants.into_iter().map(Pattern::parse).collect();
    if grants.is_empty() {
        return false;
    }
    let mut literals: Vec<&str> = Vec::new();
    for pattern in std::iter::once(&target).chain(grants.iter()) {
        for (_, item) in &pattern.items {
            if let Item::Lit(lit) = item {
                literals.push(lit);
            }
        }
    }
    literals.sort_unstable();
    literals.dedup();
    // `None` is the fresh literal that no pattern mentions.
    let alphabet: Vec<Option<&str>> = literals
        .iter()
        .copied()
        .map(Some)
        .chain(std::iter::once(None))
        .collect();

    type State = (u16, Vec<u16>);
    let start: State = (0, vec![0; grants.len()]);
    let mut seen: HashSet<State> = HashSet::new();
    let mut queue: VecDeque<(State, bool)> = VecDeque::new();
    seen.insert(start.clone());
    queue.push_back((start, true));
    while let Some(((t, gs), first)) = queue.pop_front() {
        let seps: &[u8] = if first { &[0] } else { b":." };
        for &sep in seps {
            for &seg in &alphabet {
                let Some(nt) = step(&target, t, sep, seg) else {
                    continue;
                };
                let ngs: Vec<u16> = grants
                    .iter()
                    .zip(&gs)
                    .map(|(g, &k)| {
                        if k == DEAD {
                            DEAD
                        } else {
                            step(g, k, sep, seg).unwrap_or(DEAD)
                        }
                    })
                    .collect();
                if accepts(&target, nt) && !grants.iter().zip(&ngs).any(|(g, &k)| accepts(g, k)) {
                    return false;
                }
                let next = (nt, ngs);
                if seen.len() >= MAX_STATES {
                    return false;
                }
                if seen.insert(next.clone()) {
                    queue.push_back((next, false));
                }
            }
        }
    }
    true
}

fn accepts(pattern: &Pattern<'_>, k: u16) -> bool {
    k != DEAD && usize::from(k) == pattern.items.len()
}

/// Advances `pattern` from position `k` over one `(separator, segment)` token.
fn step(pattern: &Pattern<'_>, k: u16, sep: u8, seg: Option<&str>) -> Option<u16> {
    let idx = usize::from(k);
    match pattern.items.get(idx) {
        Some(&(isep, item)) => {
            if isep != sep {
                return None;
            }
            let ok = match item {
                Item::Star => true,
                Item::Lit(lit) => seg == Some(lit),
            };
            ok.then_some(k + 1)
        }
        None => (pattern.rest && sep != 0).then_some(k),
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn design_table_pattern_coverage() {
        assert!(covers(["*"], "admin:*"));
        assert!(covers(["admin:*"], "admin:*"));
        assert!(covers(["admin>"], "admin:*"));
        assert!(!covers(["admin:read"], "admin:*"));
        assert!(!covers(["admin:*"], "admin>"));
    }

    #[test]
    fn union_of_grants_can_cover_a_pattern_none_covers_alone() {
        assert!(covers(["a", "a.*", "a:*"], "a>"));
        assert!(!covers(["a", "a.*"], "a>"));
        assert!(covers(["posts:*:read", "posts:*:write"], "posts:1:read"));
    }
}
