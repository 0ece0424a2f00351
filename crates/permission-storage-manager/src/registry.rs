//! The URL-scheme registry: which backend `connect(url)` opens for each scheme.
//!
//! Built-in schemes are registered by the cargo features that compile their backends; a
//! third-party crate adds its own with [`register_provider`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use psm_core::{Error, Result, SessionStore, StoreUrl};

/// What a registered factory returns.
pub type StoreFuture = Pin<Box<dyn Future<Output = Result<Arc<dyn SessionStore>>> + Send>>;

/// A backend factory: turns a parsed URL into an open store.
pub type Factory = Arc<dyn Fn(StoreUrl) -> StoreFuture + Send + Sync>;

fn registry() -> &'static RwLock<HashMap<String, Factory>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, Factory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(builtins()))
}

fn builtins() -> HashMap<String, Factory> {
    #[allow(unused_mut)]
    let mut map: HashMap<String, Factory> = HashMap::new();
    #[cfg(feature = "memory")]
    map.insert(
        "memory".into(),
        factory(|url| async move {
            let store = psm_memory::MemoryStore::from_url(url).await?;
            Ok(Arc::new(store) as Arc<dyn SessionStore>)
        }),
    );
    #[cfg(feature = "file")]
    map.insert(
        "file".into(),
        factory(|url| async move {
            let store = psm_file::FileStore::from_url(url).await?;
            Ok(Arc::new(store) as Arc<dyn SessionStore>)
        }),
    );
    #[cfg(feature = "redis")]
    for scheme in ["redis", "rediss", "redis+cluster", "rediss+cluster"] {
        map.insert(
            scheme.into(),
            factory(|url| async move {
                let store = psm_redis::RedisStore::from_url(url).await?;
                Ok(Arc::new(store) as Arc<dyn SessionStore>)
            }),
        );
    }
    #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
    for scheme in sql_schemes() {
        map.insert(
            scheme.into(),
            factory(|url| async move {
                let store = psm_sql::SqlStore::from_url(url).await?;
                Ok(Arc::new(store) as Arc<dyn SessionStore>)
            }),
        );
    }
    map
}

/// The SQL schemes compiled in.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
pub(crate) fn sql_schemes() -> Vec<&'static str> {
    let mut schemes = Vec::new();
    #[cfg(feature = "postgres")]
    schemes.extend(["postgres", "postgresql"]);
    #[cfg(feature = "sqlite")]
    schemes.push("sqlite");
    #[cfg(feature = "mysql")]
    schemes.extend(["mysql", "mariadb"]);
    schemes
}

/// Wraps an async closure as a [`Factory`].
pub fn factory<F, Fut>(f: F) -> Factory
where
    F: Fn(StoreUrl) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Arc<dyn SessionStore>>> + Send + 'static,
{
    Arc::new(move |url| Box::pin(f(url)) as StoreFuture)
}

/// Registers `factory` for URLs with `scheme`. A scheme that is already registered is an error
/// (built-in schemes cannot be hijacked by accident).
pub fn register_provider<F, Fut>(scheme: &str, f: F) -> Result<()>
where
    F: Fn(StoreUrl) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Arc<dyn SessionStore>>> + Send + 'static,
{
    insert_new(registry(), scheme, factory(f))
}

/// Adds `value` under `scheme` (lower-cased, checked against the URL parser's scheme rules) to
/// one of the registries; a scheme already there is an error.
pub(crate) fn insert_new<V>(
    map: &RwLock<HashMap<String, V>>,
    scheme: &str,
    value: V,
) -> Result<()> {
    let scheme = scheme.to_ascii_lowercase();
    StoreUrl::parse(&format!("{scheme}:")).map_err(|_| Error::InvalidUrl {
        url: scheme.clone(),
        reason: "a scheme is a letter followed by letters, digits, '+', '-' or '.'".into(),
    })?;
    let mut map = map.write();
    if map.contains_key(&scheme) {
        return Err(Error::InvalidUrl {
            url: format!("{scheme}://"),
            reason: format!("scheme {scheme:?} is already registered"),
        });
    }
    map.insert(scheme, value);
    Ok(())
}

/// The keys of one of the registries, sorted.
pub(crate) fn sorted_keys<V>(map: &RwLock<HashMap<String, V>>) -> Vec<String> {
    let mut out: Vec<String> = map.read().keys().cloned().collect();
    out.sort();
    out
}

/// Registered schemes, sorted.
pub fn schemes() -> Vec<String> {
    sorted_keys(registry())
}

/// Opens the store for `url` through its scheme's factory.
pub(crate) async fn open(url: &str) -> Result<Arc<dyn SessionStore>> {
    #[allow(unused_mut)]
    let mut parsed = StoreUrl::parse(url)?;
    // options of the relationship store on the same URL, which the session store does not take
    #[cfg(feature = "rebac")]
    if crate::tuple_stores::supports_tuples(url) {
        crate::tuple_stores::take_mirror_options(&mut parsed)?;
    }
    let factory = registry().read().get(parsed.scheme()).cloned();
    match factory {
        Some(f) => f(parsed).await,
        None => Err(Error::UnknownScheme {
            scheme: parsed.scheme().to_owned(),
        }),
    }
}
