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
    /// The stored schema text and the engine built from it.
    current: RwLock<Option<(String, Engine)>>,
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
        let current = match &rebac {
            Some(r) => match r.read_schema().await? {
                Some(text) => Some((text.clone(), r.engine_for(parse_stored(&text)?))),
                None => None,
            },
            None => None,
        };
        Ok(Self {
            manager,
            rebac,
            current: RwLock::new(current),
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
        let current = self.current.read();
        current.as_ref().map(|(_, e)| e.clone()).ok_or_else(|| {
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
        *self.current.write() = Some((text.to_owned(), engine));
        Ok(names)
    }

    /// Switches to the stored schema when another process (or another server over the same
    /// database) replaced it; returns whether it switched. A stored text that no longer parses
    /// is an error and the current schema stays in use.
    pub async fn refresh_schema(&self) -> Result<bool, CliError> {
        let Some(rebac) = &self.rebac else {
            return Ok(false);
        };
        let Some(text) = rebac.read_schema().await? else {
            return Ok(false);
        };
        let unchanged = self
            .current
            .read()
            .as_ref()
            .is_some_and(|(current, _)| *current == text);
        if unchanged {
            return Ok(false);
        }
        let engine = rebac.engine_for(parse_stored(&text)?);
        *self.current.write() = Some((text, engine));
        Ok(true)
    }
}

/// Parses the stored schema text.
fn parse_stored(text: &str) -> Result<Schema, CliError> {
    Schema::parse_spicedb(text)
        .map_err(|e| CliError::Backend(format!("the stored schema no longer parses: {e}")))
}
