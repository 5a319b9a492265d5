//! The notary side: a REP endpoint that opens requests and answers them as legacy notaries did.

use std::time::{Duration, Instant};

use super::session::ERROR_REPLY_PREFIX;
use super::{Options, check_endpoint, context, zmq_err};
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::Key;
use crate::signed::{self, SignedText};

/// A request received by a notary: opened and parsed, not yet verified.
pub struct Request {
    id: u64,
    text: Vec<u8>,
    parsed: SignedText,
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
        text,
        parsed,
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
    /// REP sockets re-created (after rejected frames or unanswered requests).
    pub rebinds: u64,
}

/// A notary endpoint. Used by one thread at a time (it may move between threads).
pub struct Notary {
    endpoint: String,
    opts: Options,
    socket: Option<zmq::Socket>,
    auth: Key,
    enc: Key,
    nym_id: String,
    pending: Option<u64>,
    next_id: u64,
    stats: NotaryStats,
    /// The process that created the notary: its socket is useless in a forked child.
    pid: u32,
}

impl Drop for Notary {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // See `Session`'s drop: never close a parent's socket in a forked child.
            std::mem::forget(self.socket.take());
        }
    }
}

impl Notary {
    /// Binds a REP socket on `endpoint` (`tcp://127.0.0.1:*` picks a free port; see
    /// [`Notary::endpoint`]). `auth` signs replies, `enc` opens requests sealed to `nym_id`.
    pub fn bind(
        endpoint: &str,
        auth: &Key,
        enc: &Key,
        nym_id: &str,
        opts: Options,
    ) -> Result<Notary> {
        check_endpoint(endpoint)?;
        if !auth.is_private() || !enc.is_private() {
            return Err(Error::invalid("the notary keys must be private keys"));
        }
        if nym_id.is_empty() || nym_id.len() > 1024 {
            return Err(Error::invalid(
                "the notary NymID must be 1..=1024 characters",
            ));
        }
        let mut n = Notary {
            endpoint: endpoint.to_string(),
            opts,
            socket: None,
            auth: auth.clone(),
            enc: enc.clone(),
            nym_id: nym_id.to_string(),
            pending: None,
            next_id: 1,
            stats: NotaryStats::default(),
            pid: std::process::id(),
        };
        // A port just released by a previous notary is freed asynchronously by libzmq.
        n.open_socket(Duration::from_secs(1))?;
        Ok(n)
    }

    fn open_socket(&mut self, patience: Duration) -> Result<()> {
        self.socket = None;
        let s = context()
            .socket(zmq::REP)
            .map_err(|e| zmq_err("creating the REP socket", e))?;
        self.opts.apply(&s)?;
        let start = Instant::now();
        loop {
            match s.bind(&self.endpoint) {
                Ok(()) => break,
                // The old socket's port is released asynchronously by libzmq.
                Err(zmq::Error::EADDRINUSE) if start.elapsed() < patience => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(zmq_err(&format!("binding {}", self.endpoint), e)),
            }
        }
        if let Ok(Ok(ep)) = s.get_last_endpoint() {
            // Resolve wildcards (port *) so that a re-bind reuses the same address.
            self.endpoint = ep;
        }
        self.socket = Some(s);
        Ok(())
    }

    /// Re-creates the REP socket, as the legacy notary did after a bad request, so the next
    /// client is served.
    fn rebind(&mut self) -> Result<()> {
        self.stats.rebinds += 1;
        self.pending = None;
        self.open_socket(Duration::from_secs(5))
    }

    /// The concrete bound endpoint (wildcard ports resolved).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The notary's counters.
    pub fn stats(&self) -> NotaryStats {
        self.stats
    }

    /// Waits up to `timeout_ms` (negative: forever) for a request, then de-armors, opens and
    /// parses it. A frame that cannot be read is answered as configured (legacy: no reply and a
    /// re-created socket; `reply_errors`: a signed error `MESSAGE`), and its error returned: the
    /// notary keeps serving either way. A request left unanswered is dropped (legacy style) when
    /// the next one is received.
    pub fn receive(&mut self, timeout_ms: i64) -> Result<Request> {
        if self.pid != std::process::id() {
            return Err(super::forked_error("notary"));
        }
        if self.pending.is_some() {
            self.rebind()?;
        }
        if self.socket.is_none() {
            self.open_socket(Duration::from_secs(5))?;
        }
        let Some(s) = self.socket.as_ref() else {
            return Err(Error::internal("notary socket missing"));
        };
        let deadline =
            (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        loop {
            let wait = deadline.map_or(-1, |d| {
                d.saturating_duration_since(Instant::now()).as_millis() as i64
            });
            match s.poll(zmq::POLLIN, wait) {
                Ok(n) if n > 0 => break,
                Ok(_) => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("no request within {timeout_ms} ms"),
                    ));
                }
                Err(zmq::Error::EINTR) => continue,
                Err(e) => return Err(zmq_err("zmq_poll", e)),
            }
        }
        let parts = s
            .recv_multipart(zmq::DONTWAIT)
            .map_err(|e| zmq_err("receiving a request", e))?;
        let id = self.next_id;
        self.next_id += 1;
        let result = if parts.len() == 1 {
            self.open_frame(&parts[0], id)
        } else {
            Err(Error::malformed(format!(
                "request has {} frames; legacy requests are one frame",
                parts.len()
            )))
        };
        match result {
            Ok(req) => {
                self.stats.requests += 1;
                self.pending = Some(req.id);
                Ok(req)
            }
            Err(e) => {
                self.stats.rejected += 1;
                if self.opts.reply_errors {
                    let reason = match e.kind() {
                        ErrorKind::DecryptFailed | ErrorKind::NoMatchingRecipient => {
                            "the request could not be opened with this notary's key"
                        }
                        _ => "the request is not a sealed, signed OT message",
                    };
                    let content = format!("{ERROR_REPLY_PREFIX}{reason}\"/>\n");
                    let s = self
                        .socket
                        .as_ref()
                        .ok_or_else(|| Error::internal("notary socket missing"))?;
                    let sent = signed::create("MESSAGE", content.as_bytes(), &self.auth, None)
                        .and_then(|t| {
                            armor::encode_bookended(t.as_bytes(), Kind::String, "MESSAGE", false)
                        })
                        .and_then(|frame| {
                            s.send(frame.as_bytes(), 0)
                                .map_err(|e| zmq_err("sending", e))
                        });
                    if sent.is_err() {
                        self.rebind()?;
                    }
                } else {
                    self.rebind()?;
                }
                Err(e)
            }
        }
    }

    fn open_frame(&self, frame: &[u8], id: u64) -> Result<Request> {
        let mut r = open_request_frame(frame, &self.nym_id, &self.enc)?;
        r.id = id;
        Ok(r)
    }

    /// Answers `request` (which must be the one awaiting a reply): `content` is signed as a
    /// `MESSAGE` with the notary's authentication key, sealed to `recipient` (the client's
    /// encryption key) with an empty NymID and sent bookended as `ENVELOPE`; with `None`, sent as
    /// the legacy unencrypted bookended `MESSAGE`.
    pub fn reply(
        &mut self,
        request: &Request,
        content: &[u8],
        recipient: Option<&Key>,
    ) -> Result<()> {
        if self.pid != std::process::id() {
            return Err(super::forked_error("notary"));
        }
        if self.pending != Some(request.id) {
            return Err(Error::new(
                ErrorKind::State,
                "this request is not the one awaiting a reply (already answered, or dropped)",
            ));
        }
        let text = signed::create("MESSAGE", content, &self.auth, None)?;
        let frame = match recipient {
            Some(k) => Envelope::seal(&[Recipient { nym_id: "", key: k }], text.as_bytes())?
                .to_armor(true)?,
            None => armor::encode_bookended(text.as_bytes(), Kind::String, "MESSAGE", false)?,
        };
        let Some(s) = self.socket.as_ref() else {
            return Err(Error::internal("notary socket missing"));
        };
        s.send(frame.as_bytes(), 0)
            .map_err(|e| zmq_err("sending the reply", e))?;
        self.pending = None;
        self.stats.replies += 1;
        Ok(())
    }
}
