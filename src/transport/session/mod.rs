//! The client side: a session with one notary, speaking legacy lock-step REQ (a session that
//! never wedges on a lost reply) or v2 (pipelining, idempotent resends, pushes).
//!
//! This file holds the session, its counters and the choice of protocol;
//! `legacy` the Lazy-Pirate REQ engine, `v2` the glue to the v2 connection (`client.rs`),
//! `message` the request frame and reply reading both use.

mod legacy;
mod message;
mod v2;

use std::time::Duration;

use super::client::{Inbox, V2Client};
use super::monitor::Monitor;
use super::{Options, check_endpoint, forked_error, zmq_err};
use crate::error::{Error, Result};
use message::{Identity, NotaryInfo};

/// Counters describing a session's history.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionStats {
    /// Exchanges completed with a reply.
    pub replies: u64,
    /// Requests sent again after a lost reply.
    pub resends: u64,
    /// REQ sockets created (the first one included).
    pub sockets_created: u64,
    /// Exchanges that ended in `Timeout`.
    pub timeouts: u64,
    /// v2 pushes dropped because the session has no subscription.
    pub pushes_unsolicited: u64,
    /// v2 pushes dropped because they did not open or verify (forged, or sealed to another key).
    pub pushes_invalid: u64,
    /// v2 pushes dropped unread because the queue of unread pushes was full (oldest first).
    pub pushes_overflow: u64,
    /// v2 pushes of a stream this session did not subscribe to (counted with
    /// `pushes_unsolicited` by [`Session::counter`]).
    pub pushes_unsolicited_streams: u64,
    /// v2 pushes whose sequence number was not past the last one read (dropped).
    pub pushes_duplicate: u64,
    /// v2 connections dropped and made again because a request failed while the connection was
    /// down (so that nothing libzmq queued for it goes out later).
    pub renewals: u64,
    /// 1 while the session talks CURVE to the notary's published transport key (gauge).
    pub curve: u64,
    /// Transport-key documents refused: not signed by the notary's auth key, another notary's,
    /// not valid now, malformed, or naming no endpoint this session can reach.
    pub transport_keys_refused: u64,
    /// Times the session moved to a new transport key the notary published after a CURVE
    /// handshake failed (a key rotation).
    pub transport_key_changes: u64,
}

/// The names [`Session::counter`] knows, in a stable order.
pub const SESSION_COUNTERS: &[&str] = &[
    "replies",
    "resends",
    "sockets_created",
    "timeouts",
    "pushes_unsolicited",
    "pushes_invalid",
    "pushes_overflow",
    "pushes_duplicate",
    "renewals",
    "pushes_queued",
    "pushes_queued_bytes",
    "curve",
    "transport_keys_refused",
    "transport_key_changes",
];

/// Unread pushes a session keeps: at most this many…
pub const PUSH_QUEUE: usize = 4096;
/// …and at most this many bytes (raw, before opening); the oldest are dropped beyond.
pub const PUSH_QUEUE_BYTES: usize = 16 << 20;

/// The protocol a session speaks (option `protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Lock-step REQ, exactly as a legacy client (the default).
    Legacy,
    /// DEALER with the v2 frames: pipelining, idempotent resends, pushes.
    V2,
    /// Not decided yet (`protocol` = auto: a probe at the first request decides).
    Auto,
}

/// A client session with one notary endpoint. Used by one thread at a time (it may move
/// between threads).
pub struct Session {
    endpoint: String,
    opts: Options,
    protocol: Protocol,
    v2: Option<V2Client>,
    inbox: Inbox,
    socket: Option<zmq::Socket>,
    monitor: Option<Monitor>,
    identity: Option<Identity>,
    notary: Option<NotaryInfo>,
    /// The notary was asked for its transport key (option `curve_policy`; once per session).
    curve_checked: bool,
    /// The last transport-key probe got no answer (the notary was unreachable): the connections
    /// made by then (a new one may answer).
    discovery_unanswered: Option<u64>,
    stats: SessionStats,
    /// The process that created the session: its sockets are useless in a forked child.
    pid: u32,
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.pid == std::process::id() {
            self.drop_socket();
        }
        if self.pid != std::process::id() {
            // In a forked child the parent's libzmq threads do not exist: closing these
            // sockets could wait on them forever. Leak them instead.
            super::keep_forever((self.socket.take(), self.monitor.take(), self.v2.take()));
        }
    }
}

impl Session {
    /// Creates a session that will connect to `endpoint` (e.g. `tcp://127.0.0.1:7085`).
    /// Connecting is asynchronous: no error arises when no notary is listening yet.
    pub fn new(endpoint: &str, opts: Options) -> Result<Session> {
        check_endpoint(endpoint)?;
        let protocol = match opts.protocol {
            1 => Protocol::V2,
            2 => Protocol::Auto,
            _ => Protocol::Legacy,
        };
        let mut s = Session {
            endpoint: endpoint.to_string(),
            opts,
            protocol,
            v2: None,
            inbox: Inbox::default(),
            socket: None,
            monitor: None,
            identity: None,
            notary: None,
            curve_checked: false,
            discovery_unanswered: None,
            stats: SessionStats::default(),
            pid: std::process::id(),
        };
        match protocol {
            Protocol::Legacy => s.fresh_socket()?,
            Protocol::V2 => s.v2 = Some(V2Client::connect(endpoint, &s.opts)?),
            Protocol::Auto => {}
        }
        Ok(s)
    }

    /// `State` when the session was created in another process (before a `fork`).
    fn check_process(&self) -> Result<()> {
        if self.pid == std::process::id() {
            Ok(())
        } else {
            Err(forked_error("session"))
        }
    }

    /// The endpoint this session connects to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The session's counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// One counter by name ([`SESSION_COUNTERS`]): the [`SessionStats`] fields, and the gauges
    /// `pushes_queued` and `pushes_queued_bytes` (unread pushes).
    pub fn counter(&self, name: &str) -> Option<u64> {
        let s = &self.stats;
        Some(match name {
            "replies" => s.replies,
            "resends" => s.resends,
            "sockets_created" => s.sockets_created,
            "timeouts" => s.timeouts,
            "pushes_unsolicited" => s.pushes_unsolicited + s.pushes_unsolicited_streams,
            "pushes_duplicate" => s.pushes_duplicate,
            "renewals" => s.renewals,
            "curve" => s.curve,
            "transport_keys_refused" => s.transport_keys_refused,
            "transport_key_changes" => s.transport_key_changes,
            "pushes_invalid" => s.pushes_invalid,
            "pushes_overflow" => s.pushes_overflow,
            "pushes_queued" => self.inbox.pushes.len() as u64,
            "pushes_queued_bytes" => self.inbox.push_bytes as u64,
            _ => return None,
        })
    }

    /// Signs, seals and sends `content`, waits for the reply, opens and verifies it, and returns
    /// the notary's reply content.
    pub fn request(&mut self, content: &[u8]) -> Result<Vec<u8>> {
        self.check_process()?;
        let frame = self.request_frame(content)?;
        let reply = self.exchange(&frame)?;
        self.read_reply(&reply)
    }

    /// The protocol in use; with `auto`, decides it first (a v2 PING answered within
    /// `probe_timeout_ms` means v2, silence means a legacy notary: legacy REQ from then on).
    pub fn protocol(&mut self) -> Result<Protocol> {
        self.check_process()?;
        self.decide()
    }

    fn decide(&mut self) -> Result<Protocol> {
        if self.protocol == Protocol::Auto {
            let mut c = V2Client::connect(&self.endpoint, &self.opts)?;
            let wait = Duration::from_millis(self.opts.probe_timeout_ms as u64);
            if c.probe(wait)? {
                self.v2 = Some(c);
                self.protocol = Protocol::V2;
            } else {
                drop(c);
                self.protocol = Protocol::Legacy;
                self.fresh_socket()?;
            }
        }
        Ok(self.protocol)
    }

    /// The ZMQ_FD of the session's socket, for event loops: readable means "call a receive
    /// function with timeout 0 until it times out" (edge-triggered, see the header docs).
    pub fn fd(&mut self) -> Result<i32> {
        self.check_process()?;
        if self.decide()? == Protocol::V2 {
            return self.v2_client()?.fd();
        }
        if self.socket.is_none() {
            self.fresh_socket()?;
        }
        self.socket
            .as_ref()
            .ok_or_else(|| Error::internal("session without socket"))?
            .get_fd()
            .map_err(|e| zmq_err("ZMQ_FD", e))
    }
}
