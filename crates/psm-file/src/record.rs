//! The record file format: one JSON object per session followed by a checksum trailer, so that a
//! truncated or damaged file is always detected (and reported as `Error::Corrupt`).
//!
//! ```text
//! {"v":1,"session_id":"s1","user_id":"u1","permissions":["read"],"created_at":..,"updated_at":..,"expires_at":..,"metadata":{}}
//! #psm-file len=123 sha256=0123456789abcdef
//! ```

use psm_core::{PermissionSet, Session, Timestamp, validate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::layout::{hex, record_stem};

const TRAILER: &[u8] = b"\n#psm-file len=";
const RECORD_VERSION: u64 = 1;

/// A session as the cache holds it: permissions compiled once, the id kept as the map key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub user_id: Box<str>,
    pub perms: PermissionSet,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub metadata: serde_json::Value,
    /// Size of the record file in bytes.
    pub bytes: u64,
}

impl Entry {
    /// An owned `Session` (never aliasing the cache).
    pub(crate) fn to_session(&self, session_id: &str) -> Session {
        Session {
            session_id: session_id.to_owned(),
            user_id: self.user_id.to_string(),
            permissions: self.perms.to_vec(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            metadata: self.metadata.clone(),
        }
    }
}

#[derive(Serialize)]
struct RecordOut<'a> {
    v: u64,
    session_id: &'a str,
    user_id: &'a str,
    permissions: Vec<&'a str>,
    created_at: Timestamp,
    updated_at: Timestamp,
    expires_at: Option<Timestamp>,
    metadata: &'a serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordIn {
    v: u64,
    session_id: String,
    user_id: String,
    permissions: Vec<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    expires_at: Option<Timestamp>,
    metadata: serde_json::Value,
}

fn checksum(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    hex(&digest[..8])
}

/// Encodes a record file (body and trailer).
pub(crate) fn encode(session_id: &str, entry: &Entry) -> Vec<u8> {
    let out = RecordOut {
        v: RECORD_VERSION,
        session_id,
        user_id: &entry.user_id,
        permissions: entry.perms.iter().collect(),
        created_at: entry.created_at,
        updated_at: entry.updated_at,
        expires_at: entry.expires_at,
        metadata: &entry.metadata,
    };
    // Serialising plain strings, integers and a `Value` cannot fail; fall back to an empty body
    // (which decodes as corrupt) rather than panic.
    let mut bytes = serde_json::to_vec(&out).unwrap_or_default();
    let len = bytes.len();
    let sum = checksum(&bytes);
    bytes.extend_from_slice(TRAILER);
    bytes.extend_from_slice(format!("{len} sha256={sum}\n").as_bytes());
    bytes
}

/// Decodes and verifies a record file whose name has stem `stem`. The error is the reason it
/// is corrupt (the caller adds the path).
pub(crate) fn decode(stem: &str, bytes: &[u8]) -> Result<(String, Entry), String> {
    let at = bytes
        .windows(TRAILER.len())
        .rposition(|w| w == TRAILER)
        .ok_or("truncated: the checksum trailer is missing")?;
    let body = &bytes[..at];
    let trailer = std::str::from_utf8(&bytes[at + TRAILER.len()..])
        .map_err(|_| "the trailer is not UTF-8")?;
    let (len, sum) = trailer
        .trim_end_matches('\n')
        .split_once(" sha256=")
        .ok_or("malformed trailer")?;
    if len.parse::<usize>().ok() != Some(body.len()) {
        return Err(format!(
            "truncated: body is {} bytes, trailer says {len}",
            body.len()
        ));
    }
    if sum != checksum(body) {
        return Err("checksum mismatch".to_owned());
    }
    let rec: RecordIn =
        serde_json::from_slice(body).map_err(|e| format!("invalid record JSON: {e}"))?;
    if rec.v != RECORD_VERSION {
        return Err(format!("unsupported record version {}", rec.v));
    }
    validate::session_id(&rec.session_id).map_err(|e| e.to_string())?;
    if record_stem(&rec.session_id) != stem {
        return Err("the session id inside does not hash to this file name".to_owned());
    }
    validate::user_id(&rec.user_id).map_err(|e| e.to_string())?;
    if !rec.metadata.is_object() {
        return Err("metadata is not a JSON object".to_owned());
    }
    let perms =
        PermissionSet::new_bounded(&rec.permissions, usize::MAX).map_err(|e| e.to_string())?;
    let entry = Entry {
        user_id: rec.user_id.into_boxed_str(),
        perms,
        created_at: rec.created_at,
        updated_at: rec.updated_at,
        expires_at: rec.expires_at,
        metadata: rec.metadata,
        bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
    };
    Ok((rec.session_id, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry {
            user_id: "Zoë".into(),
            perms: PermissionSet::new(["read", "admin:*"]).unwrap(),
            created_at: Timestamp::from_millis(1),
            updated_at: Timestamp::from_millis(2),
            expires_at: Some(Timestamp::from_millis(3)),
            metadata: serde_json::json!({"k": [1, 2]}),
            bytes: 0,
        }
    }

    #[test]
    fn records_round_trip() {
        let bytes = encode("s1", &sample());
        let (sid, entry) = decode(&record_stem("s1"), &bytes).unwrap();
        assert_eq!(sid, "s1");
        assert_eq!(entry.bytes, bytes.len() as u64);
        assert_eq!(Entry { bytes: 0, ..entry }, sample());
    }

    #[test]
    fn every_truncation_and_any_flipped_byte_is_detected() {
        let bytes = encode("s1", &sample());
        let stem = record_stem("s1");
        for cut in 0..bytes.len() - 1 {
            assert!(decode(&stem, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() - 1 {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(decode(&stem, &bad).is_err(), "flip at {i}");
        }
    }

    #[test]
    fn a_record_under_another_ids_name_is_rejected() {
        let bytes = encode("s1", &sample());
        let err = decode(&record_stem("s2"), &bytes).unwrap_err();
        assert!(err.contains("hash"), "{err}");
    }
}
