//! `HttpProvider` (feature `http`): permissions from an HTTP API, `GET <template>` with the
//! principal substituted; anything but a 2xx answer with a valid JSON body is an error.

use std::time::Duration;

use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use psm_core::permission::{DEFAULT_MAX_PERMISSIONS, validate_permission};
use psm_core::{Error as CoreError, Field, PermissionsProvider, Principal, Result, Rule};
use serde_json::Value;

use crate::error::Error;

const BACKEND: &str = "http";
/// Largest response body read (1 MiB); a larger one is an error.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Everything but RFC 3986 unreserved characters is escaped in substituted values.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Fetches permissions with `GET` on a URL template such as
/// `https://authz.internal/users/{username}/permissions` (`{subject}` and `{username}` — the
/// principal's lookup name — are percent-encoded into the path or query; they may not appear in
/// the host). The answer must be a 2xx with a JSON body that is a list of permissions or an
/// object with a `permissions` list. Timeouts, connection errors, other statuses (redirects
/// included), bodies over 1 MiB, bad JSON and permissions outside the grammar are all errors:
/// the request is refused (503), never let through.
///
/// ```no_run
/// use std::time::Duration;
/// let provider = psm_axum::providers::HttpProvider::builder("https://authz.internal/users/{username}/permissions")
///     .timeout(Duration::from_secs(2))
///     .bearer_token("api-key")
///     .build()
///     .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct HttpProvider {
    client: reqwest::Client,
    template: String,
    bearer: Option<String>,
    timeout: Duration,
    max_permissions: usize,
}

/// Configures an [`HttpProvider`].
#[derive(Debug, Clone)]
pub struct HttpProviderBuilder {
    template: String,
    bearer: Option<String>,
    timeout: Duration,
    max_permissions: usize,
}

impl HttpProvider {
    /// Starts a builder for `template` (default timeout 5 s).
    pub fn builder(template: impl Into<String>) -> HttpProviderBuilder {
        HttpProviderBuilder {
            template: template.into(),
            bearer: None,
            timeout: Duration::from_secs(5),
            max_permissions: DEFAULT_MAX_PERMISSIONS,
        }
    }

    fn url_for(&self, principal: &Principal) -> String {
        let subject = utf8_percent_encode(&principal.subject, COMPONENT).to_string();
        let username = utf8_percent_encode(principal.lookup_name(), COMPONENT).to_string();
        self.template
            .replace("{subject}", &subject)
            .replace("{username}", &username)
    }

    fn corrupt(&self, reason: impl Into<String>) -> CoreError {
        CoreError::Corrupt {
            location: format!("response of {}", self.template),
            reason: reason.into(),
        }
    }

    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>> {
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(self.corrupt("body larger than 1 MiB"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.driver(e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(self.corrupt("body larger than 1 MiB"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn driver(&self, e: reqwest::Error) -> CoreError {
        if e.is_timeout() {
            CoreError::Timeout {
                backend: BACKEND,
                operation: "fetch_permissions",
                after: self.timeout,
            }
        } else if e.is_connect() {
            CoreError::Connection {
                backend: BACKEND,
                message: e.without_url().to_string(),
            }
        } else {
            CoreError::backend(BACKEND, "permissions request failed", e.without_url())
        }
    }
}

impl HttpProviderBuilder {
    /// Limit on the whole request, connection included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    /// Bounds the number of permissions accepted (default 10,000).
    pub fn max_permissions(mut self, max: usize) -> Self {
        self.max_permissions = max;
        self
    }

    /// Checks the template and builds the client.
    pub fn build(self) -> crate::error::Result<HttpProvider> {
        let bad = |reason: &str| Error::InvalidUrlTemplate {
            template: self.template.clone(),
            reason: reason.to_owned(),
        };
        let rest = self
            .template
            .strip_prefix("https://")
            .or_else(|| self.template.strip_prefix("http://"))
            .ok_or_else(|| bad("must start with http:// or https://"))?;
        let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
        if rest[..path_start].contains('{') {
            return Err(bad("placeholders may only appear in the path or query"));
        }
        let mut scan = rest;
        while let Some(open) = scan.find('{') {
            let tail = &scan[open..];
            let name_end = tail.find('}').ok_or_else(|| bad("unclosed '{'"))?;
            if !matches!(&tail[..=name_end], "{subject}" | "{username}") {
                return Err(bad("only {subject} and {username} may be substituted"));
            }
            scan = &tail[name_end + 1..];
        }
        let sample = self
            .template
            .replace("{subject}", "x")
            .replace("{username}", "x");
        reqwest::Url::parse(&sample).map_err(|e| bad(&e.to_string()))?;
        if self.timeout.is_zero() {
            return Err(Error::Core(CoreError::invalid(
                Field::Option("timeout"),
                Rule::OutOfRange {
                    allowed: "more than zero",
                },
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(HttpProvider {
            client,
            template: self.template,
            bearer: self.bearer,
            timeout: self.timeout,
            max_permissions: self.max_permissions,
        })
    }
}

#[async_trait]
impl PermissionsProvider for HttpProvider {
    #[tracing::instrument(skip_all, level = "debug", fields(provider = BACKEND))]
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        let mut request = self.client.get(self.url_for(principal));
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| self.driver(e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(CoreError::Backend {
                backend: BACKEND,
                message: format!("permissions API answered HTTP {}", status.as_u16()),
                source: None,
            });
        }
        let body = self.body(response).await?;
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| self.corrupt(e.to_string()))?;
        let list = match &value {
            Value::Array(items) => items,
            Value::Object(map) => match map.get("permissions") {
                Some(Value::Array(items)) => items,
                _ => return Err(self.corrupt("no \"permissions\" list in the object")),
            },
            _ => return Err(self.corrupt("expected a list or an object with \"permissions\"")),
        };
        if list.len() > self.max_permissions {
            return Err(CoreError::invalid(
                Field::Permissions,
                Rule::TooMany {
                    max: self.max_permissions,
                },
            ));
        }
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            let Value::String(p) = item else {
                return Err(self.corrupt("a permission is not a string"));
            };
            validate_permission(p)?;
            out.push(p.clone());
        }
        Ok(out)
    }
}
