//! `Catalog`: a validated permission tree and what it answers — `permission_list()` in
//! django-permagate's order and form, `contains`, `describe` and grant validation.

use std::collections::{BTreeMap, HashSet};

use psm_core::permission::validate_permission;

use crate::error::{Error, Result, TreeRule};
use crate::node::Permission;

/// Deepest tree accepted (levels below the root).
pub const MAX_DEPTH: usize = 32;
/// Most nodes in one tree.
pub const MAX_NODES: usize = 10_000;
/// The permission of the root: every permission.
pub const ROOT: &str = "*";

/// What [`Catalog::describe`] knows about a declared permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// The permission (`test.sub1`; `*` for the root).
    pub permission: String,
    /// The node's human name, if declared.
    pub name: Option<String>,
    /// The node's description, if declared.
    pub description: Option<String>,
    /// The permissions of the node's children, in declaration order.
    pub children: Vec<String>,
}

/// A validated permission tree. Building one checks every node; once built it answers in memory.
///
/// `permission_list()` is exactly what may be assigned, in permagate's order: `*` for the
/// root, then depth first in declaration order each node's permission, followed — for a node
/// with children only — by its inclusive wildcard `node>`.
///
/// ```
/// use psm_catalog::{Catalog, Permission};
/// let catalog = Catalog::new(Permission::root().register([
///     Permission::new("test").name("Optional Name").description("Optional Description").register([
///         Permission::new("sub1").register([Permission::new("sub-sub1")]),
///         Permission::new("sub2"),
///     ]),
///     Permission::new("test1"),
/// ]))?;
/// assert_eq!(
///     catalog.permission_list(),
///     ["*", "test", "test>", "test.sub1", "test.sub1>", "test.sub1.sub-sub1", "test.sub2", "test1"]
/// );
/// assert!(catalog.contains("test.sub1.sub-sub1"));
/// assert!(catalog.validate_grant("test.sub1>").is_ok());
/// assert!(catalog.validate_grant("test.sub2>").is_err()); // a leaf has no `>` form
/// assert_eq!(catalog.describe("test").and_then(|d| d.name), Some("Optional Name".into()));
/// # Ok::<(), psm_catalog::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Catalog {
    root: Permission,
    list: Vec<String>,
    assignable: HashSet<String>,
    nodes: BTreeMap<String, Description>,
}

impl Catalog {
    /// Validates `root` (see [`Permission`] for the rules of keys) and builds the catalog. A bad
    /// tree is [`Error::Tree`] naming the node.
    pub fn new(root: Permission) -> Result<Self> {
        if !(root.key().is_empty() || root.key() == ROOT) {
            return Err(tree(ROOT, TreeRule::RootKey));
        }
        let mut walk = Walk {
            list: vec![ROOT.to_owned()],
            nodes: BTreeMap::new(),
            count: 0,
        };
        walk.nodes.insert(
            ROOT.to_owned(),
            describe(
                ROOT,
                &root,
                root.children().iter().map(|c| c.key().to_owned()),
            ),
        );
        walk.children(None, root.children(), 1)?;
        let assignable = walk.list.iter().cloned().collect();
        Ok(Catalog {
            root,
            list: walk.list,
            assignable,
            nodes: walk.nodes,
        })
    }

    /// The strings that may be assigned, in permagate's order (see the type's docs).
    pub fn permission_list(&self) -> &[String] {
        &self.list
    }

    /// True when `permission` is a declared node (`*` is the root).
    pub fn contains(&self, permission: &str) -> bool {
        self.nodes.contains_key(permission)
    }

    /// True when `grant` is in [`permission_list`](Self::permission_list).
    pub fn is_assignable(&self, grant: &str) -> bool {
        self.assignable.contains(grant)
    }

    /// Accepts a grant in [`permission_list`](Self::permission_list); anything else is
    /// [`Error::Undeclared`] (or a grammar error when it is not a permission at all).
    pub fn validate_grant(&self, grant: &str) -> Result<()> {
        if self.is_assignable(grant) {
            return Ok(());
        }
        validate_permission(grant)?;
        Err(Error::Undeclared {
            permission: grant.to_owned(),
        })
    }

    /// The name, description and children of a declared permission.
    pub fn describe(&self, permission: &str) -> Option<Description> {
        self.nodes.get(permission).cloned()
    }

    /// The tree as declared.
    pub fn root(&self) -> &Permission {
        &self.root
    }
}

fn tree(path: &str, rule: TreeRule) -> Error {
    Error::Tree {
        path: path.to_owned(),
        rule,
    }
}

fn describe(
    permission: &str,
    node: &Permission,
    children: impl Iterator<Item = String>,
) -> Description {
    Description {
        permission: permission.to_owned(),
        name: node.display_name().map(str::to_owned),
        description: node.about().map(str::to_owned),
        children: children.collect(),
    }
}

/// The state of one validation walk.
struct Walk {
    list: Vec<String>,
    nodes: BTreeMap<String, Description>,
    count: usize,
}

impl Walk {
    /// Validates and lists `children` of the node at `parent` (`None` = the root), depth first.
    fn children(
        &mut self,
        parent: Option<&str>,
        children: &[Permission],
        depth: usize,
    ) -> Result<()> {
        let mut siblings = HashSet::new();
        for child in children {
            let path = match parent {
                Some(p) => format!("{p}.{}", child.key()),
                None => child.key().to_owned(),
            };
            self.count += 1;
            if self.count > MAX_NODES {
                return Err(tree(&path, TreeRule::TooMany { max: MAX_NODES }));
            }
            if depth > MAX_DEPTH {
                return Err(tree(&path, TreeRule::TooDeep { max: MAX_DEPTH }));
            }
            check_key(child.key()).map_err(|rule| tree(&path, rule))?;
            if !siblings.insert(child.key()) {
                return Err(tree(&path, TreeRule::Duplicate));
            }
            validate_permission(&path).map_err(|e| tree(&path, TreeRule::Permission(e)))?;
            let kids = child
                .children()
                .iter()
                .map(|c| format!("{path}.{}", c.key()));
            self.nodes
                .insert(path.clone(), describe(&path, child, kids));
            self.list.push(path.clone());
            if !child.children().is_empty() {
                self.list.push(format!("{path}>"));
                self.children(Some(&path), child.children(), depth + 1)?;
            }
        }
        Ok(())
    }
}

/// A key is one non-empty segment without separators, wildcards, spaces or control characters.
fn check_key(key: &str) -> std::result::Result<(), TreeRule> {
    if key.is_empty() {
        return Err(TreeRule::EmptyKey);
    }
    match key
        .char_indices()
        .find(|&(_, c)| matches!(c, '.' | ':' | '*' | '>') || c.is_whitespace() || c.is_control())
    {
        Some((index, ch)) => Err(TreeRule::ForbiddenChar { ch, index }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{README_LIST, readme_tree};

    #[test]
    fn the_permagate_readme_list() {
        let c = Catalog::new(readme_tree()).unwrap();
        assert_eq!(c.permission_list(), README_LIST);
        assert!(c.contains("*"));
        assert!(c.contains("test.sub2"));
        assert!(!c.contains("test>"));
        assert!(!c.contains("test.sub3"));
        let d = c.describe("test").unwrap();
        assert_eq!(d.description.as_deref(), Some("Optional Description"));
        assert_eq!(d.children, ["test.sub1", "test.sub2"]);
        assert_eq!(c.describe("*").unwrap().children, ["test", "test1"]);
        assert_eq!(c.describe("test1").unwrap().name, None);
    }

    #[test]
    fn grants_outside_the_list_are_refused_by_kind() {
        let c = Catalog::new(readme_tree()).unwrap();
        for ok in c.permission_list() {
            c.validate_grant(ok).unwrap();
        }
        for undeclared in [
            "test.sub2>",
            "test1>",
            "test.*",
            "nope",
            "test:sub1",
            "test.sub1.x",
        ] {
            assert!(
                matches!(c.validate_grant(undeclared), Err(Error::Undeclared { .. })),
                "{undeclared}"
            );
        }
        assert!(matches!(
            c.validate_grant("a::b"),
            Err(Error::Store(psm_core::Error::InvalidPermission(_)))
        ));
    }

    #[test]
    fn a_bad_tree_names_the_node() {
        let bad = |root: Permission| match Catalog::new(root) {
            Err(Error::Tree { path, rule }) => (path, rule),
            other => panic!("{other:?}"),
        };
        let (path, rule) =
            bad(Permission::root()
                .register([Permission::new("a").register([Permission::new("b.c")])]));
        assert_eq!(
            (path.as_str(), rule),
            ("a.b.c", TreeRule::ForbiddenChar { ch: '.', index: 1 })
        );
        let (path, rule) =
            bad(Permission::root().register([Permission::new("a"), Permission::new("a")]));
        assert_eq!((path.as_str(), rule), ("a", TreeRule::Duplicate));
        let (path, rule) = bad(
            Permission::root().register([Permission::new("x").register([Permission::new("")])])
        );
        assert_eq!((path.as_str(), rule), ("x.", TreeRule::EmptyKey));
        for key in ["*", ">", "a*", "a b", "a:b", "tab\t"] {
            let (path, _) = bad(Permission::root().register([Permission::new(key)]));
            assert_eq!(path, key);
        }
        let (_, rule) = bad(Permission::new("root"));
        assert_eq!(rule, TreeRule::RootKey);
        let long = "k".repeat(200);
        let (path, rule) = bad(Permission::root()
            .register([Permission::new(&long).register([Permission::new(&long)])]));
        assert_eq!(path, format!("{long}.{long}"));
        assert!(matches!(rule, TreeRule::Permission(_)));
        let mut deep = Permission::new("leaf");
        for _ in 0..MAX_DEPTH {
            deep = Permission::new("n").register([deep]);
        }
        let (_, rule) = bad(Permission::root().register([deep]));
        assert_eq!(rule, TreeRule::TooDeep { max: MAX_DEPTH });
        let wide =
            Permission::root().register((0..=MAX_NODES).map(|i| Permission::new(i.to_string())));
        assert_eq!(bad(wide).1, TreeRule::TooMany { max: MAX_NODES });
    }

    proptest::proptest! {
        /// Every listed string is a valid grant; `>` forms are exactly the nodes with children.
        #[test]
        fn the_list_is_the_nodes_plus_wildcards_of_inner_nodes(
            shape in proptest::collection::vec((0usize..6, 0usize..4), 0..30)
        ) {
            // each entry: (parent index among earlier nodes, key)
            let mut paths: Vec<String> = Vec::new();
            let mut root = Permission::root();
            let mut parents: Vec<Vec<usize>> = Vec::new(); // path of child indexes
            for (i, (parent, key)) in shape.iter().enumerate() {
                let key = format!("k{key}_{i}");
                let attach = if paths.is_empty() { None } else { Some(parent % paths.len()) };
                let mut route = attach.map(|a| parents[a].clone()).unwrap_or_default();
                let mut node = &mut root;
                for &step in &route {
                    node = &mut node.children[step];
                }
                route.push(node.children.len());
                node.children.push(Permission::new(&key));
                let path = match attach { Some(a) => format!("{}.{key}", paths[a]), None => key };
                paths.push(path);
                parents.push(route);
            }
            let c = Catalog::new(root).unwrap();
            let listed: HashSet<&str> = c.permission_list().iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(listed.len(), c.permission_list().len());
            for p in &paths {
                proptest::prop_assert!(c.contains(p));
                let has_children = paths.iter().any(|q| q.starts_with(&format!("{p}.")));
                proptest::prop_assert_eq!(listed.contains(format!("{p}>").as_str()), has_children);
            }
            proptest::prop_assert_eq!(c.permission_list().len(), 1 + paths.len()
                + paths.iter().filter(|p| paths.iter().any(|q| q.starts_with(&format!("{p}.")))).count());
        }
    }
}
