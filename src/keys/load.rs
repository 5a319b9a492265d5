//! Loading: the format detection of [`Key::load`] (the table in [`crate::keys`]) and the loaders
//! of each container: PEM blocks, DER, encrypted PKCS#8 and traditional `DEK-Info` PEM, OT armor
//! and OT public-key blocks, certificates.

use pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use pkcs8::{DecodePrivateKey, EncryptedPrivateKeyInfoRef};
use rsa::{PrivateKey, PublicKey};
use spki::DecodePublicKey;

use super::{Key, MAX_KEY_INPUT, MAX_PBKDF2_ITERATIONS, der, ecc, legacy_pem, pem};
use crate::armor;
use crate::error::{Error, ErrorKind, Result};

fn passphrase_or_default(pass: &[u8]) -> &[u8] {
    // Legacy OT replaced an empty password with "test".
    if pass.is_empty() { b"test" } else { pass }
}

impl Key {
    /// Loads a key from any supported format (see the table in [`crate::keys`]).
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
}
