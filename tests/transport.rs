//! Client session and notary over loopback (ports read back from the bound socket), through the
//! Rust API: the transport's behaviour. Sealed and plain replies; the legacy schedule and its
//! timeout; recovery by resending; garbage and wrong keys; `reply_errors`; a notary restarting
//! on its endpoint; heartbeats; what CURVE refuses; state errors. What is about the C ABI —
//! options by name and from INI text, 1 000 requests and a 1 MiB message through C handles and
//! buffers, CURVE keys as Z85 text — is in c-tests/test_transport.c. Each scenario is in one of
//! the two files, not both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ot_transport::ErrorKind;
use ot_transport::keys::Key;
use ot_transport::transport::{Notary, Options, Session};

#[path = "common/transport.rs"]
mod fixtures;
use fixtures::*;

/// Serves `n` requests: verifies each with the client's key and replies `@` + content.
fn serve(nt: Notary, n: usize, sealed: bool) -> thread::JoinHandle<Notary> {
    thread::spawn(move || {
        let (client, _) = pair();
        for _ in 0..n {
            let req = nt.receive(10_000).unwrap();
            let content = req.verify(&client.auth).unwrap().to_vec();
            let reply = [b"@".as_slice(), &content].concat();
            nt.reply(&req, &reply, sealed.then_some(&client.enc))
                .unwrap();
        }
        nt
    })
}

#[test]
fn round_trip_sealed_and_plain_replies() {
    for sealed in [true, false] {
        let nt = notary(fast());
        let ep = nt.endpoint().to_string();
        let h = serve(nt, 3, sealed);
        let mut s = session(&ep, fast());
        for i in 0..3 {
            let msg = format!("<OTmessage>request {i}</OTmessage>\n");
            assert_eq!(
                s.request(msg.as_bytes()).unwrap(),
                format!("@{msg}").as_bytes()
            );
        }
        let nt = h.join().unwrap();
        assert_eq!(nt.stats().replies, 3);
        assert_eq!(s.stats().resends, 0);
    }
}

#[test]
fn no_notary_times_out_within_the_schedule_and_session_stays_usable() {
    // Nothing listens there, and nobody else can start listening there meanwhile.
    let ipc = UnusedIpc::new("no-notary");
    let ep = ipc.endpoint.clone();
    let mut s = session(&ep, fast());
    let t = Instant::now();
    let e = s.request(b"hello\n").unwrap_err();
    let took = t.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    // 2 attempts x (100+200+400 ms) = 1.4 s, plus scheduling slack.
    assert!(
        took >= Duration::from_millis(1300) && took < Duration::from_millis(4000),
        "{took:?}"
    );
    assert_eq!(s.stats().timeouts, 1);
    // A notary appears there: the same session now succeeds.
    let (_, n) = pair();
    let nt = Notary::bind(&ep, &n.auth, &n.enc, &n.id, fast()).unwrap();
    let h = serve(nt, 1, true);
    assert_eq!(s.request(b"again\n").unwrap(), b"@again\n");
    h.join().unwrap();
}

#[test]
fn a_dropped_request_is_recovered_by_resending() {
    for relaxed in [false, true] {
        let mut o = fast();
        o.req_relaxed = relaxed;
        let nt = notary(fast());
        let ep = nt.endpoint().to_string();
        let h = thread::spawn(move || {
            let (client, _) = pair();
            // Drop the first request (no reply), answer the resend.
            let first = nt.receive(10_000).unwrap();
            let _ = first.verify(&client.auth).unwrap();
            let req = nt.receive(10_000).unwrap();
            let c = req.verify(&client.auth).unwrap().to_vec();
            nt.reply(&req, &c, Some(&client.enc)).unwrap();
            // Then serve normally.
            let req = nt.receive(10_000).unwrap();
            nt.reply(&req, b"next", Some(&client.enc)).unwrap();
            nt
        });
        let mut s = session(&ep, o);
        assert_eq!(s.request(b"once\n").unwrap(), b"once\n");
        assert_eq!(s.stats().resends, 1);
        // Signed content always ends with a newline (the legacy reader re-terminates lines).
        assert_eq!(s.request(b"twice\n").unwrap(), b"next\n");
        let nt = h.join().unwrap();
        // The ROUTER notary never re-creates its socket (the legacy REP notary did here).
        assert_eq!(nt.stats().rebinds, 0);
    }
}

#[test]
fn garbage_and_wrong_keys_do_not_stop_the_notary() {
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let h = thread::spawn(move || {
        let nt = nt;
        let mut errors = Vec::new();
        // 1: garbage frame, 2: sealed to the wrong key; then one good request.
        for _ in 0..2 {
            errors.push(nt.receive(10_000).err().map(|e| e.kind()));
        }
        let (client, _) = pair();
        let req = nt.receive(10_000).unwrap();
        nt.reply(&req, b"ok", Some(&client.enc)).unwrap();
        (nt, errors)
    });
    let mut once = fast();
    once.max_resends = 0;
    let mut raw = Session::new(&ep, once.clone()).unwrap();
    assert_eq!(
        raw.exchange(b"%%% not armor %%%").unwrap_err().kind(),
        ErrorKind::Timeout
    );
    // A client that was given the wrong notary encryption key.
    let (client, n) = pair();
    let wrong = Key::generate(1024).unwrap();
    let mut s0 = Session::new(&ep, once).unwrap();
    s0.set_identity(&client.auth, &client.enc).unwrap();
    s0.set_notary(&n.id, &wrong, &n.auth).unwrap();
    assert_eq!(s0.request(b"x\n").unwrap_err().kind(), ErrorKind::Timeout);
    let mut good = session(&ep, fast());
    assert_eq!(good.request(b"hi\n").unwrap(), b"ok\n");
    let (nt, errors) = h.join().unwrap();
    assert_eq!(
        errors,
        vec![Some(ErrorKind::Malformed), Some(ErrorKind::DecryptFailed)]
    );
    assert_eq!(nt.stats().rebinds, 0);
    assert_eq!(nt.stats().rejected, 2);
}

#[test]
fn reply_errors_option_gives_the_client_a_clear_error() {
    let mut o = fast();
    o.reply_errors = true;
    let nt = notary(o);
    let ep = nt.endpoint().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    // The notary keeps receiving: its answer to an unreadable request goes out after the
    // uniform delay, from inside `receive`.
    let h = thread::spawn(move || {
        let nt = nt;
        let mut first = None;
        while !stop2.load(Ordering::Relaxed) {
            if let Err(e) = nt.receive(20)
                && e.kind() != ErrorKind::Timeout
            {
                first.get_or_insert(e.kind());
            }
        }
        first
    });
    let (client, n) = pair();
    let wrong = Key::generate(1024).unwrap();
    let mut s = Session::new(&ep, fast()).unwrap();
    s.set_identity(&client.auth, &client.enc).unwrap();
    s.set_notary(&n.id, &wrong, &n.auth).unwrap();
    let e = s.request(b"x\n").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    // The one reason every unreadable request gets (whatever failed).
    assert!(
        e.detail().contains(ot_transport::transport::UNREADABLE),
        "{}",
        e.detail()
    );
    stop.store(true, Ordering::Relaxed);
    assert_eq!(h.join().unwrap(), Some(ErrorKind::DecryptFailed));
}

#[test]
fn wrong_notary_auth_key_is_a_bad_signature() {
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let h = serve(nt, 1, true);
    let (client, n) = pair();
    let mut s = Session::new(&ep, fast()).unwrap();
    s.set_identity(&client.auth, &client.enc).unwrap();
    s.set_notary(&n.id, &n.enc, &client.auth).unwrap();
    assert_eq!(
        s.request(b"x\n").unwrap_err().kind(),
        ErrorKind::BadSignature
    );
    h.join().unwrap();
}

#[test]
fn a_notary_restarting_on_its_endpoint_is_reached_again() {
    let nt = notary(fast());
    let ep = nt.endpoint().to_string();
    let h = serve(nt, 5, true);
    let mut s = session(&ep, fast());
    for i in 0..5 {
        let msg = format!("before restart {i}\n");
        assert_eq!(
            s.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
    }
    drop(h.join().unwrap()); // the notary goes down...
    let (_, n) = pair();
    let nt = Notary::bind(&ep, &n.auth, &n.enc, &n.id, fast()).unwrap(); // ...and comes back
    assert_eq!(nt.endpoint(), ep);
    let h = serve(nt, 5, true);
    for i in 0..5 {
        let msg = format!("after restart {i}\n");
        assert_eq!(
            s.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
    }
    assert_eq!(h.join().unwrap().stats().replies, 5);
}

#[test]
fn state_errors() {
    let mut s = Session::new("tcp://127.0.0.1:1", fast()).unwrap();
    assert_eq!(s.request(b"x\n").unwrap_err().kind(), ErrorKind::State);
    assert_eq!(
        Session::new("garbage", fast()).err().unwrap().kind(),
        ErrorKind::InvalidArgument
    );
    let (c, _) = pair();
    assert_eq!(
        s.set_identity(&c.auth.to_public(), &c.enc)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn heartbeats_and_relaxed_mode_work_end_to_end() {
    // ZMTP heartbeats on both sides (libzmq answers PINGs itself) must not disturb requests.
    let o = Options {
        heartbeat_ivl_ms: 50,
        heartbeat_timeout_ms: 200,
        heartbeat_ttl_ms: 500,
        req_relaxed: true,
        ..fast()
    };
    let nt = notary(o.clone());
    let ep = nt.endpoint().to_string();
    let h = serve(nt, 3, true);
    let mut s = session(&ep, o);
    for i in 0..3 {
        let msg = format!("beat {i}\n");
        std::thread::sleep(Duration::from_millis(150)); // idle time: heartbeats flow
        assert_eq!(
            s.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
    }
    h.join().unwrap();
}

#[test]
fn curve_secures_the_connection_when_both_ends_have_it() {
    use ot_transport::transport::curve_keypair;
    let (server_pub, server_sec) = curve_keypair().unwrap();
    let (client_pub, client_sec) = curve_keypair().unwrap();
    let mut server_opts = fast();
    server_opts.set_curve_server(&server_sec).unwrap();
    let nt = notary(server_opts);
    let ep = nt.endpoint().to_string();
    let h = serve(nt, 1, true);
    // While the notary waits: a plain client, or one expecting another server key, never
    // completes the handshake (the notary never even sees their requests).
    let (other_pub, _) = curve_keypair().unwrap();
    let mut plain = Options {
        max_resends: 0,
        ..fast()
    };
    let mut s = session(&ep, plain.clone());
    assert_eq!(s.request(b"x\n").unwrap_err().kind(), ErrorKind::Timeout);
    plain
        .set_curve_client(&other_pub, &client_pub, &client_sec)
        .unwrap();
    let mut s = session(&ep, plain);
    assert_eq!(s.request(b"x\n").unwrap_err().kind(), ErrorKind::Timeout);
    // A client with the right server key is served (the same, still waiting, notary).
    let mut o = fast();
    o.set_curve_client(&server_pub, &client_pub, &client_sec)
        .unwrap();
    let mut s = session(&ep, o);
    assert_eq!(s.request(b"over curve\n").unwrap(), b"@over curve\n");
    let nt = h.join().unwrap();
    assert_eq!(nt.stats().requests, 1);
    // Bad key text is refused up front.
    assert_eq!(
        fast().set_curve_server("short").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert!(!format!("{:?}", fast().curve).contains(&*server_sec));
}
