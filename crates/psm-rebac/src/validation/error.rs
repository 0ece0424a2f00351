//! Why a validation file could not be interpreted at all: typed, with `FILE:LINE`.

use std::fmt;
use std::path::PathBuf;

/// A 1-based line (and column, 0 when unknown) in a validation file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Line {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number, or 0 when only the line is known.
    pub column: usize,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column == 0 {
            write!(f, "{}", self.line.max(1))
        } else {
            write!(f, "{}:{}", self.line.max(1), self.column)
        }
    }
}

/// A file (or path) the runner cannot interpret. A file that loads but whose cases fail is
/// not an error: its failures are [`Outcome::Fail`](super::Outcome::Fail) cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A path given to the runner does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// A file or directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not YAML, or does not have the shape of any format the runner knows; or
    /// a field breaks the format's rule (unknown field, wrong type, bad tuple, bad model).
    #[error("{}:{at}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// Where in the file.
        at: Line,
        /// What is wrong, naming the field.
        message: String,
    },
}

impl ValidationError {
    /// A [`ValidationError::Format`] at `line` (1-based; column unknown).
    pub(crate) fn format(path: &std::path::Path, line: usize, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            at: Line { line, column: 0 },
            message: message.into(),
        }
    }

    /// A YAML decoding error of `path`, at the location the decoder reports.
    pub(crate) fn yaml(path: &std::path::Path, e: &serde_norway::Error) -> Self {
        let at = e.location().map_or(Line { line: 1, column: 0 }, |l| Line {
            line: l.line(),
            column: l.column(),
        });
        Self::Format {
            path: path.to_path_buf(),
            at,
            message: strip_location(&e.to_string()),
        }
    }
}

/// serde_norway appends " at line L column C" to its messages; the location is already in
/// the `FILE:LINE:COL` prefix.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}
