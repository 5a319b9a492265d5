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
    /// or processes on other machines.
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
