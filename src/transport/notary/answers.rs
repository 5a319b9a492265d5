//! The uniform answer to an unreadable (or released) request: the one reason [`UNREADABLE`]
//! (a v2 `ERR`, or with `reply_errors` a signed error `MESSAGE` made once per suite), sent at
//! [`unreadable_answer_delay`](super::unreadable_answer_delay) after the request arrived, so that
//! neither its text nor its time tells what failed. The actor keeps the answers waiting for their
//! time, bounded per peer and in total.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

use super::reply_book::Peer;
use super::request::Route;
use super::{Core, UNREADABLE};
use crate::armor::{self, Kind};
use crate::keys::Algorithm;
use crate::signed;
use crate::transport::frames::{self, Command, ERROR_REPLY_PREFIX};

/// Answers waiting for their time: at most this many per peer, and in all; beyond, the answer
/// is dropped (and counted).
const PENDING_ANSWERS_PER_PEER: usize = 64;
const PENDING_ANSWERS: usize = 4096;

/// An answer to an unreadable (or released) request, waiting for its time.
struct PendingAnswer {
    due: Instant,
    order: u64,
    peer: Peer,
    frames: Vec<Vec<u8>>,
}

impl PartialEq for PendingAnswer {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.order) == (o.due, o.order)
    }
}
impl Eq for PendingAnswer {}
impl PartialOrd for PendingAnswer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for PendingAnswer {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(o.due, o.order))
    }
}

/// The answers waiting for their time (the actor's).
#[derive(Default)]
pub(super) struct Answers {
    pending: BinaryHeap<Reverse<PendingAnswer>>,
    per_peer: HashMap<Peer, usize>,
    order: u64,
}

/// The signed `reply_errors` answer in the requester's suite: an RSA/SAMY one for a legacy (or
/// unreadable) request, preferably an Ed25519 one for a type-3 request. `None` when the notary has
/// no identity of that suite. Made once, then reused: the same bytes every time, and no
/// private-key work per garbage request.
fn signed_unreadable(core: &Core, v3: bool) -> Option<Vec<u8>> {
    let slot = usize::from(v3);
    let mut cache = core
        .signed_unreadable
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(f) = &cache[slot] {
        return Some(f.clone());
    }
    let ids = core.identities.read().unwrap_or_else(|p| p.into_inner());
    let rsa = ids.iter().find(|i| i.auth.algorithm() == Algorithm::Rsa);
    let signer = if v3 {
        ids.iter()
            .find(|i| i.auth.algorithm() == Algorithm::Ed25519)
            .or(rsa)
    } else {
        rsa
    }?;
    let content = format!("{ERROR_REPLY_PREFIX}{UNREADABLE}\"/>\n");
    let frame = signed::create("MESSAGE", content.as_bytes(), &signer.auth, None)
        .and_then(|t| armor::encode_bookended(t.as_bytes(), Kind::String, "MESSAGE", false))
        .ok()?
        .into_bytes();
    cache[slot] = Some(frame.clone());
    Some(frame)
}

impl Answers {
    /// Schedules the answer to an unreadable (or released) request for `due`: `ERR` for a v2
    /// request; for a legacy one, the signed error with `reply_errors`, else nothing (the legacy
    /// silence). `v3` picks the suite of the signed error. `false` when it was dropped (too many
    /// waiting).
    pub(super) fn schedule(&mut self, core: &Core, route: &Route, due: Instant, v3: bool) -> bool {
        let frames = match route.v2 {
            Some((_, n)) => {
                let mut f = vec![route.peer.clone()];
                f.extend(frames::v2(Command::Err, n, UNREADABLE.as_bytes()));
                f
            }
            None if core.opts.reply_errors => match signed_unreadable(core, v3) {
                Some(frame) => route.legacy_frames(frame),
                None => return true,
            },
            None => return true,
        };
        let peer: Peer = (route.socket, route.peer.clone());
        let mine = self.per_peer.get(&peer).copied().unwrap_or(0);
        if mine >= PENDING_ANSWERS_PER_PEER || self.pending.len() >= PENDING_ANSWERS {
            return false;
        }
        *self.per_peer.entry(peer.clone()).or_insert(0) += 1;
        self.order += 1;
        self.pending.push(Reverse(PendingAnswer {
            due,
            order: self.order,
            peer,
            frames,
        }));
        true
    }

    /// The answers whose time has come: (socket, frames).
    pub(super) fn due(&mut self, now: Instant) -> Vec<(usize, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        while self.pending.peek().is_some_and(|p| p.0.due <= now) {
            let Some(Reverse(a)) = self.pending.pop() else {
                break;
            };
            if let Some(n) = self.per_peer.get_mut(&a.peer) {
                *n -= 1;
                if *n == 0 {
                    self.per_peer.remove(&a.peer);
                }
            }
            out.push((a.peer.0, a.frames));
        }
        out
    }

    /// When the next answer is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.pending.peek().map(|p| p.0.due)
    }

    pub(super) fn len(&self) -> usize {
        self.pending.len()
    }
}
