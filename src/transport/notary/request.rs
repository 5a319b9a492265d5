//! A request as the notary hands it to the application, where it came from, and what happens when
//! the application lets it go without an answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use super::Core;
use super::actor::Cmd;
use super::reply_book::Key as ReqKey;
use crate::armor::{self, Kind};
use crate::envelope::Envelope;
use crate::error::Result;
use crate::keys::Key;
use crate::secret::{SecretVec, wipe_vec};
use crate::signed::{self, SignedText};
use crate::transport::frames;

/// The one reason a notary gives, on the wire, for every request it could not read — whatever
/// failed (armor, envelope, RSA unwrap, CBC padding, HPKE, signed-text parsing, or the
/// application's signature check). One text, so that the answer is no oracle: a type-1 request
/// has no MAC, and telling a bad padding from a good one let a captured request be decrypted.
pub const UNREADABLE: &str = "the request could not be read";

/// The earliest a notary answers a request it could not read, counted from its arrival: 25 ms,
/// plus 25 ns per byte of the request (room for the work on a large one). Whatever failed, and
/// however early, the answer goes out at that time, so its timing says nothing about where it
/// failed — as long as the application decides within it too.
pub fn unreadable_answer_delay(request_len: usize) -> Duration {
    Duration::from_millis(25) + Duration::from_nanos(25u64.saturating_mul(request_len as u64))
}

/// Where a request came from, so that its reply (and pushes) can go back there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Route {
    /// Index of the notary's bound socket.
    pub(crate) socket: usize,
    /// The ZeroMQ routing id of the peer on that socket, then (legacy REQ_CORRELATE peers) the
    /// rest of the envelope a REP socket would echo.
    pub(crate) peer: Vec<u8>,
    pub(crate) envelope_rest: Vec<Vec<u8>>,
    /// A v2 request: its id and body digest; `None` for a legacy REQ peer.
    pub(crate) v2: Option<ReqKey>,
}

impl Route {
    /// The frames of a legacy reply: the envelope the request came with, the delimiter, the body.
    pub(crate) fn legacy_frames(&self, body: Vec<u8>) -> Vec<Vec<u8>> {
        let mut f = Vec::with_capacity(self.envelope_rest.len() + 3);
        f.push(self.peer.clone());
        f.extend(self.envelope_rest.iter().cloned());
        f.push(Vec::new());
        f.push(body);
        f
    }
}

/// Where a dropped, unanswered request reports itself: the notary (gone: nothing to do), and when
/// its uniform answer is due.
pub(crate) struct Release {
    pub(crate) core: Weak<Core>,
    pub(crate) due: Instant,
}

/// A request received by a notary: opened and parsed, not yet verified. Immutable (it may be read
/// from any thread); answered once with [`super::Notary::reply`]. Dropping it unanswered tells
/// the notary, which then answers the requester as it answers an unreadable request (the same
/// `ERR`, at the same delay) — the README's loop drops requests that do not verify.
pub struct Request {
    pub(crate) id: u64,
    /// Index of the notary identity that opened it (its auth key signs the reply).
    pub(crate) identity: usize,
    /// Whether it came as a legacy (type 0/1) envelope: its reply must then be RSA/SAMY.
    pub(crate) legacy: bool,
    pub(crate) text: SecretVec,
    pub(crate) parsed: SignedText,
    pub(crate) route: Option<Route>,
    /// The notary that received it (its tag), so another notary cannot answer it.
    pub(crate) notary: u64,
    pub(crate) replied: AtomicBool,
    pub(crate) release: Option<Release>,
    /// Push streams registered on this request (a subscription), with their sequence number at
    /// registration: the reply tells the client.
    pub(crate) streams: Mutex<Vec<(String, u64)>>,
}

impl Drop for Request {
    fn drop(&mut self) {
        // The content is the sender's message: wiped (the text is; the parsed copy too).
        wipe_vec(&mut self.parsed.content);
        if self.replied.load(Ordering::Acquire) {
            return;
        }
        let (Some(rel), Some(route)) = (self.release.take(), self.route.take()) else {
            return;
        };
        if let Some(core) = rel.core.upgrade() {
            core.command(Cmd::Unreadable {
                route,
                due: rel.due,
                v3: !self.legacy,
                released: true,
            });
        }
    }
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

    /// Remembers a push stream registered on this request (see `Notary::register_push`).
    pub(crate) fn subscribed(&self, stream: &str, seq: u64) {
        let mut s = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        s.retain(|(n, _)| n != stream);
        s.push((stream.to_string(), seq));
    }

    /// The frames after a subscription reply's body: per stream, its name and 16 bytes (the
    /// notary's epoch, the stream's sequence number at registration).
    pub(crate) fn stream_frames(&self, epoch: u64) -> Vec<Vec<u8>> {
        let s = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::with_capacity(2 * s.len());
        for (name, seq) in s.iter().take(frames::MAX_EXTRA_FRAMES / 2) {
            out.push(name.as_bytes().to_vec());
            let mut b = epoch.to_be_bytes().to_vec();
            b.extend_from_slice(&seq.to_be_bytes());
            out.push(b);
        }
        out
    }

    pub(crate) fn opened(
        env_type: u16,
        text: Vec<u8>,
        parsed: SignedText,
        identity: usize,
    ) -> Request {
        Request {
            id: 0,
            identity,
            legacy: env_type != 3,
            text: SecretVec::new(text),
            parsed,
            route: None,
            notary: 0,
            replied: AtomicBool::new(false),
            release: None,
            streams: Mutex::new(Vec::new()),
        }
    }
}

/// Cuts a raw request frame at its first NUL (the legacy notary read it as a C string) and
/// de-armors (data path) and parses its envelope.
pub(crate) fn envelope_of(frame: &[u8]) -> Result<Envelope> {
    let frame = &frame[..memchr::memchr(0, frame).unwrap_or(frame.len())];
    Envelope::parse(&armor::decode(frame, Kind::Data)?)
}

/// Whether a raw request frame is (as far as can be told without a key) a suite v3 request: its
/// armor decodes to a type-3 envelope. Public information, used to pick the suite of an answer.
pub(crate) fn looks_v3(frame: &[u8]) -> bool {
    let frame = &frame[..memchr::memchr(0, frame).unwrap_or(frame.len())];
    armor::decode(frame, Kind::Data).is_ok_and(|b| b.starts_with(&[0, 3]))
}

/// What a notary does with one raw request frame: cut at the first NUL, de-armor (data path),
/// parse the envelope, open it as `nym_id` with `enc`, and parse the signed text. Exposed for
/// tests and fuzzing; [`super::Notary::receive`] does the same with the identity the envelope
/// names.
pub fn open_request_frame(frame: &[u8], nym_id: &str, enc: &Key) -> Result<Request> {
    let env = envelope_of(frame)?;
    let text = env.open(Some(nym_id), enc)?;
    let parsed = signed::parse(&text)?;
    Ok(Request::opened(env.envelope_type(), text, parsed, 0))
}
