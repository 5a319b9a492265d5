//! CURVE by default for transport v2 (issue 17, items 1–3): a notary's transport key, published
//! in `PONG` as a document signed by its identity, discovered and verified by v2 sessions with no
//! configuration; a forged document refused; a configured key; a plain peer kept out of the
//! CURVE endpoint; legacy peers untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use ot_transport::error::ErrorKind;
use ot_transport::transport::transport_key::{TransportKeyDoc, now_unix};
use ot_transport::transport::{
    Notary, Options, curve_key_from_z85, curve_keypair, curve_public, frames,
};

#[path = "common/transport.rs"]
mod fixtures;
use fixtures::*;

/// Serves `n` until `stop`: every request answered with "ok:" + its content.
fn serve(n: Arc<Notary>, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let (client, _) = pair();
        while !stop.load(Ordering::Relaxed) {
            let Ok(req) = n.receive(20) else { continue };
            let Ok(c) = req.verify(&client.auth) else {
                continue;
            };
            let body = [b"ok:".as_slice(), c].concat();
            let _ = n.reply(&req, &body, Some(&client.enc));
        }
    })
}

fn v2(policy: i64) -> Options {
    Options {
        protocol: 1,
        curve_policy: policy,
        ..fast()
    }
}

#[test]
fn a_v2_session_discovers_verifies_and_uses_the_transport_key() {
    let n = Arc::new(notary(Options::default()));
    let plain = n.endpoint().to_string();
    let curve_ep = n
        .bind_curve("tcp://127.0.0.1:*", &Options::default())
        .unwrap();
    assert!(n.transport_key().is_some());
    let stop = Arc::new(AtomicBool::new(false));
    let t = serve(n.clone(), stop.clone());

    // Default options (curve_policy 1): the session asks, verifies, moves to CURVE.
    let mut s = session(&plain, v2(1));
    let r = s.request(b"first");
    assert_eq!(r.unwrap(), b"ok:first\n");
    assert_eq!(s.counter("curve"), Some(1));
    assert_eq!(s.counter("transport_keys_refused"), Some(0));
    assert_eq!(n.counter("requests_curve"), Some(1));
    for i in 0..5 {
        let c = format!("r{i}");
        assert_eq!(
            s.request(c.as_bytes()).unwrap(),
            format!("ok:{c}\n").as_bytes()
        );
    }
    assert_eq!(n.counter("requests_curve"), Some(6));

    // curve_policy 0: the session stays on the plain endpoint.
    let mut off = session(&plain, v2(0));
    assert_eq!(off.request(b"plain").unwrap(), b"ok:plain\n");
    assert_eq!(off.counter("curve"), Some(0));
    assert_eq!(n.counter("requests_curve"), Some(6));

    // curve_policy 2 with auto protocol: still CURVE.
    let mut auto = session(
        &plain,
        Options {
            protocol: 2,
            curve_policy: 2,
            ..fast()
        },
    );
    assert_eq!(auto.request(b"auto").unwrap(), b"ok:auto\n");
    assert_eq!(auto.counter("curve"), Some(1));
    assert_eq!(n.counter("requests_curve"), Some(7));

    // A plain (NULL mechanism) v2 session pointed at the CURVE endpoint gets nothing.
    let mut intruder = session(&curve_ep, v2(0));
    let e = intruder.request(b"let me in").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(n.counter("requests_curve"), Some(7));

    // Legacy REQ on the plain endpoint: as before.
    let mut legacy = session(&plain, fast());
    assert_eq!(legacy.request(b"legacy").unwrap(), b"ok:legacy\n");

    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}

#[test]
fn a_configured_transport_key_is_published_and_used() {
    let n = Arc::new(notary(Options::default()));
    let (public, secret) = curve_keypair().unwrap();
    assert!(n.set_transport_key(&secret, now_unix() - 1).is_err()); // in the past
    let until = now_unix() + 86_400;
    n.set_transport_key(&secret, until).unwrap();
    assert_eq!(n.transport_key().as_deref(), Some(public.as_str()));
    n.bind_curve("tcp://127.0.0.1:*", &Options::default())
        .unwrap();
    assert_eq!(curve_public(&secret).unwrap(), public);

    // What a client receives: one document per identity, signed, naming the key.
    let (_, id) = pair();
    let ctx = zmq::Context::new();
    let d = ctx.socket(zmq::DEALER).unwrap();
    d.connect(&n.endpoint()).unwrap();
    let ask = ot_transport::transport::KEYS_FLAG | 7;
    d.send_multipart(frames::v2(frames::Command::Ping, ask, b""), 0)
        .unwrap();
    d.set_rcvtimeo(5000).unwrap();
    let pong = frames::parse_v2(d.recv_multipart(0).unwrap()).unwrap();
    assert_eq!((pong.command, pong.number), (frames::Command::Pong, ask));
    assert_eq!(pong.extra.len(), 1);
    let doc =
        TransportKeyDoc::verify(&pong.extra[0], &id.auth.to_public(), &id.id, now_unix()).unwrap();
    assert_eq!(doc.curve_key, curve_key_from_z85(&public).unwrap());
    assert_eq!(doc.valid_until, until);
    assert_eq!(doc.endpoints.len(), 1);
    assert!(doc.endpoints[0].starts_with("tcp://*:"));
    // A probe that does not ask gets a bare PONG (older clients see nothing new).
    d.send_multipart(frames::v2(frames::Command::Ping, 8, b""), 0)
        .unwrap();
    let pong = frames::parse_v2(d.recv_multipart(0).unwrap()).unwrap();
    assert!(pong.number == 8 && pong.extra.is_empty());

    let stop = Arc::new(AtomicBool::new(false));
    let t = serve(n.clone(), stop.clone());
    let mut s = session(&n.endpoint(), v2(2));
    assert_eq!(s.request(b"x").unwrap(), b"ok:x\n");
    assert_eq!(s.counter("curve"), Some(1));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}

/// A peer that is not the notary answers the probe with a document it signed itself (naming the
/// notary's NymID and its own CURVE key): refused; with `curve_policy` 2 the request fails,
/// with 1 the session stays on the plain connection.
#[test]
fn a_forged_transport_key_is_refused() {
    let (_, real) = pair();
    let impostor = Nym::rsa();
    let ctx = zmq::Context::new();
    let r = ctx.socket(zmq::ROUTER).unwrap();
    r.bind("tcp://127.0.0.1:*").unwrap();
    let ep = r.get_last_endpoint().unwrap().unwrap();
    let (public, _) = curve_keypair().unwrap();
    let forged = TransportKeyDoc {
        notary_id: real.id.clone(),
        curve_key: curve_key_from_z85(&public).unwrap(),
        valid_from: now_unix() - 10,
        valid_until: now_unix() + 3600,
        endpoints: vec!["tcp://*:9".into()],
    }
    .sign(&impostor.auth)
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let fake = thread::spawn(move || {
        r.set_rcvtimeo(50).unwrap();
        while !stop2.load(Ordering::Relaxed) {
            let Ok(mut f) = r.recv_multipart(0) else {
                continue;
            };
            let peer = f.remove(0);
            if let Some(m) = frames::parse_v2(f)
                && m.command == frames::Command::Ping
            {
                let mut out = vec![peer];
                out.extend(frames::v2_extra(
                    frames::Command::Pong,
                    m.number,
                    b"",
                    &[forged.clone().into_bytes()],
                ));
                let _ = r.send_multipart(out, 0);
            }
        }
    });
    let mut required = session(&ep, v2(2));
    let e = required.send(b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::State, "{e}");
    assert!(e.to_string().contains("no transport key"), "{e}");
    assert_eq!(required.counter("transport_keys_refused"), Some(1));
    assert_eq!(required.counter("curve"), Some(0));

    let mut auto = session(&ep, v2(1));
    auto.send(b"y").unwrap(); // sent on the plain connection
    assert_eq!(auto.counter("transport_keys_refused"), Some(1));
    assert_eq!(auto.counter("curve"), Some(0));
    stop.store(true, Ordering::Relaxed);
    fake.join().unwrap();
}

/// A client's cached replies are bound to its CURVE key: a resend from the same key is answered
/// from the cache; the same request id and bytes from another key are a new request, never
/// answered with the first client's reply.
#[test]
fn cached_replies_are_bound_to_the_client_key() {
    let n = notary(Options::default());
    let curve_ep = n
        .bind_curve("tcp://127.0.0.1:*", &Options::default())
        .unwrap();
    let server = curve_key_from_z85(&n.transport_key().unwrap()).unwrap();
    let body = session(&n.endpoint(), fast())
        .request_frame(b"once")
        .unwrap();
    let ctx = zmq::Context::new();
    let dealer = || {
        let (p, s) = curve_keypair().unwrap();
        let d = ctx.socket(zmq::DEALER).unwrap();
        d.set_linger(0).unwrap();
        d.set_rcvtimeo(5000).unwrap();
        d.set_curve_serverkey(&server).unwrap();
        d.set_curve_publickey(&curve_key_from_z85(&p).unwrap())
            .unwrap();
        d.set_curve_secretkey(&curve_key_from_z85(&s).unwrap())
            .unwrap();
        d.connect(&curve_ep).unwrap();
        d
    };
    let (a, b) = (dealer(), dealer());
    let req = frames::v2(frames::Command::Req, 42, &body);
    a.send_multipart(req.clone(), 0).unwrap();
    let (client, _) = pair();
    let r = n.receive(5000).unwrap();
    n.reply(&r, b"for a", Some(&client.enc)).unwrap();
    let rep = frames::parse_v2(a.recv_multipart(0).unwrap()).unwrap();
    assert_eq!((rep.command, rep.number), (frames::Command::Rep, 42));
    // a's resend: from the cache, not to the application
    thread::sleep(std::time::Duration::from_millis(1100)); // resends are answered once a second
    a.send_multipart(req.clone(), 0).unwrap();
    let again = frames::parse_v2(a.recv_multipart(0).unwrap()).unwrap();
    assert_eq!(again.body, rep.body);
    assert_eq!(n.counter("duplicates"), Some(1));
    // b, another key, the same id and bytes: a new request for the application
    b.send_multipart(req, 0).unwrap();
    let r2 = n.receive(5000).unwrap();
    n.reply(&r2, b"for b", Some(&client.enc)).unwrap();
    let rep_b = frames::parse_v2(b.recv_multipart(0).unwrap()).unwrap();
    assert_ne!(rep_b.body, rep.body);
    assert_eq!(n.counter("duplicates"), Some(1));
    assert_eq!(n.counter("requests_curve"), Some(3));
}

/// Key rotation while running: the notary binds its CURVE endpoints again under the new key; a
/// session whose next handshake is refused asks again, verifies the new key and comes back,
/// re-sending what was in flight; new sessions get the new key.
#[test]
fn a_rotated_transport_key_is_found_again() {
    let n = Arc::new(notary(Options::default()));
    n.bind_curve("tcp://127.0.0.1:*", &Options::default())
        .unwrap();
    let first = n.transport_key().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let t = serve(n.clone(), stop.clone());
    let patient = Options {
        latency_receive_ms: 1000,
        latency_receive_no_tries: 3,
        ..v2(1)
    };
    let mut s = session(&n.endpoint(), patient.clone());
    assert_eq!(s.request(b"before").unwrap(), b"ok:before\n");
    assert_eq!(s.counter("curve"), Some(1));
    thread::sleep(std::time::Duration::from_millis(1100));

    let (public, secret) = curve_keypair().unwrap();
    n.set_transport_key(&secret, now_unix() + 3600).unwrap();
    assert_eq!(n.transport_key().as_deref(), Some(public.as_str()));
    assert_ne!(first, public);
    let t0 = std::time::Instant::now();
    assert_eq!(s.request(b"after").unwrap(), b"ok:after\n");
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(s.counter("transport_key_changes"), Some(1));
    assert_eq!(s.counter("curve"), Some(1));
    let mut fresh = session(&n.endpoint(), patient);
    assert_eq!(fresh.request(b"fresh").unwrap(), b"ok:fresh\n");
    assert_eq!(fresh.counter("curve"), Some(1));
    assert_eq!(n.counter("requests_curve"), Some(3));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}

/// `require_curve` on the plain endpoint: v2 requests there get `ERR` CURVE_REQUIRED (a session
/// with `curve_policy` 0 fails with it), probes are answered with the documents, and sessions
/// with the default policy move to CURVE and are served; legacy REQ is served as before.
#[test]
fn a_plain_endpoint_can_require_curve_for_v2() {
    let n = Arc::new(notary(Options::default()));
    let strict = n
        .add_endpoint(
            "tcp://127.0.0.1:*",
            &Options {
                require_curve: true,
                ..Options::default()
            },
        )
        .unwrap();
    n.bind_curve("tcp://127.0.0.1:*", &Options::default())
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let t = serve(n.clone(), stop.clone());
    let mut plain = session(&strict, v2(0));
    let e = plain.request(b"in clear").unwrap_err();
    assert!(
        e.to_string()
            .contains(ot_transport::transport::CURVE_REQUIRED),
        "{e}"
    );
    assert_eq!(n.counter("curve_required"), Some(1));
    let mut s = session(&strict, v2(1));
    assert_eq!(s.request(b"over curve").unwrap(), b"ok:over curve\n");
    assert_eq!(s.counter("curve"), Some(1));
    let mut legacy = session(&strict, fast());
    assert_eq!(legacy.request(b"legacy").unwrap(), b"ok:legacy\n");
    assert_eq!(n.counter("curve_required"), Some(1));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}

/// A notary unreachable at the first request: the probe goes unanswered and the request waits
/// on the plain connection; once the connection is up, the session asks again and moves to CURVE.
#[test]
fn a_notary_that_was_down_is_asked_again_once_up() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut s = session(
        &ep,
        Options {
            probe_timeout_ms: 200,
            latency_receive_ms: 1000,
            latency_receive_no_tries: 3,
            ..v2(1)
        },
    );
    let id = s.send(b"early").unwrap(); // nobody listens: the probe goes unanswered
    assert_eq!(s.counter("curve"), Some(0));
    let (_, notary) = pair();
    let n = Arc::new(
        Notary::bind(
            &ep,
            &notary.auth,
            &notary.enc,
            &notary.id,
            Options::default(),
        )
        .unwrap(),
    );
    n.bind_curve("tcp://127.0.0.1:*", &Options::default())
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let t = serve(n.clone(), stop.clone());
    let (got, reply) = s.receive(10_000).unwrap();
    assert_eq!((got, reply.unwrap()), (id, b"ok:early\n".to_vec()));
    assert_eq!(s.request(b"later").unwrap(), b"ok:later\n");
    assert_eq!(s.counter("curve"), Some(1));
    assert_eq!(n.counter("requests_curve"), Some(1));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}
