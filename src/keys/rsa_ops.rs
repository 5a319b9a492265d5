//! The four RSA operations legacy OT needs, on top of the `rsa` crate's constant-time core.
//!
//! Why not the `rsa` crate's padded APIs: for every private operation they draw fresh base,
//! exponent *and* modulus blinding factors, and modulus blinding forces new Montgomery parameters
//! for both primes on every call; the public operation uses a generic windowed exponentiation.
//! Measured on 2048-bit keys that made private operations about 0.22× and public ones about
//! 0.36× OpenSSL's speed. Here:
//!
//! * **private op** = the crate's constant-time CRT exponentiation with parameters precomputed
//!   once per key (`hazmat::rsa_decrypt` without its RNG), wrapped in OpenSSL-style base blinding
//!   with a fresh random `r` per call (`c·rᵉ`, then `·r⁻¹`, the inverse by crypto-bigint's
//!   constant-time safegcd) and followed by a fault check (`mᵉ = c`) against CRT fault attacks;
//! * **public op** for e = 65537 = sixteen Montgomery squarings and one multiplication (other
//!   exponents use the crate's generic routine); public data only, no secret.
//!
//! The paddings are the standard ones (RFC 8017): EMSA-PSS encode/verify and RSAES-PKCS1-v1_5
//! encryption. Unwrapping an envelope's session key is a *fixed-length* PKCS#1 v1.5 decoding: the
//! key is exactly 16 bytes, so validity is a check of fixed positions, computed without
//! secret-dependent branches or memory accesses, and the caller always carries on with 16 bytes
//! (real or dummy) so that every failure looks the same.

use rsa::hazmat;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PrivateKey, PublicKey};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crypto_bigint::modular::BoxedMontyForm;

use crate::error::{Error, Result};

const HLEN: usize = 32;

/// Octet string → integer with the modulus's precision; `None` if it does not fit or is ≥ n.
fn os2ip(bytes: &[u8], key: &impl PublicKeyParts) -> Option<BoxedUint> {
    let x = BoxedUint::from_be_slice(bytes, key.n_bits_precision()).ok()?;
    if x >= key.n().as_ref() { None } else { Some(x) }
}

/// Integer → octet string of exactly `len` bytes; `None` if it needs more.
fn i2osp(x: &BoxedUint, len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let raw = Zeroizing::new(x.to_be_bytes());
    let mut out = Zeroizing::new(vec![0u8; len]);
    if raw.len() >= len {
        let (head, tail) = raw.split_at(raw.len() - len);
        // Only leading zero bytes may be dropped (public sizes; the value itself is not branched on
        // byte by byte: `fold` touches every byte).
        if head.iter().fold(0u8, |a, b| a | b) != 0 {
            return None;
        }
        out.copy_from_slice(tail);
    } else {
        out[len - raw.len()..].copy_from_slice(&raw);
    }
    Some(out)
}

/// `x^e mod n`.
pub(crate) fn public_op(key: &impl PublicKeyParts, x: &BoxedUint) -> Result<BoxedUint> {
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

/// `c^d mod n`, blinded with a fresh random factor and checked against faults.
pub(crate) fn private_op(key: &PrivateKey, c: &BoxedUint) -> Result<BoxedUint> {
    let fail = || Error::internal("RSA private operation failed");
    let params = key.n_params();
    let k = key.size();
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
    let blinded = BoxedMontyForm::new(c.clone(), params)
        .mul(&BoxedMontyForm::new(r_e, params))
        .retrieve();
    let m_blinded = Zeroizing::new(
        hazmat::rsa_decrypt::<getrandom::SysRng>(None, key, &blinded).map_err(|_| fail())?,
    );
    let m = BoxedMontyForm::new((*m_blinded).clone(), params)
        .mul(&r_inv)
        .retrieve();
    // Fault check: a faulty CRT half would leak a factor of n through the result.
    if public_op(key, &m)? != c {
        return Err(fail());
    }
    Ok(m)
}

fn mgf1_xor(seed: &[u8], out: &mut [u8]) {
    for (counter, chunk) in out.chunks_mut(HLEN).enumerate() {
        let mut h = Sha256::new();
        h.update(seed);
        h.update((counter as u32).to_be_bytes());
        let block = h.finalize();
        for (o, m) in chunk.iter_mut().zip(block.iter()) {
            *o ^= m;
        }
    }
}

fn em_bits(key: &impl PublicKeyParts) -> usize {
    key.n().as_ref().bit_width() as usize - 1
}

/// RSASSA-PSS signature of a 32-byte message hash: SHA-256, MGF1-SHA-256, salt of the maximum
/// length `emLen − 32 − 2` (what OpenSSL's `-2` gave legacy OT).
pub(crate) fn pss_sign_max_salt(key: &PrivateKey, m_hash: &[u8; 32]) -> Result<Vec<u8>> {
    let bits = em_bits(key);
    let em_len = bits.div_ceil(8);
    if em_len < HLEN + 2 {
        return Err(Error::invalid("key too small for PSS with SHA-256"));
    }
    let s_len = em_len - HLEN - 2;
    let mut salt = Zeroizing::new(vec![0u8; s_len]);
    crate::rng::fill(&mut salt)?;
    let mut h = Sha256::new();
    h.update([0u8; 8]);
    h.update(m_hash);
    h.update(&*salt);
    let hh = h.finalize();
    // EM = maskedDB || H || 0xbc, DB = PS || 0x01 || salt (PS empty at the maximum salt length).
    let db_len = em_len - HLEN - 1;
    let mut em = Zeroizing::new(vec![0u8; em_len]);
    em[db_len - s_len - 1] = 0x01;
    em[db_len - s_len..db_len].copy_from_slice(&salt);
    mgf1_xor(&hh, &mut em[..db_len]);
    em[0] &= 0xff >> (8 * em_len - bits);
    em[db_len..em_len - 1].copy_from_slice(&hh);
    em[em_len - 1] = 0xbc;
    let m = os2ip(&em, key).ok_or_else(|| Error::internal("PSS encoding out of range"))?;
    let s = private_op(key, &m)?;
    Ok(i2osp(&s, key.size())
        .ok_or_else(|| Error::internal("signature too long"))?
        .to_vec())
}

/// RSASSA-PSS verification (SHA-256, MGF1-SHA-256) of a 32-byte message hash, with the salt
/// length recovered from the signature (any length, as OpenSSL's `-2` accepted).
pub(crate) fn pss_verify_any_salt(key: &PublicKey, m_hash: &[u8; 32], sig: &[u8]) -> bool {
    if sig.len() != key.size() {
        return false;
    }
    let Some(s) = os2ip(sig, key) else {
        return false;
    };
    let Ok(m) = public_op(key, &s) else {
        return false;
    };
    let bits = em_bits(key);
    let em_len = bits.div_ceil(8);
    if em_len < HLEN + 2 {
        return false;
    }
    let Some(mut em) = i2osp(&m, em_len) else {
        return false;
    };
    if em[em_len - 1] != 0xbc {
        return false;
    }
    let db_len = em_len - HLEN - 1;
    let top_mask = !(0xffu8 >> (8 * em_len - bits));
    if em[0] & top_mask != 0 {
        return false;
    }
    let hh: [u8; HLEN] = match em[db_len..em_len - 1].try_into() {
        Ok(h) => h,
        Err(_) => return false,
    };
    mgf1_xor(&hh, &mut em[..db_len]);
    em[0] &= !top_mask;
    // DB = 0x00… || 0x01 || salt
    let Some(one) = em[..db_len].iter().position(|&b| b != 0) else {
        return false;
    };
    if em[one] != 0x01 {
        return false;
    }
    let salt = &em[one + 1..db_len];
    let mut h = Sha256::new();
    h.update([0u8; 8]);
    h.update(m_hash);
    h.update(salt);
    h.finalize().as_slice() == hh
}

/// RSAES-PKCS1-v1_5 encryption (type 2 padding with non-zero random bytes).
pub(crate) fn pkcs1v15_encrypt(key: &PublicKey, msg: &[u8]) -> Result<Vec<u8>> {
    let k = key.size();
    if msg.len() + 11 > k {
        return Err(Error::invalid("message too long for RSA PKCS#1 v1.5"));
    }
    let mut em = Zeroizing::new(vec![0u8; k]);
    em[1] = 0x02;
    let ps_end = k - msg.len() - 1;
    crate::rng::fill(&mut em[2..ps_end])?;
    for b in em[2..ps_end].iter_mut() {
        while *b == 0 {
            let mut one = [0u8; 1];
            crate::rng::fill(&mut one)?;
            *b = one[0];
        }
    }
    em[k - msg.len()..].copy_from_slice(msg);
    let m = os2ip(&em, key).ok_or_else(|| Error::internal("PKCS#1 encoding out of range"))?;
    let c = public_op(key, &m)?;
    Ok(i2osp(&c, k)
        .ok_or_else(|| Error::internal("ciphertext too long"))?
        .to_vec())
}

/// Constant-time "byte is zero": 1 or 0.
fn ct_is_zero(b: u8) -> u8 {
    ((u16::from(b).wrapping_sub(1)) >> 8) as u8 & 1
}

/// Decrypts an RSAES-PKCS1-v1_5 ciphertext that must hold exactly `N` bytes. Returns the `N` bytes
/// and 1 when the padding is valid; otherwise 0 and bytes the caller must not trust. Every
/// input of the right length takes the same path; the padding check has no secret-dependent
/// branch or index. Errors only when `ct` is not a number below n of the modulus' byte length
/// (public facts) or the private operation fails.
pub(crate) fn pkcs1v15_unwrap_fixed<const N: usize>(
    key: &PrivateKey,
    ct: &[u8],
) -> Result<(Zeroizing<[u8; N]>, u8)> {
    let k = key.size();
    let bad_len = || Error::invalid("wrapped key length differs from the modulus size");
    if ct.len() != k || k < N + 11 {
        return Err(bad_len());
    }
    let c = os2ip(ct, key).ok_or_else(bad_len)?;
    let m = Zeroizing::new(private_op(key, &c)?);
    let em = i2osp(&m, k).ok_or_else(|| Error::internal("RSA result too long"))?;
    // EM = 0x00 || 0x02 || PS (k-N-3 non-zero bytes) || 0x00 || M (N bytes)
    let sep = k - N - 1;
    let mut ok = ct_is_zero(em[0]) & ct_is_zero(em[1] ^ 0x02) & ct_is_zero(em[sep]);
    for &b in &em[2..sep] {
        ok &= 1 ^ ct_is_zero(b);
    }
    let mut out = Zeroizing::new([0u8; N]);
    out.copy_from_slice(&em[sep + 1..]);
    let mut em = em;
    em.zeroize();
    Ok((out, ok))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::Pkcs1v15Encrypt;
    use rsa::pss::Pss;

    fn key() -> PrivateKey {
        let mut k = PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
        k.precompute().unwrap();
        k
    }

    #[test]
    fn public_and_private_ops_agree_with_the_rsa_crate() {
        let k = key();
        let pk = k.to_public_key();
        for i in 0..20u32 {
            let x = BoxedUint::from_be_slice(&(i * 7919 + 3).to_be_bytes(), pk.n_bits_precision())
                .unwrap();
            assert_eq!(
                public_op(&pk, &x).unwrap(),
                hazmat::rsa_encrypt(&pk, &x).unwrap()
            );
            let c = hazmat::rsa_encrypt(&pk, &x).unwrap();
            assert_eq!(private_op(&k, &c).unwrap(), x);
        }
    }

    #[test]
    fn pss_interoperates_with_the_rsa_crate_both_ways() {
        let k = key();
        let pk = k.to_public_key();
        let digest: [u8; 32] = Sha256::digest(b"message").into();
        let ours = pss_sign_max_salt(&k, &digest).unwrap();
        let theirs_scheme = Pss::<Sha256> {
            blinded: false,
            digest: Sha256::new(),
            salt_len: None,
        };
        pk.verify(theirs_scheme, &digest, &ours).unwrap();
        let theirs = k
            .sign_with_rng(
                &mut getrandom::SysRng,
                Pss::<Sha256>::new_with_salt(20),
                &digest,
            )
            .unwrap();
        assert!(pss_verify_any_salt(&pk, &digest, &theirs));
        assert!(pss_verify_any_salt(&pk, &digest, &ours));
        let mut bad = ours.clone();
        bad[10] ^= 1;
        assert!(!pss_verify_any_salt(&pk, &digest, &bad));
        assert!(!pss_verify_any_salt(&pk, &[0u8; 32], &ours));
        assert!(!pss_verify_any_salt(&pk, &digest, &ours[1..]));
    }

    #[test]
    fn pkcs1v15_wrap_and_fixed_unwrap() {
        let k = key();
        let pk = k.to_public_key();
        let secret = [0x5au8; 16];
        // Ours → the rsa crate, and the rsa crate → ours.
        let c = pkcs1v15_encrypt(&pk, &secret).unwrap();
        assert_eq!(k.decrypt(Pkcs1v15Encrypt, &c).unwrap(), secret);
        let c2 = pk
            .encrypt(&mut getrandom::SysRng, Pkcs1v15Encrypt, &secret)
            .unwrap();
        let (got, ok) = pkcs1v15_unwrap_fixed::<16>(&k, &c2).unwrap();
        assert_eq!((*got, ok), (secret, 1));
        // Other lengths and broken paddings are invalid, never an early error.
        for len in [0usize, 15, 17, 32] {
            let c = pk
                .encrypt(&mut getrandom::SysRng, Pkcs1v15Encrypt, &vec![1u8; len])
                .unwrap();
            assert_eq!(
                pkcs1v15_unwrap_fixed::<16>(&k, &c).unwrap().1,
                0,
                "len {len}"
            );
        }
        // Hand-made encoded messages: each single defect is caught.
        let kk = pk.size();
        let good = {
            let mut em = vec![0u8; kk];
            em[1] = 2;
            em[2..kk - 17].fill(0x77);
            em[kk - 16..].copy_from_slice(&secret);
            em
        };
        let enc = |em: &[u8]| {
            let m = BoxedUint::from_be_slice(em, pk.n_bits_precision()).unwrap();
            i2osp(&hazmat::rsa_encrypt(&pk, &m).unwrap(), kk)
                .unwrap()
                .to_vec()
        };
        assert_eq!(pkcs1v15_unwrap_fixed::<16>(&k, &enc(&good)).unwrap().1, 1);
        let defects: [(usize, u8); 5] = [(0, 1), (1, 1), (2, 0), (kk - 18, 0), (kk - 17, 9)];
        for (pos, val) in defects {
            let mut em = good.clone();
            em[pos] = val;
            assert_eq!(
                pkcs1v15_unwrap_fixed::<16>(&k, &enc(&em)).unwrap().1,
                0,
                "defect at {pos}"
            );
        }
    }
}
