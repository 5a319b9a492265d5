//! Suite v3 (issue 9): the shared vectors made by an independent implementation of
//! `suite-v3.md`, round trips, and hostile / tampered inputs for keys, signed texts and type-3
//! envelopes.

mod common;
use common::*;

use ot_transport::ErrorKind;
use ot_transport::armor::{self, Kind};
use ot_transport::envelope::{Envelope, Layout, Recipient};
use ot_transport::hash::{id_of_v3, sha256d};
use ot_transport::keys::{Algorithm, Key, KeyFormat};
use ot_transport::signed;

const V: &str = "vectors/suite-v3";

fn rows(file: &str) -> Vec<Vec<String>> {
    read_str(&format!("{V}/{file}"))
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn b64(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    armor::base64_decode(s.as_bytes()).unwrap()
}

struct VKey {
    name: String,
    private: Key,
    public: Key,
    nym_id: String,
}

fn keys() -> Vec<VKey> {
    rows("keys.tsv")
        .into_iter()
        .map(|r| {
            let pass = (r[4] != "-").then(|| r[4].as_bytes().to_vec());
            let private = Key::load(&read(&format!("{V}/{}", r[2])), pass.as_deref()).unwrap();
            let public = Key::load(&read(&format!("{V}/{}", r[3])), None).unwrap();
            VKey {
                name: r[0].clone(),
                private,
                public,
                nym_id: r[5].clone(),
            }
        })
        .collect()
}

fn key<'a>(ks: &'a [VKey], name: &str) -> &'a VKey {
    ks.iter().find(|k| k.name == name).unwrap()
}

#[test]
fn vector_keys_load_with_their_nym_ids() {
    let rs = rows("keys.tsv");
    let ks = keys();
    assert_eq!(ks.len(), rs.len());
    for (k, r) in ks.iter().zip(&rs) {
        let alg = match r[1].as_str() {
            "ed25519" => Algorithm::Ed25519,
            "x25519" => Algorithm::X25519,
            o => panic!("{o}"),
        };
        assert_eq!(k.private.algorithm(), alg);
        assert_eq!(k.public.algorithm(), alg);
        assert!(k.private.is_private() && !k.public.is_private());
        assert_eq!(k.private.nym_id().unwrap(), k.nym_id, "{}", k.name);
        assert_eq!(k.public.nym_id().unwrap(), k.nym_id);
        assert_eq!(k.private.bits(), 256);
        // Our SPKI PEM is the same text as the independent implementation's.
        assert_eq!(
            k.private.export(KeyFormat::SpkiPem, None).unwrap(),
            read(&format!("{V}/{}", r[3]))
        );
        // Encrypted keys refuse a wrong or missing passphrase.
        if r[4] != "-" {
            let file = read(&format!("{V}/{}", r[2]));
            assert_eq!(
                Key::load(&file, Some(b"wrong")).unwrap_err().kind(),
                ErrorKind::BadPassphrase
            );
            assert_eq!(
                Key::load(&file, None).unwrap_err().kind(),
                ErrorKind::BadPassphrase
            );
        } else {
            // Plain PKCS#8: our export is byte-identical.
            assert_eq!(
                k.private.export(KeyFormat::Pkcs8Plain, None).unwrap(),
                read(&format!("{V}/{}", r[2]))
            );
        }
    }
}

#[test]
fn vector_ids() {
    let rs = rows("ids.tsv");
    assert!(!rs.is_empty());
    for r in rs {
        let input = if r[0] == "-" { Vec::new() } else { hex(&r[0]) };
        assert_eq!(sha256d(&input).to_vec(), hex(&r[1]));
        assert_eq!(id_of_v3(&input).unwrap(), r[2]);
    }
}

#[test]
fn vector_signed_texts() {
    let ks = keys();
    let rs = rows("signed.tsv");
    assert!(!rs.is_empty());
    for r in rs {
        let text = read(&format!("{V}/{}", r[0]));
        let signer = key(&ks, &r[2]);
        assert_eq!(r[3], "valid");
        let content = b64(&r[4]);
        let p = signed::parse(&text).unwrap();
        assert_eq!(p.doc_type, r[1]);
        assert_eq!(p.hash_type, "SHA256D");
        assert_eq!(signed::verify(&text, &signer.public).unwrap(), content);
        assert_eq!(signed::verify(&text, &signer.private).unwrap(), content);
        // Ed25519 is deterministic: we produce the same text from the same content.
        let meta = p.signatures[0].meta.as_deref();
        let ours = signed::create(&r[1], &content, &signer.private, meta).unwrap();
        let trimmed = std::str::from_utf8(&text).unwrap().trim_end();
        assert_eq!(ours, trimmed, "{}", r[0]);
        // Wrong keys: another Ed25519 key does not verify; an X25519 key is the wrong kind.
        let other = ks
            .iter()
            .find(|k| k.private.algorithm() == Algorithm::Ed25519 && k.name != r[2])
            .unwrap();
        assert_eq!(
            signed::verify(&text, &other.public).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
        let x = ks
            .iter()
            .find(|k| k.private.algorithm() == Algorithm::X25519)
            .unwrap();
        assert_eq!(
            signed::verify(&text, &x.public).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}

#[test]
fn vector_envelopes() {
    let ks = keys();
    let rs = rows("envelopes.tsv");
    assert!(rs.len() > 20);
    for r in rs {
        let raw = read(&format!("{V}/{}", r[0]));
        let env = if r[1] == "1" {
            Envelope::from_armor(&raw).unwrap()
        } else {
            Envelope::parse(&raw).unwrap()
        };
        assert_eq!(env.envelope_type(), 3);
        let k = &key(&ks, &r[2]).private;
        let nym = (r[3] != "-").then_some(r[3].as_str());
        let got = env.open(nym, k);
        match r[4].as_str() {
            "plaintext" => assert_eq!(got.unwrap(), b64(&r[5]), "{r:?}"),
            "no_matching_recipient" => {
                assert_eq!(
                    got.unwrap_err().kind(),
                    ErrorKind::NoMatchingRecipient,
                    "{r:?}"
                )
            }
            "decrypt_failed" => {
                assert_eq!(got.unwrap_err().kind(), ErrorKind::DecryptFailed, "{r:?}")
            }
            o => panic!("unknown outcome {o}"),
        }
        // Re-serialising gives back the same bytes.
        if r[1] == "0" {
            assert_eq!(env.to_bytes(), raw);
        }
    }
}

fn v3_pair() -> (Key, Key, String) {
    let a = Key::generate_ed25519().unwrap();
    let e = Key::generate_x25519().unwrap();
    let id = a.nym_id().unwrap();
    (a, e, id)
}

#[test]
fn key_generation_and_export_round_trips() {
    for k in [
        Key::generate_ed25519().unwrap(),
        Key::generate_x25519().unwrap(),
    ] {
        let id = k.nym_id().unwrap();
        assert_eq!(id, id_of_v3(&k.spki_der().unwrap()).unwrap());
        assert_eq!(k.spki_der().unwrap().len(), 44);
        let spki = k.export(KeyFormat::SpkiPem, None).unwrap();
        assert!(spki.starts_with(b"-----BEGIN PUBLIC KEY-----\n"));
        let p = Key::load(&spki, None).unwrap();
        assert!(!p.is_private());
        assert_eq!(p.nym_id().unwrap(), id);
        let plain = k.export(KeyFormat::Pkcs8Plain, None).unwrap();
        assert!(plain.starts_with(b"-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(Key::load(&plain, None).unwrap().nym_id().unwrap(), id);
        for f in [KeyFormat::Pkcs8Encrypted, KeyFormat::Pkcs8EncryptedLegacy] {
            let enc = k.export(f, Some(b"pw")).unwrap();
            let l = Key::load(&enc, Some(b"pw")).unwrap();
            assert!(l.is_private());
            assert_eq!(l.nym_id().unwrap(), id);
            assert_eq!(l.algorithm(), k.algorithm());
        }
        // Formats that make no sense for a v3 key.
        for f in [KeyFormat::OtPublic, KeyFormat::OtPublicUnescaped] {
            assert_eq!(
                k.export(f, None).unwrap_err().kind(),
                ErrorKind::Unsupported
            );
        }
        assert_eq!(
            k.to_public()
                .export(KeyFormat::Pkcs8Plain, None)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            k.sign_digest(&[0u8; 32]).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}

#[test]
fn signed_round_trip_and_wrong_pairings() {
    let (a, e, _) = v3_pair();
    let rsa = Key::generate(1024).unwrap();
    let content = b"<OTmessage>\n- -----BEGIN X-----\n\n</OTmessage>\n";
    let t = signed::create("MESSAGE", content, &a, Some("ADT9")).unwrap();
    assert!(t.starts_with("-----BEGIN SIGNED MESSAGE-----\nHash: SHA256D\n\n<OTmessage>\n"));
    assert_eq!(
        signed::verify(t.as_bytes(), &a.to_public()).unwrap(),
        content
    );
    // The signature is over SHA256D(TYPE || LF || content), pure Ed25519.
    let p = signed::parse(t.as_bytes()).unwrap();
    assert_eq!(p.signatures[0].bytes.len(), 64);
    let mut m = b"MESSAGE\n".to_vec();
    m.extend_from_slice(content);
    a.verify_ed25519(&sha256d(&m), &p.signatures[0].bytes)
        .unwrap();
    // Swapping the type breaks it (the type is signed).
    let swapped = t.replace("MESSAGE", "CONTRACT");
    assert_eq!(
        signed::verify(swapped.as_bytes(), &a).unwrap_err().kind(),
        ErrorKind::BadSignature
    );
    // Flipping any signature bit breaks it.
    let mut sig = p.signatures[0].bytes.clone();
    for i in 0..64 {
        sig[i] ^= 1 << (i % 8);
        let bad = t.replace(
            &armor::encode(&p.signatures[0].bytes, Kind::Data).unwrap(),
            &armor::encode(&sig, Kind::Data).unwrap(),
        );
        assert_eq!(
            signed::verify(bad.as_bytes(), &a).unwrap_err().kind(),
            ErrorKind::BadSignature,
            "bit in byte {i}"
        );
        sig[i] ^= 1 << (i % 8);
    }
    // A 65-byte or 63-byte blob is refused.
    for len in [63, 65] {
        let mut s = p.signatures[0].bytes.clone();
        s.resize(len, 0);
        let bad = t.replace(
            &armor::encode(&p.signatures[0].bytes, Kind::Data).unwrap(),
            &armor::encode(&s, Kind::Data).unwrap(),
        );
        assert_eq!(
            signed::verify(bad.as_bytes(), &a).unwrap_err().kind(),
            ErrorKind::BadSignature,
            "{len} bytes"
        );
    }
    // Wrong pairings: SHA256D with RSA, SAMY with Ed25519, anything with X25519.
    assert_eq!(
        signed::verify(t.as_bytes(), &rsa).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        signed::verify(t.as_bytes(), &e).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let legacy = signed::create("MESSAGE", content, &rsa, None).unwrap();
    assert!(legacy.contains("\nHash: SAMY\n"));
    assert_eq!(
        signed::verify(legacy.as_bytes(), &a).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    signed::verify(legacy.as_bytes(), &rsa).unwrap();
    // A SAMY text relabelled SHA256D (and the reverse) never verifies.
    let kind = |text: &str, k: &Key| signed::verify(text.as_bytes(), k).unwrap_err().kind();
    let relabel = legacy.replace("Hash: SAMY", "Hash: SHA256D");
    assert_eq!(kind(&relabel, &rsa), ErrorKind::InvalidArgument);
    assert_eq!(kind(&relabel, &a), ErrorKind::BadSignature);
    let relabel = t.replace("Hash: SHA256D", "Hash: SAMY");
    assert_eq!(kind(&relabel, &a), ErrorKind::InvalidArgument);
    assert_eq!(kind(&relabel, &rsa), ErrorKind::BadSignature);
    // An X25519 key cannot sign.
    assert_eq!(
        signed::create("MESSAGE", content, &e, None)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    // A second Hash line is malformed, for both hash types.
    for text in [&t, &legacy] {
        let second = text.replacen("<OTmessage>\n", "<OTmessage>\nHash: SAMY\n", 1);
        assert_eq!(
            signed::parse(second.as_bytes()).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        let doubled = text.replacen("\n\n<OTmessage>", "\nHash: SHA256D\n\n<OTmessage>", 1);
        assert_eq!(
            signed::parse(doubled.as_bytes()).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }
}

fn seal3(keys: &[(&str, &Key)], pt: &[u8]) -> Envelope {
    let rs: Vec<Recipient<'_>> = keys
        .iter()
        .map(|(id, k)| Recipient { nym_id: id, key: k })
        .collect();
    Envelope::seal(&rs, pt).unwrap()
}

#[test]
fn envelope_round_trips_and_rules() {
    let (_, e1, id1) = v3_pair();
    let (_, e2, id2) = v3_pair();
    let pt = b"with\0NUL\0bytes\0";
    let env = seal3(&[(&id2, &e2), (&id1, &e1)], pt);
    assert_eq!(env.envelope_type(), 3);
    let bytes = env.to_bytes();
    assert_eq!(&bytes[..8], &[0, 3, 0, 1, 0, 0, 0, 2]);
    assert_eq!(
        bytes.len(),
        8 + (4 + id1.len() + 1 + 80) + (4 + id2.len() + 1 + 80) + pt.len() + 16
    );
    let ids = env.recipient_ids();
    let mut sorted = vec![id1.as_str(), id2.as_str()];
    sorted.sort();
    assert_eq!(ids, sorted);
    let back = Envelope::from_armor(env.to_armor(true).unwrap().as_bytes()).unwrap();
    for (id, k) in [(&id1, &e1), (&id2, &e2)] {
        assert_eq!(back.open(Some(id), k).unwrap(), pt);
        assert_eq!(back.open(None, k).unwrap(), pt);
    }
    // Not a recipient: no matching entry by NymID; by key, a uniform decryption failure.
    let (_, e3, id3) = v3_pair();
    assert_eq!(
        back.open(Some(&id3), &e3).unwrap_err().kind(),
        ErrorKind::NoMatchingRecipient
    );
    let err = back.open(None, &e3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DecryptFailed);
    // Right NymID, wrong key.
    let wrong = back.open(Some(&id1), &e2).unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::DecryptFailed);
    assert_eq!(wrong.detail(), err.detail());
    // Key-only seal: any NymID falls back to the empty entry.
    let ko = seal3(&[("", &e1)], b"");
    assert_eq!(ko.open(Some("anything"), &e1).unwrap(), b"");
    assert_eq!(ko.open(None, &e1).unwrap(), b"");
    // Opening needs an X25519 private key.
    assert_eq!(
        back.open(Some(&id1), &e1.to_public()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let rsa = Key::generate(1024).unwrap();
    assert_eq!(
        back.open(Some(&id1), &rsa).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // Mixing RSA and X25519 recipients is refused; Ed25519 cannot receive.
    let rs = [
        Recipient {
            nym_id: "a",
            key: &rsa,
        },
        Recipient {
            nym_id: "b",
            key: &e1,
        },
    ];
    assert_eq!(
        Envelope::seal(&rs, b"x").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let ed = Key::generate_ed25519().unwrap();
    assert_eq!(
        Envelope::seal(
            &[Recipient {
                nym_id: "a",
                key: &ed
            }],
            b"x"
        )
        .unwrap_err()
        .kind(),
        ErrorKind::InvalidArgument
    );
    // RSA recipients still give type 1, which still refuses NUL.
    let t1 = Envelope::seal(
        &[Recipient {
            nym_id: "a",
            key: &rsa,
        }],
        b"x",
    )
    .unwrap();
    assert_eq!(t1.envelope_type(), 1);
    assert_eq!(
        Envelope::seal(
            &[Recipient {
                nym_id: "a",
                key: &rsa
            }],
            b"x\0"
        )
        .unwrap_err()
        .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        t1.open(Some("a"), &e1).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

/// Every byte of a type-3 envelope is covered: flipping any bit either makes it unparsable or
/// makes it fail to open, with the uniform error or no-matching-recipient (a changed NymID).
#[test]
fn tampering_every_byte_region() {
    let (_, e1, id1) = v3_pair();
    let (_, e2, id2) = v3_pair();
    let pt = b"tamper me, please: 0123456789";
    let env = seal3(&[(&id1, &e1), (&id2, &e2), ("", &e2)], pt);
    let bytes = env.to_bytes();
    let uniform = env.open(Some(&id1), &e2).unwrap_err();
    let Layout::V3 { header, .. } = env.layout() else {
        panic!()
    };
    assert_eq!(header.len(), bytes.len() - pt.len() - 16);
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            let Ok(t) = Envelope::parse(&b) else {
                continue; // type, suite, count or length fields
            };
            for (id, k) in [
                (Some(id1.as_str()), &e1),
                (None, &e1),
                (Some(id2.as_str()), &e2),
            ] {
                match t.open(id, k) {
                    Ok(_) => panic!("byte {i} bit {bit:#x} opened"),
                    Err(e) => {
                        if e.kind() == ErrorKind::DecryptFailed {
                            assert_eq!(e.detail(), uniform.detail());
                        } else {
                            assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient, "byte {i}");
                        }
                    }
                }
            }
        }
    }
    // Only the structural fields (type, suite, count, the idlen fields) can make a tampered
    // envelope unparsable: NymID, wrap and payload bytes always parse and then fail to open.
    let mut structural = Vec::new();
    structural.push(0..8);
    let mut pos = 8;
    let Layout::V3 { entries, .. } = env.layout() else {
        panic!()
    };
    for e in entries {
        structural.push(pos..pos + 4);
        pos += 4 + e.id_bytes.len() + 1 + 80;
    }
    for i in 0..bytes.len() {
        if structural.iter().any(|r| r.contains(&i)) {
            continue;
        }
        let mut b = bytes.clone();
        b[i] ^= 0x80;
        let t = Envelope::parse(&b).unwrap_or_else(|e| panic!("byte {i}: {e:?}"));
        assert_eq!(
            t.open(None, &e1).unwrap_err().kind(),
            ErrorKind::DecryptFailed,
            "byte {i}"
        );
    }
    // Truncation anywhere: unparsable, or fails to open.
    for n in 0..bytes.len() {
        if let Ok(t) = Envelope::parse(&bytes[..n]) {
            assert_eq!(
                t.open(Some(&id1), &e1).unwrap_err().kind(),
                ErrorKind::DecryptFailed,
                "truncated to {n}"
            );
            assert_eq!(
                t.open(None, &e1).unwrap_err().kind(),
                ErrorKind::DecryptFailed,
                "truncated to {n}"
            );
        }
    }
    // Extra bytes after the payload.
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        Envelope::parse(&longer)
            .unwrap()
            .open(Some(&id1), &e1)
            .unwrap_err()
            .kind(),
        ErrorKind::DecryptFailed
    );
}

fn entries_of(b: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let n = u32::from_be_bytes(b[4..8].try_into().unwrap()) as usize;
    let mut pos = 8;
    let mut v = Vec::new();
    for _ in 0..n {
        let idlen = u32::from_be_bytes(b[pos..pos + 4].try_into().unwrap()) as usize;
        let end = pos + 4 + idlen + 80;
        v.push(b[pos..end].to_vec());
        pos = end;
    }
    (v, pos)
}

fn rebuild(entries: &[Vec<u8>], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 3, 0, 1];
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for e in entries {
        out.extend_from_slice(e);
    }
    out.extend_from_slice(payload);
    out
}

#[test]
fn removed_reordered_added_entries_fail_for_everyone() {
    let (_, e1, id1) = v3_pair();
    let (_, e2, id2) = v3_pair();
    let env = seal3(&[(&id1, &e1), (&id2, &e2)], b"payload");
    let bytes = env.to_bytes();
    let (entries, end) = entries_of(&bytes);
    let payload = &bytes[end..];
    let other = seal3(&[("zzz", &e1)], b"payload").to_bytes();
    let (extra, _) = entries_of(&other);
    let variants = [
        rebuild(&entries[..1], payload),
        rebuild(&entries[1..], payload),
        rebuild(&[entries[1].clone(), entries[0].clone()], payload),
        rebuild(
            &[entries[0].clone(), entries[1].clone(), extra[0].clone()],
            payload,
        ),
        rebuild(
            &[entries[0].clone(), entries[0].clone(), entries[1].clone()],
            payload,
        ),
    ];
    for (i, b) in variants.iter().enumerate() {
        let t = Envelope::parse(b).unwrap();
        for (id, k) in [(&id1, &e1), (&id2, &e2)] {
            match t.open(Some(id), k) {
                Ok(_) => panic!("variant {i} opened"),
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::DecryptFailed | ErrorKind::NoMatchingRecipient
                    ),
                    "variant {i}: {e:?}"
                ),
            }
            assert_eq!(
                t.open(None, k).unwrap_err().kind(),
                ErrorKind::DecryptFailed
            );
        }
    }
}

#[test]
fn hostile_headers_are_refused_before_allocating() {
    // Absurd counts and lengths in a short buffer.
    for b in [
        vec![0, 3, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0],
        vec![0, 3, 0, 1, 0, 0, 0x10, 0x01, 0, 0],
        vec![0, 3, 0, 1, 0, 0, 0, 0],
        [
            &[0u8, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff][..],
            &[0u8; 90][..],
        ]
        .concat(),
        [&[0u8, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0][..], &[0u8; 90][..]].concat(),
        [&[0u8, 3, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1][..], &[0u8; 90][..]].concat(),
        vec![0, 3],
        vec![0, 3, 0],
        vec![0, 3, 0, 1, 0, 0, 0],
    ] {
        assert_eq!(
            Envelope::parse(&b).unwrap_err().kind(),
            ErrorKind::Malformed,
            "{b:?}"
        );
    }
    // 4096 recipients is the limit.
    let mut b = vec![0, 3, 0, 1, 0, 0, 0x10, 0x01];
    b.resize(8 + 4097 * 85, 0);
    assert_eq!(
        Envelope::parse(&b).unwrap_err().kind(),
        ErrorKind::Malformed
    );
}
