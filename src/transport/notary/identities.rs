//! The notary's identities (an RSA one for legacy clients next to a v3 one, say), and the opening
//! of a request with the identity its envelope names; a request that does not open is answered
//! the one uniform way ([`answers`](super::answers)).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::actor::Cmd;
use super::request::{self, Release};
use super::{Core, Notary, Raw, Request, unreadable_answer_delay};
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
    pub fn add_identity(&self, auth: &Key, enc: &Key, nym_id: &str) -> Result<()> {
        self.check_process()?;
        let id = check_identity(auth, enc, nym_id)?;
        let mut ids = self
            .core
            .identities
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if ids.iter().any(|i| i.nym_id == nym_id) {
            return Err(Error::invalid(
                "the notary already has an identity with this NymID",
            ));
        }
        if ids.len() >= MAX_NOTARY_IDENTITIES {
            return Err(Error::invalid(format!(
                "a notary holds at most {MAX_NOTARY_IDENTITIES} identities"
            )));
        }
        ids.push(id);
        drop(ids);
        self.core.transport_docs_stale();
        *self
            .core
            .signed_unreadable
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = [None, None];
        Ok(())
    }

    /// The number of identities the notary serves.
    pub fn identity_count(&self) -> usize {
        self.core
            .identities
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

/// The identity for an envelope: the first whose encryption key fits the envelope type and
/// whose NymID has an entry; else the first that fits (it may still open a key-only entry).
fn identity_for(ids: &[Identity], env: &Envelope) -> Option<usize> {
    let want = if env.envelope_type() == 3 {
        Algorithm::X25519
    } else {
        Algorithm::Rsa
    };
    let names = env.recipient_ids();
    let fits = |i: &&Identity| i.enc.algorithm() == want;
    ids.iter()
        .enumerate()
        .filter(|(_, i)| fits(i))
        .find(|(_, i)| names.contains(&i.nym_id.as_str()))
        .or_else(|| ids.iter().enumerate().find(|(_, i)| fits(i)))
        .map(|(n, _)| n)
}

/// De-armors, parses and opens a request body with the identity its envelope names.
fn open_with_identity(core: &Core, body: &[u8]) -> Result<Request> {
    let env = request::envelope_of(body)?;
    let ids = core.identities.read().unwrap_or_else(|p| p.into_inner());
    let n = identity_for(&ids, &env).ok_or_else(|| {
        Error::new(
            ErrorKind::NoMatchingRecipient,
            format!(
                "this notary has no identity that opens type-{} envelopes",
                env.envelope_type()
            ),
        )
    })?;
    let ident = &ids[n];
    let text = env.open(Some(&ident.nym_id), &ident.enc)?;
    drop(ids);
    let parsed = signed::parse(&text)?;
    Ok(Request::opened(env.envelope_type(), text, parsed, n))
}

/// Opens a request in the calling (application) thread; on failure asks the actor to answer the
/// requester as configured, with the one reason and at the one delay (see
/// [`UNREADABLE`](super::UNREADABLE)).
pub(super) fn open(core: &Arc<Core>, raw: Raw) -> Result<Request> {
    let id = core.next_id.fetch_add(1, Ordering::Relaxed);
    let due = raw.received + unreadable_answer_delay(raw.body.len());
    match open_with_identity(core, &raw.body) {
        Ok(mut req) => {
            req.id = id;
            req.route = Some(raw.route);
            req.notary = core.tag;
            req.release = Some(Release {
                core: Arc::downgrade(core),
                due,
            });
            core.stats().requests += 1;
            Ok(req)
        }
        Err(e) => {
            let v3 =
                raw.route.v2.is_none() && core.opts.reply_errors && request::looks_v3(&raw.body);
            core.command(Cmd::Unreadable {
                route: raw.route,
                due,
                v3,
                released: false,
            });
            Err(e)
        }
    }
}
