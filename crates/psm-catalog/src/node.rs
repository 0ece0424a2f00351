//! `Permission`: one node of a declared tree — key, optional name and description, children —
//! built in code like django-permagate's `Permission(key, name, description).register([...])` or
//! read from a file with serde.

use serde::{Deserialize, Serialize};

/// A node of a permission tree. The root has no key (or `*`); every other node's key is one
/// segment of psm's grammar (no `.`, `:`, `*`, `>`, spaces or control characters), and its
/// permission is the dotted path of keys from the root (`test.sub1.sub-sub1`).
///
/// ```
/// use psm_catalog::Permission;
/// let root = Permission::root().register([
///     Permission::new("test").name("Optional Name").description("Optional Description"),
/// ]);
/// assert_eq!(root.children()[0].key(), "test");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) children: Vec<Permission>,
}

impl Permission {
    /// The root of a tree (permagate's `Permission()`); its permission is `*`.
    pub fn root() -> Self {
        Permission::default()
    }

    /// A node with `key` (permagate's `Permission("key")`).
    pub fn new(key: impl Into<String>) -> Self {
        Permission {
            key: key.into(),
            ..Permission::default()
        }
    }

    /// Sets the human name (permagate's second argument).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description (permagate's third argument).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds children after any already registered (permagate's `register([...])`).
    pub fn register(mut self, children: impl IntoIterator<Item = Permission>) -> Self {
        self.children.extend(children);
        self
    }

    /// The key as written (empty for the root).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The human name, if any.
    pub fn display_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The description, if any.
    pub fn about(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The children, in declaration order.
    pub fn children(&self) -> &[Permission] {
        &self.children
    }
}
