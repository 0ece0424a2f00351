//! Catalogs from files: the root node as a JSON object, YAML mapping (feature `yaml`) or TOML
//! table (feature `toml`) with `key`, `name`, `description` and `children`.

use std::path::Path;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::node::Permission;

/// Largest catalog file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

impl Catalog {
    /// Reads a catalog from JSON: the root node, `{"children": [{"key": "test", "name": ...,
    /// "description": ..., "children": [...]}, ...]}`. Unknown fields are errors.
    ///
    /// ```
    /// let catalog = psm_catalog::Catalog::from_json(
    ///     r#"{"children": [{"key": "test", "children": [{"key": "sub1"}]}, {"key": "test1"}]}"#,
    /// )?;
    /// assert_eq!(catalog.permission_list(), ["*", "test", "test>", "test.sub1", "test1"]);
    /// # Ok::<(), psm_catalog::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        let root: Permission = serde_json::from_str(text).map_err(|e| Error::Parse {
            format: "json",
            message: e.to_string(),
        })?;
        Catalog::new(root)
    }

    /// Reads a catalog from YAML (the same fields as [`from_json`](Self::from_json)).
    #[cfg(feature = "yaml")]
    pub fn from_yaml(text: &str) -> Result<Self> {
        let root: Permission = serde_norway::from_str(text).map_err(|e| Error::Parse {
            format: "yaml",
            message: e.to_string(),
        })?;
        Catalog::new(root)
    }

    /// Reads a catalog from TOML (the same fields; children as `[[children]]` tables).
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Self> {
        let root: Permission = toml::from_str(text).map_err(|e| Error::Parse {
            format: "toml",
            message: e.to_string(),
        })?;
        Catalog::new(root)
    }

    /// Reads a catalog file, choosing the format by extension (`.json`, `.yaml`/`.yml`,
    /// `.toml`); files over [`MAX_FILE_BYTES`] are refused.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io = |e: std::io::Error| Error::Parse {
            format: "file",
            message: format!("{}: {e}", path.display()),
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_FILE_BYTES {
            return Err(Error::Parse {
                format: "file",
                message: format!("{} is larger than {MAX_FILE_BYTES} bytes", path.display()),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Catalog::from_json(&text),
            #[cfg(feature = "yaml")]
            Some("yaml" | "yml") => Catalog::from_yaml(&text),
            #[cfg(feature = "toml")]
            Some("toml") => Catalog::from_toml(&text),
            other => Err(Error::Parse {
                format: "file",
                message: format!(
                    "{}: unknown catalog format {:?} (json{}{})",
                    path.display(),
                    other.unwrap_or(""),
                    if cfg!(feature = "yaml") { ", yaml" } else { "" },
                    if cfg!(feature = "toml") { ", toml" } else { "" },
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::README_LIST as README;

    #[test]
    fn json_reads_the_readme_tree_and_rejects_unknown_fields() {
        let c = Catalog::from_json(
            r#"{"children": [
                {"key": "test", "name": "Optional Name", "description": "Optional Description",
                 "children": [{"key": "sub1", "children": [{"key": "sub-sub1"}]}, {"key": "sub2"}]},
                {"key": "test1"}]}"#,
        )
        .unwrap();
        assert_eq!(c.permission_list(), README);
        assert!(matches!(
            Catalog::from_json(r#"{"children": [{"key": "a", "nmae": "typo"}]}"#),
            Err(Error::Parse { format: "json", .. })
        ));
        assert!(matches!(
            Catalog::from_json(r#"{"children": [{"key": "a.b"}]}"#),
            Err(Error::Tree { path, .. }) if path == "a.b"
        ));
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn yaml_reads_the_same_tree() {
        let c = Catalog::from_yaml(
            "children:\n  - key: test\n    name: Optional Name\n    children:\n      - key: sub1\n        children:\n          - key: sub-sub1\n      - key: sub2\n  - key: test1\n",
        )
        .unwrap();
        assert_eq!(c.permission_list(), README);
        assert!(matches!(
            Catalog::from_yaml("children: 3"),
            Err(Error::Parse { format: "yaml", .. })
        ));
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_reads_the_same_tree() {
        let c = Catalog::from_toml(
            "[[children]]\nkey = \"test\"\nname = \"Optional Name\"\n\
             [[children.children]]\nkey = \"sub1\"\n[[children.children.children]]\nkey = \"sub-sub1\"\n\
             [[children.children]]\nkey = \"sub2\"\n\
             [[children]]\nkey = \"test1\"\n",
        )
        .unwrap();
        assert_eq!(c.permission_list(), README);
        assert!(matches!(
            Catalog::from_toml("children = 3"),
            Err(Error::Parse { format: "toml", .. })
        ));
    }

    #[test]
    fn files_by_extension() {
        let dir = std::env::temp_dir().join(format!("psm-catalog-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("c.json");
        std::fs::write(&json, r#"{"children": [{"key": "a"}]}"#).unwrap();
        assert_eq!(
            Catalog::from_path(&json).unwrap().permission_list(),
            ["*", "a"]
        );
        let txt = dir.join("c.txt");
        std::fs::write(&txt, "").unwrap();
        assert!(matches!(
            Catalog::from_path(&txt),
            Err(Error::Parse { format: "file", .. })
        ));
        assert!(Catalog::from_path(dir.join("missing.json")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
