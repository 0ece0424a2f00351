//! `JwtClaimProvider`: permissions carried in a JWT claim, as a JSON list or a space-separated
//! string.

use async_trait::async_trait;
use psm_core::permission::{DEFAULT_MAX_PERMISSIONS, validate_permission};
use psm_core::{Error, Field, PermissionsProvider, Principal, Result, Rule};
use serde_json::Value;

/// Reads permissions from the principal's claims (claim `permissions` unless configured):
/// `["read:posts", "write:posts"]` or `"read:posts write:posts"` (the OAuth `scope` form).
/// A missing or `null` claim means no permissions. A claim of another type, a non-string list
/// item or a permission outside the grammar is an error (the request is refused — fail closed).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use psm_axum::providers::JwtClaimProvider;
/// use psm_core::{PermissionsProvider, Principal};
/// let p = JwtClaimProvider::new("scope");
/// let who = Principal::new("u").with_claims(serde_json::json!({"scope": "read:posts write:posts"}));
/// assert_eq!(p.fetch_permissions(&who).await?, ["read:posts", "write:posts"]);
/// let bad = Principal::new("u").with_claims(serde_json::json!({"scope": "a::b"}));
/// assert!(p.fetch_permissions(&bad).await.is_err());
/// # Ok::<(), psm_core::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct JwtClaimProvider {
    claim: String,
    max_permissions: usize,
}

impl Default for JwtClaimProvider {
    fn default() -> Self {
        Self::new("permissions")
    }
}

impl JwtClaimProvider {
    /// Reads claim `claim`.
    pub fn new(claim: impl Into<String>) -> Self {
        JwtClaimProvider {
            claim: claim.into(),
            max_permissions: DEFAULT_MAX_PERMISSIONS,
        }
    }

    /// Bounds the number of permissions a claim may carry (default 10,000).
    pub fn max_permissions(mut self, max: usize) -> Self {
        self.max_permissions = max;
        self
    }

    fn malformed(&self, reason: &str) -> Error {
        Error::Corrupt {
            location: format!("JWT claim {:?}", self.claim),
            reason: reason.to_owned(),
        }
    }
}

#[async_trait]
impl PermissionsProvider for JwtClaimProvider {
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        let permissions: Vec<String> = match principal.claims.get(&self.claim) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(self.malformed("a list item is not a string")),
                })
                .collect::<Result<_>>()?,
            Some(_) => {
                return Err(
                    self.malformed("expected a list of strings or a space-separated string")
                );
            }
        };
        if permissions.len() > self.max_permissions {
            return Err(Error::invalid(
                Field::Permissions,
                Rule::TooMany {
                    max: self.max_permissions,
                },
            ));
        }
        for p in &permissions {
            validate_permission(p)?;
        }
        Ok(permissions)
    }
}
