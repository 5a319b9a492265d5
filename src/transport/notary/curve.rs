//! The notary's transport key: a CURVE key pair for its CURVE endpoints ([`Notary::bind_curve`]),
//! published in `PONG` as one signed transport-key document per identity
//! ([`crate::transport::transport_key`]), so that a v2 session that knows the notary's keys
//! verifies it and talks CURVE to it with no configuration.
//!
//! The documents are signed when something they say changes (a CURVE endpoint, an identity, the
//! key) and again when less than [`RESIGN_BEFORE`] of their validity is left — by the first
//! `PING` that asks for them: never per request, and a garbage request never makes the notary
//! use a private key.

use zeroize::Zeroizing;

use super::Notary;
use crate::error::{Error, Result};
use crate::transport::Options;
use crate::transport::transport_key::{TransportKeyDoc, now_unix};
use crate::transport::zap::Domain;

/// How long a generated transport key's documents say they are valid. The key lives as long as
/// the process; a notary that runs longer re-signs them before they expire.
pub const GENERATED_VALIDITY_S: u64 = 30 * 86_400;
/// Documents are signed again once less than this is left of their validity.
pub const RESIGN_BEFORE: u64 = 7 * 86_400;
/// The bit a `PING`'s number sets to ask for the transport-key documents in its `PONG` (older
/// clients never set it: their probes count from 1, so older clients never see the documents).
pub const KEYS_FLAG: u64 = 1 << 63;
/// Most documents one `PONG` carries (one per identity).
pub const MAX_PONG_DOCS: usize = crate::transport::frames::MAX_PONG_EXTRA;

/// The key pair and what was published with it.
pub(super) struct TransportKey {
    secret: Zeroizing<[u8; 32]>,
    public: [u8; 32],
    /// Set by the operator: documents say exactly this validity. Generated: rolling.
    configured_until: Option<u64>,
    /// Published endpoints (`tcp://*:PORT`, or the full endpoint for other transports).
    endpoints: Vec<String>,
    /// Signed documents, one per identity, and until when they are valid; empty: sign again.
    docs: Vec<Vec<u8>>,
    docs_until: u64,
}

impl TransportKey {
    fn new(secret: [u8; 32], configured_until: Option<u64>) -> TransportKey {
        let public =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret)).to_bytes();
        TransportKey {
            secret: Zeroizing::new(secret),
            public,
            configured_until,
            endpoints: Vec::new(),
            docs: Vec::new(),
            docs_until: 0,
        }
    }

    fn generate() -> Result<TransportKey> {
        let (_, secret) = crate::transport::curve_keypair()?;
        let secret = Zeroizing::new(crate::transport::options::z85_key(
            &secret,
            "the generated secret key",
        )?);
        Ok(TransportKey::new(*secret, None))
    }
}

/// The published form of a bound endpoint: `tcp://*:PORT` (the client keeps the host it
/// reached), or the endpoint itself.
fn published(bound: &str) -> String {
    match bound.strip_prefix("tcp://") {
        Some(rest) => match rest.rfind(':') {
            Some(i) => format!("tcp://*:{}", &rest[i + 1..]),
            None => bound.to_string(),
        },
        None => bound.to_string(),
    }
}

/// A key this notary vouches for without holding it: its broker's CURVE frontend
/// ([`Notary::vouch_transport_key`]).
pub(super) struct Vouched {
    public: [u8; 32],
    endpoints: Vec<String>,
    until: u64,
    /// Signed documents, one per identity; empty: sign again.
    docs: Vec<Vec<u8>>,
}

/// Most keys one notary vouches for.
pub const MAX_VOUCHED: usize = 4;

impl Notary {
    /// Vouches for a CURVE key this notary does not hold — the CURVE frontend of the broker that
    /// fronts it ([`crate::transport::Broker::bind_curve`]): its `PONG`s to probes that ask then
    /// carry a transport-key document for that key and `endpoint` (`tcp://*:PORT`: that port on
    /// the host the client reached, i.e. the broker's), signed by each identity, valid until
    /// `valid_until` (Unix seconds). v2 sessions that reach the notary through the broker then
    /// verify it and talk CURVE to the broker. A worker's PONGs reach clients only through its
    /// broker, so the identity vouches for the broker that fronts it. At most [`MAX_VOUCHED`]
    /// keys; vouching again for a key replaces its entry.
    pub fn vouch_transport_key(
        &self,
        public_z85: &str,
        endpoint: &str,
        valid_until: u64,
    ) -> Result<()> {
        self.check_process()?;
        let public = crate::transport::options::z85_key(public_z85, "the public key")?;
        if valid_until <= now_unix() {
            return Err(Error::invalid(
                "valid_until is in the past: the documents would be refused",
            ));
        }
        // The document's own checks (endpoint form and length), before anything is stored.
        let ids = self
            .core
            .identities
            .read()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(id) = ids.first() {
            TransportKeyDoc {
                notary_id: id.nym_id.clone(),
                curve_key: public,
                valid_from: now_unix().saturating_sub(60),
                valid_until,
                endpoints: vec![endpoint.to_string()],
            }
            .content()?;
        }
        drop(ids);
        let mut v = self.core.vouched.lock().unwrap_or_else(|p| p.into_inner());
        v.retain(|k| k.public != public);
        if v.len() >= MAX_VOUCHED {
            return Err(Error::invalid(format!(
                "a notary vouches for at most {MAX_VOUCHED} keys"
            )));
        }
        v.push(Vouched {
            public,
            endpoints: vec![endpoint.to_string()],
            until: valid_until,
            docs: Vec::new(),
        });
        Ok(())
    }

    /// Sets the notary's transport key (a CURVE secret key, Z85, e.g. from
    /// [`crate::transport::curve_keypair`]) so that it survives restarts, and the end of its
    /// documents' validity (Unix seconds; the key's rotation date). Before the first
    /// [`Notary::bind_curve`], or later to **rotate** the key: the CURVE endpoints are bound again
    /// under the new key (their connections drop; sessions find their next CURVE handshake
    /// refused, ask for the new key, verify it and come back, re-sending what was in flight).
    pub fn set_transport_key(&self, secret_z85: &str, valid_until: u64) -> Result<()> {
        self.check_process()?;
        let secret = Zeroizing::new(crate::transport::options::z85_key(
            secret_z85,
            "the transport secret key",
        )?);
        if valid_until <= now_unix() {
            return Err(Error::invalid(
                "valid_until is in the past: the documents would be refused",
            ));
        }
        let rotate = {
            let mut tk = self
                .core
                .transport
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let endpoints = tk.as_ref().map(|k| k.endpoints.clone()).unwrap_or_default();
            let mut k = TransportKey::new(*secret, Some(valid_until));
            k.endpoints = endpoints;
            let rotate = !k.endpoints.is_empty();
            *tk = Some(k);
            rotate
        };
        if rotate {
            self.core
                .call(|done| super::actor::Cmd::Rekey { secret, done })??;
        }
        Ok(())
    }

    /// The transport key's CURVE public key (Z85), once the notary has one.
    pub fn transport_key(&self) -> Option<String> {
        let tk = self
            .core
            .transport
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        tk.as_ref()
            .and_then(|k| crate::transport::z85::encode(&k.public).ok())
            .map(|z| z.to_string())
    }

    /// Listens on `endpoint` with CURVE only, under the notary's transport key (generated now
    /// if none was set), and publishes it: from now on every `PING` that asks for them is
    /// answered with the signed transport-key documents, so that v2 sessions with the notary's
    /// keys (option `curve_policy` 1 or 2) switch to this endpoint over CURVE. A peer without
    /// CURVE cannot connect here. `opts` as for [`Notary::add_endpoint`] (its own CURVE settings
    /// are replaced). Returns the bound endpoint.
    pub fn bind_curve(&self, endpoint: &str, opts: &Options) -> Result<String> {
        self.check_process()?;
        let secret = {
            let mut tk = self
                .core
                .transport
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if tk.is_none() {
                *tk = Some(TransportKey::generate()?);
            }
            let k = tk
                .as_ref()
                .ok_or_else(|| Error::internal("no transport key"))?;
            crate::transport::z85::encode(&k.secret[..])?
        };
        let mut o = opts.clone();
        o.set_curve_server(&secret)?;
        // Every CURVE key is admitted; the ZAP handler gives each connection its client's key as
        // `User-Id`, which binds its cached replies to that key.
        let domain = Domain::new(None)?;
        let bound = self.add_endpoint_with(endpoint, &o, Some(&domain))?;
        self.core
            .domains
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(domain);
        let mut tk = self
            .core
            .transport
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(k) = tk.as_mut() {
            k.endpoints.push(published(&bound));
            k.docs.clear();
        }
        Ok(bound)
    }
}

impl super::Core {
    /// The documents a `PING` with [`KEYS_FLAG`] gets: signed again when something changed or
    /// they are close to expiry. Empty when the notary has no CURVE endpoint.
    pub(super) fn transport_docs(&self) -> Vec<Vec<u8>> {
        let mut docs = self.own_transport_docs();
        let now = now_unix();
        let ids = self.identities.read().unwrap_or_else(|p| p.into_inner());
        let mut vouched = self.vouched.lock().unwrap_or_else(|p| p.into_inner());
        for v in vouched.iter_mut().filter(|v| v.until > now) {
            if v.docs.is_empty() {
                v.docs = ids
                    .iter()
                    .filter_map(|id| {
                        TransportKeyDoc {
                            notary_id: id.nym_id.clone(),
                            curve_key: v.public,
                            valid_from: now.saturating_sub(60),
                            valid_until: v.until,
                            endpoints: v.endpoints.clone(),
                        }
                        .sign(&id.auth)
                        .ok()
                        .map(String::into_bytes)
                    })
                    .collect();
            }
            docs.extend(v.docs.iter().cloned());
        }
        docs.truncate(MAX_PONG_DOCS);
        docs
    }

    fn own_transport_docs(&self) -> Vec<Vec<u8>> {
        let mut tk = self.transport.lock().unwrap_or_else(|p| p.into_inner());
        let Some(k) = tk.as_mut() else {
            return Vec::new();
        };
        if k.endpoints.is_empty() {
            return Vec::new();
        }
        let now = now_unix();
        if k.docs.is_empty() || k.docs_until.saturating_sub(now) < RESIGN_BEFORE {
            let until = k
                .configured_until
                .unwrap_or(now.saturating_add(GENERATED_VALIDITY_S));
            let ids = self.identities.read().unwrap_or_else(|p| p.into_inner());
            k.docs = ids
                .iter()
                .take(MAX_PONG_DOCS)
                .filter_map(|id| {
                    TransportKeyDoc {
                        notary_id: id.nym_id.clone(),
                        curve_key: k.public,
                        valid_from: now.saturating_sub(60),
                        valid_until: until,
                        endpoints: k.endpoints.clone(),
                    }
                    .sign(&id.auth)
                    .ok()
                    .map(String::into_bytes)
                })
                .collect();
            k.docs_until = until;
        }
        k.docs.clone()
    }

    /// Identities changed: their documents are signed again at the next request for them.
    pub(super) fn transport_docs_stale(&self) {
        for v in self
            .vouched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter_mut()
        {
            v.docs.clear();
        }
        if let Some(k) = self
            .transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            k.docs.clear();
        }
    }
}
