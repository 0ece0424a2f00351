//! Property tests of the permission grammar against a naive model: validation, matching of
//! concrete permissions (small and indexed sets alike) and pattern coverage (checked by brute
//! force over a finite universe of permissions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use psm_core::permission::{PermissionSet, matches, validate_permission};

/// A pattern as the model sees it: segments (`None` = `*`), separators, and whether any number
/// of further segments may follow.
#[derive(Debug, Clone)]
struct ModelPattern {
    segs: Vec<Option<String>>,
    seps: Vec<char>,
    rest: bool,
}

fn model_parse(text: &str) -> ModelPattern {
    let (body, deep) = match text.strip_suffix('>') {
        Some(b) => (b, true),
        None => (text, false),
    };
    let mut segs = Vec::new();
    let mut seps = Vec::new();
    let mut cur = String::new();
    for ch in body.chars() {
        if ch == ':' || ch == '.' {
            seps.push(ch);
            segs.push(cur.clone());
            cur.clear();
        } else {
            cur.push(ch);
        }
    }
    segs.push(cur);
    let last_star = segs.last().is_some_and(|s| s == "*");
    ModelPattern {
        segs: segs.into_iter().map(|s| (s != "*").then_some(s)).collect(),
        seps,
        rest: deep || last_star,
    }
}

/// Does the model pattern match a concrete permission?
fn model_matches(grant: &str, perm: &str) -> bool {
    let g = model_parse(grant);
    let p = model_parse(perm);
    if p.segs.len() < g.segs.len() || (!g.rest && p.segs.len() != g.segs.len()) {
        return false;
    }
    let segs_ok = g.segs.iter().zip(&p.segs).all(|(gs, ps)| match gs {
        None => true,
        Some(lit) => Some(lit) == ps.as_ref(),
    });
    let seps_ok = g.seps.iter().zip(&p.seps).all(|(a, b)| a == b);
    segs_ok && seps_ok
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string()),
        Just("*".to_string())
    ]
}

fn separator() -> impl Strategy<Value = char> {
    prop_oneof![Just(':'), Just('.')]
}

/// Grants and patterns over a tiny alphabet, so that matches are frequent.
fn pattern() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec((separator(), segment()), 1..4),
        any::<bool>(),
    )
        .prop_map(|(parts, deep)| {
            let mut s = String::new();
            for (i, (sep, seg)) in parts.iter().enumerate() {
                if i > 0 {
                    s.push(*sep);
                }
                s.push_str(seg);
            }
            if deep && !s.ends_with('*') {
                s.push('>');
            }
            s
        })
}

fn concrete() -> impl Strategy<Value = String> {
    pattern().prop_map(|p| p.replace('*', "x").trim_end_matches('>').to_string())
}

/// Every concrete permission over segments {a, b, c, x} and both separators, up to `depth`.
fn universe(depth: usize) -> Vec<String> {
    let segs = ["a", "b", "c", "x"];
    let mut out: Vec<String> = segs.iter().map(|s| s.to_string()).collect();
    let mut frontier = out.clone();
    for _ in 1..depth {
        let mut next = Vec::new();
        for p in &frontier {
            for sep in [':', '.'] {
                for s in segs {
                    next.push(format!("{p}{sep}{s}"));
                }
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_patterns_are_valid(p in pattern()) {
        prop_assert!(validate_permission(&p).is_ok(), "{p}");
    }

    #[test]
    fn arbitrary_strings_never_panic_and_invalid_ones_are_rejected(s in "\\PC{0,40}") {
        let _ = validate_permission(&s);
        let _ = PermissionSet::new([s.as_str()]);
    }

    #[test]
    fn concrete_check_agrees_with_the_model_for_small_and_indexed_sets(
        grants in proptest::collection::vec(pattern(), 0..8),
        perm in concrete(),
    ) {
        let want = grants.iter().any(|g| model_matches(g, &perm));
        let small = PermissionSet::new(&grants).unwrap();
        prop_assert_eq!(small.check(&perm).unwrap(), want);
        let mut padded: Vec<String> = (0..20).map(|i| format!("pad{i}:z")).collect();
        padded.extend(grants.iter().cloned());
        let large = PermissionSet::new(&padded).unwrap();
        prop_assert_eq!(large.check(&perm).unwrap(), want);
        for g in &grants {
            prop_assert_eq!(matches(g, &perm).unwrap(), model_matches(g, &perm));
        }
    }

    #[test]
    fn pattern_check_means_coverage_of_everything_the_pattern_matches(
        grants in proptest::collection::vec(prop_oneof![pattern(), concrete()], 0..7),
        target in pattern(),
    ) {
        let set = PermissionSet::new(&grants).unwrap();
        let got = set.check(&target).unwrap();
        // brute force: deep enough that any counterexample has a representative
        let counterexample = universe(4)
            .into_iter()
            .filter(|p| model_matches(&target, p))
            .find(|p| !grants.iter().any(|g| model_matches(g, p)));
        let covered_in_universe = counterexample.is_none();
        if got {
            prop_assert!(covered_in_universe, "said covered, but {counterexample:?} is not granted");
        } else {
            prop_assert!(!covered_in_universe, "said not covered, but every permission up to depth 4 is");
        }
    }

    #[test]
    fn deep_patterns_are_covered_by_their_base_plus_both_star_branches(
        base in concrete(),
        pick in proptest::collection::vec(any::<bool>(), 4),
    ) {
        let candidates = [base.clone(), format!("{base}.*"), format!("{base}:*"), format!("{base}.x")];
        let grants: Vec<&String> = candidates.iter().zip(&pick).filter(|(_, p)| **p).map(|(g, _)| g).collect();
        let set = PermissionSet::new(&grants).unwrap();
        let target = format!("{base}>");
        let want = pick[0] && pick[1] && pick[2];
        prop_assert_eq!(set.check(&target).unwrap(), want, "grants {:?}", grants);
    }
}

/// A permission to ask: one of the grants as written (an exact hit, or a pattern asked as
/// such), a generated pattern or concrete permission, or any string (mostly invalid).
fn asked(grants: Vec<String>) -> impl Strategy<Value = String> {
    let from_grants = if grants.is_empty() {
        Just("a".to_string()).boxed()
    } else {
        proptest::sample::select(grants).boxed()
    };
    prop_oneof![
        from_grants,
        pattern(),
        concrete(),
        "\\PC{0,12}",
        "[a-c:.*>]{0,6}"
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// `check_unparsed` (exact grants compared before the parse) gives `check`'s answer, and
    /// its error for an invalid permission, for every string, small and indexed sets alike.
    #[test]
    fn check_unparsed_agrees_with_check_for_every_string(
        (grants, perm) in proptest::collection::vec(prop_oneof![pattern(), concrete()], 0..8)
            .prop_flat_map(|g| (Just(g.clone()), asked(g))),
    ) {
        let mut padded: Vec<String> = (0..20).map(|i| format!("pad{i}:z")).collect();
        padded.extend(grants.iter().cloned());
        for set in [PermissionSet::new(&grants).unwrap(), PermissionSet::new(&padded).unwrap()] {
            let unparsed = set.check_unparsed(&perm);
            let checked = set.check(&perm);
            prop_assert_eq!(unparsed.is_ok(), checked.is_ok(), "{:?} {:?}", perm, grants);
            match (unparsed, checked) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{:?} {:?}", perm, grants),
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                _ => unreachable!(),
            }
        }
    }
}
