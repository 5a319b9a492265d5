//! The uniform answer to an unreadable (or released) request: the one reason [`UNREADABLE`]
//! (signed once per suite for legacy peers, an `ERR` frame for v2 ones), queued until the one
//! delay ([`unreadable_answer_delay`](super::unreadable_answer_delay)) has passed, with the
//! queue bounded per peer and in all.

use std::cmp::Reverse;
use std::time::Instant;

use super::reply_book::Peer;
use super::request::Route;
use super::{Notary, UNREADABLE};
use crate::armor::{self, Kind};
use crate::keys::Algorithm;
use crate::signed;
use crate::transport::frames::{self, Command, ERROR_REPLY_PREFIX};

/// Answers to unreadable requests waiting for their time (see
/// [`unreadable_answer_delay`](super::unreadable_answer_delay)):
/// at most this many per peer, and in all; beyond, the answer is dropped (and counted).
const PENDING_ANSWERS_PER_PEER: usize = 64;
const PENDING_ANSWERS: usize = 4096;

/// An answer to an unreadable (or released) request, waiting for its time.
pub(super) struct PendingAnswer {
    pub(super) due: Instant,
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

impl Notary {
    /// The signed `reply_errors` answer to an unreadable request, in the requester's suite: an
    /// RSA/SAMY one for a legacy (or unreadable) request, preferably an Ed25519 one for a type-3
    /// request. `None` when the notary has no identity of that suite. Made once, then reused.
    fn signed_unreadable(&mut self, v3: bool) -> Option<Vec<u8>> {
        let slot = usize::from(v3);
        if let Some(f) = &self.signed_unreadable[slot] {
            return Some(f.clone());
        }
        let rsa = self
            .identities
            .iter()
            .find(|i| i.auth.algorithm() == Algorithm::Rsa);
        let signer = if v3 {
            self.identities
                .iter()
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
        self.signed_unreadable[slot] = Some(frame.clone());
        Some(frame)
    }

    /// Schedules the answer to an unreadable (or released) request for `due`: `ERR` for a v2
    /// request; for a legacy one, the signed error with `reply_errors`, else nothing (the legacy
    /// silence). `v3` picks the suite of the signed error.
    pub(super) fn answer_unreadable(&mut self, route: &Route, due: Instant, v3: bool) {
        let frames = match route.v2 {
            Some((_, n)) => {
                let mut f = vec![route.peer.clone()];
                f.extend(frames::v2(Command::Err, n, UNREADABLE.as_bytes()));
                f
            }
            None if self.opts.reply_errors => match self.signed_unreadable(v3) {
                Some(frame) => route.legacy_frames(frame),
                None => return,
            },
            None => return,
        };
        let peer: Peer = (route.socket, route.peer.clone());
        let mine = self.pending_of.get(&peer).copied().unwrap_or(0);
        if mine >= PENDING_ANSWERS_PER_PEER || self.pending.len() >= PENDING_ANSWERS {
            self.stats.answers_dropped += 1;
            return;
        }
        *self.pending_of.entry(peer.clone()).or_insert(0) += 1;
        self.pending_order += 1;
        self.pending.push(Reverse(PendingAnswer {
            due,
            order: self.pending_order,
            peer,
            frames,
        }));
    }

    /// Sends the answers whose time has come.
    pub(super) fn send_due_answers(&mut self, now: Instant) {
        while self.pending.peek().is_some_and(|p| p.0.due <= now) {
            let Some(Reverse(a)) = self.pending.pop() else {
                break;
            };
            if let Some(n) = self.pending_of.get_mut(&a.peer) {
                *n -= 1;
                if *n == 0 {
                    self.pending_of.remove(&a.peer);
                }
            }
            let _ = self.send(a.peer.0, a.frames); // a vanished requester needs no answer
        }
    }

    /// Requests the application dropped unanswered: forgotten as in progress, and answered as
    /// unreadable ones are (the same reason, at the same delay from their arrival).
    pub(super) fn take_released(&mut self) {
        let released =
            std::mem::take(&mut *self.released.lock().unwrap_or_else(|p| p.into_inner()));
        for r in released {
            self.stats.released += 1;
            if let Some(key) = r.route.v2 {
                self.book.finish(&key);
            }
            self.answer_unreadable(&r.route, r.due, !r.legacy);
        }
    }
}
