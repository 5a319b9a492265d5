//! A broker for scaling a notary out: clients (legacy REQ and v2 DEALER) connect to its frontend
//! ROUTER, worker notaries ([`super::Notary::connect`]) to its backend ROUTER, and libzmq moves
//! the frames. Each client message goes to the live worker with the fewest requests outstanding;
//! each worker message goes back to the client it names. Pushes travel the same way: the route a
//! worker registers is the client's frontend routing id, so a worker's `push` reaches the client
//! through the broker (see README, "Scaling out").
//!
//! Frames on the backend (between the broker and a worker, both ways):
//! `[worker id][C][client routing id][the client's frames…]` for client traffic,
//! `[worker id][B][READY]` (worker → broker, after every connect) and `[worker id][B][PING]`
//! (broker → worker, every 250 ms, so that a dead worker is noticed: libzmq drops the route of a
//! closed or heartbeat-dead connection and the send fails).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::frames::{BROKER_CLIENT, BROKER_CONTROL, TAG};
use super::{Options, check_bind_endpoint, context, zmq_err};
use crate::error::{Error, Result};

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
    outstanding: u64,
}

/// A running broker (its loop is a background thread). Dropping it stops the loop and closes
/// the sockets within about 20 ms.
pub struct Broker {
    frontend: String,
    backend: String,
    stop: Arc<AtomicU64>,
    stats: Arc<Mutex<BrokerStats>>,
    thread: Option<JoinHandle<()>>,
    pid: u32,
}

impl Broker {
    /// Binds `frontend` (clients) and `backend` (workers) and starts the loop. `opts` gives the
    /// frontend's socket options (e.g. CURVE, max_message_size); the backend always runs ZMTP
    /// heartbeats (1 s, 3 s timeout) so that a worker on a dead machine is dropped.
    pub fn new(frontend: &str, backend: &str, opts: &Options) -> Result<Broker> {
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
        let backend_opts = Options {
            heartbeat_ivl_ms: 1_000,
            heartbeat_timeout_ms: 3_000,
            curve: None,
            ..opts.clone()
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
        let thread = std::thread::Builder::new()
            .name("ot-broker".into())
            .spawn(move || {
                let mut l = Loop {
                    front,
                    back,
                    workers: Vec::new(),
                    queue: VecDeque::new(),
                    queued_bytes: 0,
                    stats: BrokerStats::default(),
                };
                l.run(&stop2, &stats2);
            })
            .map_err(|e| Error::internal(format!("starting the broker thread: {e}")))?;
        Ok(Broker {
            frontend: fe,
            backend: be,
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

struct Loop {
    front: zmq::Socket,
    back: zmq::Socket,
    workers: Vec<Worker>,
    queue: VecDeque<Vec<Vec<u8>>>,
    queued_bytes: usize,
    stats: BrokerStats,
}

impl Loop {
    fn run(&mut self, stop: &AtomicU64, shared: &Mutex<BrokerStats>) {
        let mut next_ping = Instant::now();
        while stop.load(Ordering::Acquire) == 0 {
            let mut items = [
                self.back.as_poll_item(zmq::POLLIN),
                self.front.as_poll_item(zmq::POLLIN),
            ];
            // Clients are read whether or not a worker is there: what waits for a worker waits
            // in the broker's bounded queue, not in libzmq's per-connection pipes (a connection
            // whose pipe is full stops being read, and libzmq 4.3 aborts the process when such a
            // connection is reset with a heartbeat still in its buffer).
            let _ = zmq::poll(&mut items, 20);
            for _ in 0..256 {
                let Ok(f) = self.back.recv_multipart(zmq::DONTWAIT) else {
                    break;
                };
                self.on_worker_message(f);
            }
            if !self.workers.is_empty() {
                while let Some(f) = self.queue.pop_front() {
                    self.queued_bytes -= size_of_frames(&f);
                    if !self.hand_to_worker(f) {
                        break;
                    }
                }
            }
            for _ in 0..256 {
                let Ok(f) = self.front.recv_multipart(zmq::DONTWAIT) else {
                    break;
                };
                // With no live worker this queues it (bounded: the oldest dropped beyond).
                self.hand_to_worker(f);
            }
            if Instant::now() >= next_ping {
                next_ping = Instant::now() + Duration::from_millis(250);
                self.ping_workers();
            }
            self.stats.workers = self.workers.len() as u64;
            self.stats.queued = self.queue.len() as u64;
            self.stats.queued_bytes = self.queued_bytes as u64;
            *shared.lock().unwrap_or_else(|p| p.into_inner()) = self.stats;
        }
    }

    fn on_worker_message(&mut self, mut f: Vec<Vec<u8>>) {
        if f.len() < 2 {
            return;
        }
        let wid = f.remove(0);
        if f[0] == BROKER_CONTROL {
            if f.get(1).map(Vec::as_slice) == Some(b"READY")
                && !self.workers.iter().any(|w| w.id == wid)
            {
                self.workers.push(Worker {
                    id: wid,
                    outstanding: 0,
                });
            }
            return;
        }
        if f[0] != BROKER_CLIENT || f.len() < 3 {
            return;
        }
        f.remove(0);
        // [client id, …]: a push is [client, OTv2, PUSH, …]; anything else answers a request.
        let push = f.get(1).map(Vec::as_slice) == Some(TAG)
            && f.get(2).map(Vec::as_slice) == Some(b"PUSH");
        match self.workers.iter_mut().find(|w| w.id == wid) {
            Some(w) if !push => w.outstanding = w.outstanding.saturating_sub(1),
            Some(_) => {}
            // A worker we had written off is alive after all.
            None => self.workers.push(Worker {
                id: wid,
                outstanding: 0,
            }),
        }
        match self.front.send_multipart(f, zmq::DONTWAIT) {
            Ok(()) => {
                self.stats.replies += 1;
                self.stats.pushes += u64::from(push);
            }
            Err(_) => self.stats.unroutable += 1,
        }
    }

    /// Hands a client message to the least loaded live worker; false when none is left.
    fn hand_to_worker(&mut self, f: Vec<Vec<u8>>) -> bool {
        loop {
            let Some(i) = (0..self.workers.len()).min_by_key(|&i| self.workers[i].outstanding)
            else {
                self.enqueue(f);
                return false;
            };
            let mut out = Vec::with_capacity(f.len() + 2);
            out.push(self.workers[i].id.clone());
            out.push(BROKER_CLIENT.to_vec());
            out.extend(f.iter().cloned());
            match self.back.send_multipart(out, zmq::DONTWAIT) {
                Ok(()) => {
                    self.workers[i].outstanding += 1;
                    self.stats.requests += 1;
                    return true;
                }
                Err(zmq::Error::EHOSTUNREACH) => {
                    // Dead: its requests are lost; clients resend them, to another worker.
                    self.workers.swap_remove(i);
                    self.stats.dead_workers += 1;
                }
                Err(_) => {
                    // Its queue is full: count it as busier and try another.
                    self.workers[i].outstanding += 1_000;
                    if self.workers.iter().all(|w| w.outstanding >= 1_000) {
                        self.enqueue(f);
                        for w in &mut self.workers {
                            w.outstanding -= 1_000;
                        }
                        return false;
                    }
                }
            }
        }
    }

    /// Queues a client message for later, within the queue's bounds (oldest dropped first).
    fn enqueue(&mut self, f: Vec<Vec<u8>>) {
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
            let f = vec![
                self.workers[i].id.clone(),
                BROKER_CONTROL.to_vec(),
                b"PING".to_vec(),
            ];
            match self.back.send_multipart(f, zmq::DONTWAIT) {
                Err(zmq::Error::EHOSTUNREACH) => {
                    self.workers.swap_remove(i);
                    self.stats.dead_workers += 1;
                }
                _ => i += 1,
            }
        }
    }
}

fn size_of_frames(f: &[Vec<u8>]) -> usize {
    f.iter().map(|x| x.len() + 16).sum()
}
