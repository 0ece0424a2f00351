//! `Hierarchy`: named permission bundles (`editor → [read:posts, write:posts]`) expanded transitively.

use std::collections::{BTreeMap, BTreeSet};

use super::grammar::validate_permission;
use crate::error::{Error, Result};

/// Bundles of permissions implied by other permissions, checked acyclic when built.
///
/// ```
/// use psm_core::permission::Hierarchy;
/// let h = Hierarchy::builder()
///     .bundle("admin", ["editor", "delete:posts"])
///     .bundle("editor", ["read:posts", "write:posts"])
///     .build()
///     .unwrap();
/// assert_eq!(
///     h.expand(["admin"]),
///     vec!["admin", "delete:posts", "editor", "read:posts", "write:posts"]
/// );
/// assert!(Hierarchy::builder().bundle("a", ["b"]).bundle("b", ["a"]).build().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchy {
    /// Each bundle name with the full (transitive) set it implies.
    closure: BTreeMap<String, BTreeSet<String>>,
}

/// Collects bundles for a [`Hierarchy`].
#[derive(Debug, Clone, Default)]
pub struct HierarchyBuilder {
    bundles: BTreeMap<String, Vec<String>>,
}

impl Hierarchy {
    /// Starts an empty builder.
    pub fn builder() -> HierarchyBuilder {
        HierarchyBuilder::default()
    }

    /// Builds from a map of bundle name to members (the shape JSON config files use).
    pub fn from_map<I, K, V, S>(map: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut builder = Self::builder();
        for (name, members) in map {
            builder = builder.bundle(name, members);
        }
        builder.build()
    }

    /// The permissions given plus everything they imply, sorted and de-duplicated.
    pub fn expand<I, S>(&self, permissions: I) -> Vec<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = BTreeSet::new();
        for p in permissions {
            let p = p.as_ref();
            if let Some(implied) = self.closure.get(p) {
                out.extend(implied.iter().cloned());
            }
            out.insert(p.to_owned());
        }
        out.into_iter().collect()
    }

    /// True when no bundle is defined.
    pub fn is_empty(&self) -> bool {
        self.closure.is_empty()
    }
}

impl HierarchyBuilder {
    /// Adds (or extends) bundle `name` with `members`; members may name other bundles.
    pub fn bundle<I, S>(mut self, name: impl Into<String>, members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bundles
            .entry(name.into())
            .or_default()
            .extend(members.into_iter().map(Into::into));
        self
    }

    /// Validates every name against the permission grammar and rejects cycles.
    pub fn build(self) -> Result<Hierarchy> {
        for (name, members) in &self.bundles {
            for p in std::iter::once(name).chain(members) {
                validate_permission(p).map_err(|e| Error::InvalidHierarchy {
                    reason: format!("bundle {name:?}: {e}"),
                })?;
            }
        }
        let mut closure = BTreeMap::new();
        for name in self.bundles.keys() {
            let mut acc = BTreeSet::new();
            let mut path = vec![name.clone()];
            self.collect(name, &mut acc, &mut path)?;
            closure.insert(name.clone(), acc);
        }
        Ok(Hierarchy { closure })
    }

    /// Depth-first closure; `path` is the current chain, used to report a cycle.
    fn collect(
        &self,
        name: &str,
        acc: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Result<()> {
        let Some(members) = self.bundles.get(name) else {
            return Ok(());
        };
        for m in members {
            if path.iter().any(|p| p == m) {
                path.push(m.clone());
                return Err(Error::InvalidHierarchy {
                    reason: format!("cycle {}", path.join(" -> ")),
                });
            }
            if acc.insert(m.clone()) {
                path.push(m.clone());
                self.collect(m, acc, path)?;
                path.pop();
            }
        }
        Ok(())
    }
}
