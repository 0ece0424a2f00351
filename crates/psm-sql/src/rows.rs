//! Decoding stored values: text columns per driver (MySQL ids are VARBINARY), the packed
//! permission list, millisecond timestamps and the metadata object. Anything undecodable is
//! `Error::Corrupt`, never a silent default.

use psm_core::{Error, PermissionSet, Result, Timestamp};
use sqlx::Row;

/// Reads a text column as a `String`, whatever the driver's column type for it.
pub(crate) trait TextColumn {
    fn text(&self, index: usize) -> Result<String, sqlx::Error>;
}

#[cfg(feature = "postgres")]
impl TextColumn for sqlx::postgres::PgRow {
    fn text(&self, index: usize) -> Result<String, sqlx::Error> {
        self.try_get(index)
    }
}

#[cfg(feature = "sqlite")]
impl TextColumn for sqlx::sqlite::SqliteRow {
    fn text(&self, index: usize) -> Result<String, sqlx::Error> {
        self.try_get(index)
    }
}

#[cfg(feature = "mysql")]
impl TextColumn for sqlx::mysql::MySqlRow {
    fn text(&self, index: usize) -> Result<String, sqlx::Error> {
        // VARBINARY and *_bin columns carry the BINARY flag, which sqlx refuses for String.
        let bytes: Vec<u8> = self.try_get(index)?;
        String::from_utf8(bytes).map_err(|e| sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: Box::new(e),
        })
    }
}

/// Packs validated permissions for storage: single spaces between grants.
pub(crate) fn pack_permissions(set: &PermissionSet) -> String {
    let mut out = String::new();
    for (i, grant) in set.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(grant);
    }
    out
}

/// Compiles a stored permission list; a grant outside the grammar means the row is corrupt.
pub(crate) fn unpack_permissions(
    packed: &str,
    location: impl FnOnce() -> String,
) -> Result<PermissionSet> {
    PermissionSet::new(packed.split(' ').filter(|g| !g.is_empty())).map_err(|e| Error::Corrupt {
        location: location(),
        reason: format!("stored permission list: {e}"),
    })
}

/// A timestamp for binding: milliseconds as a signed 64-bit integer.
pub(crate) fn to_db(ts: Timestamp) -> i64 {
    i64::try_from(ts.as_millis()).unwrap_or(i64::MAX)
}

/// A stored timestamp; negative values are corrupt.
pub(crate) fn from_db(ms: i64, location: impl FnOnce() -> String) -> Result<Timestamp> {
    u64::try_from(ms)
        .map(Timestamp::from_millis)
        .map_err(|_| Error::Corrupt {
            location: location(),
            reason: format!("negative timestamp {ms}"),
        })
}

/// A stored metadata object.
pub(crate) fn metadata_from_db(
    text: &str,
    location: impl Fn() -> String,
) -> Result<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Corrupt {
        location: location(),
        reason: format!("metadata is not JSON: {e}"),
    })?;
    if !value.is_object() {
        return Err(Error::Corrupt {
            location: location(),
            reason: "metadata is not a JSON object".to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_round_trip_through_the_packed_form() {
        let set = PermissionSet::new(["b", "a", "x:*", "q'\";--\\"]).unwrap();
        let packed = pack_permissions(&set);
        assert_eq!(packed, "b a x:* q'\";--\\");
        let back = unpack_permissions(&packed, String::new).unwrap();
        assert_eq!(back.to_vec(), set.to_vec());
        assert!(unpack_permissions("", String::new).unwrap().is_empty());
    }

    #[test]
    fn undecodable_values_are_corrupt() {
        assert!(matches!(
            unpack_permissions("ok a::b", || "row".into()),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            from_db(-1, || "row".into()),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            metadata_from_db("[1]", || "row".into()),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            metadata_from_db("{", || "row".into()),
            Err(Error::Corrupt { .. })
        ));
    }
}
