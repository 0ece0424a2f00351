//! `psm validate --store URL`: one SQL tuple store (PostgreSQL, SQLite, MySQL) emptied
//! before each test, as a [`StoreFactory`] for psm-rebac's validation runner.
//!
//! Safety: unless the URL names a `table_prefix`, the run uses tables of its own
//! (`psmval{pid}_...`) and drops them at the end. With an explicit prefix the tables must hold
//! no relationships at the start, so a run can never delete someone's data.

use std::sync::Arc;

use async_trait::async_trait;
use permission_storage_manager::sql::rebac::SqlTupleStore;
use psm_rebac::validation::{FreshStore, StoreFactory};
use psm_rebac::{RelationshipFilter, TupleStore};

use crate::output;

/// The SQL store of a `psm validate --store` run.
pub(crate) struct SqlStores {
    store: SqlTupleStore,
    /// Whether the run created its tables (and drops them at the end).
    owned: bool,
}

impl SqlStores {
    /// Opens the SQL store of `--store URL` for this run.
    pub(crate) async fn open(url: &str) -> Result<Self, String> {
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
        Ok(Self { store, owned })
    }

    /// Closes the store, dropping the tables this run created (or emptying the given ones).
    pub(crate) async fn close(&self) {
        if self.owned {
            if let Err(e) = self.store.drop_tables().await {
                output::stderr_line(&format!(
                    "psm validate: could not drop the run's tables: {e}"
                ));
            }
        } else {
            let _ = self.store.delete_all().await;
            self.store.close().await;
        }
    }
}

fn store_name(url: &str) -> String {
    psm_core::StoreUrl::parse(url).map_or_else(|_| "<url>".to_owned(), |u| u.redacted())
}

#[async_trait]
impl StoreFactory for SqlStores {
    async fn fresh(&self) -> psm_rebac::Result<FreshStore> {
        self.store
            .delete_all()
            .await
            .map_err(permission_storage_manager::sql::rebac::store_error)?;
        Ok(FreshStore::new(Arc::new(self.store.clone())))
    }
}
