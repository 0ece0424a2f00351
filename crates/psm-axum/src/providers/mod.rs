//! Permissions providers for web requests: from a JWT claim, from the principal's session, and
//! (feature `http`) from an HTTP API. With feature `cache`, the hierarchy-expanding and caching
//! wrappers of psm-cache (`HierarchyProvider`, `CachedProvider`) are re-exported here.

#[cfg(feature = "http")]
mod http;
mod jwt_claim;
mod session;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use http::{HttpProvider, HttpProviderBuilder, MAX_RESPONSE_BYTES};
pub use jwt_claim::JwtClaimProvider;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use psm_cache::{CacheKey, CachedProvider, HierarchyProvider};
pub use session::SessionStoreProvider;
