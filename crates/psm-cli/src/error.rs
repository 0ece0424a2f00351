//! The CLI's error type and its exit codes: 2 for usage or input errors, 3 for backend errors;
//! and [`Outcome`], the answer of a command that ran (0 allowed or done, 1 denied or not found).

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

/// Every failure of a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// Bad usage or bad input (a schema, a relationship, a permission, a file): exit code 2.
    #[error("{0}")]
    Input(String),
    /// The store failed or could not be reached: exit code 3.
    #[error("{0}")]
    Backend(String),
}

impl CliError {
    /// An input error.
    pub fn input(message: impl Into<String>) -> Self {
        CliError::Input(message.into())
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Backend(_) => 3,
        }
    }

    /// `input` or `backend`, for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Input(_) => "input",
            CliError::Backend(_) => "backend",
        }
    }
}

impl From<psm_core::Error> for CliError {
    fn from(e: psm_core::Error) -> Self {
        use psm_core::Error as E;
        let input = e.is_invalid_input()
            || matches!(
                e,
                E::UnknownScheme { .. } | E::InvalidHierarchy { .. } | E::QuotaExceeded { .. }
            );
        if input {
            CliError::Input(e.to_string())
        } else {
            CliError::Backend(e.to_string())
        }
    }
}

impl From<psm_rebac::Error> for CliError {
    fn from(e: psm_rebac::Error) -> Self {
        match e {
            psm_rebac::Error::Store(_) => CliError::Backend(e.to_string()),
            _ => CliError::Input(e.to_string()),
        }
    }
}

impl From<psm_acl::Error> for CliError {
    fn from(e: psm_acl::Error) -> Self {
        match e {
            psm_acl::Error::Io { .. } => CliError::Backend(e.to_string()),
            _ => CliError::Input(e.to_string()),
        }
    }
}
