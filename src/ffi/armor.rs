//! OT ASCII armor.

use std::ffi::c_char;

use super::OutHandle;
use super::{bytes, guard, invalid, opt_cstr, ot_buffer, ot_result};
use crate::armor::{self, Kind};

/// Which armor path: a value of `OT_ARMOR_DATA` or `OT_ARMOR_STRING`.
pub type ot_armor_kind = u32;
/// Binary payloads (envelopes, signatures, keys): protobuf Blob, no compression.
pub const OT_ARMOR_DATA: ot_armor_kind = 0;
/// Text payloads (messages, contracts): protobuf String, then zlib.
pub const OT_ARMOR_STRING: ot_armor_kind = 1;

pub(crate) fn armor_kind(k: ot_armor_kind) -> Result<Kind, super::FfiError> {
    match k {
        OT_ARMOR_DATA => Ok(Kind::Data),
        OT_ARMOR_STRING => Ok(Kind::String),
        _ => Err(invalid(format!(
            "armor kind {k} is not OT_ARMOR_DATA or OT_ARMOR_STRING"
        ))),
    }
}

/// Armors `data[0..len]` on the given path. With `bookend_type` NULL the result is bare armor
/// (base64 lines); otherwise it is wrapped in `-----BEGIN OT ARMORED <bookend_type>-----`
/// bookends (type: upper-case letters, digits, `_` and inner spaces, e.g. `"ENVELOPE"`).
/// Result: NUL-terminated text in a new `*armored`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_armor_encode(
    data: *const u8,
    len: usize,
    kind: ot_armor_kind,
    bookend_type: *const c_char,
    armored: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let d = unsafe { bytes(data, len, "data") }?;
        // SAFETY: NULL or a NUL-terminated string (header contract).
        let t = unsafe { opt_cstr(bookend_type, "bookend_type") }?;
        let armored = OutHandle::new(armored, "armored")?;
        let k = armor_kind(kind)?;
        let s = match t {
            Some(t) => armor::encode_bookended(d, k, t, false)?,
            None => armor::encode(d, k)?,
        };
        armored.put(ot_buffer::new(s.into_bytes()));
        Ok(())
    })
}

/// Decodes armor (bookended, escaped-bookended or bare) of the given path. Garbage gives
/// `OT_ERR_MALFORMED` with a detail in `ot_last_error()`.
/// A string-path payload may inflate to at most 64 MiB (67108864 bytes, the same as the default
/// `max_message_size`): inflating is streaming and stops there, so a zlib bomb costs at most about
/// that much memory and gives `OT_ERR_MALFORMED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_armor_decode(
    text: *const u8,
    len: usize,
    kind: ot_armor_kind,
    data: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let t = unsafe { bytes(text, len, "text") }?;
        let data = OutHandle::new(data, "data")?;
        let v = armor::decode(t, armor_kind(kind)?)?;
        data.put(ot_buffer::new(v));
        Ok(())
    })
}
