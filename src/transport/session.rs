//! The client side: a lock-step REQ session that never wedges on a lost reply.

use std::time::Duration;

use super::{Options, check_endpoint, context, zmq_err};
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::Key;
use crate::signed;

/// Content prefix of the error replies a notary sends with the `reply_errors` option.
pub(crate) const ERROR_REPLY_PREFIX: &str = "<otTransportError reason=\"";

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
}

/// A client session with one notary endpoint. Used by one thread at a time (it may move
/// between threads).
pub struct Session {
    endpoint: String,
    opts: Options,
    socket: Option<zmq::Socket>,
    identity: Option<Identity>,
    notary: Option<NotaryInfo>,
    stats: SessionStats,
}

impl Session {
    /// Creates a session that will connect to `endpoint` (e.g. `tcp://127.0.0.1:7085`).
    /// Connecting is asynchronous: no error arises when no notary is listening yet.
    pub fn new(endpoint: &str, opts: Options) -> Result<Session> {
        check_endpoint(endpoint)?;
        let mut s = Session {
            endpoint: endpoint.to_string(),
            opts,
            socket: None,
            identity: None,
            notary: None,
            stats: SessionStats::default(),
        };
        s.fresh_socket()?;
        Ok(s)
    }

    fn fresh_socket(&mut self) -> Result<()> {
        self.socket = None; // close the old one first (linger applies)
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
        s.connect(&self.endpoint)
            .map_err(|e| zmq_err(&format!("connecting to {}", self.endpoint), e))?;
        self.socket = Some(s);
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

    /// Waits for `events` with the legacy doubling poll schedule; true when ready.
    fn wait(socket: &zmq::Socket, events: zmq::PollEvents, polls: &[Option<i64>]) -> Result<bool> {
        for t in polls {
            loop {
                match socket.poll(events, t.unwrap_or(-1)) {
                    Ok(n) if n > 0 => return Ok(true),
                    Ok(_) => break,
                    Err(zmq::Error::EINTR) => continue,
                    Err(e) => return Err(zmq_err("zmq_poll", e)),
                }
            }
        }
        Ok(false)
    }

    /// One raw lock-step exchange: sends `frame` as one message and returns the reply frame.
    ///
    /// When no reply arrives within the receive schedule, the socket is closed and re-created
    /// (or, with `req_relaxed`, kept) and the frame re-sent, up to `max_resends` times; then
    /// [`ErrorKind::Timeout`]. The session stays usable after any error.
    pub fn exchange(&mut self, frame: &[u8]) -> Result<Vec<u8>> {
        let attempts = self.opts.max_resends + 1;
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
            match self.one_attempt(frame)? {
                Some(reply) => {
                    self.stats.replies += 1;
                    return Ok(reply);
                }
                None => {
                    // Lost: a strict REQ socket is now stuck waiting; drop it.
                    if !self.opts.req_relaxed {
                        self.socket = None;
                    }
                }
            }
        }
        self.stats.timeouts += 1;
        Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "no reply from {} after {attempts} attempt(s) (up to {} ms)",
                self.endpoint,
                self.opts.worst_case_ms()
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

    /// Sends once and waits once. `Ok(None)` when the reply did not come in time.
    fn one_attempt(&mut self, frame: &[u8]) -> Result<Option<Vec<u8>>> {
        let send_polls = self.opts.send_polls();
        let recv_polls = self.opts.receive_polls();
        let Some(s) = self.socket.as_ref() else {
            return Ok(None);
        };
        // Try to send at once; only when libzmq cannot take the frame yet, poll for it.
        let sent = Self::try_send(s, frame)?
            || (Self::wait(s, zmq::POLLOUT, &send_polls)? && Self::try_send(s, frame)?);
        if !sent {
            return Ok(None);
        }
        if self.opts.latency_delay_after > 0 {
            std::thread::sleep(Duration::from_millis(self.opts.latency_delay_after as u64));
        }
        if !Self::wait(s, zmq::POLLIN, &recv_polls)? {
            return Ok(None);
        }
        let parts = match s.recv_multipart(zmq::DONTWAIT) {
            Ok(p) => p,
            Err(zmq::Error::EAGAIN) => return Ok(None),
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
        Ok(parts.into_iter().next())
    }

    /// Sets the client's own keys: `auth` signs requests, `enc` opens replies. Both private.
    /// The session keeps its own copies.
    pub fn set_identity(&mut self, auth: &Key, enc: &Key) -> Result<()> {
        if !auth.is_private() || !enc.is_private() {
            return Err(Error::invalid("the identity keys must be private keys"));
        }
        self.identity = Some(Identity {
            auth: auth.clone(),
            enc: enc.clone(),
        });
        Ok(())
    }

    /// Sets the notary: its NymID (written in the request envelope), its encryption key (requests
    /// are sealed to it) and its authentication key (replies must be signed by it).
    pub fn set_notary(&mut self, nym_id: &str, enc: &Key, auth: &Key) -> Result<()> {
        if nym_id.is_empty() || nym_id.len() > 1024 {
            return Err(Error::invalid(
                "the notary NymID must be 1..=1024 characters",
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
                env.open(None, &id.enc)?
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
        let frame = self.request_frame(content)?;
        let reply = self.exchange(&frame)?;
        self.read_reply(&reply)
    }
}
