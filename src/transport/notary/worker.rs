//! Worker mode: a notary that connects to a broker's backend ([`Notary::connect`]) instead of
//! binding, and announces itself (READY) after every (re)connect.

use super::{Bound, Notary};
use crate::error::Result;
use crate::keys::Key;
use crate::transport::frames::BROKER_CONTROL;
use crate::transport::monitor::Monitor;
use crate::transport::{Options, check_endpoint, context, zmq_err};

/// A worker's link to its broker.
pub(super) struct WorkerLink {
    pub(super) monitor: Monitor,
    /// READY was handed to libzmq since the last time the connection was lost.
    announced: bool,
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
        let mut n = Notary::unbound(auth, enc, nym_id, &opts)?;
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
        n.bound.push(Bound {
            socket: s,
            endpoint: endpoint.to_string(),
            worker: Some(WorkerLink {
                monitor,
                announced: false,
            }),
        });
        n.announce()?;
        Ok(n)
    }

    /// Tells the broker (again, after a reconnect) that this worker is ready.
    pub(super) fn announce(&mut self) -> Result<()> {
        for b in &mut self.bound {
            let Some(w) = b.worker.as_mut() else { continue };
            w.monitor.drain()?;
            if w.monitor.lost {
                w.monitor.lost = false;
                w.announced = false;
            }
            if w.announced {
                continue;
            }
            match b
                .socket
                .send_multipart([BROKER_CONTROL.to_vec(), b"READY".to_vec()], zmq::DONTWAIT)
            {
                Ok(()) => w.announced = true,
                Err(zmq::Error::EAGAIN) => {} // not connected yet: the next loop tries again
                Err(e) => return Err(zmq_err("announcing the worker", e)),
            }
        }
        Ok(())
    }
}
