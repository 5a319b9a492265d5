//! `ot_session_options`: transport options for sessions and notaries, and CURVE keys.

use std::ffi::c_char;

use super::{
    Handle, HandleKind, bytes, cstr, free, guard, guard_value, handle, handle_mut, null, ot_buffer,
    ot_result, out_ptr, put,
};
use crate::transport::Options;

/// Transport options (an opaque builder). Created with `ot_session_options_new` holding the
/// legacy defaults; changed with `ot_session_options_set` or `ot_session_options_load_ini`;
/// freed with `ot_session_options_free`. Sessions and notaries copy the options they are given,
/// so one options object may serve many and be freed right after. Not thread-safe while being
/// modified.
pub struct ot_session_options(pub(crate) Options);

impl Handle for ot_session_options {
    const KIND: HandleKind = HandleKind::Options;
    const NAME: &'static str = "ot_session_options";
}

/// New options holding the legacy defaults: `latency_send_ms` 200, `latency_send_no_tries` 7,
/// `latency_receive_ms` 200, `latency_receive_no_tries` 7 (each try doubles the poll timeout:
/// about 25 s per attempt), `latency_delay_after` 50, `is_blocking` 0, `linger_ms` 0,
/// `max_resends` 1, `req_relaxed` 0, `heartbeat_ivl_ms`/`heartbeat_timeout_ms`/
/// `heartbeat_ttl_ms` 0 (off), `max_message_size` 67108864 (bytes; -1 = no limit; 0 is refused
/// with `OT_ERR_INVALID_ARGUMENT`), `request_timeout_ms` 0 (none),
/// `reply_errors` 0.
///
/// With heartbeats on (`heartbeat_ivl_ms` or `heartbeat_timeout_ms` > 0) a session watches its
/// connection: a notary that closed it, or that answers no heartbeat (or no connection comes up)
/// within `heartbeat_timeout_ms` (the interval when 0), ends the attempt at once, in blocking and
/// non-blocking mode; after the resends the request fails with `OT_ERR_TIMEOUT` saying the
/// connection is dead. `request_timeout_ms` bounds a whole request (every try and resend)
/// without changing the legacy schedule.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_new(
    options: *mut *mut ot_session_options,
) -> ot_result {
    guard(|| {
        out_ptr(options, "options")?;
        // SAFETY: the out-pointer was checked non-NULL above and is writable (header contract).
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
        let mut o = handle_mut(options, "options")?;
        // SAFETY: a NUL-terminated string (header contract).
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
        let o = handle(options, "options")?;
        // SAFETY: a NUL-terminated string (header contract).
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
        let mut o = handle_mut(options, "options")?;
        // SAFETY: the caller's (pointer, length) pair is readable for the call (header contract).
        let t = unsafe { bytes(text, len, "text") }?;
        let t = std::str::from_utf8(t)
            .map_err(|_| super::invalid("the configuration text is not UTF-8"))?;
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
        // SAFETY: the out-pointer was checked non-NULL above and is writable (header contract).
        unsafe { put(public_z85, ot_buffer::new(p.into_bytes())) };
        // SAFETY: the out-pointer was checked non-NULL above and is writable (header contract).
        unsafe { put(secret_z85, ot_buffer::from_slice(sk.as_bytes())) };
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
        let mut o = handle_mut(options, "options")?;
        // SAFETY: a NUL-terminated string (header contract).
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
        let mut o = handle_mut(options, "options")?;
        // SAFETY: a NUL-terminated string (header contract).
        let sp = unsafe { cstr(server_public_z85, "server_public_z85") }?;
        // SAFETY: a NUL-terminated string (header contract).
        let cp = unsafe { cstr(client_public_z85, "client_public_z85") }?;
        // SAFETY: a NUL-terminated string (header contract).
        let cs = unsafe { cstr(client_secret_z85, "client_secret_z85") }?;
        o.0.set_curve_client(sp, cp, cs)?;
        Ok(())
    })
}

/// Frees options. `ot_session_options_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_options_free(options: *mut ot_session_options) {
    guard_value((), || free(options))
}

/// The options behind `p`, or the defaults for NULL; an invalid handle is an error.
pub(crate) fn opts(p: *const ot_session_options) -> Result<Options, super::FfiError> {
    if p.is_null() {
        return Ok(Options::default());
    }
    handle(p, "options").map(|o| o.0.clone())
}
