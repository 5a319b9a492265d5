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

mod der;
mod ecc;
mod legacy_pem;
mod pem;
mod rsa_engine;
mod rsa_ops;

use pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPublicKey};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncryptedPrivateKeyInfoRef};
use rsa::pkcs1v15::Pkcs1v15Encrypt;
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use spki::{DecodePublicKey, EncodePublicKey};
use zeroize::Zeroizing;

use crate::armor;
use crate::error::{Error, ErrorKind, Result};
use crate::hash;
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

fn passphrase_or_default(pass: &[u8]) -> &[u8] {
    // Legacy OT replaced an empty password with "test".
    if pass.is_empty() { b"test" } else { pass }
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

    /// Loads a key from any supported format (see the module docs).
    /// `pass` is needed only for encrypted private keys.
    pub fn load(input: &[u8], pass: Option<&[u8]>) -> Result<Key> {
        if input.is_empty() {
            return Err(Error::key_format("key data is empty"));
        }
        if input.len() > MAX_KEY_INPUT {
            return Err(Error::invalid("key data is larger than 1 MiB"));
        }
        if input[0] == 0x30 {
            return Self::load_der(input, pass);
        }
        let text = std::str::from_utf8(input)
            .map_err(|_| Error::key_format("key data is neither DER nor PEM text"))?;
        if !text.contains("-----BEGIN ") {
            // Perhaps OT armor (string path) around a PEM text, as in credentials' privateInfo.
            // The inner key obeys the same size limit as the input, so inflating stops there: a
            // zlib bomb is refused (`Malformed`) after at most MAX_KEY_INPUT bytes.
            match armor::any(input, MAX_KEY_INPUT) {
                Ok((inner, _)) if inner.first() == Some(&b'-') || inner.first() == Some(&0x30) => {
                    return Self::load(&inner, pass);
                }
                Err(armor::AnyError::TooLarge(e)) => return Err(e),
                _ => {}
            }
            return Err(Error::key_format(
                "key data has no PEM block and is not DER or OT armor",
            ));
        }
        let blocks = pem::blocks(text)?;
        // Private keys first: a cert bundle's key is what the caller is after.
        let mut saw_encrypted = false;
        for b in &blocks {
            match b.label.as_str() {
                "PRIVATE KEY" => return Self::load_der(&b.decode()?, pass),
                "ENCRYPTED PRIVATE KEY" => {
                    if let Some(p) = pass {
                        return Self::load_encrypted_pkcs8(&b.decode()?, p);
                    }
                    saw_encrypted = true;
                }
                "RSA PRIVATE KEY" => {
                    let der = b.decode()?;
                    if b.header("Proc-Type")
                        .is_some_and(|v| v.contains("ENCRYPTED"))
                    {
                        let Some(p) = pass else {
                            saw_encrypted = true;
                            continue;
                        };
                        let dek = b
                            .header("DEK-Info")
                            .ok_or_else(|| Error::key_format("encrypted PEM has no DEK-Info"))?;
                        let plain = legacy_pem::decrypt(dek, passphrase_or_default(p), &der)?;
                        let k =
                            PrivateKey::from_pkcs1_der(der::first_tlv(&plain)?).map_err(|_| {
                                Error::new(
                                    ErrorKind::BadPassphrase,
                                    "wrong passphrase for the encrypted key",
                                )
                            })?;
                        return Self::from_private(k);
                    }
                    let k = PrivateKey::from_pkcs1_der(der::first_tlv(&der)?)
                        .map_err(|_| Error::key_format("RSA PRIVATE KEY block is not PKCS#1"))?;
                    return Self::from_private(k);
                }
                _ => {}
            }
        }
        if saw_encrypted {
            return Err(Error::new(
                ErrorKind::BadPassphrase,
                "the private key is encrypted: a passphrase is required",
            ));
        }
        for b in &blocks {
            match b.label.as_str() {
                "PUBLIC KEY" => {
                    let raw = b.decode()?;
                    if raw.first() == Some(&0x30) {
                        return Self::load_der(&raw, None);
                    }
                    // OT public-key block: data-path armor of a PEM text.
                    let inner = armor::unpack_field1(&raw).map_err(|_| {
                        Error::key_format("PUBLIC KEY block is neither SPKI nor OT armor")
                    })?;
                    let inner = std::str::from_utf8(&inner).map_err(|_| {
                        Error::key_format("OT public-key block does not hold PEM text")
                    })?;
                    if !inner.contains("-----BEGIN ") {
                        return Err(Error::key_format(
                            "OT public-key block does not hold PEM text",
                        ));
                    }
                    return Self::load(inner.as_bytes(), None);
                }
                "RSA PUBLIC KEY" => {
                    let k = PublicKey::from_pkcs1_der(der::first_tlv(&b.decode()?)?)
                        .map_err(|_| Error::key_format("RSA PUBLIC KEY block is not PKCS#1"))?;
                    return Self::from_public(k);
                }
                _ => {}
            }
        }
        for b in &blocks {
            if b.label == "CERTIFICATE" || b.label == "X509 CERTIFICATE" {
                let cert = b.decode()?;
                return Self::load_der(der::certificate_spki(&cert)?, None);
            }
        }
        Err(Error::key_format(format!(
            "no supported key block found (blocks: {})",
            blocks
                .iter()
                .map(|b| b.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    fn load_der(input: &[u8], pass: Option<&[u8]>) -> Result<Key> {
        let der = der::first_tlv(input)?;
        if let Some(d) = ecc::from_pkcs8_der(der)? {
            return Ok(Self::from_decoded(d));
        }
        if let Some(d) = ecc::from_spki_der(der)? {
            return Ok(Self::from_decoded(d));
        }
        if let Ok(k) = PrivateKey::from_pkcs8_der(der) {
            return Self::from_private(k);
        }
        if EncryptedPrivateKeyInfoRef::try_from(der).is_ok() {
            return match pass {
                Some(p) => Self::load_encrypted_pkcs8(der, p),
                None => Err(Error::new(
                    ErrorKind::BadPassphrase,
                    "the private key is encrypted: a passphrase is required",
                )),
            };
        }
        if let Ok(k) = PublicKey::from_public_key_der(der) {
            return Self::from_public(k);
        }
        if let Ok(k) = PrivateKey::from_pkcs1_der(der) {
            return Self::from_private(k);
        }
        if let Ok(k) = PublicKey::from_pkcs1_der(der) {
            return Self::from_public(k);
        }
        Err(Error::key_format(
            "DER data is not a key (PKCS#8, encrypted PKCS#8, SPKI or PKCS#1)",
        ))
    }

    fn load_encrypted_pkcs8(der: &[u8], pass: &[u8]) -> Result<Key> {
        let der = der::first_tlv(der)?;
        let info = EncryptedPrivateKeyInfoRef::try_from(der)
            .map_err(|_| Error::key_format("not an encrypted PKCS#8 structure"))?;
        if let Some(params) = info.encryption_algorithm.pbes2() {
            // Legacy OT only ever wrote PBKDF2 (OpenSSL's PKCS#8 default). Other KDFs are refused
            // before any work: scrypt's cost parameters come from the file, and N = 2^50 would
            // ask for 2^57 bytes (an allocation failure aborts the host process), or run for
            // hours with a large p.
            let Some(p) = params.kdf.pbkdf2() else {
                return Err(Error::unsupported(
                    "the key is encrypted with a KDF other than PBKDF2 (e.g. scrypt), which legacy \
                     OT never wrote: re-encrypt it with PBKDF2",
                ));
            };
            if p.iteration_count > MAX_PBKDF2_ITERATIONS {
                return Err(Error::key_format(format!(
                    "PBKDF2 iteration count {} is above the accepted maximum \
                     {MAX_PBKDF2_ITERATIONS}",
                    p.iteration_count
                )));
            }
        }
        let doc = info
            .decrypt(passphrase_or_default(pass))
            .map_err(|e| match e {
                pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::DecryptFailed) => Error::new(
                    ErrorKind::BadPassphrase,
                    "wrong passphrase for the encrypted key",
                ),
                pkcs8::Error::EncryptedPrivateKey(_) => {
                    Error::unsupported("the key's encryption scheme is not supported")
                }
                _ => Error::new(
                    ErrorKind::BadPassphrase,
                    "wrong passphrase for the encrypted key",
                ),
            })?;
        if let Ok(Some(d)) = ecc::from_pkcs8_der(doc.as_bytes()) {
            return Ok(Self::from_decoded(d));
        }
        let k = PrivateKey::from_pkcs8_der(doc.as_bytes()).map_err(|_| {
            // 3DES/CBC padding checks pass by chance for about 1 wrong passphrase in 256.
            Error::new(
                ErrorKind::BadPassphrase,
                "wrong passphrase for the encrypted key",
            )
        })?;
        Self::from_private(k)
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

    /// The DER SubjectPublicKeyInfo (RFC 8410 for v3 keys; 44 bytes).
    pub fn spki_der(&self) -> Result<Vec<u8>> {
        match &self.m {
            Material::Rsa { public, .. } => Ok(public
                .to_public_key_der()
                .map_err(|_| Error::internal("SPKI encoding failed"))?
                .as_bytes()
                .to_vec()),
            Material::Ed25519(e) => Ok(e.spki_der()),
            Material::X25519(x) => Ok(x.spki_der()),
        }
    }

    /// The DER PKCS#8 PrivateKeyInfo of a private key.
    fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let none = || Error::invalid("this operation needs a private key");
        match &self.m {
            Material::Rsa { .. } => Ok(Zeroizing::new(
                self.private_key()?
                    .to_pkcs8_der()
                    .map_err(|_| Error::internal("PKCS#8 encoding failed"))?
                    .as_bytes()
                    .to_vec(),
            )),
            Material::Ed25519(e) => e.pkcs8_der().ok_or_else(none),
            Material::X25519(x) => x.pkcs8_der().ok_or_else(none),
        }
    }

    /// The standard SPKI PEM text (`-----BEGIN PUBLIC KEY-----`, 64-column lines, `\n`).
    pub fn spki_pem(&self) -> Result<String> {
        let doc = pkcs8::Document::try_from(self.spki_der()?)
            .map_err(|_| Error::internal("SPKI encoding failed"))?;
        doc.to_pem("PUBLIC KEY", pkcs8::LineEnding::LF)
            .map_err(|_| Error::internal("SPKI encoding failed"))
    }

    /// The OT public-key block: SPKI PEM → data-path armor → `PUBLIC KEY` bookends.
    pub fn ot_public_block(&self, escaped: bool) -> Result<String> {
        if self.is_v3() {
            return Err(Error::unsupported(
                "the OT public-key block is a legacy RSA format; v3 keys use SPKI PEM",
            ));
        }
        let pem = self.spki_pem()?;
        let body = armor::encode(pem.as_bytes(), armor::Kind::Data)?;
        let esc = if escaped { "- " } else { "" };
        Ok(format!(
            "{esc}-----BEGIN PUBLIC KEY-----\n{body}{esc}-----END PUBLIC KEY-----\n"
        ))
    }

    /// The key's NymID. RSA: as legacy OT computed it for a key, base62(SAMY(escaped OT
    /// public-key block)); in the credentials era (2013+) a Nym's ID is this value for its
    /// master credential's signing key. Ed25519 / X25519 (suite v3 §2):
    /// base62(SHA256D(SPKI DER)); a v3 identity's NymID is that of its Ed25519 A key.
    pub fn nym_id(&self) -> Result<String> {
        if self.is_v3() {
            return hash::id_of_v3(&self.spki_der()?);
        }
        Ok(hash::id_of(self.ot_public_block(true)?.as_bytes()))
    }

    /// Exports the key. Private formats need a private key; encrypted ones need `pass`.
    pub fn export(&self, format: KeyFormat, pass: Option<&[u8]>) -> Result<Vec<u8>> {
        match format {
            KeyFormat::SpkiPem => Ok(self.spki_pem()?.into_bytes()),
            KeyFormat::OtPublic => Ok(self.ot_public_block(true)?.into_bytes()),
            KeyFormat::OtPublicUnescaped => Ok(self.ot_public_block(false)?.into_bytes()),
            KeyFormat::Pkcs8Plain => {
                let doc = pkcs8::SecretDocument::try_from(self.pkcs8_der()?.to_vec())
                    .map_err(|_| Error::internal("PKCS#8 encoding failed"))?;
                let pem = doc
                    .to_pem("PRIVATE KEY", pkcs8::LineEnding::LF)
                    .map_err(|_| Error::internal("PKCS#8 encoding failed"))?;
                Ok(pem.as_bytes().to_vec())
            }
            KeyFormat::Pkcs8Encrypted | KeyFormat::Pkcs8EncryptedLegacy => {
                let der = self.pkcs8_der()?;
                let pass =
                    pass.ok_or_else(|| Error::invalid("an encrypted export needs a passphrase"))?;
                if pass.is_empty() {
                    return Err(Error::invalid(
                        "an encrypted export needs a non-empty passphrase",
                    ));
                }
                let params = if format == KeyFormat::Pkcs8Encrypted {
                    let mut salt = [0u8; 16];
                    let mut iv = [0u8; 16];
                    crate::rng::fill(&mut salt)?;
                    crate::rng::fill(&mut iv)?;
                    pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
                        MODERN_PBKDF2_ITERATIONS,
                        &salt,
                        iv,
                    )
                } else {
                    let mut salt = [0u8; 8];
                    let mut iv = [0u8; 8];
                    crate::rng::fill(&mut salt)?;
                    crate::rng::fill(&mut iv)?;
                    pkcs5::pbes2::Pbkdf2Params::hmac_sha256(LEGACY_PBKDF2_ITERATIONS, &salt).map(
                        |mut p| {
                            p.prf = pkcs5::pbes2::Pbkdf2Prf::HmacWithSha1;
                            pkcs5::pbes2::Parameters {
                                kdf: p.into(),
                                encryption: pkcs5::pbes2::EncryptionScheme::DesEde3Cbc { iv },
                            }
                        },
                    )
                }
                .map_err(|_| Error::internal("PBES2 parameter setup failed"))?;
                let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_slice())
                    .map_err(|_| Error::internal("PKCS#8 encoding failed"))?;
                let enc = info
                    .encrypt_with_params(params, pass)
                    .map_err(|_| Error::internal("PKCS#8 encryption failed"))?;
                let pem = enc
                    .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
                    .map_err(|_| Error::internal("PEM encoding failed"))?;
                Ok(pem.as_bytes().to_vec())
            }
        }
    }

    /// PKCS#1 public key DER (used by tests and interop tooling).
    pub fn pkcs1_public_der(&self) -> Result<Vec<u8>> {
        Ok(self
            .rsa_public()?
            .to_pkcs1_der()
            .map_err(|_| Error::internal("PKCS#1 encoding failed"))?
            .as_bytes()
            .to_vec())
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
