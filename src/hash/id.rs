//! OT's base62 text form of identifiers.
//!
//! The bytes are read as one big-endian unsigned integer and written in base 62 with the digit
//! alphabet `0-9A-Za-z` (value order). Leading zero bytes carry no value, so they are lost: a
//! digest starting with `00` decodes back to fewer bytes. That is the legacy behaviour (IDs are
//! compared as strings, never as bytes), reproduced here.

use crate::error::{Error, Result};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Longest ID text accepted by [`id_decode`] (a 1 KiB value); IDs are 43 chars in practice.
pub const MAX_ID_TEXT: usize = 1400;
/// Longest input accepted by [`id_encode`]: base62 conversion is quadratic, and 1 KiB encodes to
/// at most 1 376 characters, which [`id_decode`] accepts back.
pub const MAX_ID_BYTES: usize = 1024;

fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        b'a'..=b'z' => Some(c - b'a' + 36),
        _ => None,
    }
}

/// Encodes bytes (at most [`MAX_ID_BYTES`]) as OT base62 text. Zero (or empty input) encodes as
/// the empty string.
pub fn id_encode(bytes: &[u8]) -> Result<String> {
    if bytes.len() > MAX_ID_BYTES {
        return Err(Error::invalid(format!(
            "ID bytes are {} long; at most {MAX_ID_BYTES} are accepted",
            bytes.len()
        )));
    }
    Ok(encode_unchecked(bytes))
}

fn encode_unchecked(bytes: &[u8]) -> String {
    // Strip leading zeros: they carry no value.
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let mut num: Vec<u8> = bytes[start..].to_vec();
    let mut digits: Vec<u8> = Vec::with_capacity(num.len() * 138 / 100 + 1);
    while !num.is_empty() {
        // Divide num (base 256, big-endian) by 62, collecting the remainder.
        let mut rem: u32 = 0;
        let mut out: Vec<u8> = Vec::with_capacity(num.len());
        for &b in &num {
            let cur = (rem << 8) | u32::from(b);
            let q = cur / 62;
            rem = cur % 62;
            if !(out.is_empty() && q == 0) {
                out.push(q as u8);
            }
        }
        digits.push(ALPHABET[rem as usize]);
        num = out;
    }
    // Every digit comes from ALPHABET (ASCII): build the text from characters, so there is no
    // conversion that could fail.
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// Decodes OT base62 text to big-endian bytes without leading zeros.
///
/// Unlike the legacy decoder, which silently returned an empty ID for bad input, this reports
/// characters outside `0-9A-Za-z` as [`crate::ErrorKind::Malformed`].
pub fn id_decode(text: &str) -> Result<Vec<u8>> {
    if text.len() > MAX_ID_TEXT {
        return Err(Error::invalid(format!(
            "ID text is {} characters; at most {MAX_ID_TEXT} are accepted",
            text.len()
        )));
    }
    let mut num: Vec<u8> = Vec::with_capacity(text.len() * 3 / 4 + 1); // little-endian base 256
    for (pos, c) in text.bytes().enumerate() {
        let d = digit_value(c).ok_or_else(|| {
            Error::malformed(format!(
                "ID text has a character outside 0-9A-Za-z at position {pos}"
            ))
        })?;
        let mut carry = u32::from(d);
        for limb in num.iter_mut() {
            let v = u32::from(*limb) * 62 + carry;
            *limb = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            num.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    while num.last() == Some(&0) {
        num.pop();
    }
    if num.len() > MAX_ID_BYTES {
        // Keeps decode and encode inverse on their whole domain.
        return Err(Error::invalid(format!(
            "ID value is {} bytes long; at most {MAX_ID_BYTES} are accepted",
            num.len()
        )));
    }
    num.reverse();
    Ok(num)
}

/// The OT identifier of `data`: base62(SAMY(data)).
pub fn id_of(data: &[u8]) -> String {
    encode_unchecked(&super::samy(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values() {
        assert_eq!(id_encode(&[]).unwrap(), "");
        assert_eq!(id_encode(&[0, 0]).unwrap(), "");
        assert_eq!(id_encode(&[61]).unwrap(), "z");
        assert_eq!(id_encode(&[62]).unwrap(), "10");
        assert_eq!(id_encode(&[1, 0]).unwrap(), "48"); // 256 = 4*62 + 8
        assert_eq!(id_decode("48").unwrap(), vec![1, 0]);
        assert_eq!(id_decode("").unwrap(), Vec::<u8>::new());
        assert!(id_decode("ab-c").is_err());
    }

    #[test]
    fn leading_zero_bytes_are_lost() {
        let v = [0u8, 0, 7, 200, 3];
        let t = id_encode(&v).unwrap();
        assert_eq!(id_decode(&t).unwrap(), vec![7, 200, 3]);
    }

    #[test]
    fn the_longest_encodable_input_decodes_back() {
        let big = [0xffu8; MAX_ID_BYTES];
        let t = id_encode(&big).unwrap();
        assert!(t.len() <= MAX_ID_TEXT);
        assert_eq!(id_decode(&t).unwrap(), big.to_vec());
        assert!(id_encode(&[1u8; MAX_ID_BYTES + 1]).is_err());
        // 1400 'z's are a value longer than 1024 bytes: refused, so decode never yields what
        // encode would refuse (a fuzz finding).
        assert!(id_decode(&"z".repeat(MAX_ID_TEXT)).is_err());
    }

    #[test]
    fn round_trip_32_bytes() {
        let mut x = [0u8; 32];
        for (i, b) in x.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let t = id_encode(&x).unwrap();
        assert!(t.len() <= 43);
        assert_eq!(id_decode(&t).unwrap(), x.to_vec());
    }
}
