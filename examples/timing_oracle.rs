//! Is envelope open a timing oracle? A dudect-style measurement (Welch's t-test between two input
//! classes, thousands of samples taken in random interleaved order):
//!
//! 1. RSA padding: the wrapped key has valid PKCS#1 v1.5 padding (of a wrong AES key) versus
//!    invalid padding. Both fail with OT_ERR_DECRYPT_FAILED; their timing must not differ.
//! 2. CBC padding: the same wrapped key, ciphertext with valid versus invalid PKCS#7 padding.
//! 3. Suite v3 (type 3, X25519): a valid envelope versus the same one with a flipped payload tag
//!    (the open costs the same work either way: the keystream runs even when the tag fails).
//! 4. Suite v3 failure causes: a tampered HPKE wrap versus a tampered payload tag (both are the
//!    same uniform OT_ERR_DECRYPT_FAILED and must take the same time).
//! 5. Streaming envelopes (type 4): a tampered HPKE wrap versus a tampered first chunk (the
//!    chunk is opened with a dummy key when the wrap fails: the same work, the same error).
//!
//! |t| < 4.5 means no difference was detected at the dudect threshold. Run with
//! `scripts/timing [SAMPLES]`; this is a measurement, not a CI test.

use std::time::Instant;

use ot_transport::envelope::{Envelope, Recipient};
use ot_transport::keys::Key;

fn welch(a: &[f64], b: &[f64]) -> f64 {
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let var =
        |x: &[f64], m: f64| x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0);
    let (ma, mb) = (mean(a), mean(b));
    (ma - mb) / (var(a, ma) / a.len() as f64 + var(b, mb) / b.len() as f64).sqrt()
}

/// dudect crops outliers: keep samples below the given percentile of all samples.
fn crop(a: &[f64], b: &[f64], pct: f64) -> (Vec<f64>, Vec<f64>) {
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(|x, y| x.total_cmp(y));
    let cut = all[((all.len() as f64 - 1.0) * pct) as usize];
    (
        a.iter().copied().filter(|v| *v <= cut).collect(),
        b.iter().copied().filter(|v| *v <= cut).collect(),
    )
}

fn rand_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).expect("OS RNG");
    v
}

/// v1 envelope bytes with one entry for `id`.
fn build(id: &str, ek: &[u8], iv_ct: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 1, 0, 0, 0, 1];
    b.extend_from_slice(&(id.len() as u32 + 1).to_be_bytes());
    b.extend_from_slice(id.as_bytes());
    b.push(0);
    b.extend_from_slice(&(ek.len() as u32).to_be_bytes());
    b.extend_from_slice(ek);
    b.extend_from_slice(&16u32.to_be_bytes());
    b.extend_from_slice(iv_ct);
    b
}

/// Splits sealed v1 bytes for `id` into (wrapped key, iv || ciphertext).
fn split(bytes: &[u8], id: &str, k: usize) -> (Vec<u8>, Vec<u8>) {
    let ek_at = 2 + 4 + 4 + id.len() + 1 + 4;
    (
        bytes[ek_at..ek_at + k].to_vec(),
        bytes[ek_at + k + 4..].to_vec(),
    )
}

fn measure(key: &Key, id: &str, classes: [&[Vec<u8>]; 2], samples: usize) -> f64 {
    let envs: [Vec<Envelope>; 2] = classes.map(|c| {
        c.iter()
            .map(|b| Envelope::parse(b).expect("parse"))
            .collect()
    });
    measure_with([&envs[0], &envs[1]], samples, |e| {
        e.open(Some(id), key).is_ok()
    })
}

/// Times `op` on the inputs of two classes, in random interleaved order; Welch's t.
fn measure_with<T>(classes: [&[T]; 2], samples: usize, op: impl Fn(&T) -> bool) -> f64 {
    let mut t = [Vec::with_capacity(samples), Vec::with_capacity(samples)];
    let order = rand_bytes(samples * 2);
    for (i, o) in order.iter().enumerate() {
        let c = (o & 1) as usize;
        let e = &classes[c][i % classes[c].len()];
        let start = Instant::now();
        let r = op(e);
        let ns = start.elapsed().as_nanos() as f64;
        std::hint::black_box(r);
        t[c].push(ns);
    }
    let (a, b) = crop(&t[0], &t[1], 0.9);
    let tstat = welch(&a, &b);
    let med = |x: &[f64]| {
        let mut v = x.to_vec();
        v.sort_by(|p, q| p.total_cmp(q));
        v[v.len() / 2] / 1000.0
    };
    println!(
        "    samples {} / {}; median {:.1} µs / {:.1} µs; t = {:+.2} {}",
        a.len(),
        b.len(),
        med(&a),
        med(&b),
        tstat,
        if tstat.abs() < 4.5 {
            "(no leak detected)"
        } else {
            "(LEAK: |t| >= 4.5)"
        }
    );
    tstat
}

fn main() {
    let samples: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let key = Key::generate(1024).expect("key");
    let id = "notary";
    let k = key.size();
    let sealed = |m: &[u8]| {
        Envelope::seal(
            &[Recipient {
                nym_id: id,
                key: &key,
            }],
            m,
        )
        .expect("seal")
        .to_bytes()
    };
    let base = sealed(b"<OTmessage>timing</OTmessage>");
    let (good_ek, iv_ct) = split(&base, id, k);

    // 1. RSA padding: valid padding of other AES keys vs random (invalid) wrapped keys.
    let valid_pad: Vec<Vec<u8>> = (0..64)
        .map(|_| build(id, &split(&sealed(b"x"), id, k).0, &iv_ct))
        .collect();
    let invalid_pad: Vec<Vec<u8>> = (0..64)
        .map(|_| {
            let mut ek = rand_bytes(k);
            ek[0] = 0; // keep it below the modulus
            build(id, &ek, &iv_ct)
        })
        .collect();
    let opened = |v: &[Vec<u8>]| {
        v.iter()
            .filter(|b| Envelope::parse(b).unwrap().open(Some(id), &key).is_ok())
            .count()
    };
    println!(
        "RSA-{} envelope open, {samples} samples per class",
        key.bits()
    );
    println!(
        "  1. wrapped key with valid vs invalid PKCS#1 v1.5 padding (opened by chance: {} / {} of 64)",
        opened(&valid_pad),
        opened(&invalid_pad)
    );
    let t1 = measure(&key, id, [&valid_pad, &invalid_pad], samples);

    // 2. CBC padding: same wrapped key; last block valid vs invalid padding.
    let good = vec![build(id, &good_ek, &iv_ct)];
    let mut bad_ct = iv_ct.clone();
    let n = bad_ct.len();
    bad_ct[n - 17] ^= 0x5a; // previous block's last byte: corrupts the final padding byte
    let bad = vec![build(id, &good_ek, &bad_ct)];
    println!(
        "  2. ciphertext with valid vs invalid CBC padding ({} / {} opened)",
        opened(&good),
        opened(&bad)
    );
    let t2 = measure(&key, id, [&good, &bad], samples);

    // 3./4. Type 3 with an X25519 key, 1 KiB payload.
    let xkey = Key::generate_x25519().expect("x25519 key");
    let v3 = Envelope::seal(
        &[Recipient {
            nym_id: id,
            key: &xkey,
        }],
        &[0x42u8; 1024],
    )
    .expect("seal v3")
    .to_bytes();
    let n = v3.len();
    let mut bad_tag = v3.clone();
    bad_tag[n - 1] ^= 0x01;
    let mut bad_wrap = v3.clone();
    bad_wrap[8 + 4 + id.len() + 1 + 40] ^= 0x01; // inside the wrapped content key
    let opened3 = |b: &Vec<u8>| Envelope::parse(b).unwrap().open(Some(id), &xkey).is_ok();
    println!("X25519 / type-3 envelope open (1 KiB), {samples} samples per class");
    println!(
        "  3. valid vs invalid payload tag (opened: {} / {})",
        opened3(&v3),
        opened3(&bad_tag)
    );
    let t3 = measure(
        &xkey,
        id,
        [std::slice::from_ref(&v3), std::slice::from_ref(&bad_tag)],
        samples,
    );
    println!(
        "  4. tampered wrap vs tampered tag (opened: {} / {})",
        opened3(&bad_wrap),
        opened3(&bad_tag)
    );
    let t4 = measure(&xkey, id, [&[bad_wrap], &[bad_tag]], samples);

    // 5. Streams: a tampered wrap vs a tampered first chunk (64 KiB + 1 KiB stream).
    let stream = ot_transport::envelope::stream::seal_stream(
        &[Recipient {
            nym_id: id,
            key: &xkey,
        }],
        &[0x42u8; 65536 + 1024],
    )
    .expect("seal stream");
    let hlen = 12 + 4 + id.len() + 1 + 80;
    let mut s_wrap = stream.clone();
    s_wrap[hlen - 10] ^= 0x01; // inside the wrapped stream key
    let mut s_chunk = stream.clone();
    s_chunk[hlen + 65536 + 3] ^= 0x01; // the first chunk's tag
    let open_s =
        |b: &Vec<u8>| ot_transport::envelope::stream::open_stream(b, Some(id), &xkey).is_ok();
    println!(
        "Streaming envelope open (64 KiB + 1 KiB), {} samples per class",
        samples / 10
    );
    println!(
        "  5. tampered wrap vs tampered first chunk (opened: {} / {}; intact: {})",
        open_s(&s_wrap),
        open_s(&s_chunk),
        open_s(&stream)
    );
    let t5 = measure_with([&[s_wrap], &[s_chunk]], samples / 10, open_s);
    let worst = t1
        .abs()
        .max(t2.abs())
        .max(t3.abs())
        .max(t4.abs())
        .max(t5.abs());
    println!("max |t| = {worst:.2} (threshold 4.5)");
    std::process::exit(if worst < 4.5 { 0 } else { 1 });
}
