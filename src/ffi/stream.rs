//! Streaming envelopes (type 4): init / update / final on both sides.

use std::ffi::{c_char, c_int};

use super::envelope::{ot_recipient, with_recipients};
use super::{
    FfiResult, Handle, HandleKind, OutHandle, OutValue, bytes, bytes_mut, checked, disjoint, free,
    guard, guard_value, handle, handle_mut, opt_cstr, ot_key, ot_result,
};
use crate::envelope::stream::{StreamOpener, StreamSealer};

/// A stream being sealed (a streaming envelope, type 4, to suite v3 X25519 keys). Created by
/// `ot_stream_seal_init`, fed with `ot_stream_seal_update`, ended with `ot_stream_seal_final`,
/// freed with `ot_stream_sealer_free` (which wipes the key and the held-back plaintext). One
/// thread at a time (another thread's call at the same moment is `OT_ERR_STATE`).
pub struct ot_stream_sealer(pub(crate) StreamSealer);

impl Handle for ot_stream_sealer {
    const KIND: HandleKind = HandleKind::StreamSealer;
    const NAME: &'static str = "ot_stream_sealer";
}

/// A stream being opened. Created by `ot_stream_open_init`, fed with `ot_stream_open_update`,
/// ended with `ot_stream_open_final`, freed with `ot_stream_opener_free` (which wipes the keys).
/// One thread at a time.
pub struct ot_stream_opener(pub(crate) StreamOpener);

impl Handle for ot_stream_opener {
    const KIND: HandleKind = HandleKind::StreamOpener;
    const NAME: &'static str = "ot_stream_opener";
}

/// The input and output areas of an update, checked (NULL only with length 0, not
/// overlapping) before either is made into a slice; a NULL input is named `input_name` in the
/// error.
///
/// # Safety
/// `(input, in_len)` readable and `(out, out_cap)` writable for the call (header contract).
unsafe fn areas<'a>(
    input: *const u8,
    in_len: usize,
    input_name: &str,
    out: *mut u8,
    out_cap: usize,
) -> FfiResult<(&'a [u8], &'a mut [u8])> {
    disjoint(input, in_len, out, out_cap)?;
    // SAFETY: as promised by the caller; the areas do not overlap (checked above).
    let i = unsafe { bytes(input, in_len, input_name) }?;
    // SAFETY: as promised by the caller.
    let o = unsafe { bytes_mut(out, out_cap, "out") }?;
    Ok((i, o))
}

/// Starts sealing a stream to `n` recipients (1..=4096), all with X25519 keys (suite v3; an RSA
/// or Ed25519 key is `OT_ERR_INVALID_ARGUMENT`: legacy peers cannot read streams). A fresh
/// 32-byte stream key is wrapped to each recipient with HPKE base mode, entries sorted by NymID
/// (as in type 3); the payload is a sequence of 64 KiB ChaCha20-Poly1305 chunks
/// (`docs/streaming-envelopes.md`). Nothing is written until the first update or final.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_seal_init(
    recipients: *const ot_recipient,
    n: usize,
    sealer: *mut *mut ot_stream_sealer,
) -> ot_result {
    guard(|| {
        let sealer = OutHandle::new(sealer, "sealer")?;
        // SAFETY: `n` recipient structs (header contract).
        let s = unsafe { with_recipients(recipients, n, |list| Ok(StreamSealer::new(list)?)) }?;
        sealer.put(ot_stream_sealer(s));
        Ok(())
    })
}

/// The most bytes `ot_stream_seal_update` with `in_len` input bytes, or `ot_stream_seal_final`
/// right after it, writes: an `out_cap` of this size is always enough for either call. 0 if
/// `sealer` is NULL or not a live sealer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_seal_output_max(
    sealer: *const ot_stream_sealer,
    in_len: usize,
) -> usize {
    guard_value(0, || {
        checked(sealer).map_or(0, |s| {
            let s = &s.0;
            s.update_len(in_len).max(
                s.finish_len()
                    .saturating_add(in_len)
                    .saturating_add(16 * (in_len / 65536 + 1)),
            )
        })
    })
}

/// Seals `input[0..in_len]`, the next plaintext of the stream, writing to `out[0..out_cap]` the
/// header (on the first call) and every chunk now complete; `*out_len` gets the number of bytes
/// written (0 is common: a chunk is sealed only once 64 KiB and at least one more byte have
/// come, because only the last chunk carries the last-chunk flag). `out_cap` must be at least
/// `ot_stream_seal_output_max(sealer, in_len)` (else `OT_ERR_INVALID_ARGUMENT`, nothing taken);
/// the areas must not overlap. After `ot_stream_seal_final` this is `OT_ERR_STATE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_seal_update(
    sealer: *mut ot_stream_sealer,
    input: *const u8,
    in_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(sealer, "sealer")?;
        // SAFETY: the caller's areas are valid for this call (header contract).
        let (i, o) = unsafe { areas(input, in_len, "input", out, out_cap) }?;
        let out_len = OutValue::new(out_len, "out_len")?;
        let n = s.0.update(i, o)?;
        out_len.write(n);
        Ok(())
    })
}

/// Ends the stream: seals the held-back plaintext (0..=65536 bytes) as the last chunk into
/// `out[0..out_cap]` (and the header first, if no update wrote it); `*out_len` gets the number
/// of bytes written. `out_cap` must be at least `ot_stream_seal_output_max(sealer, 0)`. The
/// sealer is then finished (further updates are `OT_ERR_STATE`); free it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_seal_final(
    sealer: *mut ot_stream_sealer,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(sealer, "sealer")?;
        // SAFETY: the caller's area is valid for this call (header contract).
        let o = unsafe { bytes_mut(out, out_cap, "out") }?;
        let out_len = OutValue::new(out_len, "out_len")?;
        let n = s.0.finish(o)?;
        out_len.write(n);
        Ok(())
    })
}

/// Frees a sealer (wiping its keys and held-back plaintext). `ot_stream_sealer_free(NULL)` does
/// nothing. A sealer freed before `ot_stream_seal_final` leaves a stream that fails to open.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_sealer_free(sealer: *mut ot_stream_sealer) {
    guard_value((), || free(sealer))
}

/// Starts opening a stream with an X25519 private key (another algorithm is
/// `OT_ERR_INVALID_ARGUMENT`). The entry used follows the type-3 rules: the one carrying
/// `nym_id`, else the one with an empty NymID; with `nym_id` NULL, every entry in order. The key
/// is copied: it may be freed after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_open_init(
    nym_id: *const c_char,
    private_key: *const ot_key,
    opener: *mut *mut ot_stream_opener,
) -> ot_result {
    guard(|| {
        // SAFETY: NULL or a NUL-terminated string (header contract).
        let id = unsafe { opt_cstr(nym_id, "nym_id") }?;
        let k = handle(private_key, "private_key")?;
        let opener = OutHandle::new(opener, "opener")?;
        opener.put(ot_stream_opener(StreamOpener::new(id, &k.0)?));
        Ok(())
    })
}

/// The most bytes `ot_stream_open_update` with `in_len` input bytes, or `ot_stream_open_final`
/// after it, writes (plaintext is never longer than the ciphertext held back plus the input).
/// 0 if `opener` is NULL or not a live opener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_open_output_max(
    opener: *const ot_stream_opener,
    in_len: usize,
) -> usize {
    guard_value(0, || checked(opener).map_or(0, |o| o.0.output_max(in_len)))
}

/// Reads `input[0..in_len]`, the next bytes of the stream (any split), and writes to
/// `out[0..out_cap]` the plaintext of every chunk now known not to be the last and verified;
/// `*out_len` gets its length. `out_cap` must be at least
/// `ot_stream_open_output_max(opener, in_len)`; the areas must not overlap.
///
/// Plaintext comes out before the end of the stream is seen: act on it only once
/// `ot_stream_open_final` has succeeded (until then the stream may be cut short).
/// Errors: `OT_ERR_MALFORMED` for a header that cannot be read, `OT_ERR_NO_MATCHING_RECIPIENT`,
/// and `OT_ERR_DECRYPT_FAILED` — the same text — for every cryptographic failure: a wrap that
/// does not open, any chunk whose tag does not verify (altered, reordered, from another stream).
/// After a failure, every further call on the opener gives `OT_ERR_DECRYPT_FAILED` again, and
/// nothing is written to `out` by the failing call (plaintext it had written is wiped).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_open_update(
    opener: *mut ot_stream_opener,
    input: *const u8,
    in_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> ot_result {
    guard(|| {
        let mut o = handle_mut(opener, "opener")?;
        // SAFETY: the caller's areas are valid for this call (header contract).
        let (i, out) = unsafe { areas(input, in_len, "input", out, out_cap) }?;
        let out_len = OutValue::new(out_len, "out_len")?;
        let n = o.0.update(i, out)?;
        out_len.write(n);
        Ok(())
    })
}

/// Ends the stream: opens the held-back ciphertext as the last chunk into `out[0..out_cap]`
/// (at least `ot_stream_open_output_max(opener, 0)` bytes); `*out_len` gets its length. A stream
/// that ends inside its header, or whose last chunk is missing, cut, extended, or not marked
/// last (truncation at a chunk boundary), is `OT_ERR_DECRYPT_FAILED`. Only after this succeeds
/// is the whole stream authentic and complete.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_open_final(
    opener: *mut ot_stream_opener,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> ot_result {
    guard(|| {
        let mut o = handle_mut(opener, "opener")?;
        // SAFETY: the caller's area is valid for this call (header contract).
        let out = unsafe { bytes_mut(out, out_cap, "out") }?;
        let out_len = OutValue::new(out_len, "out_len")?;
        let n = o.0.finish(out)?;
        out_len.write(n);
        Ok(())
    })
}

/// Random access: once `ot_stream_open_update` has read the header, opens chunk `index` alone.
/// `chunk[0..len]` is the `OT_STREAM_SEALED_CHUNK_LEN` bytes at payload offset
/// `index * OT_STREAM_SEALED_CHUNK_LEN` (the payload starts `ot_stream_opener_header_len` bytes
/// into the stream); for the last chunk (`last` non-zero) what remains of the payload. Its
/// plaintext (plaintext bytes `index * OT_STREAM_CHUNK_LEN` onwards) goes to `out[0..out_cap]`
/// (`len - 16` bytes); `*out_len` gets its length. A chunk that does not verify at that index
/// with that flag is `OT_ERR_DECRYPT_FAILED` (and leaves the opener usable); before the header
/// is read this is `OT_ERR_STATE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_open_chunk(
    opener: *mut ot_stream_opener,
    index: u64,
    last: c_int,
    chunk: *const u8,
    len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> ot_result {
    guard(|| {
        let mut o = handle_mut(opener, "opener")?;
        // SAFETY: the caller's areas are valid for this call (header contract).
        let (c, out) = unsafe { areas(chunk, len, "chunk", out, out_cap) }?;
        let out_len = OutValue::new(out_len, "out_len")?;
        let n = o.0.open_chunk(index, last != 0, c, out)?;
        out_len.write(n);
        Ok(())
    })
}

/// The length of the stream's header into `*len` once `ot_stream_open_update` has read it (the
/// payload, chunk 0, starts there); `OT_ERR_STATE` before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_opener_header_len(
    opener: *const ot_stream_opener,
    len: *mut usize,
) -> ot_result {
    guard(|| {
        let o = handle(opener, "opener")?;
        let len = OutValue::new(len, "len")?;
        let n = o.0.header_len().ok_or_else(|| super::FfiError {
            code: ot_result::OT_ERR_STATE,
            detail: "the stream's header has not been read yet".into(),
        })?;
        len.write(n);
        Ok(())
    })
}

/// Frees an opener (wiping its keys). `ot_stream_opener_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stream_opener_free(opener: *mut ot_stream_opener) {
    guard_value((), || free(opener))
}
