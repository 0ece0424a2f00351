//! The CLI's error (psm-server's, whose kind decides the exit code: 2 for usage or input
//! errors, 3 for backend errors) and [`Outcome`], the answer of a command that ran (0 allowed or
//! done, 1 denied or not found).

/// What a command that ran to the end answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed, or done: exit code 0.
    Done,
    /// Denied, or the thing asked about does not exist: exit code 1.
    Denied,
}

impl Outcome {
    /// `Done` when `yes`, `Denied` otherwise.
    pub fn from_bool(yes: bool) -> Self {
        if yes { Outcome::Done } else { Outcome::Denied }
    }
}

/// Every failure of a command: the server's error, whose kind decides the exit code (see
/// `psm_core::ErrorKind`).
pub use psm_server::Error as CliError;
