//! The core error type. Every failure carries a kind (stable, mapped one-to-one onto the C
//! `ot_result` codes) and a human-readable detail that never contains secret material.

use std::fmt;

/// What went wrong, independently of the detail text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument is out of range or inconsistent (bad size, NUL in text, empty list…).
    InvalidArgument,
    /// Input bytes or text do not have the expected structure.
    Malformed,
    /// Key material is not in any supported format, or is unusable (too small, wrong type).
    KeyFormat,
    /// The passphrase is missing or wrong.
    BadPassphrase,
    /// An envelope could not be opened. Deliberately uniform: no detail of *why*.
    DecryptFailed,
    /// The envelope has no entry for the given NymID (and no empty-ID fallback entry).
    NoMatchingRecipient,
    /// A signature did not verify.
    BadSignature,
    /// A network operation did not complete within its configured time.
    Timeout,
    /// ZeroMQ or the peer failed (socket error, unexpected reply kind).
    Transport,
    /// The operation is not valid in the object's current state (e.g. no identity set).
    State,
    /// A feature of the input is recognised but not supported.
    Unsupported,
    /// A bug or an environment failure (RNG unavailable, panic caught at the boundary).
    Internal,
}

/// Error with a kind and a detail message.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Creates an error of `kind` with a detail text.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error {
            kind,
            detail: detail.into(),
        }
    }
    /// The error kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The detail text (never contains secrets).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub(crate) fn invalid(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, d)
    }
    pub(crate) fn malformed(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, d)
    }
    pub(crate) fn key_format(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::KeyFormat, d)
    }
    pub(crate) fn unsupported(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, d)
    }
    pub(crate) fn internal(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, d)
    }
    /// The one error every envelope-open failure maps to, whatever failed inside.
    pub(crate) fn decrypt_failed() -> Self {
        Self::new(
            ErrorKind::DecryptFailed,
            "the envelope could not be opened with this key",
        )
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for Error {}
