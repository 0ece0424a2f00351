//! `require_permissions` / `require_any_permission`: route layers that refuse a request with
//! 401 (no principal), 403 (denied), 503 (provider failure) or 500 (no source wired).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::Request;
use psm_core::permission::ParsedPermission;
use psm_core::{Error as CoreError, Field, PermissionSet, PermissionsProvider, Rule};
use tower::{Layer, Service};
use tracing::Instrument;

use crate::error::Result;
use crate::rejection::AuthzRejection;
use crate::resolve::resolve;
use crate::source::{PermissionSource, Uncached};

/// Most permissions one layer may require.
pub const MAX_REQUIRED: usize = 64;

/// Requires every one of `permissions` (patterns allowed: `admin:*` requires coverage of all
/// of `admin:`). Validated now: an invalid permission or an empty list is an error.
///
/// ```
/// let layer = psm_axum::require_permissions(["read:posts", "admin:posts"]).unwrap();
/// assert!(psm_axum::require_permissions(["bad::perm"]).is_err());
/// assert!(psm_axum::require_permissions(Vec::<String>::new()).is_err());
/// # let _ = layer;
/// ```
pub fn require_permissions<I, S>(permissions: I) -> Result<RequirePermissionsLayer>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    RequirePermissionsLayer::new(permissions, Mode::All)
}

/// Requires at least one of `permissions`. Validated now, like [`require_permissions`].
pub fn require_any_permission<I, S>(permissions: I) -> Result<RequirePermissionsLayer>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    RequirePermissionsLayer::new(permissions, Mode::Any)
}

/// Whether all or any of the required permissions must be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every one.
    All,
    /// At least one.
    Any,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::All => "all",
            Mode::Any => "any",
        }
    }
}

#[derive(Debug)]
struct Requirement {
    permissions: Vec<String>,
    mode: Mode,
    source: Option<Arc<dyn PermissionSource>>,
}

impl Requirement {
    fn granted_by(&self, grants: &PermissionSet) -> bool {
        // Each permission was validated at construction; a parse failure here denies.
        let mut parsed = self
            .permissions
            .iter()
            .map(|p| ParsedPermission::parse(p).map(|p| grants.check_parsed(p)));
        match self.mode {
            Mode::All => parsed.all(|r| r.unwrap_or(false)),
            Mode::Any => parsed.any(|r| r.unwrap_or(false)),
        }
    }

    fn forbidden(&self) -> AuthzRejection {
        AuthzRejection::Forbidden {
            required: self.permissions.clone(),
            mode: self.mode.name(),
        }
    }
}

/// A route layer (`Router::route_layer`, `MethodRouter::route_layer` or `Handler::layer`)
/// that lets a request through only when its principal holds the required permissions.
#[derive(Debug, Clone)]
pub struct RequirePermissionsLayer {
    requirement: Arc<Requirement>,
}

impl RequirePermissionsLayer {
    /// Validates `permissions` (1 to [`MAX_REQUIRED`], each in the grammar).
    pub fn new<I, S>(permissions: I, mode: Mode) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let permissions: Vec<String> = permissions.into_iter().map(Into::into).collect();
        if permissions.is_empty() {
            return Err(CoreError::invalid(Field::Permissions, Rule::Empty).into());
        }
        if permissions.len() > MAX_REQUIRED {
            return Err(CoreError::invalid(
                Field::Permissions,
                Rule::TooMany { max: MAX_REQUIRED },
            )
            .into());
        }
        for p in &permissions {
            ParsedPermission::parse(p).map_err(CoreError::from)?;
        }
        Ok(RequirePermissionsLayer {
            requirement: Arc::new(Requirement {
                permissions,
                mode,
                source: None,
            }),
        })
    }

    /// Asks `source` instead of the router-wide [`PermissionsLayer`](crate::PermissionsLayer).
    pub fn with_source(self, source: impl PermissionSource + 'static) -> Self {
        self.with_shared_source(Arc::new(source))
    }

    /// Asks a shared source instead of the router-wide one.
    pub fn with_shared_source(self, source: Arc<dyn PermissionSource>) -> Self {
        RequirePermissionsLayer {
            requirement: Arc::new(Requirement {
                permissions: self.requirement.permissions.clone(),
                mode: self.requirement.mode,
                source: Some(source),
            }),
        }
    }

    /// Asks `provider` (compiled per request) instead of the router-wide source.
    pub fn with_provider(self, provider: impl PermissionsProvider + 'static) -> Self {
        self.with_source(Uncached::new(provider))
    }

    /// The required permissions.
    pub fn permissions(&self) -> &[String] {
        &self.requirement.permissions
    }

    /// All or any.
    pub fn mode(&self) -> Mode {
        self.requirement.mode
    }
}

impl<S> Layer<S> for RequirePermissionsLayer {
    type Service = RequirePermissions<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePermissions {
            inner,
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service of [`RequirePermissionsLayer`].
#[derive(Debug, Clone)]
pub struct RequirePermissions<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S, B> Service<Request<B>> for RequirePermissions<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let requirement = Arc::clone(&self.requirement);
        let span = tracing::debug_span!("psm.authorize", mode = requirement.mode.name());
        Box::pin(
            async move {
                let grants = match resolve(req.extensions_mut(), requirement.source.as_ref()).await
                {
                    Ok(grants) => grants,
                    Err(rejection) => {
                        tracing::debug!(status = rejection.status().as_u16(), "refused");
                        return Ok(rejection.into_response());
                    }
                };
                if !requirement.granted_by(&grants) {
                    tracing::debug!(status = 403, "denied");
                    return Ok(requirement.forbidden().into_response());
                }
                inner.call(req).await
            }
            .instrument(span),
        )
    }
}
