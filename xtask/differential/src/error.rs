//! Why a differential run could not compare: a file or program that failed, or an engine that
//! answered something unreadable. (Disagreements are results, not errors.)

use std::path::Path;

/// A failure of the harness itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing or starting something failed.
    #[error("{what}: {source}")]
    Io {
        /// The file or program.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A real engine's driver failed or answered in a shape the harness cannot read.
    #[error("{0}")]
    Engine(String),
    /// psm's SQLite store could not be opened.
    #[error("sqlite store: {0}")]
    Store(String),
}

impl Error {
    /// An I/O error about `what`.
    pub fn io(what: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.as_ref().display().to_string(),
            source,
        }
    }
}
