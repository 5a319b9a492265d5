//! `ot_session`: a client's lock-step connection to a notary.

use std::ffi::c_char;

use super::options::{opts, ot_session_options};
use super::{
    FfiError, Handle, HandleKind, bytes, cstr, free, guard, guard_value, handle, handle_mut,
    ot_buffer, ot_key, ot_result,
};
use super::{OutHandle, OutValue};
use crate::transport::{Protocol, Session};

/// A client session with one notary: a lock-step ZeroMQ REQ connection exactly as a legacy
/// client (option `protocol` 0, the default), or a v2 DEALER connection (`protocol` 1, or 2 =
/// auto) with pipelining, pushes and heartbeats. Created by `ot_session_new`, freed by
/// `ot_session_free`. A session is used by **one thread at a time** (it may be handed from thread
/// to thread; a second thread calling in at the same moment gets `OT_ERR_STATE`); many sessions
/// may run in one process.
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
        let session = OutHandle::new(session, "session")?;
        let s = Session::new(ep, opts(options)?)?;
        session.put(ot_session(s));
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
        let reply = OutHandle::new(reply, "reply")?;
        let r = s.0.exchange(f)?;
        reply.put(ot_buffer::new(r));
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
/// empty reply, or a notary error reply), `OT_ERR_MALFORMED` (unreadable reply; also a
/// `MESSAGE` reply that inflates past `max_message_size`, or past 256 MiB when that is -1:
/// inflating stops at the limit, before any signature check, so a zlib bomb costs at most about
/// that much memory),
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
        let reply = OutHandle::new(reply, "reply")?;
        let r = s.0.request(c)?;
        reply.put(ot_buffer::new(r));
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
            if let Some(p) = OutValue::optional(p) {
                p.write(v);
            }
        }
    })
}

/// Protocol values of `ot_session_protocol` (and of the session option `protocol`, where 2 means
/// auto).
pub type ot_protocol = u32;
/// Lock-step REQ, exactly as a legacy client.
pub const OT_PROTOCOL_LEGACY: ot_protocol = 0;
/// Transport v2: DEALER, pipelined requests, pushes, heartbeats.
pub const OT_PROTOCOL_V2: ot_protocol = 1;

/// The protocol the session speaks, into `*protocol` (`OT_PROTOCOL_LEGACY` or `OT_PROTOCOL_V2`).
/// With the option `protocol` = 2 (auto) the first call decides it: a v2 PING answered within
/// `probe_timeout_ms` means v2; silence (every legacy REP notary drops v2 frames) means legacy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_protocol(
    session: *mut ot_session,
    protocol: *mut ot_protocol,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        let protocol = OutValue::new(protocol, "protocol")?;
        let p = match s.0.protocol()? {
            Protocol::V2 => OT_PROTOCOL_V2,
            _ => OT_PROTOCOL_LEGACY,
        };
        protocol.write(p);
        Ok(())
    })
}

/// v2: signs `content` (`MESSAGE`, auth key), seals it to the notary and sends it **without
/// waiting**; the request's id goes to `*request_id` (match it with `ot_session_receive`). At
/// most `max_in_flight` requests may wait at once (`OT_ERR_STATE` beyond). A late reply is asked
/// for again on the same connection (the notary answers a resent request from its reply cache, so
/// its application sees each request once). `OT_ERR_STATE` on a legacy session.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_send(
    session: *mut ot_session,
    content: *const u8,
    len: usize,
    request_id: *mut u64,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let c = unsafe { bytes(content, len, "content") }?;
        let request_id = OutValue::new(request_id, "request_id")?;
        let id = s.0.send(c)?;
        request_id.write(id);
        Ok(())
    })
}

/// v2: sends `frame[0..len]` as a request body **as it is** (nothing signed or sealed: the
/// pipelined form of `ot_session_exchange`) without waiting; the request's id goes to
/// `*request_id`. `ot_session_receive` hands its reply over as the notary (or peer) sent it, in
/// `*reply` with `*status` `OT_OK`, nothing opened or verified; or its error status
/// (`OT_ERR_TIMEOUT`, `OT_ERR_TRANSPORT` for an `ERR` answer). Requests sent with
/// `ot_session_send` in the same session are opened and verified as usual. The limits and
/// resends of `ot_session_send` apply (`max_in_flight`: `OT_ERR_STATE` beyond; a frame over
/// `max_message_size`: `OT_ERR_INVALID_ARGUMENT`, nothing sent). `OT_ERR_STATE` on a legacy
/// session.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_send_frame(
    session: *mut ot_session,
    frame: *const u8,
    len: usize,
    request_id: *mut u64,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let f = unsafe { bytes(frame, len, "frame") }?;
        let request_id = OutValue::new(request_id, "request_id")?;
        let id = s.0.send_frame(f)?;
        request_id.write(id);
        Ok(())
    })
}

/// v2: waits up to `timeout_ms` (0: do not wait; `UINT32_MAX`: forever) for the next finished
/// request. Returns `OT_OK` when one finished: its id in `*request_id`, how it ended in `*status`
/// and, when `*status` is `OT_OK`, the verified reply content in a new `*reply` (for a request
/// sent with `ot_session_send_frame`: the reply frame as it came) (else `*reply` is left
/// untouched). Also runs the session's resends and heartbeat checks: call it (with timeout
/// 0 from an event loop) at least every `latency_receive_ms`.
///
/// `*status` is one of: `OT_OK`; `OT_ERR_TIMEOUT` (no reply after every resend, past
/// `request_timeout_ms`, or the connection is dead); `OT_ERR_TRANSPORT` (the notary answered
/// `ERR`: "the request could not be read" — the one reason for every unreadable request —, "too
/// many requests in progress from this connection", "the notary is overloaded: try again later", or "this request
/// was answered, and its reply is no longer kept"; or an empty or unexpected reply); `OT_ERR_BAD_SIGNATURE` (the reply is not
/// signed by the notary's auth key); `OT_ERR_DECRYPT_FAILED` / `OT_ERR_NO_MATCHING_RECIPIENT`
/// (the reply is not sealed to this session's key; a type-3 reply opens only its key-only entry);
/// `OT_ERR_MALFORMED` (a reply that is not armor/envelope/signed text, or inflates past
/// `max_message_size`).
///
/// The call itself returns `OT_OK`, or: `OT_ERR_TIMEOUT` (none finished in time; nothing
/// written), `OT_ERR_NULL_ARGUMENT`, `OT_ERR_INVALID_ARGUMENT` (not a live session), `OT_ERR_STATE`
/// (a legacy session, another thread is using it, or it was created before `fork()`),
/// `OT_ERR_TRANSPORT` (libzmq failed), `OT_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_receive(
    session: *mut ot_session,
    timeout_ms: u32,
    request_id: *mut u64,
    status: *mut ot_result,
    reply: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        let request_id = OutValue::new(request_id, "request_id")?;
        let status = OutValue::new(status, "status")?;
        let reply = OutHandle::new(reply, "reply")?;
        let (id, r) = s.0.receive(timeout(timeout_ms))?;
        let code = match r {
            Ok(content) => {
                reply.put(ot_buffer::new(content));
                ot_result::OT_OK
            }
            Err(e) => {
                let e = FfiError::from(e);
                super::set_last_error(&e.detail);
                e.code
            }
        };
        request_id.write(id);
        status.write(code);
        Ok(())
    })
}

/// v2: sends a subscription (an application request the notary accepts with
/// `ot_notary_register_push`), waits for its reply (into `*reply`, as `ot_session_request`) and
/// remembers it: after every reconnect the session sends it again by itself, so pushes keep
/// coming after a notary restart (the restart shows as a gap, see `ot_session_next_push`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_subscribe(
    session: *mut ot_session,
    content: *const u8,
    len: usize,
    reply: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let c = unsafe { bytes(content, len, "content") }?;
        let reply = OutHandle::new(reply, "reply")?;
        let r = s.0.subscribe(c)?;
        reply.put(ot_buffer::new(r));
        Ok(())
    })
}

/// v2: waits up to `timeout_ms` (0: do not wait; `UINT32_MAX`: forever) for the next push from
/// the notary, opened with the encryption key and verified with the notary's auth key: its
/// content in a new `*content`, its sequence number in its stream in `*seq` (from 1), and in
/// `*missed` how many pushes of that stream were lost just before it (`UINT64_MAX` when the
/// stream restarted: the notary restarted and how many were lost is unknown). A stream is the
/// NymID a subscription registered (`ot_session_next_push_from` also gives it); the subscription
/// reply tells the session where the stream stood, so several streams share one connection and a
/// late subscriber starts with nothing missed.
///
/// What the session keeps is bounded: pushes arriving while the session has no subscription
/// (`ot_session_subscribe`) are dropped unread, and pushes of a stream it did not subscribe to
/// are dropped once opened and verified (both counted `pushes_unsolicited`; a forged push of an
/// unsubscribed stream counts as `pushes_invalid`); unread pushes are kept up to 4096 and 16 MiB, the oldest dropped beyond
/// (`pushes_overflow`; the next `*missed` shows the gap); a push that does not open or verify —
/// forged, or sealed to another key — is dropped and counted (`pushes_invalid`), and so is one
/// whose number is not past the stream's last one (`pushes_duplicate`): never returned as an
/// error, so a `while (ot_session_next_push(...) == OT_OK)` loop is not ended by a hostile peer.
/// See `ot_session_counter`.
///
/// Returns `OT_OK`, or: `OT_ERR_TIMEOUT` (no valid push within `timeout_ms`; nothing written),
/// `OT_ERR_NULL_ARGUMENT`, `OT_ERR_INVALID_ARGUMENT` (not a live session), `OT_ERR_STATE` (a legacy
/// session, another thread is using it, or it was created before `fork()`), `OT_ERR_TRANSPORT`
/// (libzmq failed), `OT_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_next_push(
    session: *mut ot_session,
    timeout_ms: u32,
    seq: *mut u64,
    missed: *mut u64,
    content: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        let seq = OutValue::new(seq, "seq")?;
        let missed = OutValue::new(missed, "missed")?;
        let content = OutHandle::new(content, "content")?;
        let p = s.0.next_push(timeout(timeout_ms))?;
        seq.write(p.seq);
        missed.write(p.missed);
        content.put(ot_buffer::new(p.content));
        Ok(())
    })
}

/// The session's ZeroMQ socket descriptor (`ZMQ_FD`) into `*fd`, to drive sessions from
/// poll/epoll/libuv. The rules are libzmq's, edge-triggered: the descriptor becoming readable
/// means "the socket's state changed", not "a message is waiting"; when it does, call
/// `ot_session_receive` / `ot_session_next_push` with timeout 0 until they return
/// `OT_ERR_TIMEOUT`, and do the same after every other call on the session before polling again
/// (a call may have consumed the event). Also call them at least every `latency_receive_ms` so
/// resends and heartbeat checks run. Never read from or write to the descriptor. It stays valid
/// until the session is freed (a legacy session re-creates its socket after a lost reply: fetch
/// the descriptor again after each request).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_fd(session: *mut ot_session, fd: *mut i32) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        let fd = OutValue::new(fd, "fd")?;
        let v = s.0.fd()?;
        fd.write(v);
        Ok(())
    })
}

/// Requests sent with `ot_session_send` and not yet returned by `ot_session_receive`. 0 for a
/// NULL or invalid handle, or while another thread uses the session.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_in_flight(session: *const ot_session) -> usize {
    guard_value(0, || super::checked(session).map_or(0, |s| s.0.in_flight()))
}

/// The session's counters into `*stats`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_get_stats(
    session: *const ot_session,
    stats: *mut super::ot_session_stats,
) -> ot_result {
    guard(|| {
        let s = handle(session, "session")?;
        let stats = OutValue::new(stats, "stats")?;
        let st = s.0.stats();
        let v = super::ot_session_stats {
            replies: st.replies,
            resends: st.resends,
            sockets_created: st.sockets_created,
            timeouts: st.timeouts,
        };
        stats.write(v);
        Ok(())
    })
}

fn timeout(ms: u32) -> i64 {
    if ms == u32::MAX { -1 } else { i64::from(ms) }
}

/// One of the session's counters by `name` into `*value`; `ot_session_counter_name` lists them:
/// `replies`, `resends`, `sockets_created`, `timeouts` (as in `ot_session_stats`),
/// `pushes_unsolicited` (v2 pushes dropped: no subscription), `pushes_invalid` (pushes that did
/// not open or verify, dropped), `pushes_overflow` (unread pushes dropped, oldest first, beyond
/// 4096 pushes or 16 MiB), `pushes_duplicate` (pushes whose number was not past their stream's
/// last one, dropped), `renewals` (v2 connections dropped and made again after a request
/// failed while the connection was down: nothing libzmq still queued for it goes out later),
/// the gauges `pushes_queued` / `pushes_queued_bytes`, the gauge `curve` (1 while the session
/// talks CURVE to the notary's published transport key, option `curve_policy`),
/// `transport_keys_refused` (transport-key documents naming the notary that did not verify) and
/// `transport_key_changes` (moves to a new key the notary published after a CURVE handshake
/// failed: a rotation).
/// `OT_ERR_INVALID_ARGUMENT` for an unknown name. New counters may be added in later versions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_counter(
    session: *const ot_session,
    name: *const c_char,
    value: *mut u64,
) -> ot_result {
    guard(|| {
        let s = handle(session, "session")?;
        // SAFETY: `name` is a NUL-terminated string and `value` a uint64_t (header contract).
        unsafe {
            super::counter_out(name, value, crate::transport::SESSION_COUNTERS, |n| {
                s.0.counter(n)
            })
        }
    })
}

/// The `index`-th name `ot_session_counter` knows (from 0), or NULL past the last. The string is
/// static: never freed.
#[unsafe(no_mangle)]
pub extern "C" fn ot_session_counter_name(index: usize) -> *const c_char {
    guard_value(std::ptr::null(), || {
        static NAMES: std::sync::OnceLock<Vec<std::ffi::CString>> = std::sync::OnceLock::new();
        super::counter_name(&NAMES, crate::transport::SESSION_COUNTERS, index)
    })
}

/// v2: as `ot_session_next_push`, and the push's stream (the NymID its subscription registered)
/// in a new `*stream`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_next_push_from(
    session: *mut ot_session,
    timeout_ms: u32,
    seq: *mut u64,
    missed: *mut u64,
    stream: *mut *mut ot_buffer,
    content: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        let seq = OutValue::new(seq, "seq")?;
        let missed = OutValue::new(missed, "missed")?;
        let stream = OutHandle::new(stream, "stream")?;
        let content = OutHandle::new(content, "content")?;
        let p = s.0.next_push(timeout(timeout_ms))?;
        seq.write(p.seq);
        missed.write(p.missed);
        stream.put(ot_buffer::from_slice(p.stream.as_bytes()));
        content.put(ot_buffer::new(p.content));
        Ok(())
    })
}
