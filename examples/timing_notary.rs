//! Is the notary's answer to an unreadable request an oracle, as a remote client sees it? A
//! dudect-style measurement (Welch's t-test between two classes of requests, sent in random
//! interleaved order over tcp loopback): the time from sending a request to receiving the
//! notary's answer.
//!
//! 1. Legacy (type 1, AES-128-CBC without a MAC), v2 `ERR`: a captured request with a bad CBC
//!    padding versus the same request with a good padding over garbage — the two classes a
//!    padding-oracle attack tells apart.
//! 2. The same two classes, legacy REQ peers, with the notary's `reply_errors` (signed error).
//! 3. Suite v3 (type 3), v2 `ERR`: a request with a broken AEAD tag versus one that opens to
//!    garbage (the attacker's own envelope).
//! 4. Legacy, v2 `ERR`: garbage content versus a well-formed request whose signature the
//!    application refuses (it frees the request unanswered).
//!
//! Both classes must also get byte-identical answers (checked). |t| < 4.5 means no difference was
//! detected. `scripts/timing [SAMPLES]` runs it; a measurement, not a CI test.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ot_transport::envelope::{Envelope, Recipient};
use ot_transport::keys::Key;
use ot_transport::signed;
use ot_transport::transport::{Notary, Options};

fn welch(a: &[f64], b: &[f64]) -> f64 {
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let var =
        |x: &[f64], m: f64| x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0);
    let (ma, mb) = (mean(a), mean(b));
    (ma - mb) / (var(a, ma) / a.len() as f64 + var(b, mb) / b.len() as f64).sqrt()
}

fn crop(a: &[f64], b: &[f64], pct: f64) -> (Vec<f64>, Vec<f64>) {
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(|x, y| x.total_cmp(y));
    let cut = all[((all.len() as f64 - 1.0) * pct) as usize];
    (
        a.iter().copied().filter(|v| *v <= cut).collect(),
        b.iter().copied().filter(|v| *v <= cut).collect(),
    )
}

fn coin() -> bool {
    let mut b = [0u8; 1];
    getrandom::fill(&mut b).expect("OS RNG");
    b[0] & 1 == 1
}

fn armor(bytes: &[u8]) -> Vec<u8> {
    ot_transport::armor::encode(bytes, ot_transport::armor::Kind::Data)
        .expect("armor")
        .into_bytes()
}

/// (offset of the IV, ciphertext length) of v1 envelope bytes.
fn v1_iv(raw: &[u8]) -> (usize, usize) {
    let n = u32::from_be_bytes(raw[2..6].try_into().unwrap()) as usize;
    let mut at = 6;
    for _ in 0..n {
        at += 4 + u32::from_be_bytes(raw[at..at + 4].try_into().unwrap()) as usize;
        at += 4 + u32::from_be_bytes(raw[at..at + 4].try_into().unwrap()) as usize;
    }
    (at + 4, raw.len() - at - 4 - 16)
}

/// Sends requests of the two classes, up to `window` at a time, through a DEALER; `legacy`
/// sends them as a REQ_CORRELATE peer would (`[tag, "", body]`), else as v2 `REQ`s. Returns the
/// t statistic and whether the answers were byte-identical.
fn measure(
    ep: &str,
    classes: [&[u8]; 2],
    legacy: bool,
    samples: usize,
    window: usize,
) -> (f64, bool) {
    let ctx = zmq::Context::new();
    let d = ctx.socket(zmq::DEALER).unwrap();
    d.set_linger(0).unwrap();
    d.connect(ep).unwrap();
    let mut t: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut answers: [Option<Vec<u8>>; 2] = [None, None];
    let mut identical = true;
    let mut pending: HashMap<u64, (usize, Instant)> = HashMap::new();
    let (mut sent, mut next) = (0usize, 1u64);
    while t[0].len() + t[1].len() < 2 * samples {
        while pending.len() < window && sent < 2 * samples + 64 {
            let c = usize::from(coin());
            let id = next;
            next += 1;
            let frames: Vec<Vec<u8>> = if legacy {
                vec![
                    (id as u32).to_be_bytes().to_vec(),
                    vec![],
                    classes[c].to_vec(),
                ]
            } else {
                ot_transport::transport::frames::v2(
                    ot_transport::transport::frames::Command::Req,
                    id,
                    classes[c],
                )
            };
            pending.insert(id, (c, Instant::now()));
            d.send_multipart(frames, 0).unwrap();
            sent += 1;
        }
        if d.poll(zmq::POLLIN, 5_000).unwrap() == 0 {
            eprintln!("    no answer within 5 s ({} pending)", pending.len());
            break;
        }
        let f = d.recv_multipart(0).unwrap();
        let now = Instant::now();
        let (id, body) = if legacy {
            (
                u64::from(u32::from_be_bytes(f[0][..4].try_into().unwrap())),
                f[2].clone(),
            )
        } else {
            (
                u64::from_be_bytes(f[2][..8].try_into().unwrap()),
                f[3].clone(),
            )
        };
        let Some((c, at)) = pending.remove(&id) else {
            continue;
        };
        t[c].push(now.duration_since(at).as_nanos() as f64);
        match &answers[c] {
            None => answers[c] = Some(body),
            Some(a) => identical &= *a == body,
        }
    }
    identical &= answers[0].is_some() && answers[0] == answers[1];
    let (a, b) = crop(&t[0], &t[1], 0.9);
    let tstat = welch(&a, &b);
    let med = |x: &[f64]| {
        let mut v = x.to_vec();
        v.sort_by(|p, q| p.total_cmp(q));
        v.get(v.len() / 2).copied().unwrap_or(0.0) / 1e6
    };
    println!(
        "    samples {} / {}; median {:.2} ms / {:.2} ms; answers {}; t = {:+.2} {}",
        a.len(),
        b.len(),
        med(&a),
        med(&b),
        if identical {
            "byte-identical"
        } else {
            "DIFFER"
        },
        tstat,
        if tstat.abs() < 4.5 {
            "(no leak detected)"
        } else {
            "(LEAK: |t| >= 4.5)"
        }
    );
    (tstat, identical)
}

/// Serves on a thread until `stop`: requests signed by `known` are answered, others freed.
fn serve(n: Notary, known: Vec<Key>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(r) = n.receive(20)
                && known.iter().any(|k| r.verify(k).is_ok())
            {
                let _ = n.reply(&r, b"ok", None);
            }
        }
    })
}

fn main() {
    let samples: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let (auth, enc) = (Key::generate(2048).unwrap(), Key::generate(2048).unwrap());
    let (v3_auth, v3_enc) = (
        Key::generate_ed25519().unwrap(),
        Key::generate_x25519().unwrap(),
    );
    let client = Key::generate(2048).unwrap();
    let stranger = Key::generate(2048).unwrap();
    let nym = enc.nym_id().unwrap();
    let v3_nym = "v3-notary";
    let seal_to = |k: &Key, id: &str, text: &[u8]| {
        Envelope::seal(&[Recipient { nym_id: id, key: k }], text)
            .unwrap()
            .to_bytes()
    };
    // A captured request, then the two classes an attacker makes of it.
    let text = signed::create("MESSAGE", &b"<OTmessage>\n".repeat(40), &client, None).unwrap();
    let captured = seal_to(&enc, &nym, text.as_bytes());
    let (iv_at, ct_len) = v1_iv(&captured);
    let mut bad_padding = captured.clone();
    bad_padding[iv_at + 16 + ct_len - 17] ^= 0x80; // last plaintext byte > 16
    let mut garbage = captured.clone();
    garbage[iv_at] ^= 0x41; // first block scrambled, padding intact
    let (bad_padding, garbage) = (armor(&bad_padding), armor(&garbage));
    // Suite v3: a broken tag, and an envelope that opens to garbage.
    let v3 = seal_to(&v3_enc, v3_nym, &[0x42; 1024]);
    let mut bad_tag = v3.clone();
    let n = bad_tag.len();
    bad_tag[n - 1] ^= 1;
    let (v3_garbage, bad_tag) = (armor(&v3), armor(&bad_tag));
    // A well-formed request signed by a key the application does not know.
    let forged = armor(&seal_to(
        &enc,
        &nym,
        signed::create("MESSAGE", &b"<OTmessage>\n".repeat(40), &stranger, None)
            .unwrap()
            .as_bytes(),
    ));

    let mut worst = 0f64;
    let mut all_identical = true;
    for reply_errors in [false, true] {
        let opts = Options {
            reply_errors,
            ..Options::default()
        };
        let notary = Notary::bind("tcp://127.0.0.1:*", &auth, &enc, &nym, opts).unwrap();
        notary.add_identity(&v3_auth, &v3_enc, v3_nym).unwrap();
        let ep = notary.endpoint().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let h = serve(notary, vec![client.to_public()], stop.clone());
        let runs: Vec<(&str, [&[u8]; 2], bool)> = if reply_errors {
            vec![(
                "2. legacy REQ, signed error: bad padding vs good padding + garbage",
                [&bad_padding, &garbage],
                true,
            )]
        } else {
            vec![
                (
                    "1. v2 ERR, type 1: bad padding vs good padding + garbage",
                    [&bad_padding, &garbage],
                    false,
                ),
                (
                    "3. v2 ERR, type 3: broken tag vs opens to garbage",
                    [&bad_tag, &v3_garbage],
                    false,
                ),
                (
                    "4. v2 ERR, type 1: garbage vs a signature the application refuses",
                    [&garbage, &forged],
                    false,
                ),
            ]
        };
        for (name, classes, legacy) in runs {
            println!("  {name}, {samples} samples per class");
            let (t, same) = measure(&ep, classes, legacy, samples, 32);
            worst = worst.max(t.abs());
            all_identical &= same;
        }
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("max |t| = {worst:.2} (threshold 4.5); answers byte-identical: {all_identical}");
    std::process::exit(if worst < 4.5 && all_identical { 0 } else { 1 });
}
