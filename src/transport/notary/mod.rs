//! The notary side: ROUTER endpoints that open requests and answer them as legacy notaries did,
//! and serve v2 clients (pipelined requests, idempotent resends, pushes).
//!
//! * [`listen`]: the bound ROUTER sockets; [`worker`]: worker mode (connected to a broker,
//!   announced after every reconnect);
//! * [`identities`]: the notary's identities, and opening a request with the one it names;
//! * [`request`]: the request handed to the application, its route, the uniform answer to an
//!   unreadable request;
//! * [`reply_book`]: requests in progress, the reply cache and its bounds;
//! * [`answers`]: the uniform answers to unreadable requests, queued for their time;
//! * [`push`]: push routes and their delivery.
//!
//! This file holds the notary itself: its counters, the receive loop and the reply.

mod answers;
mod identities;
mod listen;
mod push;
mod reply_book;
mod request;
mod worker;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::frames::{self, BROKER_CLIENT, Command, Incoming};
use super::{Options, zmq_err};
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed;

use answers::PendingAnswer;
use identities::{Identity, check_identity};
use push::PushRoutes;
use reply_book::{LIMITS, Peer, ReplyBook, Seen};
use request::{ReleaseQueue, Route};
pub use request::{Request, UNREADABLE, open_request_frame, unreadable_answer_delay};
use worker::WorkerLink;

/// The reason sent when a resent request's reply is no longer kept (evicted or expired): the
/// request was handled once and is not handed to the application again.
pub const REPLY_NOT_KEPT: &str = "this request was answered, and its reply is no longer kept";
/// The reason sent when a connection has too many requests in progress (see the README).
pub const BUSY: &str = "too many requests in progress from this connection: wait for replies";

/// Counters describing a notary's history.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NotaryStats {
    /// Requests opened and handed to the application.
    pub requests: u64,
    /// Replies sent.
    pub replies: u64,
    /// Frames that could not be opened or parsed.
    pub rejected: u64,
    /// Sockets re-created. Always 0 since the notary is a ROUTER: an unreadable request no longer
    /// costs anyone else their connection (kept for compatibility of the counters).
    pub rebinds: u64,
    /// v2 requests received again (client resends): answered from the reply cache, or ignored
    /// while the first copy is being processed, never handed to the application twice.
    pub duplicates: u64,
    /// Pushes delivered (one per route).
    pub pushes: u64,
    /// Push routes dropped because their client was gone.
    pub dropped_routes: u64,
    /// Requests the application freed without answering them (answered as unreadable).
    pub released: u64,
    /// Resends ignored because their reply was sent again too recently or too often.
    pub resends_suppressed: u64,
    /// Resends answered "reply no longer kept" (their reply was evicted or expired).
    pub resends_expired: u64,
    /// Cached replies evicted by the per-peer or global bounds before their retention ended.
    pub cache_evictions: u64,
    /// v2 requests refused because their connection had too many in progress.
    pub busy: u64,
    /// Answers to unreadable requests dropped because too many were waiting for their time.
    pub answers_dropped: u64,
    /// Push deliveries that failed for one route (sealing to its key); the route stays.
    pub push_failures: u64,
}

/// The names [`Notary::counter`] knows, in a stable order.
pub const NOTARY_COUNTERS: &[&str] = &[
    "requests",
    "replies",
    "rejected",
    "rebinds",
    "duplicates",
    "pushes",
    "dropped_routes",
    "released",
    "resends_suppressed",
    "resends_expired",
    "cache_evictions",
    "busy",
    "answers_dropped",
    "push_failures",
    "in_progress",
    "cached_replies",
    "cached_bytes",
    "pending_answers",
];

/// A counter by name (see [`NOTARY_COUNTERS`]); the last four are gauges read from the notary.
fn counter(s: &NotaryStats, gauges: [u64; 4], name: &str) -> Option<u64> {
    Some(match name {
        "requests" => s.requests,
        "replies" => s.replies,
        "rejected" => s.rejected,
        "rebinds" => s.rebinds,
        "duplicates" => s.duplicates,
        "pushes" => s.pushes,
        "dropped_routes" => s.dropped_routes,
        "released" => s.released,
        "resends_suppressed" => s.resends_suppressed,
        "resends_expired" => s.resends_expired,
        "cache_evictions" => s.cache_evictions,
        "busy" => s.busy,
        "answers_dropped" => s.answers_dropped,
        "push_failures" => s.push_failures,
        "in_progress" => gauges[0],
        "cached_replies" => gauges[1],
        "cached_bytes" => gauges[2],
        "pending_answers" => gauges[3],
        _ => return None,
    })
}

/// One bound socket.
struct Bound {
    socket: zmq::Socket,
    endpoint: String,
    /// A worker's connection to a broker's backend (DEALER): client traffic is wrapped in the
    /// broker frames (see `frames::BROKER_CLIENT`), and READY is sent after every (re)connect.
    worker: Option<WorkerLink>,
}

/// A notary endpoint: ROUTER sockets that serve legacy REQ clients exactly as a legacy REP
/// notary did, and v2 DEALER clients (pipelined requests, idempotent resends, pushes). Used by
/// one thread at a time (it may move between threads).
///
/// Suite v3: a notary may hold several identities at once (an RSA one for legacy clients and a
/// v3 one, say; [`Notary::add_identity`]). A request's envelope type (1: RSA, 3: X25519) and its
/// recipient NymIDs choose the identity that opens it; the reply is signed by that identity and
/// sealed to the key the application names, whose algorithm chooses the envelope type — so a
/// legacy client is only ever sent type 1 and SAMY.
///
/// Hostile peers: every unreadable request gets the same answer ([`UNREADABLE`]) at the same
/// delay ([`unreadable_answer_delay`]); resends are answered only to whoever presents the same
/// request, at most once a second and three times in all; what a peer can make the notary keep
/// (requests in progress, cached replies, queued bytes) is bounded per peer and in total (README,
/// "Reliability").
pub struct Notary {
    bound: Vec<Bound>,
    opts: Options,
    /// The notary's identities; the first is the one given to [`Notary::bind`].
    identities: Vec<Identity>,
    next_id: u64,
    tag: u64,
    stats: NotaryStats,
    book: ReplyBook,
    /// Requests the application dropped without answering (filled by `Request::drop`).
    released: Arc<ReleaseQueue>,
    /// Answers to unreadable requests waiting for their time, earliest first.
    pending: BinaryHeap<Reverse<PendingAnswer>>,
    pending_of: HashMap<Peer, usize>,
    pending_order: u64,
    /// The signed `reply_errors` answer, made once per suite (legacy RSA, v3): the same bytes
    /// every time, and no private-key work per garbage request.
    signed_unreadable: [Option<Vec<u8>>; 2],
    pushes: HashMap<String, PushRoutes>,
    /// Where the next poll starts, so that one busy socket cannot starve the others.
    next_socket: usize,
    /// The process that created the notary: its sockets are useless in a forked child.
    pid: u32,
}

impl Drop for Notary {
    fn drop(&mut self) {
        if self.pid == std::process::id() {
            for b in &mut self.bound {
                if let Some(w) = b.worker.as_mut() {
                    w.monitor.detach(&b.socket);
                }
            }
        }
        if self.pid != std::process::id() {
            // See `Session`'s drop: never close a parent's socket in a forked child.
            for b in self.bound.drain(..) {
                super::keep_forever(b);
            }
        }
    }
}

/// How long `receive(0)` (or a call whose deadline is nearer) may keep handling messages that need
/// no application (probes, resends, garbage) before it returns, so that a flood cannot keep a
/// non-blocking call from returning.
const NONBLOCKING_SLICE: Duration = Duration::from_millis(2);

impl Notary {
    fn unbound(auth: &Key, enc: &Key, nym_id: &str, opts: &Options) -> Result<Notary> {
        let first = check_identity(auth, enc, nym_id)?;
        static TAGS: AtomicU64 = AtomicU64::new(1);
        Ok(Notary {
            bound: Vec::new(),
            opts: opts.clone(),
            identities: vec![first],
            next_id: 1,
            tag: TAGS.fetch_add(1, Ordering::Relaxed),
            stats: NotaryStats::default(),
            book: ReplyBook::new(LIMITS),
            released: Arc::new(ReleaseQueue::default()),
            pending: BinaryHeap::new(),
            pending_of: HashMap::new(),
            pending_order: 0,
            signed_unreadable: [None, None],
            pushes: HashMap::new(),
            next_socket: 0,
            pid: std::process::id(),
        })
    }

    fn check_process(&self) -> Result<()> {
        if self.pid == std::process::id() {
            Ok(())
        } else {
            Err(super::forked_error("notary"))
        }
    }

    /// The first bound endpoint (wildcard ports resolved).
    pub fn endpoint(&self) -> &str {
        self.bound.first().map_or("", |b| b.endpoint.as_str())
    }

    /// Every bound endpoint, in the order they were added.
    pub fn endpoints(&self) -> Vec<String> {
        self.bound.iter().map(|b| b.endpoint.clone()).collect()
    }

    /// The notary's counters.
    pub fn stats(&self) -> NotaryStats {
        let mut s = self.stats;
        s.resends_suppressed = self.book.stats.suppressed;
        s.resends_expired = self.book.stats.dropped_answered;
        s.cache_evictions = self.book.stats.evicted;
        s
    }

    /// One counter by name ([`NOTARY_COUNTERS`]): the [`NotaryStats`] fields, and the gauges
    /// `in_progress`, `cached_replies`, `cached_bytes` and `pending_answers`.
    pub fn counter(&self, name: &str) -> Option<u64> {
        let (in_progress, cached, bytes, _) = self.book.sizes();
        let gauges = [
            in_progress as u64,
            cached as u64,
            bytes as u64,
            self.pending.len() as u64,
        ];
        counter(&self.stats(), gauges, name)
    }

    /// The ZMQ_FD of the first socket, for event loops (see the header docs for the
    /// edge-triggered rules).
    pub fn fd(&self) -> Result<i32> {
        let b = self
            .bound
            .first()
            .ok_or_else(|| Error::internal("notary without socket"))?;
        b.socket.get_fd().map_err(|e| zmq_err("ZMQ_FD", e))
    }

    fn send(&self, socket: usize, mut frames: Vec<Vec<u8>>) -> Result<()> {
        let b = self
            .bound
            .get(socket)
            .ok_or_else(|| Error::internal("route to an unknown socket"))?;
        if b.worker.is_some() {
            frames.insert(0, BROKER_CLIENT.to_vec());
        }
        match b.socket.send_multipart(frames, zmq::DONTWAIT) {
            Ok(()) => Ok(()),
            Err(zmq::Error::EHOSTUNREACH) => Err(Error::new(
                ErrorKind::Transport,
                "the requester has disconnected: the reply was not delivered",
            )),
            Err(zmq::Error::EAGAIN) => Err(Error::new(
                ErrorKind::Transport,
                "the requester is not reading (its queue is full): the reply was not delivered",
            )),
            Err(e) => Err(zmq_err("sending", e)),
        }
    }

    /// Waits up to `timeout_ms` (negative: forever) for a request, then de-armors, opens and
    /// parses it. A frame that cannot be read is answered as configured (legacy peers: no reply,
    /// or a signed error `MESSAGE` with `reply_errors`; v2 peers: an `ERR` frame) — always with
    /// the one reason [`UNREADABLE`], after [`unreadable_answer_delay`] — and its error returned;
    /// nobody else's connection or queued request is touched. Requests may be kept and answered
    /// in any order.
    ///
    /// The deadline holds whatever arrives: a stream of resends or probes cannot keep the call
    /// from returning (`Timeout`). With `timeout_ms` 0 the call handles what is queued for at most
    /// a couple of milliseconds. Answers that wait for their time are sent while the application
    /// is inside this call.
    pub fn receive(&mut self, timeout_ms: i64) -> Result<Request> {
        self.check_process()?;
        let start = Instant::now();
        let deadline = (timeout_ms >= 0).then(|| start + Duration::from_millis(timeout_ms as u64));
        // How long messages that need no application (probes, resends, garbage) may be handled.
        let busy_until = deadline.map(|d| d.max(start + NONBLOCKING_SLICE));
        loop {
            self.announce()?;
            self.take_released();
            let now = Instant::now();
            self.send_due_answers(now);
            if busy_until.is_some_and(|b| now >= b) {
                return Err(self.timeout(timeout_ms));
            }
            if let Some((socket, frames)) = self.try_recv()? {
                // The arrival time counts from now, after the read (never before it).
                if let Some(r) = self.handle(socket, frames, Instant::now())? {
                    return r;
                }
                continue;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(self.timeout(timeout_ms));
            }
            let wake = [deadline, self.pending.peek().map(|p| p.0.due)]
                .into_iter()
                .flatten()
                .min();
            let wait = wake.map_or(-1, |w| {
                w.saturating_duration_since(now).as_millis().max(1) as i64
            });
            let mut items: Vec<zmq::PollItem> = Vec::with_capacity(self.bound.len() + 1);
            items.extend(
                self.bound
                    .iter()
                    .map(|b| b.socket.as_poll_item(zmq::POLLIN)),
            );
            // A worker also wakes up for its connection events (to announce itself again).
            items.extend(
                self.bound
                    .iter()
                    .filter_map(|b| b.worker.as_ref())
                    .map(|w| w.monitor.pair.as_poll_item(zmq::POLLIN)),
            );
            match zmq::poll(&mut items, wait) {
                Ok(_) | Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(zmq_err("zmq_poll", e)),
            }
        }
    }

    fn timeout(&self, timeout_ms: i64) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!("no request within {timeout_ms} ms"),
        )
    }

    /// One message from any socket, round robin, without waiting.
    fn try_recv(&mut self) -> Result<Option<(usize, Vec<Vec<u8>>)>> {
        let n = self.bound.len();
        for k in 0..n {
            let i = (self.next_socket + k) % n;
            match self.bound[i].socket.recv_multipart(zmq::DONTWAIT) {
                Ok(mut frames) => {
                    self.next_socket = (i + 1) % n;
                    if self.bound[i].worker.is_some() {
                        // From the broker: client traffic, or a control message (a liveness
                        // PING, which needs no answer: delivering it proved the route).
                        if frames.first().map(Vec::as_slice) != Some(BROKER_CLIENT) {
                            continue;
                        }
                        frames.remove(0);
                    }
                    return Ok(Some((i, frames)));
                }
                Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(zmq_err("receiving a request", e)),
            }
        }
        Ok(None)
    }

    /// Handles one message: `Some(result)` to hand to the caller, `None` when it was dealt
    /// with here (a probe, a resend, a frame to drop).
    fn handle(
        &mut self,
        socket: usize,
        frames: Vec<Vec<u8>>,
        now: Instant,
    ) -> Result<Option<Result<Request>>> {
        match frames::classify(frames) {
            Incoming::Legacy { mut envelope, body } => {
                let peer = envelope.remove(0);
                let route = Route {
                    socket,
                    peer,
                    envelope_rest: envelope,
                    v2: None,
                };
                Ok(Some(self.open(&body, route, now)))
            }
            Incoming::V2 { peer, msg } => match msg.command {
                Command::Ping => {
                    let mut f = vec![peer];
                    f.extend(frames::v2(Command::Pong, msg.number, b""));
                    let _ = self.send(socket, f); // a vanished prober needs no answer
                    Ok(None)
                }
                _ => {
                    let key = (crate::hash::sha256(&msg.body), msg.number);
                    let from: Peer = (socket, peer);
                    match self.book.seen(&key, &from, now) {
                        Seen::New => {}
                        Seen::Resend(reply) => {
                            self.stats.duplicates += 1;
                            let mut f = vec![from.1];
                            f.extend(frames::v2(Command::Rep, msg.number, &reply));
                            let _ = self.send(socket, f);
                            return Ok(None);
                        }
                        Seen::Suppressed | Seen::InProgress => {
                            self.stats.duplicates += 1;
                            return Ok(None);
                        }
                        Seen::Dropped => {
                            let mut f = vec![from.1];
                            f.extend(frames::v2(
                                Command::Err,
                                msg.number,
                                REPLY_NOT_KEPT.as_bytes(),
                            ));
                            let _ = self.send(socket, f);
                            return Ok(None);
                        }
                    }
                    if !self.book.has_room(&from) {
                        // Refused before any work; the reason depends on nothing secret.
                        self.stats.busy += 1;
                        let mut f = vec![from.1];
                        f.extend(frames::v2(Command::Err, msg.number, BUSY.as_bytes()));
                        let _ = self.send(socket, f);
                        return Ok(None);
                    }
                    let route = Route {
                        socket,
                        peer: from.1.clone(),
                        envelope_rest: Vec::new(),
                        v2: Some(key),
                    };
                    let r = self.open(&msg.body, route, now);
                    if r.is_ok() {
                        self.book.begin(key, from);
                    }
                    Ok(Some(r))
                }
            },
            Incoming::Unknown => {
                self.stats.rejected += 1;
                Err(Error::malformed(
                    "a message that is neither a legacy request nor a v2 request was dropped",
                ))
            }
        }
    }

    fn reply_frame(&self, auth: &Key, content: &[u8], recipient: Option<&Key>) -> Result<Vec<u8>> {
        let text = signed::create("MESSAGE", content, auth, None)?;
        seal_signed(text.as_bytes(), recipient)
    }

    /// Answers `request` (received by this notary, not answered yet; any order): `content` is
    /// signed as a `MESSAGE` with the authentication key of the identity that opened the
    /// request, sealed to `recipient` (the client's encryption key: RSA → type 1, X25519 → type
    /// 3) with an empty NymID and sent bookended as `ENVELOPE`; with `None`, sent as the legacy
    /// unencrypted bookended `MESSAGE`. `Transport` when the requester has disconnected. A
    /// request that arrived as type 1 (a possibly legacy client) is answered only with RSA/SAMY:
    /// an identity that signs with Ed25519 is refused (`InvalidArgument`) rather than sending a
    /// legacy peer a SHA256D signature; a type-3 reply goes only where the application names an
    /// X25519 key, i.e. to a peer whose keys are v3.
    ///
    /// A v2 reply is also kept for resends (see `reply_book`); if the requester's connection is
    /// gone but it resent the request from a new one, the reply goes there.
    pub fn reply(
        &mut self,
        request: &Request,
        content: &[u8],
        recipient: Option<&Key>,
    ) -> Result<()> {
        self.check_process()?;
        let route = match (&request.route, request.notary == self.tag) {
            (Some(r), true) => r.clone(),
            _ => {
                return Err(Error::new(
                    ErrorKind::State,
                    "this request was not received by this notary",
                ));
            }
        };
        let ident = self
            .identities
            .get(request.identity)
            .ok_or_else(|| Error::internal("request identity missing"))?;
        if request.legacy && ident.auth.algorithm() != Algorithm::Rsa {
            return Err(Error::invalid(
                "this request came as a legacy type-1 envelope: its reply must be signed with \
                 an RSA key (Hash: SAMY), and this identity signs with Ed25519",
            ));
        }
        if request.replied.swap(true, Ordering::AcqRel) {
            return Err(Error::new(
                ErrorKind::State,
                "this request was already answered",
            ));
        }
        let frame = match self.reply_frame(&ident.auth, content, recipient) {
            Ok(f) => f,
            Err(e) => {
                request.replied.store(false, Ordering::Release);
                return Err(e);
            }
        };
        let sent = match route.v2 {
            None => self.send(route.socket, route.legacy_frames(frame)),
            Some(key) => {
                let waiter = self.book.finish(&key);
                let mut f = vec![route.peer.clone()];
                f.extend(frames::v2(Command::Rep, key.1, &frame));
                let mut sent = self.send(route.socket, f);
                if sent.is_err()
                    && let Some((socket, peer)) = waiter
                {
                    let mut f = vec![peer];
                    f.extend(frames::v2(Command::Rep, key.1, &frame));
                    sent = self.send(socket, f);
                }
                // Kept even when the client is gone now: it resends after reconnecting.
                self.book.store(
                    key,
                    (route.socket, route.peer.clone()),
                    frame,
                    Instant::now(),
                );
                sent
            }
        };
        if sent.is_ok() {
            self.stats.replies += 1;
        }
        sent
    }
}

/// The frame of a signed reply: sealed to `recipient` with an empty NymID and bookended as
/// `ENVELOPE`, or (no recipient) the legacy unencrypted bookended `MESSAGE`.
fn seal_signed(text: &[u8], recipient: Option<&Key>) -> Result<Vec<u8>> {
    Ok(match recipient {
        Some(k) => Envelope::seal(&[Recipient { nym_id: "", key: k }], text)?.to_armor(true)?,
        None => armor::encode_bookended(text, Kind::String, "MESSAGE", false)?,
    }
    .into_bytes())
}
