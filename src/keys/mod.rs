//! Keys: RSA (legacy suite) and Ed25519 / X25519 (suite v3): generation, loading from every
//! format legacy OT used and the RFC 8410 ones, export, and NymIDs.
//!
//! Loading detects the format:
//!
//! | input                                    | notes                                           |
//! |------------------------------------------|-------------------------------------------------|
//! | `PUBLIC KEY` PEM (SPKI)                  | standard                                        |
//! | OT public-key block (escaped or not)     | `PUBLIC KEY` bookends around data-path armor of an SPKI PEM |
//! | `RSA PUBLIC KEY` / `RSA PRIVATE KEY` PEM | PKCS#1; the private one may use traditional `DEK-Info` encryption |
//! | `PRIVATE KEY` / `ENCRYPTED PRIVATE KEY`  | PKCS#8, plain or PBES2 (legacy: PBKDF2-SHA1 + 3DES) |
//! | `CERTIFICATE` bundles                    | legacy cert files: the private key block wins when a passphrase is given; a lone certificate gives its public key |
//! | DER                                      | PKCS#8 (plain or encrypted), SPKI, PKCS#1; trailing bytes after the DER are ignored (legacy credential blobs have them) |
//!
//! Ed25519 and X25519 keys (suite v3) load from the RFC 8410 forms of the same containers:
//! PKCS#8 `PRIVATE KEY` (v1, or v2 with a matching public key), PBES2 `ENCRYPTED PRIVATE KEY`
//! and SPKI `PUBLIC KEY`, PEM or DER. Ed25519 public keys must be canonical and not of small
//! order; X25519 public keys must not be of small order.
//!
//! Passphrases are bytes: since mid-2012 legacy private keys are locked with the 16 raw bytes of
//! the wallet master key (see [`crate::symkey`]). As in legacy OT, an empty passphrase means
//! `"test"`.
//!
//! This file holds the key types, generation and the key operations (wrap, sign, verify);
//! `load` holds the format detection and loading above, `export` the export formats and the
//! NymID.

mod der;
mod ecc;
mod export;
mod legacy_pem;
mod load;
mod pem;
mod rsa_engine;
mod rsa_ops;

use rsa::pkcs1v15::Pkcs1v15Encrypt;
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};
pub use rsa_engine::ENGINE as RSA_ENGINE;
use rsa_engine::{Private as EnginePrivate, Public as EnginePublic};
use rsa_ops::Modulus;

/// Smallest RSA modulus accepted (legacy OT's default size).
pub const MIN_BITS: u32 = 1024;
/// Largest RSA modulus accepted.
pub const MAX_BITS: u32 = 8192;
/// Modulus size for new keys when the caller does not choose one.
pub const DEFAULT_BITS: u32 = 2048;
/// Largest key file accepted by [`Key::load`].
pub const MAX_KEY_INPUT: usize = 1024 * 1024;
/// PBKDF2 iteration counts above this are refused when loading (a hostile file could otherwise
/// make loading take hours).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// PBKDF2 iterations used by the modern encrypted-PKCS#8 export.
pub const MODERN_PBKDF2_ITERATIONS: u32 = 600_000;
/// PBKDF2 iterations used by the legacy (3DES) export, as OpenSSL 1.0 wrote them.
pub const LEGACY_PBKDF2_ITERATIONS: u32 = 2048;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// `-----BEGIN PUBLIC KEY-----` SubjectPublicKeyInfo PEM.
    SpkiPem,
    /// OT public-key block, escaped (`- -----BEGIN PUBLIC KEY-----`): the form NymIDs hash.
    OtPublic,
    /// OT public-key block, unescaped.
    OtPublicUnescaped,
    /// Encrypted PKCS#8 PEM, PBES2 with PBKDF2-HMAC-SHA256 (600 000 iterations) + AES-256-CBC.
    Pkcs8Encrypted,
    /// Encrypted PKCS#8 PEM as legacy OT wrote it: PBES2, PBKDF2-HMAC-SHA1 (2048 iterations,
    /// 8-byte salt) + DES-EDE3-CBC.
    Pkcs8EncryptedLegacy,
    /// Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Handle with care.
    Pkcs8Plain,
}

/// The algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSA (legacy suite): signs (PSS over SAMY) and opens type-1 envelopes.
    Rsa,
    /// Ed25519 (suite v3, roles A and S): signs `Hash: SHA256D` texts.
    Ed25519,
    /// X25519 (suite v3, role E): opens type-3 envelopes.
    X25519,
}

#[derive(Clone)]
enum Material {
    Rsa {
        public: PublicKey,
        /// The parsed private key (for export) and the RSA engine's copy (for the private
        /// operation).
        private: Option<(Box<PrivateKey>, EnginePrivate)>,
        /// The RSA engine's copy of the public key.
        engine: EnginePublic,
        /// The modulus, big-endian, exactly the key's byte size.
        n: Vec<u8>,
    },
    Ed25519(ecc::Ed),
    X25519(ecc::X),
}

/// A key, public or private: RSA (legacy suite), Ed25519 or X25519 (suite v3). Immutable; safe
/// to share between threads. Private material is zeroized when the key is dropped (the `rsa`
/// and dalek crates zeroize on drop; the OpenSSL engine's copy is freed with `RSA_free`, which
/// clears it).
#[derive(Clone)]
pub struct Key {
    m: Material,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Key {{ algorithm: {:?}, bits: {}, private: {} }}",
            self.algorithm(),
            self.bits(),
            self.is_private()
        )
    }
}

/// Using a key of the wrong algorithm is an argument error (`OT_ERR_INVALID_ARGUMENT`, "wrong
/// key type" in the C contract), not a key-format one.
fn wrong_kind(what: &str) -> Error {
    Error::invalid(what.to_string())
}

fn check_size(bits: usize) -> Result<()> {
    if bits < MIN_BITS as usize || bits > MAX_BITS as usize {
        return Err(Error::key_format(format!(
            "RSA modulus of {bits} bits is outside the supported {MIN_BITS}..={MAX_BITS}"
        )));
    }
    Ok(())
}

impl Key {
    fn from_public(k: PublicKey) -> Result<Key> {
        check_size(k.n().bit_width() as usize)?;
        let n = k.n().to_be_bytes_trimmed_vartime().to_vec();
        Ok(Key {
            m: Material::Rsa {
                engine: EnginePublic::new(&k)?,
                public: k,
                private: None,
                n,
            },
        })
    }

    fn from_private(mut k: PrivateKey) -> Result<Key> {
        check_size(k.n().bit_width() as usize)?;
        k.validate()
            .map_err(|_| Error::key_format("private key components are inconsistent"))?;
        let _ = k.precompute();
        let engine = EnginePrivate::new(&k)?;
        let mut key = Self::from_public(k.to_public_key())?;
        if let Material::Rsa { private, .. } = &mut key.m {
            *private = Some((Box::new(k), engine));
        }
        Ok(key)
    }

    /// The RSA engine's public key and the modulus, for the RSA operations.
    fn rsa_engine(&self) -> Result<(&EnginePublic, Modulus<'_>)> {
        match &self.m {
            Material::Rsa { engine, n, .. } => Ok((
                engine,
                Modulus {
                    bits: self.bits() as usize,
                    n,
                },
            )),
            _ => Err(wrong_kind("this operation needs an RSA key")),
        }
    }

    /// The RSA engine's private key and the modulus.
    fn rsa_engine_private(&self) -> Result<(&EnginePrivate, Modulus<'_>)> {
        match &self.m {
            Material::Rsa {
                private: Some((_, e)),
                n,
                ..
            } => Ok((
                e,
                Modulus {
                    bits: self.bits() as usize,
                    n,
                },
            )),
            Material::Rsa { private: None, .. } => {
                Err(Error::invalid("this operation needs a private key"))
            }
            _ => Err(wrong_kind("this operation needs an RSA key")),
        }
    }

    /// Generates a new key with public exponent 65537.
    pub fn generate(bits: u32) -> Result<Key> {
        if !(MIN_BITS..=MAX_BITS).contains(&bits) || !bits.is_multiple_of(8) {
            return Err(Error::invalid(format!(
                "key size must be a multiple of 8 in {MIN_BITS}..={MAX_BITS} bits, not {bits}"
            )));
        }
        let k = PrivateKey::new(&mut crate::rng::os_rng(), bits as usize)
            .map_err(|_| Error::internal("RSA key generation failed"))?;
        Self::from_private(k)
    }

    /// Generates a new Ed25519 key (suite v3 roles A and S) from 32 bytes of OS randomness.
    pub fn generate_ed25519() -> Result<Key> {
        Ok(Key {
            m: Material::Ed25519(ecc::Ed::generate()?),
        })
    }

    /// Generates a new X25519 key (suite v3 role E) from 32 bytes of OS randomness.
    pub fn generate_x25519() -> Result<Key> {
        Ok(Key {
            m: Material::X25519(ecc::X::generate()?),
        })
    }

    fn from_decoded(d: ecc::Decoded) -> Key {
        match d {
            ecc::Decoded::Ed(e) => Key {
                m: Material::Ed25519(e),
            },
            ecc::Decoded::X(x) => Key {
                m: Material::X25519(x),
            },
        }
    }

    /// A public-only copy.
    pub fn to_public(&self) -> Key {
        let m = match &self.m {
            Material::Rsa {
                public, engine, n, ..
            } => Material::Rsa {
                public: public.clone(),
                private: None,
                engine: engine.clone(),
                n: n.clone(),
            },
            Material::Ed25519(e) => Material::Ed25519(ecc::Ed {
                public: e.public,
                private: None,
            }),
            Material::X25519(x) => Material::X25519(ecc::X {
                public: x.public,
                private: None,
                engine: std::sync::OnceLock::new(),
            }),
        };
        Key { m }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.m {
            Material::Rsa { .. } => Algorithm::Rsa,
            Material::Ed25519(_) => Algorithm::Ed25519,
            Material::X25519(_) => Algorithm::X25519,
        }
    }

    /// Whether this is a suite v3 key (Ed25519 or X25519).
    pub fn is_v3(&self) -> bool {
        !matches!(self.m, Material::Rsa { .. })
    }

    /// Whether this key holds private material.
    pub fn is_private(&self) -> bool {
        match &self.m {
            Material::Rsa { private, .. } => private.is_some(),
            Material::Ed25519(e) => e.private.is_some(),
            Material::X25519(x) => x.private.is_some(),
        }
    }

    /// RSA: the modulus size in bits. Ed25519 and X25519: 256 (the size of the 32-byte keys).
    pub fn bits(&self) -> u32 {
        match &self.m {
            Material::Rsa { public, .. } => public.n().bit_width(),
            _ => 256,
        }
    }

    /// RSA: the modulus size in bytes (the length of signatures and wrapped keys).
    /// Ed25519 and X25519: 32 (the public key's length).
    pub fn size(&self) -> usize {
        match &self.m {
            Material::Rsa { public, .. } => public.size(),
            _ => 32,
        }
    }

    fn rsa_public(&self) -> Result<&PublicKey> {
        match &self.m {
            Material::Rsa { public, .. } => Ok(public),
            _ => Err(wrong_kind("this operation needs an RSA key")),
        }
    }

    pub(crate) fn private_key(&self) -> Result<&PrivateKey> {
        match &self.m {
            Material::Rsa {
                private: Some((k, _)),
                ..
            } => Ok(k),
            Material::Rsa { private: None, .. } => {
                Err(Error::invalid("this operation needs a private key"))
            }
            _ => Err(wrong_kind("this operation needs an RSA key")),
        }
    }

    /// Fails unless the key holds private material (of any algorithm).
    #[allow(dead_code)]
    pub(crate) fn require_private(&self) -> Result<()> {
        if self.is_private() {
            Ok(())
        } else {
            Err(Error::invalid("this operation needs a private key"))
        }
    }

    pub(crate) fn ed25519(&self) -> Result<&ecc::Ed> {
        match &self.m {
            Material::Ed25519(e) => Ok(e),
            _ => Err(wrong_kind("this operation needs an Ed25519 key")),
        }
    }

    /// The X25519 public key bytes.
    pub(crate) fn x25519_public(&self) -> Result<&x25519_dalek::PublicKey> {
        match &self.m {
            Material::X25519(x) => Ok(&x.public),
            _ => Err(wrong_kind("this operation needs an X25519 key")),
        }
    }

    /// X25519(this private key, u) (RFC 7748), in the build's X25519 engine
    /// (`docs/x25519-engine.md`). An all-zero result (small-order `u`) is returned as it is.
    pub(crate) fn x25519_dh(&self, u: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>> {
        self.x25519_secret()?;
        match &self.m {
            Material::X25519(x) => x
                .dh(u)
                .ok_or_else(|| Error::invalid("this operation needs a private key")),
            _ => Err(wrong_kind("this operation needs an X25519 key")),
        }
    }

    /// The X25519 static secret.
    pub(crate) fn x25519_secret(&self) -> Result<&x25519_dalek::StaticSecret> {
        match &self.m {
            Material::X25519(ecc::X {
                private: Some(s), ..
            }) => Ok(s),
            Material::X25519(_) => Err(Error::invalid("this operation needs a private key")),
            _ => Err(wrong_kind("this operation needs an X25519 key")),
        }
    }

    /// RSA PKCS#1 v1.5 encryption (type 2 padding) of a short secret, as `EVP_SealInit` did.
    pub(crate) fn wrap(&self, secret: &[u8]) -> Result<Vec<u8>> {
        let (engine, modulus) = self.rsa_engine()?;
        rsa_ops::pkcs1v15_encrypt(engine, modulus, secret)
    }

    /// Unwraps an envelope's 16-byte session key: the bytes and 1 when the PKCS#1 v1.5 padding is
    /// valid for a 16-byte message, otherwise dummy bytes and 0 — decided without
    /// secret-dependent branches, so every failure takes the same path.
    pub(crate) fn unwrap_session_key(&self, wrapped: &[u8]) -> Result<(Zeroizing<[u8; 16]>, u8)> {
        let (engine, modulus) = self.rsa_engine_private()?;
        rsa_ops::pkcs1v15_unwrap_fixed::<16>(engine, modulus, wrapped)
    }

    /// RSA PKCS#1 v1.5 decryption with implicit rejection: malformed padding yields
    /// pseudo-random bytes, not an error, so callers must check what they get. Errors only for
    /// structural problems (ciphertext length ≠ modulus size) or a public key.
    pub fn unwrap_pkcs1(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let k = self.private_key()?;
        k.decrypt(Pkcs1v15Encrypt, wrapped)
            .map(Zeroizing::new)
            .map_err(|_| Error::decrypt_failed())
    }

    /// [`Self::unwrap_session_key`] for the known-answer tests (not part of the stable API).
    #[doc(hidden)]
    pub fn unwrap_session_key_for_tests(&self, wrapped: &[u8]) -> Result<(Vec<u8>, u8)> {
        self.unwrap_session_key(wrapped)
            .map(|(k, ok)| (k.to_vec(), ok))
    }

    /// Legacy OT signature over a 32-byte SAMY digest: EMSA-PSS with SHA-256, MGF1-SHA-256 and
    /// the maximum salt length (`emLen - 32 - 2`; 94 bytes for RSA-1024), raw RSA, k bytes.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>> {
        let (engine, modulus) = self.rsa_engine_private()?;
        rsa_ops::pss_sign_max_salt(engine, modulus, digest)
    }

    /// Pure Ed25519 (RFC 8032) signature of `msg` with an Ed25519 private key: 64 bytes,
    /// deterministic.
    pub fn sign_ed25519(&self, msg: &[u8]) -> Result<[u8; 64]> {
        self.ed25519()?.sign(msg)
    }

    /// Strict Ed25519 verification (exactly 64 bytes, canonical `S` and `R`, `R` not of small
    /// order; the key itself was checked on load).
    pub fn verify_ed25519(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        self.ed25519()?.verify(msg, sig)
    }

    /// Verifies a legacy OT signature over a 32-byte digest (PSS, MGF1-SHA-256, salt length
    /// recovered from the signature, as OpenSSL's `-2` did).
    pub fn verify_digest(&self, digest: &[u8; 32], sig: &[u8]) -> Result<()> {
        let (engine, modulus) = self.rsa_engine()?;
        if rsa_ops::pss_verify_any_salt(engine, modulus, digest, sig) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::BadSignature,
                "the signature does not verify with this key",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash;

    fn x_key(k: &[u8; 32]) -> Key {
        Key {
            m: Material::X25519(ecc::X::from_secret(k)),
        }
    }

    /// The key's X25519 engine (OpenSSL by default) equals the RFC 7748 function: the RFC
    /// vectors, random points (half on the twist), small-order points (all zero), u >= p.
    #[test]
    fn x25519_engine_equals_rfc7748() {
        let hex = |s: &str| -> [u8; 32] {
            let v: Vec<u8> = (0..64)
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect();
            v.try_into().unwrap()
        };
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/vectors/rfc/rfc7748_x25519.txt"
        ))
        .unwrap();
        let mut n = 0;
        for rec in text.split("\n\n") {
            let get = |k: &str| {
                rec.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                    .map(hex)
            };
            if let (Some(k), Some(u), Some(out)) =
                (get("INPUT_SCALAR"), get("INPUT_U"), get("OUTPUT_U"))
            {
                assert_eq!(*x_key(&k).x25519_dh(&u).unwrap(), out);
                n += 1;
            }
        }
        assert!(n >= 2);
        let mut rnd = [0u8; 64 * 200];
        crate::rng::fill(&mut rnd).unwrap();
        for c in rnd.chunks(64) {
            let k: [u8; 32] = c[..32].try_into().unwrap();
            let u: [u8; 32] = c[32..].try_into().unwrap();
            assert_eq!(
                *x_key(&k).x25519_dh(&u).unwrap(),
                x25519_dalek::x25519(k, u)
            );
        }
        // small order: 0, 1, and the order-8 point (every result all zero)
        let mut eight = [0u8; 32];
        eight.copy_from_slice(&hex(
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        ));
        for u in [
            [0u8; 32],
            {
                let mut o = [0u8; 32];
                o[0] = 1;
                o
            },
            eight,
        ] {
            let k = [0x42u8; 32];
            assert_eq!(*x_key(&k).x25519_dh(&u).unwrap(), [0u8; 32]);
            assert_eq!(x25519_dalek::x25519(k, u), [0u8; 32]);
        }
        // a public key has no DH
        assert!(x_key(&[1u8; 32]).to_public().x25519_dh(&[9u8; 32]).is_err());
        // In the default build the DH above ran in OpenSSL: the key holds its OpenSSL copy
        // after the first one (not the dalek fallback).
        let k = x_key(&[7u8; 32]);
        assert_eq!(
            *k.x25519_dh(&[9u8; 32]).unwrap(),
            x25519_dalek::x25519([7u8; 32], [9u8; 32])
        );
        let Material::X25519(x) = &k.m else {
            panic!("an X25519 key")
        };
        let in_openssl = matches!(x.engine.get(), Some(Some(_)));
        assert_eq!(
            in_openssl,
            cfg!(all(
                feature = "openssl-rsa-engine",
                not(feature = "rust-rsa-engine")
            ))
        );
    }

    #[test]
    fn generate_export_load_every_format() {
        let k = Key::generate(1024).unwrap();
        assert!(k.is_private());
        assert_eq!(k.bits(), 1024);
        let id = k.nym_id().unwrap();
        for f in [
            KeyFormat::SpkiPem,
            KeyFormat::OtPublic,
            KeyFormat::OtPublicUnescaped,
        ] {
            let e = k.export(f, None).unwrap();
            let p = Key::load(&e, None).unwrap();
            assert!(!p.is_private());
            assert_eq!(p.nym_id().unwrap(), id);
        }
        let plain = k.export(KeyFormat::Pkcs8Plain, None).unwrap();
        assert_eq!(Key::load(&plain, None).unwrap().nym_id().unwrap(), id);
        let pass = [0u8, 1, 2, 255, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        for f in [KeyFormat::Pkcs8EncryptedLegacy, KeyFormat::Pkcs8Encrypted] {
            let e = k.export(f, Some(&pass)).unwrap();
            assert!(e.starts_with(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
            let l = Key::load(&e, Some(&pass)).unwrap();
            assert!(l.is_private());
            assert_eq!(l.nym_id().unwrap(), id);
            let wrong = Key::load(&e, Some(b"wrong")).unwrap_err();
            assert_eq!(wrong.kind(), ErrorKind::BadPassphrase);
            assert_eq!(
                Key::load(&e, None).unwrap_err().kind(),
                ErrorKind::BadPassphrase
            );
        }
        assert!(k.to_public().export(KeyFormat::Pkcs8Plain, None).is_err());
    }

    #[test]
    fn sign_verify_max_salt() {
        let k = Key::generate(1024).unwrap();
        let d = hash::samy(b"hello");
        let s = k.sign_digest(&d).unwrap();
        assert_eq!(s.len(), 128);
        k.to_public().verify_digest(&d, &s).unwrap();
        let mut bad = s.clone();
        bad[5] ^= 1;
        assert!(k.verify_digest(&d, &bad).is_err());
        assert!(k.verify_digest(&hash::samy(b"hellO"), &s).is_err());
    }

    #[test]
    fn garbage_keys_are_rejected() {
        for g in [
            &b""[..],
            b"\x30\x82\xff\xff",
            b"hello",
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            b"-----BEGIN PUBLIC KEY-----\n",
        ] {
            assert!(Key::load(g, None).is_err());
        }
        assert!(Key::generate(512).is_err());
        assert!(Key::generate(1025).is_err());
    }
}
