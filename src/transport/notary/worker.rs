//! Worker mode: a notary that connects to a broker's backend ([`Notary::connect`]) instead of
//! binding, announces itself (READY) after every (re)connect, and tells the broker every second
//! that its application is taking requests (HB; backend protocol 1, docs/wire-format.md).

use super::Notary;
use super::actor::Cmd;
use crate::error::Result;
use crate::keys::Key;
use std::time::{Duration, Instant};

use crate::transport::frames::{BACKEND_TAG, BROKER_CONTROL};
use crate::transport::monitor::Monitor;
use crate::transport::{Options, check_endpoint, context, zmq_err};

/// A worker's link to its broker.
pub(crate) struct WorkerLink {
    pub(super) monitor: Monitor,
    /// READY was handed to libzmq since the last time the connection was lost.
    announced: bool,
    /// When the next application heartbeat (`HB`) is due.
    pub(super) next_heartbeat: Instant,
}

/// A worker tells its broker every second that its application is taking requests
/// (`[OTb1][B][HB]`); the broker stops handing work to a worker it has not heard from for
/// [`crate::transport::broker`]'s stall time.
pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// The application counts as frozen (no heartbeat sent) while a request has waited this long
/// for it in the notary's queue.
pub(crate) const FROZEN_AFTER: Duration = Duration::from_secs(2);

impl WorkerLink {
    /// Tells the broker (again, after a reconnect) that this worker is ready, and sends the
    /// application heartbeat when due and `responsive` (the application takes its requests); the
    /// actor calls it on every round.
    pub(super) fn announce(&mut self, socket: &zmq::Socket, responsive: bool, now: Instant) {
        if self.monitor.drain().is_err() {
            return;
        }
        if self.monitor.lost {
            self.monitor.lost = false;
            self.announced = false;
        }
        let control = |word: &[u8]| {
            // EAGAIN: not connected yet (or its queue is full); the next round tries again.
            crate::transport::send_parts(socket, [BACKEND_TAG, BROKER_CONTROL, word], zmq::DONTWAIT)
                .is_ok()
        };
        if !self.announced {
            // A frozen application announces nothing either: the broker would hand it work.
            if responsive && control(b"READY") {
                self.announced = true;
                self.next_heartbeat = now + HEARTBEAT_EVERY;
            }
            return;
        }
        if now >= self.next_heartbeat {
            self.next_heartbeat = now + HEARTBEAT_EVERY;
            if responsive {
                let _ = control(b"HB");
            }
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
                next_heartbeat: std::time::Instant::now(),
            }),
            curve: None,
            plain_v2_refused: false,
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
