//! `SessionCookie`: the name and attributes of a session cookie — reading the session id from
//! a request's `Cookie` headers, and writing the `Set-Cookie` values that set and clear it.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, header};

use crate::error::{Error, Result};

/// The default session cookie name.
pub const SESSION_COOKIE: &str = "psm_session";

/// The `SameSite` attribute of a session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only with requests from the same site.
    Strict,
    /// Also sent with top-level navigations from other sites (the default).
    Lax,
    /// Sent with every request, cross-site ones included; always set with `Secure` (browsers
    /// drop it otherwise).
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// A session cookie: its name and the attributes it is set with.
///
/// Defaults: name `psm_session` ([`SESSION_COOKIE`]), `Path=/`, `HttpOnly` (always: scripts
/// never see the session id), `Secure` (sent over HTTPS only; turn it off only for plain-HTTP
/// development on loopback), `SameSite=Lax` (not sent with cross-site subrequests and posts,
/// which blunts CSRF; state-changing routes behind cookies still deserve a CSRF defence of
/// their own). Without a max age the cookie lasts until the browser closes; give the session's
/// TTL so both end together.
///
/// ```
/// use std::time::Duration;
/// use psm_axum::auth::SessionCookie;
/// let cookie = SessionCookie::default();
/// let set = cookie.set("s-123", Some(Duration::from_secs(3600))).unwrap();
/// assert_eq!(set, "psm_session=s-123; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax");
/// assert_eq!(cookie.clear(), "psm_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(http::header::COOKIE, "theme=dark; psm_session=s-123".parse().unwrap());
/// assert_eq!(cookie.find(&headers), Some("s-123"));
/// assert!(SessionCookie::new("bad name").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    name: String,
    path: String,
    secure: bool,
    same_site: SameSite,
}

impl Default for SessionCookie {
    fn default() -> Self {
        SessionCookie {
            name: SESSION_COOKIE.to_owned(),
            path: "/".to_owned(),
            secure: true,
            same_site: SameSite::Lax,
        }
    }
}

/// Whether `name` is an RFC 6265 cookie name (an RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl SessionCookie {
    /// A cookie named `name` (a token: letters, digits and ``!#$%&'*+-.^_`|~``), with the
    /// default attributes.
    pub fn new(name: &str) -> Result<Self> {
        if !is_token(name) {
            return Err(Error::InvalidCookie {
                name: name.to_owned(),
                reason: "a cookie name is 1 to 256 letters, digits or !#$%&'*+-.^_`|~",
            });
        }
        Ok(SessionCookie {
            name: name.to_owned(),
            ..SessionCookie::default()
        })
    }

    /// Sets the `Path` attribute (default `/`): it starts with `/` and holds no `;`, spaces
    /// or control characters.
    pub fn path(mut self, path: &str) -> Result<Self> {
        let ok = path.starts_with('/')
            && path.len() <= 1024
            && path.bytes().all(|b| b.is_ascii_graphic() && b != b';');
        if !ok {
            return Err(Error::InvalidCookie {
                name: self.name,
                reason: "the path starts with / and holds no ';', spaces or control characters",
            });
        }
        self.path = path.to_owned();
        Ok(self)
    }

    /// Sets whether the cookie carries `Secure` (default `true`; always with
    /// [`SameSite::None`]).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Sets the `SameSite` attribute (default [`SameSite::Lax`]).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of the first cookie of this name in the request's `Cookie` headers (quotes
    /// around it removed), or `None`. Browsers send the cookie with the most specific path
    /// first.
    pub fn find<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                (name.trim() == self.name).then(|| {
                    let value = value.trim();
                    value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(value)
                })
            })
    }

    /// The `Set-Cookie` value that gives the client `session_id` (a valid session id), for
    /// `max_age` or until the browser closes.
    pub fn set(&self, session_id: &str, max_age: Option<Duration>) -> Result<HeaderValue> {
        psm_core::validate::session_id(session_id)?;
        let max_age = max_age.map(|d| d.as_secs().max(1));
        self.header(session_id, max_age)
    }

    /// The `Set-Cookie` value that removes the cookie from the client (`Max-Age=0`).
    pub fn clear(&self) -> HeaderValue {
        // The name and path were validated when configured, so this cannot fail; the fallback
        // still expires a default-named cookie rather than panic.
        self.header("", Some(0))
            .unwrap_or_else(|_| HeaderValue::from_static("psm_session=; Path=/; Max-Age=0"))
    }

    fn header(&self, value: &str, max_age: Option<u64>) -> Result<HeaderValue> {
        let mut text = format!("{}={value}; Path={}", self.name, self.path);
        if let Some(age) = max_age {
            text.push_str(&format!("; Max-Age={age}"));
        }
        text.push_str("; HttpOnly");
        if self.secure || self.same_site == SameSite::None {
            text.push_str("; Secure");
        }
        text.push_str("; SameSite=");
        text.push_str(self.same_site.as_str());
        HeaderValue::from_str(&text).map_err(|_| Error::InvalidCookie {
            name: self.name.clone(),
            reason: "not a valid header value",
        })
    }
}
