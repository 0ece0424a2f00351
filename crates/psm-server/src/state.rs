//! The server's shared state — the session store, the relationship store with the engine of its
//! current schema, the bearer token, the metrics renderer and the [`Config`] — and its builder.

use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;
use psm_core::{ErrorKind, SessionStore};
use psm_rebac::{CancelToken, Engine, RelationshipStore, Schema};

use crate::config::Config;
use crate::error::Error;

/// Renders the metrics text `/metrics` answers (Prometheus exposition format).
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

/// Everything a handler needs.
pub struct AppState {
    /// Sessions.
    pub sessions: Arc<dyn SessionStore>,
    rebac: Option<RelationshipStore>,
    /// The stored schema text and the engine built from it.
    current: RwLock<Option<(String, Engine)>>,
    /// The bearer token, when the API is protected.
    pub token: Option<String>,
    /// Renders `/metrics`.
    pub metrics: Option<MetricsRenderer>,
    /// Limits and timeouts.
    pub config: Config,
    /// Cancels every relationship request in flight (at shutdown).
    cancel: CancelToken,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("sessions", &self.sessions)
            .field("rebac", &self.rebac)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("metrics", &self.metrics.is_some())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The state [`crate::router`] serves: cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerState(pub(crate) Arc<AppState>);

/// Builds a [`ServerState`].
#[derive(Default)]
pub struct ServerStateBuilder {
    sessions: Option<Arc<dyn SessionStore>>,
    relationships: Option<RelationshipStore>,
    token: Option<String>,
    metrics: Option<MetricsRenderer>,
    config: Config,
}

impl fmt::Debug for ServerStateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerStateBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ServerStateBuilder {
    /// The session store (required).
    pub fn sessions(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(store);
        self
    }

    /// The relationship store; without one the relationship routes answer 501.
    pub fn relationships(mut self, store: RelationshipStore) -> Self {
        self.relationships = Some(store);
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on every API route (not `/healthz` or
    /// `/openapi.json`). At least 16 printable ASCII characters.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// What `/metrics` answers (for example a Prometheus recorder's `render`).
    pub fn metrics(mut self, render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.metrics = Some(Arc::new(render));
        self
    }

    /// Limits and timeouts.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Loads the stored schema, if there is one, and builds the state.
    pub async fn build(self) -> Result<ServerState, Error> {
        let sessions = self
            .sessions
            .ok_or_else(|| Error::input("the server needs a session store"))?;
        if let Some(t) = &self.token {
            check_token(t)?;
        }
        let cancel = CancelToken::new();
        let relationships = self.relationships.map(|r| {
            r.with_engine_config(self.config.engine_config())
                .with_cancel(cancel.clone())
        });
        let current = match &relationships {
            Some(r) => stored_engine(r).await?,
            None => None,
        };
        Ok(ServerState(Arc::new(AppState {
            sessions,
            rebac: relationships,
            current: RwLock::new(current),
            token: self.token,
            metrics: self.metrics,
            config: self.config,
            cancel,
        })))
    }
}

/// A bearer token must be at least 16 printable ASCII characters without spaces.
pub fn check_token(t: &str) -> Result<(), Error> {
    if t.len() < 16 {
        Err(Error::input(
            "the bearer token must be at least 16 characters",
        ))
    } else if !t.bytes().all(|b| b.is_ascii_graphic()) {
        Err(Error::input(
            "the bearer token must be printable ASCII without spaces",
        ))
    } else {
        Ok(())
    }
}

impl ServerState {
    /// A builder.
    pub fn builder() -> ServerStateBuilder {
        ServerStateBuilder::default()
    }

    /// Switches to the stored schema when another process (or another server over the same
    /// database) replaced it; returns whether it switched. A stored text that no longer parses
    /// is an error and the current schema stays in use.
    pub async fn refresh_schema(&self) -> Result<bool, Error> {
        self.0.refresh_schema().await
    }

    /// Releases the stores' connections.
    pub async fn close(&self) -> Result<(), Error> {
        if let Some(r) = &self.0.rebac {
            r.close().await;
        }
        Ok(self.0.sessions.close().await?)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// Stops every relationship request in flight (and any started later) within a few
    /// hundred evaluation steps: they answer 503 `unavailable`. For a shutdown whose grace
    /// period ran out: even an evaluation that never awaits ends.
    pub fn cancel_requests(&self) {
        self.0.cancel.cancel();
    }
}

/// The stored schema text and an engine over it, if a schema was written.
pub async fn stored_engine(store: &RelationshipStore) -> Result<Option<(String, Engine)>, Error> {
    match store.read_schema().await? {
        Some(text) => {
            let engine = store.engine_for(parse_stored(&text)?);
            Ok(Some((text, engine)))
        }
        None => Ok(None),
    }
}

impl AppState {
    /// The relationship store, or 501 when the URL has none.
    pub fn rebac(&self) -> Result<&RelationshipStore, Error> {
        self.rebac.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                "relationships are not supported on this store URL",
            )
        })
    }

    /// The engine of the current schema, or 409 when no schema was written.
    pub fn engine(&self) -> Result<Engine, Error> {
        self.rebac()?;
        let current = self.current.read();
        current.as_ref().map(|(_, e)| e.clone()).ok_or_else(|| {
            Error::new(
                ErrorKind::NoSchema,
                "no schema has been written yet (PUT /v1/schema)",
            )
        })
    }

    /// Stores `text` as the schema and switches to it; returns its definitions' names.
    pub async fn set_schema(&self, text: &str) -> Result<Vec<String>, Error> {
        let rebac = self.rebac()?;
        let schema: Schema = rebac.write_schema(text).await?;
        let engine = rebac.engine_for(schema);
        let names = engine
            .schema()
            .definitions()
            .iter()
            .map(|d| d.name().to_owned())
            .collect();
        *self.current.write() = Some((text.to_owned(), engine));
        Ok(names)
    }

    async fn refresh_schema(&self) -> Result<bool, Error> {
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
fn parse_stored(text: &str) -> Result<Schema, Error> {
    Schema::parse_spicedb(text)
        .map_err(|e| Error::backend(format!("the stored schema no longer parses: {e}")))
}
