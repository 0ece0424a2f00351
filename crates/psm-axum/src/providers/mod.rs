//! Permissions providers for web requests: from a JWT claim, from the principal's session, and
//! (feature `http`) from an HTTP API. The hierarchy-expanding and caching wrappers live in
//! psm-cache ([`HierarchyProvider`](psm_cache::HierarchyProvider),
//! [`CachedProvider`](psm_cache::CachedProvider)) and are re-exported here.

#[cfg(feature = "http")]
mod http;
mod jwt_claim;
mod session;

#[cfg(feature = "http")]
pub use http::{HttpProvider, HttpProviderBuilder, MAX_RESPONSE_BYTES};
pub use jwt_claim::JwtClaimProvider;
pub use psm_cache::{CacheKey, CachedProvider, HierarchyProvider};
pub use session::SessionStoreProvider;
