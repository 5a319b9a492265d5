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

pub mod frames;
mod notary;
mod options;
mod session;
mod z85;

pub use notary::{Notary, NotaryStats, Request, open_request_frame};
pub use options::{Curve, Options, curve_keypair};
pub use session::Session;
pub use session::SessionStats;

use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

/// The process-wide ZeroMQ context shared by all sessions and notaries (thread-safe). A child
/// process made by `fork` gets a fresh context of its own: the parent's libzmq threads do not
/// exist there, so the inherited context is left alone (never used, never terminated).
pub(crate) fn context() -> zmq::Context {
    static CTX: Mutex<Option<(u32, zmq::Context)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut ctx = CTX.lock().unwrap_or_else(|p| p.into_inner());
    match ctx.as_ref() {
        Some((p, c)) if *p == pid => c.clone(),
        _ => {
            // Terminating the inherited context would wait for the parent's threads forever.
            std::mem::forget(ctx.take());
            let c = zmq::Context::new();
            *ctx = Some((pid, c.clone()));
            c
        }
    }
}

/// The error of an object used in a process other than the one that created it.
pub(crate) fn forked_error(what: &str) -> Error {
    Error::new(
        ErrorKind::State,
        format!(
            "this {what} was created before fork() in the parent process; its sockets do not \
             work here: create a new {what} in this process"
        ),
    )
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
            "endpoint {ep:?} is not tcp://host:port, ipc://path or inproc://name"
        )))
    }
}
