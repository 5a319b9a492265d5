//! A broker for scaling a notary out: clients (legacy REQ and v2 DEALER) connect to its frontend
//! ROUTER, worker notaries ([`super::Notary::connect`]) to its backend ROUTER, and libzmq moves
//! the frames. Each client message goes to the live worker with the fewest requests outstanding;
//! each worker message goes back to the client it names. Pushes travel the same way: the route a
//! worker registers is the client's frontend routing id, so a worker's `push` reaches the client
//! through the broker (see README, "Scaling out").
//!
//! Frames on the backend (backend protocol 1, both ways; docs/wire-format.md, "Broker ↔ worker"):
//! `[worker id][OTb1][C][client routing id][the client's frames…]` for client traffic,
//! `[worker id][OTb1][B][READY]` (worker → broker, after every connect),
//! `[worker id][OTb1][B][HB]` (worker → broker, every second while its application takes
//! requests) and `[worker id][OTb1][B][PING]` (broker → worker, every 250 ms, so that a dead
//! worker is noticed: libzmq drops the route of a closed or heartbeat-dead connection and the send
//! fails).
//!
//! The broker trusts a worker only for what it handed it: it forwards a worker's answer only to a
//! (client, request) it handed that worker and that is still owed, and a push only on a stream
//! that worker's reply registered; anything else is dropped (`unexpected`). A worker not heard
//! from for 3 s gets no new work (`stalled_workers`) until it is heard again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::frames::{BACKEND_TAG, BROKER_CLIENT, BROKER_CONTROL, TAG};
use super::options::z85_key;
use super::zap::Domain;
use super::{Options, check_bind_endpoint, context, send_parts, zmq_err};
use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// Counters of a broker.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BrokerStats {
    /// Client messages handed to a worker.
    pub requests: u64,
    /// Worker messages handed back to a client (replies, errors, pushes).
    pub replies: u64,
    /// Of those, pushes.
    pub pushes: u64,
    /// Client messages dropped: no worker came within the queue's bounds.
    pub dropped: u64,
    /// Worker messages for clients that are gone.
    pub unroutable: u64,
    /// Workers connected now.
    pub workers: u64,
    /// Workers found dead (their connection closed or stopped answering heartbeats).
    pub dead_workers: u64,
    /// Client messages waiting for a worker now, and their bytes.
    pub queued: u64,
    pub queued_bytes: u64,
    /// Worker messages dropped: an answer to nothing the broker handed that worker (or
    /// answered already), or a push on a stream no reply of that worker registered.
    pub unexpected: u64,
    /// Times a worker stopped receiving work: no `READY`/`HB` for 3 s (a frozen application).
    pub stalled_workers: u64,
    /// Backend messages dropped: not backend protocol 1 (no `OTb1` tag, unknown kind).
    pub refused: u64,
    /// Client messages dropped: neither a v2 `REQ`/`PING` nor a legacy request.
    pub ignored: u64,
    /// Backend handshakes that failed: a peer whose CURVE key is not listed, a peer without
    /// CURVE, a broken greeting (a backend with keys only).
    pub workers_refused: u64,
}

/// The names [`BrokerStats::counter`] knows, in a stable order.
pub const BROKER_COUNTERS: &[&str] = &[
    "requests",
    "replies",
    "pushes",
    "dropped",
    "unroutable",
    "workers",
    "dead_workers",
    "queued",
    "queued_bytes",
    "unexpected",
    "stalled_workers",
    "refused",
    "ignored",
    "workers_refused",
];

impl BrokerStats {
    /// One counter by name ([`BROKER_COUNTERS`]).
    pub fn counter(&self, name: &str) -> Option<u64> {
        Some(match name {
            "requests" => self.requests,
            "replies" => self.replies,
            "pushes" => self.pushes,
            "dropped" => self.dropped,
            "unroutable" => self.unroutable,
            "workers" => self.workers,
            "dead_workers" => self.dead_workers,
            "queued" => self.queued,
            "queued_bytes" => self.queued_bytes,
            "unexpected" => self.unexpected,
            "stalled_workers" => self.stalled_workers,
            "refused" => self.refused,
            "ignored" => self.ignored,
            "workers_refused" => self.workers_refused,
            _ => return None,
        })
    }
}

/// At most this many client messages wait for a worker, and at most `QUEUE_BYTES` bytes; the
/// oldest are dropped beyond (clients resend). The frontend is read even while no worker is
/// connected, so what waits is here, not in libzmq's per-connection pipes (whose budget,
/// `options::RECEIVE_BUDGET`, adds to this bound).
const QUEUE: usize = 10_000;
const QUEUE_BYTES: usize = 16 << 20;

struct Worker {
    id: Vec<u8>,
    /// What it was handed and has not answered yet, and when: (client routing id, what).
    owed: HashMap<(Vec<u8>, Owed), Instant>,
    /// When its last `READY` or `HB` arrived.
    heard: Instant,
    /// When it last answered something it owed.
    answered: Option<Instant>,
    /// Not heard from for [`STALL_AFTER`]: handed no work until it is heard again.
    stalled: bool,
}

/// The broker pings its workers this often (`[OTb1][B][PING]`: a send to a closed or
/// heartbeat-dead connection fails, and the worker is removed).
const PING_EVERY: Duration = Duration::from_millis(250);

/// Most messages read from one socket before they are handled (per round of the loop).
const BATCH: usize = 256;
/// A worker that sent no `READY` or `HB` for this long is stalled (workers send `HB` every
/// second while their application takes requests).
const STALL_AFTER: Duration = Duration::from_secs(3);
/// What a worker owes is forgotten after this long (its reply is then dropped as unexpected;
/// a v2 client resends well before: its whole default schedule is under 52 s).
const OWED_TTL: Duration = Duration::from_secs(120);
/// At most this many requests owed per worker; a worker at the bound is handed nothing more.
const OWED_PER_WORKER: usize = 65_536;
/// At most this many push routes (client, stream) in all; the oldest go first beyond.
const PUSH_ROUTES: usize = 65_536;

/// A running broker (its loop is a background thread). Dropping it stops the loop and closes
/// the sockets within about 20 ms.
pub struct Broker {
    frontend: String,
    backend: String,
    /// The backend's CURVE public key (Z85), when it has one.
    backend_public: Option<String>,
    /// The backend's ZAP domain: the workers it admits.
    domain: Option<Domain>,
    /// Frontends to hand to the loop ([`Broker::bind_curve`]).
    add_front: Arc<Mutex<Vec<AddFront>>>,
    /// The frontend's options (CURVE frontends take them too).
    frontend_opts: Options,
    /// The CURVE frontends: (bound endpoint, public key).
    curve_fronts: Mutex<Vec<(String, String)>>,
    stop: Arc<AtomicU64>,
    stats: Arc<Mutex<BrokerStats>>,
    thread: Option<JoinHandle<()>>,
    pid: u32,
}

/// Who may be a worker on a broker's backend: the backend's CURVE secret key and the workers'
/// CURVE public keys. Every other peer is refused at the handshake (ZAP, RFC 27) and counted
/// (`workers_refused`).
pub struct WorkerKeys {
    secret: Zeroizing<[u8; 32]>,
    workers: HashSet<[u8; 32]>,
}

impl WorkerKeys {
    /// From the backend's secret key and the workers' public keys, all Z85 (40 characters).
    /// An empty list is allowed (workers are added later with [`Broker::allow_worker`]).
    pub fn new(backend_secret_z85: &str, worker_public_z85: &[&str]) -> Result<WorkerKeys> {
        let secret = Zeroizing::new(z85_key(backend_secret_z85, "the backend's secret key")?);
        let mut workers = HashSet::new();
        for (i, w) in worker_public_z85.iter().enumerate() {
            workers.insert(z85_key(w, &format!("worker key {i}"))?);
        }
        if workers.len() > super::zap::MAX_ALLOWED_KEYS {
            return Err(Error::invalid(format!(
                "at most {} worker keys",
                super::zap::MAX_ALLOWED_KEYS
            )));
        }
        Ok(WorkerKeys { secret, workers })
    }
}

/// The largest key file or worker list read (a list of 65 536 keys with names fits).
const KEY_FILE_MAX: u64 = 16 << 20;

/// The lines of a key file that hold something, with their numbers: blank lines and comments
/// (a line whose first non-blank character is `#`; no Z85 key starts with `#`, its largest digit,
/// while one may contain it) skipped, surrounding blanks trimmed.
fn key_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let l = l.trim();
        (!l.is_empty() && !l.starts_with('#')).then_some((i + 1, l))
    })
}

fn read_key_file(path: &std::path::Path, what: &str, secret: bool) -> Result<Zeroizing<String>> {
    use std::io::Read;
    let shown = crate::error::quote(&path.display().to_string());
    let cannot = |e: std::io::Error| Error::invalid(format!("cannot read the {what} {shown}: {e}"));
    let f = std::fs::File::open(path).map_err(cannot)?;
    let meta = f.metadata().map_err(cannot)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::invalid(format!(
                "the {what} {shown} is readable by other users (mode {:o}): it holds a secret \
                 key; chmod 600 it",
                meta.permissions().mode() & 0o777
            )));
        }
    }
    if !meta.is_file() || meta.len() > KEY_FILE_MAX {
        return Err(Error::invalid(format!(
            "the {what} {shown} is not a regular file of at most {} MiB",
            KEY_FILE_MAX >> 20
        )));
    }
    let mut text = Zeroizing::new(String::new());
    f.take(KEY_FILE_MAX + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    Ok(text)
}

impl WorkerKeys {
    /// From files: `key_file` holds the backend's CURVE secret key (Z85, 40 characters) on its
    /// one line that is not blank or a comment (a line starting with `#`), and must not be
    /// readable by other users; `workers_file` holds one worker public key (Z85) per
    /// line, each optionally followed by blanks and a name, comments and blank lines ignored. The `ot-broker` program's
    /// `--key` and `--workers`.
    pub fn from_files(
        key_file: &std::path::Path,
        workers_file: &std::path::Path,
    ) -> Result<WorkerKeys> {
        let key_text = read_key_file(key_file, "key file", true)?;
        let lines: Vec<(usize, &str)> = key_lines(&key_text).collect();
        let [(_, line)] = lines.as_slice() else {
            return Err(Error::invalid(format!(
                "the key file {} must hold exactly one line with the secret key (it has {})",
                crate::error::quote(&key_file.display().to_string()),
                lines.len()
            )));
        };
        let secret = line.split_whitespace().next().unwrap_or("");
        let list = read_key_file(workers_file, "worker list", false)?;
        let source = format!(
            "the worker list {}",
            crate::error::quote(&workers_file.display().to_string())
        );
        WorkerKeys::from_list(secret, &list, &source)
    }

    /// From the backend's secret key (Z85) and a worker list as text: one worker public key
    /// (Z85) per line, each optionally followed by blanks and a name; blank lines and comments
    /// (lines starting with `#`) ignored. `source` names the list in errors ("the worker list F").
    pub fn from_list(backend_secret_z85: &str, list: &str, source: &str) -> Result<WorkerKeys> {
        let mut keys = Vec::new();
        for (n, line) in key_lines(list) {
            let key = line.split_whitespace().next().unwrap_or("");
            z85_key(key, &format!("the key on line {n} of {source}"))?;
            keys.push(key);
        }
        WorkerKeys::new(backend_secret_z85, &keys)
    }
}

/// Whether a backend endpoint is reachable only from this process (`inproc://`) or through the
/// file system's permissions (`ipc://`): the only backends that may go without [`WorkerKeys`].
fn local_endpoint(ep: &str) -> bool {
    ep.starts_with("inproc://") || ep.starts_with("ipc://")
}

impl Broker {
    /// Binds `frontend` (clients) and `backend` (workers) and starts the loop, for a backend that
    /// only local peers can reach (`inproc://`, or `ipc://` protected by the file system's
    /// permissions); a network backend needs [`Broker::with_workers`] and is refused here. `opts`
    /// gives the frontend's socket options (e.g. CURVE, max_message_size); the backend always
    /// runs ZMTP heartbeats (1 s, 3 s timeout) so that a worker on a dead machine is dropped.
    pub fn new(frontend: &str, backend: &str, opts: &Options) -> Result<Broker> {
        check_bind_endpoint(backend)?;
        if !local_endpoint(backend) {
            return Err(Error::invalid(format!(
                "the broker backend {} is on the network: it admits only listed workers, so \
                 give it a CURVE secret key and the workers' public keys (only inproc:// and \
                 ipc:// backends may go without)",
                crate::error::quote(backend)
            )));
        }
        Broker::start(frontend, backend, opts, None)
    }

    /// [`Broker::new`] with a CURVE backend that admits only the listed workers: a worker
    /// connects with a CURVE client key pair whose public key is listed, and the backend's public
    /// key ([`Broker::backend_public`]) as the server key. Any backend endpoint.
    pub fn with_workers(
        frontend: &str,
        backend: &str,
        opts: &Options,
        keys: WorkerKeys,
    ) -> Result<Broker> {
        Broker::start(frontend, backend, opts, Some(keys))
    }

    fn start(
        frontend: &str,
        backend: &str,
        opts: &Options,
        keys: Option<WorkerKeys>,
    ) -> Result<Broker> {
        check_bind_endpoint(frontend)?;
        check_bind_endpoint(backend)?;
        let ctx = context();
        let front = ctx
            .socket(zmq::ROUTER)
            .map_err(|e| zmq_err("creating the frontend", e))?;
        let opts = opts.for_listener();
        opts.apply_listener(&front)?;
        front
            .set_router_mandatory(true)
            .map_err(|e| zmq_err("ZMQ_ROUTER_MANDATORY", e))?;
        // No handover: a routing id in use cannot be taken over by another connection.
        front
            .set_router_handover(false)
            .map_err(|e| zmq_err("ZMQ_ROUTER_HANDOVER", e))?;
        front
            .bind(frontend)
            .map_err(|e| zmq_err(&format!("binding {}", crate::error::quote(frontend)), e))?;
        let back = ctx
            .socket(zmq::ROUTER)
            .map_err(|e| zmq_err("creating the backend", e))?;
        let mut backend_opts = Options {
            heartbeat_ivl_ms: 1_000,
            heartbeat_timeout_ms: 3_000,
            curve: None,
            ..opts.clone()
        };
        let mut domain = None;
        let mut backend_public = None;
        if let Some(k) = keys {
            let secret = super::z85::encode(&k.secret[..])?;
            backend_opts.set_curve_server(&secret)?;
            backend_public = Some(super::options::curve_public(&secret)?);
            let d = Domain::new(Some(k.workers))?;
            back.set_zap_domain(d.name())
                .map_err(|e| zmq_err("ZMQ_ZAP_DOMAIN", e))?;
            domain = Some(d);
        }
        let handshakes = match domain {
            Some(_) => Some(Handshakes::attach(&back)?),
            None => None,
        };
        backend_opts.apply_listener(&back)?;
        back.set_router_mandatory(true)
            .map_err(|e| zmq_err("ZMQ_ROUTER_MANDATORY", e))?;
        back.set_router_handover(false)
            .map_err(|e| zmq_err("ZMQ_ROUTER_HANDOVER", e))?;
        back.bind(backend)
            .map_err(|e| zmq_err(&format!("binding {}", crate::error::quote(backend)), e))?;
        let last = |s: &zmq::Socket, fallback: &str| match s.get_last_endpoint() {
            Ok(Ok(e)) => e,
            _ => fallback.to_string(),
        };
        let (fe, be) = (last(&front, frontend), last(&back, backend));
        let stop = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(Mutex::new(BrokerStats::default()));
        let (stop2, stats2) = (stop.clone(), stats.clone());
        let add_front = Arc::new(Mutex::new(Vec::new()));
        let add_front2 = add_front.clone();
        let thread = std::thread::Builder::new()
            .name("ot-broker".into())
            .spawn(move || {
                Loop::new(front, back, handshakes, add_front2).run(&stop2, &stats2);
            })
            .map_err(|e| Error::internal(format!("starting the broker thread: {e}")))?;
        Ok(Broker {
            frontend: fe,
            backend: be,
            backend_public,
            domain,
            add_front,
            frontend_opts: opts.clone(),
            curve_fronts: Mutex::new(Vec::new()),
            stop,
            stats,
            thread: Some(thread),
            pid: std::process::id(),
        })
    }

    /// The bound frontend endpoint (wildcard port resolved).
    pub fn frontend(&self) -> &str {
        &self.frontend
    }

    /// The bound backend endpoint (wildcard port resolved).
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The backend's CURVE public key (Z85, for the workers' options), or `None` for a local
    /// backend without keys.
    pub fn backend_public(&self) -> Option<&str> {
        self.backend_public.as_deref()
    }

    /// Adds a worker's CURVE public key (Z85) to the backend's allow-list; it is admitted from
    /// its next handshake. Refused for a backend without keys.
    pub fn allow_worker(&self, public_z85: &str) -> Result<()> {
        let key = z85_key(public_z85, "the worker's public key")?;
        match &self.domain {
            Some(d) => d.allow(key),
            None => Err(Error::invalid(
                "this broker's backend has no CURVE keys: it has no allow-list",
            )),
        }
    }

    /// Adds a frontend on `endpoint` with CURVE only, under `secret_z85` (a CURVE secret key,
    /// Z85; `None`: one is generated): clients that know its public key (from the transport-key
    /// document the notary's workers sign for it, [`Notary::vouch_transport_key`]) connect
    /// there. Returns the bound endpoint and the public key (Z85).
    ///
    /// [`Notary::vouch_transport_key`]: crate::transport::Notary::vouch_transport_key
    pub fn bind_curve(&self, endpoint: &str, secret_z85: Option<&str>) -> Result<(String, String)> {
        check_bind_endpoint(endpoint)?;
        let mut fronts = self.curve_fronts.lock().unwrap_or_else(|p| p.into_inner());
        if fronts.len() + 1 >= MAX_FRONTENDS {
            return Err(Error::invalid(format!(
                "a broker has at most {MAX_FRONTENDS} frontends"
            )));
        }
        let secret = match secret_z85 {
            Some(s) => Zeroizing::new(s.to_string()),
            None => super::curve_keypair()?.1,
        };
        let public = super::options::curve_public(&secret)?;
        let mut o = self.frontend_opts.clone();
        o.set_curve_server(&secret)?;
        let s = context()
            .socket(zmq::ROUTER)
            .map_err(|e| zmq_err("creating the frontend", e))?;
        o.apply_listener(&s)?;
        s.set_router_mandatory(true)
            .map_err(|e| zmq_err("ZMQ_ROUTER_MANDATORY", e))?;
        s.set_router_handover(false)
            .map_err(|e| zmq_err("ZMQ_ROUTER_HANDOVER", e))?;
        s.bind(endpoint)
            .map_err(|e| zmq_err(&format!("binding {}", crate::error::quote(endpoint)), e))?;
        let bound = match s.get_last_endpoint() {
            Ok(Ok(e)) => e,
            _ => endpoint.to_string(),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.add_front
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(AddFront {
                socket: s,
                done: tx,
            });
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| Error::internal("the broker's loop did not take the frontend"))?;
        fronts.push((bound.clone(), public.clone()));
        Ok((bound, public))
    }

    /// The CURVE frontends: (bound endpoint, public key Z85), in the order they were bound.
    pub fn curve_frontends(&self) -> Vec<(String, String)> {
        self.curve_fronts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The broker's counters (`workers` = live workers now).
    pub fn stats(&self) -> BrokerStats {
        *self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop.store(1, Ordering::Release);
        if let Some(t) = self
            .thread
            .take()
            .filter(|_| self.pid == std::process::id())
        {
            let _ = t.join();
        }
    }
}

/// Counts the backend's failed handshakes (a key not on the list, a peer without CURVE, a
/// broken greeting) through a libzmq socket monitor.
struct Handshakes {
    pair: zmq::Socket,
}

impl Handshakes {
    fn attach(socket: &zmq::Socket) -> Result<Handshakes> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let ep = format!(
            "inproc://ot-broker-handshakes-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let events = zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL.to_raw()
            | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL.to_raw()
            | zmq::SocketEvent::HANDSHAKE_FAILED_AUTH.to_raw();
        socket
            .monitor(&ep, i32::from(events))
            .map_err(|e| zmq_err("zmq_socket_monitor", e))?;
        let pair = context()
            .socket(zmq::PAIR)
            .map_err(|e| zmq_err("creating the monitor socket", e))?;
        pair.set_linger(0).map_err(|e| zmq_err("ZMQ_LINGER", e))?;
        pair.connect(&ep)
            .map_err(|e| zmq_err("connecting the monitor socket", e))?;
        Ok(Handshakes { pair })
    }

    /// Failed handshakes reported since the last call.
    fn drain(&self) -> u64 {
        let mut n = 0;
        while let Ok(parts) = self.pair.recv_multipart(zmq::DONTWAIT) {
            n += u64::from(parts.first().is_some_and(|f| f.len() >= 2));
        }
        n
    }

    /// Stops the monitor before its socket closes (see [`super::monitor::Monitor::detach`]).
    fn detach(&self, socket: &zmq::Socket) {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let ep = format!(
            "inproc://ot-broker-monitor-off-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let _ = socket.monitor(&ep, 0);
        self.drain();
    }
}

/// A frontend socket handed to the broker's loop while it runs ([`Broker::bind_curve`]).
struct AddFront {
    socket: zmq::Socket,
    done: std::sync::mpsc::SyncSender<()>,
}

/// Most frontends one broker has: its plain one and up to 15 CURVE ones (one byte names each in
/// the client id a worker sees).
const MAX_FRONTENDS: usize = 16;

struct Loop {
    /// The frontends: the plain one given at creation first, then CURVE ones. A client's id on
    /// the backend is the frontend's index (one byte) followed by its routing id there.
    fronts: Vec<zmq::Socket>,
    add_front: Arc<Mutex<Vec<AddFront>>>,
    back: zmq::Socket,
    handshakes: Option<Handshakes>,
    workers: Vec<Worker>,
    queue: VecDeque<Frames>,
    queued_bytes: usize,
    /// Push routes: (client routing id, stream) → the worker whose reply registered it.
    streams: HashMap<PushRoute, (Vec<u8>, u64)>,
    /// Their order, oldest first, for eviction beyond [`PUSH_ROUTES`] (entries replaced since
    /// are skipped by their generation).
    stream_order: VecDeque<(PushRoute, u64)>,
    generation: u64,
    stats: BrokerStats,
    /// Messages read from one socket and not handled yet (kept to reuse its allocation).
    batch: Vec<Frames>,
    /// Workers already tried for the message being handed (kept to reuse its allocation).
    tried: Vec<bool>,
    /// Answers checked and due to a frontend (its index, whether a push), sent together once
    /// the batch they came in is handled.
    out: Vec<(usize, bool, Frames)>,
}

/// A message's frames as libzmq delivered them: the broker forwards them by moving them (no
/// copy, no allocation for the small ones, which live inside the message), as `zmq_proxy` does.
type Frames = Vec<zmq::Message>;

/// Receives one whole message as [`Frames`].
fn recv_message(socket: &zmq::Socket) -> zmq::Result<Frames> {
    let mut parts = Vec::with_capacity(8);
    loop {
        let mut m = zmq::Message::new();
        socket.recv(&mut m, zmq::DONTWAIT)?;
        let more = m.get_more();
        parts.push(m);
        if !more {
            return Ok(parts);
        }
    }
}

/// Sends `head` (copied) then `frames` (moved) as one message. Once libzmq took the first
/// frame it takes the rest (a ROUTER checks the route and its queue on the first frame only).
fn send_message(socket: &zmq::Socket, head: &[&[u8]], frames: Frames) -> zmq::Result<()> {
    let n = frames.len();
    for (i, h) in head.iter().enumerate() {
        let more = if i + 1 < head.len() || n > 0 {
            zmq::SNDMORE
        } else {
            0
        };
        socket.send(*h, zmq::DONTWAIT | more)?;
    }
    for (i, m) in frames.into_iter().enumerate() {
        let more = if i + 1 < n { zmq::SNDMORE } else { 0 };
        socket.send(m, zmq::DONTWAIT | more)?;
    }
    Ok(())
}

/// (client routing id, stream): where a push may go, and from which worker.
type PushRoute = (Vec<u8>, Vec<u8>);

/// What a worker was handed and owes an answer to (its key: the client and this).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owed {
    /// A v2 `REQ` (answered by `REP` or `ERR` with its id).
    Request(u64),
    /// A v2 `PING` (answered by `PONG`).
    Probe(u64),
    /// A legacy request: the frames between the routing id and the delimiter (a
    /// `REQ_CORRELATE` peer's request id), which its reply carries back.
    Legacy(Vec<Vec<u8>>),
}

/// What a client message owes, or `None` for a message no notary answers (it is dropped).
fn owed_by_client(f: &[zmq::Message]) -> Option<Owed> {
    // f = [client id, …]
    if f.get(1).map(|x| &x[..]) == Some(TAG) {
        let id = f.get(3).and_then(|n| <[u8; 8]>::try_from(&n[..]).ok());
        match (f.get(2).map(|x| &x[..]), id, f.len()) {
            (Some(b"REQ"), Some(id), 5) => return Some(Owed::Request(u64::from_be_bytes(id))),
            (Some(b"PING"), Some(id), 4) => return Some(Owed::Probe(u64::from_be_bytes(id))),
            _ => {}
        }
    }
    legacy_envelope(f).map(Owed::Legacy)
}

/// A legacy message `[client id, 0–3 frames, "", body]`: the frames before the delimiter.
fn legacy_envelope(f: &[zmq::Message]) -> Option<Vec<Vec<u8>>> {
    let d = f.iter().skip(1).position(|x| x.is_empty())? + 1;
    ((1..=4).contains(&d) && f.len() == d + 2).then(|| f[1..d].iter().map(|x| x.to_vec()).collect())
}

/// A worker's message for a client `[client id, …]`: what it answers, or the stream a `PUSH`
/// is on.
enum Answer {
    Owed(Owed),
    Push(Vec<u8>),
}

fn answer_of(f: &[zmq::Message]) -> Option<Answer> {
    if f.get(1).map(|x| &x[..]) == Some(TAG) {
        let id = u64::from_be_bytes(f.get(3)?[..].try_into().ok()?);
        return match &f.get(2)?[..] {
            b"REP" | b"ERR" => Some(Answer::Owed(Owed::Request(id))),
            b"PONG" => Some(Answer::Owed(Owed::Probe(id))),
            b"PUSH" if f.len() == 7 => Some(Answer::Push(f[5].to_vec())),
            _ => None,
        };
    }
    legacy_envelope(f).map(|e| Answer::Owed(Owed::Legacy(e)))
}

impl Loop {
    fn new(
        front: zmq::Socket,
        back: zmq::Socket,
        handshakes: Option<Handshakes>,
        add_front: Arc<Mutex<Vec<AddFront>>>,
    ) -> Loop {
        Loop {
            fronts: vec![front],
            add_front,
            back,
            handshakes,
            workers: Vec::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            streams: HashMap::new(),
            stream_order: VecDeque::new(),
            generation: 0,
            stats: BrokerStats::default(),
            batch: Vec::with_capacity(BATCH),
            tried: Vec::new(),
            out: Vec::with_capacity(BATCH),
        }
    }

    fn run(&mut self, stop: &AtomicU64, shared: &Mutex<BrokerStats>) {
        let mut next_ping = Instant::now();
        while stop.load(Ordering::Acquire) == 0 {
            if let Some(h) = &self.handshakes {
                self.stats.workers_refused += h.drain();
            }
            for a in self
                .add_front
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .drain(..)
            {
                self.fronts.push(a.socket);
                let _ = a.done.send(());
            }
            let mut items: Vec<zmq::PollItem> = Vec::with_capacity(1 + self.fronts.len());
            items.push(self.back.as_poll_item(zmq::POLLIN));
            items.extend(self.fronts.iter().map(|s| s.as_poll_item(zmq::POLLIN)));
            // Clients are read whether or not a worker is there: what waits for a worker waits
            // in the broker's bounded queue, not in libzmq's per-connection pipes (a connection
            // whose pipe is full stops being read, and libzmq 4.3 aborts the process when such a
            // connection is reset with a heartbeat still in its buffer).
            let _ = zmq::poll(&mut items, 20);
            let now = Instant::now();
            // Each side is read in a batch first and then handled: the sends that handling makes
            // follow each other closely, so libzmq's I/O thread finds several messages to write
            // per wakeup (one send(2) for many) instead of racing the broker one message at a
            // time (bench_forward: 1.6 sendto and 9.7 poll calls per forwarded reply before).
            let mut batch = std::mem::take(&mut self.batch);
            while batch.len() < BATCH {
                match recv_message(&self.back) {
                    Ok(f) => batch.push(f),
                    Err(_) => break,
                }
            }
            for f in batch.drain(..) {
                self.on_worker_message(f, now);
            }
            self.send_answers();
            if self.workers.iter().any(|w| !w.stalled) {
                while let Some(f) = self.queue.pop_front() {
                    self.queued_bytes -= size_of_frames(&f);
                    if !self.hand_to_worker(f, now) {
                        break;
                    }
                }
            }
            for i in 0..self.fronts.len() {
                while batch.len() < BATCH {
                    match recv_message(&self.fronts[i]) {
                        Ok(f) => batch.push(f),
                        Err(_) => break,
                    }
                }
                for mut f in batch.drain(..) {
                    if f.len() < 2 {
                        continue;
                    }
                    // The client id the workers see: this frontend's index, then the routing id
                    // (libzmq's routing ids are at most 255 bytes).
                    let mut id = [0u8; 256];
                    let n = f[0].len().min(255);
                    id[0] = i as u8;
                    id[1..=n].copy_from_slice(&f[0][..n]);
                    f[0] = zmq::Message::from(&id[..=n]);
                    // With no live worker this queues it (bounded: the oldest dropped beyond).
                    self.hand_to_worker(f, now);
                }
            }
            self.batch = batch;
            if now >= next_ping {
                next_ping = now + PING_EVERY;
                self.ping_workers();
                self.check_workers(now);
            }
            self.stats.workers = self.workers.len() as u64;
            self.stats.queued = self.queue.len() as u64;
            self.stats.queued_bytes = self.queued_bytes as u64;
            *shared.lock().unwrap_or_else(|p| p.into_inner()) = self.stats;
        }
        if let Some(h) = &self.handshakes {
            h.detach(&self.back);
        }
    }

    fn worker(&mut self, wid: &[u8]) -> Option<&mut Worker> {
        self.workers.iter_mut().find(|w| w.id == wid)
    }

    fn on_worker_message(&mut self, mut f: Frames, now: Instant) {
        // [worker id, OTb1, B|C, …]
        if f.len() < 4 || &f[1][..] != BACKEND_TAG {
            self.stats.refused += 1;
            return;
        }
        if &f[2][..] == BROKER_CONTROL {
            match &f[3][..] {
                b"READY" | b"HB" if f.len() == 4 => {
                    if let Some(w) = self.worker(&f[0]) {
                        w.heard = now;
                        w.stalled = false;
                    } else {
                        self.workers.push(Worker {
                            id: f[0].to_vec(),
                            owed: HashMap::new(),
                            heard: now,
                            answered: None,
                            stalled: false,
                        });
                    }
                }
                _ => self.stats.refused += 1,
            }
            return;
        }
        if &f[2][..] != BROKER_CLIENT {
            self.stats.refused += 1;
            return;
        }
        let worker = self.workers.iter().position(|w| w.id[..] == f[0][..]);
        f.drain(..3);
        // [client id, …]
        let Some(i) = worker else {
            // Not a worker of the pool (never announced, or written off as dead): it was
            // handed nothing it could answer.
            self.stats.unexpected += 1;
            return;
        };
        let push = match answer_of(&f) {
            Some(Answer::Owed(what)) => {
                let key = (f[0].to_vec(), what);
                if self.workers[i].owed.remove(&key).is_none() {
                    self.stats.unexpected += 1;
                    return;
                }
                self.workers[i].answered = Some(now);
                if let Owed::Request(_) = key.1 {
                    self.register_streams(&f, i);
                }
                false
            }
            Some(Answer::Push(stream)) => {
                let route = (f[0].to_vec(), stream);
                if self.streams.get(&route).map(|(w, _)| w) != Some(&self.workers[i].id) {
                    self.stats.unexpected += 1;
                    return;
                }
                true
            }
            None => {
                self.stats.unexpected += 1;
                return;
            }
        };
        // The client id names the frontend (first byte), then the routing id there.
        let front = f[0].first().map(|b| usize::from(*b));
        let Some(front) = front.filter(|i| *i < self.fronts.len() && f[0].len() > 1) else {
            self.stats.unroutable += 1;
            return;
        };
        f[0] = zmq::Message::from(&f[0][1..]);
        self.out.push((front, push, f));
    }

    /// Sends the answers [`Loop::on_worker_message`] let through, one after the other.
    fn send_answers(&mut self) {
        for (front, push, f) in self.out.drain(..) {
            match send_message(&self.fronts[front], &[], f) {
                Ok(()) => {
                    self.stats.replies += 1;
                    self.stats.pushes += u64::from(push);
                }
                Err(_) => self.stats.unroutable += 1,
            }
        }
    }

    /// A `REP` that registered push streams (`[client, OTv2, REP, id, body, stream, 16 bytes,
    /// …]`): the worker that sent it may push to the client on those streams.
    fn register_streams(&mut self, f: &[zmq::Message], worker: usize) {
        if f.get(2).map(|x| &x[..]) != Some(b"REP") || f.len() <= 5 {
            return;
        }
        for pair in f[5..].chunks(2) {
            self.generation += 1;
            let key = (f[0].to_vec(), pair[0].to_vec());
            let wid = self.workers[worker].id.clone();
            self.streams.insert(key.clone(), (wid, self.generation));
            self.stream_order.push_back((key, self.generation));
        }
        while self.streams.len() > PUSH_ROUTES || self.stream_order.len() > 2 * PUSH_ROUTES {
            let Some((key, generation)) = self.stream_order.pop_front() else {
                break;
            };
            if self.streams.get(&key).map(|(_, g)| *g) == Some(generation) {
                self.streams.remove(&key);
            }
        }
    }

    /// Hands a client message to the worker that was handed the same request (a resend: its
    /// reply cache answers it), else to the least loaded worker that is not stalled; queues it
    /// when none takes it (false).
    fn hand_to_worker(&mut self, f: Frames, now: Instant) -> bool {
        let Some(what) = owed_by_client(&f) else {
            // Neither a v2 REQ/PING nor a legacy request: a notary drops it too.
            self.stats.ignored += 1;
            return true;
        };
        let key = (f[0].to_vec(), what);
        let mut tried = std::mem::take(&mut self.tried);
        tried.clear();
        tried.resize(self.workers.len(), false);
        let handed = loop {
            // A resend goes back to the worker that owes it only while that worker answers
            // (it answered something since it was handed this): its reply cache then answers
            // the resend once the first is done, and the application does not see it twice. A
            // worker that answers nothing it owes (hung, or not a notary at all) does not keep
            // the request: the resend goes to another worker.
            let sticky = (0..self.workers.len()).find(|&i| {
                let w = &self.workers[i];
                !tried[i]
                    && !w.stalled
                    && w.owed
                        .get(&key)
                        .is_some_and(|handed| w.answered.is_some_and(|a| a > *handed))
            });
            let pick = sticky.or_else(|| {
                (0..self.workers.len())
                    .filter(|&i| {
                        !tried[i]
                            && !self.workers[i].stalled
                            && self.workers[i].owed.len() < OWED_PER_WORKER
                    })
                    .min_by_key(|&i| self.workers[i].owed.len())
            });
            let Some(i) = pick else {
                self.enqueue(f);
                break false;
            };
            // The worker's routing id goes first, alone: a ROUTER refuses a message (dead
            // worker, or its queue full) on that frame, before any of the client's frames is
            // taken, so they are still here to try another worker with.
            match self
                .back
                .send(&self.workers[i].id[..], zmq::DONTWAIT | zmq::SNDMORE)
            {
                Ok(()) => {
                    // Taken: the rest follows (moved, not copied).
                    let _ = send_message(&self.back, &[BACKEND_TAG, BROKER_CLIENT], f);
                    self.workers[i].owed.insert(key, now);
                    self.stats.requests += 1;
                    break true;
                }
                Err(zmq::Error::EHOSTUNREACH) => {
                    // Dead: what it owed is lost; clients resend it, to another worker.
                    self.remove_worker(i);
                    tried.remove(i);
                }
                Err(_) => tried[i] = true, // its queue is full: try another
            }
        };
        self.tried = tried;
        handed
    }

    fn remove_worker(&mut self, i: usize) {
        let w = self.workers.remove(i);
        self.streams.retain(|_, (wid, _)| *wid != w.id);
        self.stats.dead_workers += 1;
    }

    /// Queues a client message for later, within the queue's bounds (oldest dropped first).
    fn enqueue(&mut self, f: Frames) {
        self.queued_bytes += size_of_frames(&f);
        self.queue.push_back(f);
        while self.queue.len() > QUEUE || self.queued_bytes > QUEUE_BYTES {
            let Some(old) = self.queue.pop_front() else {
                break;
            };
            self.queued_bytes -= size_of_frames(&old);
            self.stats.dropped += 1;
        }
    }

    fn ping_workers(&mut self) {
        let mut i = 0;
        while i < self.workers.len() {
            let f = [
                self.workers[i].id.as_slice(),
                BACKEND_TAG,
                BROKER_CONTROL,
                b"PING",
            ];
            match send_parts(&self.back, f, zmq::DONTWAIT) {
                Err(zmq::Error::EHOSTUNREACH) => self.remove_worker(i),
                _ => i += 1,
            }
        }
    }

    /// Workers not heard from for [`STALL_AFTER`] stop receiving work (their application is
    /// frozen, or their link is); what they owe expires after [`OWED_TTL`].
    fn check_workers(&mut self, now: Instant) {
        for w in &mut self.workers {
            if !w.stalled && now.duration_since(w.heard) > STALL_AFTER {
                w.stalled = true;
                self.stats.stalled_workers += 1;
            }
            w.owed.retain(|_, at| now.duration_since(*at) < OWED_TTL);
        }
    }
}

fn size_of_frames(f: &[zmq::Message]) -> usize {
    f.iter().map(|x| x.len() + 16).sum()
}
