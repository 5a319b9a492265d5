//! Streaming envelopes (type 4, `docs/streaming-envelopes.md`): the vectors made by the
//! independent implementation (`interop/stream_peer.py`), reproduced byte for byte and opened;
//! round trips over every way of cutting the input; every broken stream refused with the one
//! uniform error; random access; and the memory of a large stream, measured in a child process.

use std::process::Command;

use ot_transport::ErrorKind;
use ot_transport::envelope::Recipient;
use ot_transport::envelope::stream::{
    CHUNK_LEN, SEALED_CHUNK_LEN, StreamOpener, StreamSealer, open_stream, seal_stream,
};
use ot_transport::keys::Key;
use zeroize::Zeroizing;

const V: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/vectors/streaming");

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn hex(s: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn key(file: &str) -> Key {
    Key::load(&std::fs::read(format!("{V}/{file}")).unwrap(), None).unwrap()
}

/// Feeds `stream` to a new opener in pieces of the given sizes (cycled), then finishes.
fn open_in_pieces(
    stream: &[u8],
    nym: Option<&str>,
    k: &Key,
    sizes: &[usize],
) -> ot_transport::Result<Vec<u8>> {
    let mut o = StreamOpener::new(nym, k)?;
    let mut out = Zeroizing::new(Vec::new());
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        o.update_vec(&rest[..n], &mut out)?;
        rest = &rest[n..];
        i += 1;
    }
    o.finish_vec(&mut out)?;
    Ok(out.to_vec())
}

#[test]
fn independent_vectors_open_and_reproduce() {
    let tsv = std::fs::read_to_string(format!("{V}/streams.tsv")).unwrap();
    let mut rows = 0;
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, keyfile, nym, outcome, n) = (f[0], f[1], f[2], f[3], f[4]);
        let data = std::fs::read(format!("{V}/{file}")).unwrap();
        let k = key(keyfile);
        let nym = (nym != "-").then_some(nym);
        let got = open_in_pieces(&data, nym, &k, &[1000, 70_000, 7]);
        let whole = open_stream(&data, nym, &k).map(|p| p.to_vec());
        match outcome {
            "plaintext" => {
                let want = pattern(n.parse().unwrap());
                assert_eq!(got.as_deref().ok(), Some(&want[..]), "{file}");
                assert_eq!(whole.as_deref().ok(), Some(&want[..]), "{file}");
                // Reproduce the bytes from the published secrets.
                let stream_key = hex(f[5]);
                let eph: Vec<[u8; 32]> = f[6].split(',').map(hex).collect();
                let alice = key("alice.pem");
                let bob = key("bob.pem");
                let recips: Vec<Recipient> = if file == "three-chunks.bin" {
                    vec![
                        Recipient {
                            nym_id: "",
                            key: &bob,
                        },
                        Recipient {
                            nym_id: "alice",
                            key: &alice,
                        },
                    ]
                } else {
                    vec![
                        Recipient {
                            nym_id: "bob",
                            key: &bob,
                        },
                        Recipient {
                            nym_id: "alice",
                            key: &alice,
                        },
                    ]
                };
                let mut s = StreamSealer::with_secrets(&recips, &stream_key, Some(&eph)).unwrap();
                let mut out = Vec::new();
                for piece in want.chunks(10_000) {
                    s.update_vec(piece, &mut out).unwrap();
                }
                s.finish_vec(&mut out).unwrap();
                assert!(out == data, "{file}: our bytes differ from the vector");
            }
            other => {
                let kind = match other {
                    "decrypt_failed" => ErrorKind::DecryptFailed,
                    "malformed" => ErrorKind::Malformed,
                    "no_matching_recipient" => ErrorKind::NoMatchingRecipient,
                    o => panic!("unknown outcome {o}"),
                };
                assert_eq!(got.unwrap_err().kind(), kind, "{file}");
                assert_eq!(whole.unwrap_err().kind(), kind, "{file}");
            }
        }
        rows += 1;
    }
    assert!(rows >= 20, "{rows} rows");
}

#[test]
fn round_trips_over_every_cut() {
    let a = Key::generate_x25519().unwrap();
    let b = Key::generate_x25519().unwrap();
    let r = [
        Recipient {
            nym_id: "a",
            key: &a,
        },
        Recipient {
            nym_id: "",
            key: &b,
        },
    ];
    let cuts: [&[usize]; 4] = [&[1], &[65_536], &[65_537, 3], &[200_000]];
    for n in [
        0usize,
        1,
        CHUNK_LEN - 1,
        CHUNK_LEN,
        CHUNK_LEN + 1,
        2 * CHUNK_LEN,
        2 * CHUNK_LEN + 17,
    ] {
        let msg = pattern(n);
        for cut in cuts {
            if n > 70_000 && cut == [1] {
                continue; // byte at a time: covered by the smaller sizes
            }
            let mut s = StreamSealer::new(&r).unwrap();
            let mut sealed = Vec::new();
            let mut rest = &msg[..];
            let mut i = 0;
            while !rest.is_empty() {
                let k = cut[i % cut.len()].min(rest.len());
                let before = sealed.len();
                let expect = s.update_len(k);
                s.update_vec(&rest[..k], &mut sealed).unwrap();
                assert_eq!(sealed.len() - before, expect);
                rest = &rest[k..];
                i += 1;
            }
            s.finish_vec(&mut sealed).unwrap();
            let chunks = n.div_ceil(CHUNK_LEN).max(1);
            assert_eq!(sealed.len(), s.header().len() + n + 16 * chunks);
            assert_eq!(sealed, {
                // a second sealer fed at once gives the same length
                let x = seal_stream(&r, &msg).unwrap();
                assert_eq!(x.len(), sealed.len());
                sealed.clone()
            });
            for pieces in [
                &[1usize, 5, 100_000][..],
                &[SEALED_CHUNK_LEN],
                &[usize::MAX],
            ] {
                if n > 70_000 && pieces[0] == 1 {
                    continue;
                }
                assert_eq!(open_in_pieces(&sealed, Some("a"), &a, pieces).unwrap(), msg);
            }
            assert_eq!(open_stream(&sealed, Some(""), &b).unwrap().to_vec(), msg);
            assert_eq!(open_stream(&sealed, None, &b).unwrap().to_vec(), msg);
        }
    }
}

#[test]
fn broken_streams_fail_uniformly_and_stay_failed() {
    let a = Key::generate_x25519().unwrap();
    let wrong = Key::generate_x25519().unwrap();
    let r = [Recipient {
        nym_id: "a",
        key: &a,
    }];
    let msg = pattern(3 * CHUNK_LEN + 5);
    let s = seal_stream(&r, &msg).unwrap();
    let hlen = s.len() - (msg.len() + 4 * 16);
    let (h, body) = s.split_at(hlen);
    let c: Vec<&[u8]> = body.chunks(SEALED_CHUNK_LEN).collect();
    let cat = |parts: &[&[u8]]| parts.concat();
    let mut flipped = s.clone();
    flipped[hlen + 2 * SEALED_CHUNK_LEN + 9] ^= 0x80;
    let mut header_flipped = s.clone();
    header_flipped[hlen - 1] ^= 1;
    let broken: Vec<(&str, Vec<u8>)> = vec![
        ("cut at a chunk boundary", cat(&[h, c[0], c[1], c[2]])),
        ("cut inside the last chunk", s[..s.len() - 1].to_vec()),
        ("last chunk cut to its tag", s[..s.len() - 5].to_vec()),
        ("only the header", h.to_vec()),
        ("inside the header", h[..h.len() - 1].to_vec()),
        ("nothing", Vec::new()),
        ("chunks swapped", cat(&[h, c[1], c[0], c[2], c[3]])),
        ("chunk repeated", cat(&[h, c[0], c[0], c[1], c[2], c[3]])),
        ("chunk dropped", cat(&[h, c[0], c[2], c[3]])),
        ("bytes appended", cat(&[&s, b"x"])),
        ("a chunk altered", flipped),
        ("the wrap altered", header_flipped),
    ];
    // A wrong key: the uniform error; every broken stream gives it too, with the same text.
    let uniform = open_in_pieces(&s, Some("a"), &wrong, &[usize::MAX]).unwrap_err();
    assert_eq!(uniform.kind(), ErrorKind::DecryptFailed);
    for (what, data) in &broken {
        for pieces in [&[usize::MAX][..], &[SEALED_CHUNK_LEN], &[1000]] {
            let e = open_in_pieces(data, Some("a"), &a, pieces).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DecryptFailed, "{what}");
            assert_eq!(e.to_string(), uniform.to_string(), "{what}");
        }
    }
    // No entry for the NymID and no key-only entry.
    let e = open_in_pieces(&s, Some("b"), &a, &[usize::MAX]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient);
    // A failed opener stays failed, whatever comes next.
    let mut o = StreamOpener::new(Some("a"), &a).unwrap();
    let mut out = Zeroizing::new(Vec::new());
    let bad = cat(&[h, c[1], c[0]]);
    assert_eq!(
        o.update_vec(&bad, &mut out).unwrap_err().kind(),
        ErrorKind::DecryptFailed
    );
    assert!(out.is_empty(), "nothing is released by a failing call");
    assert_eq!(
        o.update_vec(c[2], &mut out).unwrap_err().kind(),
        ErrorKind::DecryptFailed
    );
    assert_eq!(
        o.finish_vec(&mut out).unwrap_err().kind(),
        ErrorKind::DecryptFailed
    );
    // Not a stream, or not a suite v3 key.
    let mut o = StreamOpener::new(None, &a).unwrap();
    assert_eq!(
        o.update_vec(&[0, 3, 0, 1], &mut out).unwrap_err().kind(),
        ErrorKind::Malformed
    );
    let rsa = Key::generate(1024).unwrap();
    assert_eq!(
        StreamSealer::new(&[Recipient {
            nym_id: "r",
            key: &rsa
        }])
        .err()
        .unwrap()
        .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        StreamOpener::new(None, &rsa).err().unwrap().kind(),
        ErrorKind::InvalidArgument
    );
    // Too small an output area is refused before anything is consumed.
    let mut sealer = StreamSealer::new(&r).unwrap();
    let mut small = [0u8; 10];
    assert_eq!(
        sealer.update(&msg, &mut small).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // A finished sealer refuses more.
    let mut v = Vec::new();
    sealer.finish_vec(&mut v).unwrap();
    assert_eq!(
        sealer.update_vec(b"x", &mut v).unwrap_err().kind(),
        ErrorKind::State
    );
}

#[test]
fn random_access_opens_any_chunk_alone() {
    let a = Key::generate_x25519().unwrap();
    let r = [Recipient {
        nym_id: "a",
        key: &a,
    }];
    let msg = pattern(3 * CHUNK_LEN + 1234);
    let s = seal_stream(&r, &msg).unwrap();
    let mut o = StreamOpener::new(Some("a"), &a).unwrap();
    let mut sink = Zeroizing::new(Vec::new());
    let mut buf = vec![0u8; CHUNK_LEN];
    assert_eq!(
        o.open_chunk(0, false, &s[..100], &mut buf)
            .unwrap_err()
            .kind(),
        ErrorKind::State
    );
    // Read just the header (the opener takes no more than it needs of a short piece).
    o.update_vec(&s[..300], &mut sink).unwrap();
    let hlen = o.header_len().unwrap();
    let payload = &s[hlen..];
    let last = payload.len().div_ceil(SEALED_CHUNK_LEN) - 1;
    for i in [2usize, 0, 3, 1] {
        let chunk = &payload[i * SEALED_CHUNK_LEN..((i + 1) * SEALED_CHUNK_LEN).min(payload.len())];
        let n = o.open_chunk(i as u64, i == last, chunk, &mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &msg[i * CHUNK_LEN..(i * CHUNK_LEN + n)],
            "chunk {i}"
        );
        // the wrong index or flag fails, and the opener stays usable
        assert_eq!(
            o.open_chunk(i as u64 + 1, i == last, chunk, &mut buf)
                .unwrap_err()
                .kind(),
            ErrorKind::DecryptFailed
        );
        assert_eq!(
            o.open_chunk(i as u64, i != last, chunk, &mut buf)
                .unwrap_err()
                .kind(),
            ErrorKind::DecryptFailed
        );
    }
}

const CHILD: &str = "OT_STREAM_RSS_CHILD";

fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Seals `mib` MiB in 256 KiB pieces, feeding the output straight into an opener; prints the
/// growth of the peak RSS (kB) over what the process held before the stream.
fn rss_child(mib: usize) {
    let a = Key::generate_x25519().unwrap();
    let r = [Recipient {
        nym_id: "",
        key: &a,
    }];
    let piece = vec![7u8; 256 * 1024];
    let mut ct = vec![0u8; 2 * piece.len()];
    let mut back = vec![0u8; 3 * piece.len()];
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let start = status_kb("VmRSS:");
    let mut s = StreamSealer::new(&r).unwrap();
    let mut o = StreamOpener::new(None, &a).unwrap();
    let mut total = 0usize;
    for _ in 0..mib * 4 {
        let n = s.update(&piece, &mut ct).unwrap();
        total += o.update(&ct[..n], &mut back).unwrap();
    }
    let n = s.finish(&mut ct).unwrap();
    total += o.update(&ct[..n], &mut back).unwrap();
    total += o.finish(&mut back).unwrap();
    assert_eq!(total, mib * 1024 * 1024);
    println!("GROWTH_KB {}", status_kb("VmHWM:") - start);
}

/// The memory a stream takes does not grow with its length: 16 MiB and 128 MiB streams (the
/// bench runs 4 GiB) both stay within a few MiB over the process's start.
#[test]
fn memory_stays_flat_as_the_stream_grows() {
    if let Ok(v) = std::env::var(CHILD) {
        rss_child(v.parse().unwrap());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let growth = |mib: usize| -> u64 {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "memory_stays_flat_as_the_stream_grows",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, mib.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.split("GROWTH_KB ").nth(1))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no GROWTH_KB in {text}"))
    };
    let small = growth(16);
    let large = growth(128);
    assert!(large < 8 * 1024, "a 128 MiB stream grew RSS by {large} kB");
    assert!(
        large < small + 2048,
        "RSS grows with the stream: {small} kB for 16 MiB, {large} kB for 128 MiB"
    );
}
