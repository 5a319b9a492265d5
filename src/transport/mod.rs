//! ZeroMQ transport between OT clients and notaries, wire-compatible with legacy OT.
//!
//! * [`Session`]: a client. Legacy: a lock-step `REQ` socket; a request is signed (`MESSAGE`,
//!   auth key), sealed to the notary (type 1, or type 3 for suite v3 keys), sent as bare armor in
//!   one frame; the reply is a bookended `ENVELOPE` (opened with our encryption key) or, the
//!   legacy unencrypted fallback, a bookended string-path `MESSAGE`; either way the notary's
//!   signature is verified. v2 (`protocol` option): a `DEALER` with pipelined requests, resends
//!   and pushes (frames in [`frames`]).
//! * [`Notary`]: `ROUTER` sockets that serve legacy `REQ` clients exactly as a legacy `REP`
//!   notary did (an unreadable request gets the legacy silence, for that requester only), and v2
//!   clients; or a worker behind a [`Broker`].
//!
//! What legacy lacked and this adds: a lost reply never wedges a session (a legacy session
//! re-creates its `REQ` socket and re-sends a bounded number of times, or uses libzmq's
//! `REQ_RELAXED` + `REQ_CORRELATE`), ZMTP heartbeats to notice dead peers, message-size limits,
//! one answer for every unreadable request, pushes, pipelining, scale-out, and clear errors
//! instead of hangs.

mod broker;
mod client;
pub mod frames;
mod from_files;
mod monitor;
mod notary;
mod options;
#[allow(unsafe_code)]
mod raw;
mod session;
mod signal;
pub mod transport_key;
mod z85;
pub mod zap;

pub use broker::{BROKER_COUNTERS, Broker, BrokerStats, WorkerKeys};
pub use client::Push;
pub use notary::{
    BUSY, CURVE_REQUIRED, KEYS_FLAG, NOTARY_COUNTERS, Notary, NotaryStats, OVERLOADED,
    REPLY_NOT_KEPT, Request, UNREADABLE, open_request_frame, unreadable_answer_delay,
};
pub use options::{
    Curve, NAMES as OPTION_NAMES, Options, curve_key_from_z85, curve_keypair, curve_public,
};
pub use session::{PUSH_QUEUE, PUSH_QUEUE_BYTES, SESSION_COUNTERS, SessionStats};
pub use session::{Protocol, Session};

use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result, quote};

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
            keep_forever(ctx.take());
            let c = zmq::Context::new();
            *ctx = Some((pid, c.clone()));
            c
        }
    }
}

/// Keeps `x` alive until the process exits, reachable (so leak checkers do not report it): what
/// a forked child inherited from its parent's ZeroMQ (contexts, sockets) must never be closed
/// there, since closing waits for the parent's libzmq threads, which the child does not have.
pub(crate) fn keep_forever<T: Send + 'static>(x: T) {
    type Kept = Vec<Box<dyn std::any::Any + Send>>;
    static KEPT: Mutex<Kept> = Mutex::new(Vec::new());
    KEPT.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Box::new(x));
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

/// `recv_multipart` whose frames each keep one spare byte of capacity, so a frame handed to
/// the C caller as an `ot_buffer` takes its NUL there instead of being copied again (and wiped
/// twice). One copy out of libzmq per frame, as `zmq::Socket::recv_multipart` makes.
pub(crate) fn recv_frames(socket: &zmq::Socket, flags: i32) -> zmq::Result<Vec<Vec<u8>>> {
    let mut parts = Vec::with_capacity(4);
    let mut msg = zmq::Message::new();
    loop {
        socket.recv(&mut msg, flags)?;
        let mut v = Vec::with_capacity(msg.len() + 1);
        v.extend_from_slice(&msg);
        parts.push(v);
        if !msg.get_more() {
            return Ok(parts);
        }
    }
}

/// Sends one multipart message from borrowed frames: libzmq copies each into a message of its
/// own making, which for a frame of up to 33 bytes (tags, commands, ids, routing ids) lives inside
/// the message with no allocation at all. `zmq::Socket::send_multipart` of `Vec`s instead wraps
/// every frame as foreign data (an allocation for its bookkeeping, a shrinking `realloc`, and a
/// free from libzmq's I/O thread): on the broker's small messages that cost it three quarters of
/// its rate against `zmq_proxy` (`bench/bench_forward.c`).
pub(crate) fn send_parts<'a>(
    socket: &zmq::Socket,
    parts: impl IntoIterator<Item = &'a [u8]>,
    flags: i32,
) -> zmq::Result<()> {
    let mut parts = parts.into_iter().peekable();
    while let Some(p) = parts.next() {
        let more = if parts.peek().is_some() {
            zmq::SNDMORE
        } else {
            0
        };
        socket.send(p, flags | more)?;
    }
    Ok(())
}

/// [`send_parts`] for owned frames: small ones are copied as there, and a frame over 8 KiB is
/// handed to libzmq as it is (no copy of a large body).
pub(crate) fn send_owned(socket: &zmq::Socket, parts: Vec<Vec<u8>>, flags: i32) -> zmq::Result<()> {
    const HAND_OVER: usize = 8 << 10;
    let n = parts.len();
    for (i, p) in parts.into_iter().enumerate() {
        let f = if i + 1 < n {
            flags | zmq::SNDMORE
        } else {
            flags
        };
        if p.len() > HAND_OVER {
            socket.send(p, f)?;
        } else {
            socket.send(&p[..], f)?;
        }
    }
    Ok(())
}

pub(crate) fn zmq_err(what: &str, e: zmq::Error) -> Error {
    Error::new(ErrorKind::Transport, format!("{what}: {}", e.message()))
}

/// The libzmq version the library runs with, as (major, minor, patch).
pub fn zmq_version() -> (i32, i32, i32) {
    zmq::version()
}

/// Checks an endpoint a session connects to: `tcp://host:port` (port 1-65535; IPv6 hosts in
/// brackets, e.g. `tcp://[::1]:7085`), `ipc://path` or `inproc://name`.
pub(crate) fn check_endpoint(ep: &str) -> Result<()> {
    check_endpoint_for(ep, false)
}

/// Checks an endpoint a notary binds: as [`check_endpoint`], but the port may also be `*` or
/// `0` (an ephemeral port chosen by the system, see `Notary::endpoint`).
pub(crate) fn check_bind_endpoint(ep: &str) -> Result<()> {
    check_endpoint_for(ep, true)
}

fn check_endpoint_for(ep: &str, bind: bool) -> Result<()> {
    let ok = ["tcp://", "ipc://", "inproc://"]
        .iter()
        .any(|p| ep.starts_with(p))
        && ep.len() < 1024;
    if !ok {
        return Err(Error::invalid(format!(
            "endpoint {} is not tcp://host:port, ipc://path or inproc://name",
            quote(ep)
        )));
    }
    if let Some(addr) = ep.strip_prefix("tcp://") {
        check_tcp_port(ep, addr, bind)?;
    }
    Ok(())
}

/// libzmq parses a TCP port with `atoi`-like wrapping (`:99999` binds 34463, `:-1` binds
/// 65535), so the port is checked here: digits only, 1-65535, or `*`/`0` for a bind.
fn check_tcp_port(ep: &str, addr: &str, bind: bool) -> Result<()> {
    // A connect may name a source address first: `tcp://source;host:port`.
    let dest = addr.rsplit_once(';').map_or(addr, |(_, d)| d);
    let bad = |why: &str| Err(Error::invalid(format!("endpoint {}: {why}", quote(ep))));
    let Some((host, port)) = dest.rsplit_once(':') else {
        return bad("a tcp endpoint needs host:port");
    };
    if host.is_empty() || host.ends_with(':') || (host.contains(':') && !host.starts_with('[')) {
        return bad("the host is empty, or an IPv6 address is not in brackets ([::1]:port)");
    }
    if bind && (port == "*" || port == "0") {
        return Ok(());
    }
    let valid = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
    if valid {
        Ok(())
    } else if bind {
        bad("the port must be 1-65535, or * or 0 for an ephemeral port")
    } else {
        bad("the port must be 1-65535")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_ports_are_checked() {
        for ep in [
            "tcp://127.0.0.1:1",
            "tcp://127.0.0.1:7085",
            "tcp://127.0.0.1:65535",
            "tcp://localhost:7085",
            "tcp://[::1]:7085",
            "tcp://[fe80::1%eth0]:7085",
            "tcp://127.0.0.1;127.0.0.1:7085",
            "ipc:///tmp/x",
            "inproc://x",
        ] {
            check_endpoint(ep).unwrap();
            check_bind_endpoint(ep).unwrap();
        }
        for ep in [
            "tcp://127.0.0.1:*",
            "tcp://*:0",
            "tcp://[::1]:*",
            "tcp://*:7085",
        ] {
            check_bind_endpoint(ep).unwrap();
        }
        for ep in ["tcp://127.0.0.1:*", "tcp://127.0.0.1:0"] {
            assert!(
                check_endpoint(ep).is_err(),
                "{ep}: connect needs a real port"
            );
        }
        for ep in [
            "tcp://127.0.0.1:99999",
            "tcp://127.0.0.1:65536",
            "tcp://127.0.0.1:-1",
            "tcp://127.0.0.1:+80",
            "tcp://127.0.0.1:80x",
            "tcp://127.0.0.1:http",
            "tcp://127.0.0.1:",
            "tcp://127.0.0.1",
            "tcp://:7085",
            "tcp://::1:7085",
            "tcp://[::1]:99999",
            "tcp://127.0.0.1:000080",
        ] {
            let e = check_endpoint(ep).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{ep}");
            assert!(check_bind_endpoint(ep).is_err(), "{ep}");
        }
    }
}
