//! The legacy engine: a lock-step REQ socket driven as a Lazy Pirate client (send, poll with
//! the legacy doubling schedule, on silence close the socket, re-create it and resend), with
//! heartbeats and an overall deadline, so that a lost reply never wedges the session.

use std::time::{Duration, Instant};

use super::{Protocol, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::monitor::Monitor;
use crate::transport::{context, zmq_err};

/// How a wait ended.
enum Waited {
    Ready,
    /// The attempt is lost (schedule exhausted, or the connection died): resend if allowed.
    Lost,
    /// The request's overall deadline passed.
    Deadline,
}

impl Session {
    /// Closes the REQ socket and its monitor, the monitor stopped first (see Monitor::detach).
    pub(super) fn drop_socket(&mut self) {
        if let (Some(m), Some(s)) = (self.monitor.as_mut(), self.socket.as_ref()) {
            m.detach(s);
        }
        self.socket = None;
        self.monitor = None;
    }

    pub(super) fn fresh_socket(&mut self) -> Result<()> {
        self.drop_socket(); // close the old one first (linger applies)
        let s = context()
            .socket(zmq::REQ)
            .map_err(|e| zmq_err("creating the REQ socket", e))?;
        self.opts.apply(&s)?;
        if self.opts.req_relaxed {
            s.set_req_relaxed(true)
                .map_err(|e| zmq_err("ZMQ_REQ_RELAXED", e))?;
            s.set_req_correlate(true)
                .map_err(|e| zmq_err("ZMQ_REQ_CORRELATE", e))?;
        }
        let monitor = match self.opts.liveness_ms() {
            Some(_) => Some(Monitor::attach(&s)?),
            None => None,
        };
        s.connect(&self.endpoint)
            .map_err(|e| zmq_err(&format!("connecting to {}", self.endpoint), e))?;
        self.socket = Some(s);
        self.monitor = monitor;
        self.stats.sockets_created += 1;
        Ok(())
    }

    /// Waits for `events` on the socket with the legacy doubling poll schedule `polls`, ending
    /// early at `deadline`, or — with heartbeats on — when the connection is lost or has not
    /// come up within the liveness time since `attempt_start`.
    fn wait(
        &mut self,
        events: zmq::PollEvents,
        polls: &[Option<i64>],
        deadline: Option<Instant>,
        attempt_start: Instant,
    ) -> Result<Waited> {
        let liveness = self
            .opts
            .liveness_ms()
            .map(|ms| Duration::from_millis(ms as u64));
        let Some(socket) = self.socket.as_ref() else {
            return Ok(Waited::Lost);
        };
        for t in polls {
            let poll_end = t.map(|ms| Instant::now() + Duration::from_millis(ms as u64));
            loop {
                let now = Instant::now();
                if deadline.is_some_and(|d| now >= d) {
                    return Ok(Waited::Deadline);
                }
                if let (Some(m), Some(l)) = (self.monitor.as_mut(), liveness) {
                    m.drain()?;
                    if m.lost || (!m.up && now.duration_since(attempt_start) >= l) {
                        return Ok(Waited::Lost);
                    }
                }
                if poll_end.is_some_and(|e| now >= e) {
                    break;
                }
                // Sleep until the earliest of: this poll's end, the deadline, the liveness
                // check (re-checked at least every 100 ms while the connection is not up).
                let mut until = [poll_end, deadline].into_iter().flatten().min();
                if self.monitor.as_ref().is_some_and(|m| !m.up) {
                    let tick = now + Duration::from_millis(100);
                    until = Some(until.map_or(tick, |u| u.min(tick)));
                }
                let ms = until.map_or(-1, |u| {
                    u.saturating_duration_since(now).as_millis().max(1) as i64
                });
                let mut items = vec![socket.as_poll_item(events)];
                if let Some(m) = self.monitor.as_ref() {
                    items.push(m.pair.as_poll_item(zmq::POLLIN));
                }
                match zmq::poll(&mut items, ms) {
                    Ok(_) if items[0].get_revents().intersects(events) => {
                        return Ok(Waited::Ready);
                    }
                    Ok(_) | Err(zmq::Error::EINTR) => {}
                    Err(e) => return Err(zmq_err("zmq_poll", e)),
                }
            }
        }
        Ok(Waited::Lost)
    }

    /// Receives the reply with the socket's receive timeout set to each poll of the schedule in
    /// turn (and never past `deadline`): the wait of [`Session::wait`] without heartbeats.
    fn receive_blocking(
        &mut self,
        polls: &[Option<i64>],
        deadline: Option<Instant>,
    ) -> Result<(Waited, Option<Vec<Vec<u8>>>)> {
        let Some(socket) = self.socket.as_ref() else {
            return Ok((Waited::Lost, None));
        };
        for t in polls {
            let poll_end = t.map(|ms| Instant::now() + Duration::from_millis(ms as u64));
            loop {
                let now = Instant::now();
                if deadline.is_some_and(|d| now >= d) {
                    return Ok((Waited::Deadline, None));
                }
                if poll_end.is_some_and(|e| now >= e) {
                    break;
                }
                let until = [poll_end, deadline].into_iter().flatten().min();
                let ms = until.map_or(-1, |u| {
                    u.saturating_duration_since(now)
                        .as_millis()
                        .clamp(1, i32::MAX as u128) as i32
                });
                socket
                    .set_rcvtimeo(ms)
                    .map_err(|e| zmq_err("ZMQ_RCVTIMEO", e))?;
                match crate::transport::recv_frames(socket, 0) {
                    Ok(p) => return Ok((Waited::Ready, Some(p))),
                    Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => {}
                    Err(e) => return Err(zmq_err("receiving the reply", e)),
                }
            }
        }
        Ok((Waited::Lost, None))
    }

    /// One raw lock-step exchange: sends `frame` as one message and returns the reply frame.
    ///
    /// When no reply arrives within the receive schedule (or, with heartbeats on, the connection
    /// dies), the socket is closed and re-created (or, with `req_relaxed`, kept) and the frame
    /// re-sent, up to `max_resends` times; then [`ErrorKind::Timeout`]. `request_timeout_ms`
    /// bounds the whole exchange. A frame over `max_message_size` is refused before sending
    /// ([`ErrorKind::InvalidArgument`]). The session stays usable after any error.
    pub fn exchange(&mut self, frame: &[u8]) -> Result<Vec<u8>> {
        self.check_process()?;
        if self.decide()? == Protocol::V2 {
            let id = self.v2_send(frame.to_vec(), false)?;
            return self.v2_wait(id);
        }
        if self.opts.max_message_size >= 0 && frame.len() as u64 > self.opts.max_message_size as u64
        {
            return Err(Error::invalid(format!(
                "the request frame is {} bytes, over max_message_size ({} bytes): a notary with \
                 the same limit would drop it; raise the option on both ends or send less",
                frame.len(),
                self.opts.max_message_size
            )));
        }
        let start = Instant::now();
        let deadline = (self.opts.request_timeout_ms > 0)
            .then(|| start + Duration::from_millis(self.opts.request_timeout_ms as u64));
        let attempts = self.opts.max_resends + 1;
        let mut lost_connection = false;
        for attempt in 0..attempts {
            if attempt > 0 {
                self.stats.resends += 1;
                if !self.opts.req_relaxed {
                    self.fresh_socket()?;
                }
            }
            if self.socket.is_none() {
                self.fresh_socket()?;
            }
            let outcome = self.one_attempt(frame, deadline)?;
            if let Some(m) = self.monitor.as_ref() {
                lost_connection |= m.lost || !m.up;
            }
            match outcome {
                (Waited::Ready, Some(reply)) => {
                    self.stats.replies += 1;
                    return Ok(reply);
                }
                (Waited::Deadline, _) => {
                    self.drop_socket();
                    self.stats.timeouts += 1;
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "no reply from {} within request_timeout_ms ({} ms, {} attempt(s))",
                            self.endpoint,
                            self.opts.request_timeout_ms,
                            attempt + 1
                        ),
                    ));
                }
                _ => {
                    // Lost: a strict REQ socket is now stuck waiting; drop it.
                    if !self.opts.req_relaxed {
                        self.drop_socket();
                    }
                }
            }
        }
        self.stats.timeouts += 1;
        let why = if lost_connection {
            format!(
                "the connection to {} is dead (no heartbeat answer or no connection within \
                 {} ms)",
                self.endpoint,
                self.opts.liveness_ms().unwrap_or(0)
            )
        } else {
            format!("no reply from {}", self.endpoint)
        };
        Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "{why} after {attempts} attempt(s){}",
                self.opts
                    .worst_case_ms()
                    .map_or(String::new(), |ms| format!(" (up to {ms} ms)"))
            ),
        ))
    }

    /// One non-blocking send: true when libzmq took the frame, false when it cannot yet (EAGAIN)
    /// or the REQ socket is stuck (EFSM); other failures are errors.
    fn try_send(socket: &zmq::Socket, frame: &[u8]) -> Result<bool> {
        match socket.send(frame, zmq::DONTWAIT) {
            Ok(()) => Ok(true),
            Err(zmq::Error::EAGAIN) | Err(zmq::Error::EFSM) => Ok(false),
            Err(e) => Err(zmq_err("sending the request", e)),
        }
    }

    /// Sends once and waits once. `(Ready, Some(reply))` on success.
    fn one_attempt(
        &mut self,
        frame: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(Waited, Option<Vec<u8>>)> {
        let send_polls = self.opts.send_polls();
        let recv_polls = self.opts.receive_polls();
        let start = Instant::now();
        if let Some(m) = self.monitor.as_mut() {
            m.drain()?;
            m.lost = false;
        }
        let Some(s) = self.socket.as_ref() else {
            return Ok((Waited::Lost, None));
        };
        // Try to send at once; only when libzmq cannot take the frame yet, poll for it.
        if !Self::try_send(s, frame)? {
            match self.wait(zmq::POLLOUT, &send_polls, deadline, start)? {
                Waited::Ready => {}
                other => return Ok((other, None)),
            }
            let Some(s) = self.socket.as_ref() else {
                return Ok((Waited::Lost, None));
            };
            if !Self::try_send(s, frame)? {
                return Ok((Waited::Lost, None));
            }
        }
        if self.opts.latency_delay_after > 0 {
            std::thread::sleep(Duration::from_millis(self.opts.latency_delay_after as u64));
        }
        let parts = if self.monitor.is_none() {
            // Nothing else to watch: wait inside libzmq's receive (no zmq_poll, which costs two
            // poll(2) calls when the reply is not there yet, then a receive).
            match self.receive_blocking(&recv_polls, deadline)? {
                (Waited::Ready, Some(p)) => p,
                (other, _) => return Ok((other, None)),
            }
        } else {
            match self.wait(zmq::POLLIN, &recv_polls, deadline, start)? {
                Waited::Ready => {}
                other => return Ok((other, None)),
            }
            let Some(s) = self.socket.as_ref() else {
                return Ok((Waited::Lost, None));
            };
            match crate::transport::recv_frames(s, zmq::DONTWAIT) {
                Ok(p) => p,
                Err(zmq::Error::EAGAIN) => return Ok((Waited::Lost, None)),
                Err(e) => return Err(zmq_err("receiving the reply", e)),
            }
        };
        if parts.len() != 1 {
            return Err(Error::new(
                ErrorKind::Transport,
                format!(
                    "the notary replied with {} frames; legacy replies are one frame",
                    parts.len()
                ),
            ));
        }
        Ok((Waited::Ready, parts.into_iter().next()))
    }
}
