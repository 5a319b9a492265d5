//! The connections of a notary's bound socket, watched so that none can hold a file descriptor
//! forever: one that never sends anything is closed after twice the silence limit, and a v2
//! connection that falls silent (no request, no probe: v2 clients send a `PING` while idle) is
//! closed after the silence limit — including a client frozen before its first ZMTP heartbeat,
//! which libzmq's own TTL never catches. Legacy connections that sent a request may stay idle.
//!
//! libzmq has no call to close one connection of a `ROUTER`: the notary learns each connection's
//! descriptor from the socket monitor (accepted / closed) and from the messages themselves
//! (`ZMQ_SRCFD`), and shuts the descriptor down ([`crate::transport::raw::shutdown`]); libzmq then
//! drops the connection as for any peer that went away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::transport::{context, raw, zmq_err};

struct Conn {
    accepted: Instant,
    /// The last message it sent (none yet: `None`).
    last: Option<Instant>,
    /// It sent a v2 message.
    v2: bool,
}

/// The connections of one bound socket.
pub(super) struct Conns {
    pub(super) monitor: zmq::Socket,
    conns: HashMap<i32, Conn>,
    silence: Duration,
}

impl Conns {
    /// Watches `socket` (before it binds, so that no connection is missed). `silence` is how
    /// long a v2 connection may stay silent.
    pub(super) fn attach(socket: &zmq::Socket, silence: Duration) -> Result<Conns> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let ep = format!(
            "inproc://ot-notary-conns-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let events = zmq::SocketEvent::ACCEPTED.to_raw()
            | zmq::SocketEvent::DISCONNECTED.to_raw()
            | zmq::SocketEvent::CLOSED.to_raw();
        socket
            .monitor(&ep, i32::from(events))
            .map_err(|e| zmq_err("zmq_socket_monitor", e))?;
        let monitor = context()
            .socket(zmq::PAIR)
            .map_err(|e| zmq_err("creating the monitor socket", e))?;
        monitor
            .set_linger(0)
            .map_err(|e| zmq_err("ZMQ_LINGER", e))?;
        monitor
            .connect(&ep)
            .map_err(|e| zmq_err("connecting the monitor socket", e))?;
        Ok(Conns {
            monitor,
            conns: HashMap::new(),
            silence,
        })
    }

    /// Reads the connection events that arrived.
    pub(super) fn drain(&mut self) {
        while let Ok(parts) = self.monitor.recv_multipart(zmq::DONTWAIT) {
            let Some(f) = parts.first().filter(|f| f.len() >= 6) else {
                continue;
            };
            let event = u16::from_ne_bytes([f[0], f[1]]);
            let fd = i32::from_ne_bytes([f[2], f[3], f[4], f[5]]);
            if event == zmq::SocketEvent::ACCEPTED.to_raw() {
                self.conns.insert(
                    fd,
                    Conn {
                        accepted: Instant::now(),
                        last: None,
                        v2: false,
                    },
                );
            } else {
                self.conns.remove(&fd);
            }
        }
    }

    /// Records a message from connection `fd`.
    pub(super) fn seen(&mut self, fd: i32, v2: bool, now: Instant) {
        if fd < 0 {
            return;
        }
        let c = self.conns.entry(fd).or_insert(Conn {
            accepted: now,
            last: None,
            v2: false,
        });
        c.last = Some(now);
        c.v2 |= v2;
    }

    /// Closes the connections over their limit; returns how many.
    pub(super) fn reap(&mut self, now: Instant) -> u64 {
        self.drain();
        let never = self.silence * 2;
        let silence = self.silence;
        let over: Vec<i32> = self
            .conns
            .iter()
            .filter(|(_, c)| match c.last {
                None => now.duration_since(c.accepted) >= never,
                Some(t) => c.v2 && now.duration_since(t) >= silence,
            })
            .map(|(fd, _)| *fd)
            .collect();
        for fd in &over {
            raw::shutdown(*fd);
            self.conns.remove(fd);
        }
        over.len() as u64
    }

    /// Open connections.
    pub(super) fn len(&self) -> usize {
        self.conns.len()
    }

    /// Stops the monitor before `socket` closes (see `Monitor::detach`).
    pub(super) fn detach(&mut self, socket: &zmq::Socket) {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let ep = format!(
            "inproc://ot-notary-conns-off-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let _ = socket.monitor(&ep, 0);
        self.drain();
    }
}
