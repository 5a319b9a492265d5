//! Export: the public forms (SPKI DER and PEM, the OT public-key block), the NymID computed from
//! them, and the private PKCS#8 forms (plain, or encrypted with PBES2: modern parameters, or as
//! legacy OT wrote it).

use pkcs1::EncodeRsaPublicKey;
use pkcs8::EncodePrivateKey;
use spki::EncodePublicKey;
use zeroize::Zeroizing;

use super::{Key, KeyFormat, LEGACY_PBKDF2_ITERATIONS, MODERN_PBKDF2_ITERATIONS, Material};
use crate::armor;
use crate::error::{Error, Result};
use crate::hash;

impl Key {
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
}
