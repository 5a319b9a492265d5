//! A file descriptor that one thread makes readable for another: wakes a notary's actor thread
//! from `zmq_poll`, and tells an application's event loop that requests are waiting (readable
//! exactly while something waits: level-triggered, unlike libzmq's `ZMQ_FD`).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use crate::error::{Error, Result};

pub(crate) struct Signal {
    tx: UnixStream,
    rx: UnixStream,
}

impl Signal {
    pub(crate) fn new() -> Result<Signal> {
        let (tx, rx) = UnixStream::pair()
            .map_err(|e| Error::internal(format!("creating a notification socket pair: {e}")))?;
        for s in [&tx, &rx] {
            s.set_nonblocking(true)
                .map_err(|e| Error::internal(format!("non-blocking notification socket: {e}")))?;
        }
        Ok(Signal { tx, rx })
    }

    /// Makes the descriptor readable (a full buffer means it already is).
    pub(crate) fn raise(&self) {
        let _ = (&self.tx).write(&[1]);
    }

    /// Makes the descriptor not readable.
    pub(crate) fn clear(&self) {
        let mut b = [0u8; 256];
        while matches!((&self.rx).read(&mut b), Ok(n) if n > 0) {}
    }

    /// The descriptor to wait on (for reading).
    pub(crate) fn fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }
}
