//! The `ipaddress` caveat / condition type: addresses travel as canonical strings (so `==` and
//! `!=` compare addresses), `ipaddress("10.0.0.1")` makes one from a literal, and
//! `ip.in_cidr("10.0.0.0/8")` tests membership of an IPv4 or IPv6 network. A malformed
//! address or network is an evaluation error, as in SpiceDB and OpenFGA, never `false`.

use std::net::IpAddr;
use std::sync::Arc;

use cel::extractors::This;
use cel::{ExecutionError, Value};

/// Adds `in_cidr` and `ipaddress` to a CEL context.
pub(super) fn register(ctx: &mut cel::Context<'_, '_>) -> Result<(), cel::DeclarationError> {
    ctx.add_function("in_cidr", in_cidr)?;
    ctx.add_function("ipaddress", ipaddress)
}

fn in_cidr(This(ip): This<Arc<String>>, cidr: Arc<String>) -> Result<Value, ExecutionError> {
    contains(&cidr, &ip).map(Value::Bool).ok_or_else(|| {
        ExecutionError::function_error(
            "in_cidr",
            format!("`{cidr}` is not a network or `{ip}` not an address"),
        )
    })
}

fn ipaddress(text: Arc<String>) -> Result<Value, ExecutionError> {
    canonical(&text)
        .map(|s| Value::String(Arc::new(s)))
        .ok_or_else(|| {
            ExecutionError::function_error("ipaddress", format!("`{text}` is not an IP address"))
        })
}

/// The canonical text of an IP address (so that equal addresses are equal strings).
pub(super) fn canonical(text: &str) -> Option<String> {
    text.trim().parse::<IpAddr>().ok().map(|a| a.to_string())
}

/// Whether network `cidr` (`a.b.c.d/n`, `x::/n`, or a bare address) contains `ip` (never
/// across families); `None` when either does not parse.
pub(super) fn contains(cidr: &str, ip: &str) -> Option<bool> {
    let ip: IpAddr = ip.trim().parse().ok()?;
    let (net, bits) = match cidr.trim().split_once('/') {
        Some((n, b)) => (n.parse::<IpAddr>().ok()?, Some(b.parse::<u32>().ok()?)),
        None => (cidr.trim().parse::<IpAddr>().ok()?, None),
    };
    Some(match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32);
            if bits > 32 {
                return None;
            }
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128);
            if bits > 128 {
                return None;
            }
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::contains;

    #[test]
    fn cidr_membership() {
        assert_eq!(contains("10.0.0.0/8", "10.2.3.4"), Some(true));
        assert_eq!(contains("10.1.0.0/16", "10.2.3.4"), Some(false));
        assert_eq!(contains("10.1.0.0/16", "10.1.3.4"), Some(true));
        assert_eq!(contains("0.0.0.0/0", "1.2.3.4"), Some(true));
        assert_eq!(contains("2001:db8::/32", "2001:db8::1"), Some(true));
        assert_eq!(contains("2001:db8::/32", "10.1.3.4"), Some(false));
        assert_eq!(contains("10.0.0.0/33", "10.1.3.4"), None);
    }
}
