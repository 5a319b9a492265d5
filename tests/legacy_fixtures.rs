//! Every check named in `tests/data/fixtures/SOURCES.md`, on the real legacy files.

mod common;
use common::*;

use ot_transport::envelope::{Envelope, Layout};
use ot_transport::hash::{id_of, samy};
use ot_transport::keys::Key;
use ot_transport::symkey::SymmetricKey;
use ot_transport::{ErrorKind, signed};

const Y13: &str = "legacy-0.89-2013";
const Y11: &str = "legacy-0.72-2011";
const DYEB: &str = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n";
const VOEQ: &str = "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk";

fn cred(side: &str, nym: &str, id: &str) -> String {
    dearmor_text(&fixture(&format!("{Y13}/{side}/credentials/{nym}/{id}")))
}

/// The public key of type `k` (A, E or S) published in a credential.
fn cred_key(doc: &str, k: &str) -> Key {
    let armored = element(doc, "publicInfo", Some(&format!("key=\"{k}\"")));
    Key::load(dearmor_text(armored.as_bytes()).as_bytes(), None).unwrap()
}

#[test]
fn contract_ids_2013_are_samy_of_trimmed_text() {
    for id in [
        "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG",
        "7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF",
        "EYGad9FjZWgGKeVbgh2FbA0Hf8oP0XlnRyYCsvSIYKL",
        "JY7kEFnm2c50CGNphdpgnlVo2hOZuLrBua5cFqWWR9Q",
        "XU1Gu6sjcLxg260FmRgrSvRz9L0OohXRSEhlkeSd9j2",
    ] {
        let text = dearmor_text(&fixture(&format!("{Y13}/client_data/contracts/{id}")));
        assert_eq!(id_of(text.trim().as_bytes()), id);
    }
}

#[test]
fn contract_ids_2011_are_samy_of_raw_file() {
    for id in [
        "8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp",
        "Bph6oZoC14CxafShXhZPMl1p2o1YE9MgwsEUXSQ5bWW",
        "XBCTdnxYMLKaP6m1cSpvgViOFfdjoVCffbnZ7VIAEQz",
        "lV6acfWoWKB7BcuIXCzvS4aSiqUOjlGgVTyepg1aAsa",
    ] {
        assert_eq!(
            id_of(&fixture(&format!("{Y11}/client_data/contracts/{id}"))),
            id
        );
    }
}

#[test]
fn public_credential_ids() {
    for id in [
        "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ",
        "T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D",
    ] {
        let text = dearmor_text(&fixture(&format!("{Y13}/server_data/pubcred/{DYEB}/{id}")));
        assert_eq!(id_of(text.as_bytes()), id);
    }
}

#[test]
fn credential_era_nym_ids_from_nym_id_source() {
    for (side, nym, master) in [
        (
            "client_data",
            DYEB,
            "T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D",
        ),
        (
            "server_data",
            VOEQ,
            "UESzvzSw6zqC7BuvlcHmbPKTmf5BIbG0RNvCTpDx1kH",
        ),
    ] {
        let list = dearmor_text(&fixture(&format!("{Y13}/{side}/credentials/{nym}.cred")));
        let source = dearmor_text(element(&list, "nymIDSource", None).as_bytes());
        assert_eq!(id_of(source.as_bytes()), nym);
        // The source is the master credential's S key; re-exporting that key from our own
        // encoder must reproduce the legacy bytes exactly, hence the same NymID.
        let master_doc = cred(side, nym, master);
        let s = cred_key(&master_doc, "S");
        assert_eq!(
            s.export(ot_transport::keys::KeyFormat::OtPublic, None)
                .unwrap(),
            source.as_bytes()
        );
        assert_eq!(s.nym_id().unwrap(), nym);
        assert_eq!(
            Key::load(source.as_bytes(), None)
                .unwrap()
                .nym_id()
                .unwrap(),
            nym
        );
    }
}

#[test]
fn pre_credential_nym_ids_from_cert_files() {
    // T1Q3: encrypted PKCS#8 bundled with certificates; pc23: traditional DEK-Info PEM;
    // lMTAN: unencrypted PKCS#8. Passphrase "test".
    for id in [
        "T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV",
        "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C",
        "lMTANg3U97bwGFJAYKljTXAcy5By6JcLdU4di5AoA4z",
    ] {
        let file = fixture(&format!("{Y11}/client_data/certs/{id}"));
        let k = Key::load(&file, Some(b"test")).unwrap();
        assert!(k.is_private());
        assert_eq!(k.bits(), 1024);
        assert_eq!(k.nym_id().unwrap(), id);
    }
    let t1 = fixture(&format!(
        "{Y11}/client_data/certs/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV"
    ));
    assert_eq!(
        Key::load(&t1, Some(b"nope")).unwrap_err().kind(),
        ErrorKind::BadPassphrase
    );
    assert_eq!(
        Key::load(&t1, None).unwrap_err().kind(),
        ErrorKind::BadPassphrase
    );
    // The OT public-key block sample loads and has the documented shape.
    let pubkey = fixture(&format!("{Y11}/client_data/pubkeys/TESTPUBKEYCLI.txt"));
    let k = Key::load(&pubkey, None).unwrap();
    assert!(!k.is_private());
    assert_eq!(
        k.export(ot_transport::keys::KeyFormat::OtPublicUnescaped, None)
            .unwrap(),
        pubkey
    );
}

#[test]
fn every_real_signature_verifies_with_its_key() {
    let server_key_cred = cred(
        "server_data",
        VOEQ,
        "EvcfMaNJ3fiK4lUVhQNhHmX1Qc3mjlA6q0MS96JXNNO",
    );
    let server_master = cred(
        "server_data",
        VOEQ,
        "UESzvzSw6zqC7BuvlcHmbPKTmf5BIbG0RNvCTpDx1kH",
    );
    let client_key_cred = cred(
        "client_data",
        DYEB,
        "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ",
    );
    let client_master = cred(
        "client_data",
        DYEB,
        "T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D",
    );
    let server_s = cred_key(&server_key_cred, "S");
    let client_s = cred_key(&client_key_cred, "S");
    let client_master_s = cred_key(&client_master, "S");
    let server_master_s = cred_key(&server_master, "S");
    let contract = |id: &str| dearmor_text(&fixture(&format!("{Y13}/client_data/contracts/{id}")));

    let cases: Vec<(String, &Key, Option<&str>)> = vec![
        (
            contract("r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG"),
            &server_s,
            Some("SvUE"),
        ),
        (
            contract("7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF"),
            &client_s,
            Some("SDT9"),
        ),
        (
            contract("EYGad9FjZWgGKeVbgh2FbA0Hf8oP0XlnRyYCsvSIYKL"),
            &client_s,
            Some("SDT9"),
        ),
        (
            contract("JY7kEFnm2c50CGNphdpgnlVo2hOZuLrBua5cFqWWR9Q"),
            &client_s,
            Some("SDT9"),
        ),
        (
            contract("XU1Gu6sjcLxg260FmRgrSvRz9L0OohXRSEhlkeSd9j2"),
            &client_s,
            Some("SDT9"),
        ),
        (server_key_cred.clone(), &server_s, None),
        (server_master.clone(), &server_master_s, None),
        (client_key_cred.clone(), &client_s, None),
        (client_master.clone(), &client_master_s, None),
        (
            dearmor_text(&fixture(&format!(
                "{Y13}/client_data/purse/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG/{DYEB}/7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF"
            ))),
            &client_s,
            Some("SDT9"),
        ),
    ];
    for (text, key, meta) in &cases {
        let p = signed::parse(text.as_bytes()).unwrap();
        assert_eq!(p.signatures.len(), 1);
        assert_eq!(p.signatures[0].meta.as_deref(), *meta);
        let content = signed::verify(text.as_bytes(), key).unwrap();
        assert_eq!(content, p.content);
        // A wrong key never verifies.
        let wrong = if std::ptr::eq(*key, &client_s) {
            &server_s
        } else {
            &client_s
        };
        assert_eq!(
            signed::verify(text.as_bytes(), wrong).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
    }

    // 2011: contracts signed by the server nym pc23 or the user nym T1Q3, and the signed nym file.
    let pc23 = Key::load(
        &fixture(&format!(
            "{Y11}/client_data/certs/pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C"
        )),
        Some(b"test"),
    )
    .unwrap()
    .to_public();
    let t1q3 = Key::load(
        &fixture(&format!(
            "{Y11}/client_data/certs/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV"
        )),
        Some(b"test"),
    )
    .unwrap()
    .to_public();
    for (file, key) in [
        (
            "contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp",
            &pc23,
        ),
        (
            "contracts/XBCTdnxYMLKaP6m1cSpvgViOFfdjoVCffbnZ7VIAEQz",
            &pc23,
        ),
        (
            "contracts/Bph6oZoC14CxafShXhZPMl1p2o1YE9MgwsEUXSQ5bWW",
            &t1q3,
        ),
        (
            "contracts/lV6acfWoWKB7BcuIXCzvS4aSiqUOjlGgVTyepg1aAsa",
            &t1q3,
        ),
        ("nyms/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV", &t1q3),
    ] {
        let text = fixture(&format!("{Y11}/client_data/{file}"));
        signed::verify(&text, key).unwrap();
        let other = if std::ptr::eq(key, &pc23) {
            &t1q3
        } else {
            &pc23
        };
        assert_eq!(
            signed::verify(&text, other).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
    }
}

/// passphrase "test" → wallet `<cachedKey>` → 16-byte master key.
fn master_key() -> Vec<u8> {
    let wallet = dearmor_text(&fixture(&format!("{Y13}/client_data/wallet.xml")));
    let cached = element(&wallet, "cachedKey", None);
    let sk = SymmetricKey::parse(cached.as_bytes()).unwrap();
    assert_eq!(sk.iterations, 65535);
    assert_eq!(
        SymmetricKey::parse(cached.as_bytes())
            .unwrap()
            .unlock(b"TEST")
            .unwrap_err()
            .kind(),
        ErrorKind::BadPassphrase
    );
    sk.unlock(b"test").unwrap().to_vec()
}

#[test]
fn wallet_master_key_unlocks_2013_private_keys() {
    let mk = master_key();
    assert_eq!(mk.len(), 16);
    // The cert file's key is locked with the raw master key, not with "test".
    let cert = fixture(&format!("{Y13}/client_data/certs/{DYEB}"));
    let k = Key::load(&cert, Some(&mk)).unwrap();
    assert!(k.is_private());
    assert_eq!(
        Key::load(&cert, Some(b"test")).unwrap_err().kind(),
        ErrorKind::BadPassphrase
    );
    // The credential's private A, E and S keys unlock too and match their public halves.
    let doc = cred(
        "client_data",
        DYEB,
        "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ",
    );
    for t in ["A", "E", "S"] {
        let priv_pem =
            dearmor_text(element(&doc, "privateInfo", Some(&format!("key=\"{t}\""))).as_bytes());
        let k = Key::load(priv_pem.as_bytes(), Some(&mk)).unwrap();
        assert_eq!(k.nym_id().unwrap(), cred_key(&doc, t).nym_id().unwrap());
    }
}

#[test]
fn purse_token_v1_envelope_opens_through_the_real_key_chain() {
    let mk = master_key();
    let doc = cred(
        "client_data",
        DYEB,
        "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ",
    );
    let e_pem = dearmor_text(element(&doc, "privateInfo", Some("key=\"E\"")).as_bytes());
    let e_key = Key::load(e_pem.as_bytes(), Some(&mk)).unwrap();
    let purse = dearmor_text(&fixture(&format!(
        "{Y13}/client_data/purse/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG/{DYEB}/7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF"
    )));
    let token = element(&purse, "token", None);
    let env = Envelope::from_armor(token.as_bytes()).unwrap();
    assert_eq!(env.recipient_ids(), vec![DYEB]);
    assert_eq!(env.to_bytes().len(), 1662);
    let plain = env.open(Some(DYEB), &e_key).unwrap();
    assert_eq!(plain.len(), 1444);
    assert!(plain.starts_with(b"-----BEGIN SIGNED CASH TOKEN-----"));
    // Re-serialising gives back the exact legacy bytes and armor.
    assert_eq!(env.to_armor(false).unwrap(), token);
    // The wrong key, or a NymID that is not in the envelope, fails cleanly.
    let a_pem = dearmor_text(element(&doc, "privateInfo", Some("key=\"A\"")).as_bytes());
    let a_key = Key::load(a_pem.as_bytes(), Some(&mk)).unwrap();
    assert_eq!(
        env.open(Some(DYEB), &a_key).unwrap_err().kind(),
        ErrorKind::DecryptFailed
    );
    assert_eq!(
        env.open(Some("someoneElse"), &e_key).unwrap_err().kind(),
        ErrorKind::NoMatchingRecipient
    );
}

#[test]
fn mail_message_v0_envelope_opens_with_the_2011_key() {
    let nymfile = fixture(&format!(
        "{Y11}/client_data/nyms/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV"
    ));
    let key = Key::load(
        &fixture(&format!(
            "{Y11}/client_data/certs/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV"
        )),
        Some(b"test"),
    )
    .unwrap();
    let outer = signed::verify(&nymfile, &key).unwrap();
    let payload =
        dearmor_text(element(std::str::from_utf8(&outer).unwrap(), "filePayload", None).as_bytes());
    let mail = dearmor_text(element(&payload, "mailMessage", None).as_bytes());
    let inner = signed::verify(mail.as_bytes(), &key).unwrap();
    let env_armor = element(std::str::from_utf8(&inner).unwrap(), "messagePayload", None);
    let env = Envelope::from_armor(env_armor.as_bytes()).unwrap();
    assert!(matches!(env.layout(), Layout::V0(ek) if ek.len() == 128));
    let plain = env.open(None, &key).unwrap();
    assert_eq!(
        plain,
        b"Subject:Just testing\nblah blah blah\n\nI can't believe I finally have storage working AND I have armored text packing. AND this probably works on Windows now."
    );
    assert_eq!(plain.len() + 1, 157);
    assert_eq!(
        env.to_bytes(),
        ot_transport::armor::decode(env_armor.as_bytes(), ot_transport::armor::Kind::Data).unwrap()
    );
    let _ = samy(&plain);
}
