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

/// Most characters of user input quoted in an error text; longer input is cut there and
/// followed by "…".
pub const MAX_QUOTED_CHARS: usize = 64;
/// Most bytes of an error detail, whatever it contains (a backstop behind [`quote`]).
pub const MAX_DETAIL_BYTES: usize = 1024;

/// `s` cut to [`MAX_QUOTED_CHARS`] characters, with "…" when something was cut off. For user
/// input shown as it is (a label, a type word).
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// `s` quoted and escaped as Rust's `{:?}` does, cut to [`MAX_QUOTED_CHARS`] characters of
/// input with "…" after the closing quote when something was cut off. Every error text that
/// quotes user input (INI lines and values, option names, endpoints, armor and PEM labels…)
/// goes through this, so a 10 MB value cannot become a 10 MB error text.
pub(crate) fn quote(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        None => format!("{s:?}"),
        Some((i, _)) => format!("{:?}…", &s[..i]),
    }
}

/// Caps a detail text at [`MAX_DETAIL_BYTES`] (on a character boundary, then "…").
fn cap_detail(mut d: String) -> String {
    if d.len() > MAX_DETAIL_BYTES {
        let mut i = MAX_DETAIL_BYTES;
        while !d.is_char_boundary(i) {
            i -= 1;
        }
        d.truncate(i);
        d.push('…');
    }
    d
}

impl Error {
    /// Creates an error of `kind` with a detail text (capped at [`MAX_DETAIL_BYTES`]).
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error {
            kind,
            detail: cap_detail(detail.into()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_input_is_capped() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(clip("abc"), "abc");
        let long = "é".repeat(10_000);
        let q = quote(&long);
        assert_eq!(q, format!("{:?}…", "é".repeat(MAX_QUOTED_CHARS)));
        assert_eq!(clip(&long), format!("{}…", "é".repeat(MAX_QUOTED_CHARS)));
        let exact = "x".repeat(MAX_QUOTED_CHARS);
        assert_eq!(quote(&exact), format!("{exact:?}"));
        let e = Error::invalid("y".repeat(1 << 20));
        assert!(e.detail().len() <= MAX_DETAIL_BYTES + '…'.len_utf8());
        let e = Error::invalid("é".repeat(1 << 12));
        assert!(e.detail().ends_with('…'));
    }
}
