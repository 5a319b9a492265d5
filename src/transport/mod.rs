//! ZeroMQ transport between OT clients and notaries, wire-compatible with legacy OT.
//!
//! * [`Session`]: a client's lock-step `REQ` socket. A request is signed (`MESSAGE`, auth key),
//!   sealed to the notary (v1 envelope), sent as bare armor in one frame; the reply is a
//!   bookended `ENVELOPE` (opened with our encryption key) or, the legacy unencrypted fallback,
//!   a bookended string-path `MESSAGE`; either way the notary's signature is verified.
//! * [`Notary`]: the notary's `REP` socket: receives, opens and parses requests, replies signed
//!   and sealed to the client's key, and survives garbage as the legacy notary did (no reply,
//!   the socket is re-created so the next client is served).
//!
//! What legacy lacked and this adds: a lost reply never wedges a session (the socket is
//! re-created and the request re-sent a bounded number of times, or libzmq's `REQ_RELAXED` +
//! `REQ_CORRELATE` are used), ZMTP heartbeats to notice dead peers, message-size limits, and
//! clear errors instead of hangs.

mod notary;
mod options;
mod session;
mod z85;

pub use notary::{Notary, NotaryStats, Request, open_request_frame};
pub use options::{Curve, Options, curve_keypair};
pub use session::Session;
pub use session::SessionStats;

use std::sync::OnceLock;

use crate::error::{Error, ErrorKind, Result, quote};

/// The process-wide ZeroMQ context shared by all sessions and notaries (thread-safe).
pub(crate) fn context() -> &'static zmq::Context {
    static CTX: OnceLock<zmq::Context> = OnceLock::new();
    CTX.get_or_init(zmq::Context::new)
}

pub(crate) fn zmq_err(what: &str, e: zmq::Error) -> Error {
    Error::new(ErrorKind::Transport, format!("{what}: {}", e.message()))
}

/// The libzmq version the library runs with, as (major, minor, patch).
pub fn zmq_version() -> (i32, i32, i32) {
    zmq::version()
}

/// Checks an endpoint: `tcp://host:port`, `ipc://path` or `inproc://name`.
pub(crate) fn check_endpoint(ep: &str) -> Result<()> {
    let ok = ["tcp://", "ipc://", "inproc://"]
        .iter()
        .any(|p| ep.starts_with(p))
        && ep.len() < 1024;
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "endpoint {} is not tcp://host:port, ipc://path or inproc://name",
            quote(ep)
        )))
    }
}
