//! ACL stores by URL: [`open_acl_store`] opens the store of a whole role / resource /
//! permission ACL (psm-acl) registered for the URL's scheme — `memory://` (this process only),
//! `file:PATH` (a JSON file, written atomically; a missing file is an empty ACL until the first
//! save creates it) and, with a SQL feature, `sqlite://`, `postgres://` and `mysql://` (psm-sql's
//! `SqlAclStore`, tables beside the sessions). A third-party crate adds its own scheme with
//! [`register_acl_store`].
//!
//! ```
//! use std::sync::Arc;
//! use permission_storage_manager::acl::Acl;
//! use permission_storage_manager::acl_stores::{AclStore, MemoryAclStore, open_acl_store, register_acl_store};
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! // a toy third-party store, under the scheme `toyacl`
//! register_acl_store("toyacl", |_url| async {
//!     Ok(Arc::new(MemoryAclStore::default()) as Arc<dyn AclStore>)
//! })?;
//! let store = open_acl_store("toyacl://anything").await?;
//! let mut acl = store.load().await?;
//! acl.grant("editor", "blog", "posts:*")?;
//! store.save(&acl).await?;
//! assert!(store.load().await?.check("editor", "blog", "posts:edit"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use psm_acl::{Acl, AclData, AclLimits};
use psm_core::{Error, Result, StoreUrl};

/// Where a whole ACL is kept: loaded at once, saved at once (replacing what was stored).
#[async_trait]
pub trait AclStore: fmt::Debug + Send + Sync {
    /// The stored ACL; an empty one when nothing was saved yet.
    async fn load(&self) -> Result<Acl>;
    /// Replaces the stored ACL with `acl`.
    async fn save(&self, acl: &Acl) -> Result<()>;
    /// Releases connections; further calls may fail.
    async fn close(&self) {}
}

/// What a registered ACL-store factory returns.
pub type AclStoreFuture = Pin<Box<dyn Future<Output = Result<Arc<dyn AclStore>>> + Send>>;

/// An ACL-store factory: turns a parsed URL into an open store.
pub type AclStoreFactory = Arc<dyn Fn(StoreUrl) -> AclStoreFuture + Send + Sync>;

fn registry() -> &'static RwLock<HashMap<String, AclStoreFactory>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, AclStoreFactory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(builtins()))
}

fn builtins() -> HashMap<String, AclStoreFactory> {
    let mut map: HashMap<String, AclStoreFactory> = HashMap::new();
    map.insert(
        "memory".into(),
        factory(|url| async move {
            url.finish()?;
            Ok(Arc::new(MemoryAclStore::default()) as Arc<dyn AclStore>)
        }),
    );
    map.insert(
        "file".into(),
        factory(|url| async move {
            let path = url.file_path()?;
            url.finish()?;
            Ok(Arc::new(JsonFileAclStore::new(path)) as Arc<dyn AclStore>)
        }),
    );
    #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
    for scheme in crate::registry::sql_schemes() {
        map.insert(scheme.into(), factory(sql::open));
    }
    map
}

fn factory<F, Fut>(f: F) -> AclStoreFactory
where
    F: Fn(StoreUrl) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Arc<dyn AclStore>>> + Send + 'static,
{
    Arc::new(move |url| Box::pin(f(url)) as AclStoreFuture)
}

/// Registers `f` for ACL-store URLs with `scheme`. A scheme that is already registered is an
/// error (built-in schemes cannot be hijacked by accident).
pub fn register_acl_store<F, Fut>(scheme: &str, f: F) -> Result<()>
where
    F: Fn(StoreUrl) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Arc<dyn AclStore>>> + Send + 'static,
{
    crate::registry::insert_new(registry(), scheme, factory(f))
}

/// Whether an ACL store is registered for `url`'s scheme.
pub fn supports_acl(url: &str) -> bool {
    StoreUrl::parse(url).is_ok_and(|u| registry().read().contains_key(u.scheme()))
}

/// Schemes with a registered ACL store, sorted.
pub fn acl_store_schemes() -> Vec<String> {
    crate::registry::sorted_keys(registry())
}

/// Opens the ACL store registered for `url`'s scheme.
pub async fn open_acl_store(url: &str) -> Result<Arc<dyn AclStore>> {
    let parsed = StoreUrl::parse(url)?;
    let factory = registry().read().get(parsed.scheme()).cloned();
    match factory {
        Some(f) => f(parsed).await,
        None => Err(Error::InvalidUrl {
            url: parsed.redacted(),
            reason: format!(
                "ACLs are not supported on `{}:` URLs (ACL stores are registered for {})",
                parsed.scheme(),
                acl_store_schemes().join(", ")
            ),
        }),
    }
}

/// An ACL kept in this process only (`memory://`).
#[derive(Debug, Default)]
pub struct MemoryAclStore(Mutex<AclData>);

#[async_trait]
impl AclStore for MemoryAclStore {
    async fn load(&self) -> Result<Acl> {
        let data = self.0.lock().clone();
        Ok(Acl::from_data(data, AclLimits::default())?)
    }

    async fn save(&self, acl: &Acl) -> Result<()> {
        *self.0.lock() = acl.export();
        Ok(())
    }
}

/// An ACL in a JSON file (`file:PATH`), saved atomically (psm-acl's `save_json`); a file that
/// does not exist yet is an empty ACL, created by the first save.
#[derive(Debug, Clone)]
pub struct JsonFileAclStore {
    path: PathBuf,
    limits: AclLimits,
}

impl JsonFileAclStore {
    /// The store of the file at `path`, with the default limits.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            limits: AclLimits::default(),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl AclStore for JsonFileAclStore {
    async fn load(&self) -> Result<Acl> {
        let (path, limits) = (self.path.clone(), self.limits);
        blocking(move || {
            if path.exists() {
                Ok(<Acl>::load_json(&path, limits)?)
            } else {
                Ok(Acl::with_limits(limits))
            }
        })
        .await
    }

    async fn save(&self, acl: &Acl) -> Result<()> {
        let (path, data) = (self.path.clone(), acl.export());
        let limits = self.limits;
        blocking(move || Ok(Acl::from_data(data, limits)?.save_json(&path)?)).await
    }
}

/// Runs file I/O off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::backend("acl", "the file task failed", e))?
}

/// The SQL ACL store, opened on the same URL as the SQL session store.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod sql {
    use std::sync::Arc;

    use async_trait::async_trait;
    use psm_acl::Acl;
    use psm_core::{Result, StoreUrl};
    use psm_sql::acl::{AclStoreConfig, SqlAclStore};

    use super::AclStore;

    #[async_trait]
    impl AclStore for SqlAclStore {
        async fn load(&self) -> Result<Acl> {
            SqlAclStore::load(self).await
        }
        async fn save(&self, acl: &Acl) -> Result<()> {
            SqlAclStore::save(self, &acl.snapshot()).await
        }
        async fn close(&self) {
            SqlAclStore::close(self).await;
        }
    }

    pub(super) async fn open(mut url: StoreUrl) -> Result<Arc<dyn AclStore>> {
        // Options of the SQL session store that the ACL store does not take: the same URL
        // serves both.
        for key in ["default_ttl", "max_permissions", "cleanup_batch"] {
            url.take_string(key)?;
        }
        // and of the relationship store's mirror
        #[cfg(feature = "rebac")]
        crate::tuple_stores::take_mirror_options(&mut url)?;
        let store = SqlAclStore::connect_with(AclStoreConfig::from_url(url)?).await?;
        Ok(Arc::new(store) as Arc<dyn AclStore>)
    }
}
