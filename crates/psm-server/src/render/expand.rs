//! An expansion tree (`psm rebac expand`, `POST /v1/expand`) as JSON and as indented text:
//! every node names `object#relation` and its `kind`; leaves list subjects in relationship
//! syntax, caveated leaves each subject with its caveat's name and stored context.

use psm_rebac::{CaveatRef, ExpandNode, Expansion};
use serde_json::{Value, json};

use crate::Error;

/// The most subjects a rendered tree lists (over all its leaves) before rendering stops with an
/// error: it bounds a response, as lookups' page limit does.
pub const MAX_EXPAND_SUBJECTS: usize = 10_000;

/// `{"object", "relation", "kind", ...}`: `subjects` for `leaf` (strings) and `caveated`
/// (`{"subject", "caveat": {"name", "context"}}`), `children` for `union`, `intersection` and
/// `exclusion` (the first minus the second); `cycle` has neither. Fails when the tree lists
/// more than `max_subjects` subjects.
pub fn tree_json(node: &ExpandNode, max_subjects: usize) -> Result<Value, Error> {
    let mut budget = max_subjects;
    node_json(node, &mut budget, max_subjects)
}

/// Takes `n` from the subject budget, or fails naming the bound.
fn spend(budget: &mut usize, n: usize, max: usize) -> Result<(), Error> {
    *budget = budget.checked_sub(n).ok_or_else(|| {
        Error::input(format!(
            "the expansion lists more than {max} subjects; look subjects up page by page instead"
        ))
    })?;
    Ok(())
}

/// What an expansion's kind is called, and its children.
fn parts(e: &Expansion) -> Result<(&'static str, Vec<&ExpandNode>), Error> {
    Ok(match e {
        Expansion::Leaf(_) => ("leaf", Vec::new()),
        Expansion::Caveated(_) => ("caveated", Vec::new()),
        Expansion::Union(c) => ("union", c.iter().collect()),
        Expansion::Intersection(c) => ("intersection", c.iter().collect()),
        Expansion::Exclusion(a, b) => ("exclusion", vec![a.as_ref(), b.as_ref()]),
        Expansion::Cycle => ("cycle", Vec::new()),
        _ => {
            return Err(Error::new(
                psm_core::ErrorKind::Internal,
                "the expansion has a kind of node this psm version cannot render",
            ));
        }
    })
}

/// A caveat as JSON: its name and stored context.
fn caveat_json(c: &CaveatRef) -> Value {
    let context = c.context.as_ref().map(|x| Value::Object(x.map().clone()));
    json!({"name": c.name, "context": context})
}

fn node_json(node: &ExpandNode, budget: &mut usize, max: usize) -> Result<Value, Error> {
    let (kind, children) = parts(&node.expansion)?;
    let mut out = json!({
        "object": node.object.to_string(),
        "relation": node.relation,
        "kind": kind,
    });
    match &node.expansion {
        Expansion::Leaf(subjects) => {
            spend(budget, subjects.len(), max)?;
            out["subjects"] = json!(subjects.iter().map(ToString::to_string).collect::<Vec<_>>());
        }
        Expansion::Caveated(subjects) => {
            spend(budget, subjects.len(), max)?;
            out["subjects"] = Value::Array(
                subjects
                    .iter()
                    .map(|c| json!({"subject": c.subject.to_string(), "caveat": caveat_json(&c.caveat)}))
                    .collect(),
            );
        }
        _ if !children.is_empty() => {
            // Recursion depth is the tree's, which the engine's depth limit bounds.
            out["children"] = Value::Array(
                children
                    .into_iter()
                    .map(|c| node_json(c, budget, max))
                    .collect::<Result<_, _>>()?,
            );
        }
        _ => {}
    }
    Ok(out)
}

/// The tree as indented text, one node or subject a line: `object#relation kind`, then its
/// subjects (`subject [caveat:{context}]` when caveated) or children, two spaces deeper.
pub fn tree_text(node: &ExpandNode, max_subjects: usize) -> Result<String, Error> {
    let mut out = String::new();
    let mut budget = max_subjects;
    node_text(node, 0, &mut out, &mut budget, max_subjects)?;
    Ok(out.trim_end().to_owned())
}

fn node_text(
    node: &ExpandNode,
    depth: usize,
    out: &mut String,
    budget: &mut usize,
    max: usize,
) -> Result<(), Error> {
    let (kind, children) = parts(&node.expansion)?;
    let pad = "  ".repeat(depth);
    out.push_str(&format!("{pad}{}#{} {kind}\n", node.object, node.relation));
    match &node.expansion {
        Expansion::Leaf(subjects) => {
            spend(budget, subjects.len(), max)?;
            for s in subjects {
                out.push_str(&format!("{pad}  {s}\n"));
            }
        }
        Expansion::Caveated(subjects) => {
            spend(budget, subjects.len(), max)?;
            for c in subjects {
                let context = c
                    .caveat
                    .context
                    .as_ref()
                    .map(|t| format!(":{t}"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{pad}  {} [{}{context}]\n",
                    c.subject, c.caveat.name
                ));
            }
        }
        _ => {
            for c in children {
                node_text(c, depth + 1, out, budget, max)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(relation: &str, subjects: &[&str]) -> ExpandNode {
        ExpandNode {
            object: "doc:a".parse().unwrap(),
            relation: relation.into(),
            expansion: Expansion::Leaf(subjects.iter().map(|s| s.parse().unwrap()).collect()),
        }
    }

    #[test]
    fn an_exclusion_lists_base_then_subtracted_and_the_subject_bound_holds_over_all_leaves() {
        let tree = ExpandNode {
            object: "doc:a".parse().unwrap(),
            relation: "read".into(),
            expansion: Expansion::Exclusion(
                Box::new(leaf("reader", &["user:a", "user:b"])),
                Box::new(leaf("banned", &["user:b"])),
            ),
        };
        let v = tree_json(&tree, 3).unwrap();
        assert_eq!(v["kind"], "exclusion");
        assert_eq!(v["children"][0]["subjects"], json!(["user:a", "user:b"]));
        assert_eq!(v["children"][1]["relation"], "banned");
        let e = tree_json(&tree, 2).unwrap_err().to_string();
        assert!(e.contains("more than 2 subjects"), "{e}");
        assert!(tree_text(&tree, 2).is_err());
        assert_eq!(
            tree_text(&tree, 3).unwrap(),
            "doc:a#read exclusion\n  doc:a#reader leaf\n    user:a\n    user:b\n  \
             doc:a#banned leaf\n    user:b"
        );
    }
}
