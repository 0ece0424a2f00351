//! Bound values and decoded rows of the ReBAC store: values only ever reach SQL as binds, and
//! every row decodes into a `Relationship` or fails as corrupt.

use std::sync::Arc;

use psm_rebac::{CaveatRef, ObjectRef, Relationship, SubjectRef};
use sqlx::Row;

use crate::rows::TextColumn;

/// One value bound to a statement, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    /// A text value.
    Text(Arc<str>),
    /// A nullable text value.
    OptText(Option<Arc<str>>),
    /// A 64-bit integer.
    Int(i64),
    /// A nullable 64-bit integer.
    OptInt(Option<i64>),
}

/// Binds every value of `$binds` (an iterator of `&SqlValue`) to `$query`.
macro_rules! bind_values {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for value in $binds {
            query = match value {
                $crate::rebac::rows::SqlValue::Text(s) => query.bind(s.to_string()),
                $crate::rebac::rows::SqlValue::OptText(s) => {
                    query.bind(s.as_ref().map(|s| s.to_string()))
                }
                $crate::rebac::rows::SqlValue::Int(i) => query.bind(*i),
                $crate::rebac::rows::SqlValue::OptInt(i) => query.bind(*i),
            };
        }
        query
    }};
}
pub(crate) use bind_values;

/// Reads a nullable text column whatever the driver's type for it.
pub(crate) trait OptTextColumn {
    fn opt_text(&self, index: usize) -> Result<Option<String>, sqlx::Error>;
}

#[cfg(feature = "postgres")]
impl OptTextColumn for sqlx::postgres::PgRow {
    fn opt_text(&self, index: usize) -> Result<Option<String>, sqlx::Error> {
        self.try_get(index)
    }
}

#[cfg(feature = "sqlite")]
impl OptTextColumn for sqlx::sqlite::SqliteRow {
    fn opt_text(&self, index: usize) -> Result<Option<String>, sqlx::Error> {
        self.try_get(index)
    }
}

#[cfg(feature = "mysql")]
impl OptTextColumn for sqlx::mysql::MySqlRow {
    fn opt_text(&self, index: usize) -> Result<Option<String>, sqlx::Error> {
        let bytes: Option<Vec<u8>> = self.try_get(index)?;
        bytes
            .map(|b| {
                String::from_utf8(b).map_err(|e| sqlx::Error::ColumnDecode {
                    index: index.to_string(),
                    source: Box::new(e),
                })
            })
            .transpose()
    }
}

/// Decodes a row selected with `TUPLE_COLUMNS`.
pub(crate) fn relationship<R: TextColumn + OptTextColumn>(
    row: &R,
) -> Result<Relationship, sqlx::Error> {
    let subject_relation = row.text(5)?;
    let mut rel = Relationship::new(
        ObjectRef::new(row.text(0)?, row.text(1)?),
        row.text(2)?,
        SubjectRef {
            object: ObjectRef::new(row.text(3)?, row.text(4)?),
            relation: (!subject_relation.is_empty()).then(|| Arc::from(subject_relation)),
        },
    );
    if let Some(name) = row.opt_text(6)? {
        rel.caveat = Some(CaveatRef {
            name,
            context: row
                .opt_text(7)?
                .map(|text| {
                    psm_rebac::StoredContext::parse(&text).map_err(|err| {
                        sqlx::Error::ColumnDecode {
                            index: "7".to_owned(),
                            source: Box::new(err),
                        }
                    })
                })
                .transpose()?,
        });
    }
    rel.expiration = row
        .opt_text(8)?
        .map(|e| {
            psm_rebac::Expiration::parse(&e).map_err(|err| sqlx::Error::ColumnDecode {
                index: "8".to_owned(),
                source: Box::new(err),
            })
        })
        .transpose()?;
    Ok(rel)
}
