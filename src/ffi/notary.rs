//! `ot_notary`: the notary's endpoint.

use std::ffi::c_char;

use super::buffer_getter;
use super::options::{opts, ot_session_options};
use super::request::ot_request;
use super::{
    Handle, HandleKind, bytes, cstr, free, guard, guard_value, handle, ot_buffer, ot_key, ot_result,
};
use super::{OutHandle, OutValue};
use crate::transport::Notary;

/// A notary endpoint: ZeroMQ ROUTER sockets serving legacy REQ clients exactly as a legacy REP
/// notary did, and v2 clients (pipelined requests, idempotent resends, pushes). Created by
/// `ot_notary_new`, freed by `ot_notary_free`.
///
/// **Shareable**: the notary's sockets belong to a thread of its own, which answers probes,
/// resends, unreadable requests and keeps every timer whatever the application does. Any number
/// of application threads may call `ot_notary_receive`, `ot_notary_reply`, `ot_notary_push` and
/// the other functions on one notary at once (opening requests, signing and sealing replies run
/// in the calling thread, so one process uses every core). Freeing it while calls run is safe:
/// it goes when they return.
pub struct ot_notary(pub(crate) Notary);

impl Handle for ot_notary {
    const KIND: HandleKind = HandleKind::Notary;
    const NAME: &'static str = "ot_notary";
}

/// Creates a notary listening on `bind_endpoint` (a ZeroMQ ROUTER that serves legacy REQ clients
/// exactly as a legacy REP notary did, and v2 clients), e.g. `tcp://0.0.0.0:7085` (all interfaces) or
/// `tcp://127.0.0.1:*` for a free port (read it back with `ot_notary_endpoint`).
/// `auth_private` signs replies; `encryption_private` opens requests sealed to `nym_id`. Keys and
/// options (NULL: defaults) are copied. RSA keys make a legacy notary (type-1 requests, SAMY
/// replies); Ed25519 + X25519 keys a suite v3 one (type-3 requests, SHA256D replies); see
/// `ot_notary_add_identity` to serve both on one endpoint.
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
        // SAFETY: a NUL-terminated string (header contract).
        let ep = unsafe { cstr(bind_endpoint, "bind_endpoint") }?;
        let a = handle(auth_private, "auth_private")?;
        let e = handle(encryption_private, "encryption_private")?;
        // SAFETY: a NUL-terminated string (header contract).
        let id = unsafe { cstr(nym_id, "nym_id") }?;
        let notary = OutHandle::new(notary, "notary")?;
        let n = Notary::bind(ep, &a.0, &e.0, id, opts(options)?)?;
        notary.put(ot_notary(n));
        Ok(())
    })
}

/// Adds another identity served on the same endpoint, e.g. a suite v3 identity (Ed25519
/// `auth_private`, X25519 `encryption_private`) next to the RSA one given to `ot_notary_new`.
/// A request's envelope type (1: RSA, 3: X25519) and recipient NymID choose the identity that
/// opens it; the reply is signed by that identity (a type-1 request only ever gets an RSA/SAMY
/// reply) and sealed to the key passed to `ot_notary_reply` (its algorithm chooses the type).
/// Keys are copied. `OT_ERR_INVALID_ARGUMENT` for public keys, an X25519 auth key, an Ed25519
/// encryption key, a NymID already used, or more than 8 identities.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_add_identity(
    notary: *mut ot_notary,
    auth_private: *const ot_key,
    encryption_private: *const ot_key,
    nym_id: *const c_char,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        let a = handle(auth_private, "auth_private")?;
        let e = handle(encryption_private, "encryption_private")?;
        // SAFETY: a NUL-terminated string (header contract).
        let id = unsafe { cstr(nym_id, "nym_id") }?;
        n.0.add_identity(&a.0, &e.0, id)?;
        Ok(())
    })
}

/// The concrete bound endpoint, with a wildcard port resolved (`tcp://127.0.0.1:41234`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_endpoint(
    notary: *const ot_notary,
    endpoint: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(notary, "notary", endpoint, "endpoint", |n| {
        Ok(n.0.endpoint().as_bytes().to_vec())
    })
}

/// Waits up to `timeout_ms` (`UINT32_MAX`: forever) for a request; de-armors it, opens it with
/// the notary's encryption key and parses the signed text into a new `*request`. Requests may be
/// kept and answered later, in any order; a v2 request that is resent is never returned twice
/// (see `ot_notary_reply`).
///
/// **Unreadable requests.** A legacy request that cannot be read gets the legacy silence (that
/// client times out) — or, with the `reply_errors` option, a signed error — and a v2 one an `ERR`
/// frame. Whatever failed (armor, envelope, key unwrap, padding, signed text — or the
/// application's signature check: a request freed unanswered is answered the same way), the answer
/// is the same bytes, "the request could not be read", sent 25 ms (plus 25 ns per byte of the
/// request) after it arrived: neither its text nor its time tells what failed, so the answer is
/// no padding oracle. The notary keeps serving: nobody else's connection or queued request is
/// touched. Answers waiting for their time, resends answered from the reply cache, probes
/// (`PING`) and connection upkeep are the notary's own thread's: nothing needs the application
/// inside this call. Requests wait in a queue of at most 4096 requests and 64 MiB (beyond, a v2
/// request gets `ERR` "the notary is overloaded", a legacy one is dropped: counter `overloaded`).
/// Any number of threads may call this at once; the request is opened in the calling thread.
///
/// The deadline holds whatever arrives.
///
/// Returns `OT_OK`, or: `OT_ERR_TIMEOUT` (nothing arrived in time); for an unreadable request
/// (answered as above, the notary keeps serving) `OT_ERR_MALFORMED` (armor, envelope or signed
/// text, or a frame that is neither a legacy nor a v2 request), `OT_ERR_DECRYPT_FAILED`,
/// `OT_ERR_NO_MATCHING_RECIPIENT` or `OT_ERR_INVALID_ARGUMENT` (a signed text over 64 MiB);
/// `OT_ERR_NULL_ARGUMENT`, `OT_ERR_INVALID_ARGUMENT` (not a live notary), `OT_ERR_STATE` (the notary
/// was created before `fork()`), `OT_ERR_TRANSPORT` (libzmq
/// failed), `OT_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_receive(
    notary: *mut ot_notary,
    timeout_ms: u32,
    request: *mut *mut ot_request,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        let request = OutHandle::new(request, "request")?;
        let t = if timeout_ms == u32::MAX {
            -1
        } else {
            i64::from(timeout_ms)
        };
        let r = n.0.receive(t)?;
        request.put(ot_request(r));
        Ok(())
    })
}

/// Answers `request` — any request this notary received and has not answered yet, in any order
/// (`OT_ERR_STATE` otherwise) — back to where it came from: `content` is signed as a `MESSAGE` with the notary's auth key, sealed to
/// `recipient_encryption_public` with an empty NymID and sent bookended as `ENVELOPE`; with
/// `recipient_encryption_public` NULL it is sent as the legacy unencrypted bookended `MESSAGE`.
/// The request object stays valid (free it with `ot_request_free`). A v2 reply is also kept in a
/// reply cache, so a resent request — the same request id with the same bytes, from any
/// connection — is answered again without reaching the application: kept 120 s, sent again at
/// most once a second and three times in all; at most 256 replies and 4 MiB per connection and
/// 64 MiB in all (the heaviest connection's oldest go first). A resend of a reply no longer kept
/// is answered `ERR` "this request was answered, and its reply is no longer kept", not handed to
/// the application again (for 120 s after the reply was dropped, and for the last 65 536 such
/// requests). If the requester's connection is gone but it resent the request
/// from a new one, the reply goes there.
///
/// Returns `OT_OK`, or: `OT_ERR_TRANSPORT` (the requester has disconnected or is not reading:
/// nothing was delivered; a v2 reply is still kept for its resend), `OT_ERR_STATE` (answered
/// already, or received by another notary), `OT_ERR_INVALID_ARGUMENT` (content a legacy reader
/// would alter, a recipient key that cannot be sealed to, an Ed25519 identity answering a legacy
/// type-1 request, or not a live handle), `OT_ERR_NULL_ARGUMENT`, `OT_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_reply(
    notary: *mut ot_notary,
    request: *const ot_request,
    content: *const u8,
    len: usize,
    recipient_encryption_public: *const ot_key,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        let r = handle(request, "request")?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let c = unsafe { bytes(content, len, "content") }?;
        let k = if recipient_encryption_public.is_null() {
            None
        } else {
            Some(handle(
                recipient_encryption_public,
                "recipient_encryption_public",
            )?)
        };
        n.0.reply(&r.0, c, k.as_ref().map(|k| &k.0))?;
        Ok(())
    })
}

/// Frees a notary (closes its socket). `ot_notary_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_free(notary: *mut ot_notary) {
    guard_value((), || free(notary))
}

/// Listens on one more endpoint with its own `options` (NULL: defaults; copied), e.g. the legacy
/// port in plain ZMTP and a v2 port with CURVE (ZMTP allows one security mechanism per socket).
/// The bound endpoint, wildcard port resolved, goes to a new `*bound_endpoint`. Requests from
/// every endpoint arrive through `ot_notary_receive`; replies go back where each came from.
/// (`ot_notary_new` creates a notary with its first endpoint; this adds more to an existing
/// one.)
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_bind(
    notary: *mut ot_notary,
    endpoint: *const c_char,
    options: *const ot_session_options,
    bound_endpoint: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        // SAFETY: a NUL-terminated string (header contract).
        let ep = unsafe { cstr(endpoint, "endpoint") }?;
        let bound_endpoint = OutHandle::new(bound_endpoint, "bound_endpoint")?;
        let o = opts(options)?;
        let b = n.0.add_endpoint(ep, &o)?;
        bound_endpoint.put(ot_buffer::new(b.into_bytes()));
        Ok(())
    })
}

/// Listens on `endpoint` with CURVE only, under the notary's transport key (generated now unless
/// `ot_notary_set_transport_key` set one), and publishes the key: from then on v2 probes that ask
/// for it are answered with one transport-key document per identity, signed by that identity's
/// auth key (`docs/wire-format.md`, "Transport keys"), and v2 sessions that know the notary's
/// keys (`ot_session_set_notary`; option `curve_policy` 1, the default, or 2) verify it and move
/// to this endpoint over CURVE by themselves. A peer without CURVE cannot connect here; legacy
/// peers keep using the plain endpoints, byte for byte as before. `options` (NULL: defaults;
/// copied) as for `ot_notary_bind`, its own CURVE settings replaced. The bound endpoint, wildcard
/// port resolved, goes to a new `*bound_endpoint`. `OT_ERR_UNSUPPORTED` when libzmq lacks CURVE
/// or is older than 4.3.3.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_bind_curve(
    notary: *mut ot_notary,
    endpoint: *const c_char,
    options: *const ot_session_options,
    bound_endpoint: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        // SAFETY: a NUL-terminated string (header contract).
        let ep = unsafe { cstr(endpoint, "endpoint") }?;
        let bound_endpoint = OutHandle::new(bound_endpoint, "bound_endpoint")?;
        let o = opts(options)?;
        let b = n.0.bind_curve(ep, &o)?;
        bound_endpoint.put(ot_buffer::new(b.into_bytes()));
        Ok(())
    })
}

/// Sets the notary's transport key, so that it survives restarts: `secret_z85` a CURVE secret
/// key (Z85, 40 characters; `ot_curve_keypair`), `valid_until` the end of its documents'
/// validity in Unix seconds (its rotation date). Before the first `ot_notary_bind_curve`, or
/// later to rotate the key: the CURVE endpoints are then bound again under the new key (their
/// connections drop; v2 sessions find their next handshake refused, ask for the new key, verify
/// it and come back, re-sending what was in flight). `OT_ERR_INVALID_ARGUMENT` for a malformed
/// key or a date in the past.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_set_transport_key(
    notary: *mut ot_notary,
    secret_z85: *const c_char,
    valid_until: u64,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        // SAFETY: a NUL-terminated string (header contract).
        let secret = unsafe { cstr(secret_z85, "secret_z85") }?;
        n.0.set_transport_key(secret, valid_until)?;
        Ok(())
    })
}

/// Vouches for a CURVE key this notary does not hold — the CURVE frontend of the broker that
/// fronts it (`ot_broker_bind_curve`): `public_z85` (Z85), `endpoint` (tcp with the host `*` and a port:
/// that port on the host the client reached, i.e. the broker's; or a full endpoint) and `valid_until` (Unix
/// seconds). Its replies to v2 probes that ask then carry that transport-key document, signed by
/// each identity, and v2 sessions that reach the notary through the broker verify it and talk
/// CURVE to the broker. At most 4 keys; vouching again for a key replaces its entry.
/// `OT_ERR_INVALID_ARGUMENT` for a malformed key or endpoint, or a date in the past.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_vouch_transport_key(
    notary: *mut ot_notary,
    public_z85: *const c_char,
    endpoint: *const c_char,
    valid_until: u64,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        // SAFETY: NUL-terminated strings (header contract).
        let public = unsafe { cstr(public_z85, "public_z85") }?;
        // SAFETY: as above.
        let ep = unsafe { cstr(endpoint, "endpoint") }?;
        n.0.vouch_transport_key(public, ep, valid_until)?;
        Ok(())
    })
}

/// The notary's transport key (its CURVE public key, Z85) in a new `*public_z85`.
/// `OT_ERR_STATE` while it has none (no `ot_notary_bind_curve` or `ot_notary_set_transport_key`
/// yet).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_transport_key(
    notary: *const ot_notary,
    public_z85: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(notary, "notary", public_z85, "public_z85", |n| {
        n.0.transport_key().map(String::into_bytes).ok_or_else(|| {
            crate::error::Error::new(
                crate::error::ErrorKind::State,
                "the notary has no transport key yet (ot_notary_bind_curve)",
            )
            .into()
        })
    })
}

/// Registers the route `request` came from for pushes to `nym_id`, sealed to
/// `subscriber_encryption_public` (copied; RSA or X25519) and signed by the notary identity that
/// opened the subscription request. Call it after verifying a subscription request (the client
/// sent it with `ot_session_subscribe`); answer the request as usual.
///
/// Returns `OT_OK`, or: `OT_ERR_STATE` (a legacy request — only v2 clients receive pushes — or
/// one another notary received), `OT_ERR_INVALID_ARGUMENT` (`nym_id` not 1-1024 characters, an
/// Ed25519 subscriber key, a legacy type-1 subscription to an identity that signs with Ed25519,
/// more than 1024 routes for `nym_id`, or not a live handle), `OT_ERR_NULL_ARGUMENT`,
/// `OT_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_register_push(
    notary: *mut ot_notary,
    request: *const ot_request,
    nym_id: *const c_char,
    subscriber_encryption_public: *const ot_key,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        let r = handle(request, "request")?;
        // SAFETY: a NUL-terminated string (header contract).
        let id = unsafe { cstr(nym_id, "nym_id") }?;
        let k = handle(subscriber_encryption_public, "subscriber_encryption_public")?;
        n.0.register_push(&r.0, id, &k.0)?;
        Ok(())
    })
}

/// Pushes `content` to every live route registered for `nym_id`: signed as a `MESSAGE` once per
/// notary identity involved (the one that opened each subscription) and sealed to each
/// subscriber, with the NymID's next sequence number. Routes whose client is gone are dropped (a
/// worker behind a broker cannot tell: its pushes to a gone client are counted `unroutable` by
/// the broker, and the route stays until the worker's notary is freed); a
/// route that cannot be served (sealing failed, or its identity cannot sign this content) is
/// skipped and kept, counted in `push_failures`, and the others are still served. How many
/// routes it reached goes to `*delivered` (0 when nobody is subscribed — not an error; slow
/// readers whose queue is full miss a push, which their sequence numbers show).
///
/// Returns `OT_OK`, or: `OT_ERR_INVALID_ARGUMENT` (no route could be served because the content
/// cannot be signed — not UTF-8, a NUL, or a line a legacy reader would alter — routes stay
/// registered; or not a live handle), `OT_ERR_STATE` (the notary was created before
/// `fork()`), `OT_ERR_NULL_ARGUMENT`, `OT_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_push(
    notary: *mut ot_notary,
    nym_id: *const c_char,
    content: *const u8,
    len: usize,
    delivered: *mut usize,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        // SAFETY: a NUL-terminated string (header contract).
        let id = unsafe { cstr(nym_id, "nym_id") }?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let c = unsafe { bytes(content, len, "content") }?;
        let delivered = OutValue::new(delivered, "delivered")?;
        let d = n.0.push(id, c)?;
        delivered.write(d);
        Ok(())
    })
}

/// A descriptor for event loops into `*fd`: readable exactly while requests wait for
/// `ot_notary_receive` (level-triggered, for every endpoint of the notary: unlike libzmq's
/// `ZMQ_FD` it needs no draining rule; calling `ot_notary_receive(notary, 0, …)` when it is
/// readable returns a request or the error of an unreadable one). Owned by the notary: do not
/// close it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_fd(notary: *const ot_notary, fd: *mut i32) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        let fd = OutValue::new(fd, "fd")?;
        let v = n.0.fd()?;
        fd.write(v);
        Ok(())
    })
}

/// A **worker** notary: connects to a broker's backend (`ot_broker_new`, or the `ot-broker`
/// program) at `backend_endpoint` instead of binding, and serves the clients the broker hands it
/// with the same `ot_notary_receive` / `ot_notary_reply` / `ot_notary_push` calls. Keys as
/// `ot_notary_new`; `options` NULL: defaults. Workers may be threads of one process or processes
/// on other machines; a worker that dies loses only the requests it held, which the clients
/// resend (to another worker).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_connect(
    backend_endpoint: *const c_char,
    auth_private: *const ot_key,
    encryption_private: *const ot_key,
    nym_id: *const c_char,
    options: *const ot_session_options,
    notary: *mut *mut ot_notary,
) -> ot_result {
    guard(|| {
        // SAFETY: a NUL-terminated string (header contract).
        let ep = unsafe { cstr(backend_endpoint, "backend_endpoint") }?;
        let a = handle(auth_private, "auth_private")?;
        let e = handle(encryption_private, "encryption_private")?;
        // SAFETY: a NUL-terminated string (header contract).
        let id = unsafe { cstr(nym_id, "nym_id") }?;
        let notary = OutHandle::new(notary, "notary")?;
        let n = Notary::connect(ep, &a.0, &e.0, id, opts(options)?)?;
        notary.put(ot_notary(n));
        Ok(())
    })
}

/// The notary's counters into `*stats`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_get_stats(
    notary: *const ot_notary,
    stats: *mut super::ot_notary_stats,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        let stats = OutValue::new(stats, "stats")?;
        let s = n.0.stats();
        let v = super::ot_notary_stats {
            requests: s.requests,
            replies: s.replies,
            rejected: s.rejected,
            rebinds: s.rebinds,
            duplicates: s.duplicates,
            pushes: s.pushes,
            dropped_routes: s.dropped_routes,
        };
        stats.write(v);
        Ok(())
    })
}

/// One of the notary's counters by `name` into `*value`; `ot_notary_counter_name` lists them:
/// the `ot_notary_stats` fields, then `released` (requests freed unanswered, answered as
/// unreadable), `resends_suppressed`, `resends_expired` (answered "reply no longer kept"),
/// `cache_evictions`, `busy` (v2 requests refused: 256 in progress on their connection,
/// or 65 536 in all),
/// `answers_dropped`, `push_failures`, `pongs` (v2 probes answered), `overloaded` (requests
/// refused: the receive queue was full), `reaped` (idle or frozen connections closed), and the
/// gauges `in_progress`, `cached_replies`, `cached_bytes`, `pending_answers`, `connections`
/// (connections open on the notary's bound endpoints, legacy and silent ones included),
/// `queued_requests` (waiting for `ot_notary_receive`), then `requests_curve` (v2 requests
/// received on CURVE endpoints, `ot_notary_bind_curve`) and `curve_required` (v2 requests refused
/// on a plain endpoint whose options set `require_curve`).
/// `OT_ERR_INVALID_ARGUMENT` for an unknown name. New counters may be added in later versions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_counter(
    notary: *const ot_notary,
    name: *const c_char,
    value: *mut u64,
) -> ot_result {
    guard(|| {
        let n = handle(notary, "notary")?;
        // SAFETY: `name` is a NUL-terminated string and `value` a uint64_t (header contract).
        unsafe {
            super::counter_out(name, value, crate::transport::NOTARY_COUNTERS, |c| {
                n.0.counter(c)
            })
        }
    })
}

/// The `index`-th name `ot_notary_counter` knows (from 0), or NULL past the last. The string is
/// static: never freed.
#[unsafe(no_mangle)]
pub extern "C" fn ot_notary_counter_name(index: usize) -> *const c_char {
    guard_value(std::ptr::null(), || {
        static NAMES: std::sync::OnceLock<Vec<std::ffi::CString>> = std::sync::OnceLock::new();
        super::counter_name(&NAMES, crate::transport::NOTARY_COUNTERS, index)
    })
}
