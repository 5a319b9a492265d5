//! Suite v3 primitives against their published vectors (see `tests/data/vectors/rfc/SOURCES.md`):
//! RFC 9180 HPKE base mode (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305),
//! RFC 8032 §7.1 Ed25519 (through our key loading and signing), RFC 7748 X25519, RFC 8439
//! ChaCha20-Poly1305, RFC 8410 key files; plus the strictness rules of Ed25519 verification.

mod common;
use common::*;

use ot_transport::ErrorKind;
use ot_transport::envelope::hpke;
use ot_transport::keys::{Algorithm, Key, KeyFormat};
use serde_json::Value;

fn arr<const N: usize>(v: &[u8]) -> [u8; N] {
    v.try_into().unwrap()
}

#[test]
fn rfc9180_base_mode_x25519_hkdf_sha256_chacha20poly1305() {
    let t: Value = serde_json::from_str(&read_str(
        "vectors/rfc/rfc9180_base_x25519_sha256_chacha20poly1305.json",
    ))
    .unwrap();
    let h = |k: &str| hex(t[k].as_str().unwrap());
    assert_eq!(t["mode"], 0);
    let sk_e = arr::<32>(&h("skEm"));
    let sk_r = arr::<32>(&h("skRm"));
    let pk_r = arr::<32>(&h("pkRm"));
    let info = h("info");
    let encs = t["encryptions"].as_array().unwrap();
    assert!(!encs.is_empty());
    // Sequence number 0 is what single-shot SealBase/OpenBase use.
    let e0 = &encs[0];
    let (aad, pt, ct) = (
        hex(e0["aad"].as_str().unwrap()),
        hex(e0["pt"].as_str().unwrap()),
        hex(e0["ct"].as_str().unwrap()),
    );
    let (enc, got) = hpke::seal_base_with_ephemeral(&sk_e, &pk_r, &info, &aad, &pt).unwrap();
    assert_eq!(enc.to_vec(), h("enc"));
    assert_eq!(got, ct);
    assert_eq!(
        hpke::open_base_raw(&sk_r, &enc, &info, &aad, &ct).unwrap(),
        pt
    );
    // Any change fails.
    for i in 0..ct.len() {
        let mut bad = ct.clone();
        bad[i] ^= 0x01;
        assert!(hpke::open_base_raw(&sk_r, &enc, &info, &aad, &bad).is_none());
    }
    let mut bad_enc = enc;
    bad_enc[3] ^= 0x40;
    assert!(hpke::open_base_raw(&sk_r, &bad_enc, &info, &aad, &ct).is_none());
    assert!(hpke::open_base_raw(&sk_r, &enc, b"other info", &aad, &ct).is_none());
    assert!(hpke::open_base_raw(&sk_r, &enc, &info, b"other aad", &ct).is_none());
    assert!(hpke::open_base_raw(&sk_r, &enc, &info, &aad, &ct[..15]).is_none());
    // A small-order recipient key is refused (all-zero DH output).
    assert!(hpke::seal_base_with_ephemeral(&sk_e, &[0u8; 32], &info, &aad, &pt).is_none());
    let mut one = [0u8; 32];
    one[0] = 1;
    assert!(hpke::seal_base_with_ephemeral(&sk_e, &one, &info, &aad, &pt).is_none());
}

#[test]
fn rfc7748_x25519() {
    let text = read_str("vectors/rfc/rfc7748_x25519.txt");
    let mut n = 0;
    for rec in text.split("\n\n") {
        let get = |k: &str| {
            rec.lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                .map(hex)
        };
        let (Some(k), Some(u), Some(out)) = (get("INPUT_SCALAR"), get("INPUT_U"), get("OUTPUT_U"))
        else {
            continue;
        };
        assert_eq!(
            x25519_dalek::x25519(arr(&k), arr(&u)).to_vec(),
            out,
            "{rec}"
        );
        n += 1;
    }
    assert_eq!(n, 3);
}

#[test]
fn rfc8439_chacha20poly1305() {
    let text = read_str("vectors/rfc/rfc8439_a5_chacha20poly1305.txt");
    let mut n = 0;
    for rec in text.split("\n\n") {
        let get = |k: &str| {
            rec.lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                .map(hex)
        };
        let Some(key) = get("Key") else { continue };
        let (iv, aad, tag, pt, ct) = (
            get("IV").unwrap(),
            get("AAD").unwrap(),
            get("Tag").unwrap(),
            get("Plaintext").unwrap(),
            get("Ciphertext").unwrap(),
        );
        let fails = rec.contains("Result = CIPHERFINAL_ERROR");
        let key = arr::<32>(&key);
        let nonce = arr::<12>(&iv);
        let sealed = [&ct[..], &tag[..]].concat();
        let opened = hpke::chacha20poly1305_open(&key, &nonce, &aad, &sealed);
        let (ok, out) = hpke::chacha20poly1305_open_payload(&key, &nonce, &aad, &sealed).unwrap();
        if fails {
            assert!(opened.is_none());
            assert!(!ok);
            assert_eq!(out, zero_key_xor(&nonce, &ct));
        } else {
            assert_eq!(opened.unwrap(), pt);
            assert!(ok);
            assert_eq!(out, pt);
            assert_eq!(hpke::chacha20poly1305_seal(&key, &nonce, &aad, &pt), sealed);
        }
        n += 1;
    }
    assert_eq!(n, 3);
}

/// `ct` XOR the keystream of the all-zero key from block 1: what our open leaves in its output
/// area when the tag fails.
fn zero_key_xor(nonce: &[u8; 12], ct: &[u8]) -> Vec<u8> {
    // ChaCha20-Poly1305 sealing of `ct` under the zero key gives ct XOR that keystream.
    let sealed = hpke::chacha20poly1305_seal(&[0u8; 32], nonce, b"", ct);
    sealed[..ct.len()].to_vec()
}

/// Our ChaCha20-Poly1305 open (its own Poly1305 check, then one keystream under a masked key;
/// `hpke::chacha20poly1305_open` in place, `chacha20poly1305_open_payload` into a second area)
/// equals the `chacha20poly1305` crate's on random keys, nonces, AAD and lengths (0 to 300
/// bytes, every Poly1305 padding case), intact and with any one bit of the ciphertext, tag or
/// AAD flipped; after a failure the output is never the plaintext, only `ct` XOR a public
/// keystream.
#[test]
fn our_open_equals_the_aead_crate() {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let mut rnd = [0u8; 32 + 12 + 40 + 300];
    for len in 0..=300usize {
        getrandom::fill(&mut rnd).unwrap();
        let key = arr::<32>(&rnd[..32]);
        let nonce = arr::<12>(&rnd[32..44]);
        let aad = &rnd[44..44 + len % 40];
        let pt = &rnd[84..84 + len];
        let crate_aead = chacha20poly1305::ChaCha20Poly1305::new(&key.into());
        let sealed = crate_aead
            .encrypt(&nonce.into(), Payload { msg: pt, aad })
            .unwrap();
        assert_eq!(hpke::chacha20poly1305_seal(&key, &nonce, aad, pt), sealed);
        assert_eq!(
            hpke::chacha20poly1305_open(&key, &nonce, aad, &sealed).unwrap(),
            pt
        );
        assert_eq!(
            hpke::chacha20poly1305_open_payload(&key, &nonce, aad, &sealed),
            Some((true, pt.to_vec()))
        );
        let flip = usize::from(u16::from_le_bytes([rnd[0], rnd[1]])) % (sealed.len() * 8);
        let mut bad = sealed.clone();
        bad[flip / 8] ^= 1 << (flip % 8);
        assert!(
            crate_aead
                .decrypt(&nonce.into(), Payload { msg: &bad, aad })
                .is_err()
        );
        assert!(hpke::chacha20poly1305_open(&key, &nonce, aad, &bad).is_none());
        let (ok, out) = hpke::chacha20poly1305_open_payload(&key, &nonce, aad, &bad).unwrap();
        assert!(!ok);
        assert_eq!(out, zero_key_xor(&nonce, &bad[..len]));
        if !aad.is_empty() {
            let mut bad_aad = aad.to_vec();
            bad_aad[0] ^= 0x80;
            assert!(hpke::chacha20poly1305_open(&key, &nonce, &bad_aad, &sealed).is_none());
            let (ok, _) =
                hpke::chacha20poly1305_open_payload(&key, &nonce, &bad_aad, &sealed).unwrap();
            assert!(!ok);
        }
    }
    // Shorter than a tag: refused.
    assert_eq!(
        hpke::chacha20poly1305_open_payload(&[1u8; 32], &[2u8; 12], b"", &[0u8; 15]),
        None
    );
}

fn pkcs8_ed25519(seed: &[u8]) -> Vec<u8> {
    let mut v = hex("302e020100300506032b657004220420");
    v.extend_from_slice(seed);
    v
}

fn spki_ed25519(pk: &[u8]) -> Vec<u8> {
    let mut v = hex("302a300506032b6570032100");
    v.extend_from_slice(pk);
    v
}

#[test]
fn rfc8032_ed25519_through_key_loading() {
    let text = read_str("vectors/rfc/ed25519_sign_input_head16.txt");
    let mut n = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        let (skpk, pk, msg, sigmsg) = (hex(f[0]), hex(f[1]), hex(f[2]), hex(f[3]));
        let sig = &sigmsg[..64];
        let k = Key::load(&pkcs8_ed25519(&skpk[..32]), None).unwrap();
        assert_eq!(k.algorithm(), Algorithm::Ed25519);
        assert!(k.is_private());
        assert_eq!(k.sign_ed25519(&msg).unwrap().to_vec(), sig, "line {n}");
        let p = Key::load(&spki_ed25519(&pk), None).unwrap();
        assert!(!p.is_private());
        assert_eq!(p.spki_der().unwrap(), spki_ed25519(&pk));
        p.verify_ed25519(&msg, sig).unwrap();
        let mut bad = sig.to_vec();
        bad[n % 64] ^= 0x10;
        assert_eq!(
            p.verify_ed25519(&msg, &bad).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
        assert_eq!(
            p.verify_ed25519(&msg, &sig[..63]).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
        n += 1;
    }
    assert_eq!(n, 16);
}

#[test]
fn ed25519_verification_is_strict() {
    let line = read_str("vectors/rfc/ed25519_sign_input_head16.txt");
    let f: Vec<&str> = line.lines().next().unwrap().split(':').collect();
    let (pk, msg, sig) = (hex(f[1]), hex(f[2]), hex(&f[3][..128]));
    let p = Key::load(&spki_ed25519(&pk), None).unwrap();
    p.verify_ed25519(&msg, &sig).unwrap();
    // Non-canonical S: S + L verifies under a lax check, never here.
    let l = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    let mut s2 = sig.clone();
    let mut carry = 0u16;
    for i in 0..32 {
        let v = s2[32 + i] as u16 + l[i] as u16 + carry;
        s2[32 + i] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    assert_eq!(
        p.verify_ed25519(&msg, &s2).unwrap_err().kind(),
        ErrorKind::BadSignature
    );
    // Small-order public keys (identity, order-2 and order-4 points) are refused on load.
    for small in [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    ] {
        let e = Key::load(&spki_ed25519(&hex(small)), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::KeyFormat, "{small}");
    }
    // Non-canonical encodings (y >= p) of a point that has a canonical encoding are refused.
    let mut found = 0;
    for y in 2u8..=18 {
        let mut canon = [0u8; 32];
        canon[0] = y;
        let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&canon) else {
            continue;
        };
        if vk.is_weak() {
            continue;
        }
        let mut non = [0xffu8; 32];
        non[0] = 0xed + y;
        non[31] = 0x7f;
        // The curve library alone accepts it…
        assert!(ed25519_dalek::VerifyingKey::from_bytes(&non).is_ok());
        // …we do not.
        assert!(Key::load(&spki_ed25519(&canon), None).is_ok());
        assert_eq!(
            Key::load(&spki_ed25519(&non), None).unwrap_err().kind(),
            ErrorKind::KeyFormat
        );
        found += 1;
    }
    assert!(found > 0);
}

#[test]
fn rfc8410_key_files() {
    for (name, alg) in [
        ("ed25519", Algorithm::Ed25519),
        ("x25519", Algorithm::X25519),
    ] {
        let base = format!("vectors/rfc/keys/{name}");
        let k = Key::load(&read(&format!("{base}-pkcs8.pem")), None).unwrap();
        assert_eq!(k.algorithm(), alg);
        assert!(k.is_private());
        let kd = Key::load(&read(&format!("{base}-pkcs8.der")), None).unwrap();
        let pub_pem = Key::load(&read(&format!("{base}-pub.pem")), None).unwrap();
        let pub_der = Key::load(&read(&format!("{base}-pub.der")), None).unwrap();
        let id = k.nym_id().unwrap();
        for other in [&kd, &pub_pem, &pub_der] {
            assert_eq!(other.nym_id().unwrap(), id);
            assert_eq!(other.algorithm(), alg);
        }
        assert_eq!(
            k.export(KeyFormat::SpkiPem, None).unwrap(),
            read(&format!("{base}-pub.pem"))
        );
        assert_eq!(k.spki_der().unwrap(), read(&format!("{base}-pub.der")));
        for f in ["pkcs8-enc.pem", "pkcs8-enc.der"] {
            let file = read(&format!("{base}-{f}"));
            let e = Key::load(&file, Some(b"password")).unwrap();
            assert_eq!(e.nym_id().unwrap(), id);
            assert!(e.is_private());
            assert_eq!(
                Key::load(&file, Some(b"wrong")).unwrap_err().kind(),
                ErrorKind::BadPassphrase
            );
            assert_eq!(
                Key::load(&file, None).unwrap_err().kind(),
                ErrorKind::BadPassphrase
            );
        }
    }
    assert_eq!(
        Key::load(
            &read("vectors/rfc/keys/ed25519-pub-non-zero-unused-bits.der"),
            None
        )
        .unwrap_err()
        .kind(),
        ErrorKind::KeyFormat
    );
}

/// Our X25519 (Edwards-form fast path with a ladder fallback) equals the RFC 7748 ladder on the
/// RFC vectors, on random curve points, on twist points, on small-order points and on
/// non-canonical u encodings.
#[test]
fn x25519_fast_path_equals_the_ladder() {
    let text = read_str("vectors/rfc/rfc7748_x25519.txt");
    for rec in text.split("\n\n") {
        let get = |k: &str| {
            rec.lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                .map(hex)
        };
        let (Some(k), Some(u), Some(out)) = (get("INPUT_SCALAR"), get("INPUT_U"), get("OUTPUT_U"))
        else {
            continue;
        };
        assert_eq!(hpke::x25519(&arr(&k), &arr(&u)).to_vec(), out);
    }
    let mut rnd = [0u8; 64 * 400];
    getrandom::fill(&mut rnd).unwrap();
    let mut twist = 0;
    for c in rnd.chunks(64) {
        let k: [u8; 32] = c[..32].try_into().unwrap();
        let u: [u8; 32] = c[32..].try_into().unwrap(); // about half are on the twist
        assert_eq!(*hpke::x25519(&k, &u), x25519_dalek::x25519(k, u));
        let mut t = u;
        t[31] &= 0x7f;
        if curve25519_dalek::montgomery::MontgomeryPoint(t)
            .to_edwards(0)
            .is_none()
        {
            twist += 1;
        }
        // A real public key (on the curve).
        let pk = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(u)).to_bytes();
        assert_eq!(*hpke::x25519(&k, &pk), x25519_dalek::x25519(k, pk));
    }
    assert!(twist > 100, "twist points exercised the fallback ({twist})");
    let k = [0x5au8; 32];
    for u in [
        [0u8; 32],
        {
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        },
        {
            let mut b = [0xffu8; 32]; // 2^256 - 1: non-canonical, high bit set
            b[0] = 0xff;
            b
        },
        {
            let mut b = [0xffu8; 32]; // p - 1 = -1
            b[0] = 0xec;
            b[31] = 0x7f;
            b
        },
        {
            let mut b = [0xffu8; 32]; // p
            b[0] = 0xed;
            b[31] = 0x7f;
            b
        },
    ] {
        assert_eq!(
            *hpke::x25519(&k, &u),
            x25519_dalek::x25519(k, u),
            "{u:02x?}"
        );
    }
}

/// PKCS#8 version 2 (RFC 5958 OneAsymmetricKey) with the public key: accepted when the public key
/// matches the private one, refused otherwise.
#[test]
fn pkcs8_v2_public_key_must_match() {
    let text = read_str("vectors/rfc/ed25519_sign_input_head16.txt");
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(':').collect()).collect();
    let (seed, pk, other_pk) = (hex(&lines[0][0][..64]), hex(lines[0][1]), hex(lines[1][1]));
    let v2 = |pubkey: &[u8]| {
        let mut v = hex("3051020101300506032b657004220420");
        v.extend_from_slice(&seed);
        v.extend_from_slice(&hex("812100"));
        v.extend_from_slice(pubkey);
        v
    };
    let k = Key::load(&v2(&pk), None).unwrap();
    assert_eq!(k.spki_der().unwrap(), spki_ed25519(&pk));
    assert_eq!(
        Key::load(&v2(&other_pk), None).unwrap_err().kind(),
        ErrorKind::KeyFormat
    );
    // Algorithm parameters are not allowed by RFC 8410.
    let mut with_null = hex("3030020100300706032b65700500");
    with_null.extend_from_slice(&hex("04220420"));
    with_null.extend_from_slice(&seed);
    assert_eq!(
        Key::load(&with_null, None).unwrap_err().kind(),
        ErrorKind::KeyFormat
    );
    // A private key of the wrong length.
    let mut short = hex("302d020100300506032b657004210420");
    short.extend_from_slice(&seed[..31]);
    assert_eq!(
        Key::load(&short, None).unwrap_err().kind(),
        ErrorKind::KeyFormat
    );
}
