//! The OpenSSL engine: `RSA_private_decrypt` / `RSA_public_encrypt` with `RSA_NO_PADDING` (raw
//! RSA, so our paddings stay ours) on `RSA` objects loaded once per key.
//!
//! OpenSSL's private path (`rsa_ossl_private_decrypt`) blinds every call unless
//! `RSA_FLAG_NO_BLINDING` is set (never, here: keys come from `d2i_RSAPrivateKey`), runs the CRT
//! exponentiations with `BN_FLG_CONSTTIME` on the secret numbers, checks the CRT result
//! (`mᵉ ≡ c mod n`) and falls back to a non-CRT exponentiation on a mismatch. `RSA` objects are
//! safe to use from several threads at once (the Montgomery and blinding caches are locked).
//! Dropping an `Rsa` calls `RSA_free`, which clears the private numbers (`BN_clear_free`).

use openssl::bn::BigNum;
use openssl::rsa::{Padding, Rsa};
use pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};

use super::{PrivateOp, PublicOp};
use crate::error::{Error, Result};

fn raw(
    size: u32,
    op: impl FnOnce(&[u8], &mut [u8]) -> std::result::Result<usize, openssl::error::ErrorStack>,
    input: &[u8],
    out: &mut [u8],
    what: &'static str,
) -> Result<()> {
    // The `openssl` crate asserts on a short output buffer: check the sizes (public) first.
    if input.len() != size as usize || out.len() != size as usize {
        return Err(Error::internal(what));
    }
    // The `openssl` crate drains OpenSSL's error queue into the ErrorStack it returns; its text
    // is dropped here (no key-dependent detail leaves this function).
    match op(input, out) {
        Ok(n) if n == out.len() => Ok(()),
        _ => Err(Error::internal(what)),
    }
}

#[derive(Clone)]
pub(crate) struct Public(Rsa<openssl::pkey::Public>);

impl Public {
    pub(crate) fn new(key: &PublicKey) -> Result<Self> {
        let bn = |b: &[u8]| BigNum::from_slice(b).map_err(|_| Error::internal("OpenSSL BIGNUM"));
        let n = bn(&key.n().to_be_bytes_trimmed_vartime())?;
        let e = bn(&key.e().to_be_bytes_trimmed_vartime())?;
        Rsa::from_public_components(n, e)
            .map(Public)
            .map_err(|_| Error::internal("OpenSSL refused the RSA public key"))
    }
}

impl PublicOp for Public {
    fn public(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        raw(
            self.0.size(),
            |i, o| self.0.public_encrypt(i, o, Padding::NONE),
            input,
            out,
            "RSA public operation failed",
        )
    }
}

#[derive(Clone)]
pub(crate) struct Private(Rsa<openssl::pkey::Private>);

impl PublicOp for Private {
    fn public(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        raw(
            self.0.size(),
            |i, o| self.0.public_encrypt(i, o, Padding::NONE),
            input,
            out,
            "RSA public operation failed",
        )
    }
}

impl Private {
    pub(crate) fn new(key: &PrivateKey) -> Result<Self> {
        // PKCS#1 DER in a zeroizing document, parsed by d2i_RSAPrivateKey.
        let der = key
            .to_pkcs1_der()
            .map_err(|_| Error::internal("PKCS#1 encoding failed"))?;
        Rsa::private_key_from_der(der.as_bytes())
            .map(Private)
            .map_err(|_| Error::internal("OpenSSL refused the RSA private key"))
    }
}

impl PrivateOp for Private {
    fn private(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        raw(
            self.0.size(),
            |i, o| self.0.private_decrypt(i, o, Padding::NONE),
            input,
            out,
            "RSA private operation failed",
        )
    }
}
