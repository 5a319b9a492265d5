//! Legacy `OTSymmetricKey`: a random AES-128 key stored wrapped under a passphrase. The wallet's
//! `<cachedKey>` (the master key) is one; its 16 raw bytes are the passphrase of every private
//! key a 2013+ wallet holds.
//!
//! Serialization (big-endian):
//!
//! ```text
//! u16 is_generated | u16 key_bits (128) | u32 iterations (65535) |
//! u32 salt_len + salt | u32 iv_len + iv | u32 enc_key_len + enc_key | u32 check_len + check
//! ```
//!
//! `derived = PBKDF2-HMAC-SHA1(passphrase, salt, iterations, 16)`,
//! `check = PBKDF2-HMAC-SHA1(derived, salt, iterations, 16)`,
//! `enc_key = AES-128-CBC/PKCS#7(derived, iv, raw_key)`.

use crate::cipher::{CbcError, cbc_decrypt};
use aes::Aes128;
use zeroize::Zeroizing;

use crate::armor;
use crate::error::{Error, ErrorKind, Result};

/// Iteration counts above this are refused (a hostile blob could otherwise stall the caller).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// A parsed, still locked, symmetric key.
#[derive(Clone)]
pub struct SymmetricKey {
    /// Key size in bits as recorded (128 in every legacy file).
    pub key_bits: u16,
    /// PBKDF2 iteration count.
    pub iterations: u32,
    salt: Vec<u8>,
    iv: Vec<u8>,
    enc_key: Vec<u8>,
    check: Vec<u8>,
}

impl std::fmt::Debug for SymmetricKey {
    // Salt, IV and the wrapped key stay out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SymmetricKey {{ key_bits: {}, iterations: {} }}",
            self.key_bits, self.iterations
        )
    }
}

fn pbkdf2_sha1(pass: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 16]> {
    let mut out = Zeroizing::new([0u8; 16]);
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(pass, salt, iterations, out.as_mut());
    out
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SymmetricKey {
    /// Parses the binary serialization, or its data-path armor (as in `<cachedKey>`).
    pub fn parse(input: &[u8]) -> Result<SymmetricKey> {
        if input.len() > 64 * 1024 {
            return Err(Error::invalid("symmetric key data is larger than 64 KiB"));
        }
        if input.len() >= 2 && input[0] == 0 && input[1] <= 1 {
            return Self::parse_bytes(input);
        }
        let raw = armor::decode(input, armor::Kind::Data)
            .map_err(|_| Error::malformed("not a serialized symmetric key, nor its armor"))?;
        Self::parse_bytes(&raw)
    }

    fn parse_bytes(b: &[u8]) -> Result<SymmetricKey> {
        let mut pos = 0usize;
        let mut take = |n: usize, what: &str| -> Result<&[u8]> {
            if n > b.len() - pos {
                return Err(Error::malformed(format!(
                    "symmetric key {what} is truncated"
                )));
            }
            let s = &b[pos..pos + n];
            pos += n;
            Ok(s)
        };
        let u16_at = |s: &[u8]| u16::from_be_bytes([s[0], s[1]]);
        let u32_at = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        let _generated = u16_at(take(2, "header")?);
        let key_bits = u16_at(take(2, "key size")?);
        let iterations = u32_at(take(4, "iteration count")?);
        let mut field = |what: &str, max: usize| -> Result<Vec<u8>> {
            let n = u32_at(take(4, what)?) as usize;
            if n > max {
                return Err(Error::malformed(format!(
                    "symmetric key {what} length {n} is invalid"
                )));
            }
            Ok(take(n, what)?.to_vec())
        };
        let salt = field("salt", 1024)?;
        let iv = field("IV", 16)?;
        let enc_key = field("encrypted key", 1024)?;
        let check = field("hash check", 1024)?;
        if key_bits != 128 {
            return Err(Error::unsupported(format!(
                "symmetric key size {key_bits} bits (only 128)"
            )));
        }
        if iv.len() != 16 || enc_key.is_empty() || enc_key.len() % 16 != 0 {
            return Err(Error::malformed(
                "symmetric key IV or encrypted key has a bad length",
            ));
        }
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(Error::malformed(format!(
                "iteration count {iterations} is out of range"
            )));
        }
        Ok(SymmetricKey {
            key_bits,
            iterations,
            salt,
            iv,
            enc_key,
            check,
        })
    }

    /// Unlocks the raw key with the passphrase. A wrong passphrase is
    /// [`ErrorKind::BadPassphrase`] (detected by the hash check, never a garbage key).
    pub fn unlock(&self, passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let bad = || {
            Error::new(
                ErrorKind::BadPassphrase,
                "wrong passphrase for the symmetric key",
            )
        };
        let derived = pbkdf2_sha1(passphrase, &self.salt, self.iterations);
        if !self.check.is_empty() {
            let check = pbkdf2_sha1(derived.as_ref(), &self.salt, self.iterations);
            if !ct_eq(&check[..self.check.len().min(16)], &self.check) {
                return Err(bad());
            }
        }
        let raw = cbc_decrypt::<Aes128>(derived.as_ref(), &self.iv, &self.enc_key).map_err(
            |e| match e {
                CbcError::KeyIvLength => Error::malformed("symmetric key IV has a bad length"),
                CbcError::Padding => bad(),
            },
        )?;
        if raw.len() != 16 {
            return Err(bad());
        }
        Ok(raw)
    }
}
