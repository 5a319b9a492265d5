//! Keys: RSA (legacy suite), Ed25519 and X25519 (suite v3).

use std::ffi::c_int;

use super::OutHandle;
use super::{
    Handle, HandleKind, bytes, checked, free, guard, guard_value, handle, invalid, ot_buffer,
    ot_result,
};
use crate::keys::{Algorithm, Key, KeyFormat};

/// A key, public or private: RSA (legacy suite), Ed25519 or X25519 (suite v3; see
/// `ot_key_algorithm`). Created by `ot_key_generate`, `ot_key_generate_ed25519`,
/// `ot_key_generate_x25519`, `ot_key_load` or `ot_key_public`; freed with `ot_key_free`
/// (private material is zeroed). Immutable: one key may be used from many threads at once.
///
/// The key chooses the suite: an RSA signer writes `Hash: SAMY` texts and RSA recipients get
/// type-1 envelopes; an Ed25519 signer writes `Hash: SHA256D` texts and X25519 recipients get
/// type-3 envelopes. Using a key of the wrong algorithm for an operation (signing with X25519,
/// sealing to Ed25519, verifying a SAMY text with Ed25519…) is `OT_ERR_INVALID_ARGUMENT`.
pub struct ot_key(pub(crate) Key);

impl Handle for ot_key {
    const KIND: HandleKind = HandleKind::Key;
    const NAME: &'static str = "ot_key";
}

/// Export format: one of the `OT_KEY_FORMAT_*` values.
pub type ot_key_format = u32;
/// `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) PEM.
pub const OT_KEY_FORMAT_SPKI_PEM: ot_key_format = 0;
/// OT public-key block, escaped (`- -----BEGIN PUBLIC KEY-----`): the form NymIDs hash.
pub const OT_KEY_FORMAT_OT_PUBLIC: ot_key_format = 1;
/// OT public-key block, unescaped.
pub const OT_KEY_FORMAT_OT_PUBLIC_UNESCAPED: ot_key_format = 2;
/// Encrypted PKCS#8 PEM, PBKDF2-HMAC-SHA256 (600 000 iterations) + AES-256-CBC. Private keys.
pub const OT_KEY_FORMAT_PKCS8_ENCRYPTED: ot_key_format = 3;
/// Encrypted PKCS#8 PEM as legacy OT wrote it (PBKDF2-HMAC-SHA1, 2048 iterations, 3DES).
pub const OT_KEY_FORMAT_PKCS8_ENCRYPTED_LEGACY: ot_key_format = 4;
/// Unencrypted PKCS#8 PEM. Private keys.
pub const OT_KEY_FORMAT_PKCS8_PLAIN: ot_key_format = 5;

/// A key's algorithm, as returned by `ot_key_algorithm`: one of the `OT_KEY_ALGORITHM_*` values.
pub type ot_algorithm = u32;
/// Not a key: `ot_key_algorithm` was given NULL or something that is not a live key.
pub const OT_KEY_ALGORITHM_NONE: ot_algorithm = 0;
/// RSA (legacy suite): signs `Hash: SAMY` texts (RSA-PSS), receives type-1 envelopes.
pub const OT_KEY_ALGORITHM_RSA: ot_algorithm = 1;
/// Ed25519 (suite v3, roles A and S): signs `Hash: SHA256D` texts; identifies a v3 Nym.
pub const OT_KEY_ALGORITHM_ED25519: ot_algorithm = 2;
/// X25519 (suite v3, role E): receives type-3 envelopes.
pub const OT_KEY_ALGORITHM_X25519: ot_algorithm = 3;

pub(crate) unsafe fn pass<'a>(
    p: *const u8,
    len: usize,
) -> Result<Option<&'a [u8]>, super::FfiError> {
    if p.is_null() {
        if len != 0 {
            return Err(super::null("passphrase"));
        }
        return Ok(None);
    }
    // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
    unsafe { bytes(p, len, "passphrase") }.map(Some)
}

/// Generates an RSA key with public exponent 65537. `bits`: a multiple of 8 in 1024..=8192;
/// 0 means the default, 2048. (Legacy OT used 1024; it is accepted but not recommended.)
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_generate(bits: u32, key: *mut *mut ot_key) -> ot_result {
    guard(|| {
        let key = OutHandle::new(key, "key")?;
        let bits = if bits == 0 {
            crate::keys::DEFAULT_BITS
        } else {
            bits
        };
        let k = Key::generate(bits)?;
        key.put(ot_key(k));
        Ok(())
    })
}

/// Generates a new Ed25519 key (suite v3: authentication A and signing S roles) from the
/// operating system's CSPRNG. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_generate_ed25519(key: *mut *mut ot_key) -> ot_result {
    guard(|| {
        let key = OutHandle::new(key, "key")?;
        let k = Key::generate_ed25519()?;
        key.put(ot_key(k));
        Ok(())
    })
}

/// Generates a new X25519 key (suite v3: encryption E role, the recipient key of type-3
/// envelopes) from the operating system's CSPRNG. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_generate_x25519(key: *mut *mut ot_key) -> ot_result {
    guard(|| {
        let key = OutHandle::new(key, "key")?;
        let k = Key::generate_x25519()?;
        key.put(ot_key(k));
        Ok(())
    })
}

/// The key's algorithm (`OT_KEY_ALGORITHM_RSA`, `_ED25519` or `_X25519`);
/// `OT_KEY_ALGORITHM_NONE` if `key` is NULL or not a live key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_algorithm(key: *const ot_key) -> ot_algorithm {
    guard_value(OT_KEY_ALGORITHM_NONE, || {
        checked(key).map_or(OT_KEY_ALGORITHM_NONE, |k| match k.0.algorithm() {
            Algorithm::Rsa => OT_KEY_ALGORITHM_RSA,
            Algorithm::Ed25519 => OT_KEY_ALGORITHM_ED25519,
            Algorithm::X25519 => OT_KEY_ALGORITHM_X25519,
        })
    })
}

/// Loads a key, detecting the algorithm and the format. Ed25519 and X25519 keys (suite v3) load
/// from RFC 8410 PKCS#8 (`PRIVATE KEY`, v1 or v2), PBES2 `ENCRYPTED PRIVATE KEY` (same
/// passphrase rules as RSA) and SPKI `PUBLIC KEY`, PEM or DER; an Ed25519 public key that is
/// not canonically encoded or has small order, or an X25519 public key of small order, is
/// `OT_ERR_KEY_FORMAT`. RSA keys: SPKI / PKCS#1 / PKCS#8 PEM, encrypted PKCS#8 (PBES2,
/// including the legacy PBKDF2-SHA1 + 3DES form), traditional `DEK-Info` PEM, the OT public-key
/// block (escaped or not), legacy cert files bundling certificates and a key, OT string armor of
/// any of these, and DER. `passphrase` (`pass_len` bytes, may contain any byte value, e.g. the
/// 16 raw bytes of a wallet master key) is needed only for encrypted keys; NULL with `pass_len`
/// 0 means none. As in legacy OT, an empty non-NULL passphrase means `"test"`.
/// Input is limited to 1 MiB, and so is what OT string armor inflates to: a zlib bomb is refused
/// with `OT_ERR_MALFORMED` after at most 1 MiB of output.
/// Errors: `OT_ERR_KEY_FORMAT`, `OT_ERR_BAD_PASSPHRASE` (missing or wrong), `OT_ERR_UNSUPPORTED`,
/// `OT_ERR_INVALID_ARGUMENT` (input over 1 MiB), `OT_ERR_MALFORMED` (string armor inflating past
/// 1 MiB).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_load(
    data: *const u8,
    len: usize,
    passphrase: *const u8,
    pass_len: usize,
    key: *mut *mut ot_key,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let d = unsafe { bytes(data, len, "data") }?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { pass(passphrase, pass_len) }?;
        let key = OutHandle::new(key, "key")?;
        let k = Key::load(d, p)?;
        key.put(ot_key(k));
        Ok(())
    })
}

/// Exports `key` as text in `format` (`OT_KEY_FORMAT_*`). Private formats need a private key
/// (`OT_ERR_INVALID_ARGUMENT` otherwise); encrypted formats need a non-empty passphrase.
/// Ed25519 / X25519 keys export as SPKI PEM and PKCS#8 (plain or encrypted, RFC 8410); the OT
/// public-key block formats are RSA-only (`OT_ERR_UNSUPPORTED` for v3 keys).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_export(
    key: *const ot_key,
    format: ot_key_format,
    passphrase: *const u8,
    pass_len: usize,
    out: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let k = handle(key, "key")?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { pass(passphrase, pass_len) }?;
        let out = OutHandle::new(out, "out")?;
        let f = match format {
            OT_KEY_FORMAT_SPKI_PEM => KeyFormat::SpkiPem,
            OT_KEY_FORMAT_OT_PUBLIC => KeyFormat::OtPublic,
            OT_KEY_FORMAT_OT_PUBLIC_UNESCAPED => KeyFormat::OtPublicUnescaped,
            OT_KEY_FORMAT_PKCS8_ENCRYPTED => KeyFormat::Pkcs8Encrypted,
            OT_KEY_FORMAT_PKCS8_ENCRYPTED_LEGACY => KeyFormat::Pkcs8EncryptedLegacy,
            OT_KEY_FORMAT_PKCS8_PLAIN => KeyFormat::Pkcs8Plain,
            other => return Err(invalid(format!("key format {other} is unknown"))),
        };
        let v = k.0.export(f, p)?;
        out.put(ot_buffer::new(v));
        Ok(())
    })
}

/// A new public-only key with the same public part as `key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_public(
    key: *const ot_key,
    public_key: *mut *mut ot_key,
) -> ot_result {
    guard(|| {
        let k = handle(key, "key")?;
        let public_key = OutHandle::new(public_key, "public_key")?;
        public_key.put(ot_key(k.0.to_public()));
        Ok(())
    })
}

/// 1 if `key` holds private material, 0 if public-only, NULL or not a live key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_is_private(key: *const ot_key) -> c_int {
    guard_value(0, || {
        checked(key).map_or(0, |k| c_int::from(k.0.is_private()))
    })
}

/// RSA: the modulus size in bits. Ed25519 and X25519: 256 (the bit length of their 32-byte
/// keys; not a security level). 0 if `key` is NULL or not a live key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_bits(key: *const ot_key) -> u32 {
    guard_value(0, || checked(key).map_or(0, |k| k.0.bits()))
}

/// The key's NymID as NUL-terminated text. RSA: base62(SAMY(escaped OT public-key block)); for
/// 2011-2012 Nyms this is the Nym's ID, for credential-era Nyms the ID of the Nym whose master
/// credential signs with this key. Ed25519 / X25519 (suite v3): base62(SHA256D(SPKI DER)); a
/// v3 identity's NymID is the one of its Ed25519 (A) key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_nym_id(key: *const ot_key, id: *mut *mut ot_buffer) -> ot_result {
    guard(|| {
        let k = handle(key, "key")?;
        let id = OutHandle::new(id, "id")?;
        let s = k.0.nym_id()?;
        id.put(ot_buffer::new(s.into_bytes()));
        Ok(())
    })
}

/// Frees a key, zeroing private material. `ot_key_free(NULL)` does nothing. The key must not be
/// in use by another thread, a session or a notary.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_key_free(key: *mut ot_key) {
    guard_value((), || free(key))
}
