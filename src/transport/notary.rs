//! The notary side: a REP endpoint that opens requests and answers them as legacy notaries did.

use std::time::{Duration, Instant};

use super::session::ERROR_REPLY_PREFIX;
use super::{Options, check_endpoint, context, zmq_err};
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed::{self, SignedText};

/// A request received by a notary: opened and parsed, not yet verified.
pub struct Request {
    id: u64,
    /// Index of the notary identity that opened it (its auth key signs the reply).
    identity: usize,
    /// Whether it came as a legacy (type 0/1) envelope: its reply must then be RSA/SAMY.
    legacy: bool,
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

/// One notary identity: `auth` signs replies, `enc` opens requests sealed to `nym_id`.
struct Identity {
    auth: Key,
    enc: Key,
    nym_id: String,
}

/// Most identities one notary endpoint holds.
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

/// A notary endpoint. Used by one thread at a time (it may move between threads).
///
/// Suite v3: a notary may hold several identities at once (an RSA one for legacy clients and a
/// v3 one, say; [`Notary::add_identity`]). A request's envelope type (1: RSA, 3: X25519) and its
/// recipient NymIDs choose the identity that opens it; the reply is signed by that identity and
/// sealed to the key the application names, whose algorithm chooses the envelope type — so a
/// legacy client is only ever sent type 1 and SAMY.
pub struct Notary {
    endpoint: String,
    opts: Options,
    socket: Option<zmq::Socket>,
    /// The notary's identities; the first is the one given to [`Notary::bind`].
    identities: Vec<Identity>,
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
        let first = check_identity(auth, enc, nym_id)?;
        let mut n = Notary {
            endpoint: endpoint.to_string(),
            opts,
            socket: None,
            identities: vec![first],
            pending: None,
            next_id: 1,
            stats: NotaryStats::default(),
            pid: std::process::id(),
        };
        // A port just released by a previous notary is freed asynchronously by libzmq.
        n.open_socket(Duration::from_secs(1))?;
        Ok(n)
    }

    /// Adds another identity served on the same endpoint (e.g. a v3 identity next to the RSA
    /// one): `auth` (RSA or Ed25519) signs replies to requests it opened, `enc` (RSA or X25519)
    /// opens requests sealed to `nym_id`. NymIDs must differ; at most
    /// [`MAX_NOTARY_IDENTITIES`] identities.
    pub fn add_identity(&mut self, auth: &Key, enc: &Key, nym_id: &str) -> Result<()> {
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
                    // Sign with an identity of the requester's suite: a legacy (type-1 or
                    // unreadable) request only ever gets an RSA/SAMY answer; none at all if
                    // the notary has no RSA identity.
                    let v3 = armor::decode(
                        &parts[0][..memchr::memchr(0, &parts[0]).unwrap_or(parts[0].len())],
                        Kind::Data,
                    )
                    .is_ok_and(|b| b.starts_with(&[0, 3]));
                    let signer = self
                        .identities
                        .iter()
                        .find(|i| (i.auth.algorithm() == Algorithm::Ed25519) == v3)
                        .map(|i| i.auth.clone());
                    let sent = signer
                        .ok_or_else(|| Error::internal("no identity of the requester's suite"))
                        .and_then(|k| signed::create("MESSAGE", content.as_bytes(), &k, None))
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
        let frame = &frame[..memchr::memchr(0, frame).unwrap_or(frame.len())];
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
            id,
            identity: n,
            legacy: env.envelope_type() != 3,
            text,
            parsed,
        })
    }

    /// Answers `request` (which must be the one awaiting a reply): `content` is signed as a
    /// `MESSAGE` with the authentication key of the identity that opened the request, sealed to
    /// `recipient` (the client's encryption key: RSA → type 1, X25519 → type 3) with an empty
    /// NymID and sent bookended as `ENVELOPE`; with `None`, sent as the legacy unencrypted
    /// bookended `MESSAGE`. A request that arrived as type 1 (a possibly legacy client) is
    /// answered only with RSA/SAMY: an identity that signs with Ed25519 is refused
    /// (`InvalidArgument`) rather than sending a legacy peer a SHA256D signature; a type-3 reply
    /// goes only where the application names an X25519 key, i.e. to a peer whose keys are v3.
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
        let text = signed::create("MESSAGE", content, &ident.auth, None)?;
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
