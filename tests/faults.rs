//! Transport fault injection: misbehaving notaries and clients, built from raw ZeroMQ sockets.
//! The client must return a clear error (or recover) and never hang past its configured total
//! timeout; the notary must keep serving.

use std::thread;
use std::time::{Duration, Instant};

use ot_transport::ErrorKind;
use ot_transport::transport::{Notary, Options, Session};

#[path = "common/transport.rs"]
mod fixtures;
use fixtures::*;

/// A raw REP socket on a free port, answering each request with `reply(n)`.
fn raw_rep(
    count: usize,
    reply: impl Fn(usize) -> Option<Vec<Vec<u8>>> + Send + 'static,
) -> (String, thread::JoinHandle<()>) {
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::REP).unwrap();
    // Lingers: the thread may end right after its last send, before libzmq wrote it.
    s.set_linger(10_000).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.get_last_endpoint().unwrap().unwrap();
    let h = thread::spawn(move || {
        let _ctx = ctx;
        for i in 0..count {
            if s.poll(zmq::POLLIN, 10_000).unwrap() == 0 {
                return;
            }
            let _req = s.recv_multipart(0).unwrap();
            match reply(i) {
                Some(frames) => s.send_multipart(frames, 0).unwrap(),
                None => return, // never answer
            }
        }
    });
    (ep, h)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// A reply the client can verify, made by a real notary-side signing step.
fn good_reply(content: &[u8]) -> Vec<u8> {
    let (c, n) = pair();
    let text = ot_transport::signed::create("MESSAGE", content, &n.auth, None).unwrap();
    ot_transport::envelope::Envelope::seal(
        &[ot_transport::envelope::Recipient {
            nym_id: "",
            key: &c.enc,
        }],
        text.as_bytes(),
    )
    .unwrap()
    .to_armor(true)
    .unwrap()
    .into_bytes()
}

#[test]
fn replies_delayed_past_the_timeout_are_not_mistaken_for_later_answers() {
    // Request 0: answered after 1 s, past the first attempt's 700 ms; the resend (on a fresh
    // socket) and the next request: at once. The late reply goes to the closed socket.
    let (ep, h) = raw_rep(3, |i| {
        if i == 0 {
            thread::sleep(Duration::from_millis(1000));
            Some(vec![good_reply(b"stale")])
        } else {
            Some(vec![good_reply(format!("fresh {i}").as_bytes())])
        }
    });
    let mut s = session(&ep, fast());
    let worst = Duration::from_millis(fast().worst_case_ms().unwrap() as u64);
    let (r, took) = timed(|| s.request(b"first\n"));
    let got = r.unwrap();
    assert_eq!(s.stats().resends, 1);
    assert!(took < worst + Duration::from_secs(2), "{took:?}");
    assert_eq!(got, b"fresh 1\n", "{}", String::from_utf8_lossy(&got));
    assert_eq!(s.request(b"second\n").unwrap(), b"fresh 2\n");
    h.join().unwrap();
}

#[test]
fn garbage_truncated_empty_and_multipart_replies_are_clear_errors() {
    let full = good_reply(b"ok");
    let cases: Vec<(Vec<Vec<u8>>, ErrorKind)> = vec![
        (vec![b"%%% garbage %%%".to_vec()], ErrorKind::Transport),
        (vec![full[..full.len() / 2].to_vec()], ErrorKind::Malformed),
        (vec![Vec::new()], ErrorKind::Transport),
        (
            vec![
                b"-----BEGIN OT ARMORED NOTHING-----\nCgF4\n-----END OT ARMORED NOTHING-----\n"
                    .to_vec(),
            ],
            ErrorKind::Transport,
        ),
        (vec![full.clone(), b"extra".to_vec()], ErrorKind::Transport),
    ];
    let n = cases.len();
    let replies: Vec<Vec<Vec<u8>>> = cases
        .iter()
        .map(|c| c.0.clone())
        .chain([vec![full.clone()]])
        .collect();
    let (ep, h) = raw_rep(n + 1, move |i| Some(replies[i].clone()));
    let mut s = session(&ep, fast());
    for (i, (_, kind)) in cases.iter().enumerate() {
        let (r, took) = timed(|| s.request(b"x\n"));
        assert_eq!(r.unwrap_err().kind(), *kind, "case {i}");
        assert!(took < Duration::from_secs(2), "case {i}: {took:?}");
    }
    // The session is still usable.
    assert_eq!(s.request(b"x\n").unwrap(), b"ok\n");
    h.join().unwrap();
}

#[test]
fn a_notary_that_never_answers_costs_exactly_the_configured_schedule() {
    let (ep, _h) = raw_rep(2, |_| None);
    let mut s = session(&ep, fast());
    let worst = Duration::from_millis(fast().worst_case_ms().unwrap() as u64);
    let (r, took) = timed(|| s.request(b"x\n"));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
    assert!(
        took >= Duration::from_millis(1350) && took <= worst + Duration::from_millis(500),
        "{took:?} vs {worst:?}"
    );
}

fn serving_notary(
    o: Options,
) -> (
    String,
    thread::JoinHandle<Notary>,
    std::sync::mpsc::Sender<()>,
) {
    let (_, n) = pair();
    let nt = Notary::bind("tcp://127.0.0.1:*", &n.auth, &n.enc, &n.id, o).unwrap();
    let ep = nt.endpoint().to_string();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let h = thread::spawn(move || {
        let (c, _) = pair();
        while stop_rx.try_recv().is_err() {
            match nt.receive(200) {
                Ok(req) => {
                    let content = req.verify(&c.auth).unwrap().to_vec();
                    nt.reply(&req, &content, Some(&c.enc)).unwrap();
                }
                Err(e) if e.kind() == ErrorKind::Timeout => {}
                Err(_) => {} // rejected frame: the notary carries on
            }
        }
        nt
    });
    (ep, h, stop_tx)
}

#[test]
fn oversized_frames_and_silent_clients_do_not_stop_the_notary() {
    let o = Options {
        max_message_size: 16 * 1024,
        ..fast()
    };
    let (ep, h, stop) = serving_notary(o);
    // A frame over ZMQ_MAXMSGSIZE: libzmq drops that connection; the client times out.
    let mut raw = Session::new(
        &ep,
        Options {
            max_resends: 0,
            ..fast()
        },
    )
    .unwrap();
    assert_eq!(
        raw.exchange(&vec![b'A'; 64 * 1024]).unwrap_err().kind(),
        ErrorKind::Timeout
    );
    // Clients that connect and never send: a REQ that never sends, and a bare TCP connection.
    let ctx = zmq::Context::new();
    let idle = ctx.socket(zmq::REQ).unwrap();
    idle.set_linger(0).unwrap();
    idle.connect(&ep).unwrap();
    let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A normal client is still served.
    let mut s = session(&ep, fast());
    assert_eq!(
        s.request(b"after the bad ones\n").unwrap(),
        b"after the bad ones\n"
    );
    drop(tcp);
    drop(idle);
    stop.send(()).unwrap();
    let nt = h.join().unwrap();
    assert_eq!(nt.stats().replies, 1);
}

#[test]
fn a_thousand_clients_in_turn() {
    let (ep, h, stop) = serving_notary(fast());
    let t = Instant::now();
    for i in 0..1000 {
        let mut s = session(&ep, fast());
        let msg = format!("client {i}\n");
        assert_eq!(s.request(msg.as_bytes()).unwrap(), msg.as_bytes());
    }
    eprintln!("1000 clients in turn: {:?}", t.elapsed());
    stop.send(()).unwrap();
    let nt = h.join().unwrap();
    assert_eq!(nt.stats().replies, 1000);
    assert_eq!(nt.stats().rejected, 0);
}
