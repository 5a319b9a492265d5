//! Soak run: N full requests (sign, seal, send, open, verify both ways) between a client session
//! and a notary in one process, reporting resident memory (VmRSS) as it goes. Memory must stay
//! flat. Usage: `scripts/soak [N]` (default 100000).

use std::thread;
use std::time::Instant;

use ot_transport::keys::Key;
use ot_transport::transport::{Notary, Options, Session};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let keys: Vec<Key> = (0..4).map(|_| Key::generate(1024).expect("key")).collect();
    let (c_auth, c_enc, n_auth, n_enc) = (&keys[0], &keys[1], &keys[2], &keys[3]);
    let n_id = n_auth.nym_id().expect("id");
    let opts = Options {
        latency_delay_after: 0,
        latency_receive_ms: 1000,
        ..Options::default()
    };
    let notary =
        Notary::bind("tcp://127.0.0.1:*", n_auth, n_enc, &n_id, opts.clone()).expect("bind");
    let ep = notary.endpoint().to_string();
    let (ca, ce) = (c_auth.to_public(), c_enc.to_public());
    let server = thread::spawn(move || {
        for _ in 0..n {
            let req = notary.receive(30_000).expect("receive");
            let content = req.verify(&ca).expect("verify").to_vec();
            notary.reply(&req, &content, Some(&ce)).expect("reply");
        }
        notary.stats()
    });
    let mut s = Session::new(&ep, opts).expect("session");
    s.set_identity(c_auth, c_enc).expect("identity");
    s.set_notary(&n_id, n_enc, n_auth).expect("notary");
    let start = Instant::now();
    let rss0 = rss_kib();
    println!("soak: {n} requests, RSA-1024 keys; RSS at start {rss0} KiB");
    let mut peak = rss0;
    for i in 1..=n {
        let msg = format!(
            "<OTmessage requestNum=\"{i}\"><payload>{}</payload></OTmessage>\n",
            "x".repeat((i % 512) as usize)
        );
        let reply = s.request(msg.as_bytes()).expect("request");
        assert_eq!(reply, msg.as_bytes());
        if i % (n / 10).max(1) == 0 {
            let r = rss_kib();
            peak = peak.max(r);
            println!(
                "  {i:>7} requests  {:>6.1} s  RSS {r} KiB",
                start.elapsed().as_secs_f64()
            );
        }
    }
    let stats = server.join().expect("notary thread");
    let rss1 = rss_kib();
    println!(
        "soak: done in {:.1} s ({:.2} ms/request); RSS start {rss0} KiB, end {rss1} KiB, peak {peak} KiB; \
         session resends {}, notary replies {}",
        start.elapsed().as_secs_f64(),
        start.elapsed().as_secs_f64() * 1000.0 / n as f64,
        s.stats().resends,
        stats.replies
    );
}
