//! Suite v3 keys: Ed25519 (roles A and S) and X25519 (role E), in the RFC 8410 encodings.
//!
//! The curve arithmetic is the dalek crates'; this module only encodes, decodes and checks.
//! Private scalars live in `ed25519_dalek::SigningKey` / `x25519_dalek::StaticSecret`, which
//! zeroize themselves on drop; every temporary copy here is wrapped in `Zeroizing`.

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use pkcs8::der::asn1::ObjectIdentifier;
use x25519_dalek::{PublicKey as XPublic, StaticSecret};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// id-Ed25519 (RFC 8410).
pub(crate) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-X25519 (RFC 8410).
pub(crate) const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (the 32 key bytes follow).
const SPKI_ED25519: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of an X25519 SubjectPublicKeyInfo.
const SPKI_X25519: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
];
/// DER prefix of a version-1 Ed25519 PKCS#8 PrivateKeyInfo (the 32 seed bytes follow).
const PKCS8_ED25519: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of a version-1 X25519 PKCS#8 PrivateKeyInfo.
const PKCS8_X25519: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

/// An Ed25519 key: the public point, and the signing key when private.
#[derive(Clone)]
pub(crate) struct Ed {
    pub public: VerifyingKey,
    pub private: Option<Box<SigningKey>>,
}

/// An X25519 key: the public u-coordinate, and the static secret when private (with the
/// engine's copy of it, loaded on the key's first Diffie-Hellman and kept: [`X::dh`],
/// `docs/x25519-engine.md`; loading it at creation would slow key generation down).
#[derive(Clone)]
pub(crate) struct X {
    pub public: XPublic,
    pub private: Option<Box<StaticSecret>>,
    pub engine: std::sync::OnceLock<Option<x_engine::Secret>>,
}

/// The X25519 engine for a private key's Diffie-Hellman (the variable-base scalar
/// multiplication that opens every type-3 wrap): OpenSSL's `libcrypto` (x86-64 assembly, the
/// key loaded once into an `EVP_PKEY`) with the default `openssl-rsa-engine` feature, and
/// curve25519-dalek ([`crate::envelope::hpke::x25519`]) with `rust-rsa-engine` or when OpenSSL
/// cannot load the key. Same results on every input (RFC 7748 vectors and random points,
/// `tests/v3_primitives.rs`).
#[cfg(all(feature = "openssl-rsa-engine", not(feature = "rust-rsa-engine")))]
pub(crate) mod x_engine {
    use std::sync::{Arc, Mutex};

    use openssl::pkey::{Id, PKey, Private};
    use openssl::pkey_ctx::PkeyCtx;
    use zeroize::Zeroizing;

    /// OpenSSL's copy of the secret; `EVP_PKEY_free` clears it (`OPENSSL_secure_clear_free`).
    /// With it, a derivation context made ready once (`EVP_PKEY_derive_init`: the key-exchange
    /// method fetched from the provider) and reused by the calls that find it free: only the
    /// peer changes per call. A call that finds it taken (another thread) makes its own.
    #[derive(Clone)]
    pub(crate) struct Secret {
        key: PKey<Private>,
        ready: Arc<Mutex<Option<PkeyCtx<Private>>>>,
    }

    impl Secret {
        pub(crate) fn load(sk: &[u8; 32]) -> Option<Secret> {
            let key = PKey::private_key_from_raw_bytes(sk, Id::X25519).ok()?;
            let ready = Arc::new(Mutex::new(Self::context(&key)));
            Some(Secret { key, ready })
        }

        fn context(key: &PKey<Private>) -> Option<PkeyCtx<Private>> {
            let mut c = PkeyCtx::new(key).ok()?;
            c.derive_init().ok()?;
            Some(c)
        }

        /// X25519(secret, u); all zero when OpenSSL refuses (it refuses exactly the all-zero
        /// results of small-order `u`, which the callers treat as a failure anyway).
        pub(crate) fn dh(&self, u: &[u8; 32]) -> Zeroizing<[u8; 32]> {
            let mut out = Zeroizing::new([0u8; 32]);
            let derive = |c: &mut PkeyCtx<Private>, out: &mut [u8; 32]| -> Option<()> {
                let peer = PKey::public_key_from_raw_bytes(u, Id::X25519).ok()?;
                c.derive_set_peer(&peer).ok()?;
                (c.derive(Some(out)).ok()? == 32).then_some(())
            };
            let fresh =
                |out: &mut [u8; 32]| Self::context(&self.key).and_then(|mut c| derive(&mut c, out));
            let ok = match self.ready.try_lock() {
                Ok(mut g) => match g.as_mut().map(|c| derive(c, &mut out)) {
                    Some(Some(())) => Some(()),
                    // Refused (a small-order `u`, public): start the next call from a new
                    // context rather than trust this one's state.
                    Some(None) => {
                        *g = Self::context(&self.key);
                        None
                    }
                    None => fresh(&mut out),
                },
                Err(_) => fresh(&mut out),
            };
            if ok.is_none() {
                *out = [0u8; 32];
            }
            out
        }
    }
}

#[cfg(feature = "rust-rsa-engine")]
pub(crate) mod x_engine {
    use zeroize::Zeroizing;

    /// The pure-Rust build has no second copy: [`super::X::dh`] uses the dalek secret.
    #[derive(Clone)]
    pub(crate) enum Secret {}

    impl Secret {
        pub(crate) fn load(_sk: &[u8; 32]) -> Option<Secret> {
            None
        }

        pub(crate) fn dh(&self, _u: &[u8; 32]) -> Zeroizing<[u8; 32]> {
            match *self {}
        }
    }
}

fn bad_sig() -> Error {
    Error::new(
        ErrorKind::BadSignature,
        "the signature does not verify with this key",
    )
}

/// Strict decoding of an Ed25519 public key: the encoding must be canonical (y < p, and no
/// "negative zero" x) and the point must not have small order.
pub(crate) fn ed25519_public(bytes: &[u8; 32]) -> Result<VerifyingKey> {
    let vk = VerifyingKey::from_bytes(bytes)
        .map_err(|_| Error::key_format("Ed25519 public key is not a curve point"))?;
    if vk.to_edwards().compress().to_bytes() != *bytes {
        return Err(Error::key_format(
            "Ed25519 public key is not canonically encoded",
        ));
    }
    if vk.is_weak() {
        return Err(Error::key_format(
            "Ed25519 public key has small order (a weak key)",
        ));
    }
    Ok(vk)
}

/// X25519 public keys of small order make every shared secret all-zero; they are refused on
/// load (HPKE would refuse them at sealing time anyway).
pub(crate) fn x25519_public(bytes: &[u8; 32]) -> Result<XPublic> {
    // Scalar multiplication by a clamped scalar (a multiple of 8) kills exactly the small-order
    // points, so a fixed non-zero scalar tells them apart.
    let probe = x25519_dalek::x25519([9u8; 32], *bytes);
    if probe == [0u8; 32] {
        return Err(Error::key_format(
            "X25519 public key has small order (every shared secret would be zero)",
        ));
    }
    Ok(XPublic::from(*bytes))
}

impl Ed {
    pub fn generate() -> Result<Ed> {
        let mut seed = Zeroizing::new([0u8; 32]);
        crate::rng::fill(seed.as_mut())?;
        Ok(Self::from_seed(&seed))
    }

    pub fn from_seed(seed: &[u8; 32]) -> Ed {
        let sk = SigningKey::from_bytes(seed);
        Ed {
            public: sk.verifying_key(),
            private: Some(Box::new(sk)),
        }
    }

    pub fn spki_der(&self) -> Vec<u8> {
        [&SPKI_ED25519[..], self.public.as_bytes()].concat()
    }

    pub fn pkcs8_der(&self) -> Option<Zeroizing<Vec<u8>>> {
        let sk = self.private.as_ref()?;
        let mut v = Zeroizing::new(Vec::with_capacity(48));
        v.extend_from_slice(&PKCS8_ED25519);
        v.extend_from_slice(sk.as_bytes());
        Some(v)
    }

    /// Pure Ed25519 (RFC 8032 §5.1.6) of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<[u8; 64]> {
        let sk = self
            .private
            .as_ref()
            .ok_or_else(|| Error::invalid("this operation needs a private key"))?;
        use ed25519_dalek::Signer;
        Ok(sk.sign(msg).to_bytes())
    }

    /// Strict verification: the signature must be exactly 64 bytes, `S` canonical, `R`
    /// canonical and not of small order (the public key was checked when it was decoded).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        let sig: &[u8; 64] = sig.try_into().map_err(|_| bad_sig())?;
        let s = Signature::from_bytes(sig);
        self.public.verify_strict(msg, &s).map_err(|_| bad_sig())
    }
}

impl X {
    pub fn generate() -> Result<X> {
        let mut b = Zeroizing::new([0u8; 32]);
        crate::rng::fill(b.as_mut())?;
        Ok(Self::from_secret(&b))
    }

    pub fn from_secret(b: &[u8; 32]) -> X {
        let s = StaticSecret::from(*b);
        X {
            public: XPublic::from(&s),
            private: Some(Box::new(s)),
            engine: std::sync::OnceLock::new(),
        }
    }

    /// X25519(this private key, u): in the engine when it holds the key, else in dalek. `None`
    /// for a public key.
    pub fn dh(&self, u: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
        let sk = self.private.as_ref()?;
        if let Some(e) = self
            .engine
            .get_or_init(|| x_engine::Secret::load(sk.as_bytes()))
        {
            return Some(e.dh(u));
        }
        Some(crate::envelope::hpke::x25519(sk.as_bytes(), u))
    }

    pub fn spki_der(&self) -> Vec<u8> {
        [&SPKI_X25519[..], self.public.as_bytes()].concat()
    }

    pub fn pkcs8_der(&self) -> Option<Zeroizing<Vec<u8>>> {
        let sk = self.private.as_ref()?;
        let mut v = Zeroizing::new(Vec::with_capacity(48));
        v.extend_from_slice(&PKCS8_X25519);
        v.extend_from_slice(sk.as_bytes());
        Some(v)
    }
}

/// A decoded v3 key.
pub(crate) enum Decoded {
    Ed(Ed),
    X(X),
}

fn check_no_params(alg: &spki::AlgorithmIdentifierRef<'_>) -> Result<()> {
    if alg.parameters.is_some() {
        return Err(Error::key_format(
            "RFC 8410 keys have no algorithm parameters",
        ));
    }
    Ok(())
}

/// Decodes an RFC 8410 SubjectPublicKeyInfo; `Ok(None)` when the algorithm is not Ed25519 or
/// X25519 (the caller then tries RSA).
pub(crate) fn from_spki_der(der: &[u8]) -> Result<Option<Decoded>> {
    let Ok(spki) = spki::SubjectPublicKeyInfoRef::try_from(der) else {
        return Ok(None);
    };
    let oid = spki.algorithm.oid;
    if oid != OID_ED25519 && oid != OID_X25519 {
        return Ok(None);
    }
    check_no_params(&spki.algorithm)?;
    let raw = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::key_format("RFC 8410 public key has unused bits"))?;
    let raw: &[u8; 32] = raw
        .try_into()
        .map_err(|_| Error::key_format("RFC 8410 public key is not 32 bytes"))?;
    Ok(Some(if oid == OID_ED25519 {
        Decoded::Ed(Ed {
            public: ed25519_public(raw)?,
            private: None,
        })
    } else {
        Decoded::X(X {
            public: x25519_public(raw)?,
            private: None,
            engine: std::sync::OnceLock::new(),
        })
    }))
}

/// Decodes an RFC 8410 PKCS#8 (v1, or v2 with the public key, which must then match);
/// `Ok(None)` when the algorithm is not Ed25519 or X25519.
pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Option<Decoded>> {
    let Ok(info) = pkcs8::PrivateKeyInfoRef::try_from(der) else {
        return Ok(None);
    };
    let oid = info.algorithm.oid;
    if oid != OID_ED25519 && oid != OID_X25519 {
        return Ok(None);
    }
    check_no_params(&info.algorithm)?;
    // CurvePrivateKey ::= OCTET STRING (32 bytes), inside the PKCS#8 privateKey OCTET STRING.
    let inner = info.private_key.as_bytes();
    if inner.len() != 34 || inner[0] != 0x04 || inner[1] != 0x20 {
        return Err(Error::key_format(
            "RFC 8410 private key is not a 32-byte OCTET STRING",
        ));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&inner[2..]);
    let d = if oid == OID_ED25519 {
        Decoded::Ed(Ed::from_seed(&seed))
    } else {
        Decoded::X(X::from_secret(&seed))
    };
    if let Some(pk) = info.public_key {
        let given = pk
            .as_bytes()
            .ok_or_else(|| Error::key_format("RFC 8410 public key has unused bits"))?;
        let derived = match &d {
            Decoded::Ed(e) => e.public.to_bytes(),
            Decoded::X(x) => x.public.to_bytes(),
        };
        if given != derived {
            return Err(Error::key_format(
                "the PKCS#8 public key does not match the private key",
            ));
        }
    }
    Ok(Some(d))
}
