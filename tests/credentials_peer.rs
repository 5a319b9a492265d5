//! The independent Python peer (`interop/legacy_peer.py`, written from `docs/credentials.md`, not
//! from this crate) reads the same legacy files and the same tampered variants as the library
//! and reaches the same verdict: the same NymID, master and A/E/S keys when they verify, the same
//! rule when they do not. Needs python3 with `cryptography` (scripts/test installs it).

mod common;
use common::*;
#[path = "common/credentials.rs"]
mod fx;
use fx::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use ot_transport::armor::{self, Kind};
use ot_transport::credentials::{Contract, Nym, Role, Rule};
use ot_transport::keys::Key;
use serde_json::{Value, json};

/// One case: the peer's command line, and the library's verdict on the same files.
struct Case {
    name: String,
    argv: Vec<String>,
    ours: Value,
}

fn verdict<T>(r: ot_transport::Result<T>, ok: impl FnOnce(T) -> Value) -> Value {
    match r {
        Ok(v) => ok(v),
        Err(e) => json!({"ok": false, "rule": Rule::of(&e).map(Rule::name)}),
    }
}

fn key_ids(k: impl Fn(Role) -> Key) -> Value {
    json!({
        "A": k(Role::Auth).nym_id().unwrap(),
        "E": k(Role::Encryption).nym_id().unwrap(),
        "S": k(Role::Signing).nym_id().unwrap(),
    })
}

fn nym_verdict(r: ot_transport::Result<Nym>) -> Value {
    verdict(r, |n| {
        json!({
            "ok": true,
            "nym_id": n.id(),
            "master": n.master().id(),
            "keys": key_ids(|r| n.key(r).clone()),
            "private": n.is_private(),
        })
    })
}

fn contract_verdict(r: ot_transport::Result<Contract>) -> Value {
    verdict(r, |c| {
        json!({
            "ok": true,
            "id": c.id(),
            "signer": c.signer_nym_id(),
            "endpoint": c.endpoint().ok(),
            "keys": key_ids(|r| c.key(r).clone()),
        })
    })
}

struct Cases {
    dir: PathBuf,
    list: Vec<Case>,
}

impl Cases {
    fn new() -> Cases {
        let dir = std::env::temp_dir().join(format!("ot-cred-peer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Cases { dir, list: vec![] }
    }

    fn file(&self, name: &str, data: &[u8]) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, data).unwrap();
        p.display().to_string()
    }

    /// A Nym given as a list and credential texts (any order), public.
    fn nym(&mut self, name: &str, t: &Texts) {
        let n = self.list.len();
        let mut argv = vec![
            "nym".into(),
            "--list".into(),
            self.file(&format!("{n}.cred"), t.list.as_bytes()),
        ];
        for (i, (_, c)) in t.creds.iter().enumerate() {
            argv.push("--cred".into());
            argv.push(self.file(&format!("{n}.{i}"), c.as_bytes()));
        }
        let ours = nym_verdict(t.load(None));
        self.list.push(Case {
            name: name.into(),
            argv,
            ours,
        });
    }

    /// A Nym in a credentials folder, unlocked with a wallet's master key when `wallet` is given.
    fn nym_dir(&mut self, name: &str, folder: &Path, nym: &str, wallet: Option<&str>) {
        let mut argv = vec![
            "nym".into(),
            "--dir".into(),
            folder.display().to_string(),
            "--nym-id".into(),
            nym.into(),
        ];
        let key = wallet.map(|w| {
            argv.push("--wallet".into());
            argv.push(data(&format!("fixtures/{Y13}/{w}")).display().to_string());
            ot_transport::credentials::wallet_master_key(&fixture(&format!("{Y13}/{w}")), b"test")
                .unwrap()
        });
        let ours = nym_verdict(Nym::load_dir(
            folder,
            nym,
            key.as_ref().map(|k| k.as_slice()),
        ));
        self.list.push(Case {
            name: name.into(),
            argv,
            ours,
        });
    }

    fn contract(&mut self, name: &str, raw: &[u8]) {
        let n = self.list.len();
        let argv = vec![
            "contract".into(),
            "--in".into(),
            self.file(&format!("{n}.contract"), raw),
        ];
        let ours = contract_verdict(Contract::load(raw));
        self.list.push(Case {
            name: name.into(),
            argv,
            ours,
        });
    }
}

fn armored(text: &str) -> Vec<u8> {
    armor::encode_bookended(text.as_bytes(), Kind::String, "CREDENTIAL", false)
        .unwrap()
        .into_bytes()
}

#[test]
fn the_independent_peer_agrees_on_every_file_and_variant() {
    let mut c = Cases::new();
    let (client, server) = (client(), server());
    let voeq = public_texts("server_data/credentials", VOEQ, &[VOEQ_MASTER, VOEQ_KEY]);

    // Nyms from folders: the originals, private and public.
    c.nym_dir(
        "client, private files",
        &dir("client_data/credentials"),
        DYEB,
        Some("client_data/wallet.xml"),
    );
    c.nym_dir(
        "client, private files, no passphrase",
        &dir("client_data/credentials"),
        DYEB,
        None,
    );
    c.nym_dir(
        "client, public files",
        &dir("server_data/pubcred"),
        DYEB,
        None,
    );
    c.nym_dir(
        "notary, private files",
        &dir("server_data/credentials"),
        VOEQ,
        Some("server_data/notaryServer.xml"),
    );

    // Nyms from texts.
    c.nym("client, public texts", &dyeb());
    c.nym("notary, public texts", &voeq);
    let m = dyeb().creds[0].1.clone();
    let a = get_element(&m, "publicInfo", Some("key=\"A\""));
    let flipped = set_element(&m, "publicInfo", Some("key=\"A\""), &flip_key_byte(&a));
    let mut t = dyeb();
    t.creds[0].1 = flipped.clone();
    c.nym("changed byte in the master's A key", &t);
    let mut t = dyeb();
    t.set(0, flipped);
    c.nym("changed byte in the master's A key, list renamed", &t);
    let k = dyeb().creds[1].1.clone();
    let inner = get_element(&k, "masterSigned", None);
    let s = get_element(&inner, "publicInfo", Some("key=\"S\""));
    let mut t = dyeb();
    let bad = set_element(&inner, "publicInfo", Some("key=\"S\""), &flip_key_byte(&s));
    t.set(1, set_element(&k, "masterSigned", None, &bad));
    c.nym("changed byte in the master-signed S key", &t);
    let mut t = dyeb();
    t.creds[1] = voeq.creds[1].clone();
    c.nym("another Nym's key credential", &t);
    let mut t = dyeb();
    t.list = t.list.replace(DYEB_KEY, VOEQ_KEY);
    t.creds[1] = voeq.creds[1].clone();
    c.nym("another Nym's key credential, listed", &t);
    let key_s = client.key(Role::Signing);
    let (start, end) = (
        k.find("<masterSigned>").unwrap(),
        k.find("</masterSigned>").unwrap() + "</masterSigned>\n\n".len(),
    );
    let mut t = dyeb();
    t.set(1, resign(&format!("{}{}", &k[..start], &k[end..]), key_s));
    c.nym("missing master signature", &t);
    let mut t = dyeb();
    let inner_self = resign(&inner, key_s);
    t.set(
        1,
        resign(&set_element(&k, "masterSigned", None, &inner_self), key_s),
    );
    c.nym("master signature by the key credential itself", &t);
    let mut t = dyeb();
    let other_master = set_element(&inner, "masterPublic", None, &voeq.creds[0].1);
    t.set(1, set_element(&k, "masterSigned", None, &other_master));
    c.nym("another master's public text", &t);
    let mut t = dyeb();
    t.set(1, resign(&k, client.key(Role::Auth)));
    c.nym("key credential signed by its A key", &t);
    let voeq_source = get_element(&voeq.list, "nymIDSource", None);
    let mut t = dyeb();
    t.list = set_element(&t.list, "nymIDSource", None, &voeq_source);
    c.nym("list source of another Nym", &t);
    let mut t = dyeb();
    t.list = set_element(&t.list, "nymIDSource", None, &voeq_source).replace(DYEB, VOEQ);
    c.nym("list of another Nym", &t);
    let mut t = dyeb();
    let source = a
        .replace("-----BEGIN", "- -----BEGIN")
        .replace("-----END", "- -----END");
    let fake = ot_transport::hash::id_of(source.as_bytes());
    let mm = set_element(&m, "nymIDSource", None, &source).replace(DYEB, &fake);
    t.list = set_element(&t.list, "nymIDSource", None, &source).replace(DYEB, &fake);
    t.set(
        0,
        resign(&mm, &client.master().private_keys().unwrap().signing),
    );
    c.nym("source that is not the master's S key", &t);
    let mut t = dyeb();
    t.set(
        0,
        m.replace(&format!("nymID=\"{DYEB}\""), &format!("nymID=\"{VOEQ}\"")),
    );
    c.nym("credential nymID changed", &t);
    let mut t = dyeb();
    t.creds.truncate(1);
    c.nym("key credential missing", &t);
    let mut t = dyeb();
    let ml = format!("<masterCredential\n ID=\"{DYEB_MASTER}\"\n valid=\"true\"/>");
    t.list = t.list.replace(&ml, &format!("{ml}\n{ml}"));
    c.nym("two masters listed", &t);
    let mut t = dyeb();
    t.list = t.list[..t.list.len() / 2].to_string();
    c.nym("truncated list", &t);

    // Folders with tampered private files.
    let d = copy_dir(&dir("client_data/credentials"), DYEB, "peer-private-keys");
    let f = d.join(DYEB).join(DYEB_KEY);
    let text = dearmor_text(&std::fs::read(&f).unwrap());
    let pa = get_element(&text, "privateInfo", Some("key=\"A\""));
    let pe = get_element(&text, "privateInfo", Some("key=\"E\""));
    let swapped = set_element(
        &set_element(&text, "privateInfo", Some("key=\"A\""), &pe),
        "privateInfo",
        Some("key=\"E\""),
        &pa,
    );
    std::fs::write(&f, armored(&resign(&swapped, key_s))).unwrap();
    c.nym_dir(
        "private keys swapped, re-signed",
        &d,
        DYEB,
        Some("client_data/wallet.xml"),
    );
    let d = copy_dir(&dir("client_data/credentials"), DYEB, "peer-private-outer");
    std::fs::write(d.join(DYEB).join(DYEB_KEY), armored(&swapped)).unwrap();
    c.nym_dir(
        "private keys swapped",
        &d,
        DYEB,
        Some("client_data/wallet.xml"),
    );
    let d = copy_dir(&dir("client_data/credentials"), DYEB, "peer-swap");
    std::fs::copy(
        dir("server_data/credentials").join(VOEQ).join(VOEQ_KEY),
        d.join(DYEB).join(DYEB_KEY),
    )
    .unwrap();
    c.nym_dir("file replaced by another Nym's credential", &d, DYEB, None);
    let d = copy_dir(&dir("server_data/pubcred"), DYEB, "peer-missing");
    std::fs::remove_file(d.join(DYEB).join(DYEB_KEY)).unwrap();
    c.nym_dir("file missing", &d, DYEB, None);

    // Contracts: every original, and the tampered ones.
    for id in ASSET_CONTRACTS.iter().chain([&SERVER_CONTRACT]) {
        c.contract(id, &fixture(&format!("{Y13}/client_data/contracts/{id}")));
    }
    for id in [
        "8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp",
        "Bph6oZoC14CxafShXhZPMl1p2o1YE9MgwsEUXSQ5bWW",
        "XBCTdnxYMLKaP6m1cSpvgViOFfdjoVCffbnZ7VIAEQz",
        "lV6acfWoWKB7BcuIXCzvS4aSiqUOjlGgVTyepg1aAsa",
    ] {
        c.contract(id, &fixture(&format!("{Y11}/client_data/contracts/{id}")));
    }
    let text = contract_text(SERVER_CONTRACT);
    c.contract(
        "re-signed by the notary",
        resign(&text, server.key(Role::Signing)).as_bytes(),
    );
    c.contract("signed by the client", resign(&text, key_s).as_bytes());
    c.contract(
        "signed by the notary's A key",
        resign(&text, server.key(Role::Auth)).as_bytes(),
    );
    let master_s = &server.master().private_keys().unwrap().signing;
    c.contract(
        "signed by the notary's master",
        resign(&text, master_s).as_bytes(),
    );
    c.contract(
        "port changed",
        text.replace("port=\"7085\"", "port=\"7086\"").as_bytes(),
    );
    let port0 = resign(
        &text.replace("port=\"7085\"", "port=\"0\""),
        server.key(Role::Signing),
    );
    c.contract("port 0", port0.as_bytes());
    let map_b64 = element(&text, "credentials", None);
    let map = armor::decode(map_b64.as_bytes(), Kind::Data).unwrap();
    let i = map
        .windows(43)
        .position(|w| w == VOEQ_KEY.as_bytes())
        .unwrap();
    let mut wrong = map.clone();
    wrong[i..i + 43].copy_from_slice(DYEB_KEY.as_bytes());
    let body = armor::encode(&wrong, Kind::Data).unwrap();
    c.contract(
        "map key of another credential",
        text.replace(&map_b64, &body).as_bytes(),
    );
    let signer_at = text.find("<signer").unwrap();
    let dyeb_source = get_element(&dyeb().list, "nymIDSource", None);
    let bad_signer = format!(
        "{}{}",
        &text[..signer_at],
        set_element(&text[signer_at..], "nymIDSource", None, &dyeb_source)
    );
    c.contract("signer source of another Nym", bad_signer.as_bytes());
    let old = fixture(&format!(
        "{Y11}/client_data/contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"
    ));
    let t1q3 = Key::load(
        &fixture(&format!("{Y11}/client_data/certs/{T1Q3}")),
        Some(b"test"),
    )
    .unwrap();
    c.contract(
        "2011 notary contract signed by another Nym",
        resign(std::str::from_utf8(&old).unwrap(), &t1q3).as_bytes(),
    );
    c.contract(
        "not a contract",
        b"-----BEGIN SIGNED CONTRACT-----\nHash: SAMY\n\n<x/>\n",
    );

    // Run the peer once over every case.
    let argv: Vec<&Vec<String>> = c.list.iter().map(|k| &k.argv).collect();
    let manifest = c.file(
        "manifest.json",
        serde_json::to_string(&argv).unwrap().as_bytes(),
    );
    let peer = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/legacy_peer.py");
    let out = Command::new("python3")
        .arg(peer)
        .args(["batch", "--manifest", &manifest])
        .output()
        .expect("python3 must be installed (scripts/test installs it with cryptography)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), c.list.len());
    let (mut verified, mut refused, mut disagree) = (0, 0, Vec::new());
    for (case, their) in c.list.iter().zip(&theirs) {
        let mut their = their.clone();
        if let Some(o) = their.as_object_mut() {
            o.remove("detail");
            o.remove("era");
        }
        if their != case.ours {
            disagree.push(format!(
                "{}: ours {} theirs {}",
                case.name, case.ours, their
            ));
        } else if case.ours["ok"] == true {
            verified += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        disagree.is_empty(),
        "the peer disagrees:\n{}",
        disagree.join("\n")
    );
    // The originals verify; every tampered variant is refused (by the same rule on both sides).
    assert_eq!(verified, 4 + 2 + 9 + 1, "{theirs:?}");
    assert!(refused >= 25, "{refused}");
    let rules: std::collections::BTreeSet<String> = c
        .list
        .iter()
        .filter_map(|k| k.ours["rule"].as_str().map(String::from))
        .collect();
    for r in [
        "NYMID",
        "LIST_STRUCT",
        "MISSING",
        "CRED_ID",
        "MASTER_SELFSIG",
        "SOURCE",
        "MASTER_SIG_MISSING",
        "MASTER_SIG",
        "MASTER_LINK",
        "KEY_SELFSIG",
        "CONSISTENCY",
        "PRIVATE_OUTER",
        "PRIVATE_KEYS",
        "CONTRACT_SIG",
        "NOTARY",
    ] {
        assert!(rules.contains(r), "no case exercises {r}: {rules:?}");
    }
    eprintln!(
        "the peer agrees on {} cases: {verified} verified, {refused} refused ({} rules)",
        c.list.len(),
        rules.len()
    );
    let _ = std::fs::remove_dir_all(&c.dir);
}
