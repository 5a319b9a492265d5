//! `ot_session_options`: transport options for sessions and notaries, and CURVE keys.

use std::ffi::c_char;

use super::OutHandle;
use super::OutValue;
use super::{
    Handle, HandleKind, bytes, cstr, free, guard, guard_value, handle, handle_mut, ot_buffer,
    ot_result,
};
use crate::transport::Options;

/// Transport options (an opaque builder). Created with `ot_session_options_new` holding the
/// legacy defaults; changed with `ot_session_options_set` or `ot_session_options_load_ini`;
/// freed with `ot_session_options_free`. Sessions and notaries copy the options they are given,
/// so one options object may serve many and be freed right after. Used by one thread at a time (a
/// second thread calling in at the same moment gets `OT_ERR_STATE`). Despite the name, the same
/// options configure sessions, notaries (`ot_notary_new`, `ot_notary_bind`, `ot_notary_connect`)
/// and brokers.
pub struct ot_session_options(pub(crate) Options);

impl Handle for ot_session_options {
    const KIND: HandleKind = HandleKind::Options;
    const NAME: &'static str = "ot_session_options";
}

/// New options holding the defaults (the legacy ones for legacy names: each try doubles the
/// poll timeout, about 25 s per attempt). Every option, with its default, accepted values and
/// meaning, is in the options block at the top of this header, generated from the one option
/// table; `ot_session_option_name` enumerates the names.
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
        let options = OutHandle::new(options, "options")?;
        options.put(ot_session_options(Options::default()));
        Ok(())
    })
}

/// Sets one option by name (see the options block at the top of this header, or
/// `ot_session_option_name`; the latency names are legacy OT's). Out-of-range values and unknown
/// names are `OT_ERR_INVALID_ARGUMENT`.
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
        let value = OutValue::new(value, "value")?;
        value.write(o.0.get(n)?);
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
        let public_z85 = OutHandle::new(public_z85, "public_z85")?;
        let secret_z85 = OutHandle::new(secret_z85, "secret_z85")?;
        let (p, sk) = crate::transport::curve_keypair()?;
        public_z85.put(ot_buffer::new(p.into_bytes()));
        secret_z85.put(ot_buffer::from_slice(sk.as_bytes()));
        Ok(())
    })
}

/// The CURVE public key of a CURVE secret key (both Z85, 40 characters), in a new `*public_z85`
/// (NUL-terminated; written only on success): what a peer needs of a key pair kept as its
/// secret half alone, e.g. a broker's backend key file. `OT_ERR_INVALID_ARGUMENT` for a
/// malformed key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_curve_public(
    secret_z85: *const c_char,
    public_z85: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: a NUL-terminated string (header contract).
        let secret = unsafe { cstr(secret_z85, "secret_z85") }?;
        let public_z85 = OutHandle::new(public_z85, "public_z85")?;
        let p = crate::transport::curve_public(secret)?;
        public_z85.put(ot_buffer::new(p.into_bytes()));
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

/// The `index`-th option name (from 0) that `ot_session_options_set` / `_get` take, in table
/// order, or NULL past the last: bindings enumerate the options instead of copying the list. The
/// string is static: never freed.
#[unsafe(no_mangle)]
pub extern "C" fn ot_session_option_name(index: usize) -> *const c_char {
    guard_value(std::ptr::null(), || {
        static NAMES: std::sync::OnceLock<Vec<std::ffi::CString>> = std::sync::OnceLock::new();
        super::counter_name(&NAMES, crate::transport::OPTION_NAMES, index)
    })
}
