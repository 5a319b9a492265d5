//! Client sessions, the notary endpoint, and their options.

use std::ffi::c_char;

use super::{
    Handle, HandleKind, bytes, cstr, free, guard, handle, handle_mut, null, ot_buffer, ot_key,
    ot_result, out_ptr, put,
};
use crate::transport::{Notary, Options, Request, Session};

/// Transport options (an opaque builder). Created with `ot_session_options_new` holding the
/// legacy defaults; changed with `ot_session_options_set` or `ot_session_options_load_ini`;
/// freed with `ot_session_options_free`. Sessions and notaries copy the options they are given,
/// so one options object may serve many and be freed right after. Not thread-safe while being
/// modified.
pub struct ot_session_options(pub(crate) Options);

/// A client session: one lock-step ZeroMQ REQ connection to a notary. Created by
/// `ot_session_new`, freed by `ot_session_free`. A session is used by **one thread at a time**
/// (it may be handed from thread to thread); many sessions may run in one process.
pub struct ot_session(pub(crate) Session);

/// A notary endpoint: one ZeroMQ REP socket. Created by `ot_notary_new`, freed by
/// `ot_notary_free`. Used by **one thread at a time**; many may run in one process.
pub struct ot_notary(pub(crate) Notary);

/// A request received by a notary (opened and parsed, not yet verified). Freed with
/// `ot_request_free`. Immutable: may be read from any thread.
pub struct ot_request(pub(crate) Request);

impl Handle for ot_session_options {
    const KIND: HandleKind = HandleKind::Options;
    const NAME: &'static str = "ot_session_options";
}
impl Handle for ot_session {
    const KIND: HandleKind = HandleKind::Session;
    const NAME: &'static str = "ot_session";
}
impl Handle for ot_notary {
    const KIND: HandleKind = HandleKind::Notary;
    const NAME: &'static str = "ot_notary";
}
impl Handle for ot_request {
    const KIND: HandleKind = HandleKind::Request;
    const NAME: &'static str = "ot_request";
}

/// New options holding the legacy defaults: `latency_send_ms` 200, `latency_send_no_tries` 7,
/// `latency_receive_ms` 200, `latency_receive_no_tries` 7 (each try doubles the poll timeout:
/// about 25 s per attempt), `latency_delay_after` 50, `is_blocking` 0, `linger_ms` 0,
/// `max_resends` 1, `req_relaxed` 0, `heartbeat_ivl_ms`/`heartbeat_timeout_ms`/
/// `heartbeat_ttl_ms` 0 (off), `max_message_size` 67108864 (bytes; -1 = no limit; 0 is
/// refused with `OT_ERR_INVALID_ARGUMENT`), `reply_errors` 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_new(
    options: *mut *mut ot_session_options,
) -> ot_result {
    guard(|| {
        out_ptr(options, "options")?;
        unsafe { put(options, ot_session_options(Options::default())) };
        Ok(())
    })
}

/// Sets one option by name (the names listed under `ot_session_options_new`; the latency names
/// are legacy OT's). Out-of-range values and unknown names are `OT_ERR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_set(
    options: *mut ot_session_options,
    name: *const c_char,
    value: i64,
) -> ot_result {
    guard(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        let n = unsafe { cstr(name, "name") }?;
        o.0.set(n, value)?;
        Ok(())
    })
}

/// Reads one option by name into `*value`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_get(
    options: *const ot_session_options,
    name: *const c_char,
    value: *mut i64,
) -> ot_result {
    guard(|| {
        let o = unsafe { handle(options, "options") }?;
        let n = unsafe { cstr(name, "name") }?;
        if value.is_null() {
            return Err(null("value"));
        }
        let v = o.0.get(n)?;
        // SAFETY: checked non-NULL; points to an int64_t (header contract).
        unsafe { *value = v };
        Ok(())
    })
}

/// Applies a legacy `client.cfg`/`server.cfg` text: the `[latency]` section's keys (legacy
/// names), plus an `[ot_transport]` section for this library's options. Other sections and
/// unknown keys are ignored as the legacy reader did; a bad value is `OT_ERR_MALFORMED` or
/// `OT_ERR_INVALID_ARGUMENT` naming the line, and then no option is changed. A UTF-8
/// byte-order mark at the start of the text is skipped.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_load_ini(
    options: *mut ot_session_options,
    text: *const u8,
    len: usize,
) -> ot_result {
    guard(|| {
        if options.is_null() {
            return Err(null("options"));
        }
        let t = unsafe { bytes(text, len, "text") }?;
        let t = std::str::from_utf8(t)
            .map_err(|_| super::invalid("the configuration text is not UTF-8"))?;
        // SAFETY: as in ot_session_options_set.
        let o = unsafe { &mut *options };
        let mut copy = o.0.clone();
        copy.load_ini(t)?;
        o.0 = copy;
        Ok(())
    })
}

/// A new CURVE key pair as Z85 text (40 characters each, NUL-terminated), for
/// `ot_session_options_set_curve_server` / `ot_session_options_set_curve_client`. Both outputs
/// are written only on success; the secret's buffer is zeroed on free.
/// `OT_ERR_UNSUPPORTED` when libzmq lacks CURVE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_curve_keypair(
    public_z85: *mut *mut ot_buffer,
    secret_z85: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        out_ptr(public_z85, "public_z85")?;
        out_ptr(secret_z85, "secret_z85")?;
        let (p, sk) = crate::transport::curve_keypair()?;
        unsafe { put(public_z85, ot_buffer::new(p.into_bytes())) };
        unsafe { put(secret_z85, ot_buffer::new(sk.as_bytes().to_vec())) };
        Ok(())
    })
}

/// Turns on CURVE transport security for a notary (ZeroMQ CurveZMQ: the connection is encrypted
/// and the server authenticated, in addition to the sealed envelopes). `server_secret_z85` is the
/// notary's long-term secret key (Z85, 40 characters); clients need its public half. Legacy
/// peers cannot connect to a CURVE notary: enable it only between peers that are both this
/// library (or speak CurveZMQ). `OT_ERR_UNSUPPORTED` when libzmq lacks CURVE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_set_curve_server(
    options: *mut ot_session_options,
    server_secret_z85: *const c_char,
) -> ot_result {
    guard(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        let sk = unsafe { cstr(server_secret_z85, "server_secret_z85") }?;
        o.0.set_curve_server(sk)?;
        Ok(())
    })
}

/// Turns on CURVE for a client session: the notary's public key and the client's key pair (all
/// Z85, 40 characters). A notary with another key, or without CURVE, never completes the
/// handshake: requests end in `OT_ERR_TIMEOUT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_set_curve_client(
    options: *mut ot_session_options,
    server_public_z85: *const c_char,
    client_public_z85: *const c_char,
    client_secret_z85: *const c_char,
) -> ot_result {
    guard(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        let sp = unsafe { cstr(server_public_z85, "server_public_z85") }?;
        let cp = unsafe { cstr(client_public_z85, "client_public_z85") }?;
        let cs = unsafe { cstr(client_secret_z85, "client_secret_z85") }?;
        o.0.set_curve_client(sp, cp, cs)?;
        Ok(())
    })
}

/// Frees options. `ot_session_options_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_free(options: *mut ot_session_options) {
    unsafe { free(options) }
}

/// The options behind `p`, or the defaults for NULL; an invalid handle is an error.
unsafe fn opts(p: *const ot_session_options) -> Result<Options, super::FfiError> {
    if p.is_null() {
        return Ok(Options::default());
    }
    unsafe { handle(p, "options") }.map(|o| o.0.clone())
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
        let ep = unsafe { cstr(endpoint, "endpoint") }?;
        out_ptr(session, "session")?;
        let s = Session::new(ep, unsafe { opts(options) }?)?;
        unsafe { put(session, ot_session(s)) };
        Ok(())
    })
}

unsafe fn session_mut<'a>(p: *mut ot_session) -> Result<&'a mut Session, super::FfiError> {
    unsafe { handle_mut(p, "session") }.map(|s| &mut s.0)
}

/// One raw lock-step exchange: sends `frame[0..len]` as one message and waits for the reply
/// frame (legacy poll schedule). A lost reply re-creates the socket (or, with `req_relaxed`,
/// keeps it) and re-sends, up to `max_resends` times; then `OT_ERR_TIMEOUT`. The session stays
/// usable after every error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_exchange(
    session: *mut ot_session,
    frame: *const u8,
    len: usize,
    reply: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let s = unsafe { session_mut(session) }?;
        let f = unsafe { bytes(frame, len, "frame") }?;
        out_ptr(reply, "reply")?;
        let r = s.exchange(f)?;
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
        let s = unsafe { session_mut(session) }?;
        let a = unsafe { handle(auth_private, "auth_private") }?;
        let e = unsafe { handle(encryption_private, "encryption_private") }?;
        s.set_identity(&a.0, &e.0)?;
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
        let s = unsafe { session_mut(session) }?;
        let id = unsafe { cstr(notary_nym_id, "notary_nym_id") }?;
        let e = unsafe { handle(notary_encryption_public, "notary_encryption_public") }?;
        let a = unsafe { handle(notary_auth_public, "notary_auth_public") }?;
        s.set_notary(id, &e.0, &a.0)?;
        Ok(())
    })
}

/// A full legacy request: signs `content` as a `MESSAGE` with the auth key, seals it to the
/// notary, sends the bare armor, waits (with recovery, as `ot_session_exchange`), then opens a
/// bookended `ENVELOPE` reply with the encryption key — or decodes the legacy unencrypted
/// bookended `MESSAGE` — verifies the notary's signature and returns the reply content (which,
/// like all signed content, ends with a newline).
/// Errors: `OT_ERR_STATE` (identity or notary not set), `OT_ERR_TIMEOUT`, `OT_ERR_BAD_SIGNATURE`
/// (reply not signed by the notary's auth key), `OT_ERR_DECRYPT_FAILED`, `OT_ERR_TRANSPORT`
/// (unexpected reply kind, an empty reply, or a notary error reply), `OT_ERR_MALFORMED` (also a
/// `MESSAGE` reply that inflates past `max_message_size`, or past 256 MiB when that is -1:
/// inflating stops at the limit, before any signature check, so a zlib bomb costs at most about
/// that much memory).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_request(
    session: *mut ot_session,
    content: *const u8,
    len: usize,
    reply: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let s = unsafe { session_mut(session) }?;
        let c = unsafe { bytes(content, len, "content") }?;
        out_ptr(reply, "reply")?;
        let r = s.request(c)?;
        unsafe { put(reply, ot_buffer::new(r)) };
        Ok(())
    })
}

/// Frees a session (closes its socket; pending data is discarded, linger 0 by default).
/// `ot_session_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_free(session: *mut ot_session) {
    unsafe { free(session) }
}

/// Binds a notary endpoint (ZeroMQ REP) on `bind_endpoint`, e.g. `tcp://*:7085` or
/// `tcp://127.0.0.1:*` for a free port (read it back with `ot_notary_endpoint`).
/// `auth_private` signs replies; `encryption_private` opens requests sealed to `nym_id`. Keys and
/// options (NULL: defaults) are copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_new(
    bind_endpoint: *const c_char,
    auth_private: *const ot_key,
    encryption_private: *const ot_key,
    nym_id: *const c_char,
    options: *const ot_session_options,
    notary: *mut *mut ot_notary,
) -> ot_result {
    guard(|| {
        let ep = unsafe { cstr(bind_endpoint, "bind_endpoint") }?;
        let a = unsafe { handle(auth_private, "auth_private") }?;
        let e = unsafe { handle(encryption_private, "encryption_private") }?;
        let id = unsafe { cstr(nym_id, "nym_id") }?;
        out_ptr(notary, "notary")?;
        let n = Notary::bind(ep, &a.0, &e.0, id, unsafe { opts(options) }?)?;
        unsafe { put(notary, ot_notary(n)) };
        Ok(())
    })
}

/// The concrete bound endpoint, with a wildcard port resolved (`tcp://127.0.0.1:41234`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_endpoint(
    notary: *const ot_notary,
    endpoint: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let n = unsafe { handle(notary, "notary") }?;
        out_ptr(endpoint, "endpoint")?;
        unsafe { put(endpoint, ot_buffer::new(n.0.endpoint().as_bytes().to_vec())) };
        Ok(())
    })
}

unsafe fn notary_mut<'a>(p: *mut ot_notary) -> Result<&'a mut Notary, super::FfiError> {
    unsafe { handle_mut(p, "notary") }.map(|n| &mut n.0)
}

/// Waits up to `timeout_ms` (`UINT32_MAX`: forever) for a request; de-armors it, opens it with
/// the notary's encryption key and parses the signed text into a new `*request`.
/// A request that cannot be read is handled as the legacy notary did (no reply; the REP socket
/// is re-created so the next client is served) — or, with the `reply_errors` option, answered
/// with a signed error — and its error is returned (`OT_ERR_MALFORMED`, `OT_ERR_DECRYPT_FAILED`,
/// `OT_ERR_NO_MATCHING_RECIPIENT`); the notary keeps serving. `OT_ERR_TIMEOUT` when nothing
/// arrived. A previous request left unanswered is dropped (no reply) by this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_receive(
    notary: *mut ot_notary,
    timeout_ms: u32,
    request: *mut *mut ot_request,
) -> ot_result {
    guard(|| {
        let n = unsafe { notary_mut(notary) }?;
        out_ptr(request, "request")?;
        let t = if timeout_ms == u32::MAX {
            -1
        } else {
            i64::from(timeout_ms)
        };
        let r = n.receive(t)?;
        unsafe { put(request, ot_request(r)) };
        Ok(())
    })
}

/// The request's content **without verifying** its signature, e.g. to read the sender's NymID
/// and look up their key. Do not act on it before `ot_request_verify` succeeds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_request_content(
    request: *const ot_request,
    content: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let r = unsafe { handle(request, "request") }?;
        out_ptr(content, "content")?;
        unsafe { put(content, ot_buffer::new(r.0.content_unverified().to_vec())) };
        Ok(())
    })
}

/// Verifies the request's signature with the sender's authentication public key; on success the
/// verified content goes to `*content` unless `content` is NULL. `OT_ERR_BAD_SIGNATURE` otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_request_verify(
    request: *const ot_request,
    sender_auth_public: *const ot_key,
    content: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let r = unsafe { handle(request, "request") }?;
        let k = unsafe { handle(sender_auth_public, "sender_auth_public") }?;
        let c = r.0.verify(&k.0)?;
        if !content.is_null() {
            unsafe { put(content, ot_buffer::new(c.to_vec())) };
        }
        Ok(())
    })
}

/// Frees a request. `ot_request_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_request_free(request: *mut ot_request) {
    unsafe { free(request) }
}

/// Answers `request`, which must be the one awaiting a reply (`OT_ERR_STATE` otherwise):
/// `content` is signed as a `MESSAGE` with the notary's auth key, sealed to
/// `recipient_encryption_public` with an empty NymID and sent bookended as `ENVELOPE`; with
/// `recipient_encryption_public` NULL it is sent as the legacy unencrypted bookended `MESSAGE`.
/// The request object stays valid (free it with `ot_request_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_reply(
    notary: *mut ot_notary,
    request: *const ot_request,
    content: *const u8,
    len: usize,
    recipient_encryption_public: *const ot_key,
) -> ot_result {
    guard(|| {
        let n = unsafe { notary_mut(notary) }?;
        let r = unsafe { handle(request, "request") }?;
        let c = unsafe { bytes(content, len, "content") }?;
        let k = if recipient_encryption_public.is_null() {
            None
        } else {
            Some(unsafe { handle(recipient_encryption_public, "recipient_encryption_public") }?)
        };
        n.reply(&r.0, c, k.map(|k| &k.0))?;
        Ok(())
    })
}

/// Frees a notary (closes its socket). `ot_notary_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_free(notary: *mut ot_notary) {
    unsafe { free(notary) }
}

/// The version of the libzmq the library runs with. Any of the pointers may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_zmq_version(major: *mut i32, minor: *mut i32, patch: *mut i32) {
    let (a, b, c) = crate::transport::zmq_version();
    // SAFETY: each non-NULL pointer points to an int32_t (header contract).
    unsafe {
        if !major.is_null() {
            *major = a;
        }
        if !minor.is_null() {
            *minor = b;
        }
        if !patch.is_null() {
            *patch = c;
        }
    }
}
