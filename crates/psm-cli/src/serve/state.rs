//! The server's shared state: the session manager, the relationship store with the engine of
//! its current schema, the bearer token and the metrics handle.

use metrics_exporter_prometheus::PrometheusHandle;
use parking_lot::RwLock;
use permission_storage_manager::PermissionStorageManager;
use psm_rebac::{Engine, Schema};

use super::api::ApiError;
use crate::error::CliError;
use crate::rebac::Rebac;

/// Request-size limits beyond the body size.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most items in one bulk request.
    pub max_batch: usize,
    /// Longest long-poll wait of the changes route (below the request deadline).
    pub max_wait: std::time::Duration,
}

/// Everything a handler needs.
#[derive(Debug)]
pub struct AppState {
    /// Sessions.
    pub manager: PermissionStorageManager,
    rebac: Option<Rebac>,
    engine: RwLock<Option<Engine>>,
    /// The bearer token, when the API is protected.
    pub token: Option<String>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Batch limits.
    pub limits: Limits,
}

impl AppState {
    /// State over these stores; loads the stored schema, if there is one.
    pub async fn new(
        manager: PermissionStorageManager,
        rebac: Option<Rebac>,
        token: Option<String>,
        metrics: PrometheusHandle,
        limits: Limits,
    ) -> Result<Self, CliError> {
        let engine = match &rebac {
            Some(r) if r.read_schema().await?.is_some() => Some(r.engine().await?),
            _ => None,
        };
        Ok(Self {
            manager,
            rebac,
            engine: RwLock::new(engine),
            token,
            metrics,
            limits,
        })
    }

    /// The relationship store, or 501 when the URL has none.
    pub fn rebac(&self) -> Result<&Rebac, ApiError> {
        self.rebac.as_ref().ok_or_else(|| {
            ApiError::not_implemented("relationships are not supported on this store URL")
        })
    }

    /// The engine of the current schema, or 409 when no schema was written.
    pub fn engine(&self) -> Result<Engine, ApiError> {
        self.rebac()?;
        self.engine.read().clone().ok_or_else(|| {
            ApiError::conflict(
                "no_schema",
                "no schema has been written yet (PUT /v1/schema)",
            )
        })
    }

    /// Releases the relationship store's connections.
    pub async fn close_rebac(&self) {
        if let Some(r) = &self.rebac {
            r.close().await;
        }
    }

    /// Stores `text` as the schema and switches to it; returns its definitions' names.
    pub async fn set_schema(&self, text: &str) -> Result<Vec<String>, ApiError> {
        let rebac = self.rebac()?;
        let schema: Schema = rebac.write_schema(text).await?;
        let engine = rebac.engine_for(schema);
        let names = engine
            .schema()
            .definitions()
            .iter()
            .map(|d| d.name.clone())
            .collect();
        *self.engine.write() = Some(engine);
        Ok(names)
    }
}
