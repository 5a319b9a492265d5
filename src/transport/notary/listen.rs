//! Listening: the notary's bound ROUTER sockets ([`Notary::bind`], [`Notary::add_endpoint`]);
//! a worker connects to a broker instead ([`worker`](super::worker)).

use std::time::{Duration, Instant};

use super::Notary;
use super::actor::Cmd;
use super::conns::Conns;
use crate::error::{Error, Result};
use crate::keys::Key;
use crate::transport::{Options, check_bind_endpoint, context, zmq_err};

impl Notary {
    /// Binds a ROUTER socket on `endpoint` (`tcp://127.0.0.1:*` picks a free port; see
    /// [`Notary::endpoint`]). `auth` signs replies, `enc` opens requests sealed to `nym_id`.
    pub fn bind(
        endpoint: &str,
        auth: &Key,
        enc: &Key,
        nym_id: &str,
        opts: Options,
    ) -> Result<Notary> {
        let n = Notary::unbound(auth, enc, nym_id, &opts)?;
        n.add_endpoint(endpoint, &opts)?;
        Ok(n)
    }

    /// Listens on one more endpoint with its own options (e.g. the legacy port in plain ZMTP and
    /// a v2 port with CURVE: ZMTP allows one security mechanism per socket). Returns the bound
    /// endpoint with a wildcard port resolved.
    pub fn add_endpoint(&self, endpoint: &str, opts: &Options) -> Result<String> {
        self.add_endpoint_with(endpoint, opts, None)
    }

    /// [`Notary::add_endpoint`]; `curve`: a CURVE endpoint under the transport key, with its
    /// ZAP domain (every CURVE key admitted, its `User-Id` the client's key; its v2 requests are
    /// counted in `requests_curve`).
    pub(super) fn add_endpoint_with(
        &self,
        endpoint: &str,
        opts: &Options,
        curve: Option<&crate::transport::zap::Domain>,
    ) -> Result<String> {
        self.check_process()?;
        check_bind_endpoint(endpoint)?;
        if self.endpoints().len() >= 64 {
            return Err(Error::invalid("a notary listens on at most 64 endpoints"));
        }
        let s = context()
            .socket(zmq::ROUTER)
            .map_err(|e| zmq_err("creating the ROUTER socket", e))?;
        opts.apply_listener(&s)?;
        if let Some(d) = curve {
            s.set_zap_domain(d.name())
                .map_err(|e| zmq_err("ZMQ_ZAP_DOMAIN", e))?;
        }
        // A reply to a peer that is gone is an error (not silently dropped). No handover: a
        // peer presenting a routing id already in use is refused, so no one can take over
        // another's route (v2 clients let libzmq choose their routing id; a reconnect gets a
        // new one, and resends are matched by the request itself, see `reply_book`).
        s.set_router_mandatory(true)
            .map_err(|e| zmq_err("ZMQ_ROUTER_MANDATORY", e))?;
        s.set_router_handover(false)
            .map_err(|e| zmq_err("ZMQ_ROUTER_HANDOVER", e))?;
        // Watched before it binds, so that no connection is missed (see `conns`).
        let conns = Conns::attach(&s, silence_limit(opts))?;
        let start = Instant::now();
        loop {
            match s.bind(endpoint) {
                Ok(()) => break,
                // A port just released by a previous notary is freed asynchronously by libzmq.
                Err(zmq::Error::EADDRINUSE) if start.elapsed() < Duration::from_secs(1) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(zmq_err(
                        &format!("binding {}", crate::error::quote(endpoint)),
                        e,
                    ));
                }
            }
        }
        let resolved = match s.get_last_endpoint() {
            Ok(Ok(ep)) => ep,
            _ => endpoint.to_string(),
        };
        self.core.call(|done| Cmd::Add {
            socket: s,
            conns: Some(conns),
            worker: None,
            curve: curve.map(|_| resolved.clone()),
            plain_v2_refused: curve.is_none() && opts.require_curve,
            done,
        })?;
        self.core
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(resolved.clone());
        Ok(resolved)
    }
}

/// How long a v2 connection may stay silent before the notary closes it: the listener's
/// `heartbeat_ttl_ms` when set, else 15 s (v2 sessions probe every 5 s while idle). A
/// connection that never sends is closed after twice that.
fn silence_limit(opts: &Options) -> Duration {
    let ms = if opts.heartbeat_ttl_ms > 0 {
        opts.heartbeat_ttl_ms
    } else {
        15_000
    };
    Duration::from_millis(ms as u64)
}
