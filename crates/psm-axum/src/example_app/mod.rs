//! The example application's router (used by `examples/app.rs` and the integration tests):
//! `POST /login` issues a session with the user's permissions from a [`UserDirectory`],
//! protected post routes, `POST /logout`, and the management API — grant, revoke and list a
//! user's permissions (requires `admin:permissions`), applied to the user's live sessions at
//! once.
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

mod handlers;
mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{delete, get, post};
use psm_core::SessionStore;

pub use users::UserDirectory;

use crate::auth::SessionAuthenticator;
use crate::providers::SessionStoreProvider;
use crate::{AuthenticateLayer, PermissionsLayer, require_permissions};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Where sessions live (wrap network backends in a `CachedStore`).
    pub store: Arc<dyn SessionStore>,
    /// Who may log in, with what permissions.
    pub users: Arc<UserDirectory>,
    /// Lifetime of a login session.
    pub session_ttl: Duration,
}

impl AppState {
    /// State over `store` and `users`, with one-hour sessions.
    pub fn new(store: Arc<dyn SessionStore>, users: Arc<UserDirectory>) -> Self {
        AppState {
            store,
            users,
            session_ttl: Duration::from_secs(3600),
        }
    }
}

/// The application's router: sessions authenticate requests (`X-Session-ID`) and carry their
/// permissions.
pub fn router(state: AppState) -> crate::Result<Router> {
    let admin = || require_permissions(["admin:permissions"]);
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
        .layer(AuthenticateLayer::new(SessionAuthenticator::new(
            Arc::clone(&state.store),
        )))
        .with_state(state);
    Ok(app)
}
