//! `Authenticator` and `AuthenticateLayer`: turn request headers into a `Principal` in the
//! request extensions (or refuse the request when its credentials are bad), and give every 401
//! below the layer the `WWW-Authenticate` challenge of the configured credentials.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Request, StatusCode, header};
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

    /// The `WWW-Authenticate` challenge (RFC 9110 §11.6.1) that tells a client how to present
    /// these credentials, added by [`AuthenticateLayer`] to every 401 answer that has none.
    /// `None` (the default) for credentials that are not an HTTP authentication scheme, such
    /// as a session header or cookie.
    fn challenge(&self) -> Option<HeaderValue> {
        None
    }
}

/// Tries several authenticators in order; the first that finds credentials decides. Its
/// challenge lists the challenges of its authenticators (comma-separated, each once; none
/// when none has one).
///
/// ```
/// use std::sync::Arc;
/// use psm_axum::{Authenticator, FirstMatch};
/// use psm_axum::auth::{SessionAuthenticator, SessionCookie};
/// let store: Arc<dyn psm_core::SessionStore> = Arc::new(psm_memory::MemoryStore::new());
/// // `X-Session-ID` first (API clients), then the `psm_session` cookie (browsers).
/// let either = FirstMatch(vec![
///     Arc::new(SessionAuthenticator::new(store.clone())),
///     Arc::new(SessionAuthenticator::from_cookie(store, SessionCookie::default())),
/// ]);
/// assert_eq!(either.challenge(), None);
/// ```
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

    fn challenge(&self) -> Option<HeaderValue> {
        let mut all: Vec<HeaderValue> = Vec::new();
        for c in self.0.iter().filter_map(|a| a.challenge()) {
            if !all.contains(&c) {
                all.push(c);
            }
        }
        match all.len() {
            0 => None,
            1 => all.pop(),
            _ => {
                let joined: Vec<&[u8]> = all.iter().map(HeaderValue::as_bytes).collect();
                HeaderValue::from_bytes(&joined.join(&b", "[..])).ok()
            }
        }
    }
}

/// Runs an [`Authenticator`] on every request that has no principal yet, and puts the
/// principal it finds in the request extensions. Every 401 answer from below (its own
/// refusals, `require_*` layers, the [`Authenticated`](crate::Authenticated) and
/// [`Permissions`](crate::Permissions) extractors, handlers) that has no `WWW-Authenticate`
/// header gets the authenticator's [`challenge`](Authenticator::challenge), if it has one.
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

/// Adds `challenge` to `response` when it is a 401 without one.
fn with_challenge(mut response: Response, challenge: Option<HeaderValue>) -> Response {
    if let Some(challenge) = challenge
        && response.status() == StatusCode::UNAUTHORIZED
        && !response.headers().contains_key(header::WWW_AUTHENTICATE)
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
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
            let challenge = authenticator.challenge();
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
                        return Ok(with_challenge(rejection.into_response(), challenge));
                    }
                }
            }
            let response = inner.call(req).await?;
            Ok(with_challenge(response, challenge))
        })
    }
}
