//! TLS settings of `rediss://` connections: the private CA a [`RedisConfig`] may name
//! (`tls_ca_file`), read and checked before anything connects.

use psm_core::{Error, Result};

use crate::config::{RedisConfig, Servers};

/// Most bytes read from a CA file (a bundle of a few hundred certificates fits easily).
#[cfg(feature = "tls-rustls")]
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The PEM bytes of the configured CA file, or `None` when the configuration names none.
///
/// Fails with [`Error::InvalidUrl`] when a CA file is named but the servers are not all
/// `rediss://`, the `tls-rustls` feature is off, or the file cannot be read, is too large or
/// holds no PEM certificate.
pub(crate) fn ca_pem(config: &RedisConfig) -> Result<Option<Vec<u8>>> {
    let Some(path) = &config.tls_ca_file else {
        return Ok(None);
    };
    let invalid = |reason: String| Error::InvalidUrl {
        url: format!("{config:?}"),
        reason,
    };
    let all_tls = match &config.servers {
        Servers::Single(url) => is_tls(url),
        Servers::Cluster(nodes) => nodes.iter().all(|n| is_tls(n)),
    };
    if !all_tls {
        return Err(invalid(
            "tls_ca_file needs rediss:// (or rediss+cluster://) servers".to_owned(),
        ));
    }
    read_ca(path).map(Some).map_err(invalid)
}

fn is_tls(url: &str) -> bool {
    url.get(..9)
        .is_some_and(|s| s.eq_ignore_ascii_case("rediss://"))
}

#[cfg(feature = "tls-rustls")]
fn read_ca(path: &std::path::Path) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;

    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("tls_ca_file {shown}: {e}"))?;
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|e| format!("tls_ca_file {shown}: {e}"))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(format!(
            "tls_ca_file {shown}: larger than {MAX_CA_FILE_BYTES} bytes"
        ));
    }
    let mut count = 0usize;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|e| format!("tls_ca_file {shown}: not a PEM certificate file: {e}"))?;
        count += 1;
    }
    if count == 0 {
        return Err(format!(
            "tls_ca_file {shown}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(pem)
}

#[cfg(not(feature = "tls-rustls"))]
fn read_ca(_path: &std::path::Path) -> std::result::Result<Vec<u8>, String> {
    Err("tls_ca_file needs psm-redis's cargo feature tls-rustls".to_owned())
}

/// The driver's TLS settings trusting exactly the CA certificates in `pem`.
#[cfg(feature = "tls-rustls")]
pub(crate) fn certificates(pem: &[u8]) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    }
}

#[cfg(all(test, feature = "tls-rustls"))]
mod tests {
    use super::*;

    fn config_with(ca: &std::path::Path) -> RedisConfig {
        RedisConfig::new("rediss://127.0.0.1:6380").tls_ca_file(ca)
    }

    #[test]
    fn unreadable_empty_or_non_pem_ca_files_are_errors_naming_the_option() {
        let dir = std::env::temp_dir().join(format!("psm-redis-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, b"").unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(
            &junk,
            b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for path in [&missing, &empty, &junk] {
            let err = ca_pem(&config_with(path)).unwrap_err();
            assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
            assert!(err.to_string().contains("tls_ca_file"), "{err}");
        }
        let plain = RedisConfig::new("redis://127.0.0.1:6379").tls_ca_file(&empty);
        let err = ca_pem(&plain).unwrap_err().to_string();
        assert!(err.contains("rediss"), "{err}");
        assert!(ca_pem(&RedisConfig::new("rediss://h:1")).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
