//! The four RSA operations legacy OT needs, with our paddings above an RSA engine
//! ([`super::rsa_engine`]: OpenSSL's libcrypto by default, pure Rust behind a feature) that only
//! computes the raw `xᵉ mod n` / blinded `cᵈ mod n`.
//!
//! The paddings are the standard ones (RFC 8017): EMSA-PSS encode/verify and RSAES-PKCS1-v1_5
//! encryption. Unwrapping an envelope's session key is a *fixed-length* PKCS#1 v1.5 decoding: the
//! key is exactly 16 bytes, so validity is a check of fixed positions, computed without
//! secret-dependent branches or memory accesses, and the caller always carries on with 16 bytes
//! (real or dummy) so that every failure looks the same.
//!
//! Every private result is checked against its input with the public operation before it is
//! used (a fault in a CRT half would otherwise leak a factor of n through a signature), whatever
//! the engine does inside.

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::rsa_engine::{PrivateOp, PublicOp};
use crate::error::{Error, Result};

const HLEN: usize = 32;

/// The public facts about a modulus the paddings need: its bit length and big-endian bytes.
#[derive(Clone, Copy)]
pub(crate) struct Modulus<'a> {
    pub bits: usize,
    pub n: &'a [u8],
}

impl Modulus<'_> {
    /// Modulus size in bytes.
    fn k(&self) -> usize {
        self.n.len()
    }
    /// Whether the k-byte big-endian `x` is below n (public values only: variable time).
    fn above(&self, x: &[u8]) -> bool {
        x.len() != self.k() || x >= self.n
    }
}

/// `cᵈ mod n` through the engine (blinded there), then the fault check `mᵉ = c`.
fn private_checked(key: &impl PrivateOp, m: Modulus, c: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let fail = || Error::internal("RSA private operation failed");
    let mut out = Zeroizing::new(vec![0u8; m.k()]);
    key.private(c, &mut out)?;
    let mut back = vec![0u8; m.k()];
    key.public(&out, &mut back)?;
    // Fault check: a faulty CRT half would leak a factor of n through the result. `c` is public;
    // the comparison still touches every byte.
    if back.iter().zip(c).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
        out.zeroize();
        return Err(fail());
    }
    Ok(out)
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

/// RSASSA-PSS signature of a 32-byte message hash: SHA-256, MGF1-SHA-256, salt of the maximum
/// length `emLen − 32 − 2` (what OpenSSL's `-2` gave legacy OT).
pub(crate) fn pss_sign_max_salt(
    key: &impl PrivateOp,
    m: Modulus,
    m_hash: &[u8; 32],
) -> Result<Vec<u8>> {
    let bits = m.bits - 1;
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
    // As an integer it has the modulus's byte length (a leading zero byte when emBits is a
    // multiple of 8) and is below n: its top bit is cleared.
    let db_len = em_len - HLEN - 1;
    let mut em = Zeroizing::new(vec![0u8; m.k()]);
    let off = m.k() - em_len;
    {
        let e = &mut em[off..];
        e[db_len - s_len - 1] = 0x01;
        e[db_len - s_len..db_len].copy_from_slice(&salt);
        mgf1_xor(&hh, &mut e[..db_len]);
        e[0] &= 0xff >> (8 * em_len - bits);
        e[db_len..em_len - 1].copy_from_slice(&hh);
        e[em_len - 1] = 0xbc;
    }
    Ok(private_checked(key, m, &em)?.to_vec())
}

/// RSASSA-PSS verification (SHA-256, MGF1-SHA-256) of a 32-byte message hash, with the salt
/// length recovered from the signature (any length, as OpenSSL's `-2` accepted).
pub(crate) fn pss_verify_any_salt(
    key: &impl PublicOp,
    m: Modulus,
    m_hash: &[u8; 32],
    sig: &[u8],
) -> bool {
    if m.above(sig) {
        return false;
    }
    let mut full = vec![0u8; m.k()];
    if key.public(sig, &mut full).is_err() {
        return false;
    }
    let bits = m.bits - 1;
    let em_len = bits.div_ceil(8);
    if em_len < HLEN + 2 {
        return false;
    }
    // The integer must fit in em_len bytes.
    let (lead, em) = full.split_at_mut(m.k() - em_len);
    if lead.iter().any(|&b| b != 0) {
        return false;
    }
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
pub(crate) fn pkcs1v15_encrypt(key: &impl PublicOp, m: Modulus, msg: &[u8]) -> Result<Vec<u8>> {
    let k = m.k();
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
    let mut c = vec![0u8; k];
    key.public(&em, &mut c)?;
    Ok(c)
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
    key: &impl PrivateOp,
    m: Modulus,
    ct: &[u8],
) -> Result<(Zeroizing<[u8; N]>, u8)> {
    let k = m.k();
    let bad_len = || Error::invalid("wrapped key length differs from the modulus size");
    if ct.len() != k || k < N + 11 || m.above(ct) {
        return Err(bad_len());
    }
    let mut em = private_checked(key, m, ct)?;
    // EM = 0x00 || 0x02 || PS (k-N-3 non-zero bytes) || 0x00 || M (N bytes)
    let sep = k - N - 1;
    let mut ok = ct_is_zero(em[0]) & ct_is_zero(em[1] ^ 0x02) & ct_is_zero(em[sep]);
    for &b in &em[2..sep] {
        ok &= 1 ^ ct_is_zero(b);
    }
    let mut out = Zeroizing::new([0u8; N]);
    out.copy_from_slice(&em[sep + 1..]);
    em.zeroize();
    Ok((out, ok))
}

#[cfg(test)]
mod tests {
    use super::super::rsa_engine::{Private, Public};
    use super::*;
    use rsa::pkcs1v15::Pkcs1v15Encrypt;
    use rsa::pss::Pss;
    use rsa::traits::PublicKeyParts;
    use rsa::{BoxedUint, PrivateKey, PublicKey, hazmat};

    struct T {
        k: PrivateKey,
        pk: PublicKey,
        eng: Private,
        eng_pub: Public,
        n: Vec<u8>,
    }

    impl T {
        fn m(&self) -> Modulus<'_> {
            Modulus {
                bits: self.pk.n().bit_width() as usize,
                n: &self.n,
            }
        }
    }

    fn key() -> T {
        let mut k = PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
        k.precompute().unwrap();
        let pk = k.to_public_key();
        let n = pk.n().to_be_bytes().to_vec();
        T {
            eng: Private::new(&k).unwrap(),
            eng_pub: Public::new(&pk).unwrap(),
            n,
            k,
            pk,
        }
    }

    fn be(x: &BoxedUint, k: usize) -> Vec<u8> {
        let b = x.to_be_bytes();
        b[b.len() - k..].to_vec()
    }

    #[test]
    fn engine_ops_agree_with_the_rsa_crate() {
        let t = key();
        let kk = t.pk.size();
        for i in 0..20u32 {
            let x =
                BoxedUint::from_be_slice(&(i * 7919 + 3).to_be_bytes(), t.pk.n_bits_precision())
                    .unwrap();
            let xb = be(&x, kk);
            let c = be(&hazmat::rsa_encrypt(&t.pk, &x).unwrap(), kk);
            let mut out = vec![0u8; kk];
            t.eng_pub.public(&xb, &mut out).unwrap();
            assert_eq!(out, c);
            t.eng.public(&xb, &mut out).unwrap();
            assert_eq!(out, c);
            t.eng.private(&c, &mut out).unwrap();
            assert_eq!(out, xb);
            assert_eq!(&*private_checked(&t.eng, t.m(), &c).unwrap(), &xb);
        }
        // n itself and anything above is refused, by both operations.
        let mut out = vec![0u8; kk];
        assert!(t.eng_pub.public(&t.n, &mut out).is_err());
        assert!(t.eng.private(&t.n, &mut out).is_err());
        assert!(t.eng.private(&[0xff; 128], &mut out).is_err());
        // Wrong lengths are errors, never panics.
        assert!(t.eng.private(&t.n[1..], &mut out).is_err());
        assert!(t.eng_pub.public(&xb_one(kk), &mut out[1..]).is_err());
    }

    fn xb_one(k: usize) -> Vec<u8> {
        let mut v = vec![0u8; k];
        v[k - 1] = 1;
        v
    }

    #[test]
    fn pss_interoperates_with_the_rsa_crate_both_ways() {
        let t = key();
        let digest: [u8; 32] = Sha256::digest(b"message").into();
        let ours = pss_sign_max_salt(&t.eng, t.m(), &digest).unwrap();
        let theirs_scheme = Pss::<Sha256> {
            blinded: false,
            digest: Sha256::new(),
            salt_len: None,
        };
        t.pk.verify(theirs_scheme, &digest, &ours).unwrap();
        let theirs =
            t.k.sign_with_rng(
                &mut getrandom::SysRng,
                Pss::<Sha256>::new_with_salt(20),
                &digest,
            )
            .unwrap();
        assert!(pss_verify_any_salt(&t.eng_pub, t.m(), &digest, &theirs));
        assert!(pss_verify_any_salt(&t.eng_pub, t.m(), &digest, &ours));
        let mut bad = ours.clone();
        bad[10] ^= 1;
        assert!(!pss_verify_any_salt(&t.eng_pub, t.m(), &digest, &bad));
        assert!(!pss_verify_any_salt(&t.eng_pub, t.m(), &[0u8; 32], &ours));
        assert!(!pss_verify_any_salt(&t.eng_pub, t.m(), &digest, &ours[1..]));
        assert!(!pss_verify_any_salt(&t.eng_pub, t.m(), &digest, &t.n));
    }

    #[test]
    fn pkcs1v15_wrap_and_fixed_unwrap() {
        let t = key();
        let secret = [0x5au8; 16];
        // Ours → the rsa crate, and the rsa crate → ours.
        let c = pkcs1v15_encrypt(&t.eng_pub, t.m(), &secret).unwrap();
        assert_eq!(t.k.decrypt(Pkcs1v15Encrypt, &c).unwrap(), secret);
        let c2 =
            t.pk.encrypt(&mut getrandom::SysRng, Pkcs1v15Encrypt, &secret)
                .unwrap();
        let (got, ok) = pkcs1v15_unwrap_fixed::<16>(&t.eng, t.m(), &c2).unwrap();
        assert_eq!((*got, ok), (secret, 1));
        // Other lengths and broken paddings are invalid, never an early error.
        for len in [0usize, 15, 17, 32] {
            let c =
                t.pk.encrypt(&mut getrandom::SysRng, Pkcs1v15Encrypt, &vec![1u8; len])
                    .unwrap();
            assert_eq!(
                pkcs1v15_unwrap_fixed::<16>(&t.eng, t.m(), &c).unwrap().1,
                0,
                "len {len}"
            );
        }
        // Out-of-range ciphertexts are the (public) length error.
        assert!(pkcs1v15_unwrap_fixed::<16>(&t.eng, t.m(), &t.n).is_err());
        assert!(pkcs1v15_unwrap_fixed::<16>(&t.eng, t.m(), &c2[1..]).is_err());
        // Hand-made encoded messages: each single defect is caught.
        let kk = t.pk.size();
        let good = {
            let mut em = vec![0u8; kk];
            em[1] = 2;
            em[2..kk - 17].fill(0x77);
            em[kk - 16..].copy_from_slice(&secret);
            em
        };
        let enc = |em: &[u8]| {
            let m = BoxedUint::from_be_slice(em, t.pk.n_bits_precision()).unwrap();
            be(&hazmat::rsa_encrypt(&t.pk, &m).unwrap(), kk)
        };
        assert_eq!(
            pkcs1v15_unwrap_fixed::<16>(&t.eng, t.m(), &enc(&good))
                .unwrap()
                .1,
            1
        );
        let defects: [(usize, u8); 5] = [(0, 1), (1, 1), (2, 0), (kk - 18, 0), (kk - 17, 9)];
        for (pos, val) in defects {
            let mut em = good.clone();
            em[pos] = val;
            assert_eq!(
                pkcs1v15_unwrap_fixed::<16>(&t.eng, t.m(), &enc(&em))
                    .unwrap()
                    .1,
                0,
                "defect at {pos}"
            );
        }
    }

    /// An engine whose private results are corrupted (a stand-in for a faulty CRT half).
    #[derive(Clone)]
    struct Faulty(Private);
    impl PublicOp for Faulty {
        fn public(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
            self.0.public(input, out)
        }
    }
    impl PrivateOp for Faulty {
        fn private(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
            self.0.private(input, out)?;
            let last = out.len() - 1;
            out[last] ^= 1;
            Ok(())
        }
    }

    /// The fault check refuses a result that does not match its input: neither a signature nor
    /// an unwrapped key comes out of a faulty private operation.
    #[test]
    fn fault_check_refuses_a_wrong_private_result() {
        let t = key();
        let faulty = Faulty(t.eng.clone());
        let digest = [3u8; 32];
        assert!(pss_sign_max_salt(&faulty, t.m(), &digest).is_err());
        assert!(pss_sign_max_salt(&t.eng, t.m(), &digest).is_ok());
        let c = pkcs1v15_encrypt(&t.eng_pub, t.m(), &[7u8; 16]).unwrap();
        assert!(pkcs1v15_unwrap_fixed::<16>(&faulty, t.m(), &c).is_err());
        assert_eq!(pkcs1v15_unwrap_fixed::<16>(&t.eng, t.m(), &c).unwrap().1, 1);
    }
}
