//! Push streams: the routes registered for a NymID ([`Notary::register_push`]) and the delivery
//! of a push to each of them ([`Notary::push`]), signed once per identity and sealed per
//! subscriber in the calling thread, sent by the actor.
//!
//! A stream is named by its NymID. Its sequence numbers count from 1 within the notary's epoch
//! (random at start). A `PUSH` carries the stream and the epoch after its body; the reply to a
//! subscription request carries, for each stream it registered, the epoch and the stream's
//! sequence number at registration — so a late subscriber starts with nothing missed, several
//! streams can share one connection, and a notary restart always shows as a new epoch.

use std::collections::HashMap;

use super::actor::{Cmd, Delivered};
use super::{Notary, Request, seal_signed};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed;
use crate::transport::frames::{self, Command};

/// One subscriber of a stream.
struct PushRoute {
    socket: usize,
    peer: Vec<u8>,
    /// The subscriber's encryption key (pushes are sealed to it).
    key: Key,
    /// The identity that opened the subscription request: it signs the pushes, so the client
    /// verifies them with the notary key it already uses.
    identity: usize,
}

struct Stream {
    /// Sequence number of the last push.
    seq: u64,
    routes: Vec<PushRoute>,
}

/// Every stream of a notary.
#[derive(Default)]
pub(crate) struct Streams {
    map: HashMap<String, Stream>,
}

/// Most routes one stream holds.
pub const MAX_ROUTES_PER_STREAM: usize = 1024;

impl Notary {
    /// Registers the route `request` came from to receive the pushes of stream `nym_id`, sealed
    /// to `subscriber_enc` (the client's encryption key: RSA or X25519, public or private) and
    /// signed by the identity that opened the subscription request. The application calls it
    /// after verifying a subscription request, then answers the request as usual (the reply tells
    /// the client the stream's epoch and current sequence number). Only v2 clients can receive
    /// pushes (`State` for a legacy request). Registering the same route again replaces its key.
    /// `InvalidArgument` for a key that cannot receive sealed messages, or when a legacy (type-1)
    /// subscription would be signed with Ed25519.
    pub fn register_push(
        &self,
        request: &Request,
        nym_id: &str,
        subscriber_enc: &Key,
    ) -> Result<()> {
        self.check_process()?;
        if nym_id.is_empty() || nym_id.len() > 1024 {
            return Err(Error::invalid("the NymID must be 1..=1024 characters"));
        }
        let route = match (&request.route, request.notary == self.core.tag) {
            (Some(r), true) if r.v2.is_some() => r,
            (Some(_), true) => {
                return Err(Error::new(
                    ErrorKind::State,
                    "pushes need a v2 client: this request came from a legacy REQ client",
                ));
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::State,
                    "this request was not received by this notary",
                ));
            }
        };
        if subscriber_enc.algorithm() == Algorithm::Ed25519 {
            return Err(Error::invalid(
                "pushes are sealed to the subscriber's encryption key: RSA or X25519, not Ed25519",
            ));
        }
        {
            let ids = self
                .core
                .identities
                .read()
                .unwrap_or_else(|p| p.into_inner());
            let signer = ids
                .get(request.identity)
                .ok_or_else(|| Error::internal("request identity missing"))?;
            if request.legacy && signer.auth.algorithm() != Algorithm::Rsa {
                return Err(Error::invalid(
                    "this subscription came as a legacy type-1 envelope: its pushes must be \
                     signed with an RSA key (Hash: SAMY), and this identity signs with Ed25519",
                ));
            }
        }
        let mut streams = self.core.streams.lock().unwrap_or_else(|p| p.into_inner());
        let stream = streams.map.entry(nym_id.to_string()).or_insert(Stream {
            seq: 0,
            routes: Vec::new(),
        });
        stream
            .routes
            .retain(|r| !(r.socket == route.socket && r.peer == route.peer));
        if stream.routes.len() >= MAX_ROUTES_PER_STREAM {
            return Err(Error::invalid("at most 1024 push routes per NymID"));
        }
        stream.routes.push(PushRoute {
            socket: route.socket,
            peer: route.peer.clone(),
            key: subscriber_enc.to_public(),
            identity: request.identity,
        });
        request.subscribed(nym_id, stream.seq);
        Ok(())
    }

    /// Sends `content` (signed once per notary identity involved, sealed to each subscriber, in
    /// the calling thread) to every live route of stream `nym_id`, with its next sequence number.
    /// Routes whose client is gone are dropped; a route whose sealing fails keeps its registration
    /// (counted in `push_failures`) and the others are still served. Returns how many routes it
    /// reached (0 when nobody is subscribed). An error (content that cannot be signed, e.g. one a
    /// legacy reader would alter) is returned only when no route could be served; routes stay.
    /// Pushes to one notary are sent one after the other, so each stream's sequence numbers
    /// arrive in order.
    pub fn push(&self, nym_id: &str, content: &[u8]) -> Result<usize> {
        self.check_process()?;
        let mut streams = self.core.streams.lock().unwrap_or_else(|p| p.into_inner());
        let Some(stream) = streams.map.get_mut(nym_id) else {
            return Ok(0);
        };
        // One signature per identity that signs for these routes.
        let mut signed_by: Vec<(usize, Result<String>)> = Vec::new();
        {
            let ids = self
                .core
                .identities
                .read()
                .unwrap_or_else(|p| p.into_inner());
            for r in &stream.routes {
                if !signed_by.iter().any(|(i, _)| *i == r.identity) {
                    let text = match ids.get(r.identity) {
                        Some(ident) => signed::create("MESSAGE", content, &ident.auth, None),
                        None => Err(Error::internal("push route identity missing")),
                    };
                    signed_by.push((r.identity, text));
                }
            }
        }
        if let Some((_, Err(e))) = signed_by.iter().find(|(_, t)| t.is_err())
            && signed_by.iter().all(|(_, t)| t.is_err())
        {
            return Err(e.clone());
        }
        stream.seq += 1;
        let seq = stream.seq;
        let extra = [
            nym_id.as_bytes().to_vec(),
            self.core.epoch.to_be_bytes().to_vec(),
        ];
        let mut deliveries = Vec::with_capacity(stream.routes.len());
        let mut sent_to = Vec::with_capacity(stream.routes.len());
        let mut failures = 0u64;
        for (n, r) in stream.routes.iter().enumerate() {
            let text = signed_by
                .iter()
                .find(|(i, _)| *i == r.identity)
                .and_then(|(_, t)| t.as_ref().ok());
            match text.map(|t| seal_signed(t.as_bytes(), Some(&r.key))) {
                Some(Ok(frame)) => {
                    let mut f = vec![r.peer.clone()];
                    f.extend(frames::v2_extra(Command::Push, seq, &frame, &extra));
                    deliveries.push((r.socket, f));
                    sent_to.push(n);
                }
                _ => failures += 1,
            }
        }
        let outcomes = self.core.call(|done| Cmd::Push { deliveries, done })?;
        let mut gone = Vec::new();
        let mut delivered = 0;
        for (n, outcome) in sent_to.into_iter().zip(outcomes) {
            match outcome {
                Delivered::Yes => delivered += 1,
                Delivered::Gone => gone.push(n),
                Delivered::Missed => {}
            }
        }
        for n in gone.iter().rev() {
            stream.routes.remove(*n);
        }
        let mut s = self.core.stats();
        s.pushes += delivered as u64;
        s.dropped_routes += gone.len() as u64;
        s.push_failures += failures;
        Ok(delivered)
    }
}
