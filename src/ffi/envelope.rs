//! Envelopes.

use std::ffi::{c_char, c_int};

use super::OutHandle;
use super::OutValue;
use super::buffer_getter;
use super::from_bytes;
use super::{
    FfiResult, Handle, HandleKind, bytes, checked, cstr, free, guard, guard_value, handle, invalid,
    null, opt_cstr, ot_buffer, ot_key, ot_result,
};
use crate::envelope::{Envelope, Recipient};

/// A sealed envelope (v1 multi-recipient, v0 single-recipient, symmetric type 2, or suite v3
/// type 3). Created by
/// `ot_envelope_seal`, `ot_envelope_parse`, `ot_envelope_from_armor` or
/// `ot_envelope_encrypt_symmetric`; freed with `ot_envelope_free`. Immutable: may be used from
/// many threads at once.
pub struct ot_envelope(pub(crate) Envelope);

impl Handle for ot_envelope {
    const KIND: HandleKind = HandleKind::Envelope;
    const NAME: &'static str = "ot_envelope";
}

/// One recipient for `ot_envelope_seal`. `nym_id` is written in the envelope (the recipient's
/// NymID, or `""` for a key-only seal, as legacy notaries seal replies); `key` is the
/// recipient's public (encryption) key. Both are borrowed for the duration of the call.
#[repr(C)]
pub struct ot_recipient {
    /// NUL-terminated NymID text (may be `""`).
    pub nym_id: *const c_char,
    /// The recipient's key (public or private; only the public part is used).
    pub key: *const ot_key,
}

/// Seals `plaintext[0..len]` to `n` recipients (1..=4096); the recipients' keys choose the type.
///
/// * RSA recipients: the legacy v1 layout (type 1): random AES-128 key and IV, AES-128-CBC of
///   plaintext plus one NUL, key wrapped with RSA PKCS#1 v1.5 to each recipient, entries sorted
///   by NymID. Plaintext containing a NUL byte is refused (`OT_ERR_INVALID_ARGUMENT`): a legacy
///   peer would silently cut it there.
/// * X25519 recipients (suite v3): type 3: a random 32-byte content key wrapped to each
///   recipient with HPKE base mode (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
///   ChaCha20-Poly1305), entries sorted by NymID, payload ChaCha20-Poly1305 with the header as
///   associated data. Any plaintext, NUL bytes and empty included.
///
/// Mixing RSA and X25519 recipients, or an Ed25519 recipient, is `OT_ERR_INVALID_ARGUMENT`
/// (seal one envelope per kind).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_seal(
    recipients: *const ot_recipient,
    n: usize,
    plaintext: *const u8,
    len: usize,
    envelope: *mut *mut ot_envelope,
) -> ot_result {
    guard(|| {
        recipient_count(recipients, n)?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { bytes(plaintext, len, "plaintext") }?;
        let envelope = OutHandle::new(envelope, "envelope")?;
        // SAFETY: `n` recipient structs (header contract).
        let e = unsafe { with_recipients(recipients, n, |list| Ok(Envelope::seal(list, p)?)) }?;
        envelope.put(ot_envelope(e));
        Ok(())
    })
}

/// The first checks of every seal: `recipients` non-NULL, `n` in 1..=4096.
fn recipient_count(recipients: *const ot_recipient, n: usize) -> FfiResult<()> {
    if recipients.is_null() {
        return Err(null("recipients"));
    }
    if n == 0 || n > crate::envelope::MAX_RECIPIENTS {
        return Err(invalid(format!("recipient count {n} is not in 1..=4096")));
    }
    Ok(())
}

/// Checks the `n` recipients of a seal (count, every string and key) and hands them to `f` as
/// core recipients; the keys stay borrowed (so they cannot be freed) until `f` returns.
///
/// # Safety
/// `recipients` is NULL or points to `n` readable `ot_recipient` structs whose `nym_id`s are
/// NULL or NUL-terminated (the header's contract).
pub(crate) unsafe fn with_recipients<R>(
    recipients: *const ot_recipient,
    n: usize,
    f: impl FnOnce(&[Recipient<'_>]) -> FfiResult<R>,
) -> FfiResult<R> {
    recipient_count(recipients, n)?;
    // SAFETY: the caller provides `n` recipient structs (header contract).
    let rs = unsafe { std::slice::from_raw_parts(recipients, n) };
    let mut ids = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for (i, r) in rs.iter().enumerate() {
        // SAFETY: each `nym_id` is a NUL-terminated string (header contract).
        ids.push(unsafe { cstr(r.nym_id, &format!("recipients[{i}].nym_id")) }?);
        keys.push(handle(r.key, &format!("recipients[{i}].key"))?);
    }
    let list: Vec<Recipient> = ids
        .iter()
        .zip(&keys)
        .map(|(id, k)| Recipient {
            nym_id: id,
            key: &k.0,
        })
        .collect();
    f(&list)
}

/// Seals `plaintext[0..len]` exactly as `ot_envelope_seal` does (same recipients, types and
/// errors) and returns the envelope's bytes (what `ot_envelope_to_bytes` of that envelope
/// gives) in a new `*out`, in one step: the ciphertext is written once, straight into the
/// returned buffer, with no envelope object and no copy. The bytes are public (ciphertext), so
/// freeing this buffer does not overwrite them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_seal_to_bytes(
    recipients: *const ot_recipient,
    n: usize,
    plaintext: *const u8,
    len: usize,
    out: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        recipient_count(recipients, n)?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { bytes(plaintext, len, "plaintext") }?;
        let out = OutHandle::new(out, "out")?;
        // SAFETY: `n` recipient structs (header contract).
        let b = unsafe {
            with_recipients(recipients, n, |list| Ok(Envelope::seal_to_bytes(list, p)?))
        }?;
        out.put(ot_buffer::public(b));
        Ok(())
    })
}

/// Seals `plaintext[0..len]` exactly as `ot_envelope_seal` does and returns the envelope's armor
/// (what `ot_envelope_to_armor` with the same `bookends` gives) in a new `*out`, in one step.
/// Freeing this buffer does not overwrite it (public ciphertext).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_seal_to_armor(
    recipients: *const ot_recipient,
    n: usize,
    plaintext: *const u8,
    len: usize,
    bookends: c_int,
    out: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        recipient_count(recipients, n)?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { bytes(plaintext, len, "plaintext") }?;
        let out = OutHandle::new(out, "out")?;
        // SAFETY: `n` recipient structs (header contract).
        let s = unsafe {
            with_recipients(recipients, n, |list| {
                Ok(Envelope::seal_to_armor(list, p, bookends != 0)?)
            })
        }?;
        out.put(ot_buffer::public(s.into_bytes()));
        Ok(())
    })
}

/// Opens envelope bytes `data[0..len]` with a private key in one step: `ot_envelope_parse` then
/// `ot_envelope_open` (same entry rules, same errors: `OT_ERR_MALFORMED` for bytes that do not
/// parse, `OT_ERR_NO_MATCHING_RECIPIENT`, and one `OT_ERR_DECRYPT_FAILED` for every
/// cryptographic failure), without the envelope object: the ciphertext is read where it lies and
/// decrypted once, straight into the new `*plaintext`. `nym_id` may be NULL, with the meaning it
/// has for `ot_envelope_open`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_open_bytes(
    data: *const u8,
    len: usize,
    nym_id: *const c_char,
    private_key: *const ot_key,
    plaintext: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let d = unsafe { bytes(data, len, "data") }?;
        // SAFETY: NULL or a NUL-terminated string (header contract).
        let id = unsafe { opt_cstr(nym_id, "nym_id") }?;
        let k = handle(private_key, "private_key")?;
        let plaintext = OutHandle::new(plaintext, "plaintext")?;
        let p = Envelope::open_bytes(d, id, &k.0)?;
        plaintext.put(ot_buffer::new(p));
        Ok(())
    })
}

/// Opens an armored envelope `text[0..len]` (bare or bookended) in one step:
/// `ot_envelope_from_armor` then `ot_envelope_open`, as `ot_envelope_open_bytes` does for bytes.
/// `nym_id` may be NULL, with the meaning it has for `ot_envelope_open`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_open_armor(
    text: *const u8,
    len: usize,
    nym_id: *const c_char,
    private_key: *const ot_key,
    plaintext: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let t = unsafe { bytes(text, len, "text") }?;
        // SAFETY: NULL or a NUL-terminated string (header contract).
        let id = unsafe { opt_cstr(nym_id, "nym_id") }?;
        let k = handle(private_key, "private_key")?;
        let plaintext = OutHandle::new(plaintext, "plaintext")?;
        let p = Envelope::open_armor(t, id, &k.0)?;
        plaintext.put(ot_buffer::new(p));
        Ok(())
    })
}

/// Parses envelope bytes (v1, v0, symmetric or type 3). Every length field is checked against the bytes
/// that remain before anything is allocated; bad input is `OT_ERR_MALFORMED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_parse(
    data: *const u8,
    len: usize,
    envelope: *mut *mut ot_envelope,
) -> ot_result {
    // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
    unsafe {
        from_bytes(data, len, "data", envelope, "envelope", |d| {
            Ok(ot_envelope(Envelope::parse(d)?))
        })
    }
}

/// Parses an armored envelope (data path; bare, or bookended as `OT ARMORED ENVELOPE`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_from_armor(
    text: *const u8,
    len: usize,
    envelope: *mut *mut ot_envelope,
) -> ot_result {
    // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
    unsafe {
        from_bytes(text, len, "text", envelope, "envelope", |d| {
            Ok(ot_envelope(Envelope::from_armor(d)?))
        })
    }
}

/// The envelope's binary form.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_to_bytes(
    envelope: *const ot_envelope,
    out: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(envelope, "envelope", out, "out", |e| Ok(e.0.to_bytes()))
}

/// The envelope as armor text: bare (what a client sends as its request frame) when `bookends`
/// is 0, or bookended `-----BEGIN OT ARMORED ENVELOPE-----` (a notary's reply) otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_to_armor(
    envelope: *const ot_envelope,
    bookends: c_int,
    out: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let e = handle(envelope, "envelope")?;
        let out = OutHandle::new(out, "out")?;
        let s = e.0.to_armor(bookends != 0)?;
        out.put(ot_buffer::new(s.into_bytes()));
        Ok(())
    })
}

/// The envelope's type into `*type`: 0 (the 2011 v0 layout, which has no type field), 1 (v1,
/// RSA recipients), 2 (symmetric) or 3 (suite v3, X25519 recipients). `OT_ERR_INVALID_ARGUMENT`
/// if `envelope` is not a live envelope; `*type` is written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_type(
    envelope: *const ot_envelope,
    r#type: *mut i32,
) -> ot_result {
    guard(|| {
        let e = handle(envelope, "envelope")?;
        let r#type = OutValue::new(r#type, "type")?;
        r#type.write(i32::from(e.0.envelope_type()));
        Ok(())
    })
}

/// Number of recipient entries (v0: 1; symmetric: 0; NULL or not a live envelope: 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_recipient_count(envelope: *const ot_envelope) -> usize {
    guard_value(0, || {
        checked(envelope).map_or(0, |e| e.0.recipient_ids().len())
    })
}

/// The NymID of recipient entry `index` (0-based, envelope order) as NUL-terminated text;
/// `""` for key-only entries and v0 envelopes. `OT_ERR_INVALID_ARGUMENT` if out of range.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_recipient_id(
    envelope: *const ot_envelope,
    index: usize,
    id: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let e = handle(envelope, "envelope")?;
        let id = OutHandle::new(id, "id")?;
        let ids = e.0.recipient_ids();
        let s = ids.get(index).ok_or_else(|| {
            invalid(format!(
                "recipient index {index} is out of range (count {})",
                ids.len()
            ))
        })?;
        id.put(ot_buffer::from_slice(s.as_bytes()));
        Ok(())
    })
}

/// Opens an envelope with a private key. The entry used follows the legacy rules: the first one
/// whose ID equals `nym_id`, else the last entry if its ID is empty. With `nym_id` NULL, the
/// key's own NymID (`ot_key_nym_id`) is used. The plaintext (up to its first NUL, as legacy
/// peers read it) goes to a new `*plaintext`.
/// Errors: `OT_ERR_NO_MATCHING_RECIPIENT` (no usable entry), and `OT_ERR_DECRYPT_FAILED` for
/// every cryptographic failure alike — wrong key, bad RSA padding, bad wrapped-key length, bad
/// CBC padding — so callers cannot be turned into a padding oracle.
///
/// Type 3 (suite v3) needs an X25519 private key (another algorithm is
/// `OT_ERR_INVALID_ARGUMENT`): the entry carrying `nym_id` is used, else the entry with an
/// empty NymID; with `nym_id` NULL every entry is tried in order with the key. The plaintext
/// is returned whole (NUL bytes kept). A wrap that does not open, a payload tag that does not
/// verify, a wrong length: all `OT_ERR_DECRYPT_FAILED` with the same text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_open(
    envelope: *const ot_envelope,
    nym_id: *const c_char,
    private_key: *const ot_key,
    plaintext: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let e = handle(envelope, "envelope")?;
        // SAFETY: NULL or a NUL-terminated string (header contract).
        let id = unsafe { opt_cstr(nym_id, "nym_id") }?;
        let k = handle(private_key, "private_key")?;
        let plaintext = OutHandle::new(plaintext, "plaintext")?;
        let p = e.0.open(id, &k.0)?;
        plaintext.put(ot_buffer::new(p));
        Ok(())
    })
}

/// Encrypts `plaintext` into a symmetric (type 2) envelope with a raw 16-byte AES key, e.g. one
/// unlocked by `ot_symkey_unlock`. NUL bytes in the plaintext are refused.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_encrypt_symmetric(
    raw_key: *const u8,
    key_len: usize,
    plaintext: *const u8,
    len: usize,
    envelope: *mut *mut ot_envelope,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let k = unsafe { bytes(raw_key, key_len, "raw_key") }?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { bytes(plaintext, len, "plaintext") }?;
        let envelope = OutHandle::new(envelope, "envelope")?;
        let e = Envelope::encrypt_symmetric(k, p)?;
        envelope.put(ot_envelope(e));
        Ok(())
    })
}

/// Decrypts a symmetric (type 2) envelope with a raw 16-byte key. A wrong key is
/// `OT_ERR_DECRYPT_FAILED`; a non-symmetric envelope is `OT_ERR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_decrypt_symmetric(
    envelope: *const ot_envelope,
    raw_key: *const u8,
    key_len: usize,
    plaintext: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let e = handle(envelope, "envelope")?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let k = unsafe { bytes(raw_key, key_len, "raw_key") }?;
        let plaintext = OutHandle::new(plaintext, "plaintext")?;
        let p = e.0.decrypt_symmetric(k)?;
        plaintext.put(ot_buffer::new(p));
        Ok(())
    })
}

/// Frees an envelope. `ot_envelope_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_envelope_free(envelope: *mut ot_envelope) {
    guard_value((), || free(envelope))
}
