//! OT ASCII armor (legacy `OTASCIIArmor`).
//!
//! Two payload paths, both ending in base64 written in 64-column lines, each ending `\n`:
//!
//! * **data path** (binary: envelopes, signatures, public keys): bytes → protobuf message with
//!   field 1 = bytes (`0A <varint len> <bytes>`) → base64;
//! * **string path** (text: messages, contracts, wallets): text → the same protobuf wrapping →
//!   zlib stream (RFC 1950) → base64.
//!
//! Armor can stand bare or between bookends:
//!
//! ```text
//! -----BEGIN OT ARMORED <TYPE>-----
//! Version: Open Transactions 0.90.b
//! Comment: http://github.com/FellowTraveler/Open-Transactions/wiki
//!
//! <base64 lines>
//! -----END OT ARMORED <TYPE>-----
//! ```
//!
//! and in the escaped form, where both bookend lines start with `- `.

mod base64;
mod pb;
mod zlib;

pub use self::base64::{decode_lenient as base64_decode, encode_lines as base64_encode_lines};
pub(crate) use pb::length_delimited_fields;
pub use pb::{pack_field1, unpack_field1};

use crate::error::{Error, Result};

/// Version string written in `Version:` lines. Readers ignore it; this is the last legacy
/// release whose wire format we reproduce.
pub const LEGACY_VERSION: &str = "0.90.b";
/// The `Comment:` line legacy OT writes under every bookend.
pub const COMMENT_LINE: &str = "Comment: http://github.com/FellowTraveler/Open-Transactions/wiki";

/// Most bytes a string-path payload may inflate to when no other limit is given: the stateless
/// functions ([`decode`], [`decode_body`], [`decode_any`], `ot_armor_decode`) use it. 64 MiB,
/// the same as the transport's default `max_message_size`. Inflating is streaming and stops at
/// the limit, so a zlib bomb costs at most about this much memory before it is refused
/// (`Malformed`).
pub const DEFAULT_MAX_INFLATED: usize = 64 * 1024 * 1024;
/// The hard ceiling of every inflate limit, whatever the caller asks for (e.g. a session with
/// `max_message_size = -1`).
pub const MAX_INFLATED: usize = 256 * 1024 * 1024;
/// Longest armor text accepted for decoding.
pub const MAX_ARMOR_TEXT: usize = 512 * 1024 * 1024;

/// Which packing path an armor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Binary payload: protobuf Blob, no compression.
    Data,
    /// Text payload: protobuf String, zlib-compressed.
    String,
}

/// Encodes `payload` as bare armor (base64 lines, no bookends).
pub fn encode(payload: &[u8], kind: Kind) -> Result<String> {
    match kind {
        Kind::Data => Ok(base64::encode_lines_parts(
            &pb::field1_header(payload.len()),
            payload,
        )),
        Kind::String => Ok(base64_encode_lines(&zlib::compress_parts(
            &pb::field1_header(payload.len()),
            payload,
        )?)),
    }
}

/// Encodes `payload` and wraps it in `-----BEGIN OT ARMORED <TYPE>-----` bookends.
pub fn encode_bookended(
    payload: &[u8],
    kind: Kind,
    armor_type: &str,
    escaped: bool,
) -> Result<String> {
    check_type(armor_type)?;
    Ok(write_bookends(&encode(payload, kind)?, armor_type, escaped))
}

/// Wraps an already-encoded body in bookends exactly as legacy `WriteArmoredString` did.
pub fn write_bookends(body: &str, armor_type: &str, escaped: bool) -> String {
    let esc = if escaped { "- " } else { "" };
    let mut s = String::with_capacity(body.len() + 200);
    s.push_str(esc);
    s.push_str("-----BEGIN OT ARMORED ");
    s.push_str(armor_type);
    s.push_str("-----\nVersion: Open Transactions ");
    s.push_str(LEGACY_VERSION);
    s.push('\n');
    s.push_str(COMMENT_LINE);
    s.push_str("\n\n");
    s.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(esc);
    s.push_str("-----END OT ARMORED ");
    s.push_str(armor_type);
    s.push_str("-----\n\n");
    s
}

/// Checks an armor/bookend type word: upper-case letters, digits and single spaces.
pub(crate) fn check_type(t: &str) -> Result<()> {
    let ok = !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' ' || c == b'_')
        && !t.starts_with(' ')
        && !t.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "armor type must be 1-64 characters of A-Z, 0-9, '_' and inner spaces (e.g. \"ENVELOPE\")",
        ))
    }
}

/// The parts of an armored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Armored {
    /// The bookend type (`ENVELOPE`, `MESSAGE`…), or `None` for bare armor.
    pub armor_type: Option<String>,
    /// Whether the bookends were the escaped `- -----BEGIN` form.
    pub escaped: bool,
    /// The base64 body (lines re-joined with `\n`).
    pub body: String,
}

/// Splits armored text into its bookend type and base64 body, following the legacy reader:
/// text before a `-----BEGIN` line is skipped, `Version:`/`Comment:` and lines shorter than two
/// characters are skipped, and the body ends at the first `-----END` line. Text without any
/// `-----BEGIN` line is taken as bare armor.
pub fn split(text: &[u8]) -> Result<Armored> {
    if text.len() > MAX_ARMOR_TEXT {
        return Err(Error::invalid("armor text is larger than 512 MiB"));
    }
    let text =
        std::str::from_utf8(text).map_err(|_| Error::malformed("armor is not ASCII text"))?;
    let is_dashed = |l: &str| {
        let b = l.as_bytes();
        b.len() >= 2 && b[0] == b'-' && (b[1] == b'-' || b[1] == b' ')
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut begin: Option<&str> = None;
    for l in lines.by_ref() {
        if is_dashed(l) && l.contains("-----BEGIN") {
            begin = Some(l);
            break;
        }
    }
    let Some(begin) = begin else {
        // Bare armor: everything is body.
        if text.contains("-----END") {
            return Err(Error::malformed(
                "armor has an END bookend without a BEGIN bookend",
            ));
        }
        return Ok(Armored {
            armor_type: None,
            escaped: false,
            body: text.to_string(),
        });
    };
    let escaped = begin.starts_with("- ");
    let armor_type = begin
        .trim_start_matches("- ")
        .trim_start_matches("-----BEGIN ")
        .trim_start_matches("OT ARMORED ")
        .trim_end_matches('-')
        .to_string();
    let mut body = String::with_capacity(text.len());
    let mut ended = false;
    for l in lines {
        if is_dashed(l) && l.contains("-----END") {
            ended = true;
            break;
        }
        if l.starts_with("Version:") || l.starts_with("Comment:") || l.len() < 2 {
            continue;
        }
        body.push_str(l);
        body.push('\n');
    }
    if !ended {
        return Err(Error::malformed(format!(
            "armor has a BEGIN bookend ({}) but no END bookend",
            crate::error::clip(&armor_type)
        )));
    }
    Ok(Armored {
        armor_type: Some(armor_type),
        escaped,
        body,
    })
}

/// Decodes armor (bookended or bare) of the given kind back to its payload; a string-path
/// payload may inflate to at most [`DEFAULT_MAX_INFLATED`] bytes.
pub fn decode(text: &[u8], kind: Kind) -> Result<Vec<u8>> {
    decode_limited(text, kind, DEFAULT_MAX_INFLATED)
}

/// Like [`decode`], with a string-path payload limited to `max_inflated` bytes (capped at
/// [`MAX_INFLATED`]); past it the decode fails with `Malformed`.
pub fn decode_limited(text: &[u8], kind: Kind, max_inflated: usize) -> Result<Vec<u8>> {
    // Bare armor (every request frame) is decoded straight from the input, without a copy.
    if memchr::memmem::find(text, b"-----").is_none() {
        if text.len() > MAX_ARMOR_TEXT {
            return Err(Error::invalid("armor text is larger than 512 MiB"));
        }
        return decode_raw(base64_decode(text)?, kind, max_inflated);
    }
    let a = split(text)?;
    decode_body_limited(&a.body, kind, max_inflated)
}

/// Decodes a bare base64 armor body of the given kind ([`DEFAULT_MAX_INFLATED`] applies).
pub fn decode_body(body: &str, kind: Kind) -> Result<Vec<u8>> {
    decode_body_limited(body, kind, DEFAULT_MAX_INFLATED)
}

/// Like [`decode_body`], with a string-path payload limited to `max_inflated` bytes (capped at
/// [`MAX_INFLATED`]).
pub fn decode_body_limited(body: &str, kind: Kind, max_inflated: usize) -> Result<Vec<u8>> {
    decode_raw(base64_decode(body.as_bytes())?, kind, max_inflated)
}

/// Inflates a string-path raw payload (zlib) within `max_inflated` bytes of text.
fn inflate(raw: &[u8], max_inflated: usize) -> std::result::Result<Vec<u8>, zlib::InflateError> {
    // The packed form adds a protobuf header (at most 11 bytes) to the text.
    zlib::inflate(raw, max_inflated.min(MAX_INFLATED).saturating_add(11))
}

fn decode_raw(raw: Vec<u8>, kind: Kind, max_inflated: usize) -> Result<Vec<u8>> {
    if raw.is_empty() {
        return Err(Error::malformed("armor is empty"));
    }
    let packed = match kind {
        Kind::Data => raw,
        Kind::String => inflate(&raw, max_inflated).map_err(|e| e.into_error(max_inflated))?,
    };
    let v = pb::unpack_field1_owned(packed)?;
    if kind == Kind::String && v.len() > max_inflated.min(MAX_INFLATED) {
        return Err(Error::malformed(format!(
            "armored text inflates to more than {} bytes (the decompression limit)",
            max_inflated.min(MAX_INFLATED)
        )));
    }
    Ok(v)
}

/// Decodes armor of unknown kind: the string path is tried when the raw bytes start with a zlib
/// header (`78 xx`), otherwise the data path. Returns the payload and the kind found.
/// [`DEFAULT_MAX_INFLATED`] applies to the string path.
pub fn decode_any(text: &[u8]) -> Result<(Vec<u8>, Kind)> {
    decode_any_limited(text, DEFAULT_MAX_INFLATED)
}

/// Like [`decode_any`], with the string path limited to `max_inflated` bytes (capped at
/// [`MAX_INFLATED`]). A stream that inflates past the limit is refused (`Malformed`) rather than
/// retried as the data path.
pub fn decode_any_limited(text: &[u8], max_inflated: usize) -> Result<(Vec<u8>, Kind)> {
    any(text, max_inflated).map_err(AnyError::into_error)
}

/// Why [`decode_any_limited`] failed: the text is not armor, or it inflates past the limit.
pub(crate) enum AnyError {
    /// Not armor of either kind.
    NotArmor(Error),
    /// A zlib stream that inflates past the limit (a zlib bomb, or a too-large payload).
    TooLarge(Error),
}

impl AnyError {
    pub(crate) fn into_error(self) -> Error {
        match self {
            AnyError::NotArmor(e) | AnyError::TooLarge(e) => e,
        }
    }
}

/// [`decode_any_limited`] with the two kinds of failure kept apart.
pub(crate) fn any(
    text: &[u8],
    max_inflated: usize,
) -> std::result::Result<(Vec<u8>, Kind), AnyError> {
    let a = split(text).map_err(AnyError::NotArmor)?;
    let raw = base64_decode(a.body.as_bytes()).map_err(AnyError::NotArmor)?;
    if raw.len() >= 2 && raw[0] == 0x78 && (u16::from(raw[0]) << 8 | u16::from(raw[1])) % 31 == 0 {
        match inflate(&raw, max_inflated) {
            Ok(z) => {
                if let Ok(p) = pb::unpack_field1_owned(z) {
                    return Ok((p, Kind::String));
                }
            }
            Err(e @ zlib::InflateError::TooLarge) => {
                return Err(AnyError::TooLarge(e.into_error(max_inflated)));
            }
            Err(zlib::InflateError::Invalid) => {}
        }
    }
    Ok((unpack_field1(&raw).map_err(AnyError::NotArmor)?, Kind::Data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_round_trip_with_and_without_bookends() {
        for n in [0usize, 1, 47, 48, 49, 200, 5000] {
            let payload: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            let bare = encode(&payload, Kind::Data).unwrap();
            for line in bare.lines() {
                assert!(line.len() <= 64);
            }
            assert!(bare.ends_with('\n'));
            assert_eq!(decode(bare.as_bytes(), Kind::Data).unwrap(), payload);
            for esc in [false, true] {
                let b = encode_bookended(&payload, Kind::Data, "ENVELOPE", esc).unwrap();
                let s = split(b.as_bytes()).unwrap();
                assert_eq!(s.armor_type.as_deref(), Some("ENVELOPE"));
                assert_eq!(s.escaped, esc);
                assert_eq!(decode(b.as_bytes(), Kind::Data).unwrap(), payload);
            }
        }
    }

    #[test]
    fn string_round_trip() {
        let text = b"<?xml version=\"1.0\"?>\n<OTmessage>hello</OTmessage>\n".repeat(50);
        let bare = encode(&text, Kind::String).unwrap();
        assert!(bare.starts_with("eN")); // 78 DA: zlib best compression
        assert_eq!(decode(bare.as_bytes(), Kind::String).unwrap(), text);
        assert_eq!(
            decode_any(bare.as_bytes()).unwrap(),
            (text.clone(), Kind::String)
        );
    }

    #[test]
    fn exact_bookend_layout() {
        let b = encode_bookended(b"x", Kind::Data, "MESSAGE", false).unwrap();
        assert_eq!(
            b,
            "-----BEGIN OT ARMORED MESSAGE-----\nVersion: Open Transactions 0.90.b\n\
             Comment: http://github.com/FellowTraveler/Open-Transactions/wiki\n\n\
             CgF4\n-----END OT ARMORED MESSAGE-----\n\n"
        );
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(decode(b"this is not armor at all!", Kind::Data).is_err());
        assert!(decode(b"", Kind::Data).is_err());
        assert!(decode(b"-----BEGIN OT ARMORED X-----\nCgF4\n", Kind::Data).is_err());
        assert!(decode(b"\xff\xfe", Kind::Data).is_err());
        // Valid base64, but not a zlib stream.
        assert!(decode(b"CgF4\n", Kind::String).is_err());
    }
}
