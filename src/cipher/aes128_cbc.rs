//! AES-128-CBC with PKCS#7 padding, the only cipher legacy OT envelopes use.
//!
//! The block cipher runs in the build's crypto engine: OpenSSL's EVP AES-128-CBC (AES-NI
//! assembly) with the default `openssl-rsa-engine` feature, the `aes`/`cbc` crates with
//! `rust-rsa-engine`. The PKCS#7 padding is ours in both: added before encryption, and checked
//! after decryption without a data-dependent branch, so a bad padding costs what a good one does.
//!
//! Envelopes (types 0, 1 and 2) seal and open with it; the same path was `envelope::cipher`
//! before the crate's CBC code had one home (that path still names this module).

use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// AES-128 key length.
pub const KEY_LEN: usize = 16;
/// AES-CBC IV length.
pub const IV_LEN: usize = 16;

/// Encrypts `plaintext` (padding added).
pub fn encrypt(key: &[u8; KEY_LEN], iv: &[u8; IV_LEN], plaintext: &[u8]) -> Result<Vec<u8>> {
    encrypt_parts(key, iv, plaintext, &[])
}

/// Encrypts `a || b` (plus PKCS#7 padding) without building the concatenation first.
pub(crate) fn encrypt_parts(
    key: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
    a: &[u8],
    b: &[u8],
) -> Result<Vec<u8>> {
    let msg_len = a.len() + b.len();
    let pad = 16 - msg_len % 16;
    // Cannot fail with a 16-byte key and whole blocks; if it ever did, that is a bug
    // reported as such, never an empty or plaintext result.
    backend::encrypt(key, iv, &[a, b, &[pad as u8; 16][..pad]])
        .ok_or_else(|| Error::internal("AES-128-CBC encryption failed"))
}

/// Decrypts and strips PKCS#7 padding; `None` when the padding is invalid (or the ciphertext
/// is not a positive number of blocks, a public fact).
pub fn decrypt(
    key: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return None;
    }
    let mut plain = Zeroizing::new(cbc_decrypt(key, iv, ciphertext)?);
    let (len, ok) = unpad_ct(&plain);
    // Both outcomes run the same code up to here; the branch is on the final verdict only.
    if ok == 1 {
        plain.truncate(len);
        Some(plain)
    } else {
        None
    }
}

/// PKCS#7 check of the last block without data-dependent branches or indexing: returns the
/// message length and 1 when the padding is valid, otherwise (anything, 0).
fn unpad_ct(p: &[u8]) -> (usize, u8) {
    let n = p[p.len() - 1];
    let last = &p[p.len() - 16..];
    // valid iff 1 <= n <= 16 and the last n bytes all equal n.
    let mut bad = ct_eq(n, 0) | ct_lt(16, n);
    for (i, &b) in last.iter().enumerate() {
        // position i (0..16) of the last block is in the padding when 16 - i <= n.
        let in_pad = 1 ^ ct_lt(n, 16 - i as u8);
        bad |= in_pad & (1 ^ ct_eq(b, n));
    }
    let ok = 1 ^ bad;
    // When invalid, n may exceed the block: clamp through the mask so the length stays sane.
    let n_used = (n as usize) & (usize::from(ok).wrapping_neg());
    (p.len() - n_used, ok)
}

/// 1 when a == b, else 0 (no branch).
fn ct_eq(a: u8, b: u8) -> u8 {
    ((u16::from(a ^ b).wrapping_sub(1)) >> 8) as u8 & 1
}

/// 1 when a < b, else 0 (no branch).
fn ct_lt(a: u8, b: u8) -> u8 {
    ((u16::from(a).wrapping_sub(u16::from(b))) >> 8) as u8 & 1
}

#[cfg(all(feature = "openssl-rsa-engine", not(feature = "rust-rsa-engine")))]
mod backend {
    use openssl::symm::{Cipher, Crypter, Mode};
    use zeroize::{Zeroize, Zeroizing};

    /// Bytes per OpenSSL call: the output goes through a buffer of this size that stays in
    /// the L1/L2 cache, so the result is written once, straight into a vector that was never
    /// zero-filled (zero-filling a 1 MiB output first is a whole extra pass). Also keeps
    /// every call far below OpenSSL's `int` lengths.
    const STEP: usize = 16 * 1024;

    /// AES-128-CBC without padding over the concatenated `parts` (whole blocks in total).
    /// On any failure nothing is returned and the partial output is wiped.
    fn cbc(mode: Mode, key: &[u8; 16], iv: &[u8; 16], parts: &[&[u8]]) -> Option<Vec<u8>> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        // Exactly `total` bytes come out: the vector never reallocates (which would leave
        // a copy of decrypted data behind unwiped).
        let mut out = Vec::with_capacity(total);
        // OpenSSL wants room for one more block than it is given in every update.
        let mut tmp = Zeroizing::new([0u8; STEP + 16]);
        let done = (|| {
            let mut c = Crypter::new(Cipher::aes_128_cbc(), mode, key, Some(iv)).ok()?;
            c.pad(false);
            for part in parts {
                for chunk in part.chunks(STEP) {
                    let n = c.update(chunk, &mut tmp[..]).ok()?;
                    out.extend_from_slice(&tmp[..n]);
                }
            }
            let n = c.finalize(&mut tmp[..]).ok()?;
            out.extend_from_slice(&tmp[..n]);
            (out.len() == total).then_some(())
        })();
        if done.is_none() {
            out.zeroize();
            return None;
        }
        Some(out)
    }

    pub(super) fn encrypt(key: &[u8; 16], iv: &[u8; 16], parts: &[&[u8]]) -> Option<Vec<u8>> {
        cbc(Mode::Encrypt, key, iv, parts)
    }

    pub(super) fn decrypt(key: &[u8; 16], iv: &[u8; 16], ct: &[u8]) -> Option<Vec<u8>> {
        cbc(Mode::Decrypt, key, iv, &[ct])
    }
}

#[cfg(feature = "rust-rsa-engine")]
mod backend {
    use aes::Aes128;
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::NoPadding};

    pub(super) fn encrypt(key: &[u8; 16], iv: &[u8; 16], parts: &[&[u8]]) -> Option<Vec<u8>> {
        let mut buf = parts.concat();
        let n = buf.len();
        let enc = cbc::Encryptor::<Aes128>::new(key.into(), iv.into());
        enc.encrypt_padded::<NoPadding>(&mut buf, n).ok()?;
        Some(buf)
    }

    pub(super) fn decrypt(key: &[u8; 16], iv: &[u8; 16], ct: &[u8]) -> Option<Vec<u8>> {
        // The crate's one CBC decryption (the parent module); the padding is checked above.
        super::super::aes128_cbc_decrypt_raw(key, iv, ct).map(|mut p| std::mem::take(&mut *p))
    }
}

fn cbc_decrypt(key: &[u8; KEY_LEN], iv: &[u8; IV_LEN], ct: &[u8]) -> Option<Vec<u8>> {
    backend::decrypt(key, iv, ct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_unpad_accepts_exactly_the_valid_paddings() {
        for n in 0u8..=20 {
            for filler in [0u8, 1, 7, 16, 0xff] {
                let mut block = vec![filler; 32];
                let len = block.len();
                if n > 0 && n <= 16 {
                    block[len - n as usize..].fill(n);
                }
                block[len - 1] = n;
                let (got, ok) = unpad_ct(&block);
                let valid = (1..=16).contains(&n);
                assert_eq!(ok == 1, valid, "n {n} filler {filler}");
                if valid {
                    assert_eq!(got, 32 - n as usize);
                }
                // One wrong byte inside the padding invalidates it.
                if (2..=16).contains(&n) {
                    let mut b2 = block.clone();
                    b2[len - n as usize] ^= 0x40;
                    assert_eq!(unpad_ct(&b2).1, 0, "n {n}");
                }
            }
        }
    }

    #[test]
    fn round_trip_and_tampering() {
        let key = [9u8; 16];
        let iv = [3u8; 16];
        for len in [0usize, 1, 15, 16, 17, 1000, 65536] {
            let pt: Vec<u8> = (0..len).map(|i| (i * 31) as u8).collect();
            let ct = encrypt(&key, &iv, &pt).unwrap();
            assert_eq!(ct.len(), len + 16 - len % 16);
            assert_eq!(decrypt(&key, &iv, &ct).unwrap().as_slice(), &pt[..]);
            assert!(decrypt(&key, &iv, &ct[..ct.len() - 1]).is_none());
            assert!(decrypt(&[8u8; 16], &iv, &ct).is_none_or(|p| p.as_slice() != &pt[..]));
        }
        assert!(decrypt(&key, &iv, &[]).is_none());
    }
}
