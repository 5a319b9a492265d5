//! The notary side: a REP endpoint that opens requests and answers them as legacy notaries did.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::frames::{self, BROKER_CLIENT, BROKER_CONTROL, Command, Incoming};
use super::monitor::Monitor;

use super::session::ERROR_REPLY_PREFIX;
use super::{Options, check_bind_endpoint, check_endpoint, context, zmq_err};
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed::{self, SignedText};

/// Where a request came from, so that its reply (and pushes) can go back there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Route {
    /// Index of the notary's bound socket.
    socket: usize,
    /// The ZeroMQ routing id of the peer on that socket, then (legacy REQ_CORRELATE peers) the
    /// rest of the envelope a REP socket would echo.
    peer: Vec<u8>,
    envelope_rest: Vec<Vec<u8>>,
    /// The v2 request id; `None` for a legacy REQ peer.
    v2: Option<u64>,
}

impl Route {
    /// The frames of a legacy reply: the envelope the request came with, the delimiter, the body.
    fn legacy_frames(&self, body: Vec<u8>) -> Vec<Vec<u8>> {
        let mut f = Vec::with_capacity(self.envelope_rest.len() + 3);
        f.push(self.peer.clone());
        f.extend(self.envelope_rest.iter().cloned());
        f.push(Vec::new());
        f.push(body);
        f
    }
}

/// A request received by a notary: opened and parsed, not yet verified. Immutable (it may be read
/// from any thread); answered once with [`Notary::reply`].
pub struct Request {
    id: u64,
    /// Index of the notary identity that opened it (its auth key signs the reply).
    identity: usize,
    /// Whether it came as a legacy (type 0/1) envelope: its reply must then be RSA/SAMY.
    legacy: bool,
    text: Vec<u8>,
    parsed: SignedText,
    route: Option<Route>,
    /// The notary that received it (its tag), so another notary cannot answer it.
    notary: u64,
    replied: AtomicBool,
}

impl std::fmt::Debug for Request {
    // The content stays out of debug output (it is the sender's message).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("len", &self.text.len())
            .finish_non_exhaustive()
    }
}

impl Request {
    /// The signed text as received (after opening the envelope).
    pub fn signed_text(&self) -> &[u8] {
        &self.text
    }

    /// The content **without verification**: enough to read who is asking and pick their key.
    pub fn content_unverified(&self) -> &[u8] {
        &self.parsed.content
    }

    /// The `Hash:` type of the request's signed text (`SAMY`: an RSA signer, `SHA256D`: an
    /// Ed25519 signer), so the application knows which kind of sender key to verify with.
    pub fn hash_type(&self) -> &str {
        &self.parsed.hash_type
    }

    /// Whether the request came in a legacy envelope (type 0/1) rather than type 3.
    pub fn is_legacy_envelope(&self) -> bool {
        self.legacy
    }

    /// Verifies the request's signature with the sender's authentication key; returns the content.
    pub fn verify(&self, sender_auth: &Key) -> Result<&[u8]> {
        self.parsed.verify(sender_auth)
    }
}

/// What a notary does with one raw request frame: cut at the first NUL (the legacy notary read it
/// as a C string), de-armor (data path), parse the envelope, open it as `nym_id` with `enc`, and
/// parse the signed text. Exposed for tests and fuzzing; [`Notary::receive`] uses it.
pub fn open_request_frame(frame: &[u8], nym_id: &str, enc: &Key) -> Result<Request> {
    let frame = &frame[..memchr::memchr(0, frame).unwrap_or(frame.len())];
    let env = Envelope::parse(&armor::decode(frame, Kind::Data)?)?;
    let text = env.open(Some(nym_id), enc)?;
    let parsed = signed::parse(&text)?;
    Ok(Request {
        id: 0,
        identity: 0,
        legacy: env.envelope_type() != 3,
        text,
        parsed,
        route: None,
        notary: 0,
        replied: AtomicBool::new(false),
    })
}

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

/// How many v2 replies the notary keeps to answer resent requests.
const REPLY_CACHE: usize = 4096;

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

/// The push routes of one NymID.
struct PushRoutes {
    /// Sequence number of the last push to this NymID.
    seq: u64,
    /// (socket, routing id) → the subscriber's encryption key.
    routes: Vec<(usize, Vec<u8>, Key)>,
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
pub struct Notary {
    bound: Vec<Bound>,
    opts: Options,
    /// The notary's identities; the first is the one given to [`Notary::bind`].
    identities: Vec<Identity>,
    next_id: u64,
    tag: u64,
    stats: NotaryStats,
    /// v2 requests handed to the application and not answered yet: (socket, peer, request id).
    in_progress: HashSet<(usize, Vec<u8>, u64)>,
    /// Recent v2 replies by (socket, peer, request id), oldest first.
    cache: HashMap<(usize, Vec<u8>, u64), Vec<u8>>,
    cache_order: VecDeque<(usize, Vec<u8>, u64)>,
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
            in_progress: HashSet::new(),
            cache: HashMap::new(),
            cache_order: VecDeque::new(),
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
        opts.apply(&s)?;
        // A reply to a peer that is gone is an error (not silently dropped), and a v2 client
        // that reconnects with its fixed routing id takes its route over.
        s.set_router_mandatory(true)
            .map_err(|e| zmq_err("ZMQ_ROUTER_MANDATORY", e))?;
        s.set_router_handover(true)
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
        let frame = &body[..memchr::memchr(0, body).unwrap_or(body.len())];
        let env = Envelope::parse(&armor::decode(frame, Kind::Data)?)?;
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
        Ok(Request {
            id: 0,
            identity: n,
            legacy: env.envelope_type() != 3,
            text,
            parsed,
            route: None,
            notary: 0,
            replied: AtomicBool::new(false),
        })
    }

    /// The key that signs an answer in the requester's suite: for a legacy (type-1 or
    /// unreadable) request an RSA one, for a type-3 request preferably an Ed25519 one.
    fn signer_for_body(&self, body: &[u8]) -> Option<&Key> {
        let frame = &body[..memchr::memchr(0, body).unwrap_or(body.len())];
        let v3 = armor::decode(frame, Kind::Data).is_ok_and(|b| b.starts_with(&[0, 3]));
        let rsa = self
            .identities
            .iter()
            .find(|i| i.auth.algorithm() == Algorithm::Rsa);
        if !v3 {
            return rsa.map(|i| &i.auth);
        }
        self.identities
            .iter()
            .find(|i| i.auth.algorithm() == Algorithm::Ed25519)
            .or(rsa)
            .map(|i| &i.auth)
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
        opts.apply(&s)?;
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
        self.stats
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
    /// or a signed error `MESSAGE` with `reply_errors`; v2 peers: an `ERR` frame) and its error
    /// returned; nobody else's connection or queued request is touched. Requests may be kept and
    /// answered in any order.
    pub fn receive(&mut self, timeout_ms: i64) -> Result<Request> {
        self.check_process()?;
        let deadline =
            (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        loop {
            self.announce()?;
            if let Some((socket, frames)) = self.try_recv()? {
                if let Some(r) = self.handle(socket, frames)? {
                    return r;
                }
                continue;
            }
            let wait = deadline.map_or(-1, |d| {
                d.saturating_duration_since(Instant::now()).as_millis() as i64
            });
            if deadline.is_some() && wait == 0 {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no request within {timeout_ms} ms"),
                ));
            }
            let mut items: Vec<_> = self
                .bound
                .iter()
                .map(|b| b.socket.as_poll_item(zmq::POLLIN))
                .collect();
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
    fn handle(&mut self, socket: usize, frames: Vec<Vec<u8>>) -> Result<Option<Result<Request>>> {
        match frames::classify(frames) {
            Incoming::Legacy { mut envelope, body } => {
                let peer = envelope.remove(0);
                let route = Route {
                    socket,
                    peer,
                    envelope_rest: envelope,
                    v2: None,
                };
                Ok(Some(self.open(&body, route)))
            }
            Incoming::V2 { peer, msg } => match msg.command {
                Command::Ping => {
                    let mut f = vec![peer];
                    f.extend(frames::v2(Command::Pong, msg.number, b""));
                    let _ = self.send(socket, f); // a vanished prober needs no answer
                    Ok(None)
                }
                _ => {
                    let key = (socket, peer.clone(), msg.number);
                    if let Some(reply) = self.cache.get(&key) {
                        self.stats.duplicates += 1;
                        let mut f = vec![peer];
                        f.extend(frames::v2(Command::Rep, msg.number, reply));
                        let _ = self.send(socket, f);
                        return Ok(None);
                    }
                    if self.in_progress.contains(&key) {
                        self.stats.duplicates += 1;
                        return Ok(None);
                    }
                    let route = Route {
                        socket,
                        peer,
                        envelope_rest: Vec::new(),
                        v2: Some(msg.number),
                    };
                    let r = self.open(&msg.body, route);
                    if r.is_ok() {
                        self.in_progress.insert(key);
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

    /// Opens a request body; on failure answers the requester as configured.
    fn open(&mut self, body: &[u8], route: Route) -> Result<Request> {
        let id = self.next_id;
        self.next_id += 1;
        match self.open_with_identity(body) {
            Ok(mut req) => {
                req.id = id;
                req.route = Some(route);
                req.notary = self.tag;
                self.stats.requests += 1;
                Ok(req)
            }
            Err(e) => {
                self.stats.rejected += 1;
                let reason = match e.kind() {
                    ErrorKind::DecryptFailed | ErrorKind::NoMatchingRecipient => {
                        "the request could not be opened with this notary's key"
                    }
                    _ => "the request is not a sealed, signed OT message",
                };
                match route.v2 {
                    Some(n) => {
                        let mut f = vec![route.peer];
                        f.extend(frames::v2(Command::Err, n, reason.as_bytes()));
                        let _ = self.send(route.socket, f);
                    }
                    None if self.opts.reply_errors => {
                        let content = format!("{ERROR_REPLY_PREFIX}{reason}\"/>\n");
                        // Signed in the requester's suite: a legacy request only ever gets an
                        // RSA/SAMY answer, or none if the notary has no RSA identity.
                        if let Some(signer) = self.signer_for_body(body)
                            && let Ok(frame) =
                                signed::create("MESSAGE", content.as_bytes(), signer, None)
                                    .and_then(|t| {
                                        armor::encode_bookended(
                                            t.as_bytes(),
                                            Kind::String,
                                            "MESSAGE",
                                            false,
                                        )
                                    })
                        {
                            let _ =
                                self.send(route.socket, route.legacy_frames(frame.into_bytes()));
                        }
                    }
                    // Legacy: no reply for that requester only; its REQ socket times out.
                    None => {}
                }
                Err(e)
            }
        }
    }

    fn reply_frame(&self, auth: &Key, content: &[u8], recipient: Option<&Key>) -> Result<Vec<u8>> {
        let text = signed::create("MESSAGE", content, auth, None)?;
        Ok(match recipient {
            Some(k) => Envelope::seal(&[Recipient { nym_id: "", key: k }], text.as_bytes())?
                .to_armor(true)?,
            None => armor::encode_bookended(text.as_bytes(), Kind::String, "MESSAGE", false)?,
        }
        .into_bytes())
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
            Some(n) => {
                let key = (route.socket, route.peer.clone(), n);
                self.in_progress.remove(&key);
                let mut f = vec![route.peer.clone()];
                f.extend(frames::v2(Command::Rep, n, &frame));
                // Cached even when the client is gone now: it resends after reconnecting.
                self.cache.insert(key.clone(), frame);
                self.cache_order.push_back(key);
                while self.cache_order.len() > REPLY_CACHE {
                    if let Some(old) = self.cache_order.pop_front() {
                        self.cache.remove(&old);
                    }
                }
                self.send(route.socket, f)
            }
        };
        if sent.is_ok() {
            self.stats.replies += 1;
        }
        sent
    }

    /// Registers the route `request` came from to receive pushes for `nym_id`, sealed to
    /// `subscriber_enc` (the client's encryption public key). The application calls it after
    /// verifying a subscription request. Only v2 clients can receive pushes (`State` for a legacy
    /// request). Registering the same route again replaces its key.
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
        let entry = self.pushes.entry(nym_id.to_string()).or_insert(PushRoutes {
            seq: 0,
            routes: Vec::new(),
        });
        entry
            .routes
            .retain(|(s, p, _)| !(*s == route.socket && *p == route.peer));
        if entry.routes.len() >= 1024 {
            return Err(Error::invalid("at most 1024 push routes per NymID"));
        }
        entry
            .routes
            .push((route.socket, route.peer.clone(), subscriber_enc.to_public()));
        Ok(())
    }

    fn push_signer(&self, subscriber_enc: &Key) -> &Key {
        let want = if subscriber_enc.algorithm() == Algorithm::X25519 {
            Algorithm::Ed25519
        } else {
            Algorithm::Rsa
        };
        &self
            .identities
            .iter()
            .find(|i| i.auth.algorithm() == want)
            .unwrap_or(&self.identities[0])
            .auth
    }

    /// Sends `content` (signed by the notary, sealed to each subscriber) to every live route of
    /// `nym_id`, with the NymID's next sequence number. Routes whose client is gone are dropped.
    /// Returns how many routes it reached (0 when nobody is subscribed).
    pub fn push(&mut self, nym_id: &str, content: &[u8]) -> Result<usize> {
        self.check_process()?;
        let Some(entry) = self.pushes.get_mut(nym_id) else {
            return Ok(0);
        };
        entry.seq += 1;
        let seq = entry.seq;
        let routes = std::mem::take(&mut entry.routes);
        let mut kept = Vec::with_capacity(routes.len());
        let mut delivered = 0;
        for (socket, peer, key) in routes {
            // Signed in the subscriber's suite where the notary has one.
            let signer = self.push_signer(&key);
            let frame = self.reply_frame(signer, content, Some(&key))?;
            let mut f = vec![peer.clone()];
            f.extend(frames::v2(Command::Push, seq, &frame));
            let b = &self.bound[socket];
            if b.worker.is_some() {
                f.insert(0, BROKER_CLIENT.to_vec());
            }
            match b.socket.send_multipart(f, zmq::DONTWAIT) {
                Ok(()) => {
                    delivered += 1;
                    kept.push((socket, peer, key));
                }
                Err(zmq::Error::EHOSTUNREACH) => self.stats.dropped_routes += 1,
                // A slow reader misses this one (its sequence numbers show the gap).
                Err(_) => kept.push((socket, peer, key)),
            }
        }
        self.stats.pushes += delivered as u64;
        if let Some(entry) = self.pushes.get_mut(nym_id) {
            entry.routes = kept;
        }
        Ok(delivered)
    }
}
