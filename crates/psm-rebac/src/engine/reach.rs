//! Which relations can hold a given kind of subject, from the schema alone: OpenFGA's type graph,
//! along which it evaluates (and so meets relationships' conditions) only the edges that can lead
//! to the subject's type. A relation outside this set answers false for such a subject whatever
//! its relationships, so an evaluation may skip it without reading them.

use std::collections::HashSet;

use crate::schema::{Rewrite, Schema};

/// Every `(type, relation)` whose subjects can include `subject_type` objects (with
/// `subject_relation`: its usersets), directly or through usersets, computed relations and arrows.
pub(crate) fn reaching(
    schema: &Schema,
    subject_type: &str,
    subject_relation: Option<&str>,
) -> HashSet<(String, String)> {
    let mut set: HashSet<(String, String)> = HashSet::new();
    if let Some(r) = subject_relation {
        set.insert((subject_type.to_owned(), r.to_owned()));
    }
    loop {
        let before = set.len();
        for def in schema.definitions() {
            for rel in &def.relations {
                let key = (def.name.clone(), rel.name.clone());
                if set.contains(&key) {
                    continue;
                }
                let mut leaves = Vec::new();
                rel.rewrite.for_each_leaf(&mut |l| leaves.push(l));
                let hit = leaves.iter().any(|leaf| match leaf {
                    Rewrite::This => rel.allowed.iter().any(|a| {
                        let direct = a.object_type == subject_type
                            && a.relation.as_deref() == subject_relation;
                        let nested = a
                            .relation
                            .as_ref()
                            .is_some_and(|r| set.contains(&(a.object_type.clone(), r.clone())));
                        direct || nested
                    }),
                    Rewrite::Computed { relation: c, .. } => {
                        set.contains(&(def.name.clone(), c.clone()))
                    }
                    Rewrite::Arrow {
                        tupleset, computed, ..
                    } => def.relation(tupleset).is_some_and(|ts| {
                        ts.allowed
                            .iter()
                            .any(|a| set.contains(&(a.object_type.clone(), computed.clone())))
                    }),
                    _ => false,
                });
                if hit {
                    set.insert(key);
                }
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::reaching;
    use crate::Schema;

    #[test]
    fn relations_reach_subjects_through_usersets_computed_relations_and_arrows() {
        let schema = Schema::parse_spicedb(
            "definition user {}\ndefinition folder {}\ndefinition team {\n  relation member: user | team#member\n  relation owner: folder\n}\ndefinition doc {\n  relation parent: team\n  relation viewer: team#member\n  relation owner: folder\n  permission view = viewer + parent->member\n  permission own = owner\n}\n",
        )
        .unwrap();
        let users = reaching(&schema, "user", None);
        for (t, r) in [("team", "member"), ("doc", "viewer"), ("doc", "view")] {
            assert!(users.contains(&(t.to_owned(), r.to_owned())), "{t}#{r}");
        }
        for (t, r) in [("team", "owner"), ("doc", "own"), ("doc", "parent")] {
            assert!(!users.contains(&(t.to_owned(), r.to_owned())), "{t}#{r}");
        }
        let folders = reaching(&schema, "folder", None);
        assert!(folders.contains(&("doc".to_owned(), "own".to_owned())));
        assert!(!folders.contains(&("doc".to_owned(), "view".to_owned())));
        let members = reaching(&schema, "team", Some("member"));
        assert!(members.contains(&("doc".to_owned(), "viewer".to_owned())));
        assert!(members.contains(&("team".to_owned(), "member".to_owned())));
    }
}
