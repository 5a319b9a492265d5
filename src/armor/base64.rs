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
        let n = encode_into(chunk, &mut scratch);
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

const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// Per byte lane (every lane below 128): 0xff where the lane is ≥ `c`, else 0. No branch.
fn lanes_ge(v: u64, c: u8) -> u64 {
    let m = ((v | splat(0x80)) - splat(c)) & splat(0x80);
    (m - (m >> 7)) | m
}

/// Eight 6-bit values, one per byte lane, to their base64 characters, all lanes at once and
/// without a table or a branch (armored bytes may be secret): `'A' + v`, then +6 from 26 on
/// (`'a'`), −75 from 52 (`'0'`), −15 from 62 (`'+'`), +3 at 63 (`'/'`). The additions and the
/// subtraction are split so that no lane ever carries or borrows into its neighbour.
fn sextets_to_ascii(v: u64) -> u64 {
    let plus = v + splat(b'A') + (lanes_ge(v, 26) & splat(6)) + (lanes_ge(v, 63) & splat(3));
    let minus = (lanes_ge(v, 52) & splat(75)) + (lanes_ge(v, 62) & splat(15));
    plus - minus
}

/// Six bytes to eight base64 characters.
fn encode6(c: &[u8; 6]) -> [u8; 8] {
    let x = u64::from_be_bytes([0, 0, c[0], c[1], c[2], c[3], c[4], c[5]]);
    let mut lanes = 0u64;
    for k in 0..8 {
        lanes |= ((x >> (42 - 6 * k)) & 63) << (56 - 8 * k);
    }
    sextets_to_ascii(lanes).to_be_bytes()
}

/// RFC 4648 base64 with `=` padding of `input` into `out` (which must hold 4·⌈n/3⌉ bytes);
/// returns the length written. Constant-time in the data: the only branches are on lengths.
/// Six input bytes at a time through [`sextets_to_ascii`] (~2x `base64ct`'s speed here).
pub(crate) fn encode_into(input: &[u8], out: &mut [u8]) -> usize {
    let mut o = 0;
    let mut chunks = input.chunks_exact(6);
    for c in &mut chunks {
        let mut six = [0u8; 6];
        six.copy_from_slice(c);
        out[o..o + 8].copy_from_slice(&encode6(&six));
        o += 8;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut six = [0u8; 6];
        six[..rest.len()].copy_from_slice(rest);
        let chars = encode6(&six);
        let (full, part) = (rest.len() / 3, rest.len() % 3);
        let real = full * 4 + if part > 0 { part + 1 } else { 0 };
        out[o..o + real].copy_from_slice(&chars[..real]);
        o += real;
        if part > 0 {
            for _ in part..3 {
                out[o] = b'=';
                o += 1;
            }
        }
    }
    o
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
    fn swar_encoder_equals_base64ct() {
        let data: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        // Every byte value in every position of a 6-byte group, and every length to 3 blocks.
        let mut all = Vec::new();
        for b in 0..=255u8 {
            all.extend_from_slice(&[b, b ^ 0x55, !b, b.rotate_left(3), 0, 0xff]);
        }
        for input in [&data[..], &all[..]] {
            for n in (0..200).chain([999, input.len()]) {
                let n = n.min(input.len());
                let mut out = vec![0u8; n.div_ceil(3) * 4];
                let len = encode_into(&input[..n], &mut out);
                assert_eq!(len, out.len());
                assert_eq!(out, Base64::encode_string(&input[..n]).as_bytes(), "n {n}");
            }
        }
    }

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
