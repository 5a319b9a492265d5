//! Base64 as legacy OT wrote it (OpenSSL `BIO_f_base64`): RFC 4648 alphabet with padding,
//! 64 characters per line, every line (the last too) ending in `\n`.

use base64ct::{Base64, Base64Unpadded, Encoding};

use crate::error::{Error, Result};

/// Encodes in 64-column lines, each ending `\n`. Empty input gives an empty string.
pub fn encode_lines(bytes: &[u8]) -> String {
    let flat = Base64::encode_string(bytes);
    let mut out = String::with_capacity(flat.len() + flat.len() / 64 + 1);
    for chunk in flat.as_bytes().chunks(64) {
        // chunks of an ASCII string are ASCII
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Decodes base64, ignoring line breaks and other ASCII white space; accepts missing padding.
pub fn decode_lenient(text: &[u8]) -> Result<Vec<u8>> {
    let mut compact: Vec<u8> = Vec::with_capacity(text.len());
    for &c in text {
        match c {
            b'\n' | b'\r' | b' ' | b'\t' | 0x0b | 0x0c => {}
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => compact.push(c),
            _ => {
                return Err(Error::malformed(
                    "armor contains a character that is not base64",
                ));
            }
        }
    }
    let res = if compact.len().is_multiple_of(4) {
        Base64::decode_vec(std::str::from_utf8(&compact).unwrap_or_default())
    } else {
        Base64Unpadded::decode_vec(std::str::from_utf8(&compact).unwrap_or_default())
    };
    res.map_err(|_| Error::malformed("armor is not valid base64"))
}
