//! The error type of psm-catalog: a bad tree names the node, an undeclared grant names the
//! permission, and store failures keep psm-core's kind.

use psm_core::PermissionError;

/// `Result` with psm-catalog's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong declaring a catalog or assigning from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node of a declared tree breaks a rule; `path` is the dotted path of the node (its
    /// parent's path and its own key as written).
    #[error("invalid catalog node {path:?}: {rule}")]
    Tree {
        /// The node, as `parent.path.key` (`*` for the root).
        path: String,
        /// The rule it breaks.
        rule: TreeRule,
    },
    /// A catalog file could not be read in its format.
    #[error("cannot read the catalog as {format}: {message}")]
    Parse {
        /// `json`, `yaml` or `toml`.
        format: &'static str,
        /// What the parser said (with line and column when it knows them).
        message: String,
    },
    /// A grant that is not in the catalog's `permission_list`; nothing was written.
    #[error(
        "permission {permission:?} is not declared in the catalog (assignable: declared \
         permissions, `>` on a node with children, and `*`)"
    )]
    Undeclared {
        /// The refused grant.
        permission: String,
    },
    /// Input or store failure from psm-core's world (bad id, bad permission, backend down).
    #[error(transparent)]
    Store(#[from] psm_core::Error),
}

impl From<PermissionError> for Error {
    fn from(e: PermissionError) -> Self {
        Error::Store(e.into())
    }
}

impl Error {
    /// True when the caller's input was at fault (a bad tree, an undeclared grant, a bad id).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Error::Tree { .. } | Error::Parse { .. } | Error::Undeclared { .. } => true,
            Error::Store(e) => e.is_invalid_input(),
        }
    }
}

/// The rule a catalog node breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeRule {
    /// A node below the root has no key.
    #[error("the key is empty")]
    EmptyKey,
    /// A key holds a separator (`.` or `:`), a wildcard (`*`, `>`), a space or a control
    /// character.
    #[error(
        "character {ch:?} at byte {index} of the key is not allowed (keys are one segment: no `.`, `:`, `*`, `>`, spaces or control characters)"
    )]
    ForbiddenChar {
        /// The character.
        ch: char,
        /// Its byte offset in the key.
        index: usize,
    },
    /// Two children of one node share a key.
    #[error("a sibling already has this key")]
    Duplicate,
    /// The dotted path is not a permission of psm's grammar (too long, for example).
    #[error("{0}")]
    Permission(PermissionError),
    /// The tree is deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("the tree is deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The tree has more than [`MAX_NODES`](crate::MAX_NODES) nodes.
    #[error("the tree has more than {max} nodes")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// The root was given a key other than `*`.
    #[error("the root's key must be empty or `*`")]
    RootKey,
}
