//! Signed text.

use std::ffi::c_char;

use super::OutHandle;
use super::{bytes, cstr, guard, handle, opt_cstr, ot_buffer, ot_key, ot_result};
use crate::signed;

/// Signs `content` as an OT signed document `-----BEGIN SIGNED <type>-----` (`type` e.g.
/// `"MESSAGE"`; upper case) with `signer`'s private key; the key chooses the suite. RSA:
/// `Hash: SAMY`, RSA-PSS (MGF1-SHA-256, maximum salt) over SAMY(content). Ed25519 (suite v3):
/// `Hash: SHA256D`, pure Ed25519 over SHA256D(type || "\n" || content), 64 bytes. An X25519
/// signer is `OT_ERR_INVALID_ARGUMENT`. `meta` (4 chars such as `"ADT9"`, or NULL) adds a `Meta:` line. A final
/// newline is added to `content` if missing. Content a legacy reader would alter is refused with
/// `OT_ERR_INVALID_ARGUMENT`: NUL bytes, lines over 2046 bytes (a `\r` before the `\n` counts,
/// so a CRLF line holds at most 2045 bytes before its `\r\n`: the legacy reader keeps the `\r`
/// and adds an empty line after a 2047-byte line), lines starting with `-` unless escaped as
/// `- -`, lines starting with `Hash: ` (the 2046-byte limit applies to RSA signers only).
/// Result: NUL-terminated text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_signed_create(
    doc_type: *const c_char,
    content: *const u8,
    len: usize,
    signer: *const ot_key,
    meta: *const c_char,
    text: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: a NUL-terminated string (header contract).
        let t = unsafe { cstr(doc_type, "type") }?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let c = unsafe { bytes(content, len, "content") }?;
        let k = handle(signer, "signer")?;
        // SAFETY: NULL or a NUL-terminated string (header contract).
        let m = unsafe { opt_cstr(meta, "meta") }?;
        let text = OutHandle::new(text, "text")?;
        let s = signed::create(t, c, &k.0, m)?;
        text.put(ot_buffer::new(s.into_bytes()));
        Ok(())
    })
}

/// Verifies a signed document with the signer's public key (at least one signature section must
/// verify). On success, if `content` is not NULL, the signed content (exactly the bytes the
/// signature covers) goes to a new `*content`. `OT_ERR_BAD_SIGNATURE` if no signature verifies,
/// `OT_ERR_MALFORMED` if the text cannot be parsed (including a second `Hash:` line, a
/// non-blank line right after it, or, unless `Hash: SHA256D`, a content line over 2046 bytes
/// counting a final `\r`: the legacy reader would cut it, so the legacy library cannot verify
/// that text either), `OT_ERR_UNSUPPORTED` for a hash other than SAMY and SHA256D.
/// `Hash: SAMY` verifies only with an RSA key and `Hash: SHA256D` only with an Ed25519 key
/// (signatures of exactly 64 bytes, strict RFC 8032 checks): any other pairing is
/// `OT_ERR_INVALID_ARGUMENT`, never success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_signed_verify(
    text: *const u8,
    len: usize,
    signer_public: *const ot_key,
    content: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let t = unsafe { bytes(text, len, "text") }?;
        let k = handle(signer_public, "signer_public")?;
        let c = signed::verify(t, &k.0)?;
        if let Some(content) = OutHandle::optional(content) {
            content.put(ot_buffer::new(c));
        }
        Ok(())
    })
}

/// Parses a signed document **without verifying it** and returns its content, e.g. so a notary
/// can read who sent a message before choosing the key to verify it with. Never trust this
/// content before `ot_signed_verify` succeeds. `OT_ERR_MALFORMED` for every text
/// `ot_signed_verify` cannot parse (including content lines over 2046 bytes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_signed_content(
    text: *const u8,
    len: usize,
    content: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let t = unsafe { bytes(text, len, "text") }?;
        let content = OutHandle::new(content, "content")?;
        let p = signed::parse(t)?;
        content.put(ot_buffer::new(p.content));
        Ok(())
    })
}
