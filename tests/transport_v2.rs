//! Transport v2 over tcp loopback: the ROUTER notary under a garbage attack, pipelined v2
//! clients, idempotent resends, pushes with re-subscription, protocol auto.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ot_transport::ErrorKind;
use ot_transport::transport::frames::{self, Command};
use ot_transport::transport::{Notary, Options, Protocol, Session};

#[path = "common/transport.rs"]
mod fixtures;
use fixtures::*;

/// The tests here measure time (schedules, throughput under attack, heartbeats) and some are
/// CPU-heavy (10 000 sealed pushes): they run one at a time so that one's load cannot make
/// another miss its schedule on a 2-core machine.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn v2() -> Options {
    Options {
        protocol: 1,
        latency_receive_ms: 1000,
        latency_receive_no_tries: 1,
        max_resends: 3,
        ..fast()
    }
}

/// Serves until `stop`: replies `@` + content to every readable request.
fn serve_until(nt: Notary, stop: Arc<AtomicBool>) -> thread::JoinHandle<Notary> {
    thread::spawn(move || {
        let (client, _) = pair();
        while !stop.load(Ordering::Relaxed) {
            let Ok(req) = nt.receive(50) else { continue };
            if let Ok(c) = req.verify(&client.auth) {
                let reply = [b"@".as_slice(), c].concat();
                let _ = nt.reply(&req, &reply, Some(&client.enc));
            }
        }
        nt
    })
}

#[test]
fn v2_and_legacy_clients_share_one_notary() {
    let _serial = serial();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let h = serve_until(nt, stop.clone());
    let mut legacy = session(&ep, fast());
    let mut new = session(&ep, v2());
    for i in 0..5 {
        let m = format!("legacy {i}\n");
        assert_eq!(
            legacy.request(m.as_bytes()).unwrap(),
            format!("@{m}").as_bytes()
        );
        let m = format!("v2 {i}\n");
        assert_eq!(
            new.request(m.as_bytes()).unwrap(),
            format!("@{m}").as_bytes()
        );
    }
    assert_eq!(new.protocol().unwrap(), Protocol::V2);
    assert_eq!(legacy.protocol().unwrap(), Protocol::Legacy);
    // Pipelining is v2 only: a legacy session says so.
    assert_eq!(legacy.send(b"x\n").unwrap_err().kind(), ErrorKind::State);
    stop.store(true, Ordering::Relaxed);
    let nt = h.join().unwrap();
    assert_eq!(nt.stats().requests, 10);
    assert_eq!(nt.stats().rebinds, 0);
}

#[test]
fn sixty_four_in_flight_answered_out_of_order() {
    let _serial = serial();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let h = thread::spawn(move || {
        let (client, _) = pair();
        let mut held = Vec::new();
        while held.len() < 64 {
            held.push(nt.receive(10_000).unwrap());
        }
        // Answer in reverse order of arrival.
        for req in held.iter().rev() {
            let c = req.verify(&client.auth).unwrap().to_vec();
            nt.reply(req, &[b"@".as_slice(), &c].concat(), Some(&client.enc))
                .unwrap();
        }
        // A request cannot be answered twice.
        let again = nt.reply(&held[0], b"x", None).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::State);
        nt
    });
    let mut s = session(&ep, v2());
    let mut sent = std::collections::HashMap::new();
    for i in 0..64 {
        let m = format!("pipelined {i}\n");
        sent.insert(s.send(m.as_bytes()).unwrap(), m);
    }
    assert_eq!(s.in_flight(), 64);
    let mut order = Vec::new();
    for _ in 0..64 {
        let (id, r) = s.receive(10_000).unwrap();
        let m = sent.remove(&id).expect("each id completes exactly once");
        assert_eq!(r.unwrap(), format!("@{m}").as_bytes());
        order.push(id);
    }
    assert!(sent.is_empty());
    assert!(
        order.windows(2).any(|w| w[0] > w[1]),
        "replies came out of order"
    );
    assert_eq!(s.receive(0).unwrap_err().kind(), ErrorKind::Timeout);
    h.join().unwrap();
}

#[test]
fn max_in_flight_is_enforced() {
    let _serial = serial();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let mut s = session(
        &ep,
        Options {
            max_in_flight: 3,
            ..v2()
        },
    );
    for i in 0..3 {
        s.send(format!("{i}\n").as_bytes()).unwrap();
    }
    assert_eq!(s.send(b"4\n").unwrap_err().kind(), ErrorKind::State);
    drop(nt);
}

/// A bare v2 peer on a ROUTER: answers every `REQ` with a `REP` carrying the same body, as long
/// as `stop` is not set. Written from the wire spec, with no code of the library.
fn raw_v2_echo(stop: Arc<AtomicBool>) -> (String, thread::JoinHandle<usize>) {
    let ctx = zmq::Context::new();
    let r = ctx.socket(zmq::ROUTER).unwrap();
    r.set_linger(0).unwrap();
    r.bind("tcp://127.0.0.1:*").unwrap();
    let ep = r.get_last_endpoint().unwrap().unwrap();
    let h = thread::spawn(move || {
        let mut answered = 0;
        while !stop.load(Ordering::Relaxed) {
            if r.poll(zmq::POLLIN, 50).unwrap_or(0) == 0 {
                continue;
            }
            let f = r.recv_multipart(0).unwrap();
            if f.len() == 5 && f[1] == b"OTv2" && f[2] == b"REQ" {
                r.send_multipart([&f[0][..], b"OTv2", b"REP", &f[3], &f[4]], 0)
                    .unwrap();
                answered += 1;
            }
        }
        answered
    });
    (ep, h)
}

#[test]
fn raw_frames_pipeline_and_come_back_as_they_were_sent() {
    let _serial = serial();
    let stop = Arc::new(AtomicBool::new(false));
    let (ep, h) = raw_v2_echo(stop.clone());
    let o = Options {
        curve_policy: 0, // the bare peer publishes no transport key
        max_message_size: 4096,
        ..v2()
    };
    let mut s = Session::new(&ep, o).unwrap();
    let mut sent = std::collections::HashMap::new();
    for i in 0..64u32 {
        // Any bytes: NULs, no armor, nothing a notary could read.
        let frame = [
            i.to_be_bytes().as_slice(),
            b"\0raw\xff",
            &vec![i as u8; i as usize],
        ]
        .concat();
        sent.insert(s.send_frame(&frame).unwrap(), frame);
    }
    assert_eq!(s.in_flight(), 64);
    for _ in 0..64 {
        let (id, r) = s.receive(10_000).unwrap();
        let frame = sent.remove(&id).expect("each id completes exactly once");
        assert_eq!(
            r.unwrap(),
            frame,
            "the reply frame comes back as it was sent"
        );
    }
    assert_eq!(s.receive(0).unwrap_err().kind(), ErrorKind::Timeout);
    // A frame over max_message_size is refused before anything is sent.
    let big = s.send_frame(&[7u8; 4097]).unwrap_err();
    assert_eq!(big.kind(), ErrorKind::InvalidArgument);
    stop.store(true, Ordering::Relaxed);
    assert_eq!(h.join().unwrap(), 64, "the peer saw each frame once");
    // Pipelining is v2 only.
    let mut legacy = Session::new(&ep, fast()).unwrap();
    assert_eq!(
        legacy.send_frame(b"x").unwrap_err().kind(),
        ErrorKind::State
    );
}

#[test]
fn raw_frames_and_signed_requests_share_a_session() {
    let _serial = serial();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let h = serve_until(nt, stop.clone());
    let mut s = session(&ep, v2());
    let mut signed = std::collections::HashMap::new();
    let mut raw = std::collections::HashSet::new();
    for i in 0..8 {
        let m = format!("signed {i}\n");
        signed.insert(s.send(m.as_bytes()).unwrap(), m);
        raw.insert(s.send_frame(b"not a sealed request").unwrap());
    }
    for _ in 0..16 {
        let (id, r) = s.receive(10_000).unwrap();
        if let Some(m) = signed.remove(&id) {
            assert_eq!(
                r.unwrap(),
                format!("@{m}").as_bytes(),
                "opened and verified"
            );
        } else {
            assert!(raw.remove(&id), "an id that was sent");
            // The notary cannot read it: its one answer for that, as an error of this request.
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Transport);
            assert!(e.to_string().contains("could not be read"), "{e}");
        }
    }
    assert!(signed.is_empty() && raw.is_empty());
    stop.store(true, Ordering::Relaxed);
    let nt = h.join().unwrap();
    assert_eq!(nt.stats().requests, 8);
}

/// A raw v2 DEALER with a fixed routing id, to replay frames exactly.
fn raw_dealer(ep: &str, id: &[u8]) -> zmq::Socket {
    let ctx = zmq::Context::new();
    let d = ctx.socket(zmq::DEALER).unwrap();
    d.set_identity(id).unwrap();
    d.set_linger(0).unwrap();
    d.connect(ep).unwrap();
    d
}

#[test]
fn resent_requests_reach_the_application_once() {
    let _serial = serial();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    // A v2 session whose notary answers late: the session resends on the same socket while
    // the first copy is being handled; the application sees it once.
    let h = thread::spawn(move || {
        let (client, _) = pair();
        let req = nt.receive(10_000).unwrap();
        thread::sleep(Duration::from_millis(700)); // the client resends meanwhile
        let c = req.verify(&client.auth).unwrap().to_vec();
        nt.reply(&req, &c, Some(&client.enc)).unwrap();
        // Nothing else reaches the application: the resends were absorbed.
        assert_eq!(nt.receive(300).unwrap_err().kind(), ErrorKind::Timeout);
        nt
    });
    let mut s = session(
        &ep,
        Options {
            latency_receive_ms: 200,
            ..v2()
        },
    );
    assert_eq!(s.request(b"slow\n").unwrap(), b"slow\n");
    assert!(s.stats().resends >= 2, "{:?}", s.stats());
    let nt = h.join().unwrap();
    assert!(nt.stats().duplicates >= 2);
    assert_eq!(nt.stats().requests, 1);

    // A reply that was lost after the notary sent it: the same request id again is answered
    // from the reply cache, byte for byte, without reaching the application.
    let (client, n) = pair();
    let mut helper = Session::new(&ep, fast()).unwrap();
    helper.set_identity(&client.auth, &client.enc).unwrap();
    helper.set_notary(&n.id, &n.enc, &n.auth).unwrap();
    let body = helper.request_frame(b"once\n").unwrap();
    let d = raw_dealer(&ep, b"Ofixed-routing-id");
    d.send_multipart(frames::v2(Command::Req, 42, &body), 0)
        .unwrap();
    let req = nt.receive(5_000).unwrap();
    nt.reply(&req, b"answer", Some(&client.enc)).unwrap();
    let first = frames::parse_v2(d.recv_multipart(0).unwrap()).unwrap();
    assert_eq!((first.command, first.number), (Command::Rep, 42));
    // A cached reply is sent again at most once a second: a resend at once is ignored.
    d.send_multipart(frames::v2(Command::Req, 42, &body), 0)
        .unwrap();
    assert_eq!(nt.receive(300).unwrap_err().kind(), ErrorKind::Timeout);
    assert_eq!(
        d.poll(zmq::POLLIN, 0).unwrap(),
        0,
        "resent within the interval"
    );
    thread::sleep(Duration::from_millis(800));
    d.send_multipart(frames::v2(Command::Req, 42, &body), 0)
        .unwrap();
    assert_eq!(nt.receive(300).unwrap_err().kind(), ErrorKind::Timeout);
    let again = frames::parse_v2(d.recv_multipart(0).unwrap()).unwrap();
    assert_eq!(again, first);
    // An unreadable v2 request gets an ERR frame (v2 clients never wait it out), with the one
    // reason, after the uniform delay, sent while the application is in `receive`.
    let sent = Instant::now();
    d.send_multipart(frames::v2(Command::Req, 43, b"garbage"), 0)
        .unwrap();
    assert_eq!(nt.receive(1_000).unwrap_err().kind(), ErrorKind::Malformed);
    while d.poll(zmq::POLLIN, 0).unwrap() == 0 {
        assert!(sent.elapsed() < Duration::from_secs(5), "no ERR");
        let _ = nt.receive(10);
    }
    let err = frames::parse_v2(d.recv_multipart(0).unwrap()).unwrap();
    assert!(sent.elapsed() >= ot_transport::transport::unreadable_answer_delay(7));
    assert_eq!((err.command, err.number), (Command::Err, 43));
    assert_eq!(err.body, ot_transport::transport::UNREADABLE.as_bytes());
}

#[test]
fn garbage_every_100ms_does_not_slow_honest_clients() {
    let _serial = serial();
    // 4 honest legacy clients for 2 s, without and with one socket sending a garbage request
    // every 100 ms. (The REP notary re-created its socket for each: 47x fewer requests.)
    fn run(attack: bool) -> (usize, Duration) {
        let nt = notary(fast());
        let ep = nt.endpoint().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let h = serve_until(nt, stop.clone());
        let attacker = attack.then(|| {
            let ep = ep.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut once = fast();
                    once.max_resends = 0;
                    once.request_timeout_ms = 100;
                    let mut raw = Session::new(&ep, once).unwrap();
                    let _ = raw.exchange(b"%%% garbage %%%");
                    sent += 1;
                }
                sent
            })
        });
        let counts = Arc::new(Mutex::new((0usize, Duration::ZERO)));
        let end = Instant::now() + Duration::from_secs(2);
        let clients: Vec<_> = (0..4)
            .map(|i| {
                let ep = ep.clone();
                let counts = counts.clone();
                thread::spawn(move || {
                    let mut s = session(&ep, fast());
                    while Instant::now() < end {
                        let t = Instant::now();
                        let m = format!("honest {i}\n");
                        assert_eq!(s.request(m.as_bytes()).unwrap(), format!("@{m}").as_bytes());
                        let mut c = counts.lock().unwrap();
                        c.0 += 1;
                        c.1 = c.1.max(t.elapsed());
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        if let Some(a) = attacker {
            assert!(a.join().unwrap() >= 5);
        }
        let nt = h.join().unwrap();
        if attack {
            assert!(nt.stats().rejected >= 5);
        }
        assert_eq!(nt.stats().rebinds, 0);
        *counts.lock().unwrap()
    }
    let (calm, calm_max) = run(false);
    let (attacked, attacked_max) = run(true);
    eprintln!(
        "honest requests in 2 s: {calm} calm, {attacked} attacked; max latency {calm_max:?} / {attacked_max:?}"
    );
    // What this guards against is structural: the REP notary re-created its socket for every
    // garbage request (47x fewer honest requests). The bounds leave room for a loaded 2-core
    // machine, where the attacker's own thread takes CPU; bench_v2 measures the exact figures.
    assert!(attacked * 3 >= calm, "{attacked} vs {calm}");
    assert!(attacked_max < calm_max * 10 + Duration::from_millis(500));
}

#[test]
fn pushes_reach_every_subscriber_and_survive_a_notary_restart() {
    let _serial = serial();
    let (client, n) = pair();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let subscribers = 10;
    let pushes = 1000;
    // Subscriptions: each session sends one; the notary's application registers its route.
    let registrar = thread::spawn(move || {
        for _ in 0..subscribers {
            let req = nt.receive(10_000).unwrap();
            req.verify(&client.auth).unwrap();
            nt.register_push(&req, "nym-A", &client.enc).unwrap();
            nt.reply(&req, b"subscribed", Some(&client.enc)).unwrap();
        }
        nt
    });
    let mut sessions: Vec<Session> = (0..subscribers).map(|_| session(&ep, v2())).collect();
    for s in &mut sessions {
        assert_eq!(
            s.subscribe(b"<subscribe nym=\"nym-A\"/>\n").unwrap(),
            b"subscribed\n"
        );
    }
    let nt = registrar.join().unwrap();
    let readers: Vec<_> = sessions
        .into_iter()
        .map(|mut s| {
            thread::spawn(move || {
                for want in 1..=pushes {
                    let p = s.next_push(10_000).unwrap();
                    assert_eq!((p.seq, p.missed), (want, 0));
                    assert_eq!(p.content, format!("update {want}\n").as_bytes());
                }
                s
            })
        })
        .collect();
    for i in 1..=pushes {
        assert_eq!(
            nt.push("nym-A", format!("update {i}\n").as_bytes())
                .unwrap(),
            subscribers
        );
    }
    let mut sessions: Vec<Session> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(nt.push("nobody", b"x").unwrap(), 0);

    // A client that goes away: its route is dropped at the next push.
    drop(sessions.pop());
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        nt.push("nym-A", b"after one left\n").unwrap(),
        subscribers - 1
    );
    assert_eq!(nt.stats().dropped_routes, 1);
    let s = &mut sessions[0];
    assert_eq!(s.next_push(5_000).unwrap().seq, pushes + 1);

    // The notary restarts on the same endpoint: the session re-subscribes by itself, and the
    // restarted sequence is reported as a gap of unknown size.
    drop(nt);
    let nt = Notary::bind(&ep, &n.auth, &n.enc, &n.id, fast()).unwrap();
    let mut s = sessions.swap_remove(0);
    drop(sessions);
    let reader = thread::spawn(move || {
        let p = s.next_push(20_000).unwrap();
        (p.seq, p.missed, p.content)
    });
    let req = nt.receive(20_000).unwrap();
    assert_eq!(
        req.verify(&client.auth).unwrap(),
        b"<subscribe nym=\"nym-A\"/>\n"
    );
    nt.register_push(&req, "nym-A", &client.enc).unwrap();
    nt.reply(&req, b"subscribed again", Some(&client.enc))
        .unwrap();
    assert_eq!(nt.push("nym-A", b"fresh start\n").unwrap(), 1);
    assert_eq!(
        reader.join().unwrap(),
        (1, u64::MAX, b"fresh start\n".to_vec())
    );
}

#[test]
fn legacy_requests_cannot_register_pushes_and_replies_to_gone_clients_are_errors() {
    let _serial = serial();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let (client, _) = pair();
    let h = thread::spawn(move || {
        let mut s = session(
            &ep,
            Options {
                max_resends: 0,
                request_timeout_ms: 300,
                ..fast()
            },
        );
        s.request(b"legacy\n").unwrap_err().kind()
    });
    let req = nt.receive(10_000).unwrap();
    assert_eq!(
        nt.register_push(&req, "n", &client.enc).unwrap_err().kind(),
        ErrorKind::State
    );
    assert_eq!(h.join().unwrap(), ErrorKind::Timeout);
    thread::sleep(Duration::from_millis(200)); // the client's socket is closed by now
    assert_eq!(
        nt.reply(&req, b"too late", None).unwrap_err().kind(),
        ErrorKind::Transport
    );
}

#[test]
fn auto_uses_v2_with_this_notary() {
    let _serial = serial();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let h = serve_until(nt, stop.clone());
    let mut s = session(
        &ep,
        Options {
            protocol: 2,
            ..v2()
        },
    );
    assert_eq!(s.request(b"auto\n").unwrap(), b"@auto\n");
    assert_eq!(s.protocol().unwrap(), Protocol::V2);
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
}

#[test]
fn auto_falls_back_to_legacy_against_a_rep_notary() {
    let _serial = serial();
    // A plain REP socket (as every legacy notary has) drops v2 frames: the probe goes
    // unanswered and the session speaks legacy REQ to it.
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.get_last_endpoint().unwrap().unwrap();
    let h = thread::spawn(move || {
        let m = rep.recv_bytes(0).unwrap();
        rep.send([b"echo:".as_slice(), &m].concat(), 0).unwrap();
    });
    let mut s = Session::new(
        &ep,
        Options {
            protocol: 2,
            probe_timeout_ms: 300,
            ..fast()
        },
    )
    .unwrap();
    assert_eq!(s.exchange(b"hello").unwrap(), b"echo:hello");
    assert_eq!(s.protocol().unwrap(), Protocol::Legacy);
    h.join().unwrap();
}

#[test]
fn a_dead_v2_notary_is_reported_within_the_heartbeat_timeout() {
    let _serial = serial();
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let mut s = session(
        &ep,
        Options {
            heartbeat_ivl_ms: 100,
            heartbeat_timeout_ms: 400,
            latency_receive_ms: 60_000,
            ..v2()
        },
    );
    let id = s.send(b"never answered\n").unwrap();
    let _req = nt.receive(5_000).unwrap();
    let t = Instant::now();
    drop(nt); // the connection closes; nobody listens any more
    let (got, r) = s.receive(30_000).unwrap();
    assert_eq!(got, id);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn notaries_gone_before_their_v2_sessions_do_not_stall_the_process() {
    // Regression: a v2 session's socket monitor was closed while libzmq still sent the closing
    // socket's events to it; libzmq's blocking monitor sends then stalled the context, and every
    // later connection in the process hung (before the fix this loop failed within a few rounds).
    let _serial = serial();
    let one = |protocol: i64, round: usize| {
        let nt = notary(fast());
        let ep = nt.endpoint().to_string();
        let h = thread::spawn(move || {
            let (client, _) = pair();
            let r = nt.receive(3_000);
            if let Ok(req) = &r {
                nt.reply(req, b"ok", Some(&client.enc)).unwrap();
            }
            (nt, r.is_ok())
        });
        let mut s = session(&ep, Options { protocol, ..fast() });
        let r = s.request(b"x\n");
        let (nt, served) = h.join().unwrap();
        drop(nt); // the notary goes first, while the session is still connected
        drop(s);
        assert!(served, "round {round}: the notary never saw the request");
        assert_eq!(r.unwrap(), b"ok\n", "round {round}");
    };
    for round in 0..12 {
        one(1, round);
        one(0, round);
    }
}
