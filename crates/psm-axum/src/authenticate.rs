//! `Authenticator` and `AuthenticateLayer`: turn request headers into a `Principal` in the
//! request extensions (or refuse the request when its credentials are bad).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Request};
use psm_core::Principal;
use tower::{Layer, Service};

use crate::rejection::AuthzRejection;

/// Authenticates a request from its headers.
///
/// `Ok(None)`: no credentials of this kind (the request goes on anonymous; `require_*` layers
/// then answer 401). `Err(..)`: credentials were presented and are bad (401) or could not be
/// checked (503); the request is refused at once.
#[async_trait]
pub trait Authenticator: Send + Sync + fmt::Debug {
    /// The principal the headers prove, if any.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>, AuthzRejection>;
}

/// Tries several authenticators in order; the first that finds credentials decides.
#[derive(Debug, Clone, Default)]
pub struct FirstMatch(pub Vec<Arc<dyn Authenticator>>);

#[async_trait]
impl Authenticator for FirstMatch {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>, AuthzRejection> {
        for a in &self.0 {
            if let Some(p) = a.authenticate(headers).await? {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }
}

/// Runs an [`Authenticator`] on every request that has no principal yet, and puts the
/// principal it finds in the request extensions.
#[derive(Debug, Clone)]
pub struct AuthenticateLayer {
    authenticator: Arc<dyn Authenticator>,
}

impl AuthenticateLayer {
    /// Uses `authenticator`.
    pub fn new(authenticator: impl Authenticator + 'static) -> Self {
        AuthenticateLayer {
            authenticator: Arc::new(authenticator),
        }
    }

    /// Uses a shared authenticator.
    pub fn from_shared(authenticator: Arc<dyn Authenticator>) -> Self {
        AuthenticateLayer { authenticator }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            authenticator: Arc::clone(&self.authenticator),
        }
    }
}

/// The service of [`AuthenticateLayer`].
#[derive(Debug, Clone)]
pub struct Authenticate<S> {
    inner: S,
    authenticator: Arc<dyn Authenticator>,
}

impl<S, B> Service<Request<B>> for Authenticate<S>
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
        let authenticator = Arc::clone(&self.authenticator);
        Box::pin(async move {
            if req.extensions().get::<Principal>().is_none() {
                match authenticator.authenticate(req.headers()).await {
                    Ok(Some(principal)) => {
                        req.extensions_mut().insert(principal);
                    }
                    Ok(None) => {}
                    Err(rejection) => {
                        tracing::debug!(
                            status = rejection.status().as_u16(),
                            "authentication refused"
                        );
                        return Ok(rejection.into_response());
                    }
                }
            }
            inner.call(req).await
        })
    }
}
