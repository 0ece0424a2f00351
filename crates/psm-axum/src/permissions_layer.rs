//! `PermissionsLayer`: the router-wide permissions source that `require_permissions` layers and
//! the `Permissions` extractor use.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use psm_core::PermissionsProvider;
use tower::{Layer, Service};

use crate::resolve::SourceContext;
use crate::source::{PermissionSource, Uncached};

/// Makes a permissions source available to every route below it (add it with
/// `Router::layer`, outside the routes' `require_*` layers).
#[derive(Debug, Clone)]
pub struct PermissionsLayer {
    source: Arc<dyn PermissionSource>,
}

impl PermissionsLayer {
    /// Uses `source` (for example a `CachedProvider`, feature `cache`).
    pub fn new(source: impl PermissionSource + 'static) -> Self {
        PermissionsLayer {
            source: Arc::new(source),
        }
    }

    /// Uses a shared source.
    pub fn from_source(source: Arc<dyn PermissionSource>) -> Self {
        PermissionsLayer { source }
    }

    /// Uses `provider`, compiling its answer on every request ([`Uncached`]).
    pub fn from_provider(provider: impl PermissionsProvider + 'static) -> Self {
        Self::new(Uncached::new(provider))
    }
}

impl<S> Layer<S> for PermissionsLayer {
    type Service = PermissionsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PermissionsService {
            inner,
            source: SourceContext(Arc::clone(&self.source)),
        }
    }
}

/// The service of [`PermissionsLayer`].
#[derive(Debug, Clone)]
pub struct PermissionsService<S> {
    inner: S,
    source: SourceContext,
}

impl<S, B> Service<Request<B>> for PermissionsService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.source.clone());
        self.inner.call(req)
    }
}
