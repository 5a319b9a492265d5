//! Worker mode: a notary that connects to a broker's backend ([`Notary::connect`]) instead of
//! binding, and announces itself (READY) after every (re)connect.

use super::Notary;
use super::actor::Cmd;
use crate::error::Result;
use crate::keys::Key;
use crate::transport::frames::BROKER_CONTROL;
use crate::transport::monitor::Monitor;
use crate::transport::{Options, check_endpoint, context, zmq_err};

/// A worker's link to its broker.
pub(crate) struct WorkerLink {
    pub(super) monitor: Monitor,
    /// READY was handed to libzmq since the last time the connection was lost.
    announced: bool,
}

impl WorkerLink {
    /// Tells the broker (again, after a reconnect) that this worker is ready; the actor calls it
    /// on every round.
    pub(super) fn announce(&mut self, socket: &zmq::Socket) {
        if self.monitor.drain().is_err() {
            return;
        }
        if self.monitor.lost {
            self.monitor.lost = false;
            self.announced = false;
        }
        if self.announced {
            return;
        }
        // EAGAIN: not connected yet; the next round tries again.
        if socket
            .send_multipart([BROKER_CONTROL.to_vec(), b"READY".to_vec()], zmq::DONTWAIT)
            .is_ok()
        {
            self.announced = true;
        }
    }
}

impl Notary {
    /// A worker notary: connects to a broker's backend (`ot-broker`,
    /// [`Broker`](crate::transport::Broker)) instead of binding, and serves the clients the broker
    /// sends it with the same receive / reply / push calls. Workers may be threads of one process
    /// or processes on other machines. Its link runs ZMTP heartbeats as v2 sessions do (5 s,
    /// dead after 15 s, unless the options set them), so a link that died silently is noticed and
    /// connected again.
    pub fn connect(
        endpoint: &str,
        auth: &Key,
        enc: &Key,
        nym_id: &str,
        opts: Options,
    ) -> Result<Notary> {
        check_endpoint(endpoint)?;
        let n = Notary::unbound(auth, enc, nym_id, &opts)?;
        let s = context()
            .socket(zmq::DEALER)
            .map_err(|e| zmq_err("creating the worker socket", e))?;
        // Heartbeats on unless set: without them a worker whose broker link died silently (a
        // partition, a dead machine) waits on it forever and never comes back.
        let opts = crate::transport::client::v2_options(&opts);
        opts.apply_listener(&s)?;
        let monitor = Monitor::attach(&s)?;
        s.connect(endpoint).map_err(|e| {
            zmq_err(
                &format!("connecting to {}", crate::error::quote(endpoint)),
                e,
            )
        })?;
        n.core.call(|done| Cmd::Add {
            socket: s,
            conns: None,
            worker: Some(WorkerLink {
                monitor,
                announced: false,
            }),
            done,
        })?;
        n.core
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(endpoint.to_string());
        Ok(n)
    }
}
