//! Relationship stores by URL: [`open_tuple_store`] opens the tuple store — with the stored
//! schema that belongs to it ([`RelationshipStore`]) — registered for the URL's scheme.
//! `memory://` keeps both in this process; `sqlite://`, `postgres://` and `mysql://` keep them
//! in the database, beside the sessions (psm-sql's `SqlTupleStore`, with the `rebac` feature
//! and a SQL feature). A third-party crate adds its own scheme with [`register_tuple_store`].
//!
//! ```
//! use permission_storage_manager::tuple_stores::{open_tuple_store, register_tuple_store};
//! use permission_storage_manager::rebac::RelationshipStore;
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! // a toy third-party store, under the scheme `toy`
//! register_tuple_store("toy", |_url| async { Ok(RelationshipStore::in_memory()) })?;
//! let store = open_tuple_store("toy://anything").await?;
//! store.write_schema("definition user {}").await?;
//! assert_eq!(store.read_schema().await?.as_deref(), Some("definition user {}"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use psm_core::{Error, Result, StoreUrl};
use psm_rebac::RelationshipStore;

/// What a registered tuple-store factory returns.
pub type TupleStoreFuture = Pin<Box<dyn Future<Output = Result<RelationshipStore>> + Send>>;

/// A tuple-store factory: turns a parsed URL into an open store.
pub type TupleStoreFactory = Arc<dyn Fn(StoreUrl) -> TupleStoreFuture + Send + Sync>;

fn registry() -> &'static RwLock<HashMap<String, TupleStoreFactory>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, TupleStoreFactory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(builtins()))
}

fn builtins() -> HashMap<String, TupleStoreFactory> {
    let mut map: HashMap<String, TupleStoreFactory> = HashMap::new();
    map.insert(
        "memory".into(),
        factory(|_url| async { Ok(RelationshipStore::in_memory()) }),
    );
    #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
    for scheme in crate::registry::sql_schemes() {
        map.insert(scheme.into(), factory(sql::open));
    }
    map
}

fn factory<F, Fut>(f: F) -> TupleStoreFactory
where
    F: Fn(StoreUrl) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RelationshipStore>> + Send + 'static,
{
    Arc::new(move |url| Box::pin(f(url)) as TupleStoreFuture)
}

/// Registers `f` for tuple-store URLs with `scheme`. A scheme that is already registered is an
/// error (built-in schemes cannot be hijacked by accident).
pub fn register_tuple_store<F, Fut>(scheme: &str, f: F) -> Result<()>
where
    F: Fn(StoreUrl) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RelationshipStore>> + Send + 'static,
{
    crate::registry::insert_new(registry(), scheme, factory(f))
}

/// Whether a tuple store is registered for `url`'s scheme.
pub fn supports_tuples(url: &str) -> bool {
    StoreUrl::parse(url).is_ok_and(|u| registry().read().contains_key(u.scheme()))
}

/// Schemes with a registered tuple store, sorted.
pub fn tuple_store_schemes() -> Vec<String> {
    crate::registry::sorted_keys(registry())
}

/// Opens the tuple store registered for `url`'s scheme.
///
/// Every scheme but `memory` also takes the mirror options (see [`MirrorStore`]): with
/// `mirror=true` the relationships are kept in step in this process as well, and checks and
/// lookups that allow it are answered at memory speed; `mirror_poll` (default `100ms`) is the
/// most such an answer lags writes made through other processes, `mirror_max` (default
/// 5,000,000) the most relationships mirrored (above it requests go to the store). The store
/// is returned once the mirror has loaded (or found it cannot: it then keeps retrying while
/// the store answers).
///
/// [`MirrorStore`]: psm_rebac::MirrorStore
pub async fn open_tuple_store(url: &str) -> Result<RelationshipStore> {
    let mut parsed = StoreUrl::parse(url)?;
    let mirror = mirror_config(&mut parsed)?;
    let factory = registry().read().get(parsed.scheme()).cloned();
    match factory {
        Some(f) => {
            let store = f(parsed).await?;
            let Some(config) = mirror else {
                return Ok(store);
            };
            let mirror = psm_rebac::MirrorStore::new(store.tuples().clone(), config)
                .map_err(|e| Error::backend("mirror", "cannot start the mirror", e))?;
            // a mirror that cannot load (too big, a failed read) is off and keeps retrying:
            // the store answers meanwhile, so that is not an error here
            let _ = mirror.ready().await;
            Ok(store.with_tuples(std::sync::Arc::new(mirror)))
        }
        None => Err(Error::InvalidUrl {
            url: parsed.redacted(),
            reason: format!(
                "relationships are not supported on `{}:` URLs (tuple stores are registered for {})",
                parsed.scheme(),
                tuple_store_schemes().join(", ")
            ),
        }),
    }
}

/// The SQL tuple store, opened on the same URL as the SQL session store.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod sql {
    use std::sync::Arc;

    use async_trait::async_trait;
    use psm_core::{Result, StoreUrl};
    use psm_rebac::{RelationshipStore, SchemaStore};
    use psm_sql::rebac::{SqlTupleStore, TupleStoreConfig, store_error};

    /// The schema in the tuple store's own table.
    #[derive(Debug)]
    struct SqlSchema(SqlTupleStore);

    #[async_trait]
    impl SchemaStore for SqlSchema {
        async fn write_schema(&self, text: &str) -> psm_rebac::Result<()> {
            self.0.write_schema(text).await.map_err(store_error)
        }
        async fn read_schema(&self) -> psm_rebac::Result<Option<String>> {
            self.0.read_schema().await.map_err(store_error)
        }
        async fn close(&self) {
            self.0.close().await;
        }
    }

    pub(super) async fn open(mut url: StoreUrl) -> Result<RelationshipStore> {
        // Options of the SQL session store that the tuple store does not take: the same URL
        // serves both.
        for key in ["default_ttl", "max_permissions", "cleanup_batch"] {
            url.take_string(key)?;
        }
        let store = SqlTupleStore::connect_with(TupleStoreConfig::from_url(url)?).await?;
        Ok(RelationshipStore::new(
            Arc::new(store.clone()),
            Arc::new(SqlSchema(store)),
        ))
    }
}

/// Takes the mirror options off a URL (the session store on the same URL does not take them).
pub(crate) fn take_mirror_options(url: &mut StoreUrl) -> Result<()> {
    mirror_config(url).map(drop)
}

/// The mirror options of a tuple-store URL (`mirror`, `mirror_poll`, `mirror_max`), taken off
/// it; `None` unless `mirror` is true.
fn mirror_config(url: &mut StoreUrl) -> Result<Option<psm_rebac::MirrorConfig>> {
    let on = url.take_bool("mirror")?;
    let poll = url.take_duration("mirror_poll")?;
    let max = url.take_usize("mirror_max")?;
    if on != Some(true) {
        if poll.is_some() || max.is_some() {
            return Err(invalid(url, "mirror_poll and mirror_max need mirror=true"));
        }
        return Ok(None);
    }
    if url.scheme() == "memory" {
        return Err(invalid(
            url,
            "mirror=true mirrors a store outside this process; memory:// is already in it",
        ));
    }
    let mut config = psm_rebac::MirrorConfig::default();
    if let Some(poll) = poll {
        if poll.is_zero() {
            return Err(invalid(url, "mirror_poll must be at least 1ms"));
        }
        config = config.with_poll(poll);
    }
    if let Some(max) = max {
        config = config.with_max_relationships(max);
    }
    Ok(Some(config))
}

fn invalid(url: &StoreUrl, reason: &str) -> Error {
    Error::InvalidUrl {
        url: url.redacted(),
        reason: reason.to_owned(),
    }
}
