//! The notary side: ROUTER endpoints that open requests and answer them as legacy notaries did,
//! and serve v2 clients (pipelined requests, idempotent resends, pushes).
//!
//! * [`request`]: the request handed to the application, its route, the uniform answer to an
//!   unreadable request;
//! * [`reply_book`]: requests in progress, the reply cache and its bounds.

mod reply_book;
mod request;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::frames::{self, BROKER_CLIENT, BROKER_CONTROL, Command, ERROR_REPLY_PREFIX, Incoming};
use super::monitor::Monitor;
use super::{Options, check_bind_endpoint, check_endpoint, context, zmq_err};
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed;

use reply_book::{LIMITS, Peer, ReplyBook, Seen};
use request::{Release, ReleaseQueue, Route};
pub use request::{Request, UNREADABLE, open_request_frame, unreadable_answer_delay};

/// The reason sent when a resent request's reply is no longer kept (evicted or expired): the
/// request was handled once and is not handed to the application again.
pub const REPLY_NOT_KEPT: &str = "this request was answered, and its reply is no longer kept";
/// The reason sent when a connection has too many requests in progress (see the README).
pub const BUSY: &str = "too many requests in progress from this connection: wait for replies";

/// Answers to unreadable requests waiting for their time (see [`unreadable_answer_delay`]):
/// at most this many per peer, and in all; beyond, the answer is dropped (and counted).
const PENDING_ANSWERS_PER_PEER: usize = 64;
const PENDING_ANSWERS: usize = 4096;

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

/// The names [`NotaryStats::counter`] knows, in a stable order.
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

/// One notary identity: `auth` signs replies, `enc` opens requests sealed to `nym_id`.
struct Identity {
    auth: Key,
    enc: Key,
    nym_id: String,
}

/// Most identities one notary holds.
pub const MAX_NOTARY_IDENTITIES: usize = 8;

fn check_identity(auth: &Key, enc: &Key, nym_id: &str) -> Result<Identity> {
    if !auth.is_private() || !enc.is_private() {
        return Err(Error::invalid("the notary keys must be private keys"));
    }
    if auth.algorithm() == Algorithm::X25519 {
        return Err(Error::invalid(
            "the notary authentication key signs replies: RSA or Ed25519, not X25519",
        ));
    }
    if enc.algorithm() == Algorithm::Ed25519 {
        return Err(Error::invalid(
            "the notary encryption key opens requests: RSA or X25519, not Ed25519",
        ));
    }
    if nym_id.is_empty() || nym_id.len() > 1024 {
        return Err(Error::invalid(
            "the notary NymID must be 1..=1024 characters",
        ));
    }
    Ok(Identity {
        auth: auth.clone(),
        enc: enc.clone(),
        nym_id: nym_id.to_string(),
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

/// A worker's link to its broker.
struct WorkerLink {
    monitor: Monitor,
    /// READY was handed to libzmq since the last time the connection was lost.
    announced: bool,
}

/// One subscriber of a NymID's pushes.
struct PushRoute {
    socket: usize,
    peer: Vec<u8>,
    /// The subscriber's encryption key (pushes are sealed to it).
    key: Key,
    /// The identity that opened the subscription request: it signs the pushes, so the client
    /// verifies them with the notary key it already uses.
    identity: usize,
}

/// The push routes of one NymID.
struct PushRoutes {
    /// Sequence number of the last push to this NymID.
    seq: u64,
    routes: Vec<PushRoute>,
}

/// An answer to an unreadable (or released) request, waiting for its time.
struct PendingAnswer {
    due: Instant,
    order: u64,
    peer: Peer,
    frames: Vec<Vec<u8>>,
}

impl PartialEq for PendingAnswer {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.order) == (o.due, o.order)
    }
}
impl Eq for PendingAnswer {}
impl PartialOrd for PendingAnswer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for PendingAnswer {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(o.due, o.order))
    }
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
    /// Binds a ROUTER socket on `endpoint` (`tcp://127.0.0.1:*` picks a free port; see
    /// [`Notary::endpoint`]). `auth` signs replies, `enc` opens requests sealed to `nym_id`.
    pub fn bind(
        endpoint: &str,
        auth: &Key,
        enc: &Key,
        nym_id: &str,
        opts: Options,
    ) -> Result<Notary> {
        let mut n = Notary::unbound(auth, enc, nym_id, &opts)?;
        n.add_endpoint(endpoint, &opts)?;
        Ok(n)
    }

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

    /// Listens on one more endpoint with its own options (e.g. the legacy port in plain ZMTP and
    /// a v2 port with CURVE: ZMTP allows one security mechanism per socket). Returns the bound
    /// endpoint with a wildcard port resolved.
    pub fn add_endpoint(&mut self, endpoint: &str, opts: &Options) -> Result<String> {
        self.check_process()?;
        check_bind_endpoint(endpoint)?;
        if self.bound.len() >= 64 {
            return Err(Error::invalid("a notary listens on at most 64 endpoints"));
        }
        let s = context()
            .socket(zmq::ROUTER)
            .map_err(|e| zmq_err("creating the ROUTER socket", e))?;
        opts.apply_listener(&s)?;
        // A reply to a peer that is gone is an error (not silently dropped). No handover: a
        // peer presenting a routing id already in use is refused, so no one can take over
        // another's route (v2 clients let libzmq choose their routing id; a reconnect gets a
        // new one, and resends are matched by the request itself, see `reply_book`).
        s.set_router_mandatory(true)
            .map_err(|e| zmq_err("ZMQ_ROUTER_MANDATORY", e))?;
        s.set_router_handover(false)
            .map_err(|e| zmq_err("ZMQ_ROUTER_HANDOVER", e))?;
        let start = Instant::now();
        loop {
            match s.bind(endpoint) {
                Ok(()) => break,
                // A port just released by a previous notary is freed asynchronously by libzmq.
                Err(zmq::Error::EADDRINUSE) if start.elapsed() < Duration::from_secs(1) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(zmq_err(
                        &format!("binding {}", crate::error::quote(endpoint)),
                        e,
                    ));
                }
            }
        }
        let resolved = match s.get_last_endpoint() {
            Ok(Ok(ep)) => ep,
            _ => endpoint.to_string(),
        };
        self.bound.push(Bound {
            socket: s,
            endpoint: resolved.clone(),
            worker: None,
        });
        Ok(resolved)
    }

    /// Adds another identity served on the same endpoints (e.g. a v3 identity next to the RSA
    /// one): `auth` (RSA or Ed25519) signs replies to requests it opened, `enc` (RSA or X25519)
    /// opens requests sealed to `nym_id`. NymIDs must differ; at most
    /// [`MAX_NOTARY_IDENTITIES`] identities.
    pub fn add_identity(&mut self, auth: &Key, enc: &Key, nym_id: &str) -> Result<()> {
        self.check_process()?;
        let id = check_identity(auth, enc, nym_id)?;
        if self.identities.iter().any(|i| i.nym_id == nym_id) {
            return Err(Error::invalid(
                "the notary already has an identity with this NymID",
            ));
        }
        if self.identities.len() >= MAX_NOTARY_IDENTITIES {
            return Err(Error::invalid(format!(
                "a notary holds at most {MAX_NOTARY_IDENTITIES} identities"
            )));
        }
        self.identities.push(id);
        self.signed_unreadable = [None, None];
        Ok(())
    }

    /// The number of identities the notary serves.
    pub fn identity_count(&self) -> usize {
        self.identities.len()
    }

    /// The identity for an envelope: the first whose encryption key fits the envelope type and
    /// whose NymID has an entry; else the first that fits (it may still open a key-only entry).
    fn identity_for(&self, env: &Envelope) -> Option<usize> {
        let want = if env.envelope_type() == 3 {
            Algorithm::X25519
        } else {
            Algorithm::Rsa
        };
        let ids = env.recipient_ids();
        let fits = |i: &&Identity| i.enc.algorithm() == want;
        self.identities
            .iter()
            .enumerate()
            .filter(|(_, i)| fits(i))
            .find(|(_, i)| ids.contains(&i.nym_id.as_str()))
            .or_else(|| self.identities.iter().enumerate().find(|(_, i)| fits(i)))
            .map(|(n, _)| n)
    }

    /// De-armors, parses and opens a request body with the identity its envelope names.
    fn open_with_identity(&self, body: &[u8]) -> Result<Request> {
        let env = request::envelope_of(body)?;
        let n = self.identity_for(&env).ok_or_else(|| {
            Error::new(
                ErrorKind::NoMatchingRecipient,
                format!(
                    "this notary has no identity that opens type-{} envelopes",
                    env.envelope_type()
                ),
            )
        })?;
        let ident = &self.identities[n];
        let text = env.open(Some(&ident.nym_id), &ident.enc)?;
        let parsed = signed::parse(&text)?;
        Ok(Request::opened(env.envelope_type(), text, parsed, n))
    }

    /// The signed `reply_errors` answer to an unreadable request, in the requester's suite: an
    /// RSA/SAMY one for a legacy (or unreadable) request, preferably an Ed25519 one for a type-3
    /// request. `None` when the notary has no identity of that suite. Made once, then reused.
    fn signed_unreadable(&mut self, v3: bool) -> Option<Vec<u8>> {
        let slot = usize::from(v3);
        if let Some(f) = &self.signed_unreadable[slot] {
            return Some(f.clone());
        }
        let rsa = self
            .identities
            .iter()
            .find(|i| i.auth.algorithm() == Algorithm::Rsa);
        let signer = if v3 {
            self.identities
                .iter()
                .find(|i| i.auth.algorithm() == Algorithm::Ed25519)
                .or(rsa)
        } else {
            rsa
        }?;
        let content = format!("{ERROR_REPLY_PREFIX}{UNREADABLE}\"/>\n");
        let frame = signed::create("MESSAGE", content.as_bytes(), &signer.auth, None)
            .and_then(|t| armor::encode_bookended(t.as_bytes(), Kind::String, "MESSAGE", false))
            .ok()?
            .into_bytes();
        self.signed_unreadable[slot] = Some(frame.clone());
        Some(frame)
    }

    /// A worker notary: connects to a broker's backend (`ot-broker`, [`super::Broker`]) instead of
    /// binding, and serves the clients the broker sends it with the same receive / reply / push
    /// calls. Workers may be threads of one process or processes on other machines.
    pub fn connect(
        endpoint: &str,
        auth: &Key,
        enc: &Key,
        nym_id: &str,
        opts: Options,
    ) -> Result<Notary> {
        check_endpoint(endpoint)?;
        let mut n = Notary::unbound(auth, enc, nym_id, &opts)?;
        let s = context()
            .socket(zmq::DEALER)
            .map_err(|e| zmq_err("creating the worker socket", e))?;
        opts.apply_listener(&s)?;
        let monitor = Monitor::attach(&s)?;
        s.connect(endpoint).map_err(|e| {
            zmq_err(
                &format!("connecting to {}", crate::error::quote(endpoint)),
                e,
            )
        })?;
        n.bound.push(Bound {
            socket: s,
            endpoint: endpoint.to_string(),
            worker: Some(WorkerLink {
                monitor,
                announced: false,
            }),
        });
        n.announce()?;
        Ok(n)
    }

    /// Tells the broker (again, after a reconnect) that this worker is ready.
    fn announce(&mut self) -> Result<()> {
        for b in &mut self.bound {
            let Some(w) = b.worker.as_mut() else { continue };
            w.monitor.drain()?;
            if w.monitor.lost {
                w.monitor.lost = false;
                w.announced = false;
            }
            if w.announced {
                continue;
            }
            match b
                .socket
                .send_multipart([BROKER_CONTROL.to_vec(), b"READY".to_vec()], zmq::DONTWAIT)
            {
                Ok(()) => w.announced = true,
                Err(zmq::Error::EAGAIN) => {} // not connected yet: the next loop tries again
                Err(e) => return Err(zmq_err("announcing the worker", e)),
            }
        }
        Ok(())
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

    /// Opens a request body; on failure answers the requester as configured, with the one
    /// reason and at the one delay (see [`UNREADABLE`]).
    fn open(&mut self, body: &[u8], route: Route, received: Instant) -> Result<Request> {
        let id = self.next_id;
        self.next_id += 1;
        let due = received + unreadable_answer_delay(body.len());
        match self.open_with_identity(body) {
            Ok(mut req) => {
                req.id = id;
                req.route = Some(route);
                req.notary = self.tag;
                req.release = Some(Release {
                    queue: Arc::downgrade(&self.released),
                    due,
                });
                self.stats.requests += 1;
                Ok(req)
            }
            Err(e) => {
                self.stats.rejected += 1;
                let v3 = route.v2.is_none() && self.opts.reply_errors && request::looks_v3(body);
                self.answer_unreadable(&route, due, v3);
                Err(e)
            }
        }
    }

    /// Schedules the answer to an unreadable (or released) request for `due`: `ERR` for a v2
    /// request; for a legacy one, the signed error with `reply_errors`, else nothing (the legacy
    /// silence). `v3` picks the suite of the signed error.
    fn answer_unreadable(&mut self, route: &Route, due: Instant, v3: bool) {
        let frames = match route.v2 {
            Some((_, n)) => {
                let mut f = vec![route.peer.clone()];
                f.extend(frames::v2(Command::Err, n, UNREADABLE.as_bytes()));
                f
            }
            None if self.opts.reply_errors => match self.signed_unreadable(v3) {
                Some(frame) => route.legacy_frames(frame),
                None => return,
            },
            None => return,
        };
        let peer: Peer = (route.socket, route.peer.clone());
        let mine = self.pending_of.get(&peer).copied().unwrap_or(0);
        if mine >= PENDING_ANSWERS_PER_PEER || self.pending.len() >= PENDING_ANSWERS {
            self.stats.answers_dropped += 1;
            return;
        }
        *self.pending_of.entry(peer.clone()).or_insert(0) += 1;
        self.pending_order += 1;
        self.pending.push(Reverse(PendingAnswer {
            due,
            order: self.pending_order,
            peer,
            frames,
        }));
    }

    /// Sends the answers whose time has come.
    fn send_due_answers(&mut self, now: Instant) {
        while self.pending.peek().is_some_and(|p| p.0.due <= now) {
            let Some(Reverse(a)) = self.pending.pop() else {
                break;
            };
            if let Some(n) = self.pending_of.get_mut(&a.peer) {
                *n -= 1;
                if *n == 0 {
                    self.pending_of.remove(&a.peer);
                }
            }
            let _ = self.send(a.peer.0, a.frames); // a vanished requester needs no answer
        }
    }

    /// Requests the application dropped unanswered: forgotten as in progress, and answered as
    /// unreadable ones are (the same reason, at the same delay from their arrival).
    fn take_released(&mut self) {
        let released =
            std::mem::take(&mut *self.released.lock().unwrap_or_else(|p| p.into_inner()));
        for r in released {
            self.stats.released += 1;
            if let Some(key) = r.route.v2 {
                self.book.finish(&key);
            }
            self.answer_unreadable(&r.route, r.due, !r.legacy);
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

    /// Registers the route `request` came from to receive pushes for `nym_id`, sealed to
    /// `subscriber_enc` (the client's encryption key: RSA or X25519, public or private) and signed
    /// by the identity that opened the subscription request. The application calls it after
    /// verifying a subscription request. Only v2 clients can receive pushes (`State` for a legacy
    /// request). Registering the same route again replaces its key. `InvalidArgument` for a key
    /// that cannot receive sealed messages, or when a legacy (type-1) subscription would be
    /// signed with Ed25519.
    pub fn register_push(
        &mut self,
        request: &Request,
        nym_id: &str,
        subscriber_enc: &Key,
    ) -> Result<()> {
        self.check_process()?;
        if nym_id.is_empty() || nym_id.len() > 1024 {
            return Err(Error::invalid("the NymID must be 1..=1024 characters"));
        }
        let route = match (&request.route, request.notary == self.tag) {
            (Some(r), true) if r.v2.is_some() => r,
            (Some(_), true) => {
                return Err(Error::new(
                    ErrorKind::State,
                    "pushes need a v2 client: this request came from a legacy REQ client",
                ));
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::State,
                    "this request was not received by this notary",
                ));
            }
        };
        if subscriber_enc.algorithm() == Algorithm::Ed25519 {
            return Err(Error::invalid(
                "pushes are sealed to the subscriber's encryption key: RSA or X25519, not Ed25519",
            ));
        }
        let signer = self
            .identities
            .get(request.identity)
            .ok_or_else(|| Error::internal("request identity missing"))?;
        if request.legacy && signer.auth.algorithm() != Algorithm::Rsa {
            return Err(Error::invalid(
                "this subscription came as a legacy type-1 envelope: its pushes must be signed \
                 with an RSA key (Hash: SAMY), and this identity signs with Ed25519",
            ));
        }
        let entry = self.pushes.entry(nym_id.to_string()).or_insert(PushRoutes {
            seq: 0,
            routes: Vec::new(),
        });
        entry
            .routes
            .retain(|r| !(r.socket == route.socket && r.peer == route.peer));
        if entry.routes.len() >= 1024 {
            return Err(Error::invalid("at most 1024 push routes per NymID"));
        }
        entry.routes.push(PushRoute {
            socket: route.socket,
            peer: route.peer.clone(),
            key: subscriber_enc.to_public(),
            identity: request.identity,
        });
        Ok(())
    }

    /// Sends `content` (signed once per notary identity involved, sealed to each subscriber) to
    /// every live route of `nym_id`, with the NymID's next sequence number. Routes whose client
    /// is gone are dropped; a route whose sealing fails keeps its registration (counted in
    /// `push_failures`) and the others are still served. Returns how many routes it reached (0
    /// when nobody is subscribed). An error (content that cannot be signed, e.g. one a legacy
    /// reader would alter) is returned only when no route could be served; routes stay.
    pub fn push(&mut self, nym_id: &str, content: &[u8]) -> Result<usize> {
        self.check_process()?;
        let Some(entry) = self.pushes.get(nym_id) else {
            return Ok(0);
        };
        // One signature per identity that signs for these routes.
        let mut signed_by: Vec<(usize, Result<String>)> = Vec::new();
        for r in &entry.routes {
            if !signed_by.iter().any(|(i, _)| *i == r.identity) {
                let text = match self.identities.get(r.identity) {
                    Some(ident) => signed::create("MESSAGE", content, &ident.auth, None),
                    None => Err(Error::internal("push route identity missing")),
                };
                signed_by.push((r.identity, text));
            }
        }
        if let Some((_, Err(e))) = signed_by.iter().find(|(_, t)| t.is_err())
            && signed_by.iter().all(|(_, t)| t.is_err())
        {
            return Err(e.clone());
        }
        let Some(entry) = self.pushes.get_mut(nym_id) else {
            return Ok(0);
        };
        entry.seq += 1;
        let seq = entry.seq;
        let routes = std::mem::take(&mut entry.routes);
        let mut kept = Vec::with_capacity(routes.len());
        let mut delivered = 0;
        for r in routes {
            let text = signed_by
                .iter()
                .find(|(i, _)| *i == r.identity)
                .and_then(|(_, t)| t.as_ref().ok());
            let frame = match text.map(|t| seal_signed(t.as_bytes(), Some(&r.key))) {
                Some(Ok(f)) => f,
                _ => {
                    self.stats.push_failures += 1;
                    kept.push(r);
                    continue;
                }
            };
            let mut f = vec![r.peer.clone()];
            f.extend(frames::v2(Command::Push, seq, &frame));
            let b = &self.bound[r.socket];
            if b.worker.is_some() {
                f.insert(0, BROKER_CLIENT.to_vec());
            }
            match b.socket.send_multipart(f, zmq::DONTWAIT) {
                Ok(()) => {
                    delivered += 1;
                    kept.push(r);
                }
                Err(zmq::Error::EHOSTUNREACH) => self.stats.dropped_routes += 1,
                // A slow reader misses this one (its sequence numbers show the gap).
                Err(_) => kept.push(r),
            }
        }
        self.stats.pushes += delivered as u64;
        if let Some(entry) = self.pushes.get_mut(nym_id) {
            entry.routes = kept;
        }
        Ok(delivered)
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
