//! Where `psm validate` keeps relationships: a fresh `MemoryStore` per test (the default), or
//! with `--store URL` one SQL tuple store (PostgreSQL, SQLite, MySQL) emptied before each test.
//!
//! Safety: unless the URL names a `table_prefix`, the run uses tables of its own
//! (`psmval{pid}_...`) and drops them at the end. With an explicit prefix the tables must hold
//! no relationships at the start, so a run can never delete someone's data.

use std::sync::Arc;

use parking_lot::Mutex;
use permission_storage_manager::sql::rebac::SqlTupleStore;
use psm_rebac::{MemoryStore, Relationship, RelationshipFilter, RelationshipUpdate, TupleStore};

/// The SQL store of this run, if `--store` was given.
static SQL: Mutex<Option<(SqlTupleStore, bool)>> = Mutex::new(None);

/// Relationships written per write call when loading a file into a SQL store.
const LOAD_CHUNK: usize = 500;

/// A store for one test: the store itself, and the memory store when it is one (it loads
/// without a write per relationship).
pub(crate) struct Fresh {
    pub store: Arc<dyn TupleStore>,
    memory: Option<Arc<MemoryStore>>,
}

/// Opens the SQL store of `--store URL` for this run.
pub(crate) async fn open(url: &str) -> Result<(), String> {
    let owned = !url.contains("table_prefix=");
    let url = if owned {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}table_prefix=psmval{}_", std::process::id())
    } else {
        url.to_owned()
    };
    let store = SqlTupleStore::connect(&url)
        .await
        .map_err(|e| format!("--store: {e}"))?;
    if !owned {
        let any = store
            .read(&RelationshipFilter::default(), Some(1))
            .await
            .map_err(|e| format!("--store: {e}"))?;
        if !any.is_empty() {
            store.close().await;
            return Err(format!(
                "--store: the tables of prefix in {} already hold relationships; \
                 psm validate needs empty tables (omit table_prefix to use tables of its own)",
                store_name(&url)
            ));
        }
    }
    *SQL.lock() = Some((store, owned));
    Ok(())
}

fn store_name(url: &str) -> String {
    psm_core::StoreUrl::parse(url).map_or_else(|_| "<url>".to_owned(), |u| u.redacted())
}

/// Closes the SQL store (dropping the tables this run created).
pub(crate) async fn close() {
    let taken = SQL.lock().take();
    if let Some((store, owned)) = taken {
        if owned {
            if let Err(e) = store.drop_tables().await {
                eprintln!("psm validate: could not drop the run's tables: {e}");
            }
        } else {
            let _ = store.delete_all().await;
            store.close().await;
        }
    }
}

/// An empty store for the next test.
pub(crate) async fn fresh() -> Result<Fresh, String> {
    let sql = SQL.lock().as_ref().map(|(s, _)| s.clone());
    match sql {
        None => {
            let memory = Arc::new(MemoryStore::new());
            Ok(Fresh {
                store: memory.clone(),
                memory: Some(memory),
            })
        }
        Some(store) => {
            store
                .delete_all()
                .await
                .map_err(|e| format!("store: {e}"))?;
            Ok(Fresh {
                store: Arc::new(store),
                memory: None,
            })
        }
    }
}

impl Fresh {
    /// Stores already validated relationships (bulk for memory, chunked touches for SQL).
    pub(crate) async fn load(&self, rels: &[Relationship]) -> Result<(), String> {
        if let Some(m) = &self.memory {
            m.extend(rels.iter().cloned());
            return Ok(());
        }
        for chunk in rels.chunks(LOAD_CHUNK) {
            let updates: Vec<_> = chunk
                .iter()
                .cloned()
                .map(RelationshipUpdate::touch)
                .collect();
            self.store
                .write(&updates, &[])
                .await
                .map_err(|e| format!("store: {e}"))?;
        }
        Ok(())
    }
}
