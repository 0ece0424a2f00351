//! `JwtAuthenticator`: `Authorization: Bearer <JWT>` verified with HS256, RS256 or ES256;
//! signature, algorithm, expiry, not-before, issuer and audience all checked.

use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, HeaderValue, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use psm_core::Principal;
use serde_json::{Map, Value};

use crate::authenticate::Authenticator;
use crate::error::{Error, Result};
use crate::rejection::AuthzRejection;

/// Shortest accepted HS256 secret (256 bits, as RFC 7518 §3.2 requires).
pub const MIN_HS256_SECRET_LEN: usize = 32;
/// Longest accepted `Authorization` header.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Verifies bearer tokens and makes a [`Principal`] of their claims: `subject` from `sub`
/// (required), `username` from the username claim (default `username`), `session_id` from the
/// session claim (default `sid`, when it is a valid session id), `claims` = all claims.
///
/// Exactly one algorithm is accepted (no algorithm confusion); `exp` is required and checked,
/// `nbf` is checked when present; issuer and audience must be configured (or explicitly
/// waived with [`JwtAuthenticatorBuilder::any_issuer`] / [`any_audience`]).
///
/// [`any_audience`]: JwtAuthenticatorBuilder::any_audience
///
/// ```
/// use psm_axum::auth::JwtAuthenticator;
/// let auth = JwtAuthenticator::hs256(b"0123456789abcdef0123456789abcdef")
///     .issuer("https://auth.example")
///     .audience("posts-api")
///     .build()
///     .unwrap();
/// assert!(JwtAuthenticator::hs256(b"short").issuer("i").audience("a").build().is_err());
/// # let _ = auth;
/// ```
#[derive(Clone)]
pub struct JwtAuthenticator {
    key: DecodingKey,
    validation: Validation,
    username_claim: String,
    session_claim: String,
}

impl std::fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

/// Configures a [`JwtAuthenticator`].
#[derive(Clone)]
pub struct JwtAuthenticatorBuilder {
    algorithm: Algorithm,
    key: std::result::Result<DecodingKey, String>,
    weak_secret: bool,
    issuers: Vec<String>,
    audiences: Vec<String>,
    any_issuer: bool,
    any_audience: bool,
    leeway: Duration,
    username_claim: String,
    session_claim: String,
}

impl std::fmt::Debug for JwtAuthenticatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthenticatorBuilder")
            .field("algorithm", &self.algorithm)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

impl JwtAuthenticator {
    /// HMAC-SHA256 with a shared secret of at least 32 bytes.
    pub fn hs256(secret: &[u8]) -> JwtAuthenticatorBuilder {
        let mut b =
            JwtAuthenticatorBuilder::new(Algorithm::HS256, Ok(DecodingKey::from_secret(secret)));
        b.weak_secret = secret.len() < MIN_HS256_SECRET_LEN;
        b
    }

    /// RSA PKCS#1 v1.5 with SHA-256, verified with a PEM public key.
    pub fn rs256_pem(public_key_pem: &[u8]) -> JwtAuthenticatorBuilder {
        let key = DecodingKey::from_rsa_pem(public_key_pem).map_err(|e| e.to_string());
        JwtAuthenticatorBuilder::new(Algorithm::RS256, key)
    }

    /// ECDSA P-256 with SHA-256, verified with a PEM public key.
    pub fn es256_pem(public_key_pem: &[u8]) -> JwtAuthenticatorBuilder {
        let key = DecodingKey::from_ec_pem(public_key_pem).map_err(|e| e.to_string());
        JwtAuthenticatorBuilder::new(Algorithm::ES256, key)
    }

    /// Verifies `token` and returns its principal, or the reason it is refused.
    pub fn verify(&self, token: &str) -> std::result::Result<Principal, AuthzRejection> {
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation)
            .map_err(|e| AuthzRejection::Unauthenticated {
            detail: match e.kind() {
                ErrorKind::ExpiredSignature => "token expired",
                ErrorKind::ImmatureSignature => "token not yet valid",
                ErrorKind::InvalidIssuer => "invalid token issuer",
                ErrorKind::InvalidAudience => "invalid token audience",
                ErrorKind::InvalidAlgorithm => "invalid token algorithm",
                ErrorKind::InvalidSignature => "invalid token signature",
                ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
                _ => "invalid token",
            },
        })?;
        let claims = data.claims;
        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(AuthzRejection::Unauthenticated {
                    detail: "token subject missing or not a string",
                });
            }
        };
        let mut principal = Principal::new(subject);
        if let Some(Value::String(name)) = claims.get(&self.username_claim) {
            principal = principal.with_username(name.clone());
        }
        if let Some(Value::String(sid)) = claims.get(&self.session_claim)
            && psm_core::validate::session_id(sid).is_ok()
        {
            principal = principal.with_session_id(sid.clone());
        }
        Ok(principal.with_claims(Value::Object(claims)))
    }
}

impl JwtAuthenticatorBuilder {
    fn new(algorithm: Algorithm, key: std::result::Result<DecodingKey, String>) -> Self {
        JwtAuthenticatorBuilder {
            algorithm,
            key,
            weak_secret: false,
            issuers: Vec::new(),
            audiences: Vec::new(),
            any_issuer: false,
            any_audience: false,
            leeway: Duration::from_secs(30),
            username_claim: "username".into(),
            session_claim: "sid".into(),
        }
    }

    /// Accepts tokens from `issuer` (call again to accept several).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens for `audience` (call again to accept several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accepts any issuer (the `iss` claim is not checked).
    pub fn any_issuer(mut self) -> Self {
        self.any_issuer = true;
        self
    }

    /// Accepts any audience (the `aud` claim is not checked).
    pub fn any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 30 s, at most 5 min).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The claim the username is read from (default `username`).
    pub fn username_claim(mut self, claim: impl Into<String>) -> Self {
        self.username_claim = claim.into();
        self
    }

    /// The claim the session id is read from (default `sid`).
    pub fn session_claim(mut self, claim: impl Into<String>) -> Self {
        self.session_claim = claim.into();
        self
    }

    /// Checks the settings and builds the authenticator.
    pub fn build(self) -> Result<JwtAuthenticator> {
        let key = self.key.map_err(|reason| Error::InvalidKey { reason })?;
        if self.weak_secret {
            return Err(Error::InvalidJwtConfig {
                reason: "an HS256 secret must be at least 32 bytes",
            });
        }
        if self.issuers.is_empty() && !self.any_issuer {
            return Err(Error::InvalidJwtConfig {
                reason: "set an issuer, or call any_issuer() to accept every issuer",
            });
        }
        if self.audiences.is_empty() && !self.any_audience {
            return Err(Error::InvalidJwtConfig {
                reason: "set an audience, or call any_audience() to accept every audience",
            });
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(Error::InvalidJwtConfig {
                reason: "leeway must be at most 5 minutes",
            });
        }
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = self.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if self.any_issuer {
            validation.iss = None;
        } else {
            validation.set_issuer(&self.issuers);
            required.push("iss");
        }
        if self.any_audience {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.audiences);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        Ok(JwtAuthenticator {
            key,
            validation,
            username_claim: self.username_claim,
            session_claim: self.session_claim,
        })
    }
}

#[async_trait]
impl Authenticator for JwtAuthenticator {
    async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> std::result::Result<Option<Principal>, AuthzRejection> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let bad = AuthzRejection::Unauthenticated {
            detail: "malformed Authorization header",
        };
        if value.len() > MAX_TOKEN_LEN {
            return Err(bad);
        }
        let text = value.to_str().map_err(|_| bad.clone())?;
        let Some((scheme, token)) = text.split_once(' ') else {
            return Err(bad);
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Another scheme (Basic, ...): not ours to judge.
            return Ok(None);
        }
        self.verify(token.trim()).map(Some)
    }

    /// `Bearer`: 401 answers below an [`AuthenticateLayer`](crate::AuthenticateLayer) with this
    /// authenticator tell the client to present a bearer token.
    fn challenge(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("Bearer"))
    }
}
