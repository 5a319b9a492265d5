//! The v2 client connection: one DEALER socket, many requests in flight, resends on the same
//! socket (answered from the notary's reply cache), pushes, automatic re-subscription after a
//! reconnect, heartbeats on by default. Frame layouts: [`super::frames`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::frames::{self, Command};
use super::monitor::Monitor;
use super::notary::KEYS_FLAG;
use super::{Options, context, zmq_err};
use crate::error::{Error, ErrorKind, Result};

/// Heartbeats of v2 connections when the options leave them at 0: ZMTP PING every 5 s, the
/// connection is dead after 15 s without traffic, and the notary drops a silent client's
/// connection (and so its push routes) after 15 s (ZMQ_HEARTBEAT_TTL).
const DEFAULT_HEARTBEAT: (i64, i64, i64) = (5_000, 15_000, 15_000);

/// A notification pushed by the notary, opened and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The push's sequence number in its stream (from 1).
    pub seq: u64,
    /// Pushes of this stream missed just before this one (a gap in the sequence), or `u64::MAX`
    /// when the stream restarted (the notary restarted: how many were lost is unknown).
    pub missed: u64,
    /// The notary's signed content.
    pub content: Vec<u8>,
    /// The stream: the NymID the subscription registered.
    pub stream: String,
    /// The notary's epoch (random at its start; raw, before checking).
    pub(crate) epoch: u64,
}

struct InFlight {
    body: Vec<u8>,
    attempts: i64,
    next_resend: Instant,
    deadline: Option<Instant>,
    /// A re-subscription the session sent by itself: its reply is not the application's.
    internal: bool,
}

/// What a v2 message turned into, for the session to open and verify.
pub(crate) enum Event {
    /// The raw reply body of request `id`, and the push streams it registered: (stream, epoch,
    /// sequence number at registration).
    Reply(u64, Vec<u8>, Vec<(String, u64, u64)>),
    /// Request `id` failed (notary error, timeout, dead connection).
    Failed(u64, Error),
    /// A raw push: its sequence number, body, stream and epoch.
    Push(Push),
    /// The reply to a re-subscription the session sent by itself: its streams.
    Subscribed(Vec<(String, u64, u64)>),
}

/// Most messages, and bytes, kept while a probe waits for its `PONG` (beyond, they are dropped:
/// replies come again on resend), so that a peer cannot make a waiting probe hold more.
const STASH: usize = 4096;
const STASH_BYTES: usize = 16 << 20;

/// The longest the monitor of a v2 connection goes unread while requests flow (events that
/// signal it are read at once when the session waits).
const MONITOR_EVERY: Duration = Duration::from_millis(10);

/// Most subscriptions one session re-sends after a reconnect.
pub(crate) const MAX_SUBSCRIPTIONS: usize = 64;

/// The v2 connection state of a session.
pub(crate) struct V2Client {
    endpoint: String,
    opts: Options,
    socket: zmq::Socket,
    monitor: Monitor,
    next_id: u64,
    in_flight: HashMap<u64, InFlight>,
    /// The application's requests in `in_flight` (not the internal re-subscriptions): kept as
    /// a count, so that the `max_in_flight` check costs no scan.
    app_in_flight: usize,
    /// No resend or deadline of `in_flight` falls before this (a lower bound: it may be early
    /// after a request finished, never late), so that a pump with nothing due scans nothing.
    next_due: Option<Instant>,
    /// How long one attempt waits for its reply (the legacy receive schedule), computed when
    /// the options are set.
    attempt: Duration,
    /// When the connection's monitor is read next without being signalled (see
    /// [`V2Client::check_monitor`]).
    next_monitor: Instant,
    /// The subscription request bodies to send again after a reconnect (one per
    /// [`Session::subscribe`](super::Session::subscribe), at most [`MAX_SUBSCRIPTIONS`]).
    subscriptions: Vec<Vec<u8>>,
    ups_seen: u64,
    pub(crate) resends: u64,
    /// When this client last sent anything: a notary closes a v2 connection that stays silent
    /// for its limit (15 s by default), so an idle client sends a `PING` every
    /// [`V2Client::keepalive`].
    last_sent: std::cell::Cell<Instant>,
    /// Pushes dropped because the session has no subscription.
    pub(crate) pushes_unsolicited: u64,
    /// Connections dropped and made again after a request failed while down.
    pub(crate) renewals: u64,
    /// The connection was renewed ([`V2Client::renew`]): re-send everything once it is up, even
    /// if it is the first connection the monitor saw.
    resend_on_up: bool,
    /// The socket moved to the notary's CURVE endpoint ([`V2Client::switch_to_curve`]): its first
    /// connection there is no reconnect (what was sent since waits in its pipe).
    switched: bool,
    /// Messages that arrived while a probe waited for its `PONG`: read before the socket.
    stash: VecDeque<Vec<Vec<u8>>>,
    stash_bytes: usize,
    /// While on a CURVE endpoint found by discovery: the plain endpoint the session was given
    /// (asked again when a CURVE handshake fails: the notary's key changed), the CURVE endpoint
    /// and key in use, and the handshake failures already seen.
    discovered: Option<Discovered>,
}

/// Where discovery led a v2 client.
pub(crate) struct Discovered {
    pub(crate) plain: String,
    pub(crate) curve: String,
    pub(crate) key: [u8; 32],
    failures_seen: u64,
    /// No new discovery before this (at most one a second while handshakes keep failing).
    not_before: Instant,
}

/// The least time between two discoveries after failed CURVE handshakes.
const REDISCOVERY_EVERY: Duration = Duration::from_secs(1);

/// How long one attempt waits for its reply: the legacy receive schedule's sum.
fn attempt_time(opts: &Options) -> Duration {
    let ms: i64 = opts
        .receive_polls()
        .iter()
        .map(|p| p.unwrap_or(opts.latency_receive_ms))
        .sum();
    Duration::from_millis(ms.max(1) as u64)
}

/// The options a v2 socket runs with: heartbeats on unless set.
pub(crate) fn v2_options(opts: &Options) -> Options {
    let mut o = opts.clone();
    if o.heartbeat_ivl_ms == 0 && o.heartbeat_timeout_ms == 0 {
        (o.heartbeat_ivl_ms, o.heartbeat_timeout_ms) = (DEFAULT_HEARTBEAT.0, DEFAULT_HEARTBEAT.1);
        if o.heartbeat_ttl_ms == 0 {
            o.heartbeat_ttl_ms = DEFAULT_HEARTBEAT.2;
        }
    }
    o
}

impl V2Client {
    /// Connects a DEALER. Its routing id is the one the notary's ROUTER gives each connection
    /// (not chosen here): after a reconnect it is a new one, and the notary answers resends by
    /// the request itself (its id and body), so no peer can take over another's route.
    pub(crate) fn connect(endpoint: &str, opts: &Options) -> Result<V2Client> {
        let opts = v2_options(opts);
        let socket = context()
            .socket(zmq::DEALER)
            .map_err(|e| zmq_err("creating the DEALER socket", e))?;
        opts.apply(&socket)?;
        let monitor = Monitor::attach(&socket)?;
        socket
            .connect(endpoint)
            .map_err(|e| zmq_err(&format!("connecting to {endpoint}"), e))?;
        Ok(V2Client {
            endpoint: endpoint.to_string(),
            attempt: attempt_time(&opts),
            opts,
            socket,
            monitor,
            next_id: 1,
            in_flight: HashMap::new(),
            app_in_flight: 0,
            next_due: None,
            next_monitor: Instant::now(),
            subscriptions: Vec::new(),
            ups_seen: 0,
            resends: 0,
            last_sent: std::cell::Cell::new(Instant::now()),
            pushes_unsolicited: 0,
            renewals: 0,
            resend_on_up: false,
            switched: false,
            stash: VecDeque::new(),
            stash_bytes: 0,
            discovered: None,
        })
    }

    pub(crate) fn fd(&self) -> Result<i32> {
        self.socket.get_fd().map_err(|e| zmq_err("ZMQ_FD", e))
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.app_in_flight
    }

    /// Removes request `id` from the requests in flight (keeping the count right).
    fn finish(&mut self, id: u64) -> Option<InFlight> {
        let f = self.in_flight.remove(&id)?;
        if !f.internal {
            self.app_in_flight -= 1;
        }
        Some(f)
    }

    /// Lowers [`V2Client::next_due`] to `t`.
    fn due_by(&mut self, t: Instant) {
        self.next_due = Some(self.next_due.map_or(t, |d| d.min(t)));
    }

    /// Probes the endpoint with a PING: true when a v2 notary answers within `timeout`.
    pub(crate) fn probe(&mut self, timeout: Duration) -> Result<bool> {
        let id = self.take_id();
        Ok(self.ping(id, timeout)?.is_some())
    }

    /// Asks the notary for its transport-key documents (a `PING` whose number has
    /// [`KEYS_FLAG`] set) and waits up to `timeout`: the documents its `PONG` carried (none: it
    /// publishes no transport key, or is older), or `None` when no `PONG` came.
    pub(crate) fn discover(&mut self, timeout: Duration) -> Result<Option<Vec<Vec<u8>>>> {
        let id = self.take_id() | KEYS_FLAG;
        self.ping(id, timeout)
    }

    /// Connects the same socket (and descriptor) to `endpoint` with CURVE instead of the endpoint
    /// it is connected to: the notary's transport key as the server key, and a key pair made
    /// for this session. `resend`: requests in flight are sent again once it is up (after a
    /// key change; at the first switch nothing is in flight).
    pub(crate) fn switch_to_curve(
        &mut self,
        endpoint: &str,
        server_key: &[u8; 32],
        resend: bool,
    ) -> Result<()> {
        crate::transport::check_endpoint(endpoint)?;
        let (public, secret) = crate::transport::curve_keypair()?;
        let mut o = self.opts.clone();
        let server = crate::transport::z85::encode(server_key)?;
        o.set_curve_client(&server, &public, &secret)?;
        let plain = match &self.discovered {
            Some(d) => d.plain.clone(),
            None => self.endpoint.clone(),
        };
        self.reconnect_as(endpoint, &o, resend)?;
        self.discovered = Some(Discovered {
            plain,
            curve: endpoint.to_string(),
            key: *server_key,
            failures_seen: self.monitor.handshake_failures,
            not_before: Instant::now() + REDISCOVERY_EVERY,
        });
        Ok(())
    }

    /// Back to the plain endpoint the session was given, without CURVE (to ask for the notary's
    /// transport key again); `None` unless discovery had moved it.
    pub(crate) fn switch_to_plain(&mut self) -> Result<Option<Discovered>> {
        let Some(d) = self.discovered.take() else {
            return Ok(None);
        };
        let mut o = self.opts.clone();
        o.curve = None;
        // A socket leaves CURVE (for the connections made afterwards) when ZMQ_CURVE_SERVER is
        // set to 0: libzmq then uses the NULL mechanism.
        self.socket
            .set_curve_server(false)
            .map_err(|e| zmq_err("ZMQ_CURVE_SERVER", e))?;
        self.reconnect_as(&d.plain.clone(), &o, false)?;
        Ok(Some(d))
    }

    /// Connections made so far (a new one after a probe went unanswered may answer it).
    pub(crate) fn connections_up(&mut self) -> u64 {
        let _ = self.monitor.drain();
        self.monitor.ups
    }

    /// Whether a CURVE handshake failed since discovery moved this client (the notary's key
    /// changed, or it is not the notary any more): the session then asks again.
    pub(crate) fn curve_failed(&mut self) -> bool {
        let _ = self.check_monitor(false);
        self.discovered.as_ref().is_some_and(|d| {
            self.monitor.handshake_failures > d.failures_seen && Instant::now() >= d.not_before
        })
    }

    /// Drops the connection to the current endpoint (and what libzmq queued for it) and connects
    /// the same socket to `endpoint` with `o`'s CURVE settings.
    fn reconnect_as(&mut self, endpoint: &str, o: &Options, resend: bool) -> Result<()> {
        // The old connection's events so far are no reconnect (zmq_disconnect reports none).
        self.monitor.drain()?;
        self.ups_seen = self.monitor.ups;
        self.switched = !resend;
        self.resend_on_up = resend;
        let linger = self.opts.linger_ms.clamp(-1, i64::from(i32::MAX)) as i32;
        let _ = self.socket.set_linger(0);
        let _ = self.socket.disconnect(&self.endpoint);
        let _ = self.socket.set_linger(linger);
        // CURVE options apply to the connections made after they are set.
        o.apply_curve(&self.socket)?;
        self.socket
            .connect(endpoint)
            .map_err(|e| zmq_err(&format!("connecting to {endpoint}"), e))?;
        self.endpoint = endpoint.to_string();
        self.opts = o.clone();
        self.attempt = attempt_time(&self.opts);
        Ok(())
    }

    /// Sends `PING` number `id` and waits up to `timeout` for its `PONG`; what else arrives
    /// meanwhile (replies, pushes) is kept for [`V2Client::pump`], within [`STASH`] messages.
    fn ping(&mut self, id: u64, timeout: Duration) -> Result<Option<Vec<Vec<u8>>>> {
        self.send_v2(Command::Ping, id, b"")?;
        let end = Instant::now() + timeout;
        loop {
            match self.socket.recv_multipart(zmq::DONTWAIT) {
                Ok(f) => {
                    let pong = f.len() >= 3
                        && f[0] == frames::TAG
                        && f[1] == Command::Pong.name()
                        && f[2] == id.to_be_bytes();
                    if pong {
                        return Ok(frames::parse_v2(f).map(|m| m.extra));
                    }
                    let size: usize = f.iter().map(Vec::len).sum();
                    if self.stash.len() < STASH && self.stash_bytes + size <= STASH_BYTES {
                        self.stash_bytes += size;
                        self.stash.push_back(f);
                    }
                    continue;
                }
                Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(zmq_err("receiving", e)),
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match self
                .socket
                .poll(zmq::POLLIN, left.as_millis().max(1) as i64)
            {
                Ok(_) | Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(zmq_err("zmq_poll", e)),
            }
        }
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// How often an idle client probes (`PING`), so that the notary sees it alive: the heartbeat
    /// interval, at most 5 s.
    fn keepalive(&self) -> Duration {
        let ms = match self.opts.heartbeat_ivl_ms {
            0 => 5_000,
            ivl => ivl.min(5_000),
        };
        Duration::from_millis(ms as u64)
    }

    /// Sends the v2 message `command number [body]` (the layout of [`frames::v2`]) straight
    /// from `body`: libzmq copies it once, as it would a C caller's buffer.
    fn send_v2(&self, command: Command, number: u64, body: &[u8]) -> Result<()> {
        self.last_sent.set(Instant::now());
        let more = zmq::SNDMORE | zmq::DONTWAIT;
        let with_body = !matches!(command, Command::Ping | Command::Pong);
        let last = if with_body { more } else { zmq::DONTWAIT };
        // Once libzmq took the first frame, it takes the rest of the message (its queue limit
        // counts whole messages), as with `send_multipart`.
        let sent = self
            .socket
            .send(frames::TAG, more)
            .and_then(|()| self.socket.send(command.name(), more))
            .and_then(|()| self.socket.send(&number.to_be_bytes()[..], last))
            .and_then(|()| match with_body {
                true => self.socket.send(body, zmq::DONTWAIT),
                false => Ok(()),
            });
        match sent {
            Ok(()) | Err(zmq::Error::EAGAIN) => Ok(()), // EAGAIN: the resend timer retries it
            Err(e) => Err(zmq_err("sending", e)),
        }
    }

    /// Sends a request body; returns its id.
    pub(crate) fn send(&mut self, body: Vec<u8>, internal: bool) -> Result<u64> {
        let cap = self.opts.max_in_flight as usize;
        if !internal && self.in_flight() >= cap {
            return Err(Error::new(
                ErrorKind::State,
                format!("{cap} requests are already in flight (max_in_flight): receive some first"),
            ));
        }
        if self.opts.max_message_size >= 0 && body.len() as u64 > self.opts.max_message_size as u64
        {
            return Err(Error::invalid(format!(
                "the request frame is {} bytes, over max_message_size ({} bytes)",
                body.len(),
                self.opts.max_message_size
            )));
        }
        let id = self.take_id();
        self.send_v2(Command::Req, id, &body)?;
        let now = Instant::now();
        let deadline = (self.opts.request_timeout_ms > 0)
            .then(|| now + Duration::from_millis(self.opts.request_timeout_ms as u64));
        let next_resend = now + self.attempt;
        self.due_by(deadline.map_or(next_resend, |d| d.min(next_resend)));
        self.in_flight.insert(
            id,
            InFlight {
                body,
                attempts: 1,
                next_resend,
                deadline,
                internal,
            },
        );
        self.app_in_flight += usize::from(!internal);
        Ok(id)
    }

    /// Remembers `body` as a subscription to re-send after every reconnect (the oldest is
    /// forgotten beyond [`MAX_SUBSCRIPTIONS`]).
    pub(crate) fn add_subscription(&mut self, body: Vec<u8>) {
        if self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            self.subscriptions.remove(0);
        }
        self.subscriptions.push(body);
    }

    /// Forgets subscription `body` (it was refused).
    pub(crate) fn remove_subscription(&mut self, body: &[u8]) {
        self.subscriptions.retain(|s| s != body);
    }

    /// Reads what arrived, re-sends what is late, and reports finished requests and pushes.
    /// Waits at most until `until` for something to happen (`None`: do not wait).
    pub(crate) fn pump(&mut self, until: Option<Instant>) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        let mut signalled = false;
        loop {
            self.check_monitor(signalled)?;
            if self.curve_failed() {
                // The session asks for the notary's key again before waiting on.
                return Ok(events);
            }
            self.on_reconnect()?;
            while let Some(f) = self.recv()? {
                if let Some(e) = self.on_message(f) {
                    events.push(e);
                }
            }
            self.on_timers(&mut events)?;
            if !events.is_empty() {
                return Ok(events);
            }
            let now = Instant::now();
            let Some(until) = until.filter(|u| *u > now) else {
                return Ok(events);
            };
            let next_timer = self.next_due;
            // While the connection is down, re-check the liveness limit every 100 ms.
            let tick = (!self.monitor.up).then(|| now + Duration::from_millis(100));
            let keepalive = Some(self.last_sent.get() + self.keepalive());
            let wake = [Some(until), next_timer, tick, keepalive]
                .into_iter()
                .flatten()
                .min();
            let ms = wake.map_or(-1, |w| {
                w.saturating_duration_since(now).as_millis().max(1) as i64
            });
            let mut items = [
                self.socket.as_poll_item(zmq::POLLIN),
                self.monitor.pair.as_poll_item(zmq::POLLIN),
            ];
            match zmq::poll(&mut items, ms) {
                Ok(_) | Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(zmq_err("zmq_poll", e)),
            }
            signalled = items[1].is_readable();
        }
    }

    /// Reads the connection's monitor (connects, disconnects, failed handshakes) when `signalled`
    /// (a poll saw an event waiting) or at most [`MONITOR_EVERY`] after the last read. Reading
    /// it finds nothing most of the time, and costs a poll(2) inside libzmq each time: on every
    /// request that was a third of the session's system calls.
    fn check_monitor(&mut self, signalled: bool) -> Result<()> {
        let now = Instant::now();
        if signalled || now >= self.next_monitor {
            self.next_monitor = now + MONITOR_EVERY;
            self.monitor.drain()?;
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Option<Vec<Vec<u8>>>> {
        if let Some(f) = self.stash.pop_front() {
            self.stash_bytes -= f.iter().map(Vec::len).sum::<usize>();
            return Ok(Some(f));
        }
        match super::recv_frames(&self.socket, zmq::DONTWAIT) {
            Ok(f) => Ok(Some(f)),
            Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => Ok(None),
            Err(e) => Err(zmq_err("receiving", e)),
        }
    }

    fn on_message(&mut self, f: Vec<Vec<u8>>) -> Option<Event> {
        let m = frames::parse_v2(f)?;
        match m.command {
            Command::Rep => {
                // Late duplicates of answered requests are dropped here.
                let f = self.finish(m.number)?;
                let streams = m
                    .extra
                    .chunks(2)
                    .filter_map(|p| {
                        let name = String::from_utf8(p.first()?.clone()).ok()?;
                        let b: &[u8; 16] = p.get(1)?.as_slice().try_into().ok()?;
                        let epoch = u64::from_be_bytes(b[..8].try_into().ok()?);
                        let seq = u64::from_be_bytes(b[8..].try_into().ok()?);
                        Some((name, epoch, seq))
                    })
                    .collect();
                // A re-subscription the session sent by itself is not the application's
                // reply, but its streams count.
                Some(if f.internal {
                    Event::Subscribed(streams)
                } else {
                    Event::Reply(m.number, m.body, streams)
                })
            }
            Command::Err => {
                let f = self.finish(m.number)?;
                let reason = String::from_utf8_lossy(&m.body[..m.body.len().min(200)]).to_string();
                (!f.internal).then(|| {
                    Event::Failed(
                        m.number,
                        Error::new(
                            ErrorKind::Transport,
                            format!("the notary rejected the request: {reason}"),
                        ),
                    )
                })
            }
            // Nobody asked for pushes on this connection: dropped unread (and counted).
            Command::Push if self.subscriptions.is_empty() => {
                self.pushes_unsolicited += 1;
                None
            }
            Command::Push => {
                let stream = m
                    .extra
                    .first()
                    .and_then(|n| String::from_utf8(n.clone()).ok())
                    .unwrap_or_default();
                let epoch = m
                    .extra
                    .get(1)
                    .and_then(|e| e.as_slice().try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                Some(Event::Push(Push {
                    seq: m.number,
                    missed: 0,
                    content: m.body,
                    stream,
                    epoch,
                }))
            }
            _ => None,
        }
    }

    /// After the connection came back up: re-subscribe, and re-send what is in flight at once
    /// (the notary answers requests it already handled from its reply cache).
    fn on_reconnect(&mut self) -> Result<()> {
        if self.monitor.ups <= self.ups_seen {
            return Ok(());
        }
        let first = (self.ups_seen == 0 && !self.resend_on_up) || self.switched;
        self.switched = false;
        self.ups_seen = self.monitor.ups;
        self.resend_on_up = false;
        if first {
            return Ok(());
        }
        self.in_flight.retain(|_, f| !f.internal);
        for sub in self.subscriptions.clone() {
            self.send(sub, true)?;
        }
        let now = Instant::now();
        for f in self.in_flight.values_mut() {
            f.next_resend = now;
        }
        self.due_by(now);
        Ok(())
    }

    fn on_timers(&mut self, events: &mut Vec<Event>) -> Result<()> {
        if self.last_sent.get().elapsed() >= self.keepalive() {
            // A probe nobody waits for (its PONG is ignored): proof of life for the notary.
            self.send_v2(Command::Ping, 0, b"")?;
        }
        let now = Instant::now();
        let liveness = self
            .opts
            .liveness_ms()
            .map(|ms| Duration::from_millis(ms as u64));
        let dead = match (self.monitor.down_since, liveness) {
            (Some(t), Some(l)) => now.duration_since(t) >= l,
            _ => false,
        };
        // Nothing is due: no scan (and no allocation) on the hot path.
        if !dead && self.next_due.is_none_or(|d| now < d) {
            return Ok(());
        }
        let attempt = self.attempt;
        let max_attempts = self.opts.max_resends + 1;
        let ids: Vec<u64> = self.in_flight.keys().copied().collect();
        let mut failed = false;
        for id in ids {
            let Some(f) = self.in_flight.get_mut(&id) else {
                continue;
            };
            let why = if dead {
                Some(format!(
                    "the connection to {} is dead (no heartbeat answer for {} ms)",
                    self.endpoint,
                    liveness.map_or(0, |l| l.as_millis())
                ))
            } else if f.deadline.is_some_and(|d| now >= d) {
                Some(format!(
                    "no reply from {} within request_timeout_ms ({} ms)",
                    self.endpoint, self.opts.request_timeout_ms
                ))
            } else if now >= f.next_resend && f.attempts >= max_attempts {
                Some(format!(
                    "no reply from {} after {} attempt(s)",
                    self.endpoint, f.attempts
                ))
            } else {
                None
            };
            if let Some(why) = why {
                let f = self.finish(id);
                if f.is_some_and(|f| !f.internal) {
                    events.push(Event::Failed(id, Error::new(ErrorKind::Timeout, why)));
                }
                failed = true;
                continue;
            }
            if now >= f.next_resend {
                f.attempts += 1;
                f.next_resend = now + attempt;
                self.resends += 1;
                let f = &self.in_flight[&id];
                self.send_v2(Command::Req, id, &f.body)?;
            }
        }
        self.next_due = self
            .in_flight
            .values()
            .flat_map(|f| [Some(f.next_resend), f.deadline])
            .flatten()
            .min();
        if failed && !self.monitor.up {
            self.renew()?;
        }
        Ok(())
    }

    /// Drops the connection and everything libzmq still queues for it, and connects again. Once
    /// a request was reported failed while the connection is down, no copy of it (nor of its
    /// resends) may go out when the link comes back: the application was told it failed, and
    /// behind a broker the copies would reach other workers. `zmq_disconnect` ends the
    /// endpoint's pipe, and with linger 0 its queued messages are discarded; the socket (and so
    /// the descriptor an event loop polls) stays. Subscriptions and the requests still in flight
    /// are sent again once the new connection is up.
    fn renew(&mut self) -> Result<()> {
        let linger = self.opts.linger_ms.clamp(-1, i64::from(i32::MAX)) as i32;
        let _ = self.socket.set_linger(0);
        let _ = self.socket.disconnect(&self.endpoint);
        let _ = self.socket.set_linger(linger);
        self.socket
            .connect(&self.endpoint)
            .map_err(|e| zmq_err(&format!("connecting to {}", self.endpoint), e))?;
        self.resend_on_up = true;
        self.renewals += 1;
        Ok(())
    }
}

impl Drop for V2Client {
    fn drop(&mut self) {
        // Stop the monitor while both ends exist (see Monitor::detach); the socket closes next.
        self.monitor.detach(&self.socket);
    }
}

/// What a session knows of one push stream.
struct StreamState {
    epoch: u64,
    last: u64,
    /// A subscription reply showed a new epoch: the next push reports a restart.
    restarted: bool,
}

/// What is known of every push stream the session subscribed to.
#[derive(Default)]
pub(crate) struct StreamSeqs {
    streams: std::collections::HashMap<String, StreamState>,
}

/// What became of a push when it was read.
pub(crate) enum Counted {
    /// Deliver it, with this many missed before it.
    Missed(u64),
    /// Not from a stream this session subscribed to.
    Unsolicited,
    /// Its sequence number is not past the last one read (a duplicate, or an old one).
    Duplicate,
}

impl StreamSeqs {
    /// A subscription reply: the stream's epoch and sequence number at registration. A new stream
    /// starts there (nothing missed); a known stream in the same epoch keeps its last number (so
    /// pushes lost while reconnecting show as missed); a new epoch is a restart.
    pub(crate) fn subscribed(&mut self, stream: String, epoch: u64, seq: u64) {
        match self.streams.get_mut(&stream) {
            Some(s) if s.epoch == epoch => {}
            Some(s) => {
                *s = StreamState {
                    epoch,
                    last: seq,
                    restarted: true,
                }
            }
            None => {
                self.streams.insert(
                    stream,
                    StreamState {
                        epoch,
                        last: seq,
                        restarted: false,
                    },
                );
            }
        }
    }

    /// Accounts for a (verified) push.
    pub(crate) fn count(&mut self, p: &Push) -> Counted {
        let Some(s) = self.streams.get_mut(&p.stream) else {
            return Counted::Unsolicited;
        };
        if p.epoch != s.epoch || s.restarted {
            *s = StreamState {
                epoch: p.epoch,
                last: p.seq,
                restarted: false,
            };
            return Counted::Missed(u64::MAX);
        }
        if p.seq <= s.last {
            return Counted::Duplicate;
        }
        let missed = p.seq - s.last - 1;
        s.last = p.seq;
        Counted::Missed(missed)
    }
}

/// Pushes and finished requests waiting to be read, in arrival order.
#[derive(Default)]
pub(crate) struct Inbox {
    pub(crate) done: VecDeque<(u64, Result<Vec<u8>>)>,
    pub(crate) pushes: VecDeque<Push>,
    /// Raw bytes of the unread pushes.
    pub(crate) push_bytes: usize,
    pub(crate) streams: StreamSeqs,
    /// Requests sent as raw frames ([`Session::send_frame`](super::Session::send_frame)) and not
    /// received yet: their replies are handed over as they came, not opened.
    pub(crate) raw: std::collections::HashSet<u64>,
}
