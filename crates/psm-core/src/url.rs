//! Store URLs (`memory://`, `file:///dir`, `redis://`, `postgres://`, ...) with typed query options.
//!
//! Backends take the options they know with the typed `take_*` getters and then call
//! [`StoreUrl::finish`], which rejects any option nobody took, so a typo never passes silently.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::duration::parse_duration;
use crate::error::{Error, Result};

/// URL schemes psm knows (third-party schemes are accepted by the parser too).
pub const KNOWN_SCHEMES: &[&str] = &[
    "memory",
    "file",
    "redis",
    "rediss",
    "redis+cluster",
    "rediss+cluster",
    "postgres",
    "postgresql",
    "sqlite",
    "mysql",
    "mariadb",
];

/// A parsed store URL: scheme, target (what follows `scheme:` up to `?`) and options.
///
/// ```
/// use psm_core::StoreUrl;
/// use std::time::Duration;
/// let mut url = StoreUrl::parse("redis://127.0.0.1:6379/0?key_prefix=app:&timeout=250ms").unwrap();
/// assert_eq!(url.scheme(), "redis");
/// assert_eq!(url.take_string("key_prefix").unwrap().as_deref(), Some("app:"));
/// assert_eq!(url.take_duration("timeout").unwrap(), Some(Duration::from_millis(250)));
/// url.finish().unwrap();
/// assert_eq!(url.without_options(), "redis://127.0.0.1:6379/0");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl {
    scheme: String,
    target: String,
    options: Vec<(String, String)>,
}

impl StoreUrl {
    /// Parses `url`. The scheme is lower-cased; options are percent-decoded; a repeated option
    /// is an error.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidUrl {
            url: redact(url),
            reason: reason.to_owned(),
        };
        if url.len() > 8 * 1024 {
            return Err(bad("longer than 8 KiB"));
        }
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(bad(
                "missing scheme (expected something like memory:// or redis://host)",
            ));
        };
        let valid_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return Err(bad(
                "the scheme must be a letter followed by letters, digits, '+', '-' or '.'",
            ));
        }
        if rest.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad("contains spaces or control characters"));
        }
        let (target, query) = match rest.split_once('?') {
            Some((t, q)) => (t, Some(q)),
            None => (rest, None),
        };
        let mut options: Vec<(String, String)> = Vec::new();
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k).map_err(|_| bad("option name is not UTF-8"))?;
            let v = decode(v).map_err(|_| bad("option value is not UTF-8"))?;
            if k.is_empty() {
                return Err(bad("an option has an empty name"));
            }
            if options.iter().any(|(seen, _)| *seen == k) {
                return Err(bad(&format!("option {k:?} is given twice")));
            }
            options.push((k, v));
        }
        Ok(StoreUrl {
            scheme: scheme.to_ascii_lowercase(),
            target: target.to_owned(),
            options,
        })
    }

    /// The lower-cased scheme (`redis`, `redis+cluster`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// What follows `scheme:` up to the query (`//host:port/db`, `///abs/dir`, `:memory:`).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// `scheme:target`, without the options psm understands (for handing to a driver).
    pub fn without_options(&self) -> String {
        format!("{}:{}", self.scheme, self.target)
    }

    /// The URL without options and with any password replaced by `***`, for logs and errors.
    pub fn redacted(&self) -> String {
        redact(&self.without_options())
    }

    /// The options nobody has taken yet.
    pub fn remaining_options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The comma-separated `host:port` list after `//` (as `redis+cluster://h1:p1,h2:p2` uses).
    pub fn hosts(&self) -> Result<Vec<String>> {
        let authority = self
            .target
            .strip_prefix("//")
            .map(|a| a.split('/').next().unwrap_or(""))
            .unwrap_or("");
        let authority = authority
            .rsplit_once('@')
            .map_or(authority, |(_, hosts)| hosts);
        let hosts: Vec<String> = authority
            .split(',')
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        if hosts.is_empty() {
            return Err(self.invalid("no host given"));
        }
        Ok(hosts)
    }

    /// The directory of a `file:` URL: `file:///abs/dir` or `file:rel/dir` (percent-decoded).
    pub fn file_path(&self) -> Result<PathBuf> {
        let raw = match self.target.strip_prefix("//") {
            Some(rest) => {
                // file://localhost/abs or file:///abs
                let rest = rest.strip_prefix("localhost").unwrap_or(rest);
                if !rest.starts_with('/') {
                    return Err(self.invalid("use file:///absolute/dir or file:relative/dir"));
                }
                rest
            }
            None => self.target.as_str(),
        };
        let path = decode(raw).map_err(|_| self.invalid("the path is not UTF-8"))?;
        if path.is_empty() {
            return Err(self.invalid("the path is empty"));
        }
        if path.contains('\0') {
            return Err(self.invalid("the path contains a NUL byte"));
        }
        Ok(PathBuf::from(path))
    }

    /// Removes and returns option `key` as text.
    pub fn take_string(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .options
            .iter()
            .position(|(k, _)| k == key)
            .map(|i| self.options.remove(i).1))
    }

    /// Removes and returns option `key` as an unsigned integer.
    pub fn take_u64(&mut self, key: &str) -> Result<Option<u64>> {
        match self.take_string(key)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| self.invalid(&format!("option {key}={v:?} is not a whole number"))),
        }
    }

    /// Removes and returns option `key` as a `usize`.
    pub fn take_usize(&mut self, key: &str) -> Result<Option<usize>> {
        match self.take_u64(key)? {
            None => Ok(None),
            Some(v) => usize::try_from(v)
                .map(Some)
                .map_err(|_| self.invalid(&format!("option {key}={v} is too large"))),
        }
    }

    /// Removes and returns option `key` as a boolean (`true/false/1/0/yes/no/on/off`).
    pub fn take_bool(&mut self, key: &str) -> Result<Option<bool>> {
        match self.take_string(key)? {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Some(true)),
                "false" | "0" | "no" | "off" => Ok(Some(false)),
                _ => Err(self.invalid(&format!("option {key}={v:?} is not a boolean"))),
            },
        }
    }

    /// Removes and returns option `key` as a duration in psm's one syntax
    /// ([`parse_duration`]: `250ms`, `5s`, `1.5h`, `1h30m`, `2w`, or bare seconds).
    /// `0`/`none`/`off` give `Duration::ZERO`.
    pub fn take_duration(&mut self, key: &str) -> Result<Option<Duration>> {
        match self.take_string(key)? {
            None => Ok(None),
            Some(v) if matches!(v.trim(), "none" | "off") => Ok(Some(Duration::ZERO)),
            Some(v) => parse_duration(&v)
                .map(Some)
                .map_err(|e| self.invalid(&format!("option {key}={v:?}: {e}"))),
        }
    }

    /// Fails if any option was not taken: unknown options are errors, never ignored.
    pub fn finish(&self) -> Result<()> {
        match self.options.first() {
            None => Ok(()),
            Some((k, _)) => {
                Err(self.invalid(&format!("unknown option {k:?} for scheme {}", self.scheme)))
            }
        }
    }

    /// An [`Error::InvalidUrl`] about this URL.
    pub fn invalid(&self, reason: &str) -> Error {
        Error::InvalidUrl {
            url: self.redacted(),
            reason: reason.to_owned(),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreUrl")
            .field("url", &self.redacted())
            .field("options", &self.options)
            .finish()
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for StoreUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

fn decode(s: &str) -> std::result::Result<String, std::str::Utf8Error> {
    percent_decode_str(s).decode_utf8().map(|c| c.into_owned())
}

/// Replaces the password of `scheme://user:password@host` with `***`.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let authority = &url[start..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..start],
                &authority[..colon],
                &url[start + at..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_scheme_parses() {
        for url in [
            "memory://",
            "file:///var/lib/psm",
            "file:rel/dir",
            "redis://127.0.0.1:6379/0",
            "rediss://user:pw@host:6380",
            "redis+cluster://h1:7001,h2:7002",
            "postgres://postgres@127.0.0.1/test",
            "sqlite://file.db",
            "sqlite::memory:",
            "mysql://root@127.0.0.1:3306/test",
        ] {
            StoreUrl::parse(url).unwrap();
        }
    }

    #[test]
    fn file_paths_absolute_and_relative() {
        assert_eq!(
            StoreUrl::parse("file:///abs/dir")
                .unwrap()
                .file_path()
                .unwrap(),
            PathBuf::from("/abs/dir")
        );
        assert_eq!(
            StoreUrl::parse("file:rel/dir")
                .unwrap()
                .file_path()
                .unwrap(),
            PathBuf::from("rel/dir")
        );
        assert!(
            StoreUrl::parse("file://host/dir")
                .unwrap()
                .file_path()
                .is_err()
        );
    }

    #[test]
    fn cluster_hosts_split_on_commas() {
        let url = StoreUrl::parse("redis+cluster://h1:7001,h2:7002/?timeout=1s").unwrap();
        assert_eq!(url.hosts().unwrap(), vec!["h1:7001", "h2:7002"]);
    }

    #[test]
    fn unknown_and_malformed_options_are_errors_naming_the_option() {
        let mut url = StoreUrl::parse("memory://?max_sessions=ten&typo=1").unwrap();
        let err = url.take_u64("max_sessions").unwrap_err().to_string();
        assert!(err.contains("max_sessions"), "{err}");
        let err = url.finish().unwrap_err().to_string();
        assert!(err.contains("typo"), "{err}");
        assert!(StoreUrl::parse("memory://?a=1&a=2").is_err());
        assert!(StoreUrl::parse("no-scheme").is_err());
    }

    #[test]
    fn passwords_never_show() {
        let url = StoreUrl::parse("redis://user:secret@host:6379/0").unwrap();
        assert!(!url.to_string().contains("secret"));
        let err = StoreUrl::parse("redis://user:secret@host:6379/0?x=1&x=2").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn durations_use_the_one_syntax() {
        let mut url =
            StoreUrl::parse("memory://?a=250ms&b=1.5h&c=1h30m&d=off&e=0&f=x&g=101y").unwrap();
        assert_eq!(
            url.take_duration("a").unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            url.take_duration("b").unwrap(),
            Some(Duration::from_secs(5_400))
        );
        assert_eq!(
            url.take_duration("c").unwrap(),
            Some(Duration::from_secs(5_400))
        );
        assert_eq!(url.take_duration("d").unwrap(), Some(Duration::ZERO));
        assert_eq!(url.take_duration("e").unwrap(), Some(Duration::ZERO));
        let err = url.take_duration("f").unwrap_err().to_string();
        assert!(err.contains("f=\"x\""), "{err}");
        assert!(url.take_duration("g").is_err());
    }
}
