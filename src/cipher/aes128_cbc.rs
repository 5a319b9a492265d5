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

/// Length of the ciphertext of an `n`-byte message (PKCS#7 always adds 1..=16 bytes).
pub(crate) fn ciphertext_len(n: usize) -> usize {
    n + 16 - n % 16
}

/// Encrypts `a || b` (plus PKCS#7 padding) without building the concatenation first.
pub(crate) fn encrypt_parts(
    key: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
    a: &[u8],
    b: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(ciphertext_len(a.len() + b.len()) + ROOM);
    encrypt_parts_into(key, iv, a, b, &mut out)?;
    Ok(out)
}

/// Spare capacity the backends want after their output (one block); callers that size a vector
/// for a ciphertext add it so that the vector is never reallocated.
pub(crate) const ROOM: usize = 16;

/// [`encrypt_parts`] appending the ciphertext to `out` (reserved here if short of the ciphertext
/// plus [`ROOM`]: `out` holds no secret before the ciphertext), written to memory once.
pub(crate) fn encrypt_parts_into(
    key: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
    a: &[u8],
    b: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let msg_len = a.len() + b.len();
    let pad = 16 - msg_len % 16;
    // Cannot fail with a 16-byte key and whole blocks; if it ever did, that is a bug
    // reported as such, never an empty or plaintext result.
    backend::encrypt_into(key, iv, &[a, b, &[pad as u8; 16][..pad]], out)
        .ok_or_else(|| Error::internal("AES-128-CBC encryption failed"))
}

/// Decrypts and strips PKCS#7 padding; `None` when the padding is invalid (or the ciphertext
/// is not a positive number of blocks, a public fact).
pub fn decrypt(
    key: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    decrypt_with_room(key, iv, ciphertext, 0)
}

/// [`decrypt`] into a vector with `room` spare bytes after the ciphertext's length, so that a
/// caller appending a terminator (the C layer's NUL) never reallocates a plaintext.
pub(crate) fn decrypt_with_room(
    key: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
    ciphertext: &[u8],
    room: usize,
) -> Option<Zeroizing<Vec<u8>>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return None;
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(
        ciphertext.len().checked_add(room.max(ROOM))?,
    ));
    backend::decrypt_into(key, iv, ciphertext, &mut plain)?;
    let (len, ok) = unpad_ct(&plain);
    // Both outcomes run the same code up to here; the branch is on the final verdict only.
    if ok == 1 {
        // The padding bytes stay in the (wiped-on-drop) capacity; clear them anyway.
        plain[len..].iter_mut().for_each(|b| *b = 0);
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
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;

    /// Bytes per OpenSSL call: each piece is copied into the output vector and encrypted there
    /// in place while it is still in the L1/L2 cache, so the output is written to memory once,
    /// never zero-filled first, and never copied again.
    const STEP: usize = 16 * 1024;
    /// OpenSSL's in-place update wants one block of room after its input.
    const SLACK: usize = 16;

    /// AES-128-CBC without padding over the concatenated `parts` (whole blocks in total),
    /// appended to `out`. `out` gets room reserved for every byte plus one block first (so it
    /// never reallocates with output in it); on failure it keeps its length and the bytes
    /// written beyond it are wiped.
    fn cbc(
        enc: bool,
        key: &[u8; 16],
        iv: &[u8; 16],
        parts: &[&[u8]],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if !total.is_multiple_of(16) {
            return None;
        }
        let base = out.len();
        out.reserve_exact(total + SLACK);
        let done = (|| {
            let mut c = CipherCtx::new().ok()?;
            let cipher = Cipher::aes_128_cbc();
            if enc {
                c.encrypt_init(Some(cipher), Some(key), Some(iv)).ok()?;
            } else {
                c.decrypt_init(Some(cipher), Some(key), Some(iv)).ok()?;
            }
            c.set_padding(false);
            // Everything before `done` is output; what follows it (less than a block, or the
            // piece just copied) is input waiting to be encrypted in place. OpenSSL is only ever
            // given whole blocks, so it buffers nothing and writes exactly over what it reads.
            let mut done = base;
            for part in parts {
                for piece in part.chunks(STEP) {
                    out.extend_from_slice(piece);
                    let whole = (out.len() - done) / 16 * 16;
                    if whole == 0 {
                        continue;
                    }
                    let end = out.len();
                    out.extend_from_slice(&[0u8; SLACK]);
                    let n = c.cipher_update_inplace(&mut out[done..], whole).ok()?;
                    out.truncate(end);
                    if n != whole {
                        return None;
                    }
                    done += whole;
                }
            }
            let mut last = [0u8; SLACK];
            let n = c.cipher_final(&mut last).ok()?;
            (n == 0 && out.len() == base + total).then_some(())
        })();
        if done.is_none() {
            zeroize::Zeroize::zeroize(&mut out[base..]);
            out.truncate(base);
            return None;
        }
        Some(())
    }

    pub(super) fn encrypt_into(
        key: &[u8; 16],
        iv: &[u8; 16],
        parts: &[&[u8]],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        cbc(true, key, iv, parts, out)
    }

    pub(super) fn decrypt_into(
        key: &[u8; 16],
        iv: &[u8; 16],
        ct: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        cbc(false, key, iv, &[ct], out)
    }
}

#[cfg(feature = "rust-rsa-engine")]
mod backend {
    use aes::Aes128;
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::NoPadding};

    /// Appends the concatenated `parts` to `out` (which the callers reserved: it does not
    /// reallocate) and encrypts them in place.
    pub(super) fn encrypt_into(
        key: &[u8; 16],
        iv: &[u8; 16],
        parts: &[&[u8]],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let base = out.len();
        for p in parts {
            out.extend_from_slice(p);
        }
        let n = out.len() - base;
        let enc = cbc::Encryptor::<Aes128>::new(key.into(), iv.into());
        if enc
            .encrypt_padded::<NoPadding>(&mut out[base..], n)
            .is_err()
        {
            zeroize::Zeroize::zeroize(&mut out[base..]);
            out.truncate(base);
            return None;
        }
        Some(())
    }

    /// Appends the ciphertext to `out` (reserved by the caller) and decrypts it in place.
    pub(super) fn decrypt_into(
        key: &[u8; 16],
        iv: &[u8; 16],
        ct: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let base = out.len();
        out.extend_from_slice(ct);
        // The crate's one CBC decryption (the parent module); the padding is checked above.
        if super::super::aes128_cbc_decrypt_raw_in_place(key, iv, &mut out[base..]).is_none() {
            out.truncate(base);
            return None;
        }
        Some(())
    }
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
