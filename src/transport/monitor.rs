//! Connection watching through libzmq socket monitors (heartbeats, reconnects).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::{context, zmq_err};
use crate::error::Result;

/// Watches the connection of a session's socket through a libzmq socket monitor, so that a
/// dead notary ends a wait early (used when heartbeats are on).
pub(crate) struct Monitor {
    pub(crate) pair: zmq::Socket,
    /// The ZMTP handshake with the notary completed and the connection was not lost since.
    pub(crate) up: bool,
    /// The connection was lost since the flag was last cleared.
    pub(crate) lost: bool,
    /// When the connection was last lost (cleared when it comes back up).
    pub(crate) down_since: Option<Instant>,
    /// Times the connection came (back) up.
    pub(crate) ups: u64,
    /// Handshakes that failed (e.g. a CURVE server key that is no longer the notary's).
    pub(crate) handshake_failures: u64,
}

impl Monitor {
    /// Attaches a monitor to `socket`; call it before `connect` so no event is missed.
    pub(crate) fn attach(socket: &zmq::Socket) -> Result<Monitor> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let ep = format!(
            "inproc://ot-session-monitor-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let events = zmq::SocketEvent::HANDSHAKE_SUCCEEDED.to_raw()
            | zmq::SocketEvent::DISCONNECTED.to_raw()
            | zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL.to_raw()
            | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL.to_raw()
            | zmq::SocketEvent::HANDSHAKE_FAILED_AUTH.to_raw();
        socket
            .monitor(&ep, i32::from(events))
            .map_err(|e| zmq_err("zmq_socket_monitor", e))?;
        let pair = context()
            .socket(zmq::PAIR)
            .map_err(|e| zmq_err("creating the monitor socket", e))?;
        pair.set_linger(0).map_err(|e| zmq_err("ZMQ_LINGER", e))?;
        pair.connect(&ep)
            .map_err(|e| zmq_err("connecting the monitor socket", e))?;
        Ok(Monitor {
            pair,
            up: false,
            lost: false,
            down_since: None,
            ups: 0,
            handshake_failures: 0,
        })
    }

    /// Stops monitoring `socket` before it is closed. libzmq sends the events of a closing socket
    /// (disconnects, …) to its monitor with blocking sends from its own threads: if our end of the
    /// monitor were gone by then, those threads could wait forever and stall every socket of the
    /// context. Re-pointing the monitor at a fresh endpoint with no events stops the old one
    /// cleanly (libzmq has no other way through this binding: it takes no NULL endpoint).
    pub(crate) fn detach(&mut self, socket: &zmq::Socket) {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let ep = format!(
            "inproc://ot-monitor-off-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let _ = socket.monitor(&ep, 0);
        let _ = self.drain();
    }

    /// Reads every pending event.
    pub(crate) fn drain(&mut self) -> Result<()> {
        loop {
            match self.pair.recv_multipart(zmq::DONTWAIT) {
                Ok(parts) => {
                    let Some(f) = parts.first().filter(|f| f.len() >= 2) else {
                        continue;
                    };
                    let event = u16::from_ne_bytes([f[0], f[1]]);
                    if event == zmq::SocketEvent::HANDSHAKE_SUCCEEDED.to_raw() {
                        self.up = true;
                        self.ups += 1;
                        self.down_since = None;
                    } else if [
                        zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
                        zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
                        zmq::SocketEvent::HANDSHAKE_FAILED_AUTH,
                    ]
                    .iter()
                    .any(|e| e.to_raw() == event)
                    {
                        self.handshake_failures += 1;
                    } else if event == zmq::SocketEvent::DISCONNECTED.to_raw() {
                        self.up = false;
                        self.lost = true;
                        self.down_since.get_or_insert_with(Instant::now);
                    }
                }
                Err(zmq::Error::EAGAIN) => return Ok(()),
                Err(zmq::Error::EINTR) => continue,
                Err(e) => return Err(zmq_err("reading socket events", e)),
            }
        }
    }
}
