//! Round trips through the core API: envelopes (recipient counts, key sizes, payload sizes),
//! armor on both paths, and signed text.

use std::sync::OnceLock;

use ot_transport::armor::{self, Kind};
use ot_transport::envelope::{Envelope, Recipient};
use ot_transport::keys::{Key, KeyFormat};
use ot_transport::{ErrorKind, hash, signed};

fn keys() -> &'static [Key] {
    static K: OnceLock<Vec<Key>> = OnceLock::new();
    K.get_or_init(|| {
        let mut v: Vec<Key> = (0..5).map(|_| Key::generate(1024).unwrap()).collect();
        v.push(Key::generate(2048).unwrap());
        v.push(Key::generate(4096).unwrap());
        v
    })
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

#[test]
fn seal_open_recipient_counts() {
    let ks = keys();
    for n in [1usize, 2, 5] {
        let ids: Vec<String> = (0..n).map(|i| ks[i].nym_id().unwrap()).collect();
        let rs: Vec<Recipient> = (0..n)
            .map(|i| Recipient {
                nym_id: &ids[i],
                key: &ks[i],
            })
            .collect();
        let msg = payload(100);
        let env = Envelope::seal(&rs, &msg).unwrap();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(
            env.recipient_ids(),
            sorted.iter().map(String::as_str).collect::<Vec<_>>()
        );
        let parsed = Envelope::from_armor(env.to_armor(true).unwrap().as_bytes()).unwrap();
        assert_eq!(parsed, env);
        for i in 0..n {
            assert_eq!(parsed.open(Some(&ids[i]), &ks[i]).unwrap(), msg);
            // NULL NymID means "my own NymID".
            assert_eq!(parsed.open(None, &ks[i]).unwrap(), msg);
        }
        // A key that is not a recipient: no entry for its ID.
        assert_eq!(
            parsed.open(None, &ks[5]).unwrap_err().kind(),
            ErrorKind::NoMatchingRecipient
        );
        // The right ID with the wrong key: the uniform failure.
        assert_eq!(
            parsed.open(Some(&ids[0]), &ks[5]).unwrap_err().kind(),
            ErrorKind::DecryptFailed
        );
    }
}

#[test]
fn seal_open_key_sizes_and_payload_sizes() {
    for k in &keys()[4..] {
        for n in [0usize, 1, 15, 16, 17, 1 << 20] {
            let msg = payload(n);
            let env = Envelope::seal(
                &[Recipient {
                    nym_id: "",
                    key: &k.to_public(),
                }],
                &msg,
            )
            .unwrap();
            let bytes = env.to_bytes();
            // Ciphertext covers plaintext + NUL, padded: at least one byte of padding.
            let ct_len = (n + 1).div_ceil(16) * 16 + if (n + 1) % 16 == 0 { 16 } else { 0 };
            assert_eq!(bytes.len(), 2 + 4 + 4 + 1 + 4 + k.size() + 4 + 16 + ct_len);
            // Empty-ID entry: opened by anyone holding the key, whatever NymID they give.
            assert_eq!(
                Envelope::parse(&bytes)
                    .unwrap()
                    .open(Some("whoever"), k)
                    .unwrap(),
                msg
            );
        }
    }
}

#[test]
fn tampering_gives_the_uniform_error() {
    let k = &keys()[0];
    let id = k.nym_id().unwrap();
    let env = Envelope::seal(
        &[Recipient {
            nym_id: &id,
            key: k,
        }],
        b"secret message",
    )
    .unwrap();
    let bytes = env.to_bytes();
    let ek_at = 2 + 4 + 4 + id.len() + 1 + 4;
    // Type 1 has no MAC (the legacy format): a flipped bit in the last block, or a wrapped key
    // that unwraps to a wrong key, still yields valid CBC padding about 1 time in 256. So each
    // position is tampered four ways: every failure must be the one uniform error, a "success"
    // must never give the original plaintext, and at least three of the four must fail.
    for pos in [ek_at, ek_at + 64, bytes.len() - 1, bytes.len() - 17] {
        let mut failed = 0;
        for mask in [0x40u8, 0x01, 0x80, 0x10] {
            let mut b = bytes.clone();
            b[pos] ^= mask;
            match Envelope::parse(&b).unwrap().open(Some(&id), k) {
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::DecryptFailed);
                    assert_eq!(e.detail(), "the envelope could not be opened with this key");
                    failed += 1;
                }
                Ok(pt) => assert_ne!(&pt[..], b"secret message", "tampering at {pos} went unseen"),
            }
        }
        assert!(
            failed >= 3,
            "tampering at {pos}: only {failed} of 4 refused"
        );
    }
    // Truncation anywhere is malformed, never a panic: every proper prefix fails to parse with
    // `Malformed` (or, if a prefix happened to parse, it must still not open).
    let mut malformed = 0;
    for cut in 0..bytes.len() {
        match Envelope::parse(&bytes[..cut]) {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Malformed, "cut at {cut}: {e:?}");
                malformed += 1;
            }
            Ok(env) => {
                let e = env.open(Some(&id), k).unwrap_err();
                assert!(
                    matches!(e.kind(), ErrorKind::DecryptFailed | ErrorKind::Malformed),
                    "cut at {cut}: {e:?}"
                );
            }
        }
    }
    assert_eq!(
        malformed,
        bytes.len(),
        "every truncation is refused by the parser"
    );
}

#[test]
fn armor_both_paths() {
    for n in [0usize, 1, 2, 3, 63, 64, 65, 4096] {
        let p = payload(n);
        for kind in [Kind::Data, Kind::String] {
            let bare = armor::encode(&p, kind).unwrap();
            assert_eq!(armor::decode(bare.as_bytes(), kind).unwrap(), p);
            for esc in [false, true] {
                let b = armor::encode_bookended(&p, kind, "DATA", esc).unwrap();
                assert_eq!(armor::decode(b.as_bytes(), kind).unwrap(), p);
                assert_eq!(armor::decode_any(b.as_bytes()).unwrap().0, p);
            }
        }
    }
    // A zlib bomb is refused, not inflated without bound.
    let bomb = armor::encode(&vec![b'x'; 300 * 1024 * 1024], Kind::String);
    if let Ok(b) = bomb {
        assert_eq!(
            armor::decode(b.as_bytes(), Kind::String)
                .unwrap_err()
                .kind(),
            ErrorKind::Malformed
        );
    }
}

#[test]
fn key_export_load_all_formats_and_sizes() {
    for k in [&keys()[0], &keys()[5]] {
        let id = k.nym_id().unwrap();
        for f in [
            KeyFormat::SpkiPem,
            KeyFormat::OtPublic,
            KeyFormat::OtPublicUnescaped,
            KeyFormat::Pkcs8Plain,
        ] {
            assert_eq!(
                Key::load(&k.export(f, None).unwrap(), None)
                    .unwrap()
                    .nym_id()
                    .unwrap(),
                id
            );
        }
        let e = k
            .export(KeyFormat::Pkcs8EncryptedLegacy, Some(b"pw"))
            .unwrap();
        assert_eq!(Key::load(&e, Some(b"pw")).unwrap().nym_id().unwrap(), id);
    }
}

/// Signs `content` as the legacy library does: over the bytes as written, whatever their line
/// lengths (assembled here by hand, not by `signed::create`).
fn legacy_style_signed(content: &[u8], k: &Key) -> Vec<u8> {
    let sig = k.sign_digest(&hash::samy(content)).unwrap();
    let mut t = b"-----BEGIN SIGNED MESSAGE-----\nHash: SAMY\n\n".to_vec();
    t.extend_from_slice(content);
    t.extend_from_slice(
        format!(
            "-----BEGIN MESSAGE SIGNATURE-----\nVersion: Open Transactions 0.90.b\n{}\n\n{}\
             -----END MESSAGE SIGNATURE-----",
            armor::COMMENT_LINE,
            armor::encode(&sig, Kind::Data).unwrap()
        )
        .as_bytes(),
    );
    t
}

/// Issue 23: the legacy reader keeps at most 2047 bytes of a line per read and leaves the newline
/// for the next read, so a line it keeps 2047 bytes of reads back with an extra empty line after
/// it. A CRLF line's '\r' is kept, so it counts: 2046 bytes is the longest LF line, 2045 bytes
/// plus '\r' the longest CRLF line. Beyond that we refuse to sign, and refuse to read even a
/// text whose signature is valid over the bytes as written (the legacy library signs such texts
/// but cannot verify them).
#[test]
fn signed_text_line_limit_boundaries() {
    let k = &keys()[0];
    let public = k.to_public();
    for (eol, longest) in [("\n", 2046), ("\r\n", 2045)] {
        for n in [2045, 2046, 2047, 2048] {
            let what = format!("{n} bytes + {eol:?}");
            let content = format!("<OTmessage>\n{}{eol}</OTmessage>\n", "m".repeat(n)).into_bytes();
            let legacy = legacy_style_signed(&content, k);
            let ours = signed::create("MESSAGE", &content, k, None);
            if n <= longest {
                assert_eq!(signed::verify(&legacy, &public).unwrap(), content, "{what}");
                let ours = ours.unwrap();
                assert_eq!(
                    signed::verify(ours.as_bytes(), &public).unwrap(),
                    content,
                    "{what}"
                );
                // Byte for byte the legacy layout up to the signature armor (PSS is randomized).
                let head = legacy.windows(6).position(|w| w == b"wiki\n\n").unwrap() + 6;
                assert_eq!(ours.as_bytes()[..head], legacy[..head], "{what}");
                let mut longer = legacy.clone();
                let at = longer
                    .windows(n)
                    .position(|w| w.iter().all(|&b| b == b'm'))
                    .unwrap();
                longer.insert(at, b'm');
                let kind = if n < longest {
                    ErrorKind::BadSignature
                } else {
                    ErrorKind::Malformed
                };
                assert_eq!(
                    signed::verify(&longer, &public).unwrap_err().kind(),
                    kind,
                    "{what}"
                );
            } else {
                let e = ours.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{what}: {e}");
                let e = signed::verify(&legacy, &public).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Malformed, "{what}: {e}");
                assert!(e.detail().contains("longer than 2046 bytes"), "{e}");
                assert_eq!(
                    signed::parse(&legacy).unwrap_err().kind(),
                    ErrorKind::Malformed
                );
            }
        }
    }
}

#[test]
fn signed_text_across_key_sizes() {
    for k in &keys()[4..] {
        let t = signed::create("MESSAGE", b"<OTmessage/>\n", k, None).unwrap();
        assert_eq!(
            signed::verify(t.as_bytes(), &k.to_public()).unwrap(),
            b"<OTmessage/>\n"
        );
        let p = signed::parse(t.as_bytes()).unwrap();
        assert_eq!(p.signatures[0].bytes.len(), k.size());
    }
}

/// The one-shot calls (`seal_to_bytes` / `seal_to_armor`, `open_bytes` / `open_armor`) give what
/// the two-step calls give, for type 1 and type 3, and the same errors.
#[test]
fn one_shot_seal_and_open_match_the_two_step_calls() {
    let rsa = &keys()[0];
    let x = Key::generate_x25519().unwrap();
    let other_x = Key::generate_x25519().unwrap();
    for (key, wrong) in [(rsa, &keys()[1]), (&x, &other_x)] {
        for n in [0usize, 1, 15, 16, 17, 1000, 70_000, 1 << 20] {
            let msg = payload(n);
            let r = [Recipient { nym_id: "to", key }];
            let bytes = Envelope::seal_to_bytes(&r, &msg).unwrap();
            // Same layout as the envelope's bytes: it parses, and both ways open it.
            let env = Envelope::parse(&bytes).unwrap();
            assert_eq!(env.to_bytes(), bytes);
            assert_eq!(env.open(Some("to"), key).unwrap(), msg);
            assert_eq!(Envelope::open_bytes(&bytes, Some("to"), key).unwrap(), msg);
            let two_step = Envelope::seal(&r, &msg).unwrap().to_bytes();
            assert_eq!(two_step.len(), bytes.len());
            assert_eq!(
                Envelope::open_bytes(&two_step, Some("to"), key).unwrap(),
                msg
            );
            for bookends in [false, true] {
                let text = Envelope::seal_to_armor(&r, &msg, bookends).unwrap();
                assert_eq!(
                    Envelope::open_armor(text.as_bytes(), Some("to"), key).unwrap(),
                    msg
                );
                assert_eq!(
                    Envelope::from_armor(text.as_bytes())
                        .unwrap()
                        .open(Some("to"), key)
                        .unwrap(),
                    msg
                );
            }
            // Errors: the same kinds as the two steps.
            let mut bad = bytes.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            let e = Envelope::open_bytes(&bad, Some("to"), key).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DecryptFailed);
            // A wrong key: the same error, with the same text.
            let w = Envelope::open_bytes(&bytes, Some("to"), wrong).unwrap_err();
            assert_eq!((w.kind(), w.to_string()), (e.kind(), e.to_string()));
            assert_eq!(
                Envelope::open_bytes(&bytes, Some("nobody"), key)
                    .unwrap_err()
                    .kind(),
                ErrorKind::NoMatchingRecipient
            );
            assert_eq!(
                Envelope::open_bytes(&bytes[..3], Some("to"), key)
                    .unwrap_err()
                    .kind(),
                ErrorKind::Malformed
            );
        }
    }
    // Legacy rules hold on the one-shot path too: NUL refused for RSA recipients.
    let r = [Recipient {
        nym_id: "to",
        key: rsa,
    }];
    assert_eq!(
        Envelope::seal_to_bytes(&r, b"a\0b").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}
