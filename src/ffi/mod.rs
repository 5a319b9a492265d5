//! The C ABI: every `extern "C"` function of the library lives below this module.
//!
//! This layer only converts: it checks every pointer, turns C strings and (pointer, length)
//! pairs into Rust values, calls the core, maps errors to stable [`ot_result`] codes (with a
//! per-thread detail text behind [`ot_last_error`]), writes outputs only on success, and stops
//! every panic at the boundary. Nothing here knows cryptography or wire formats.
#![allow(non_camel_case_types)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![allow(clippy::missing_safety_doc)] // each function's safety contract is in its header docs

mod armor;
mod broker;
mod buffer;
mod contract;
mod envelope;
mod from_files;
mod hash;
mod keys;
mod notary;
mod nym;
mod options;
mod registry;
mod request;
mod session;
mod signed;
mod symkey;

pub use armor::*;
pub use broker::*;
pub use buffer::*;
pub use contract::*;
pub use envelope::*;
pub use from_files::*;
pub use hash::*;
pub use keys::*;
pub use notary::*;
pub use nym::*;
pub use options::*;
pub use request::*;
pub use session::*;
pub use signed::*;
pub use symkey::*;

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

use registry::{Exclusive, Refusal, Shared};
pub(crate) use registry::{Handle, HandleKind};

use crate::error::{Error, ErrorKind};

/// Result codes. `OT_OK` is zero; every failure is a distinct positive code. Codes are never
/// renumbered; new codes are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ot_result {
    /// Success.
    OT_OK = 0,
    /// A required pointer argument was NULL.
    OT_ERR_NULL_ARGUMENT = 1,
    /// An argument is out of range or inconsistent (size, enum value, NUL in text, wrong key type).
    OT_ERR_INVALID_ARGUMENT = 2,
    /// Input bytes or text do not have the expected structure (armor, envelope, signed text, ID).
    OT_ERR_MALFORMED = 3,
    /// Key material is in no supported format, or unusable (size, inconsistent components).
    OT_ERR_KEY_FORMAT = 4,
    /// The passphrase is missing or wrong.
    OT_ERR_BAD_PASSPHRASE = 5,
    /// An envelope could not be opened. Uniform on purpose: it never says which step failed.
    OT_ERR_DECRYPT_FAILED = 6,
    /// The envelope has no entry for the given NymID (and no empty-ID fallback entry).
    OT_ERR_NO_MATCHING_RECIPIENT = 7,
    /// A signature did not verify with the given key.
    OT_ERR_BAD_SIGNATURE = 8,
    /// A network operation did not complete in the configured time.
    OT_ERR_TIMEOUT = 9,
    /// ZeroMQ or the peer failed (socket error, unexpected reply).
    OT_ERR_TRANSPORT = 10,
    /// A bug or an environment failure (RNG unavailable, caught panic).
    OT_ERR_INTERNAL = 11,
    /// The call is not valid in the object's current state (e.g. no identity set yet).
    OT_ERR_STATE = 12,
    /// The input uses a recognised but unsupported feature (cipher, hash type).
    OT_ERR_UNSUPPORTED = 13,
}

use ot_result::*;

/// Highest result code defined by this version of the library.
pub const OT_RESULT_MAX: c_int = 13;

pub(crate) struct FfiError {
    code: ot_result,
    detail: String,
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        let code = match e.kind() {
            ErrorKind::InvalidArgument => OT_ERR_INVALID_ARGUMENT,
            ErrorKind::Malformed => OT_ERR_MALFORMED,
            ErrorKind::KeyFormat => OT_ERR_KEY_FORMAT,
            ErrorKind::BadPassphrase => OT_ERR_BAD_PASSPHRASE,
            ErrorKind::DecryptFailed => OT_ERR_DECRYPT_FAILED,
            ErrorKind::NoMatchingRecipient => OT_ERR_NO_MATCHING_RECIPIENT,
            ErrorKind::BadSignature => OT_ERR_BAD_SIGNATURE,
            ErrorKind::Timeout => OT_ERR_TIMEOUT,
            ErrorKind::Transport => OT_ERR_TRANSPORT,
            ErrorKind::State => OT_ERR_STATE,
            ErrorKind::Unsupported => OT_ERR_UNSUPPORTED,
            ErrorKind::Internal => OT_ERR_INTERNAL,
        };
        FfiError {
            code,
            detail: e.detail().to_string(),
        }
    }
}

pub(crate) type FfiResult<T> = Result<T, FfiError>;

pub(crate) fn null(name: &str) -> FfiError {
    FfiError {
        code: OT_ERR_NULL_ARGUMENT,
        detail: format!("argument `{name}` is NULL"),
    }
}

pub(crate) fn invalid(detail: impl Into<String>) -> FfiError {
    FfiError {
        code: OT_ERR_INVALID_ARGUMENT,
        detail: detail.into(),
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Longest detail text kept (bytes); longer texts are cut at a character boundary with "…".
const MAX_ERROR_TEXT: usize = 1024;

fn set_last_error(detail: &str) {
    // Never panics: a thread being torn down simply keeps no text.
    let mut text = detail.replace('\0', " ");
    if text.len() > MAX_ERROR_TEXT {
        let mut cut = MAX_ERROR_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    // NUL bytes were replaced above, so this cannot fail; keep a fixed text if it ever did.
    let c = CString::new(text).unwrap_or_else(|_| c"(error text unavailable)".to_owned());
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut slot) = l.try_borrow_mut() {
            *slot = c;
        }
    });
}

/// Runs `f` with the panic boundary and error mapping every exported function shares.
pub(crate) fn guard(f: impl FnOnce() -> FfiResult<()>) -> ot_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => OT_OK,
        Ok(Err(e)) => {
            set_last_error(&e.detail);
            e.code
        }
        Err(_) => {
            set_last_error("internal error: a panic was caught at the C boundary");
            OT_ERR_INTERNAL
        }
    }
}

/// A borrowed byte slice from a (pointer, length) pair. NULL is allowed only with length 0.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> FfiResult<&'a [u8]> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(null(name));
    }
    if len > isize::MAX as usize {
        return Err(invalid(format!("length of `{name}` is too large")));
    }
    // SAFETY: the caller promises `ptr` points to `len` readable bytes (header contract).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A borrowed NUL-terminated UTF-8 string.
pub(crate) unsafe fn cstr<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: the caller promises a NUL-terminated string (header contract).
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(format!("`{name}` is not valid UTF-8")))
}

/// An optional NUL-terminated UTF-8 string (NULL → `None`).
pub(crate) unsafe fn opt_cstr<'a>(ptr: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: a NUL-terminated string (header contract).
        unsafe { cstr(ptr, name) }.map(Some)
    }
}

/// Looks up counter `name` with `get`, writing it to `value`: the shared body of the
/// `ot_*_counter` functions. An unknown name is `OT_ERR_INVALID_ARGUMENT` and lists the names.
pub(crate) unsafe fn counter_out(
    name: *const c_char,
    value: *mut u64,
    names: &[&str],
    get: impl FnOnce(&str) -> Option<u64>,
) -> FfiResult<()> {
    // SAFETY: a NUL-terminated string (header contract).
    let n = unsafe { cstr(name, "name") }?;
    out_val(value, "value")?;
    let v = get(n).ok_or_else(|| {
        invalid(format!(
            "unknown counter {}; known: {}",
            crate::error::quote(n),
            names.join(", ")
        ))
    })?;
    // SAFETY: checked non-NULL above; points to a uint64_t (header contract).
    unsafe { write(value, v) };
    Ok(())
}

/// The `index`-th name of `names` as a static C string (NULL past the end): the shared body of
/// the `ot_*_counter_name` functions.
pub(crate) fn counter_name(
    cache: &'static std::sync::OnceLock<Vec<std::ffi::CString>>,
    names: &[&str],
    index: usize,
) -> *const c_char {
    let list = cache.get_or_init(|| {
        names
            .iter()
            .filter_map(|n| std::ffi::CString::new(*n).ok())
            .collect()
    });
    list.get(index).map_or(std::ptr::null(), |c| c.as_ptr())
}

/// Checks a plain output pointer (`int *`, `uint64_t *`, …) before any work is done.
pub(crate) fn out_val<T>(ptr: *mut T, name: &str) -> FfiResult<()> {
    if ptr.is_null() {
        Err(null(name))
    } else {
        Ok(())
    }
}

/// Writes a plain output value (only called on success).
///
/// # Safety
/// `ptr` was checked non-NULL by [`out_val`] and points to writable storage for a `T`.
pub(crate) unsafe fn write<T>(ptr: *mut T, value: T) {
    // SAFETY: the caller guarantees `ptr` is valid and writable (checked non-NULL).
    unsafe { ptr.write(value) };
}

/// Checks an output pointer before any work is done.
pub(crate) fn out_ptr<T>(ptr: *mut *mut T, name: &str) -> FfiResult<()> {
    if ptr.is_null() {
        Err(null(name))
    } else {
        Ok(())
    }
}

/// Refusal of a handle, as the error every function gives for it.
fn refused<T: Handle>(r: Refusal, name: &str) -> FfiError {
    match r {
        Refusal::NotLive => invalid(format!(
            "`{name}` is not a live {} handle (wrong type, already freed, or not from this library)",
            T::NAME
        )),
        Refusal::Busy => FfiError {
            code: ot_result::OT_ERR_STATE,
            detail: format!(
                "`{name}` ({}) is in use by another thread right now: one thread at a time",
                T::NAME
            ),
        },
    }
}

/// Stores a new object in `*out` (only called on success) and registers it as a handle.
///
/// # Safety
/// `out` was checked non-NULL by [`out_ptr`] and points to writable storage for a pointer.
pub(crate) unsafe fn put<T: Handle>(out: *mut *mut T, value: T) {
    let h = registry::register(value);
    // SAFETY: the caller guarantees `out` is a valid, writable `T **` (checked non-NULL).
    unsafe { *out = h };
}

/// Borrows the object behind a handle for the duration of a call, after checking that it is a
/// live handle of type `T`. This is the only way the ffi layer reaches an object: the handle
/// is never dereferenced as a pointer (see `registry`).
pub(crate) fn handle<T: Handle>(ptr: *const T, name: &str) -> FfiResult<Shared<T>> {
    if ptr.is_null() {
        return Err(null(name));
    }
    Shared::borrow(ptr).map_err(|r| refused::<T>(r, name))
}

/// Borrows the object behind a handle exclusively (same checks as [`handle`]; another thread
/// using the same object at this moment gives `OT_ERR_STATE`).
pub(crate) fn handle_mut<T: Handle>(ptr: *mut T, name: &str) -> FfiResult<Exclusive<T>> {
    if ptr.is_null() {
        return Err(null(name));
    }
    Exclusive::borrow(ptr).map_err(|r| refused::<T>(r, name))
}

/// For plain-value getters: the object if `ptr` is a live handle of type `T`, else `None`.
pub(crate) fn checked<T: Handle>(ptr: *const T) -> Option<Shared<T>> {
    if ptr.is_null() {
        return None;
    }
    Shared::borrow(ptr).ok()
}

/// Frees a handle created by [`put`]. NULL, foreign and already-freed handles are ignored; a
/// handle in use by another thread is freed when that call returns.
pub(crate) fn free<T: Handle>(ptr: *mut T) {
    if ptr.is_null() {
        return;
    }
    if registry::unregister(ptr) == registry::Freed::OtherType {
        set_last_error(&format!(
            "{}_free was given a handle of another type; ignored",
            T::NAME
        ));
    }
}

/// The panic boundary for functions that return a plain value instead of `ot_result`
/// (getters, `*_free`): a caught panic gives `fallback`.
pub(crate) fn guard_value<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        set_last_error("internal error: a panic was caught at the C boundary");
        fallback
    })
}

/// Library version text, e.g. `"0.1.0"`. Static storage; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn ot_version() -> *const c_char {
    // Nothing here can panic: a constant.
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Static English text for a result code (`"ok"`, `"NULL argument"`, …); unknown codes give
/// `"unknown result code"`. Never NULL; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn ot_result_str(result: c_int) -> *const c_char {
    let s: &'static str = match result {
        0 => "ok\0",
        1 => "NULL argument\0",
        2 => "invalid argument\0",
        3 => "malformed input\0",
        4 => "unsupported or invalid key format\0",
        5 => "missing or wrong passphrase\0",
        6 => "decryption failed\0",
        7 => "no matching recipient in envelope\0",
        8 => "bad signature\0",
        9 => "timed out\0",
        10 => "transport failure\0",
        11 => "internal error\0",
        12 => "invalid state for this call\0",
        13 => "unsupported feature\0",
        _ => "unknown result code\0",
    };
    s.as_ptr().cast()
}

/// Detail text of the last failure of a library call **on the calling thread** (empty string
/// before any failure). Successful calls do not clear it. The pointer stays valid until the next
/// failing call on the same thread; copy the text to keep it. Never NULL; never free it. The
/// text never contains key material, plaintext or passphrases.
#[unsafe(no_mangle)]
pub extern "C" fn ot_last_error() -> *const c_char {
    // `try_with`: during thread teardown the thread-local may be gone; never panic then.
    guard_value(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|l| l.try_borrow().map(|c| c.as_ptr()).unwrap_or(c"".as_ptr()))
            .unwrap_or(c"".as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_fallbacks_and_error_codes() {
        let v = guard_value(7usize, || panic!("boom"));
        assert_eq!(v, 7);
        // SAFETY: ot_last_error returns a valid NUL-terminated string.
        let e = unsafe { CStr::from_ptr(ot_last_error()) };
        assert!(e.to_str().unwrap().contains("panic"));
        assert_eq!(guard(|| panic!("boom")), ot_result::OT_ERR_INTERNAL);
    }
}
