//! Scaling out through a broker (issue 10), threads in one process: legacy and v2 clients on the
//! frontend, worker notaries on the backend, a worker that goes away mid-stream, a push through
//! the broker, and a prompt shutdown. The multi-process test is c-tests/scale/test_broker.c.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ot_transport::transport::{Broker, Notary, Options, WorkerKeys, curve_keypair, curve_public};

#[path = "common/transport.rs"]
mod fixtures;
use fixtures::*;

fn client_opts(protocol: i64) -> Options {
    Options {
        protocol,
        latency_delay_after: 0,
        latency_receive_ms: 1500,
        latency_receive_no_tries: 1,
        max_resends: 4,
        ..Options::default()
    }
}

/// A worker thread: answers `@`+content, tagged with its number; registers subscriptions.
fn worker(
    backend: &str,
    opts: Options,
    tag: usize,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
) -> thread::JoinHandle<()> {
    let backend = backend.to_string();
    thread::spawn(move || {
        let (client, n) = pair();
        let nt = Notary::connect(&backend, &n.auth, &n.enc, &n.id, opts).unwrap();
        while !stop.load(Ordering::Relaxed) {
            let Ok(req) = nt.receive(50) else { continue };
            let Ok(c) = req.verify(&client.auth) else {
                continue;
            };
            let c = c.to_vec();
            if c.starts_with(b"<subscribe") {
                nt.register_push(&req, "nym-S", &client.enc).unwrap();
                nt.reply(&req, b"subscribed", Some(&client.enc)).unwrap();
                for i in 1..=3 {
                    assert_eq!(
                        nt.push("nym-S", format!("note {i}\n").as_bytes()).unwrap(),
                        1
                    );
                }
                continue;
            }
            let _ = nt.reply(
                &req,
                &[format!("{tag}@").as_bytes(), &c].concat(),
                Some(&client.enc),
            );
            served.fetch_add(1, Ordering::Relaxed);
        }
    })
}

#[test]
fn clients_workers_a_dying_worker_and_a_push_through_the_broker() {
    let (backend_pub, backend_sec) = curve_keypair().unwrap();
    let (worker_pub, worker_sec) = curve_keypair().unwrap();
    let broker = Broker::with_workers(
        "tcp://127.0.0.1:*",
        "tcp://127.0.0.1:*",
        &Options::default(),
        WorkerKeys::new(&backend_sec, &[&worker_pub]).unwrap(),
    )
    .unwrap();
    assert_eq!(broker.backend_public(), Some(backend_pub.as_str()));
    let mut wopts = Options::default();
    wopts
        .set_curve_client(&backend_pub, &worker_pub, &worker_sec)
        .unwrap();
    let (front, back) = (broker.frontend().to_string(), broker.backend().to_string());
    let served = Arc::new(AtomicUsize::new(0));
    let stops: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let workers: Vec<_> = (0..3)
        .map(|i| worker(&back, wopts.clone(), i, stops[i].clone(), served.clone()))
        .collect();
    let t0 = Instant::now();
    while broker.stats().workers < 3 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "workers never announced themselves"
        );
        thread::sleep(Duration::from_millis(10));
    }
    // 8 clients (legacy and v2) x 20 requests; worker 0 stops after a while.
    let done = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let front = front.clone();
            let done = done.clone();
            thread::spawn(move || {
                let mut s = session(&front, client_opts((c % 2) as i64));
                let mut by_worker = [0usize; 3];
                for i in 0..20 {
                    let m = format!("client {c} request {i}\n");
                    let r = s.request(m.as_bytes()).unwrap();
                    let text = String::from_utf8(r).unwrap();
                    let (w, rest) = text.split_once('@').unwrap();
                    assert_eq!(rest, m, "reply matched to its request");
                    by_worker[w.parse::<usize>().unwrap()] += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                by_worker
            })
        })
        .collect();
    while done.load(Ordering::Relaxed) < 40 {
        thread::sleep(Duration::from_millis(5));
    }
    stops[0].store(true, Ordering::Relaxed); // worker 0 goes away mid-stream
    let mut total = [0usize; 3];
    for c in clients {
        let b = c.join().unwrap();
        for i in 0..3 {
            total[i] += b[i];
        }
    }
    assert_eq!(total.iter().sum::<usize>(), 160, "every request answered");
    assert!(
        total.iter().all(|&n| n > 0),
        "load spread over the workers: {total:?}"
    );
    workers.into_iter().next().unwrap().join().unwrap();
    let t0 = Instant::now();
    while broker.stats().dead_workers < 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the dead worker was not noticed"
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(broker.stats().workers, 2);

    // A push through the broker: the subscription lands on some worker, which pushes 3 notes.
    let mut sub = session(&front, client_opts(1));
    assert_eq!(sub.subscribe(b"<subscribe/>\n").unwrap(), b"subscribed\n");
    for i in 1..=3 {
        let p = sub.next_push(5_000).unwrap();
        assert_eq!((p.seq, p.missed), (i, 0));
        assert_eq!(p.content, format!("note {i}\n").as_bytes());
    }
    assert!(broker.stats().pushes >= 3);

    // Shutdown is prompt with clients and workers still connected.
    let t0 = Instant::now();
    drop(broker);
    assert!(
        t0.elapsed() < Duration::from_millis(100),
        "{:?}",
        t0.elapsed()
    );
    for s in &stops {
        s.store(true, Ordering::Relaxed);
    }
}

/// A network backend admits only listed workers: without keys only a local backend is accepted;
/// keys come from the arguments or from files (mode 600 for the secret key, one public key per
/// line with comments and names), and every malformed input is refused with its place named.
#[test]
fn a_network_backend_needs_its_workers_listed() {
    let e = Broker::new(
        "tcp://127.0.0.1:*",
        "tcp://127.0.0.1:*",
        &Options::default(),
    )
    .err()
    .expect("a tcp backend without keys is refused");
    assert!(e.to_string().contains("admits only listed workers"), "{e}");
    let local = Broker::new(
        "tcp://127.0.0.1:*",
        "inproc://broker-test-local",
        &Options::default(),
    )
    .unwrap();
    assert_eq!(local.backend_public(), None);
    let (p, s) = curve_keypair().unwrap();
    let s = s.as_str();
    assert_eq!(curve_public(s).unwrap(), p);
    assert!(local.allow_worker(&p).is_err());
    drop(local);

    let dir = std::env::temp_dir().join(format!("ot-broker-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key, list) = (dir.join("backend.key"), dir.join("workers"));
    let (w1, _) = curve_keypair().unwrap();
    // '#' is a Z85 digit: a key may contain it (never first); only a line starting with '#' is
    // a comment.
    let hash_key = std::iter::repeat_with(|| curve_keypair().unwrap().0)
        .find(|k| k.contains('#'))
        .unwrap();
    std::fs::write(&key, format!("# the backend key\n  {s}  \n\n")).unwrap();
    std::fs::write(
        &list,
        format!("# workers\n{w1}  worker one\n\n#\n   {hash_key} # its comment\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let e = WorkerKeys::from_files(&key, &list).err().expect("mode 640");
    assert!(e.to_string().contains("readable by other users"), "{e}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let b = Broker::with_workers(
        "tcp://127.0.0.1:*",
        "tcp://127.0.0.1:*",
        &Options::default(),
        WorkerKeys::from_files(&key, &list).unwrap(),
    )
    .unwrap();
    assert_eq!(b.backend_public(), Some(p.as_str()));
    b.allow_worker(&curve_keypair().unwrap().0).unwrap();
    assert!(b.allow_worker("too short").is_err());
    drop(b);

    std::fs::write(&list, format!("{w1}\nnot-a-key\n")).unwrap();
    let e = WorkerKeys::from_files(&key, &list)
        .err()
        .expect("a bad line");
    assert!(e.to_string().contains("line 2"), "{e}");
    std::fs::write(&key, format!("{s}\n{s}\n")).unwrap();
    let e = WorkerKeys::from_files(&key, &list).err().expect("two keys");
    assert!(e.to_string().contains("exactly one line"), "{e}");
    let e = WorkerKeys::from_files(&dir.join("missing"), &list)
        .err()
        .expect("no file");
    assert!(e.to_string().contains("cannot read the key file"), "{e}");
    assert!(WorkerKeys::new("short", &[]).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Clients of the broker's frontend use the broker's CURVE key, which the notary's workers vouch
/// for: a worker signs a transport-key document for the broker's CURVE frontend, its PONG goes
/// back through the broker, and a v2 session with default options verifies it (the notary's
/// identity signed it) and talks CURVE to the broker.
#[test]
fn sessions_use_the_brokers_curve_frontend_that_the_workers_vouch_for() {
    use ot_transport::transport::transport_key::now_unix;
    let (backend_pub, backend_sec) = curve_keypair().unwrap();
    let (worker_pub, worker_sec) = curve_keypair().unwrap();
    let broker = Broker::with_workers(
        "tcp://127.0.0.1:*",
        "tcp://127.0.0.1:*",
        &Options::default(),
        WorkerKeys::new(&backend_sec, &[&worker_pub]).unwrap(),
    )
    .unwrap();
    let (curve_front, front_key) = broker.bind_curve("tcp://127.0.0.1:*", None).unwrap();
    assert_eq!(
        broker.curve_frontends(),
        vec![(curve_front.clone(), front_key.clone())]
    );
    let port = curve_front.rsplit(':').next().unwrap();
    let mut wopts = Options::default();
    wopts
        .set_curve_client(&backend_pub, &worker_pub, &worker_sec)
        .unwrap();
    let (client, n) = pair();
    let w = Arc::new(Notary::connect(broker.backend(), &n.auth, &n.enc, &n.id, wopts).unwrap());
    w.vouch_transport_key(&front_key, &format!("tcp://*:{port}"), now_unix() + 3600)
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (w2, stop2, client) = (w.clone(), stop.clone(), client.clone());
    let t = thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            let Ok(req) = w2.receive(20) else { continue };
            if let Ok(c) = req.verify(&client.auth) {
                let body = [b"w:".as_slice(), c].concat();
                let _ = w2.reply(&req, &body, Some(&client.enc));
            }
        }
    });
    let t0 = Instant::now();
    while broker.stats().workers < 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the worker never announced itself"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let mut s = session(broker.frontend(), client_opts(1));
    assert_eq!(s.request(b"via curve").unwrap(), b"w:via curve\n");
    assert_eq!(s.counter("curve"), Some(1));
    let mut plain = session(
        broker.frontend(),
        Options {
            curve_policy: 0,
            ..client_opts(1)
        },
    );
    assert_eq!(plain.request(b"in clear").unwrap(), b"w:in clear\n");
    assert_eq!(plain.counter("curve"), Some(0));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
}
