//! Reading relationships and schemas from the command line and from files, with errors that
//! name the file, line and column.

use std::path::Path;

use psm_rebac::{Error as RebacError, Relationship, Schema};

use crate::error::CliError;
pub use psm_server::render::{at_line, schema_error};

/// The largest schema or relationship file read whole (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Parses one relationship given on the command line (`argument N` in errors).
pub fn relationship_arg(text: &str, index: usize) -> Result<Relationship, CliError> {
    text.parse::<Relationship>()
        .map_err(|e| CliError::input(format!("argument {}: {e}", index + 1)))
}

/// Parses one line of a relationships file. `None` for a blank line or a `//` comment.
pub fn relationship_line(line: &str) -> Option<Result<Relationship, (usize, RebacError)>> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with("//") {
        return None;
    }
    Some(trimmed.parse::<Relationship>().map_err(|e| {
        let column = error_column(line, &e);
        (column, e)
    }))
}

/// The 1-based column an error points at: the offending value when the error names one that
/// occurs in the line, else the first non-blank character.
pub fn error_column(line: &str, e: &RebacError) -> usize {
    let start = line.len() - line.trim_start().len();
    let offset = match e {
        RebacError::InvalidName { value, .. } if !value.is_empty() => {
            line[start..].find(value.as_str()).map(|i| start + i)
        }
        RebacError::UnknownType { object_type } => line[start..]
            .find(&format!("{object_type}:"))
            .map(|i| start + i),
        RebacError::UnknownRelation { relation, .. } => line[start..]
            .find(&format!("#{relation}"))
            .map(|i| start + i + 1),
        _ => None,
    }
    .unwrap_or(start);
    line[..offset].chars().count() + 1
}

/// Reads a whole text file (or stdin for `-`), bounded by [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String, CliError> {
    use std::io::Read;
    let mut text = String::new();
    let shown = path.display();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
    };
    let n = read.map_err(|e| CliError::input(format!("cannot read {shown}: {e}")))?;
    if n as u64 > MAX_FILE_BYTES {
        return Err(CliError::input(format!(
            "{shown} is larger than {} MiB",
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(text)
}

/// The schema languages `psm rebac schema validate` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The SpiceDB schema language (`definition`, `relation`, `permission`).
    Spicedb,
    /// The OpenFGA DSL, schema 1.1.
    Openfga,
    /// An OpenFGA JSON authorization model.
    OpenfgaJson,
    /// dj_magister's JSON schema.
    Json,
}

/// Parses a schema; errors read `SOURCE:LINE:COLUMN: message`. An OpenFGA JSON model must also
/// be expressible in the OpenFGA DSL (direct assignment only as the whole definition, a child of a
/// top-level union or intersection, or the base of a top-level difference), as OpenFGA's own
/// JSON-to-DSL validation and `psm validate`'s language cases require.
pub fn parse_schema(text: &str, format: Format, source: &str) -> Result<Schema, CliError> {
    let parsed = match format {
        Format::Spicedb => Schema::parse_spicedb(text),
        Format::Openfga => Schema::parse_openfga(text),
        Format::OpenfgaJson => Schema::parse_openfga_json(text).and_then(|s| {
            psm_rebac::schema::openfga_json::check_dsl_expressible(&s)?;
            Ok(s)
        }),
        Format::Json => Schema::parse_json(text),
    };
    parsed.map_err(|e| schema_error(source, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_object_id_points_at_its_column() {
        let line = "  document:bad id#reader@user:alice";
        let Some(Err((col, _))) = relationship_line(line) else {
            panic!("expected an error");
        };
        assert_eq!(col, 12);
    }

    #[test]
    fn blank_lines_and_comments_are_skipped() {
        assert!(relationship_line("   ").is_none());
        assert!(relationship_line("// a comment").is_none());
        assert!(matches!(
            relationship_line("document:a#reader@user:b"),
            Some(Ok(_))
        ));
    }

    #[test]
    fn schema_errors_carry_line_and_column() {
        let err = parse_schema(
            "definition user {}\ndefinition doc {\n  relation r: nope\n}",
            Format::Spicedb,
            "s.zed",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("s.zed:3:"), "{msg}");
    }
}
