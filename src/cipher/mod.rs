//! The legacy CBC ciphers, in one home:
//!
//! * this file: every CBC decryption in the crate: generic CBC with the PKCS#7 check of the
//!   `block-padding` crate, for symmetric keys ([`crate::symkey`], AES-128) and traditional
//!   `DEK-Info` PEM keys (AES-128/192/256, DES, 3DES), and raw AES-128-CBC blocks for
//!   [`aes128_cbc`]'s pure-Rust backend;
//! * [`aes128_cbc`]: AES-128-CBC for envelopes (types 0, 1 and 2), both ways, in the build's crypto
//!   engine (OpenSSL's AES, or the `aes`/`cbc` crates with `rust-rsa-engine`) with a
//!   constant-time PKCS#7 check.

pub mod aes128_cbc;

use cbc::cipher::{
    BlockCipherDecrypt, BlockModeDecrypt, KeyIvInit,
    block_padding::{NoPadding, Pkcs7},
};
use zeroize::Zeroizing;

/// Why [`cbc_decrypt`] failed. Callers map both to their own uniform error; neither says
/// anything about the plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CbcError {
    /// The key or IV length does not fit the cipher.
    KeyIvLength,
    /// The ciphertext is empty or not a multiple of the block size, or its PKCS#7 padding is
    /// invalid.
    Padding,
}

/// A block cipher usable in CBC mode by [`cbc_decrypt`] (AES-128/192/256, DES, 3DES…).
pub(crate) trait CbcCipher {
    /// See [`cbc_decrypt`].
    fn cbc_decrypt(
        key: &[u8],
        iv: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CbcError>;
}

impl<C> CbcCipher for C
where
    C: BlockCipherDecrypt,
    cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
{
    fn cbc_decrypt(
        key: &[u8],
        iv: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CbcError> {
        let d = cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| CbcError::KeyIvLength)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let n = d
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| CbcError::Padding)?
            .len();
        buf.truncate(n);
        Ok(buf)
    }
}

/// Decrypts whole blocks of AES-128-CBC without touching the padding (the caller checks it in
/// constant time: [`aes128_cbc`] with `rust-rsa-engine`). `None` for a length that is not whole
/// blocks.
#[cfg_attr(not(feature = "rust-rsa-engine"), allow(dead_code))]
pub(crate) fn aes128_cbc_decrypt_raw_in_place(
    key: &[u8; 16],
    iv: &[u8; 16],
    buf: &mut [u8],
) -> Option<()> {
    let d = cbc::Decryptor::<aes::Aes128>::new(key.into(), iv.into());
    d.decrypt_padded::<NoPadding>(buf).ok()?;
    Some(())
}

/// Decrypts `ciphertext` with cipher `C` in CBC mode and strips its PKCS#7 padding.
///
/// Decryption happens in place in a zeroizing buffer, so the plaintext — and on a padding
/// failure the decrypted bytes — never sit in memory that is freed without being wiped. The
/// padding check is the `block-padding` crate's PKCS#7 check on the last block, as before the
/// three copies were merged; callers report every failure with one uniform error.
pub(crate) fn cbc_decrypt<C: CbcCipher>(
    key: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CbcError> {
    C::cbc_decrypt(key, iv, ciphertext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::{Aes128, Aes256};
    use des::TdesEde3;

    #[test]
    fn lengths_and_padding_are_reported() {
        let k = [7u8; 16];
        let iv = [9u8; 16];
        assert_eq!(
            cbc_decrypt::<Aes128>(&k[..15], &iv, &[0; 16]).unwrap_err(),
            CbcError::KeyIvLength
        );
        assert_eq!(
            cbc_decrypt::<Aes128>(&k, &iv[..8], &[0; 16]).unwrap_err(),
            CbcError::KeyIvLength
        );
        assert_eq!(
            cbc_decrypt::<Aes256>(&k, &iv, &[0; 16]).unwrap_err(),
            CbcError::KeyIvLength
        );
        for bad in [&[][..], &[0u8; 15][..], &[0u8; 17][..]] {
            assert_eq!(
                cbc_decrypt::<Aes128>(&k, &iv, bad).unwrap_err(),
                CbcError::Padding
            );
        }
        // 3DES: 24-byte key, 8-byte IV and blocks.
        assert_eq!(
            cbc_decrypt::<TdesEde3>(&[1u8; 24], &[2u8; 8], &[0; 12]).unwrap_err(),
            CbcError::Padding
        );
    }
}
