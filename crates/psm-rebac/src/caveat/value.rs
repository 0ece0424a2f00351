//! The typed conversion of JSON context values into CEL values by the declared parameter type
//! ([`CaveatType`]: `int`, `timestamp`, `list<string>`, `ipaddress`, ...): a value of the wrong
//! type is an error naming the parameter, never a silent coercion.

use std::collections::HashMap;
use std::sync::Arc;

use cel::Value as Cel;
use cel::objects::Key;
use serde_json::Value as Json;

use crate::schema::CaveatType;

/// How deep nested lists and maps may be in values.
const MAX_NESTING: usize = 16;

/// The typed conversion of JSON context values (`CaveatType` is the schema's parameter type).
impl CaveatType {
    /// Converts a JSON value to this type; `Err` says what was expected.
    pub(crate) fn convert(&self, v: &Json) -> Result<Cel, String> {
        self.convert_at(v, 0)
    }

    fn convert_at(&self, v: &Json, depth: usize) -> Result<Cel, String> {
        if depth > MAX_NESTING {
            return Err("value nested too deeply".to_owned());
        }
        let bad = |what: &str| Err(format!("expected {what}, got `{}`", clip(v)));
        match (self, v) {
            (Self::Any, _) => any(v, depth),
            (Self::Bool, Json::Bool(b)) => Ok(Cel::Bool(*b)),
            (Self::Int, Json::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Cel::Int(i)),
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Cel::Int(f as i64)),
                    _ => bad("an int"),
                },
            },
            (Self::Int, Json::String(s)) => s.parse().map(Cel::Int).or_else(|_| bad("an int")),
            (Self::Uint, Json::Number(n)) => {
                n.as_u64().map(Cel::UInt).map_or_else(|| bad("a uint"), Ok)
            }
            (Self::Uint, Json::String(s)) => s.parse().map(Cel::UInt).or_else(|_| bad("a uint")),
            (Self::Double, Json::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Cel::Float(f)),
                _ => bad("a finite double"),
            },
            (Self::Double, Json::String(s)) => match s.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Cel::Float(f)),
                _ => bad("a finite double"),
            },
            (Self::String, Json::String(s)) => Ok(Cel::String(Arc::new(s.clone()))),
            (Self::Bytes, Json::String(s)) => Ok(Cel::Bytes(Arc::new(s.as_bytes().to_vec()))),
            (Self::Duration, Json::String(s)) => match parse_duration(s) {
                Some(d) => Ok(Cel::Duration(d)),
                None => bad("a duration such as `1h30m`"),
            },
            (Self::Timestamp, Json::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
                Ok(t) => Ok(Cel::Timestamp(t)),
                Err(_) => bad("an RFC 3339 timestamp"),
            },
            (Self::IpAddress, Json::String(s)) => match super::ip::canonical(s) {
                Some(c) => Ok(Cel::String(Arc::new(c))),
                None => bad("an IP address"),
            },
            (Self::List(t), Json::Array(items)) => Ok(Cel::List(Arc::new(
                items
                    .iter()
                    .map(|x| t.convert_at(x, depth + 1))
                    .collect::<Result<_, _>>()?,
            ))),
            (Self::Map(t), Json::Object(m)) => {
                let mut out: HashMap<Key, Cel> = HashMap::with_capacity(m.len());
                for (k, x) in m {
                    out.insert(
                        Key::String(Arc::new(k.clone())),
                        t.convert_at(x, depth + 1)?,
                    );
                }
                Ok(Cel::Map(out.into()))
            }
            (t, _) => bad(&format!("a `{t}`")),
        }
    }
}

/// An untyped (`any`) JSON value as CEL.
fn any(v: &Json, depth: usize) -> Result<Cel, String> {
    if depth > MAX_NESTING {
        return Err("value nested too deeply".to_owned());
    }
    Ok(match v {
        Json::Null => Cel::Null,
        Json::Bool(b) => Cel::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Cel::Int(i),
            (None, Some(u), _) => Cel::UInt(u),
            (_, _, Some(f)) => Cel::Float(f),
            _ => return Err(format!("unsupported number `{n}`")),
        },
        Json::String(s) => Cel::String(Arc::new(s.clone())),
        Json::Array(a) => Cel::List(Arc::new(
            a.iter()
                .map(|x| any(x, depth + 1))
                .collect::<Result<_, _>>()?,
        )),
        Json::Object(m) => {
            let mut out: HashMap<Key, Cel> = HashMap::with_capacity(m.len());
            for (k, x) in m {
                out.insert(Key::String(Arc::new(k.clone())), any(x, depth + 1)?);
            }
            Cel::Map(out.into())
        }
    })
}

/// Parses a Go-style duration: `1h30m`, `10s`, `1.5h`, `250ms`.
pub(crate) fn parse_duration(s: &str) -> Option<chrono::Duration> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if rest.is_empty() || rest.len() > 64 {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest.get(..n)?.parse().ok()?;
        rest = rest.get(n..)?;
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match rest.get(..u)? {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = rest.get(u..)?;
        total += num * nanos_per;
    }
    if !total.is_finite() || total > 9.0e18 {
        return None;
    }
    let d = chrono::Duration::nanoseconds(total as i64);
    Some(if neg { -d } else { d })
}

fn clip(v: &Json) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}
