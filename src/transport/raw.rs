//! What the `zmq` crate does not expose: the connection a message came from (`ZMQ_SRCFD`), and
//! closing one connection of a `ROUTER` socket (libzmq has no call for it: the notary shuts the
//! connection's socket down, and libzmq's I/O thread then sees it closed and cleans up).

use std::mem::MaybeUninit;

/// `ZMQ_SRCFD` (libzmq's zmq.h: 2), a message property this zmq-sys does not export.
const ZMQ_SRCFD: i32 = 2;

/// A whole message (every frame), the descriptor of the connection it came from, and the
/// connection's ZAP user id (`User-Id`: a CURVE client's public key in Z85 on a socket with a ZAP
/// domain, see [`super::zap`]), when it has one.
pub(crate) type Sourced = (Vec<Vec<u8>>, i32, Option<Vec<u8>>);

/// Receives one whole message (every frame) without waiting: `None` when none is queued. The
/// second value is the file descriptor of the TCP/IPC connection the message came from (`-1`
/// when libzmq does not know one, e.g. `inproc`), the third its ZAP user id.
pub(crate) fn recv_with_fd(socket: &mut zmq::Socket) -> Result<Option<Sourced>, zmq::Error> {
    let sock = socket.as_mut_ptr();
    let mut frames = Vec::new();
    let mut fd = -1;
    let mut user = None;
    loop {
        let mut msg = MaybeUninit::<zmq_sys::zmq_msg_t>::uninit();
        // SAFETY: zmq_msg_init initialises the message in place; it cannot fail.
        unsafe { zmq_sys::zmq_msg_init(msg.as_mut_ptr()) };
        let flags = if frames.is_empty() {
            zmq_sys::ZMQ_DONTWAIT as i32
        } else {
            0 // the rest of a multipart message is already there
        };
        // SAFETY: `sock` is the live socket we hold exclusively (&mut), `msg` is initialised.
        let rc = unsafe { zmq_sys::zmq_msg_recv(msg.as_mut_ptr(), sock, flags) };
        if rc < 0 {
            // SAFETY: reads the calling thread's libzmq errno.
            let errno = unsafe { zmq_sys::zmq_errno() };
            // SAFETY: `msg` was initialised above and is closed once.
            unsafe { zmq_sys::zmq_msg_close(msg.as_mut_ptr()) };
            let e = zmq::Error::from_raw(errno);
            return if frames.is_empty() && e == zmq::Error::EAGAIN {
                Ok(None)
            } else {
                Err(e)
            };
        }
        // SAFETY: after a successful receive, data/size describe the message's bytes, valid until
        // the message is closed (below); they are copied out first.
        let data = unsafe {
            let p = zmq_sys::zmq_msg_data(msg.as_mut_ptr()).cast::<u8>();
            let n = zmq_sys::zmq_msg_size(msg.as_mut_ptr());
            if n == 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(p, n).to_vec()
            }
        };
        // SAFETY: `msg` holds a received message (a ROUTER's routing-id frame has no source; the
        // frames that came through the connection carry its descriptor).
        let src = unsafe { zmq_sys::zmq_msg_get(msg.as_mut_ptr(), ZMQ_SRCFD) };
        if src >= 0 {
            fd = src;
        }
        if user.is_none() && src >= 0 {
            // SAFETY: `msg` holds a received message; the property name is a NUL-terminated
            // literal; the returned string (if any) lives as long as the message, and is copied
            // out before the message is closed.
            user = unsafe {
                let p = zmq_sys::zmq_msg_gets(msg.as_mut_ptr(), c"User-Id".as_ptr());
                (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_bytes().to_vec())
            };
        }
        // SAFETY: as above.
        let more = unsafe { zmq_sys::zmq_msg_more(msg.as_mut_ptr()) } != 0;
        // SAFETY: closed once, after its data was copied.
        unsafe { zmq_sys::zmq_msg_close(msg.as_mut_ptr()) };
        frames.push(data);
        if !more {
            return Ok(Some((frames, fd, user)));
        }
    }
}

/// Shuts down both directions of the connection socket `fd` (a notary reaping an idle or frozen
/// connection). libzmq's I/O thread sees the connection closed and drops it as for any peer that
/// went away.
pub(crate) fn shutdown(fd: i32) {
    if fd >= 0 {
        // SAFETY: shutdown(2) on a descriptor has no memory effects; a stale descriptor gives an
        // error, which is ignored.
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
    }
}
