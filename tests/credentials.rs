//! Credentials, Nyms, contracts and wallets on the real 2013 and 2011 legacy files
//! (`tests/data/fixtures`): every rule of `docs/credentials.md` holds on the originals, and each
//! tampered variant is refused by the rule it breaks.

mod common;
use common::*;
#[path = "common/credentials.rs"]
mod fx;
use fx::*;

use ot_transport::armor::{self, Kind};
use ot_transport::credentials::{Contract, Era, Nym, Role, Rule, wallet_master_key};
use ot_transport::envelope::{Envelope, Recipient};
use ot_transport::hash::id_of;
use ot_transport::keys::Key;
use ot_transport::{ErrorKind, signed};

// ---- the originals ----------------------------------------------------------------------

#[test]
fn wallets_give_the_master_keys() {
    let (c, n) = (client_key(), notary_key());
    assert_eq!((c.len(), n.len()), (16, 16));
    assert_ne!(c, n);
    for f in ["client_data/wallet.xml", "server_data/notaryServer.xml"] {
        let w = fixture(&format!("{Y13}/{f}"));
        let e = wallet_master_key(&w, b"TEST").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadPassphrase);
        // The plain XML works as well as the armored file.
        let plain = dearmor_text(&w);
        assert_eq!(
            wallet_master_key(plain.as_bytes(), b"test").unwrap().len(),
            16
        );
    }
    assert_eq!(
        wallet_master_key(b"<wallet name=\"\"/>", b"test")
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        wallet_master_key(b"not a wallet", b"test")
            .unwrap_err()
            .kind(),
        ErrorKind::Malformed
    );
}

#[test]
fn client_nym_from_its_private_files() {
    let n = client();
    assert_eq!(n.id(), DYEB);
    assert!(n.is_private());
    assert_eq!(n.master().id(), DYEB_MASTER);
    assert_eq!(n.key_credentials().len(), 1);
    assert_eq!(n.key_credentials()[0].id(), DYEB_KEY);
    // The keys handed out are the key credential's, private, and match the public files.
    let public = Nym::load_dir(&dir("server_data/pubcred"), DYEB, None).unwrap();
    assert!(!public.is_private());
    for role in [Role::Auth, Role::Encryption, Role::Signing] {
        assert!(n.key(role).is_private());
        assert!(!public.key(role).is_private());
        assert!(same_key(n.key(role), public.key(role)));
        assert!(!same_key(n.key(role), n.master().keys().get(role)));
    }
    // The three roles are three different keys.
    assert!(!same_key(n.key(Role::Auth), n.key(Role::Encryption)));
    assert!(!same_key(n.key(Role::Auth), n.key(Role::Signing)));
    // E opens the purse token sealed to DYEB; A and S do not.
    let purse = dearmor_text(&fixture(&format!(
        "{Y13}/client_data/purse/{SERVER_CONTRACT}/{DYEB}/{}",
        ASSET_CONTRACTS[0]
    )));
    let env = Envelope::from_armor(element(&purse, "token", None).as_bytes()).unwrap();
    assert!(
        env.open(Some(DYEB), n.key(Role::Encryption))
            .unwrap()
            .starts_with(b"-----BEGIN SIGNED CASH TOKEN-----")
    );
    assert_eq!(
        env.open(Some(DYEB), n.key(Role::Auth)).unwrap_err().kind(),
        ErrorKind::DecryptFailed
    );
    // S signed the four asset contracts: what it signs, the public Nym verifies.
    let t = signed::create("MESSAGE", b"<x/>\n", n.key(Role::Auth), None).unwrap();
    signed::verify(t.as_bytes(), public.key(Role::Auth)).unwrap();
    // Without the passphrase the private files give public keys only; a wrong one is refused.
    let p = Nym::load_dir(&dir("client_data/credentials"), DYEB, None).unwrap();
    assert!(!p.is_private() && same_key(p.key(Role::Signing), n.key(Role::Signing)));
    let e = Nym::load_dir(&dir("client_data/credentials"), DYEB, Some(b"test")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadPassphrase);
    assert!(e.detail().contains("master key"), "{e:?}");
}

#[test]
fn server_nym_from_its_private_files() {
    let s = server();
    assert_eq!(s.id(), VOEQ);
    assert!(s.is_private());
    assert_eq!(s.master().id(), VOEQ_MASTER);
    assert_eq!(s.key_credentials()[0].id(), VOEQ_KEY);
    // The client's wallet key does not unlock the notary's keys.
    let e = Nym::load_dir(&dir("server_data/credentials"), VOEQ, Some(&client_key()));
    assert_eq!(e.unwrap_err().kind(), ErrorKind::BadPassphrase);
}

#[test]
fn nym_from_bytes_in_any_order_armored_or_not() {
    let t = dyeb();
    let armored: Vec<Vec<u8>> = [DYEB_KEY, DYEB_MASTER]
        .iter()
        .map(|id| fixture(&format!("{Y13}/server_data/pubcred/{DYEB}/{id}")))
        .collect();
    let list = fixture(&format!("{Y13}/server_data/pubcred/{DYEB}.cred"));
    let n = Nym::load(&list, &[&armored[0], &armored[1]], None).unwrap();
    assert_eq!(n.id(), DYEB);
    let n2 = t.load(None).unwrap();
    assert!(same_key(n.key(Role::Auth), n2.key(Role::Auth)));
    // Private files mixed with plain public text: the private master, the public key credential.
    let master = fixture(&format!(
        "{Y13}/client_data/credentials/{DYEB}/{DYEB_MASTER}"
    ));
    let n3 = Nym::load(
        t.list.as_bytes(),
        &[t.creds[1].1.as_bytes(), &master],
        Some(&client_key()),
    )
    .unwrap();
    assert!(!n3.is_private()); // its key credential was public
    assert!(n3.master().private_keys().is_some());
}

#[test]
fn the_server_contract_names_the_notary() {
    let s = server();
    let raw = fixture(&format!("{Y13}/client_data/contracts/{SERVER_CONTRACT}"));
    let c = Contract::load(&raw).unwrap();
    assert_eq!(c.id(), SERVER_CONTRACT);
    assert_eq!(c.era(), Era::Credentials2013);
    assert_eq!(c.kind(), "notaryProviderContract");
    assert_eq!(c.signer_nym_id(), VOEQ);
    assert_eq!(c.signer().unwrap().id(), VOEQ);
    assert_eq!(c.endpoint().unwrap(), "tcp://localhost:7085");
    let a = c.notary().unwrap();
    assert_eq!((a.hostname.as_str(), a.port), ("localhost", 7085));
    for role in [Role::Auth, Role::Encryption, Role::Signing] {
        assert!(!c.key(role).is_private());
        assert!(same_key(c.key(role), s.key(role)));
    }
    // The plain signed text loads the same.
    let plain = Contract::load(contract_text(SERVER_CONTRACT).as_bytes()).unwrap();
    assert_eq!(plain.id(), SERVER_CONTRACT);
    // What a client seals to the contract's E key, the notary's own Nym opens.
    let env = Envelope::seal(
        &[Recipient {
            nym_id: VOEQ,
            key: c.key(Role::Encryption),
        }],
        b"hello",
    )
    .unwrap();
    assert_eq!(
        env.open(Some(VOEQ), s.key(Role::Encryption)).unwrap(),
        b"hello"
    );
}

#[test]
fn asset_contracts_are_signed_by_the_client_nym() {
    let n = client();
    for id in ASSET_CONTRACTS {
        let c = Contract::load(&fixture(&format!("{Y13}/client_data/contracts/{id}"))).unwrap();
        assert_eq!(c.id(), id);
        assert_eq!(c.kind(), "digitalAssetContract");
        assert_eq!(c.signer_nym_id(), DYEB);
        assert!(same_key(c.key(Role::Signing), n.key(Role::Signing)));
        assert_eq!(c.endpoint().unwrap_err().kind(), ErrorKind::State);
        assert!(c.notary().is_none());
    }
}

#[test]
fn contracts_2011_are_signed_by_their_contract_key() {
    let key = |id: &str| {
        Key::load(
            &fixture(&format!("{Y11}/client_data/certs/{id}")),
            Some(b"test"),
        )
        .unwrap()
    };
    let (pc23, t1q3) = (key(PC23), key(T1Q3));
    for (id, signer, notary) in [
        ("8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp", &pc23, true),
        ("XBCTdnxYMLKaP6m1cSpvgViOFfdjoVCffbnZ7VIAEQz", &pc23, false),
        ("Bph6oZoC14CxafShXhZPMl1p2o1YE9MgwsEUXSQ5bWW", &t1q3, false),
        ("lV6acfWoWKB7BcuIXCzvS4aSiqUOjlGgVTyepg1aAsa", &t1q3, false),
    ] {
        let c = Contract::load(&fixture(&format!("{Y11}/client_data/contracts/{id}"))).unwrap();
        assert_eq!(c.id(), id);
        assert_eq!(c.era(), Era::Key2011);
        assert_eq!(c.signer_nym_id(), signer.nym_id().unwrap());
        assert!(c.signer().is_none());
        for role in [Role::Auth, Role::Encryption, Role::Signing] {
            assert!(same_key(c.key(role), signer));
        }
        assert_eq!(c.endpoint().is_ok(), notary, "{id}");
    }
    let c = Contract::load(&fixture(&format!(
        "{Y11}/client_data/contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"
    )))
    .unwrap();
    assert_eq!(c.signer_nym_id(), PC23);
    assert_eq!(c.endpoint().unwrap(), "tcp://localhost:7085");
}

// ---- tampered variants ------------------------------------------------------------------

#[test]
fn a_changed_byte_in_a_key() {
    // In the master's A key: the list still names the original (CRED_ID); renamed in the
    // (unsigned) list, the master's own signature fails (MASTER_SELFSIG).
    let mut t = dyeb();
    let m = &t.creds[0].1;
    let a = get_element(m, "publicInfo", Some("key=\"A\""));
    let tampered = set_element(m, "publicInfo", Some("key=\"A\""), &flip_key_byte(&a));
    let mut same_list = dyeb();
    same_list.creds[0].1 = tampered.clone();
    assert_eq!(rule(same_list.load(None)), Rule::CredId);
    t.set(0, tampered.clone());
    assert_eq!(rule(t.load(None)), Rule::MasterSelfSig);
    // In a folder, under the original file name: CRED_ID.
    let d = copy_dir(&dir("server_data/pubcred"), DYEB, "flip-master");
    std::fs::write(
        d.join(DYEB).join(DYEB_MASTER),
        armor::encode_bookended(tampered.as_bytes(), Kind::String, "CREDENTIAL", false).unwrap(),
    )
    .unwrap();
    assert_eq!(rule(Nym::load_dir(&d, DYEB, None)), Rule::CredId);
    // In the key credential's S key inside <masterSigned>: the master's signature fails.
    let mut t = dyeb();
    let k = t.creds[1].1.clone();
    let inner = get_element(&k, "masterSigned", None);
    let s = get_element(&inner, "publicInfo", Some("key=\"S\""));
    let inner = set_element(&inner, "publicInfo", Some("key=\"S\""), &flip_key_byte(&s));
    t.set(1, set_element(&k, "masterSigned", None, &inner));
    assert_eq!(rule(t.load(None)), Rule::MasterSig);
    // In a private key (the private file's <privateInfo>): the file's own signature fails,
    // although its ID (the hash of its public part) is unchanged.
    let d = copy_dir(&dir("client_data/credentials"), DYEB, "flip-private");
    let f = d.join(DYEB).join(DYEB_KEY);
    let text = dearmor_text(&std::fs::read(&f).unwrap());
    let pem = get_element(&text, "privateInfo", Some("key=\"E\""));
    let i = pem.find("\n").unwrap() + 10;
    let mut b = pem.into_bytes();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    let text = set_element(
        &text,
        "privateInfo",
        Some("key=\"E\""),
        std::str::from_utf8(&b).unwrap(),
    );
    std::fs::write(
        &f,
        armor::encode_bookended(text.as_bytes(), Kind::String, "CREDENTIAL", false).unwrap(),
    )
    .unwrap();
    assert_eq!(
        rule(Nym::load_dir(&d, DYEB, Some(&client_key()))),
        Rule::PrivateOuter
    );
    assert_eq!(rule(Nym::load_dir(&d, DYEB, None)), Rule::PrivateOuter);
}

#[test]
fn a_credential_swapped_for_another_nyms() {
    let voeq = public_texts("server_data/credentials", VOEQ, &[VOEQ_MASTER, VOEQ_KEY]);
    // Given with DYEB's list: not listed.
    let mut t = dyeb();
    t.creds[1] = voeq.creds[1].clone();
    assert_eq!(rule(t.load(None)), Rule::CredId);
    // In DYEB's folder under the key credential's name: the file is not that credential.
    let d = copy_dir(&dir("client_data/credentials"), DYEB, "swap");
    std::fs::copy(
        dir("server_data/credentials").join(VOEQ).join(VOEQ_KEY),
        d.join(DYEB).join(DYEB_KEY),
    )
    .unwrap();
    assert_eq!(
        rule(Nym::load_dir(&d, DYEB, Some(&client_key()))),
        Rule::CredId
    );
    // Listed in DYEB's (unsigned) list: it belongs to another Nym.
    let mut t = dyeb();
    t.list = t.list.replace(DYEB_KEY, VOEQ_KEY);
    t.creds[1] = voeq.creds[1].clone();
    assert_eq!(rule(t.load(None)), Rule::Consistency);
    // The same for the master.
    let mut t = dyeb();
    t.list = t.list.replace(DYEB_MASTER, VOEQ_MASTER);
    t.creds[0] = voeq.creds[0].clone();
    assert_eq!(rule(t.load(None)), Rule::Consistency);
    // DYEB's key credential under voeq's master (both lists edited): the master link breaks.
    let mut t = voeq;
    t.list = t.list.replace(VOEQ_KEY, DYEB_KEY);
    t.creds[1] = dyeb().creds[1].clone();
    assert_eq!(rule(t.load(None)), Rule::Consistency);
}

#[test]
fn a_missing_or_misdirected_master_signature() {
    let n = client();
    let key_s = n.key(Role::Signing);
    // <masterSigned> removed, the outer text re-signed by the key credential's own S key.
    let mut t = dyeb();
    let k = &t.creds[1].1;
    let start = k.find("<masterSigned>").unwrap();
    let end = k.find("</masterSigned>").unwrap() + "</masterSigned>\n\n".len();
    let stripped = format!("{}{}", &k[..start], &k[end..]);
    t.set(1, resign(&stripped, key_s));
    assert_eq!(rule(t.load(None)), Rule::MasterSigMissing);
    // <masterSigned> signed by the key credential itself instead of the master.
    let mut t = dyeb();
    let k = t.creds[1].1.clone();
    let inner = resign(&get_element(&k, "masterSigned", None), key_s);
    t.set(
        1,
        resign(&set_element(&k, "masterSigned", None, &inner), key_s),
    );
    assert_eq!(rule(t.load(None)), Rule::MasterSig);
    // ... or by the master's A key.
    let mut t = dyeb();
    let inner = resign(
        &get_element(&k, "masterSigned", None),
        &n.master().private_keys().unwrap().auth,
    );
    t.set(
        1,
        resign(&set_element(&k, "masterSigned", None, &inner), key_s),
    );
    assert_eq!(rule(t.load(None)), Rule::MasterSig);
    // <masterPublic> of another master: the link to the Nym's master breaks.
    let voeq = public_texts("server_data/credentials", VOEQ, &[VOEQ_MASTER, VOEQ_KEY]);
    let mut t = dyeb();
    let inner = set_element(
        &get_element(&k, "masterSigned", None),
        "masterPublic",
        None,
        &voeq.creds[0].1,
    );
    t.set(1, set_element(&k, "masterSigned", None, &inner));
    assert_eq!(rule(t.load(None)), Rule::MasterLink);
    // The outer text signed by the key credential's A key instead of its S key.
    let mut t = dyeb();
    t.set(1, resign(&k, n.key(Role::Auth)));
    assert_eq!(rule(t.load(None)), Rule::KeySelfSig);
    // Re-signed by its own S key it still verifies (the test's re-signing is sound).
    let mut t = dyeb();
    t.set(1, resign(&k, key_s));
    assert_eq!(t.load(None).unwrap().id(), DYEB);
}

#[test]
fn a_nym_id_source_that_does_not_match() {
    let voeq_list = dearmor_text(&fixture(&format!(
        "{Y13}/server_data/credentials/{VOEQ}.cred"
    )));
    let voeq_source = get_element(&voeq_list, "nymIDSource", None);
    // The list's source replaced: it no longer hashes to the list's NymID.
    let mut t = dyeb();
    t.list = set_element(&t.list, "nymIDSource", None, &voeq_source);
    assert_eq!(rule(t.load(None)), Rule::NymId);
    // NymID and source both voeq's, credentials DYEB's: they state another Nym.
    let mut t = dyeb();
    t.list = set_element(&t.list, "nymIDSource", None, &voeq_source).replace(DYEB, VOEQ);
    assert_eq!(rule(t.load(None)), Rule::Consistency);
    // A master whose source is not its own S key, made consistent everywhere else and
    // re-signed by its S key: only SOURCE catches it.
    let n = client();
    let mut t = dyeb();
    let m = t.creds[0].1.clone();
    let a_block = get_element(&m, "publicInfo", Some("key=\"A\""));
    let source = a_block
        .replace("-----BEGIN", "- -----BEGIN")
        .replace("-----END", "- -----END");
    let fake = id_of(source.as_bytes());
    let m = set_element(&m, "nymIDSource", None, &source).replace(DYEB, &fake);
    let m = resign(&m, &n.master().private_keys().unwrap().signing);
    t.list = set_element(&t.list, "nymIDSource", None, &source).replace(DYEB, &fake);
    // (The key credential is DYEB's as before: the master is checked first.)
    t.set(0, m);
    assert_eq!(rule(t.load(None)), Rule::Source);
    // The credential's own nymID attribute changed: NYMID on the credential.
    let mut t = dyeb();
    let m = t.creds[0]
        .1
        .replace(&format!("nymID=\"{DYEB}\""), &format!("nymID=\"{VOEQ}\""));
    t.set(0, m);
    assert_eq!(rule(t.load(None)), Rule::NymId);
    // In a contract's signer.
    let c = contract_text(SERVER_CONTRACT);
    let signer = &c[c.find("<signer").unwrap()..];
    let bad = format!(
        "{}{}",
        &c[..c.find("<signer").unwrap()],
        set_element(
            signer,
            "nymIDSource",
            None,
            &dearmor_text(element(&dyeb().list, "nymIDSource", None).as_bytes())
        )
    );
    assert_eq!(rule(Contract::load(bad.as_bytes())), Rule::NymId);
}

#[test]
fn a_contract_signed_by_another_key() {
    let (s, n) = (server(), client());
    let text = contract_text(SERVER_CONTRACT);
    // Re-signed by the notary's own S key it verifies (with a new ID): the test is sound.
    let ok = resign(&text, s.key(Role::Signing));
    let c = Contract::load(ok.as_bytes()).unwrap();
    assert_eq!(c.signer_nym_id(), VOEQ);
    assert_ne!(c.id(), SERVER_CONTRACT);
    for (key, master) in [
        (n.key(Role::Signing), false),
        (s.key(Role::Auth), false),
        (&s.master().private_keys().unwrap().signing, true),
        (&Key::generate(1024).unwrap(), false),
    ] {
        let e = Contract::load(resign(&text, key).as_bytes()).unwrap_err();
        assert_eq!(Rule::of(&e), Some(Rule::ContractSig), "{e:?}");
        assert_eq!(e.detail().contains("master"), master, "{e:?}");
    }
    // A changed byte of the signed text (the port) without re-signing.
    let moved = text.replace("port=\"7085\"", "port=\"7086\"");
    assert_eq!(rule(Contract::load(moved.as_bytes())), Rule::ContractSig);
    // 2011: signed by another Nym's key.
    let raw = fixture(&format!(
        "{Y11}/client_data/contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"
    ));
    let t1q3 = Key::load(
        &fixture(&format!("{Y11}/client_data/certs/{T1Q3}")),
        Some(b"test"),
    )
    .unwrap();
    let bad = resign(std::str::from_utf8(&raw).unwrap(), &t1q3);
    assert_eq!(rule(Contract::load(bad.as_bytes())), Rule::ContractSig);
}

#[test]
fn contracts_with_broken_embedded_credentials() {
    let s = server();
    let text = contract_text(SERVER_CONTRACT);
    let map_b64 = element(&text, "credentials", None);
    let map = armor::decode(map_b64.as_bytes(), Kind::Data).unwrap();
    let with_map = |m: &[u8]| {
        let body = armor::encode(m, Kind::Data).unwrap();
        let t = text.replace(&map_b64, &body);
        resign(&t, s.key(Role::Signing))
    };
    // A map key that is not its value's ID.
    let i = map
        .windows(43)
        .position(|w| w == VOEQ_KEY.as_bytes())
        .unwrap();
    let mut m = map.clone();
    m[i..i + 43].copy_from_slice(DYEB_KEY.as_bytes());
    assert_eq!(rule(Contract::load(with_map(&m).as_bytes())), Rule::CredId);
    // Only the master embedded: the key credential is missing.
    let pack = |f: u8, v: &[u8]| {
        let mut out = vec![f];
        let mut n = v.len();
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(v);
        out
    };
    let voeq = public_texts("server_data/credentials", VOEQ, &[VOEQ_MASTER, VOEQ_KEY]);
    let entry = |id: &str, t: &str| {
        pack(
            0x0A,
            &[pack(0x0A, id.as_bytes()), pack(0x12, t.as_bytes())].concat(),
        )
    };
    let only_master = entry(VOEQ_MASTER, &voeq.creds[0].1);
    assert_eq!(
        rule(Contract::load(with_map(&only_master).as_bytes())),
        Rule::Missing
    );
    // Rebuilt with both entries, it verifies: the encoder above is the legacy one.
    let both = [entry(VOEQ_KEY, &voeq.creds[1].1), only_master].concat();
    assert_eq!(both, map);
    // A credential of another Nym added to the map.
    let d = dyeb();
    let extra = [both.clone(), entry(DYEB_KEY, &d.creds[1].1)].concat();
    assert_eq!(
        rule(Contract::load(with_map(&extra).as_bytes())),
        Rule::CredId
    );
    // A notary address that is no address (the contract otherwise verifies).
    for (from, to) in [
        ("port=\"7085\"", "port=\"0\""),
        ("port=\"7085\"", "port=\"70850\""),
        ("hostname=\"localhost\"", "hostname=\"local/host\""),
    ] {
        let t = resign(&text.replace(from, to), s.key(Role::Signing));
        let e = Contract::load(t.as_bytes()).unwrap_err();
        assert_eq!(
            (Rule::of(&e), e.kind()),
            (Some(Rule::Notary), ErrorKind::Malformed)
        );
    }
}

#[test]
fn private_keys_that_do_not_match_their_public_keys() {
    let n = client();
    let d = copy_dir(&dir("client_data/credentials"), DYEB, "private-keys");
    let f = d.join(DYEB).join(DYEB_KEY);
    let text = dearmor_text(&std::fs::read(&f).unwrap());
    let a = get_element(&text, "privateInfo", Some("key=\"A\""));
    let e = get_element(&text, "privateInfo", Some("key=\"E\""));
    let swapped = set_element(
        &set_element(&text, "privateInfo", Some("key=\"A\""), &e),
        "privateInfo",
        Some("key=\"E\""),
        &a,
    );
    // Not re-signed: the private file's signature fails.
    let write = |t: &str| {
        std::fs::write(
            &f,
            armor::encode_bookended(t.as_bytes(), Kind::String, "CREDENTIAL", false).unwrap(),
        )
        .unwrap()
    };
    write(&swapped);
    assert_eq!(
        rule(Nym::load_dir(&d, DYEB, Some(&client_key()))),
        Rule::PrivateOuter
    );
    // Re-signed by the credential's own S key: the keys themselves do not match.
    write(&resign(&swapped, n.key(Role::Signing)));
    assert_eq!(
        rule(Nym::load_dir(&d, DYEB, Some(&client_key()))),
        Rule::PrivateKeys
    );
    // Without the passphrase the keys are not read: public keys only.
    assert!(!Nym::load_dir(&d, DYEB, None).unwrap().is_private());
    // A private file whose public part differs from its <publicCredential>.
    let other_pub = dyeb().creds[1]
        .1
        .replace("<keyCredential", "<keyCredential ");
    let t = set_element(&text, "publicCredential", None, &other_pub);
    write(&resign(&t, n.key(Role::Signing)));
    assert_eq!(rule(Nym::load_dir(&d, DYEB, None)), Rule::CredId);
}

#[test]
fn lists_that_do_not_hold_together() {
    let t = dyeb();
    let load = |list: &str| {
        let creds: Vec<&[u8]> = t.creds.iter().map(|(_, c)| c.as_bytes()).collect();
        Nym::load(list.as_bytes(), &creds, None)
    };
    let master_line = format!("<masterCredential\n ID=\"{DYEB_MASTER}\"\n valid=\"true\"/>");
    assert!(t.list.contains(&master_line));
    let two_masters = t
        .list
        .replace(&master_line, &format!("{master_line}\n{master_line}"));
    assert_eq!(rule(load(&two_masters)), Rule::ListStruct);
    let no_master = t.list.replace(&master_line, "");
    assert_eq!(rule(load(&no_master)), Rule::ListStruct);
    let elsewhere = t.list.replace(
        &format!("masterID=\"{DYEB_MASTER}\""),
        &format!("masterID=\"{VOEQ_MASTER}\""),
    );
    assert_eq!(rule(load(&elsewhere)), Rule::ListStruct);
    let key_start = t.list.find("<keyCredential").unwrap();
    let key_end = key_start + t.list[key_start..].find("/>").unwrap() + 2;
    let no_key = format!("{}{}", &t.list[..key_start], &t.list[key_end..]);
    assert_eq!(rule(load(&no_key)), Rule::ListStruct);
    // The master and the key credential swapped in the list.
    let swapped = t
        .list
        .replace(DYEB_MASTER, "@")
        .replace(DYEB_KEY, DYEB_MASTER)
        .replace("@", DYEB_KEY);
    assert_eq!(rule(load(&swapped)), Rule::ListStruct);
    // A listed credential not given, or not in the folder.
    let creds = [t.creds[0].1.as_bytes()];
    assert_eq!(
        rule(Nym::load(t.list.as_bytes(), &creds, None)),
        Rule::Missing
    );
    let d = copy_dir(&dir("server_data/pubcred"), DYEB, "missing");
    std::fs::remove_file(d.join(DYEB).join(DYEB_KEY)).unwrap();
    assert_eq!(rule(Nym::load_dir(&d, DYEB, None)), Rule::Missing);
    // The folder's list is another Nym's.
    let d = copy_dir(&dir("server_data/pubcred"), DYEB, "other-list");
    std::fs::copy(
        dir("server_data/credentials").join(format!("{VOEQ}.cred")),
        d.join(format!("{DYEB}.cred")),
    )
    .unwrap();
    assert_eq!(rule(Nym::load_dir(&d, DYEB, None)), Rule::Consistency);
}

#[test]
fn hostile_names_and_sizes_are_refused_before_reading() {
    let d = dir("server_data/pubcred");
    for bad in ["../pubcred", "", "a/b", "DYEB.cred", &"x".repeat(65)] {
        assert_eq!(
            Nym::load_dir(&d, bad, None).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "{bad:?}"
        );
    }
    let huge = vec![b'<'; 40 * 1024 * 1024];
    assert_eq!(
        Contract::load(&huge).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let too_many: Vec<&[u8]> = vec![b"x"; 65];
    assert_eq!(
        Nym::load(dyeb().list.as_bytes(), &too_many, None)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

/// docs/credentials.md, "proven on": every signature of the 2013 samples verifies with exactly
/// one of the twelve keys of the two Nyms (A, E, S of each master and key credential).
#[test]
fn every_signature_verifies_with_exactly_one_of_the_twelve_keys() {
    let (c, s) = (client(), server());
    let mut keys: Vec<(String, &Key)> = Vec::new();
    for (nym, n) in [("DYEB", &c), ("voeq", &s)] {
        for (cred, ks) in [
            ("master", n.master().keys()),
            ("key", n.key_credentials()[0].keys()),
        ] {
            for role in [Role::Auth, Role::Encryption, Role::Signing] {
                keys.push((format!("{nym}/{cred}/{}", role.letter()), ks.get(role)));
            }
        }
    }
    let file = |side: &str, nym: &str, id: &str| {
        dearmor_text(&fixture(&format!("{Y13}/{side}/credentials/{nym}/{id}")))
    };
    let mut docs: Vec<(String, String, String)> = Vec::new();
    for (side, nym, m, k, who) in [
        ("client_data", DYEB, DYEB_MASTER, DYEB_KEY, "DYEB"),
        ("server_data", VOEQ, VOEQ_MASTER, VOEQ_KEY, "voeq"),
    ] {
        let (mt, kt) = (file(side, nym, m), file(side, nym, k));
        let kpub = get_element(&kt, "publicCredential", None);
        let (ms, ks) = (format!("{who}/master/S"), format!("{who}/key/S"));
        docs.push((format!("{who} master private file"), mt.clone(), ms.clone()));
        let mpub = get_element(&mt, "publicCredential", None);
        docs.push((format!("{who} master public text"), mpub, ms.clone()));
        docs.push((format!("{who} key private file"), kt.clone(), ks.clone()));
        docs.push((format!("{who} key public text"), kpub.clone(), ks));
        let inner = get_element(&kpub, "masterSigned", None);
        docs.push((format!("{who} <masterSigned>"), inner, ms));
    }
    for id in ASSET_CONTRACTS {
        docs.push((
            format!("contract {id}"),
            contract_text(id),
            "DYEB/key/S".into(),
        ));
    }
    let server_contract = contract_text(SERVER_CONTRACT);
    docs.push((
        "server contract".into(),
        server_contract,
        "voeq/key/S".into(),
    ));
    for (name, text, want) in &docs {
        let p = signed::parse(text.as_bytes()).unwrap();
        let by: Vec<&str> = keys
            .iter()
            .filter(|(_, k)| p.verify(k).is_ok())
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(by.len(), 1, "{name}: {by:?}");
        assert_eq!(by[0], want, "{name}");
    }
}

// ---- end to end: sessions and notaries from the files ------------------------------------

/// The legacy schedule without the pause after sending, bounded at 20 s a request (these tests
/// verify the real 2013 files' credentials at both ends; not the short `fast()` schedule of the
/// transport tests).
fn patient() -> ot_transport::transport::Options {
    ot_transport::transport::Options {
        latency_delay_after: 0,
        request_timeout_ms: 20_000,
        ..Default::default()
    }
}

/// Serves `n` requests: verifies each with `client_auth`, replies `@` + content sealed to
/// `client_enc`.
fn serve(
    notary: ot_transport::transport::Notary,
    client_auth: Key,
    client_enc: Key,
    n: usize,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut served = 0;
        for _ in 0..n {
            let Ok(req) = notary.receive(20_000) else {
                continue;
            };
            if let Ok(content) = req.verify(&client_auth) {
                let reply = [b"@".as_slice(), content].concat();
                if notary.reply(&req, &reply, Some(&client_enc)).is_ok() {
                    served += 1;
                }
            }
        }
        served
    })
}

#[test]
fn a_client_holding_only_legacy_files_opens_a_verified_session() {
    use ot_transport::transport::{Notary, Session};
    // The notary: server_data only (its credentials, its master-key file, the client's
    // public credentials).
    let server = Nym::load_dir(&dir("server_data/credentials"), VOEQ, Some(&notary_key())).unwrap();
    let client_public = Nym::load_dir(&dir("server_data/pubcred"), DYEB, None).unwrap();
    assert_eq!(
        Notary::bind_nym("tcp://127.0.0.1:*", &client_public, patient())
            .err()
            .unwrap()
            .kind(),
        ErrorKind::InvalidArgument
    );
    let notary = Notary::bind_nym("tcp://127.0.0.1:*", &server, patient()).unwrap();
    let endpoint = notary.endpoint().to_string();
    let h = serve(
        notary,
        client_public.key(Role::Auth).clone(),
        client_public.key(Role::Encryption).clone(),
        2,
    );
    // The client: client_data only (wallet, credentials, the notary's contract).
    let me = Nym::load_dir(&dir("client_data/credentials"), DYEB, Some(&client_key())).unwrap();
    let contract = Contract::load(&fixture(&format!(
        "{Y13}/client_data/contracts/{SERVER_CONTRACT}"
    )))
    .unwrap();
    // The contract says tcp://localhost:7085; the test notary listens on a free port.
    let mut s = Session::from_contract(&contract, Some(&endpoint), patient()).unwrap();
    s.set_identity_nym(&me).unwrap();
    for i in 0..2 {
        let msg = format!("<OTmessage>\n<checkServerID requestNum=\"{i}\"/>\n</OTmessage>\n");
        assert_eq!(
            s.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
    }
    assert_eq!(h.join().unwrap(), 2);
    // A public-only Nym is no identity; an asset contract names no notary.
    assert_eq!(
        s.set_identity_nym(&client_public).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let asset = Contract::load(&fixture(&format!(
        "{Y13}/client_data/contracts/{}",
        ASSET_CONTRACTS[0]
    )))
    .unwrap();
    assert_eq!(
        Session::from_contract(&asset, None, patient())
            .err()
            .unwrap()
            .kind(),
        ErrorKind::State
    );
    // Without an endpoint the session connects where the contract says.
    let s = Session::from_contract(&contract, None, patient()).unwrap();
    assert_eq!(s.endpoint(), "tcp://localhost:7085");
}

#[test]
fn a_2011_notary_contract_configures_a_session_too() {
    use ot_transport::transport::{Notary, Session};
    let key = |id: &str| {
        Key::load(
            &fixture(&format!("{Y11}/client_data/certs/{id}")),
            Some(b"test"),
        )
        .unwrap()
    };
    let (pc23, t1q3) = (key(PC23), key(T1Q3));
    // The 2011 notary serves with its one key in both roles (the existing key-based call).
    let notary = Notary::bind("tcp://127.0.0.1:*", &pc23, &pc23, PC23, patient()).unwrap();
    let endpoint = notary.endpoint().to_string();
    let h = serve(notary, t1q3.to_public(), t1q3.to_public(), 1);
    let contract = Contract::load(&fixture(&format!(
        "{Y11}/client_data/contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"
    )))
    .unwrap();
    let mut s = Session::from_contract(&contract, Some(&endpoint), patient()).unwrap();
    s.set_identity(&t1q3, &t1q3).unwrap();
    assert_eq!(s.request(b"<x/>\n").unwrap(), b"@<x/>\n");
    assert_eq!(h.join().unwrap(), 1);
}

/// Hostile input, cheaply: thousands of mutations of the real files' plain texts (so they get
/// past the armor into the XML, the embedded armor and the signatures) never panic, and whatever
/// still verifies is what the original was.
#[test]
fn mutated_files_never_panic() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const SNIPPETS: [&str; 8] = ["<", ">", "</", "\"", "-----BEGIN ", "&amp;", "\n- -", "=\""];
    let mut mutate = |text: &str| -> Vec<u8> {
        let mut b = text.as_bytes().to_vec();
        for _ in 0..1 + next() % 3 {
            let i = (next() as usize) % b.len().max(1);
            match next() % 5 {
                0 => b[i] ^= 1 << (next() % 8),
                1 => {
                    let n = (next() as usize % 64).min(b.len() - i);
                    b.drain(i..i + n);
                }
                2 => {
                    let s = SNIPPETS[next() as usize % SNIPPETS.len()];
                    b.splice(i..i, s.bytes());
                }
                3 => b.truncate(i),
                _ => {
                    let j = (next() as usize) % b.len().max(1);
                    let (lo, hi) = (i.min(j), i.max(j).min(i.min(j) + 256));
                    let chunk = b[lo..hi].to_vec();
                    b.splice(i..i, chunk);
                }
            }
            if b.is_empty() {
                break;
            }
        }
        b
    };
    let t = dyeb();
    let list = t.list.clone();
    let (master, key) = (t.creds[0].1.clone(), t.creds[1].1.clone());
    let private = dearmor_text(&fixture(&format!(
        "{Y13}/client_data/credentials/{DYEB}/{DYEB_KEY}"
    )));
    let contract = contract_text(SERVER_CONTRACT);
    let old = String::from_utf8(fixture(&format!(
        "{Y11}/client_data/contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"
    )))
    .unwrap();
    let (mut verified, mut tries) = (0, 0);
    for _ in 0..400 {
        let l = mutate(&list);
        if let Ok(n) = Nym::load(&l, &[master.as_bytes(), key.as_bytes()], None) {
            assert_eq!(n.id(), DYEB);
            verified += 1;
        }
        for (i, base) in [&master, &key, &private].into_iter().enumerate() {
            let m = mutate(base);
            let mut creds: Vec<&[u8]> = vec![master.as_bytes(), key.as_bytes()];
            creds[i.min(1)] = &m;
            if let Ok(n) = Nym::load(list.as_bytes(), &creds, None) {
                // A mutation that still verifies changed nothing that is signed or hashed.
                assert_eq!(n.key_credentials()[0].id(), DYEB_KEY);
                verified += 1;
            }
        }
        for base in [&contract, &old] {
            if let Ok(c) = Contract::load(&mutate(base)) {
                assert!(c.signer_nym_id() == VOEQ || c.signer_nym_id() == PC23);
                verified += 1;
            }
        }
        tries += 6;
    }
    // Most mutations break something; a few only touch what nothing signs (white space after the
    // signature, a comment-free gap between elements of the unsigned list).
    assert!(verified < tries / 2, "{verified} of {tries}");
    eprintln!("{tries} mutated files, {verified} still verified (unsigned parts changed)");
}

/// Nested zlib bombs: every armored piece inside a credential may inflate to 1 MiB, but all the
/// armor of one load decodes to at most 32 MiB together (MAX_DECODED), so 64 credentials each
/// nesting four bombs are refused early instead of taking 256 MiB.
#[test]
fn nested_zlib_bombs_are_bounded_per_load() {
    let bomb = armor::encode(&vec![b'A'; 1000 * 1024], Kind::String).unwrap();
    assert!(bomb.len() < 4096);
    let mut content = format!(
        "<masterCredential nymID=\"x\">\n\n<nymIDSource>\n{bomb}</nymIDSource>\n\n<publicContents count=\"3\">\n"
    );
    for k in ["A", "E", "S"] {
        content.push_str(&format!("<publicInfo key=\"{k}\">\n{bomb}</publicInfo>\n"));
    }
    content.push_str("</publicContents>\n</masterCredential>\n");
    let text = format!(
        "-----BEGIN SIGNED MASTER KEY CREDENTIAL-----\nHash: SAMY\n\n{content}\
         -----BEGIN MASTER KEY CREDENTIAL SIGNATURE-----\n\nCgF4\n\
         -----END MASTER KEY CREDENTIAL SIGNATURE-----\n"
    );
    let creds: Vec<&[u8]> = vec![text.as_bytes(); 64];
    let started = std::time::Instant::now();
    let e = Nym::load(dyeb().list.as_bytes(), &creds, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e:?}");
    assert!(e.detail().contains("in all"), "{e:?}");
    assert!(started.elapsed().as_secs() < 20);
}
