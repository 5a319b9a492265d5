//! `ot_broker`: scaling a notary out over many workers, and the counters of sessions, notaries
//! and brokers.

use std::ffi::c_char;

use super::buffer_getter;
use super::options::{opts, ot_session_options};
use super::{Handle, HandleKind, cstr, free, guard, guard_value, handle, ot_buffer, ot_result};
use super::{OutHandle, OutValue, invalid, opt_cstr};
use crate::transport::{Broker, WorkerKeys};

/// A broker: clients (legacy REQ and v2) connect to its frontend, worker notaries
/// (`ot_notary_connect`) to its backend; each client message goes to the live worker with the
/// fewest requests outstanding. It runs on a background thread of its own from
/// `ot_broker_new` until `ot_broker_free`. Thread-safe: its getters may be called from any
/// thread.
pub struct ot_broker(pub(crate) Broker);

impl Handle for ot_broker {
    const KIND: HandleKind = HandleKind::Broker;
    const NAME: &'static str = "ot_broker";
}

/// A broker's counters (`ot_broker_stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ot_broker_stats {
    /// Client messages handed to a worker.
    pub requests: u64,
    /// Worker messages handed back to a client (replies, errors, pushes).
    pub replies: u64,
    /// Of those, pushes.
    pub pushes: u64,
    /// Client messages dropped because no worker came in time (the queue holds 10 000).
    pub dropped: u64,
    /// Worker messages for clients that are gone.
    pub unroutable: u64,
    /// Live workers now.
    pub workers: u64,
    /// Workers found dead so far.
    pub dead_workers: u64,
}

/// A notary's counters (`ot_notary_stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ot_notary_stats {
    /// Requests opened and handed to the application.
    pub requests: u64,
    /// Replies sent.
    pub replies: u64,
    /// Frames that could not be opened or parsed.
    pub rejected: u64,
    /// Sockets re-created (0 since the notary is a ROUTER; kept for the legacy meaning).
    pub rebinds: u64,
    /// v2 requests received again and absorbed (reply cache, or still in progress).
    pub duplicates: u64,
    /// Pushes delivered (one per route).
    pub pushes: u64,
    /// Push routes dropped because their client was gone.
    pub dropped_routes: u64,
}

/// A session's counters (`ot_session_stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ot_session_stats {
    /// Requests completed with a reply.
    pub replies: u64,
    /// Requests sent again after a lost or late reply.
    pub resends: u64,
    /// REQ sockets created (legacy mode; the first one included).
    pub sockets_created: u64,
    /// Requests that ended in `OT_ERR_TIMEOUT`.
    pub timeouts: u64,
}

/// Binds `frontend_endpoint` (clients) and `backend_endpoint` (workers) and starts the broker's
/// thread, for a backend only local workers can reach: `inproc://` (threads of this process) or
/// `ipc://` (protected by the file system's permissions). A network backend (`tcp://`) admits
/// only listed workers and is refused here (`OT_ERR_INVALID_ARGUMENT`): use
/// `ot_broker_new_secure` or `ot_broker_new_from_files`. `options` (NULL: defaults; copied)
/// applies to the frontend (CURVE, `max_message_size`); the backend runs ZMTP heartbeats (1 s
/// interval, 3 s timeout) so a worker on a dead machine is dropped. Read the bound endpoints back
/// with `ot_broker_frontend` / `ot_broker_backend`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_new(
    frontend_endpoint: *const c_char,
    backend_endpoint: *const c_char,
    options: *const ot_session_options,
    broker: *mut *mut ot_broker,
) -> ot_result {
    guard(|| {
        // SAFETY: NUL-terminated strings (header contract).
        let fe = unsafe { cstr(frontend_endpoint, "frontend_endpoint") }?;
        // SAFETY: as above.
        let be = unsafe { cstr(backend_endpoint, "backend_endpoint") }?;
        let broker = OutHandle::new(broker, "broker")?;
        let b = Broker::new(fe, be, &opts(options)?)?;
        broker.put(ot_broker(b));
        Ok(())
    })
}

/// `ot_broker_new` with a CURVE backend that admits only the listed workers, e.g. frontend
/// `tcp://0.0.0.0:7085` and backend `tcp://0.0.0.0:7086`. `options` (NULL: defaults; copied)
/// applies to the frontend, as in `ot_broker_new`. `backend_secret_z85` is the backend's CURVE
/// secret key (Z85, 40 characters; `ot_curve_keypair`). `workers` (NULL: none yet, add them with
/// `ot_broker_allow_worker`) lists the workers' CURVE public keys as text: one Z85 key per line,
/// each optionally followed by blanks and a name; blank lines and comment lines (their first
/// character the number sign) are skipped, as in `ot_broker_new_from_files`'s worker list. A
/// worker connects with `ot_notary_connect` and options made by
/// `ot_session_options_set_curve_client` (the backend's public key, `ot_broker_backend_public`,
/// as the server key; its own listed key pair). Any other peer is refused at the CURVE handshake
/// (ZAP, RFC 27) and counted (`workers_refused`); a plain (NULL mechanism) peer gets nothing.
/// `OT_ERR_INVALID_ARGUMENT` names a malformed key and its line; `OT_ERR_UNSUPPORTED` when libzmq
/// lacks CURVE or is older than 4.3.3.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_new_secure(
    frontend_endpoint: *const c_char,
    backend_endpoint: *const c_char,
    options: *const ot_session_options,
    backend_secret_z85: *const c_char,
    workers: *const c_char,
    broker: *mut *mut ot_broker,
) -> ot_result {
    guard(|| {
        // SAFETY: NUL-terminated strings (header contract).
        let fe = unsafe { cstr(frontend_endpoint, "frontend_endpoint") }?;
        // SAFETY: as above.
        let be = unsafe { cstr(backend_endpoint, "backend_endpoint") }?;
        // SAFETY: as above.
        let secret = unsafe { cstr(backend_secret_z85, "backend_secret_z85") }?;
        // SAFETY: as above; NULL allowed.
        let list = unsafe { opt_cstr(workers, "workers") }?.unwrap_or("");
        let broker = OutHandle::new(broker, "broker")?;
        let keys = WorkerKeys::from_list(secret, list, "workers")?;
        let b = Broker::with_workers(fe, be, &opts(options)?, keys)?;
        broker.put(ot_broker(b));
        Ok(())
    })
}

/// `ot_broker_new_secure` with the keys read from files, as the `ot-broker` program's `--key`
/// and `--workers`. `options` (NULL: defaults; copied) applies to the frontend. `key_file` holds
/// the backend's CURVE secret key (Z85) on its one line that is not blank or a comment line (first
/// character the number sign), and must not be readable by group or others (mode 600);
/// `workers_file` holds one worker public key (Z85) per line, each optionally followed by blanks
/// and a name, blank and comment lines skipped. `OT_ERR_INVALID_ARGUMENT` names the file and line
/// at fault.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_new_from_files(
    frontend_endpoint: *const c_char,
    backend_endpoint: *const c_char,
    options: *const ot_session_options,
    key_file: *const c_char,
    workers_file: *const c_char,
    broker: *mut *mut ot_broker,
) -> ot_result {
    guard(|| {
        // SAFETY: NUL-terminated strings (header contract).
        let fe = unsafe { cstr(frontend_endpoint, "frontend_endpoint") }?;
        // SAFETY: as above.
        let be = unsafe { cstr(backend_endpoint, "backend_endpoint") }?;
        // SAFETY: as above.
        let kf = unsafe { cstr(key_file, "key_file") }?;
        // SAFETY: as above.
        let wf = unsafe { cstr(workers_file, "workers_file") }?;
        let broker = OutHandle::new(broker, "broker")?;
        let keys = WorkerKeys::from_files(kf.as_ref(), wf.as_ref())?;
        let b = Broker::with_workers(fe, be, &opts(options)?, keys)?;
        broker.put(ot_broker(b));
        Ok(())
    })
}

/// Adds a worker's CURVE public key (Z85) to the backend's allow-list of a broker made by
/// `ot_broker_new_secure` / `ot_broker_new_from_files`; admitted from its next handshake
/// (connections already admitted stay). `OT_ERR_INVALID_ARGUMENT` for a malformed key, a broker
/// without backend keys, or a list already at 65 536 keys.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_allow_worker(
    broker: *const ot_broker,
    worker_public_z85: *const c_char,
) -> ot_result {
    guard(|| {
        let b = handle(broker, "broker")?;
        // SAFETY: a NUL-terminated string (header contract).
        let key = unsafe { cstr(worker_public_z85, "worker_public_z85") }?;
        b.0.allow_worker(key)?;
        Ok(())
    })
}

/// The backend's CURVE public key (Z85, NUL-terminated) in a new `*public_z85`, for the workers'
/// `ot_session_options_set_curve_client`. `OT_ERR_INVALID_ARGUMENT` for a broker without backend
/// keys (`ot_broker_new`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_backend_public(
    broker: *const ot_broker,
    public_z85: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(broker, "broker", public_z85, "public_z85", |b| {
        b.0.backend_public()
            .map(|k| k.as_bytes().to_vec())
            .ok_or_else(|| {
                invalid("this broker's backend has no CURVE keys (made by ot_broker_new)")
            })
    })
}

/// Adds a frontend on `endpoint` with CURVE only, under `secret_z85` (a CURVE secret key, Z85;
/// NULL: one is generated), next to the plain one. The bound endpoint goes to a new
/// `*bound_endpoint` and the frontend's public key (Z85) to a new `*public_z85` (both written only
/// on success). Workers vouch for it (`ot_notary_vouch_transport_key`, with the host `*` and its port), and v2
/// sessions that reach the notary through the broker then verify that document (signed by the
/// notary's identity) and talk CURVE to the broker by themselves. At most 15 CURVE frontends.
/// `OT_ERR_UNSUPPORTED` when libzmq lacks CURVE or is older than 4.3.3.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_bind_curve(
    broker: *const ot_broker,
    endpoint: *const c_char,
    secret_z85: *const c_char,
    bound_endpoint: *mut *mut ot_buffer,
    public_z85: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let b = handle(broker, "broker")?;
        // SAFETY: a NUL-terminated string (header contract).
        let ep = unsafe { cstr(endpoint, "endpoint") }?;
        // SAFETY: as above; NULL allowed.
        let secret = unsafe { opt_cstr(secret_z85, "secret_z85") }?;
        let bound_endpoint = OutHandle::new(bound_endpoint, "bound_endpoint")?;
        let public_z85 = OutHandle::new(public_z85, "public_z85")?;
        let (bound, public) = b.0.bind_curve(ep, secret)?;
        bound_endpoint.put(ot_buffer::new(bound.into_bytes()));
        public_z85.put(ot_buffer::new(public.into_bytes()));
        Ok(())
    })
}

/// The bound frontend endpoint (wildcard port resolved) in a new `*endpoint`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_frontend(
    broker: *const ot_broker,
    endpoint: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(broker, "broker", endpoint, "endpoint", |b| {
        Ok(b.0.frontend().as_bytes().to_vec())
    })
}

/// The bound backend endpoint (wildcard port resolved) in a new `*endpoint`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_backend(
    broker: *const ot_broker,
    endpoint: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(broker, "broker", endpoint, "endpoint", |b| {
        Ok(b.0.backend().as_bytes().to_vec())
    })
}

/// The broker's counters into `*stats` (`workers` = live workers now).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_get_stats(
    broker: *const ot_broker,
    stats: *mut ot_broker_stats,
) -> ot_result {
    guard(|| {
        let b = handle(broker, "broker")?;
        let stats = OutValue::new(stats, "stats")?;
        let s = b.0.stats();
        let v = ot_broker_stats {
            requests: s.requests,
            replies: s.replies,
            pushes: s.pushes,
            dropped: s.dropped,
            unroutable: s.unroutable,
            workers: s.workers,
            dead_workers: s.dead_workers,
        };
        stats.write(v);
        Ok(())
    })
}

/// Stops the broker (its thread ends and its sockets close within about 20 ms, with clients and
/// workers still connected: their requests are resent by them) and frees it.
/// `ot_broker_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_free(broker: *mut ot_broker) {
    guard_value((), || free(broker))
}

/// One of the broker's counters by `name` into `*value`; `ot_broker_counter_name` lists them:
/// the `ot_broker_stats` fields, then the gauges `queued` and `queued_bytes` (client messages
/// waiting for a worker, read even while no worker is there; at most 10 000 and 16 MiB, the oldest
/// dropped beyond), then `unexpected` (worker messages dropped: an answer to nothing the broker
/// handed that worker, or a push on a stream none of its replies registered), `stalled_workers`
/// (times a worker got no new work: no application heartbeat for 3 s), `refused` (backend
/// messages not in backend protocol 1), `ignored` (client messages that are neither a v2
/// `REQ`/`PING` nor a legacy request) and `workers_refused` (backend handshakes refused: a key
/// not on the list, or no CURVE).
/// `OT_ERR_INVALID_ARGUMENT` for an unknown name. New counters may be added in later versions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_broker_counter(
    broker: *const ot_broker,
    name: *const c_char,
    value: *mut u64,
) -> ot_result {
    guard(|| {
        let b = handle(broker, "broker")?;
        let stats = b.0.stats();
        // SAFETY: `name` is a NUL-terminated string and `value` a uint64_t (header contract).
        unsafe {
            super::counter_out(name, value, crate::transport::BROKER_COUNTERS, |c| {
                stats.counter(c)
            })
        }
    })
}

/// The `index`-th name `ot_broker_counter` knows (from 0), or NULL past the last. The string is
/// static: never freed.
#[unsafe(no_mangle)]
pub extern "C" fn ot_broker_counter_name(index: usize) -> *const c_char {
    guard_value(std::ptr::null(), || {
        static NAMES: std::sync::OnceLock<Vec<std::ffi::CString>> = std::sync::OnceLock::new();
        super::counter_name(&NAMES, crate::transport::BROKER_COUNTERS, index)
    })
}
