//! Base64 as legacy OT wrote it (OpenSSL `BIO_f_base64`): RFC 4648 alphabet with padding,
//! 64 characters per line, every line (the last too) ending in `\n`.

use base64ct::{Base64, Base64Unpadded, Encoding};

use crate::error::{Error, Result};

/// Encodes in 64-column lines, each ending `\n`. Empty input gives an empty string.
pub fn encode_lines(bytes: &[u8]) -> String {
    encode_lines_parts(&[], bytes)
}

/// Encodes `head || body` in 64-column lines without concatenating them first (the armor's
/// protobuf header is a few bytes in front of a possibly large payload). Works in blocks of 64
/// lines: one base64 call per 3 KiB of input, then the lines are laid out with their newlines.
pub(crate) fn encode_lines_parts(head: &[u8], body: &[u8]) -> String {
    const LINE_IN: usize = 48;
    const BLOCK_IN: usize = LINE_IN * 64;
    let total = head.len() + body.len();
    let lines = total.div_ceil(LINE_IN);
    // One spare byte: the C layer appends a NUL without reallocating.
    let mut out: Vec<u8> = Vec::with_capacity(lines * 65 + 1);
    let mut scratch = [0u8; BLOCK_IN / 3 * 4];
    let mut emit = |chunk: &[u8], out: &mut Vec<u8>| {
        let n = Base64::encode(chunk, &mut scratch)
            .map(str::len)
            .unwrap_or(0);
        for line in scratch[..n].chunks(64) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    };
    debug_assert!(
        head.len() < BLOCK_IN,
        "the head is a protobuf key and length"
    );
    // The first block joins the head with the start of the body; the rest stays aligned on
    // 48-byte input boundaries of the concatenation.
    let first_body = body.len().min(BLOCK_IN.saturating_sub(head.len()));
    let mut first = Vec::with_capacity(head.len() + first_body);
    first.extend_from_slice(head);
    first.extend_from_slice(&body[..first_body]);
    for chunk in first.chunks(BLOCK_IN) {
        emit(chunk, &mut out);
    }
    for chunk in body[first_body..].chunks(BLOCK_IN) {
        emit(chunk, &mut out);
    }
    // Only base64 characters and newlines were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Decodes base64, ignoring line breaks and other ASCII white space; accepts missing padding.
pub fn decode_lenient(text: &[u8]) -> Result<Vec<u8>> {
    // Fast path for what OT writes: lines split by `\n` (maybe `\r\n`); whole lines are copied
    // with memcpy. Anything else (spaces, tabs, junk) falls back to the byte-wise filter, which
    // also gives the precise error.
    let mut compact: Vec<u8> = Vec::with_capacity(text.len());
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len())) {
        let line = &text[start..nl];
        compact.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        start = nl + 1;
    }
    if let Some(v) = decode_compact(compact) {
        return Ok(v);
    }
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
    decode_compact(compact).ok_or_else(|| Error::malformed("armor is not valid base64"))
}

/// Decodes white-space-free base64 in place (the output is never longer than the input).
fn decode_compact(mut compact: Vec<u8>) -> Option<Vec<u8>> {
    let n = if compact.len().is_multiple_of(4) {
        Base64::decode_in_place(&mut compact).ok()?.len()
    } else {
        Base64Unpadded::decode_in_place(&mut compact).ok()?.len()
    };
    compact.truncate(n);
    Some(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_equal_the_concatenation() {
        for h in 0..60usize {
            for b in [0usize, 1, 2, 44, 45, 46, 47, 48, 49, 95, 96, 97, 500] {
                let head: Vec<u8> = (0..h).map(|i| i as u8).collect();
                let body: Vec<u8> = (0..b).map(|i| (i * 3 + 1) as u8).collect();
                let whole = [head.clone(), body.clone()].concat();
                let flat = Base64::encode_string(&whole);
                let mut want = String::new();
                for c in flat.as_bytes().chunks(64) {
                    want.push_str(std::str::from_utf8(c).unwrap());
                    want.push('\n');
                }
                assert_eq!(encode_lines_parts(&head, &body), want, "head {h} body {b}");
                assert_eq!(decode_lenient(want.as_bytes()).unwrap(), whole);
            }
        }
    }
}

#[cfg(test)]
mod lenient_tests {
    use super::*;

    #[test]
    fn both_paths_decode_and_reject_the_same() {
        assert_eq!(decode_lenient(b"aGVs\nbG8=\n").unwrap(), b"hello");
        assert_eq!(decode_lenient(b"aGVs\r\nbG8=\r\n").unwrap(), b"hello");
        assert_eq!(decode_lenient(b" aGVs\tbG8= \n").unwrap(), b"hello");
        assert_eq!(decode_lenient(b"aGVsbG8").unwrap(), b"hello");
        assert!(decode_lenient(b"aGVs-bG8=").is_err());
        assert!(decode_lenient(b"aGVs\nbG8=\n-----END").is_err());
        assert!(decode_lenient(b"a").is_err());
    }
}
