//! The client side: a lock-step REQ session that never wedges on a lost reply.

use std::time::{Duration, Instant};

use super::client::{Event, Inbox, Push, V2Client};
use super::frames::ERROR_REPLY_PREFIX;
use super::monitor::Monitor;

use super::{Options, check_endpoint, context, forked_error, zmq_err};
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed;

struct Identity {
    auth: Key,
    enc: Key,
}

struct NotaryInfo {
    nym_id: String,
    enc: Key,
    auth: Key,
}

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
    "pushes_queued",
    "pushes_queued_bytes",
];

/// Unread pushes a session keeps: at most this many…
pub const PUSH_QUEUE: usize = 4096;
/// …and at most this many bytes (raw, before opening); the oldest are dropped beyond.
pub const PUSH_QUEUE_BYTES: usize = 16 << 20;

/// How a wait ended.
enum Waited {
    Ready,
    /// The attempt is lost (schedule exhausted, or the connection died): resend if allowed.
    Lost,
    /// The request's overall deadline passed.
    Deadline,
}

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

    /// Closes the REQ socket and its monitor, the monitor stopped first (see Monitor::detach).
    fn drop_socket(&mut self) {
        if let (Some(m), Some(s)) = (self.monitor.as_mut(), self.socket.as_ref()) {
            m.detach(s);
        }
        self.socket = None;
        self.monitor = None;
    }

    fn fresh_socket(&mut self) -> Result<()> {
        self.drop_socket(); // close the old one first (linger applies)
        let s = context()
            .socket(zmq::REQ)
            .map_err(|e| zmq_err("creating the REQ socket", e))?;
        self.opts.apply(&s)?;
        if self.opts.req_relaxed {
            s.set_req_relaxed(true)
                .map_err(|e| zmq_err("ZMQ_REQ_RELAXED", e))?;
            s.set_req_correlate(true)
                .map_err(|e| zmq_err("ZMQ_REQ_CORRELATE", e))?;
        }
        let monitor = match self.opts.liveness_ms() {
            Some(_) => Some(Monitor::attach(&s)?),
            None => None,
        };
        s.connect(&self.endpoint)
            .map_err(|e| zmq_err(&format!("connecting to {}", self.endpoint), e))?;
        self.socket = Some(s);
        self.monitor = monitor;
        self.stats.sockets_created += 1;
        Ok(())
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
            "pushes_unsolicited" => s.pushes_unsolicited,
            "pushes_invalid" => s.pushes_invalid,
            "pushes_overflow" => s.pushes_overflow,
            "pushes_queued" => self.inbox.pushes.len() as u64,
            "pushes_queued_bytes" => self.inbox.push_bytes as u64,
            _ => return None,
        })
    }

    /// Waits for `events` on the socket with the legacy doubling poll schedule `polls`, ending
    /// early at `deadline`, or — with heartbeats on — when the connection is lost or has not
    /// come up within the liveness time since `attempt_start`.
    fn wait(
        &mut self,
        events: zmq::PollEvents,
        polls: &[Option<i64>],
        deadline: Option<Instant>,
        attempt_start: Instant,
    ) -> Result<Waited> {
        let liveness = self
            .opts
            .liveness_ms()
            .map(|ms| Duration::from_millis(ms as u64));
        let Some(socket) = self.socket.as_ref() else {
            return Ok(Waited::Lost);
        };
        for t in polls {
            let poll_end = t.map(|ms| Instant::now() + Duration::from_millis(ms as u64));
            loop {
                let now = Instant::now();
                if deadline.is_some_and(|d| now >= d) {
                    return Ok(Waited::Deadline);
                }
                if let (Some(m), Some(l)) = (self.monitor.as_mut(), liveness) {
                    m.drain()?;
                    if m.lost || (!m.up && now.duration_since(attempt_start) >= l) {
                        return Ok(Waited::Lost);
                    }
                }
                if poll_end.is_some_and(|e| now >= e) {
                    break;
                }
                // Sleep until the earliest of: this poll's end, the deadline, the liveness
                // check (re-checked at least every 100 ms while the connection is not up).
                let mut until = [poll_end, deadline].into_iter().flatten().min();
                if self.monitor.as_ref().is_some_and(|m| !m.up) {
                    let tick = now + Duration::from_millis(100);
                    until = Some(until.map_or(tick, |u| u.min(tick)));
                }
                let ms = until.map_or(-1, |u| {
                    u.saturating_duration_since(now).as_millis().max(1) as i64
                });
                let mut items = vec![socket.as_poll_item(events)];
                if let Some(m) = self.monitor.as_ref() {
                    items.push(m.pair.as_poll_item(zmq::POLLIN));
                }
                match zmq::poll(&mut items, ms) {
                    Ok(_) if items[0].get_revents().intersects(events) => {
                        return Ok(Waited::Ready);
                    }
                    Ok(_) | Err(zmq::Error::EINTR) => {}
                    Err(e) => return Err(zmq_err("zmq_poll", e)),
                }
            }
        }
        Ok(Waited::Lost)
    }

    /// One raw lock-step exchange: sends `frame` as one message and returns the reply frame.
    ///
    /// When no reply arrives within the receive schedule (or, with heartbeats on, the connection
    /// dies), the socket is closed and re-created (or, with `req_relaxed`, kept) and the frame
    /// re-sent, up to `max_resends` times; then [`ErrorKind::Timeout`]. `request_timeout_ms`
    /// bounds the whole exchange. A frame over `max_message_size` is refused before sending
    /// ([`ErrorKind::InvalidArgument`]). The session stays usable after any error.
    pub fn exchange(&mut self, frame: &[u8]) -> Result<Vec<u8>> {
        self.check_process()?;
        if self.decide()? == Protocol::V2 {
            let id = self.v2_send(frame.to_vec(), false)?;
            return self.v2_wait(id);
        }
        if self.opts.max_message_size >= 0 && frame.len() as u64 > self.opts.max_message_size as u64
        {
            return Err(Error::invalid(format!(
                "the request frame is {} bytes, over max_message_size ({} bytes): a notary with \
                 the same limit would drop it; raise the option on both ends or send less",
                frame.len(),
                self.opts.max_message_size
            )));
        }
        let start = Instant::now();
        let deadline = (self.opts.request_timeout_ms > 0)
            .then(|| start + Duration::from_millis(self.opts.request_timeout_ms as u64));
        let attempts = self.opts.max_resends + 1;
        let mut lost_connection = false;
        for attempt in 0..attempts {
            if attempt > 0 {
                self.stats.resends += 1;
                if !self.opts.req_relaxed {
                    self.fresh_socket()?;
                }
            }
            if self.socket.is_none() {
                self.fresh_socket()?;
            }
            let outcome = self.one_attempt(frame, deadline)?;
            if let Some(m) = self.monitor.as_ref() {
                lost_connection |= m.lost || !m.up;
            }
            match outcome {
                (Waited::Ready, Some(reply)) => {
                    self.stats.replies += 1;
                    return Ok(reply);
                }
                (Waited::Deadline, _) => {
                    self.drop_socket();
                    self.stats.timeouts += 1;
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "no reply from {} within request_timeout_ms ({} ms, {} attempt(s))",
                            self.endpoint,
                            self.opts.request_timeout_ms,
                            attempt + 1
                        ),
                    ));
                }
                _ => {
                    // Lost: a strict REQ socket is now stuck waiting; drop it.
                    if !self.opts.req_relaxed {
                        self.drop_socket();
                    }
                }
            }
        }
        self.stats.timeouts += 1;
        let why = if lost_connection {
            format!(
                "the connection to {} is dead (no heartbeat answer or no connection within \
                 {} ms)",
                self.endpoint,
                self.opts.liveness_ms().unwrap_or(0)
            )
        } else {
            format!("no reply from {}", self.endpoint)
        };
        Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "{why} after {attempts} attempt(s){}",
                self.opts
                    .worst_case_ms()
                    .map_or(String::new(), |ms| format!(" (up to {ms} ms)"))
            ),
        ))
    }

    /// One non-blocking send: true when libzmq took the frame, false when it cannot yet (EAGAIN)
    /// or the REQ socket is stuck (EFSM); other failures are errors.
    fn try_send(socket: &zmq::Socket, frame: &[u8]) -> Result<bool> {
        match socket.send(frame, zmq::DONTWAIT) {
            Ok(()) => Ok(true),
            Err(zmq::Error::EAGAIN) | Err(zmq::Error::EFSM) => Ok(false),
            Err(e) => Err(zmq_err("sending the request", e)),
        }
    }

    /// Sends once and waits once. `(Ready, Some(reply))` on success.
    fn one_attempt(
        &mut self,
        frame: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(Waited, Option<Vec<u8>>)> {
        let send_polls = self.opts.send_polls();
        let recv_polls = self.opts.receive_polls();
        let start = Instant::now();
        if let Some(m) = self.monitor.as_mut() {
            m.drain()?;
            m.lost = false;
        }
        let Some(s) = self.socket.as_ref() else {
            return Ok((Waited::Lost, None));
        };
        // Try to send at once; only when libzmq cannot take the frame yet, poll for it.
        if !Self::try_send(s, frame)? {
            match self.wait(zmq::POLLOUT, &send_polls, deadline, start)? {
                Waited::Ready => {}
                other => return Ok((other, None)),
            }
            let Some(s) = self.socket.as_ref() else {
                return Ok((Waited::Lost, None));
            };
            if !Self::try_send(s, frame)? {
                return Ok((Waited::Lost, None));
            }
        }
        if self.opts.latency_delay_after > 0 {
            std::thread::sleep(Duration::from_millis(self.opts.latency_delay_after as u64));
        }
        match self.wait(zmq::POLLIN, &recv_polls, deadline, start)? {
            Waited::Ready => {}
            other => return Ok((other, None)),
        }
        let Some(s) = self.socket.as_ref() else {
            return Ok((Waited::Lost, None));
        };
        let parts = match s.recv_multipart(zmq::DONTWAIT) {
            Ok(p) => p,
            Err(zmq::Error::EAGAIN) => return Ok((Waited::Lost, None)),
            Err(e) => return Err(zmq_err("receiving the reply", e)),
        };
        if parts.len() != 1 {
            return Err(Error::new(
                ErrorKind::Transport,
                format!(
                    "the notary replied with {} frames; legacy replies are one frame",
                    parts.len()
                ),
            ));
        }
        Ok((Waited::Ready, parts.into_iter().next()))
    }

    /// Sets the client's own keys: `auth` signs requests, `enc` opens replies. Both private.
    /// The keys choose the suite (suite v3 §5): an RSA `auth` signs `Hash: SAMY`, an Ed25519
    /// one `Hash: SHA256D`; replies come sealed to `enc` (RSA: type 1, X25519: type 3). An
    /// Ed25519 `auth` is refused at request time with a notary whose keys are all RSA.
    /// The session keeps its own copies.
    pub fn set_identity(&mut self, auth: &Key, enc: &Key) -> Result<()> {
        self.check_process()?;
        if !auth.is_private() || !enc.is_private() {
            return Err(Error::invalid("the identity keys must be private keys"));
        }
        if auth.algorithm() == Algorithm::X25519 {
            return Err(Error::invalid(
                "the authentication key signs requests: RSA or Ed25519, not X25519",
            ));
        }
        if enc.algorithm() == Algorithm::Ed25519 {
            return Err(Error::invalid(
                "the encryption key opens replies: RSA or X25519, not Ed25519",
            ));
        }
        self.identity = Some(Identity {
            auth: auth.clone(),
            enc: enc.clone(),
        });
        Ok(())
    }

    /// Sets the notary: its NymID (written in the request envelope), its encryption key (requests
    /// are sealed to it) and its authentication key (replies must be signed by it).
    /// Requests are sealed type 1 to an RSA `enc` and type 3 to an X25519 one.
    pub fn set_notary(&mut self, nym_id: &str, enc: &Key, auth: &Key) -> Result<()> {
        self.check_process()?;
        if nym_id.is_empty() || nym_id.len() > 1024 {
            return Err(Error::invalid(
                "the notary NymID must be 1..=1024 characters",
            ));
        }
        if enc.algorithm() == Algorithm::Ed25519 {
            return Err(Error::invalid(
                "the notary encryption key receives requests: RSA or X25519, not Ed25519",
            ));
        }
        if auth.algorithm() == Algorithm::X25519 {
            return Err(Error::invalid(
                "the notary authentication key signs replies: RSA or Ed25519, not X25519",
            ));
        }
        self.notary = Some(NotaryInfo {
            nym_id: nym_id.to_string(),
            enc: enc.to_public(),
            auth: auth.to_public(),
        });
        Ok(())
    }

    /// Builds the request frame for `content`: signed `MESSAGE` (auth key), sealed to the notary,
    /// bare armor without NUL — exactly what a legacy client sends.
    pub fn request_frame(&self, content: &[u8]) -> Result<Vec<u8>> {
        let id = self.identity.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::State,
                "set the identity keys before sending requests",
            )
        })?;
        let n = self.notary.as_ref().ok_or_else(|| {
            Error::new(ErrorKind::State, "set the notary before sending requests")
        })?;
        // Suite v3 §5 / design rule 1: a notary whose keys are all RSA is a legacy peer; it is
        // never sent a SHA256D signature.
        if id.auth.algorithm() == Algorithm::Ed25519
            && n.enc.algorithm() == Algorithm::Rsa
            && n.auth.algorithm() == Algorithm::Rsa
        {
            return Err(Error::invalid(
                "this notary's keys are RSA (a legacy notary): it cannot verify an Ed25519 \
                 signature; use an RSA identity with it",
            ));
        }
        let text = signed::create("MESSAGE", content, &id.auth, None)?;
        let env = Envelope::seal(
            &[Recipient {
                nym_id: &n.nym_id,
                key: &n.enc,
            }],
            text.as_bytes(),
        )?;
        Ok(env.to_armor(false)?.into_bytes())
    }

    /// Reads a reply frame: a bookended `ENVELOPE` (opened with our encryption key) or the legacy
    /// unencrypted bookended `MESSAGE`; the notary's signature must verify. Returns the content.
    pub fn read_reply(&self, reply: &[u8]) -> Result<Vec<u8>> {
        let id = self.identity.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::State,
                "set the identity keys before reading replies",
            )
        })?;
        let n = self
            .notary
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::State, "set the notary before reading replies"))?;
        if reply.is_empty() {
            return Err(Error::new(
                ErrorKind::Transport,
                "the notary sent an empty reply: it could not process the request",
            ));
        }
        let a = armor::split(reply)?;
        let text = match a.armor_type.as_deref() {
            Some("ENVELOPE") => {
                let env = Envelope::parse(&armor::decode_body(&a.body, Kind::Data)?)?;
                // Replies and pushes are sealed to the key-only entry: a type-3 reply opens that
                // one only (a forged reply with thousands of entries costs one key operation);
                // type 0/1 follow the legacy rule, which tries one entry at most.
                let nym = (env.envelope_type() == 3).then_some("");
                env.open(nym, &id.enc)?
            }
            // Inflating stops at max_message_size: a zlib bomb is refused (`Malformed`) before
            // it can cost more memory than a legitimate reply.
            Some("MESSAGE") => armor::decode_body_limited(
                &a.body,
                Kind::String,
                usize::try_from(self.opts.max_message_size).unwrap_or(armor::MAX_INFLATED),
            )?,
            other => {
                return Err(Error::new(
                    ErrorKind::Transport,
                    format!(
                        "unexpected reply: {} (wanted OT ARMORED ENVELOPE or MESSAGE)",
                        other.map_or("bare armor".to_string(), |t| format!(
                            "bookend type {}",
                            crate::error::quote(t)
                        ))
                    ),
                ));
            }
        };
        let content = signed::verify(&text, &n.auth)?;
        if let Some(rest) = content.strip_prefix(ERROR_REPLY_PREFIX.as_bytes()) {
            let reason = String::from_utf8_lossy(rest);
            let reason = reason.split('"').next().unwrap_or("");
            return Err(Error::new(
                ErrorKind::Transport,
                format!("the notary rejected the request: {reason}"),
            ));
        }
        Ok(content)
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

    fn v2_client(&mut self) -> Result<&mut V2Client> {
        if self.decide()? != Protocol::V2 {
            return Err(Error::new(
                ErrorKind::State,
                "this needs protocol v2 (set the session option protocol to 1, or 2 for auto, and \
                 a notary that speaks it); this session speaks legacy REQ",
            ));
        }
        self.v2
            .as_mut()
            .ok_or_else(|| Error::internal("v2 session without its socket"))
    }

    fn v2_send(&mut self, frame: Vec<u8>, subscription: bool) -> Result<u64> {
        let c = self.v2_client()?;
        let id = c.send(frame.clone(), false)?;
        if subscription {
            c.set_subscription(frame);
        }
        Ok(id)
    }

    /// Files what the v2 connection reported into the inbox.
    fn file(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Reply(id, body) => self.inbox.done.push_back((id, Ok(body))),
                Event::Failed(id, err) => {
                    self.stats.timeouts += u64::from(err.kind() == ErrorKind::Timeout);
                    self.inbox.done.push_back((id, Err(err)))
                }
                Event::Push(seq, body) => {
                    // Bounded in number and bytes: pushes nobody reads cannot grow without limit.
                    self.inbox.push_bytes += body.len();
                    self.inbox.pushes.push_back(Push {
                        seq,
                        missed: 0,
                        content: body,
                    });
                    while self.inbox.pushes.len() > PUSH_QUEUE
                        || self.inbox.push_bytes > PUSH_QUEUE_BYTES
                    {
                        let Some(old) = self.inbox.pushes.pop_front() else {
                            break;
                        };
                        self.inbox.push_bytes -= old.content.len();
                        self.stats.pushes_overflow += 1;
                    }
                }
            }
        }
    }

    fn pump(&mut self, until: Option<Instant>) -> Result<()> {
        let c = self.v2_client()?;
        let events = c.pump(until)?;
        let (resends, unsolicited) = (c.resends, c.pushes_unsolicited);
        self.stats.resends = resends;
        self.stats.pushes_unsolicited = unsolicited;
        self.file(events);
        Ok(())
    }

    /// Waits for request `id` (its own timers end it), keeping other completions for `receive`.
    fn v2_wait(&mut self, id: u64) -> Result<Vec<u8>> {
        loop {
            if let Some(i) = self.inbox.done.iter().position(|(d, _)| *d == id) {
                let (_, r) = self.inbox.done.remove(i).unwrap_or((id, Ok(Vec::new())));
                if r.is_ok() {
                    self.stats.replies += 1;
                }
                return r;
            }
            self.pump(Some(Instant::now() + Duration::from_secs(3600)))?;
        }
    }

    /// v2: signs, seals and sends `content` without waiting; returns the request id to match
    /// with [`Session::receive`]. At most `max_in_flight` requests wait at once (`State`).
    pub fn send(&mut self, content: &[u8]) -> Result<u64> {
        self.check_process()?;
        self.v2_client()?;
        let frame = self.request_frame(content)?;
        self.v2_send(frame, false)
    }

    /// v2: the next finished request, waiting up to `timeout_ms` (0: do not wait; negative:
    /// forever): its id and its verified reply content or its error. `Timeout` when none
    /// finished in time.
    pub fn receive(&mut self, timeout_ms: i64) -> Result<(u64, Result<Vec<u8>>)> {
        self.check_process()?;
        let until = deadline(timeout_ms);
        loop {
            if let Some((id, raw)) = self.inbox.done.pop_front() {
                let r = raw.and_then(|b| self.read_reply(&b));
                if r.is_ok() {
                    self.stats.replies += 1;
                }
                return Ok((id, r));
            }
            if until.is_some_and(|u| Instant::now() >= u) {
                self.pump(None)?;
                if self.inbox.done.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("no request finished within {timeout_ms} ms"),
                    ));
                }
                continue;
            }
            self.pump(until.or(Some(Instant::now() + Duration::from_secs(3600))))?;
        }
    }

    /// v2: sends a subscription request (an application request the notary accepts with
    /// `register_push`), waits for its reply, and remembers it: after every reconnect the session
    /// sends it again by itself, so pushes keep coming after a notary restart.
    pub fn subscribe(&mut self, content: &[u8]) -> Result<Vec<u8>> {
        self.check_process()?;
        self.v2_client()?;
        let frame = self.request_frame(content)?;
        let id = self.v2_send(frame, true)?;
        let r = self.v2_wait(id).and_then(|raw| self.read_reply(&raw));
        if r.is_err()
            && let Some(c) = self.v2.as_mut()
        {
            // Not subscribed after all: pushes are not expected on this connection.
            c.clear_subscription();
        }
        r
    }

    /// v2: the next push, opened and verified, waiting up to `timeout_ms` (0: do not wait;
    /// negative: forever). `Timeout` when none arrived. A push that does not open or verify
    /// (forged, or sealed to another key) is dropped and counted (`pushes_invalid`), never
    /// returned as an error, and its sequence number is not taken into account.
    pub fn next_push(&mut self, timeout_ms: i64) -> Result<Push> {
        self.check_process()?;
        let until = deadline(timeout_ms);
        loop {
            while let Some(p) = self.inbox.pushes.pop_front() {
                self.inbox.push_bytes -= p.content.len();
                let content = match self.read_reply(&p.content) {
                    Ok(c) => c,
                    Err(_) => {
                        self.stats.pushes_invalid += 1;
                        continue;
                    }
                };
                let missed = self.inbox.seq.missed(p.seq);
                return Ok(Push {
                    seq: p.seq,
                    missed,
                    content,
                });
            }
            let now = Instant::now();
            if until.is_some_and(|u| now >= u) {
                self.pump(None)?;
                if self.inbox.pushes.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("no push within {timeout_ms} ms"),
                    ));
                }
                continue;
            }
            self.pump(until.or(Some(now + Duration::from_secs(3600))))?;
        }
    }

    /// Requests sent with [`Session::send`] and not received yet.
    pub fn in_flight(&self) -> usize {
        self.v2.as_ref().map_or(0, |c| c.in_flight()) + self.inbox.done.len()
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

fn deadline(timeout_ms: i64) -> Option<Instant> {
    (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64))
}
