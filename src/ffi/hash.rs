//! Hashes and base62 identifiers.

use std::ffi::c_char;

use super::OutHandle;
use super::{bytes, cstr, guard, null, ot_buffer, ot_result};
use crate::hash;

unsafe fn digest_into(
    data: *const u8,
    len: usize,
    out: *mut u8,
    f: impl FnOnce(&[u8]) -> Vec<u8>,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let d = unsafe { bytes(data, len, "data") }?;
        if out.is_null() {
            return Err(null("out"));
        }
        let h = f(d);
        // SAFETY: the caller provides an output array of the documented size.
        unsafe { std::ptr::copy_nonoverlapping(h.as_ptr(), out, h.len()) };
        Ok(())
    })
}

/// SAMY digest (SHA-256 XOR the first 32 bytes of Whirlpool) of `data[0..len]` into `out[32]`.
/// `data` may be NULL only when `len` is 0. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_hash_samy(data: *const u8, len: usize, out: *mut u8) -> ot_result {
    // SAFETY: the caller's input pair is readable and `out` has room for the digest (header contract).
    unsafe { digest_into(data, len, out, |d| hash::samy(d).to_vec()) }
}

/// SHA-256 of `data[0..len]` into `out[32]`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_hash_sha256(data: *const u8, len: usize, out: *mut u8) -> ot_result {
    // SAFETY: the caller's input pair is readable and `out` has room for the digest (header contract).
    unsafe { digest_into(data, len, out, |d| hash::sha256(d).to_vec()) }
}

/// SHA256D, i.e. SHA-256(SHA-256(data)), of `data[0..len]` into `out[32]`: the suite v3 digest.
/// `data` may be NULL only when `len` is 0. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_hash_sha256d(data: *const u8, len: usize, out: *mut u8) -> ot_result {
    // SAFETY: the caller's input pair is readable and `out` has room for the digest (header contract).
    unsafe { digest_into(data, len, out, |d| hash::sha256d(d).to_vec()) }
}

/// Whirlpool of `data[0..len]` into `out[64]`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_hash_whirlpool(data: *const u8, len: usize, out: *mut u8) -> ot_result {
    // SAFETY: the caller's input pair is readable and `out` has room for the digest (header contract).
    unsafe { digest_into(data, len, out, |d| hash::whirlpool(d).to_vec()) }
}

/// OT base62 text of `bytes[0..len]` (big-endian integer, alphabet `0-9A-Za-z`, leading zero
/// bytes dropped) into a new NUL-terminated `*id`. Free it with `ot_buffer_free`. At most 1024
/// input bytes (`OT_ERR_INVALID_ARGUMENT` beyond: the conversion is quadratic).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_id_encode(
    data: *const u8,
    len: usize,
    id: *mut *mut ot_buffer,
) -> ot_result {
    // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
    unsafe { id_text(data, len, id, hash::id_encode) }
}

/// Shared by the functions that turn bytes into ID text.
unsafe fn id_text(
    data: *const u8,
    len: usize,
    id: *mut *mut ot_buffer,
    f: fn(&[u8]) -> crate::Result<String>,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let d = unsafe { bytes(data, len, "data") }?;
        let id = OutHandle::new(id, "id")?;
        let text = f(d)?;
        id.put(ot_buffer::new(text.into_bytes()));
        Ok(())
    })
}

/// Decodes OT base62 text into big-endian bytes (leading zero bytes are not restored: IDs are
/// compared as text). `OT_ERR_MALFORMED` for characters outside `0-9A-Za-z`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_id_decode(id: *const c_char, out: *mut *mut ot_buffer) -> ot_result {
    guard(|| {
        // SAFETY: a NUL-terminated string (header contract).
        let t = unsafe { cstr(id, "id") }?;
        let out = OutHandle::new(out, "out")?;
        let v = hash::id_decode(t)?;
        out.put(ot_buffer::new(v));
        Ok(())
    })
}

/// The suite v3 identifier of `data`: base62(SHA256D(data)), i.e. `ot_id_encode` of
/// `ot_hash_sha256d`. Result is NUL-terminated text in a new `*id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_id_of_v3(
    data: *const u8,
    len: usize,
    id: *mut *mut ot_buffer,
) -> ot_result {
    // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
    unsafe { id_text(data, len, id, hash::id_of_v3) }
}

/// The OT identifier of `data`: base62(SAMY(data)) — how contract, credential and nym IDs are
/// formed. Result is NUL-terminated text in a new `*id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_id_of(
    data: *const u8,
    len: usize,
    id: *mut *mut ot_buffer,
) -> ot_result {
    // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
    unsafe { id_text(data, len, id, |d| Ok(hash::id_of(d))) }
}
