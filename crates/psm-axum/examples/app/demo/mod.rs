//! The example application's router (used by `main.rs` and by the integration tests, which
//! include this directory): `POST /login` issues a session with the user's permissions from a
//! [`UserDirectory`] — its id in the JSON answer (for the `X-Session-ID` header) and in the
//! `psm_session` cookie (for browsers) — protected post routes, `POST /logout`, and the
//! management API: grant, revoke and list a user's permissions (requires `admin:permissions`),
//! applied to the user's live sessions at once.
//!
//! | route | requires |
//! |---|---|
//! | `POST /login` `{"username"}` | — (demo: no password) |
//! | `POST /logout` | a session |
//! | `GET /me` | a session |
//! | `GET /posts` | `read:posts` |
//! | `POST /posts` | `write:posts` |
//! | `DELETE /posts/{id}` | `delete:posts` |
//! | `POST /api/permissions/grant` `{"username", "permission"}` | `admin:permissions` |
//! | `POST /api/permissions/revoke` `{"username", "permission"}` | `admin:permissions` |
//! | `GET /api/permissions/{username}` | `admin:permissions` |
//! | `GET /health` | — |
//!
//! Errors are psm's one JSON error shape, `{"error": {"code", "message", "field"?}}`.

mod handlers;
mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{delete, get, post};
use psm_axum::auth::{SessionAuthenticator, SessionCookie};
use psm_axum::providers::SessionStoreProvider;
use psm_axum::{AuthenticateLayer, FirstMatch, PermissionsLayer, require_permissions};
use psm_core::SessionStore;

pub use users::UserDirectory;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Where sessions live (wrap network backends in a `CachedStore`).
    pub store: Arc<dyn SessionStore>,
    /// Who may log in, with what permissions.
    pub users: Arc<UserDirectory>,
    /// Lifetime of a login session.
    pub session_ttl: Duration,
    /// The session cookie set at login and cleared at logout.
    pub cookie: SessionCookie,
}

impl AppState {
    /// State over `store` and `users`, with one-hour sessions and the default session cookie
    /// (`psm_session`, `Secure`).
    pub fn new(store: Arc<dyn SessionStore>, users: Arc<UserDirectory>) -> Self {
        AppState {
            store,
            users,
            session_ttl: Duration::from_secs(3600),
            cookie: SessionCookie::default(),
        }
    }

    /// Uses `cookie` for the session cookie.
    pub fn with_cookie(mut self, cookie: SessionCookie) -> Self {
        self.cookie = cookie;
        self
    }
}

/// The application's router: a session named by the `X-Session-ID` header or, failing that,
/// by the session cookie authenticates a request and carries its permissions.
pub fn router(state: AppState) -> psm_axum::Result<Router> {
    let admin = || require_permissions(["admin:permissions"]);
    let authenticate = FirstMatch(vec![
        Arc::new(SessionAuthenticator::new(Arc::clone(&state.store))),
        Arc::new(SessionAuthenticator::from_cookie(
            Arc::clone(&state.store),
            state.cookie.clone(),
        )),
    ]);
    let app = Router::new()
        .route("/login", post(handlers::login))
        .route("/logout", post(handlers::logout))
        .route("/me", get(handlers::me))
        .route("/health", get(handlers::health))
        .route(
            "/posts",
            get(handlers::list_posts.layer(require_permissions(["read:posts"])?))
                .post(handlers::create_post.layer(require_permissions(["write:posts"])?)),
        )
        .route(
            "/posts/{id}",
            delete(handlers::delete_post.layer(require_permissions(["delete:posts"])?)),
        )
        .route(
            "/api/permissions/grant",
            post(handlers::grant.layer(admin()?)),
        )
        .route(
            "/api/permissions/revoke",
            post(handlers::revoke.layer(admin()?)),
        )
        .route(
            "/api/permissions/{username}",
            get(handlers::list_user.layer(admin()?)),
        )
        .layer(PermissionsLayer::from_provider(SessionStoreProvider::new(
            Arc::clone(&state.store),
        )))
        .layer(AuthenticateLayer::new(authenticate))
        .with_state(state);
    Ok(app)
}
