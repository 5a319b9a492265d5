//! The notary side: ROUTER endpoints that open requests and answer them as legacy notaries did,
//! and serve v2 clients (pipelined requests, idempotent resends, pushes).
//!
//! The notary is an **actor**: its sockets belong to a thread of its own ([`actor`]), which
//! answers probes, resends from the reply cache and unreadable requests, watches connections and
//! keeps every timer, whatever the application is doing. Requests reach the application through
//! a bounded queue; any number of application threads may call [`Notary::receive`],
//! [`Notary::reply`] and [`Notary::push`] at once (opening a request, signing and sealing a reply
//! run in the calling thread, so a notary uses every core without a broker).
//!
//! * [`actor`]: the thread that owns the sockets; [`conns`]: the connections it watches;
//! * [`listen`]: bound ROUTER sockets; [`worker`]: worker mode (connected to a broker);
//! * [`identities`]: the notary's identities, and opening a request with the one it names;
//! * [`request`]: the request handed to the application, its route, the uniform answer;
//! * [`reply_book`]: requests in progress, the reply cache and its bounds;
//! * [`answers`]: the uniform answers to unreadable requests, queued for their time;
//! * [`push`]: push streams and their delivery.

mod actor;
mod answers;
mod conns;
mod curve;
mod identities;
mod listen;
mod push;
mod reply_book;
mod request;
mod worker;
pub use curve::KEYS_FLAG;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Options;
use super::signal::Signal;
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed;

use actor::Cmd;
use identities::Identity;
use push::Streams;
use request::Route;
pub use request::{Request, UNREADABLE, open_request_frame, unreadable_answer_delay};

/// The reason sent when a resent request's reply is no longer kept (evicted or expired): the
/// request was handled once and is not handed to the application again.
pub const REPLY_NOT_KEPT: &str = "this request was answered, and its reply is no longer kept";
/// The reason sent when a connection has too many requests in progress (see the README).
pub const BUSY: &str = "too many requests in progress from this connection: wait for replies";
/// The reason sent to a v2 request on a plain endpoint whose options set `require_curve`.
pub const CURVE_REQUIRED: &str =
    "this notary takes v2 requests over CURVE only: ask for its transport key (PING)";
/// The reason sent when the application's queue is full (it is not keeping up).
pub const OVERLOADED: &str = "the notary is overloaded: try again later";

/// Requests waiting for the application: at most this many, and at most `INBOX_BYTES` bytes.
/// Beyond, a v2 request gets `ERR` [`OVERLOADED`] at once and a legacy one is dropped (its client
/// resends); both are counted (`overloaded`).
pub const INBOX_REQUESTS: usize = 4096;
/// See [`INBOX_REQUESTS`].
pub const INBOX_BYTES: usize = 64 << 20;
/// What one connection may have waiting for the application, in bytes (beyond: as
/// [`INBOX_REQUESTS`]); with libzmq's own receive budget, bounds what one connection parks.
pub const INBOX_BYTES_PER_PEER: usize = 16 << 20;

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
    /// Probes (`PING`) answered.
    pub pongs: u64,
    /// Requests refused because the application's queue was full.
    pub overloaded: u64,
    /// Connections closed by the notary: silent for too long, or never sent anything.
    pub reaped: u64,
    /// v2 requests received on CURVE endpoints ([`Notary::bind_curve`]).
    pub requests_curve: u64,
    /// v2 requests refused on a plain endpoint with `require_curve` (`ERR` [`CURVE_REQUIRED`]).
    pub curve_required: u64,
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
    "pongs",
    "overloaded",
    "reaped",
    "connections",
    "queued_requests",
    "requests_curve",
    "curve_required",
];

/// What the actor reports besides the counters (gauges, read by [`Notary::counter`]).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Gauges {
    in_progress: u64,
    cached_replies: u64,
    cached_bytes: u64,
    pending_answers: u64,
    connections: u64,
}

/// A raw request on its way to the application.
pub(crate) struct Raw {
    route: Route,
    body: Vec<u8>,
    received: Instant,
}

/// Requests waiting for the application.
#[derive(Default)]
struct Inbox {
    queue: VecDeque<Raw>,
    bytes: usize,
    /// Bytes waiting per connection (socket, routing id).
    per_peer: HashMap<(usize, Vec<u8>), usize>,
}

impl Inbox {
    fn pop(&mut self) -> Option<Raw> {
        let raw = self.queue.pop_front()?;
        self.bytes -= raw.body.len();
        let peer = (raw.route.socket, raw.route.peer.clone());
        if let Some(n) = self.per_peer.get_mut(&peer) {
            *n -= raw.body.len();
            if *n == 0 {
                self.per_peer.remove(&peer);
            }
        }
        Some(raw)
    }
}

/// What the application threads and the actor share.
pub(crate) struct Core {
    tag: u64,
    /// Random at start: a push stream restarts with a new epoch when the notary does.
    epoch: u64,
    opts: Options,
    identities: RwLock<Vec<Identity>>,
    inbox: Mutex<Inbox>,
    inbox_cv: Condvar,
    /// Readable exactly while requests wait (the application's event-loop descriptor).
    ready: Signal,
    commands: Mutex<VecDeque<Cmd>>,
    /// Wakes the actor.
    wake: Signal,
    stats: Mutex<NotaryStats>,
    gauges: Mutex<Gauges>,
    endpoints: Mutex<Vec<String>>,
    /// The signed `reply_errors` answer, made once per suite (legacy RSA, v3).
    signed_unreadable: Mutex<[Option<Vec<u8>>; 2]>,
    next_id: AtomicU64,
    streams: Mutex<Streams>,
    /// The actor has stopped (the notary is being dropped, or its loop failed).
    stopped: AtomicBool,
    /// The transport key of the CURVE endpoints and its signed documents ([`curve`]).
    transport: Mutex<Option<curve::TransportKey>>,
    /// Keys this notary vouches for (its broker's CURVE frontend).
    vouched: Mutex<Vec<curve::Vouched>>,
    /// The ZAP domains of the CURVE endpoints (dropped with the notary).
    domains: Mutex<Vec<crate::transport::zap::Domain>>,
}

impl Core {
    fn stats(&self) -> std::sync::MutexGuard<'_, NotaryStats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a command to the actor and wakes it.
    fn command(&self, cmd: Cmd) {
        self.commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(cmd);
        self.wake.raise();
    }

    /// Hands a command to the actor and waits for its answer.
    fn call<T>(&self, make: impl FnOnce(mpsc::SyncSender<T>) -> Cmd) -> Result<T> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(stopped());
        }
        let (tx, rx) = mpsc::sync_channel(1);
        self.command(make(tx));
        rx.recv().map_err(|_| stopped())
    }

    /// How long the oldest request waiting for the application has waited (`None`: none waits).
    fn oldest_waiting(&self) -> Option<Duration> {
        let inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
        inbox.queue.front().map(|r| r.received.elapsed())
    }

    /// Queues a raw request for the application (the actor calls it): `false` when full.
    fn deliver(&self, raw: Raw) -> bool {
        let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
        let peer = (raw.route.socket, raw.route.peer.clone());
        let mine = inbox.per_peer.get(&peer).copied().unwrap_or(0);
        if inbox.queue.len() >= INBOX_REQUESTS
            || inbox.bytes + raw.body.len() > INBOX_BYTES
            || mine + raw.body.len() > INBOX_BYTES_PER_PEER
        {
            return false;
        }
        inbox.bytes += raw.body.len();
        *inbox.per_peer.entry(peer).or_insert(0) += raw.body.len();
        inbox.queue.push_back(raw);
        if inbox.queue.len() == 1 {
            self.ready.raise();
        }
        drop(inbox);
        self.inbox_cv.notify_one();
        true
    }
}

fn stopped() -> Error {
    Error::new(
        ErrorKind::Transport,
        "the notary's thread has stopped: create a new notary",
    )
}

/// A notary endpoint: ROUTER sockets that serve legacy REQ clients exactly as a legacy REP
/// notary did, and v2 DEALER clients (pipelined requests, idempotent resends, pushes). Shareable:
/// any number of threads may receive, reply and push at once (see the module docs).
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
/// "Reliability"); connections that never send, and v2 connections that fall silent, are closed.
pub struct Notary {
    core: Arc<Core>,
    actor: Mutex<Option<JoinHandle<()>>>,
    /// The process that created the notary: its sockets are useless in a forked child.
    pid: u32,
}

impl Drop for Notary {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // In a forked child the actor thread does not exist: nothing to stop, and the
            // parent's sockets are never closed here.
            return;
        }
        self.core.command(Cmd::Stop);
        let handle = self.actor.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Notary {
    /// A notary with its first identity and no endpoint yet, its actor started.
    fn unbound(auth: &Key, enc: &Key, nym_id: &str, opts: &Options) -> Result<Notary> {
        let first = identities::check_identity(auth, enc, nym_id)?;
        static TAGS: AtomicU64 = AtomicU64::new(1);
        let mut epoch = [0u8; 8];
        crate::rng::fill(&mut epoch)?;
        let core = Arc::new(Core {
            tag: TAGS.fetch_add(1, Ordering::Relaxed),
            epoch: u64::from_be_bytes(epoch),
            opts: opts.clone(),
            identities: RwLock::new(vec![first]),
            inbox: Mutex::new(Inbox::default()),
            inbox_cv: Condvar::new(),
            ready: Signal::new()?,
            commands: Mutex::new(VecDeque::new()),
            wake: Signal::new()?,
            stats: Mutex::new(NotaryStats::default()),
            gauges: Mutex::new(Gauges::default()),
            endpoints: Mutex::new(Vec::new()),
            signed_unreadable: Mutex::new([None, None]),
            next_id: AtomicU64::new(1),
            streams: Mutex::new(Streams::default()),
            stopped: AtomicBool::new(false),
            transport: Mutex::new(None),
            domains: Mutex::new(Vec::new()),
            vouched: Mutex::new(Vec::new()),
        });
        let actor = actor::start(core.clone())?;
        Ok(Notary {
            core,
            actor: Mutex::new(Some(actor)),
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
    pub fn endpoint(&self) -> String {
        self.endpoints().into_iter().next().unwrap_or_default()
    }

    /// Every bound endpoint, in the order they were added.
    pub fn endpoints(&self) -> Vec<String> {
        self.core
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The notary's counters.
    pub fn stats(&self) -> NotaryStats {
        *self.core.stats()
    }

    /// One counter by name ([`NOTARY_COUNTERS`]): the [`NotaryStats`] fields, and the gauges
    /// `in_progress`, `cached_replies`, `cached_bytes`, `pending_answers`, `connections` (open
    /// connections on the bound endpoints) and `queued_requests` (waiting for the application).
    pub fn counter(&self, name: &str) -> Option<u64> {
        let s = self.stats();
        let g = *self.core.gauges.lock().unwrap_or_else(|p| p.into_inner());
        let queued = self
            .core
            .inbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .queue
            .len() as u64;
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
            "in_progress" => g.in_progress,
            "cached_replies" => g.cached_replies,
            "cached_bytes" => g.cached_bytes,
            "pending_answers" => g.pending_answers,
            "pongs" => s.pongs,
            "overloaded" => s.overloaded,
            "reaped" => s.reaped,
            "connections" => g.connections,
            "queued_requests" => queued,
            "requests_curve" => s.requests_curve,
            "curve_required" => s.curve_required,
            _ => return None,
        })
    }

    /// A descriptor for event loops, readable exactly while requests wait for
    /// [`Notary::receive`] (level-triggered: unlike libzmq's `ZMQ_FD`, it needs no draining
    /// rule; after a `receive` it is readable again only if more requests wait).
    pub fn fd(&self) -> Result<i32> {
        self.check_process()?;
        Ok(self.core.ready.fd())
    }

    /// Waits up to `timeout_ms` (negative: forever) for a request, then de-armors, opens and
    /// parses it in the calling thread. A frame that cannot be read is answered as configured
    /// (legacy peers: no reply, or a signed error `MESSAGE` with `reply_errors`; v2 peers: an
    /// `ERR` frame) — always with the one reason [`UNREADABLE`], at [`unreadable_answer_delay`]
    /// after its arrival — and its error returned; nobody else's connection or queued request is
    /// touched. Requests may be kept and answered in any order, by any thread. Probes, resends,
    /// answers and timers are the actor's: nothing needs the application inside this call.
    pub fn receive(&self, timeout_ms: i64) -> Result<Request> {
        self.check_process()?;
        let deadline =
            (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        let raw = {
            let mut inbox = self.core.inbox.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(raw) = inbox.pop() {
                    if inbox.queue.is_empty() {
                        self.core.ready.clear();
                    }
                    break raw;
                }
                if self.core.stopped.load(Ordering::Acquire) {
                    return Err(stopped());
                }
                let wait = match deadline {
                    None => Duration::from_secs(1),
                    Some(d) => {
                        let left = d.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Err(Error::new(
                                ErrorKind::Timeout,
                                format!("no request within {timeout_ms} ms"),
                            ));
                        }
                        left.min(Duration::from_secs(1))
                    }
                };
                inbox = self
                    .core
                    .inbox_cv
                    .wait_timeout(inbox, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        };
        identities::open(&self.core, raw)
    }

    /// Answers `request` (received by this notary, not answered yet; any order, any thread):
    /// `content` is signed as a `MESSAGE` with the authentication key of the identity that opened
    /// the request, sealed to `recipient` (the client's encryption key: RSA → type 1, X25519 →
    /// type 3) with an empty NymID and sent bookended as `ENVELOPE`; with `None`, sent as the
    /// legacy unencrypted bookended `MESSAGE`. Signing and sealing run in the calling thread.
    /// `Transport` when the requester has disconnected. A request that arrived as type 1 (a
    /// possibly legacy client) is answered only with RSA/SAMY: an identity that signs with
    /// Ed25519 is refused (`InvalidArgument`).
    ///
    /// A v2 reply is also kept for resends (see `reply_book`); if the requester's connection is
    /// gone but it resent the request from a new one, the reply goes there. A reply to a
    /// subscription request (one [`Notary::register_push`] was called with) carries its streams'
    /// epoch and current sequence numbers.
    pub fn reply(&self, request: &Request, content: &[u8], recipient: Option<&Key>) -> Result<()> {
        self.check_process()?;
        let route = match (&request.route, request.notary == self.core.tag) {
            (Some(r), true) => r.clone(),
            _ => {
                return Err(Error::new(
                    ErrorKind::State,
                    "this request was not received by this notary",
                ));
            }
        };
        let auth = {
            let ids = self
                .core
                .identities
                .read()
                .unwrap_or_else(|p| p.into_inner());
            let ident = ids
                .get(request.identity)
                .ok_or_else(|| Error::internal("request identity missing"))?;
            if request.legacy && ident.auth.algorithm() != Algorithm::Rsa {
                return Err(Error::invalid(
                    "this request came as a legacy type-1 envelope: its reply must be signed \
                     with an RSA key (Hash: SAMY), and this identity signs with Ed25519",
                ));
            }
            ident.auth.clone()
        };
        if request.replied.swap(true, Ordering::AcqRel) {
            return Err(Error::new(
                ErrorKind::State,
                "this request was already answered",
            ));
        }
        let frame = match signed::create("MESSAGE", content, &auth, None)
            .and_then(|t| seal_signed(t.as_bytes(), recipient))
        {
            Ok(f) => f,
            Err(e) => {
                request.replied.store(false, Ordering::Release);
                return Err(e);
            }
        };
        let extra = request.stream_frames(self.core.epoch);
        let sent = self.core.call(|done| Cmd::Reply {
            route,
            frame,
            extra,
            done,
        })?;
        if sent.is_ok() {
            self.core.stats().replies += 1;
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
