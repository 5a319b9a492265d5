//! The pure-Rust engine: the `rsa` crate's constant-time CRT core (crypto-bigint), with the Montgomery
//! parameters precomputed once per key.
//!
//! * private op = `hazmat::rsa_decrypt` without its RNG (so without the crate's per-call modulus and
//!   exponent blinding, which halve its speed), wrapped in base blinding with a fresh random `r` per
//!   call (`c·rᵉ`, then `·r⁻¹`, the inverse by crypto-bigint's constant-time safegcd);
//! * public op for e = 65537 = sixteen Montgomery squarings and one multiplication (other exponents
//!   use the crate's generic routine); public data only, no secret.

use crypto_bigint::modular::BoxedMontyForm;
use rsa::hazmat;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PrivateKey, PublicKey};
use zeroize::Zeroizing;

use super::{PrivateOp, PublicOp};
use crate::error::{Error, Result};

/// Octet string → integer with the modulus's precision; `None` if it does not fit or is ≥ n.
fn os2ip(bytes: &[u8], key: &impl PublicKeyParts) -> Option<BoxedUint> {
    let x = BoxedUint::from_be_slice(bytes, key.n_bits_precision()).ok()?;
    if x >= key.n().as_ref() { None } else { Some(x) }
}

/// Integer → octet string of exactly `out.len()` bytes; `None` if it needs more.
fn i2osp(x: &BoxedUint, out: &mut [u8]) -> Option<()> {
    let raw = Zeroizing::new(x.to_be_bytes());
    let len = out.len();
    if raw.len() >= len {
        let (head, tail) = raw.split_at(raw.len() - len);
        // Only leading zero bytes may be dropped (public sizes; `fold` touches every byte).
        if head.iter().fold(0u8, |a, b| a | b) != 0 {
            return None;
        }
        out.copy_from_slice(tail);
    } else {
        out.fill(0);
        out[len - raw.len()..].copy_from_slice(&raw);
    }
    Some(())
}

/// `x^e mod n`.
fn public_op(key: &impl PublicKeyParts, x: &BoxedUint) -> Result<BoxedUint> {
    let e = key.e();
    // e is public: a variable-time look is fine.
    if e.to_be_bytes_trimmed_vartime().as_ref() == [0x01, 0x00, 0x01] {
        let xm = BoxedMontyForm::new(x.clone(), key.n_params());
        let mut y = xm.square();
        for _ in 1..16 {
            y = y.square();
        }
        Ok(y.mul(&xm).retrieve())
    } else {
        hazmat::rsa_encrypt(key, x).map_err(|_| Error::internal("RSA public operation failed"))
    }
}

fn public_bytes(key: &impl PublicKeyParts, input: &[u8], out: &mut [u8]) -> Result<()> {
    let fail = || Error::internal("RSA public operation failed");
    if input.len() != key.size() || out.len() != key.size() {
        return Err(fail());
    }
    let x = os2ip(input, key).ok_or_else(fail)?;
    i2osp(&public_op(key, &x)?, out).ok_or_else(fail)
}

#[derive(Clone)]
pub(crate) struct Public(PublicKey);

impl Public {
    pub(crate) fn new(key: &PublicKey) -> Result<Self> {
        Ok(Public(key.clone()))
    }
}

impl PublicOp for Public {
    fn public(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        public_bytes(&self.0, input, out)
    }
}

/// The private key (zeroized on drop by the `rsa` crate), precomputed.
#[derive(Clone)]
pub(crate) struct Private(Box<PrivateKey>);

impl Private {
    pub(crate) fn new(key: &PrivateKey) -> Result<Self> {
        let mut k = Box::new(key.clone());
        k.precompute()
            .map_err(|_| Error::internal("RSA precomputation failed"))?;
        Ok(Private(k))
    }
}

impl PublicOp for Private {
    fn public(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        public_bytes(&*self.0, input, out)
    }
}

impl PrivateOp for Private {
    fn private(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        let key = &*self.0;
        let fail = || Error::internal("RSA private operation failed");
        let k = key.size();
        if input.len() != k || out.len() != k {
            return Err(fail());
        }
        let c = os2ip(input, key).ok_or_else(fail)?;
        let params = key.n_params();
        // r: uniform enough in [1, n): k random bytes reduced by rejection.
        let r = loop {
            let mut buf = Zeroizing::new(vec![0u8; k]);
            crate::rng::fill(&mut buf)?;
            buf[0] &= 0xff >> ((8 * k as u32).saturating_sub(key.n().as_ref().bit_width()));
            if let Some(r) = os2ip(&buf, key)
                && !bool::from(r.is_zero())
            {
                break Zeroizing::new(r);
            }
        };
        let r_m = BoxedMontyForm::new((*r).clone(), params);
        let r_inv = r_m.invert().into_option().ok_or_else(fail)?;
        let r_e = public_op(key, &r)?;
        let blinded = BoxedMontyForm::new(c, params)
            .mul(&BoxedMontyForm::new(r_e, params))
            .retrieve();
        let m_blinded = Zeroizing::new(
            hazmat::rsa_decrypt::<getrandom::SysRng>(None, key, &blinded).map_err(|_| fail())?,
        );
        let m = Zeroizing::new(
            BoxedMontyForm::new((*m_blinded).clone(), params)
                .mul(&r_inv)
                .retrieve(),
        );
        i2osp(&m, out).ok_or_else(fail)
    }
}
