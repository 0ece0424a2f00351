//! psm-axum: authorization for axum 0.8 / tower 0.5 — FastAPI-style `require_permissions`
//! route layers, handler extractors, ready-made authenticators and permissions providers.
//!
//! The pieces, outermost first:
//!
//! 1. **Authentication** puts a [`Principal`](psm_core::Principal) in the request extensions:
//!    the application's own middleware, or an [`AuthenticateLayer`] with
//!    `auth::JwtAuthenticator` (feature `jwt`: `Authorization: Bearer <JWT>`; HS256, RS256,
//!    ES256; issuer, audience and expiry checked) or [`auth::SessionAuthenticator`] (a session
//!    id in the `X-Session-ID` header or in the `psm_session` cookie, both names
//!    configurable; [`auth::SessionCookie`] also writes the `Set-Cookie` values). Every 401
//!    below the layer carries the authenticator's challenge: `WWW-Authenticate: Bearer` for
//!    JWTs, no challenge for session headers and cookies.
//! 2. **A permissions source** for the router: [`PermissionsLayer`] over any
//!    [`PermissionsProvider`](psm_core::PermissionsProvider) (see [`providers`]: JWT claim,
//!    session store, HTTP API with feature `http`, hierarchy expansion) or a
//!    [`CachedProvider`](psm_cache::CachedProvider) (compiled sets cached; cross-instance
//!    invalidation).
//! 3. **Route layers**: [`require_permissions`] (all) and [`require_any_permission`] (any),
//!    validated when built. No principal → 401, denied → 403, provider failure → 503, no
//!    source wired → 500; JSON bodies in psm's one error shape, [`psm_core::ErrorBody`] (the
//!    one psm-server answers with): `{"error": {"code": "...", "message": "..."}}`, codes
//!    `unauthorized`, `forbidden`, `unavailable`, `internal`. Nothing fails open.
//! 4. **Extractors**: [`Authenticated`] (the principal) and [`Permissions`] (its compiled
//!    permissions, resolved once per request).
//!
//! ```
//! use axum::{Router, routing::get, handler::Handler};
//! use psm_axum::{Authenticated, Permissions, PermissionsLayer, require_permissions};
//! use psm_axum::providers::JwtClaimProvider;
//!
//! async fn posts(Authenticated(who): Authenticated, perms: Permissions) -> String {
//!     format!("{} may delete: {}", who.subject, perms.check("posts:delete").unwrap_or(false))
//! }
//!
//! # fn build() -> Result<Router, psm_axum::Error> {
//! let app: Router = Router::new()
//!     .route("/posts", get(posts.layer(require_permissions(["posts:read"])?)))
//!     .layer(PermissionsLayer::from_provider(JwtClaimProvider::new("permissions")));
//!     // .layer(AuthenticateLayer::new(JwtAuthenticator::hs256(..)..build()?))
//! # Ok(app) }
//! # build().unwrap();
//! ```
//!
//! Sessions in a cookie, for browsers (the store decides who is logged in):
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::get, handler::Handler};
//! use psm_axum::auth::{SessionAuthenticator, SessionCookie};
//! use psm_axum::providers::SessionStoreProvider;
//! use psm_axum::{AuthenticateLayer, PermissionsLayer, require_permissions};
//!
//! async fn posts() -> &'static str { "posts" }
//!
//! # fn build() -> Result<Router, psm_axum::Error> {
//! let store: Arc<dyn psm_core::SessionStore> = Arc::new(psm_memory::MemoryStore::new());
//! let cookie = SessionCookie::default(); // psm_session; HttpOnly, Secure, SameSite=Lax, Path=/
//! let app: Router = Router::new()
//!     .route("/posts", get(posts.layer(require_permissions(["posts:read"])?)))
//!     .layer(PermissionsLayer::from_provider(SessionStoreProvider::new(store.clone())))
//!     .layer(AuthenticateLayer::new(SessionAuthenticator::from_cookie(store, cookie)));
//! # Ok(app) }
//! # build().unwrap();
//! ```
//!
//! Cargo features (none on by default): `jwt` (`auth::JwtAuthenticator`, with jsonwebtoken),
//! `cache` (`CachedProvider` from psm-cache as a [`PermissionSource`], with moka), `http`
//! (`providers::HttpProvider`, with reqwest and rustls). Sessions by header or cookie need none.
//!
//! The example application (`cargo run -p psm-axum --example app`, in `examples/app/`) puts
//! it all together: a demo login issuing sessions (header and cookie), protected routes,
//! logout, and a grant/revoke management API.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod auth;
mod authenticate;
mod error;
mod extract;
mod permissions_layer;
pub mod providers;
mod rejection;
mod require;
mod resolve;
mod source;

pub use authenticate::{Authenticate, AuthenticateLayer, Authenticator, FirstMatch};
pub use error::{Error, Result};
pub use extract::{Authenticated, Permissions};
pub use permissions_layer::{PermissionsLayer, PermissionsService};
pub use rejection::AuthzRejection;
pub use require::{
    MAX_REQUIRED, Mode, RequirePermissions, RequirePermissionsLayer, require_any_permission,
    require_permissions,
};
pub use source::{PermissionSource, Uncached};
