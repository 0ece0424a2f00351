//! psm-axum: authorization for axum 0.8 / tower 0.5 — FastAPI-style `require_permissions`
//! route layers, handler extractors, ready-made authenticators and permissions providers.
//!
//! The pieces, outermost first:
//!
//! 1. **Authentication** puts a [`Principal`](psm_core::Principal) in the request extensions:
//!    the application's own middleware, or an [`AuthenticateLayer`] with
//!    [`auth::JwtAuthenticator`] (`Authorization: Bearer <JWT>`; HS256, RS256, ES256; issuer,
//!    audience and expiry checked) or [`auth::SessionAuthenticator`] (`X-Session-ID`).
//! 2. **A permissions source** for the router: [`PermissionsLayer`] over any
//!    [`PermissionsProvider`](psm_core::PermissionsProvider) (see [`providers`]: JWT claim,
//!    session store, HTTP API with feature `http`, hierarchy expansion) or a
//!    [`CachedProvider`](psm_cache::CachedProvider) (compiled sets cached; cross-instance
//!    invalidation).
//! 3. **Route layers**: [`require_permissions`] (all) and [`require_any_permission`] (any),
//!    validated when built. No principal → 401, denied → 403, provider failure → 503, no
//!    source wired → 500; JSON bodies `{"error": {"code": "...", "message": "..."}}`. Nothing fails open.
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
//! `example_app` is the router of the example application (`examples/app.rs`): login issuing
//! sessions, protected routes, logout, and the grant/revoke management API.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
mod authenticate;
mod error;
pub mod example_app;
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
