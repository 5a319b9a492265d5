//! The core error type. Every failure carries a kind (stable, mapped one-to-one onto the C
//! `ot_result` codes, from the one list in this file) and a human-readable detail that never
//! contains secret material.

use std::fmt;

/// Declares [`ErrorKind`] and its table from the one list below.
macro_rules! error_table {
    ($($(#[doc = $doc:literal])* $kind:ident = $code:literal, $c_name:ident, $text:literal;)*) => {
        /// What went wrong, independently of the detail text. Each kind is one C `ot_result`
        /// code (its number, C name and short text are in [`ErrorKind::code`], [`ErrorKind::c_name`]
        /// and [`ErrorKind::text`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[doc = $doc])* $kind,)*
        }

        impl ErrorKind {
            /// Every kind, in code order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind),*];

            /// The kind's `ot_result` code (never renumbered; new codes are appended).
            pub const fn code(self) -> i32 {
                match self {
                    $(ErrorKind::$kind => $code,)*
                }
            }

            /// The C name of the kind's code (`OT_ERR_…`).
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => stringify!($c_name),)*
                }
            }

            /// The short, static text of the code (`ot_result_str`), NUL-terminated for C.
            pub const fn text_nul(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => concat!($text, "\0"),)*
                }
            }

            /// The short, static text of the code (`ot_result_str`).
            pub fn text(self) -> &'static str {
                self.text_nul().trim_end_matches('\0')
            }

            /// The kind of an `ot_result` code, if it names one.
            pub fn from_code(code: i32) -> Option<ErrorKind> {
                Self::ALL.iter().copied().find(|k| k.code() == code)
            }
        }
    };
}

// THE ONE LIST of failure kinds. Everything else is derived from it: this `ErrorKind`, the C
// `ot_result` enum and `OT_RESULT_MAX` (build.rs reads this block and generates them for the
// header), `ot_result_str`, and the mapping between the two. A new kind is one line here, with
// the next code number (codes are never renumbered), plus its Python class in
// python/ot_transport/_errors.py (python/tests fail until it exists). Format, one entry per
// kind: doc lines, then `Kind = code, OT_ERR_NAME, "short text";`.
error_table! {
    /// A required pointer argument was NULL (C API only).
    NullArgument = 1, OT_ERR_NULL_ARGUMENT, "NULL argument";
    /// An argument is out of range or inconsistent (size, enum value, NUL in text, wrong key type).
    InvalidArgument = 2, OT_ERR_INVALID_ARGUMENT, "invalid argument";
    /// Input bytes or text do not have the expected structure (armor, envelope, signed text, ID).
    Malformed = 3, OT_ERR_MALFORMED, "malformed input";
    /// Key material is in no supported format, or unusable (size, inconsistent components).
    KeyFormat = 4, OT_ERR_KEY_FORMAT, "unsupported or invalid key format";
    /// The passphrase is missing or wrong.
    BadPassphrase = 5, OT_ERR_BAD_PASSPHRASE, "missing or wrong passphrase";
    /// An envelope could not be opened. Uniform on purpose: it never says which step failed.
    DecryptFailed = 6, OT_ERR_DECRYPT_FAILED, "decryption failed";
    /// The envelope has no entry for the given NymID (and no empty-ID fallback entry).
    NoMatchingRecipient = 7, OT_ERR_NO_MATCHING_RECIPIENT, "no matching recipient in envelope";
    /// A signature did not verify with the given key.
    BadSignature = 8, OT_ERR_BAD_SIGNATURE, "bad signature";
    /// A network operation did not complete in the configured time.
    Timeout = 9, OT_ERR_TIMEOUT, "timed out";
    /// ZeroMQ or the peer failed (socket error, unexpected reply).
    Transport = 10, OT_ERR_TRANSPORT, "transport failure";
    /// A bug or an environment failure (RNG unavailable, caught panic).
    Internal = 11, OT_ERR_INTERNAL, "internal error";
    /// The call is not valid in the object's current state (e.g. no identity set yet).
    State = 12, OT_ERR_STATE, "invalid state for this call";
    /// The input uses a recognised but unsupported feature (cipher, hash type).
    Unsupported = 13, OT_ERR_UNSUPPORTED, "unsupported feature";
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
    fn the_error_table_is_consistent() {
        let codes: Vec<i32> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        // Codes are 1, 2, … in order, with no gap (0 is OT_OK).
        assert_eq!(codes, (1..=codes.len() as i32).collect::<Vec<_>>());
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
            assert!(k.c_name().starts_with("OT_ERR_"), "{k:?}");
            assert!(!k.text().is_empty() && !k.text().contains('\0'));
        }
        assert_eq!(ErrorKind::from_code(0), None);
    }

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
