//! `ot_broker`: scaling a notary out over many workers, and the counters of sessions, notaries
//! and brokers.

use std::ffi::c_char;

use super::buffer_getter;
use super::options::{opts, ot_session_options};
use super::{Handle, HandleKind, cstr, free, guard, guard_value, handle, ot_buffer, ot_result};
use super::{OutHandle, OutValue};
use crate::transport::Broker;

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

/// Binds `frontend_endpoint` (clients) and `backend_endpoint` (workers), e.g.
/// `tcp://0.0.0.0:7085` and `tcp://0.0.0.0:7086`, and starts the broker's thread. `options`
/// (NULL: defaults; copied) applies to the frontend (CURVE, `max_message_size`); the backend runs
/// ZMTP heartbeats (1 s interval, 3 s timeout) so a worker on a dead machine is dropped.
/// Read the bound endpoints back with `ot_broker_frontend` / `ot_broker_backend`.
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
/// messages not in backend protocol 1) and `ignored` (client messages that are neither a v2
/// `REQ`/`PING` nor a legacy request).
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
