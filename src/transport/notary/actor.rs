//! The notary's own thread: it alone touches the sockets (libzmq sockets are not thread-safe). It
//! reads every message at once, whatever the application is doing: answers probes (`PONG`),
//! resends from the reply cache, refuses what is over its bounds, hands requests to the
//! application's queue, sends the uniform answers at their time, sends replies and pushes the
//! application threads made, announces a worker to its broker, and closes idle or frozen
//! connections. Application threads talk to it through a command queue and a wake-up descriptor.

use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::answers::Answers;
use super::conns::Conns;
use super::reply_book::{LIMITS, Peer, ReplyBook, Seen};
use super::request::Route;
use super::worker::WorkerLink;
use super::{BUSY, Core, OVERLOADED, REPLY_NOT_KEPT, Raw};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::frames::{self, BACKEND_TAG, BROKER_CLIENT, Command, Incoming};
use crate::transport::{raw, zmq_err};

/// What an application thread asks of the actor.
pub(crate) enum Cmd {
    /// Serve one more socket (bound by the caller; a worker's DEALER with its link).
    Add {
        socket: zmq::Socket,
        conns: Option<Conns>,
        worker: Option<WorkerLink>,
        /// A CURVE endpoint under the transport key: its bound endpoint.
        curve: Option<String>,
        /// Option `require_curve` on a plain endpoint.
        plain_v2_refused: bool,
        done: mpsc::SyncSender<()>,
    },
    /// A new transport key: the CURVE endpoints are bound again under it (their connections
    /// drop; clients ask for the new key and come back).
    Rekey {
        secret: zeroize::Zeroizing<[u8; 32]>,
        done: mpsc::SyncSender<Result<()>>,
    },
    /// Send a signed reply (and keep a v2 one for resends).
    Reply {
        route: Route,
        frame: Vec<u8>,
        extra: Vec<Vec<u8>>,
        done: mpsc::SyncSender<Result<()>>,
    },
    /// A request that could not be read, or that the application freed unanswered: answer it the
    /// uniform way at `due`, and forget it as in progress.
    Unreadable {
        route: Route,
        due: Instant,
        v3: bool,
        released: bool,
    },
    /// Send pushes: (socket, frames) each; the outcome of each comes back in order.
    Push {
        deliveries: Vec<(usize, Vec<Vec<u8>>)>,
        done: mpsc::SyncSender<Vec<Delivered>>,
    },
    Stop,
}

/// What became of one push delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivered {
    Yes,
    /// The client is gone: drop its route.
    Gone,
    /// Its queue is full: it misses this one (its sequence numbers show the gap).
    Missed,
}

struct Bound {
    socket: zmq::Socket,
    conns: Option<Conns>,
    worker: Option<WorkerLink>,
    /// A CURVE endpoint under the transport key: its bound endpoint.
    curve: Option<String>,
    /// A plain endpoint that refuses v2 requests (option `require_curve`).
    plain_v2_refused: bool,
}

struct Actor {
    core: Arc<Core>,
    bound: Vec<Bound>,
    book: ReplyBook,
    answers: Answers,
    next_socket: usize,
    next_reap: Instant,
}

/// Most messages read in one round of the loop before commands and timers get their turn.
const ROUND: usize = 256;

pub(super) fn start(core: Arc<Core>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ot-notary".into())
        .spawn(move || {
            let mut a = Actor {
                core,
                bound: Vec::new(),
                book: ReplyBook::new(LIMITS),
                answers: Answers::default(),
                next_socket: 0,
                next_reap: Instant::now(),
            };
            a.run();
        })
        .map_err(|e| Error::internal(format!("starting the notary's thread: {e}")))
}

impl Actor {
    fn run(&mut self) {
        loop {
            self.core.wake.clear();
            if !self.commands() {
                break;
            }
            self.announce();
            let now = Instant::now();
            for (socket, frames) in self.answers.due(now) {
                let _ = self.send(socket, frames); // a vanished requester needs no answer
            }
            for _ in 0..ROUND {
                match self.try_recv() {
                    Some((socket, (frames, fd, user))) => {
                        self.handle(socket, frames, fd, user.as_deref(), Instant::now())
                    }
                    None => break,
                }
            }
            let now = Instant::now();
            if now >= self.next_reap {
                self.next_reap = now + Duration::from_millis(250);
                let reaped: u64 = self
                    .bound
                    .iter_mut()
                    .filter_map(|b| b.conns.as_mut())
                    .map(|c| c.reap(now))
                    .sum();
                if reaped > 0 {
                    self.core.stats().reaped += reaped;
                }
            }
            self.publish();
            self.wait();
        }
        self.close();
    }

    /// Waits for traffic, a command, a connection event or the next timer.
    fn wait(&mut self) {
        let now = Instant::now();
        let heartbeats = self
            .bound
            .iter()
            .filter_map(|b| b.worker.as_ref().map(|w| w.next_heartbeat));
        let wake = [self.answers.next_due(), Some(self.next_reap)]
            .into_iter()
            .flatten()
            .chain(heartbeats)
            .min()
            .unwrap_or(now + Duration::from_secs(1));
        let ms = wake
            .saturating_duration_since(now)
            .as_millis()
            .clamp(1, 1000) as i64;
        let mut items: Vec<zmq::PollItem> = Vec::with_capacity(2 * self.bound.len() + 1);
        items.push(zmq::PollItem::from_fd(self.core.wake.fd(), zmq::POLLIN));
        for b in &self.bound {
            items.push(b.socket.as_poll_item(zmq::POLLIN));
            if let Some(c) = &b.conns {
                items.push(c.monitor.as_poll_item(zmq::POLLIN));
            }
            if let Some(w) = &b.worker {
                items.push(w.monitor.pair.as_poll_item(zmq::POLLIN));
            }
        }
        let _ = zmq::poll(&mut items, ms);
    }

    /// Runs the queued commands; `false` on Stop.
    fn commands(&mut self) -> bool {
        loop {
            let cmd = self
                .core
                .commands
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            let Some(cmd) = cmd else { return true };
            match cmd {
                Cmd::Stop => return false,
                Cmd::Add {
                    socket,
                    conns,
                    worker,
                    curve,
                    plain_v2_refused,
                    done,
                } => {
                    self.bound.push(Bound {
                        socket,
                        conns,
                        worker,
                        curve,
                        plain_v2_refused,
                    });
                    let _ = done.send(());
                }
                Cmd::Rekey { secret, done } => {
                    let r = self.rekey(&secret);
                    let _ = done.send(r);
                }
                Cmd::Reply {
                    route,
                    frame,
                    extra,
                    done,
                } => {
                    let r = self.reply(route, frame, extra);
                    let _ = done.send(r);
                }
                Cmd::Unreadable {
                    route,
                    due,
                    v3,
                    released,
                } => {
                    if let Some(key) = route.v2 {
                        self.book.finish(&key);
                    }
                    let scheduled = self.answers.schedule(&self.core, &route, due, v3);
                    let mut s = self.core.stats();
                    if released {
                        s.released += 1;
                    } else {
                        s.rejected += 1;
                    }
                    if !scheduled {
                        s.answers_dropped += 1;
                    }
                }
                Cmd::Push { deliveries, done } => {
                    let out = deliveries
                        .into_iter()
                        .map(|(socket, frames)| match self.send_raw(socket, frames) {
                            Ok(()) => Delivered::Yes,
                            Err(zmq::Error::EHOSTUNREACH) => Delivered::Gone,
                            Err(_) => Delivered::Missed,
                        })
                        .collect();
                    let _ = done.send(out);
                }
            }
        }
    }

    fn reply(&mut self, route: Route, frame: Vec<u8>, extra: Vec<Vec<u8>>) -> Result<()> {
        match route.v2 {
            None => self.send(route.socket, route.legacy_frames(frame)),
            Some(key) => {
                let waiter = self.book.finish(&key);
                let mut f = vec![route.peer.clone()];
                f.extend(frames::v2_extra(Command::Rep, key.1, &frame, &extra));
                let mut sent = self.send(route.socket, f);
                if sent.is_err()
                    && let Some((socket, peer)) = waiter
                {
                    let mut f = vec![peer];
                    f.extend(frames::v2_extra(Command::Rep, key.1, &frame, &extra));
                    sent = self.send(socket, f);
                }
                // Kept even when the client is gone now: it resends after reconnecting. The
                // frames after the reply (the streams a subscription registered) are kept too: a
                // subscriber whose first reply was lost learns its streams from the resend.
                let mut kept = Vec::with_capacity(1 + extra.len());
                kept.push(frame);
                kept.extend(extra);
                self.book.store(
                    key,
                    (route.socket, route.peer.clone()),
                    kept,
                    Instant::now(),
                );
                sent
            }
        }
    }

    fn send_raw(
        &self,
        socket: usize,
        mut frames: Vec<Vec<u8>>,
    ) -> std::result::Result<(), zmq::Error> {
        let b = self.bound.get(socket).ok_or(zmq::Error::EHOSTUNREACH)?;
        if b.worker.is_some() {
            frames.splice(0..0, [BACKEND_TAG.to_vec(), BROKER_CLIENT.to_vec()]);
        }
        crate::transport::send_owned(&b.socket, frames, zmq::DONTWAIT)
    }

    fn send(&self, socket: usize, frames: Vec<Vec<u8>>) -> Result<()> {
        match self.send_raw(socket, frames) {
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

    /// One message from any socket, round robin, without waiting: (socket, frames, source fd,
    /// the connection's ZAP user id).
    fn try_recv(&mut self) -> Option<(usize, raw::Sourced)> {
        let n = self.bound.len();
        for k in 0..n {
            let i = (self.next_socket + k) % n;
            let got = raw::recv_with_fd(&mut self.bound[i].socket);
            if let Ok(Some((mut frames, fd, user))) = got {
                self.next_socket = (i + 1) % n;
                if self.bound[i].worker.is_some() {
                    // From the broker: client traffic, or a control message (a liveness PING,
                    // which needs no answer: delivering it proved the route).
                    if frames.len() < 3 || frames[0] != BACKEND_TAG || frames[1] != BROKER_CLIENT {
                        continue;
                    }
                    frames.drain(..2);
                }
                return Some((i, (frames, fd, user)));
            }
        }
        None
    }

    /// Handles one message at once; a request goes to the application's queue.
    fn handle(
        &mut self,
        socket: usize,
        frames: Vec<Vec<u8>>,
        fd: i32,
        user: Option<&[u8]>,
        now: Instant,
    ) {
        let incoming = frames::classify(frames);
        if let Some(c) = self.bound[socket].conns.as_mut() {
            c.seen(fd, matches!(incoming, Incoming::V2 { .. }), now);
        }
        match incoming {
            Incoming::Legacy { mut envelope, body } => {
                let peer = envelope.remove(0);
                let route = Route {
                    socket,
                    peer,
                    envelope_rest: envelope,
                    v2: None,
                };
                if !self.core.deliver(Raw {
                    route,
                    body,
                    received: now,
                }) {
                    // The application is not keeping up: the legacy client resends.
                    self.core.stats().overloaded += 1;
                }
            }
            Incoming::V2 { peer, msg } => match msg.command {
                Command::Ping => {
                    let mut f = vec![peer];
                    // A probe that asks for them gets the signed transport-key documents.
                    let docs = if msg.number & super::curve::KEYS_FLAG != 0 {
                        self.core.transport_docs()
                    } else {
                        Vec::new()
                    };
                    f.extend(frames::v2_extra(Command::Pong, msg.number, b"", &docs));
                    if self.send(socket, f).is_ok() {
                        self.core.stats().pongs += 1;
                    }
                }
                _ => {
                    if self.bound[socket].plain_v2_refused {
                        self.core.stats().curve_required += 1;
                        let mut f = vec![peer];
                        f.extend(frames::v2(
                            Command::Err,
                            msg.number,
                            super::CURVE_REQUIRED.as_bytes(),
                        ));
                        let _ = self.send(socket, f);
                        return;
                    }
                    if self.bound[socket].curve.is_some() {
                        self.core.stats().requests_curve += 1;
                    }
                    self.v2_request(socket, peer, msg.number, msg.body, user, now)
                }
            },
            Incoming::Unknown => self.core.stats().rejected += 1,
        }
    }

    fn v2_request(
        &mut self,
        socket: usize,
        peer: Vec<u8>,
        number: u64,
        body: Vec<u8>,
        user: Option<&[u8]>,
        now: Instant,
    ) {
        // The reply cache's key: the request (its id and bytes), and on a CURVE endpoint the
        // client's public key too, so that a peer with another key never gets its replies.
        let digest = match user {
            Some(u) => {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                h.update(u);
                h.update([0u8]);
                h.update(&body);
                h.finalize().into()
            }
            None => crate::hash::sha256(&body),
        };
        let key = (digest, number);
        let from: Peer = (socket, peer);
        let err = |a: &Actor, peer: &[u8], reason: &str| {
            let mut f = vec![peer.to_vec()];
            f.extend(frames::v2(Command::Err, number, reason.as_bytes()));
            let _ = a.send(socket, f);
        };
        match self.book.seen(&key, &from, now) {
            Seen::New => {}
            Seen::Resend(reply) => {
                self.core.stats().duplicates += 1;
                let mut f = vec![from.1.clone()];
                let (frame, extra) = reply
                    .split_first()
                    .map_or((&[][..], &[][..]), |(f, e)| (f.as_slice(), e));
                f.extend(frames::v2_extra(Command::Rep, number, frame, extra));
                let _ = self.send(socket, f);
                return;
            }
            Seen::Suppressed | Seen::InProgress => {
                self.core.stats().duplicates += 1;
                return;
            }
            Seen::Dropped => {
                err(self, &from.1, REPLY_NOT_KEPT);
                return;
            }
        }
        if !self.book.has_room(&from) {
            // Refused before any work; the reason depends on nothing secret.
            self.core.stats().busy += 1;
            err(self, &from.1, BUSY);
            return;
        }
        let route = Route {
            socket,
            peer: from.1.clone(),
            envelope_rest: Vec::new(),
            v2: Some(key),
        };
        let peer = from.1.clone();
        self.book.begin(key, from);
        if !self.core.deliver(Raw {
            route,
            body,
            received: now,
        }) {
            self.book.finish(&key);
            self.core.stats().overloaded += 1;
            err(self, &peer, OVERLOADED);
        }
    }

    /// Binds every CURVE endpoint again under a new secret key: unbinding drops its connections
    /// (their clients' handshakes with the old key then fail, and they ask for the new one).
    fn rekey(&mut self, secret: &[u8; 32]) -> Result<()> {
        for b in &self.bound {
            let Some(ep) = &b.curve else { continue };
            let _ = b.socket.unbind(ep);
            b.socket
                .set_curve_secretkey(secret)
                .map_err(|e| crate::transport::zmq_err("ZMQ_CURVE_SECRETKEY", e))?;
            let start = Instant::now();
            loop {
                match b.socket.bind(ep) {
                    Ok(()) => break,
                    // libzmq releases the port asynchronously.
                    Err(zmq::Error::EADDRINUSE) if start.elapsed() < Duration::from_secs(2) => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => {
                        return Err(crate::transport::zmq_err(
                            &format!("binding {} again", crate::error::quote(ep)),
                            e,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Announces a worker to its broker (again after every reconnect).
    fn announce(&mut self) {
        if !self.bound.iter().any(|b| b.worker.is_some()) {
            return;
        }
        let responsive = self
            .core
            .oldest_waiting()
            .is_none_or(|d| d < super::worker::FROZEN_AFTER);
        let now = Instant::now();
        for b in &mut self.bound {
            if let Some(w) = b.worker.as_mut() {
                w.announce(&b.socket, responsive, now);
            }
        }
    }

    /// Publishes the gauges the application reads.
    fn publish(&self) {
        let (in_progress, cached, bytes, _) = self.book.sizes();
        let mut g = self.core.gauges.lock().unwrap_or_else(|p| p.into_inner());
        g.in_progress = in_progress as u64;
        g.cached_replies = cached as u64;
        g.cached_bytes = bytes as u64;
        g.pending_answers = self.answers.len() as u64;
        g.connections = self
            .bound
            .iter()
            .filter_map(|b| b.conns.as_ref())
            .map(|c| c.len() as u64)
            .sum();
        drop(g);
        let mut s = self.core.stats();
        s.resends_suppressed = self.book.stats.suppressed;
        s.resends_expired = self.book.stats.dropped_answered;
        s.cache_evictions = self.book.stats.evicted;
    }

    /// Stops the monitors while their sockets live, then closes everything; callers waiting on
    /// the queue learn that the notary stopped.
    fn close(&mut self) {
        for b in &mut self.bound {
            if let Some(c) = b.conns.as_mut() {
                c.detach(&b.socket);
            }
            if let Some(w) = b.worker.as_mut() {
                w.monitor.detach(&b.socket);
            }
        }
        self.bound.clear();
        self.core.stopped.store(true, Ordering::Release);
        self.core.inbox_cv.notify_all();
        // Commands still queued get their senders dropped: their callers see the stop.
        self.core
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
