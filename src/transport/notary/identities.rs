//! The notary's identities (an RSA one for legacy clients next to a v3 one, say), and the opening
//! of a request with the identity its envelope names; a request that does not open is answered
//! the one uniform way ([`answers`](super::answers)).

use std::sync::Arc;
use std::time::Instant;

use super::request::{self, Release, Route};
use super::{Notary, Request, unreadable_answer_delay};
use crate::envelope::Envelope;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed;

/// One notary identity: `auth` signs replies, `enc` opens requests sealed to `nym_id`.
pub(super) struct Identity {
    pub(super) auth: Key,
    pub(super) enc: Key,
    pub(super) nym_id: String,
}

/// Most identities one notary holds.
pub const MAX_NOTARY_IDENTITIES: usize = 8;

pub(super) fn check_identity(auth: &Key, enc: &Key, nym_id: &str) -> Result<Identity> {
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

impl Notary {
    /// Adds another identity served on the same endpoints (e.g. a v3 identity next to the RSA
    /// one): `auth` (RSA or Ed25519) signs replies to requests it opened, `enc` (RSA or X25519)
    /// opens requests sealed to `nym_id`. NymIDs must differ; at most
    /// [`MAX_NOTARY_IDENTITIES`] identities.
    pub fn add_identity(&mut self, auth: &Key, enc: &Key, nym_id: &str) -> Result<()> {
        self.check_process()?;
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
        self.signed_unreadable = [None, None];
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

    /// De-armors, parses and opens a request body with the identity its envelope names.
    fn open_with_identity(&self, body: &[u8]) -> Result<Request> {
        let env = request::envelope_of(body)?;
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
        Ok(Request::opened(env.envelope_type(), text, parsed, n))
    }

    /// Opens a request body; on failure answers the requester as configured, with the one
    /// reason and at the one delay (see [`UNREADABLE`](super::UNREADABLE)).
    pub(super) fn open(&mut self, body: &[u8], route: Route, received: Instant) -> Result<Request> {
        let id = self.next_id;
        self.next_id += 1;
        let due = received + unreadable_answer_delay(body.len());
        match self.open_with_identity(body) {
            Ok(mut req) => {
                req.id = id;
                req.route = Some(route);
                req.notary = self.tag;
                req.release = Some(Release {
                    queue: Arc::downgrade(&self.released),
                    due,
                });
                self.stats.requests += 1;
                Ok(req)
            }
            Err(e) => {
                self.stats.rejected += 1;
                let v3 = route.v2.is_none() && self.opts.reply_errors && request::looks_v3(body);
                self.answer_unreadable(&route, due, v3);
                Err(e)
            }
        }
    }
}
