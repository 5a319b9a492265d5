//! Z85 (ZeroMQ RFC 32), the text form of CURVE keys. Our own codec: the `zmq` crate's decoder
//! leaks its input (a secret key, for CURVE) and accepts characters outside the alphabet.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Encodes bytes (length a multiple of 4) as Z85.
pub(crate) fn encode(data: &[u8]) -> Result<Zeroizing<String>> {
    if !data.len().is_multiple_of(4) {
        return Err(Error::invalid("Z85 input length must be a multiple of 4"));
    }
    let mut out = Zeroizing::new(String::with_capacity(data.len() / 4 * 5));
    for chunk in data.chunks(4) {
        let mut v = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = ALPHABET[(v % 85) as usize];
            v /= 85;
        }
        // Every digit comes from the ASCII alphabet: push characters, nothing can fail.
        out.extend(digits.iter().map(|&d| char::from(d)));
    }
    Ok(out)
}

/// Decodes Z85 text (length a multiple of 5, alphabet characters only).
pub(crate) fn decode(text: &str) -> Result<Zeroizing<Vec<u8>>> {
    let bad = || Error::invalid("not valid Z85 text");
    if !text.len().is_multiple_of(5) {
        return Err(bad());
    }
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 5 * 4));
    for chunk in text.as_bytes().chunks(5) {
        let mut v: u64 = 0;
        for &c in chunk {
            v = v * 85 + u64::from(value(c).ok_or_else(bad)?);
        }
        let v = u32::try_from(v).map_err(|_| bad())?;
        out.extend_from_slice(&v.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc32_vector_and_round_trip() {
        let hello = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&hello).unwrap().as_str(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap().as_slice(), &hello);
        let data: Vec<u8> = (0..32).map(|i| (i * 37) as u8).collect();
        assert_eq!(
            decode(&encode(&data).unwrap()).unwrap().as_slice(),
            &data[..]
        );
        assert!(decode("Hello World").is_err());
        assert!(decode("abcd").is_err());
        assert!(decode("%%%%%").is_err()); // above 2^32
        assert!(encode(&[1, 2, 3]).is_err());
    }
}
