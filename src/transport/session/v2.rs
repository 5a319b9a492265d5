//! The v2 glue: a session whose protocol is v2 drives a [`V2Client`] (the DEALER connection,
//! `client.rs`) and files what it reports: replies for [`Session::receive`] or a waiting
//! [`Session::exchange`], pushes in a bounded queue for [`Session::next_push`].

use std::time::{Duration, Instant};

use super::{PUSH_QUEUE, PUSH_QUEUE_BYTES, Protocol, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::client::{Counted, Event, Push, V2Client};
use crate::transport::transport_key::{TransportKeyDoc, now_unix};

/// A verified transport key and the CURVE endpoint it names (resolved).
type Found = ([u8; 32], String);

/// Whether a document's text names the NymID (before verifying it): documents of the notary's
/// other identities are skipped, not counted as refused.
fn names_notary(doc: &[u8], nym_id: &str) -> bool {
    let needle = format!("notaryID=\"{nym_id}\"");
    doc.windows(needle.len()).any(|w| w == needle.as_bytes())
}

impl Session {
    pub(super) fn v2_client(&mut self) -> Result<&mut V2Client> {
        if self.decide()? != Protocol::V2 {
            return Err(Error::new(
                ErrorKind::State,
                "this needs protocol v2 (set the session option protocol to 1, or 2 for auto, and \
                 a notary that speaks it); this session speaks legacy REQ",
            ));
        }
        self.secure()?;
        self.v2
            .as_mut()
            .ok_or_else(|| Error::internal("v2 session without its socket"))
    }

    /// Option `curve_policy`: once the notary's keys are known, asks the notary for its
    /// transport key (before the first request), verifies it with the notary's auth key and
    /// from then on talks CURVE to the endpoint it names, on the same socket. Nothing is trusted
    /// on first use: a document that does not verify is refused (`transport_keys_refused`).
    /// With `curve_policy` 2 a notary that publishes no valid key is an error, and asked again
    /// at the next call. When a CURVE handshake fails later (the notary changed its key), asks
    /// again ([`Session::rediscover`]).
    fn secure(&mut self) -> Result<()> {
        let policy = self.opts.curve_policy;
        if policy == 0 || self.opts.curve.is_some() {
            return Ok(());
        }
        if self.curve_checked {
            if self.v2.as_mut().is_some_and(|c| c.curve_failed()) {
                return self.rediscover();
            }
            return Ok(());
        }
        // A probe that went unanswered (the notary was unreachable) is asked again only once a
        // connection came up since, so that no call waits for a notary that is down (or for a
        // peer that never answers probes).
        if let Some(ups) = self.discovery_unanswered
            && self.v2.as_mut().is_none_or(|c| c.connections_up() <= ups)
        {
            return Ok(());
        }
        if self.notary.is_none() {
            if policy == 2 {
                return Err(Error::new(
                    ErrorKind::State,
                    "curve_policy 2 (CURVE required): set the notary's keys before the first \
                     request, so that its transport key can be verified",
                ));
            }
            return Ok(());
        }
        let (answered, found) = self.find_transport_key()?;
        self.discovery_unanswered = if answered {
            None
        } else {
            Some(self.v2_mut()?.connections_up())
        };
        match found {
            Some((key, ep)) => {
                let c = self.v2_mut()?;
                let resend = c.in_flight() > 0;
                c.switch_to_curve(&ep, &key, resend)?;
                self.stats.curve = 1;
                self.curve_checked = true;
                Ok(())
            }
            None if policy == 2 => Err(Error::new(
                ErrorKind::State,
                "curve_policy 2 (CURVE required): the notary published no transport key signed \
                 by its auth key",
            )),
            None => {
                // No PONG at all: asked again once the connection is up.
                self.curve_checked = answered;
                Ok(())
            }
        }
    }

    fn v2_mut(&mut self) -> Result<&mut V2Client> {
        self.v2
            .as_mut()
            .ok_or_else(|| Error::internal("v2 session without its socket"))
    }

    /// Asks the notary on the connected (plain) endpoint for its transport-key documents:
    /// whether it answered, and the key and CURVE endpoint of the first document that verifies.
    fn find_transport_key(&mut self) -> Result<(bool, Option<Found>)> {
        let Some(notary) = self.notary.as_ref() else {
            return Ok((false, None));
        };
        let (auth, nym_id) = (notary.auth.clone(), notary.nym_id.clone());
        let wait = Duration::from_millis(self.opts.probe_timeout_ms as u64);
        let reached = self.endpoint.clone();
        let Some(docs) = self.v2_mut()?.discover(wait)? else {
            return Ok((false, None));
        };
        let now = now_unix();
        let mut found = None;
        for d in &docs {
            let ok = TransportKeyDoc::verify(d, &auth, &nym_id, now)
                .ok()
                .and_then(|doc| {
                    let ep = doc
                        .endpoints
                        .iter()
                        .find_map(|e| TransportKeyDoc::resolve_endpoint(e, &reached))?;
                    Some((doc.curve_key, ep))
                });
            match ok {
                Some(k) if found.is_none() => found = Some(k),
                Some(_) => {}
                // Another identity's document is no failure; one that names ours and does not
                // verify is.
                None => self.stats.transport_keys_refused += u64::from(names_notary(d, &nym_id)),
            }
        }
        Ok((true, found))
    }

    /// A CURVE handshake failed after discovery: back to the plain endpoint, ask again, and move
    /// to the key now published (requests in flight are sent again there). If no valid key is
    /// published now, the session goes back to the key it had — never to plain (a peer that
    /// makes handshakes fail must not downgrade it) — and asks again at most once a second.
    fn rediscover(&mut self) -> Result<()> {
        let Some(old) = self.v2_mut()?.switch_to_plain()? else {
            return Ok(());
        };
        let found = self.find_transport_key().map(|(_, f)| f);
        let c = self.v2_mut()?;
        match found {
            Ok(Some((key, ep))) => {
                c.switch_to_curve(&ep, &key, true)?;
                if key != old.key {
                    self.stats.transport_key_changes += 1;
                }
                Ok(())
            }
            Ok(None) => c.switch_to_curve(&old.curve, &old.key, true),
            Err(e) => {
                c.switch_to_curve(&old.curve, &old.key, true)?;
                Err(e)
            }
        }
    }

    pub(super) fn v2_send(&mut self, frame: Vec<u8>, subscription: bool) -> Result<u64> {
        let c = self.v2_client()?;
        if !subscription {
            return c.send(frame, false);
        }
        let id = c.send(frame.clone(), false)?;
        c.add_subscription(frame);
        Ok(id)
    }

    /// Files what the v2 connection reported into the inbox.
    fn file(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Reply(id, body, streams) => {
                    for (name, epoch, seq) in streams {
                        self.inbox.streams.subscribed(name, epoch, seq);
                    }
                    self.inbox.done.push_back((id, Ok(body)))
                }
                Event::Subscribed(streams) => {
                    for (name, epoch, seq) in streams {
                        self.inbox.streams.subscribed(name, epoch, seq);
                    }
                }
                Event::Failed(id, err) => {
                    self.stats.timeouts += u64::from(err.kind() == ErrorKind::Timeout);
                    self.inbox.done.push_back((id, Err(err)))
                }
                Event::Push(p) => {
                    // Bounded in number and bytes: pushes nobody reads cannot grow without limit.
                    self.inbox.push_bytes += p.content.len();
                    self.inbox.pushes.push_back(p);
                    while self.inbox.pushes.len() > PUSH_QUEUE
                        || self.inbox.push_bytes > PUSH_QUEUE_BYTES
                    {
                        let Some(old) = self.inbox.pushes.pop_front() else {
                            break;
                        };
                        self.inbox.push_bytes -= old.content.len();
                        self.stats.pushes_overflow += 1;
                    }
                }
            }
        }
    }

    fn pump(&mut self, until: Option<Instant>) -> Result<()> {
        let c = self.v2_client()?;
        let events = c.pump(until)?;
        let (resends, unsolicited, renewals) = (c.resends, c.pushes_unsolicited, c.renewals);
        self.stats.resends = resends;
        self.stats.renewals = renewals;
        self.stats.pushes_unsolicited = unsolicited;
        self.file(events);
        Ok(())
    }

    /// Waits for request `id` (its own timers end it), keeping other completions for `receive`.
    pub(super) fn v2_wait(&mut self, id: u64) -> Result<Vec<u8>> {
        loop {
            if let Some(i) = self.inbox.done.iter().position(|(d, _)| *d == id) {
                let (_, r) = self.inbox.done.remove(i).unwrap_or((id, Ok(Vec::new())));
                if r.is_ok() {
                    self.stats.replies += 1;
                }
                return r;
            }
            self.pump(Some(Instant::now() + Duration::from_secs(3600)))?;
        }
    }

    /// v2: signs, seals and sends `content` without waiting; returns the request id to match
    /// with [`Session::receive`]. At most `max_in_flight` requests wait at once (`State`).
    pub fn send(&mut self, content: &[u8]) -> Result<u64> {
        self.check_process()?;
        self.v2_client()?;
        let frame = self.request_frame(content)?;
        self.v2_send(frame, false)
    }

    /// v2: sends `frame` as a request body as it is, nothing signed or sealed (the pipelined
    /// form of [`Session::exchange`]), without waiting; returns the request id.
    /// [`Session::receive`] hands its reply frame over as it came. The limits, resends and
    /// errors of [`Session::send`] apply.
    pub fn send_frame(&mut self, frame: &[u8]) -> Result<u64> {
        self.check_process()?;
        self.v2_client()?;
        let id = self.v2_send(frame.to_vec(), false)?;
        self.inbox.raw.insert(id);
        Ok(id)
    }

    /// v2: the next finished request, waiting up to `timeout_ms` (0: do not wait; negative:
    /// forever): its id and its verified reply content (for a request sent with
    /// [`Session::send_frame`]: its reply frame as it came) or its error. `Timeout` when none
    /// finished in time.
    pub fn receive(&mut self, timeout_ms: i64) -> Result<(u64, Result<Vec<u8>>)> {
        self.check_process()?;
        let until = deadline(timeout_ms);
        loop {
            if let Some((id, raw)) = self.inbox.done.pop_front() {
                let r = if self.inbox.raw.remove(&id) {
                    raw
                } else {
                    raw.and_then(|b| self.read_reply(&b))
                };
                if r.is_ok() {
                    self.stats.replies += 1;
                }
                return Ok((id, r));
            }
            if until.is_some_and(|u| Instant::now() >= u) {
                self.pump(None)?;
                if self.inbox.done.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("no request finished within {timeout_ms} ms"),
                    ));
                }
                continue;
            }
            self.pump(until.or(Some(Instant::now() + Duration::from_secs(3600))))?;
        }
    }

    /// v2: sends a subscription request (an application request the notary accepts with
    /// `register_push`), waits for its reply, and remembers it: after every reconnect the session
    /// sends it again by itself, so pushes keep coming after a notary restart.
    pub fn subscribe(&mut self, content: &[u8]) -> Result<Vec<u8>> {
        self.check_process()?;
        self.v2_client()?;
        let frame = self.request_frame(content)?;
        let id = self.v2_send(frame.clone(), true)?;
        let r = self.v2_wait(id).and_then(|raw| self.read_reply(&raw));
        if r.is_err()
            && let Some(c) = self.v2.as_mut()
        {
            // Not subscribed after all: not re-sent after a reconnect.
            c.remove_subscription(&frame);
        }
        r
    }

    /// v2: the next push, opened and verified, waiting up to `timeout_ms` (0: do not wait;
    /// negative: forever). `Timeout` when none arrived. A push that does not open or verify
    /// (forged, or sealed to another key) is dropped and counted (`pushes_invalid`), never
    /// returned as an error, and its sequence number is not taken into account; so is a push of a
    /// stream this session did not subscribe to (`pushes_unsolicited`) and one whose sequence
    /// number is not past the last one read (`pushes_duplicate`). `missed` counts per stream,
    /// from the stream's number when the subscription was accepted; `u64::MAX` when the notary
    /// restarted.
    pub fn next_push(&mut self, timeout_ms: i64) -> Result<Push> {
        self.check_process()?;
        let until = deadline(timeout_ms);
        loop {
            while let Some(p) = self.inbox.pushes.pop_front() {
                self.inbox.push_bytes -= p.content.len();
                let content = match self.read_reply(&p.content) {
                    Ok(c) => c,
                    Err(_) => {
                        self.stats.pushes_invalid += 1;
                        continue;
                    }
                };
                let missed = match self.inbox.streams.count(&p) {
                    Counted::Missed(n) => n,
                    Counted::Unsolicited => {
                        self.stats.pushes_unsolicited_streams += 1;
                        continue;
                    }
                    Counted::Duplicate => {
                        self.stats.pushes_duplicate += 1;
                        continue;
                    }
                };
                return Ok(Push {
                    missed,
                    content,
                    ..p
                });
            }
            let now = Instant::now();
            if until.is_some_and(|u| now >= u) {
                self.pump(None)?;
                if self.inbox.pushes.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("no push within {timeout_ms} ms"),
                    ));
                }
                continue;
            }
            self.pump(until.or(Some(now + Duration::from_secs(3600))))?;
        }
    }

    /// Requests sent with [`Session::send`] and not received yet.
    pub fn in_flight(&self) -> usize {
        self.v2.as_ref().map_or(0, |c| c.in_flight()) + self.inbox.done.len()
    }
}

fn deadline(timeout_ms: i64) -> Option<Instant> {
    (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64))
}
