//! `ot_session`: a client's lock-step connection to a notary.

use std::ffi::c_char;

use super::options::{opts, ot_session_options};
use super::{
    Handle, HandleKind, bytes, cstr, free, guard, guard_value, handle, handle_mut, ot_buffer,
    ot_key, ot_result, out_ptr, put,
};
use crate::transport::Session;

/// A client session: one lock-step ZeroMQ REQ connection to a notary. Created by
/// `ot_session_new`, freed by `ot_session_free`. A session is used by **one thread at a time**
/// (it may be handed from thread to thread); many sessions may run in one process.
pub struct ot_session(pub(crate) Session);

impl Handle for ot_session {
    const KIND: HandleKind = HandleKind::Session;
    const NAME: &'static str = "ot_session";
}

/// Creates a session connecting to `endpoint` (`tcp://host:port`, `ipc://path`). `options` may
/// be NULL (legacy defaults); it is copied. Connecting is asynchronous: a notary that is not
/// running yet is not an error here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_new(
    endpoint: *const c_char,
    options: *const ot_session_options,
    session: *mut *mut ot_session,
) -> ot_result {
    guard(|| {
        // SAFETY: a NUL-terminated string (header contract).
        let ep = unsafe { cstr(endpoint, "endpoint") }?;
        out_ptr(session, "session")?;
        let s = Session::new(ep, opts(options)?)?;
        // SAFETY: the out-pointer was checked non-NULL above and is writable (header contract).
        unsafe { put(session, ot_session(s)) };
        Ok(())
    })
}

/// One raw lock-step exchange: sends `frame[0..len]` as one message and waits for the reply
/// frame (legacy poll schedule). A lost reply re-creates the socket (or, with `req_relaxed`,
/// keeps it) and re-sends, up to `max_resends` times; then `OT_ERR_TIMEOUT`. A frame over
/// `max_message_size` is `OT_ERR_INVALID_ARGUMENT` before anything is sent; another thread using
/// the session at the same moment, or a session inherited through `fork()`, is `OT_ERR_STATE`.
/// The session stays usable after every error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_exchange(
    session: *mut ot_session,
    frame: *const u8,
    len: usize,
    reply: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let f = unsafe { bytes(frame, len, "frame") }?;
        out_ptr(reply, "reply")?;
        let r = s.0.exchange(f)?;
        // SAFETY: the out-pointer was checked non-NULL above and is writable (header contract).
        unsafe { put(reply, ot_buffer::new(r)) };
        Ok(())
    })
}

/// Sets the client's keys (both private; copied): `auth_private` signs requests,
/// `encryption_private` opens sealed replies.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_set_identity(
    session: *mut ot_session,
    auth_private: *const ot_key,
    encryption_private: *const ot_key,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        let a = handle(auth_private, "auth_private")?;
        let e = handle(encryption_private, "encryption_private")?;
        s.0.set_identity(&a.0, &e.0)?;
        Ok(())
    })
}

/// Sets the notary (keys copied): requests are sealed to `notary_nym_id` with
/// `notary_encryption_public`; replies must be signed by `notary_auth_public`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_set_notary(
    session: *mut ot_session,
    notary_nym_id: *const c_char,
    notary_encryption_public: *const ot_key,
    notary_auth_public: *const ot_key,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        // SAFETY: a NUL-terminated string (header contract).
        let id = unsafe { cstr(notary_nym_id, "notary_nym_id") }?;
        let e = handle(notary_encryption_public, "notary_encryption_public")?;
        let a = handle(notary_auth_public, "notary_auth_public")?;
        s.0.set_notary(id, &e.0, &a.0)?;
        Ok(())
    })
}

/// A full legacy request: signs `content` as a `MESSAGE` with the auth key, seals it to the
/// notary, sends the bare armor, waits (with recovery, as `ot_session_exchange`), then opens a
/// bookended `ENVELOPE` reply with the encryption key — or decodes the legacy unencrypted
/// bookended `MESSAGE` — verifies the notary's signature and returns the reply content (which,
/// like all signed content, ends with a newline).
/// Errors: `OT_ERR_STATE` (identity or notary not set; the session is in use by another thread;
/// it was created before `fork()`), `OT_ERR_TIMEOUT` (see the schedule, `request_timeout_ms` and
/// heartbeats under `ot_session_options_new`), `OT_ERR_BAD_SIGNATURE` (reply not signed by the
/// notary's auth key), `OT_ERR_DECRYPT_FAILED`, `OT_ERR_TRANSPORT` (unexpected reply kind, an
/// empty reply, or a notary error reply), `OT_ERR_MALFORMED` (unreadable reply),
/// `OT_ERR_INVALID_ARGUMENT` (content a legacy reader would alter; a request frame over
/// `max_message_size`, refused before anything is sent).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_request(
    session: *mut ot_session,
    content: *const u8,
    len: usize,
    reply: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let c = unsafe { bytes(content, len, "content") }?;
        out_ptr(reply, "reply")?;
        let r = s.0.request(c)?;
        // SAFETY: the out-pointer was checked non-NULL above and is writable (header contract).
        unsafe { put(reply, ot_buffer::new(r)) };
        Ok(())
    })
}

/// Frees a session (closes its socket; pending data is discarded, linger 0 by default).
/// `ot_session_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_free(session: *mut ot_session) {
    guard_value((), || free(session))
}

/// The version of the libzmq the library runs with. Any of the pointers may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_zmq_version(major: *mut i32, minor: *mut i32, patch: *mut i32) {
    guard_value((), || {
        let (a, b, c) = crate::transport::zmq_version();
        for (p, v) in [(major, a), (minor, b), (patch, c)] {
            if !p.is_null() {
                // SAFETY: each non-NULL pointer points to a writable int32_t (header contract).
                unsafe { *p = v };
            }
        }
    })
}
