//! Where relationships and the schema live for a store URL: `memory://` keeps both in this
//! process (useful for `psm serve`); `sqlite://`, `postgres://` and `mysql://` keep them in the
//! database, beside the sessions (psm-sql's `SqlTupleStore`).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use permission_storage_manager::sql::rebac::SqlTupleStore;
use psm_rebac::{Engine, MemoryStore, Schema, TupleStore};

use crate::error::CliError;

/// Keeps the schema text beside the relationships.
#[async_trait]
pub trait SchemaStore: Send + Sync + Debug {
    /// Replaces the stored schema text.
    async fn write_schema(&self, text: &str) -> Result<(), CliError>;
    /// The stored schema text, if one was written.
    async fn read_schema(&self) -> Result<Option<String>, CliError>;
    /// Releases connections (nothing to do for memory).
    async fn close(&self) {}
}

/// The relationship store and schema store of one URL.
#[derive(Debug, Clone)]
pub struct Rebac {
    tuples: Arc<dyn TupleStore>,
    schema: Arc<dyn SchemaStore>,
}

/// A schema kept in memory, for `memory://`.
#[derive(Debug, Default)]
struct MemorySchema(RwLock<Option<String>>);

#[async_trait]
impl SchemaStore for MemorySchema {
    async fn write_schema(&self, text: &str) -> Result<(), CliError> {
        *self.0.write() = Some(text.to_owned());
        Ok(())
    }
    async fn read_schema(&self) -> Result<Option<String>, CliError> {
        Ok(self.0.read().clone())
    }
}

/// The schema and relationships in a SQL database (psm-sql's `SqlTupleStore`).
#[derive(Debug)]
struct SqlSchema(SqlTupleStore);

#[async_trait]
impl SchemaStore for SqlSchema {
    async fn write_schema(&self, text: &str) -> Result<(), CliError> {
        Ok(self.0.write_schema(text).await?)
    }
    async fn read_schema(&self) -> Result<Option<String>, CliError> {
        Ok(self.0.read_schema().await?)
    }
    async fn close(&self) {
        self.0.close().await;
    }
}

impl Rebac {
    /// Whether relationships can be stored at `url`.
    pub fn supports(url: &str) -> bool {
        matches!(
            scheme(url),
            "memory" | "sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb"
        )
    }

    /// Opens the relationship store of `url`.
    pub async fn open(url: &str) -> Result<Self, CliError> {
        let scheme = scheme(url);
        match scheme {
            "memory" => Ok(Self {
                tuples: Arc::new(MemoryStore::new()),
                schema: Arc::new(MemorySchema::default()),
            }),
            "sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb" => {
                let store = SqlTupleStore::connect(&without_session_options(url)).await?;
                Ok(Self {
                    tuples: Arc::new(store.clone()),
                    schema: Arc::new(SqlSchema(store)),
                })
            }
            _ => Err(CliError::input(format!(
                "relationships are not supported on `{scheme}:` URLs \
                 (use sqlite://, postgres://, mysql:// or memory://)"
            ))),
        }
    }

    /// The relationship store (for revisions and the change log).
    pub fn tuples(&self) -> &Arc<dyn TupleStore> {
        &self.tuples
    }

    /// Releases the store's connections.
    pub async fn close(&self) {
        self.schema.close().await;
    }

    /// Parses `text` as a SpiceDB schema and, when it is valid, stores it.
    pub async fn write_schema(&self, text: &str) -> Result<Schema, CliError> {
        let schema = Schema::parse_spicedb(text)?;
        self.schema.write_schema(text).await?;
        Ok(schema)
    }

    /// The stored schema text, if any.
    pub async fn read_schema(&self) -> Result<Option<String>, CliError> {
        self.schema.read_schema().await
    }

    /// An engine over the stored schema; an input error when none was written.
    pub async fn engine(&self) -> Result<Engine, CliError> {
        let text = self.read_schema().await?.ok_or_else(|| {
            CliError::input("no schema has been written yet: run `psm rebac schema write FILE`")
        })?;
        let schema = Schema::parse_spicedb(&text)
            .map_err(|e| CliError::Backend(format!("the stored schema no longer parses: {e}")))?;
        Ok(self.engine_for(schema))
    }

    /// An engine over `schema` and this store.
    pub fn engine_for(&self, schema: Schema) -> Engine {
        Engine::new(schema, self.tuples.clone())
    }
}

/// The scheme of a store URL (`sqlite` in `sqlite://psm.db`).
fn scheme(url: &str) -> &str {
    url.split_once(':').map_or(url, |(s, _)| s)
}

/// Options of the SQL session store that the tuple store does not take; the same URL serves both.
const SESSION_ONLY_OPTIONS: [&str; 3] = ["default_ttl", "max_permissions", "cleanup_batch"];

/// `url` without the session-only query options.
fn without_session_options(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !SESSION_ONLY_OPTIONS.contains(&key)
        })
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::without_session_options;

    #[test]
    fn session_only_options_are_dropped_and_the_rest_kept() {
        assert_eq!(
            without_session_options(
                "sqlite://a.db?default_ttl=2h&table_prefix=x_&max_permissions=5"
            ),
            "sqlite://a.db?table_prefix=x_"
        );
        assert_eq!(
            without_session_options("sqlite://a.db?default_ttl=2h"),
            "sqlite://a.db"
        );
        assert_eq!(
            without_session_options("postgres://u@h/db"),
            "postgres://u@h/db"
        );
        assert_eq!(
            without_session_options("mysql://h/db?statement_timeout=2s"),
            "mysql://h/db?statement_timeout=2s"
        );
    }
}
