//! `generate_session_id`: 128 bits from the operating system's RNG, URL-safe base64.

use base64::Engine;

use crate::error::{Error, Result};

/// A new random session id: 22 characters of URL-safe base64 (128 bits from the OS RNG),
/// valid under the session id rules.
///
/// ```
/// let id = psm_core::generate_session_id().unwrap();
/// assert_eq!(id.len(), 22);
/// psm_core::validate::session_id(&id).unwrap();
/// ```
pub fn generate_session_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Backend {
        backend: "os-rng",
        message: format!("the operating system's random number generator failed: {e}"),
        source: None,
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_distinct_and_valid() {
        let a = super::generate_session_id().unwrap();
        let b = super::generate_session_id().unwrap();
        assert_ne!(a, b);
        crate::validate::session_id(&a).unwrap();
    }
}
