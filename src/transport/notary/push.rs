//! Pushes: the routes registered for a NymID ([`Notary::register_push`]) and the delivery of a
//! push to each of them ([`Notary::push`]), signed once per identity and sealed per subscriber.

use super::{Notary, Request, seal_signed};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed;
use crate::transport::frames::{self, BROKER_CLIENT, Command};

/// One subscriber of a NymID's pushes.
struct PushRoute {
    socket: usize,
    peer: Vec<u8>,
    /// The subscriber's encryption key (pushes are sealed to it).
    key: Key,
    /// The identity that opened the subscription request: it signs the pushes, so the client
    /// verifies them with the notary key it already uses.
    identity: usize,
}

/// The push routes of one NymID.
pub(super) struct PushRoutes {
    /// Sequence number of the last push to this NymID.
    seq: u64,
    routes: Vec<PushRoute>,
}

impl Notary {
    /// Registers the route `request` came from to receive pushes for `nym_id`, sealed to
    /// `subscriber_enc` (the client's encryption key: RSA or X25519, public or private) and signed
    /// by the identity that opened the subscription request. The application calls it after
    /// verifying a subscription request. Only v2 clients can receive pushes (`State` for a legacy
    /// request). Registering the same route again replaces its key. `InvalidArgument` for a key
    /// that cannot receive sealed messages, or when a legacy (type-1) subscription would be
    /// signed with Ed25519.
    pub fn register_push(
        &mut self,
        request: &Request,
        nym_id: &str,
        subscriber_enc: &Key,
    ) -> Result<()> {
        self.check_process()?;
        if nym_id.is_empty() || nym_id.len() > 1024 {
            return Err(Error::invalid("the NymID must be 1..=1024 characters"));
        }
        let route = match (&request.route, request.notary == self.tag) {
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
        let signer = self
            .identities
            .get(request.identity)
            .ok_or_else(|| Error::internal("request identity missing"))?;
        if request.legacy && signer.auth.algorithm() != Algorithm::Rsa {
            return Err(Error::invalid(
                "this subscription came as a legacy type-1 envelope: its pushes must be signed \
                 with an RSA key (Hash: SAMY), and this identity signs with Ed25519",
            ));
        }
        let entry = self.pushes.entry(nym_id.to_string()).or_insert(PushRoutes {
            seq: 0,
            routes: Vec::new(),
        });
        entry
            .routes
            .retain(|r| !(r.socket == route.socket && r.peer == route.peer));
        if entry.routes.len() >= 1024 {
            return Err(Error::invalid("at most 1024 push routes per NymID"));
        }
        entry.routes.push(PushRoute {
            socket: route.socket,
            peer: route.peer.clone(),
            key: subscriber_enc.to_public(),
            identity: request.identity,
        });
        Ok(())
    }

    /// Sends `content` (signed once per notary identity involved, sealed to each subscriber) to
    /// every live route of `nym_id`, with the NymID's next sequence number. Routes whose client
    /// is gone are dropped; a route whose sealing fails keeps its registration (counted in
    /// `push_failures`) and the others are still served. Returns how many routes it reached (0
    /// when nobody is subscribed). An error (content that cannot be signed, e.g. one a legacy
    /// reader would alter) is returned only when no route could be served; routes stay.
    pub fn push(&mut self, nym_id: &str, content: &[u8]) -> Result<usize> {
        self.check_process()?;
        let Some(entry) = self.pushes.get(nym_id) else {
            return Ok(0);
        };
        // One signature per identity that signs for these routes.
        let mut signed_by: Vec<(usize, Result<String>)> = Vec::new();
        for r in &entry.routes {
            if !signed_by.iter().any(|(i, _)| *i == r.identity) {
                let text = match self.identities.get(r.identity) {
                    Some(ident) => signed::create("MESSAGE", content, &ident.auth, None),
                    None => Err(Error::internal("push route identity missing")),
                };
                signed_by.push((r.identity, text));
            }
        }
        if let Some((_, Err(e))) = signed_by.iter().find(|(_, t)| t.is_err())
            && signed_by.iter().all(|(_, t)| t.is_err())
        {
            return Err(e.clone());
        }
        let Some(entry) = self.pushes.get_mut(nym_id) else {
            return Ok(0);
        };
        entry.seq += 1;
        let seq = entry.seq;
        let routes = std::mem::take(&mut entry.routes);
        let mut kept = Vec::with_capacity(routes.len());
        let mut delivered = 0;
        for r in routes {
            let text = signed_by
                .iter()
                .find(|(i, _)| *i == r.identity)
                .and_then(|(_, t)| t.as_ref().ok());
            let frame = match text.map(|t| seal_signed(t.as_bytes(), Some(&r.key))) {
                Some(Ok(f)) => f,
                _ => {
                    self.stats.push_failures += 1;
                    kept.push(r);
                    continue;
                }
            };
            let mut f = vec![r.peer.clone()];
            f.extend(frames::v2(Command::Push, seq, &frame));
            let b = &self.bound[r.socket];
            if b.worker.is_some() {
                f.insert(0, BROKER_CLIENT.to_vec());
            }
            match b.socket.send_multipart(f, zmq::DONTWAIT) {
                Ok(()) => {
                    delivered += 1;
                    kept.push(r);
                }
                Err(zmq::Error::EHOSTUNREACH) => self.stats.dropped_routes += 1,
                // A slow reader misses this one (its sequence numbers show the gap).
                Err(_) => kept.push(r),
            }
        }
        self.stats.pushes += delivered as u64;
        if let Some(entry) = self.pushes.get_mut(nym_id) {
            entry.routes = kept;
        }
        Ok(delivered)
    }
}
