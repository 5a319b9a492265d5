//! Shared by the credential tests (`tests/credentials.rs`, `tests/credentials_peer.rs`): the
//! sample Nyms' and contracts' names, loaders, and helpers that make tampered variants of the
//! real legacy files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use crate::common::*;
use ot_transport::armor::{self, Kind};
use ot_transport::credentials::{Nym, Rule, wallet_master_key};
use ot_transport::hash::id_of;
use ot_transport::keys::Key;
use ot_transport::signed;

pub const Y13: &str = "legacy-0.89-2013";
pub const Y11: &str = "legacy-0.72-2011";
pub const DYEB: &str = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n";
pub const VOEQ: &str = "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk";
pub const DYEB_MASTER: &str = "T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D";
pub const DYEB_KEY: &str = "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ";
pub const VOEQ_MASTER: &str = "UESzvzSw6zqC7BuvlcHmbPKTmf5BIbG0RNvCTpDx1kH";
pub const VOEQ_KEY: &str = "EvcfMaNJ3fiK4lUVhQNhHmX1Qc3mjlA6q0MS96JXNNO";
pub const SERVER_CONTRACT: &str = "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG";
pub const ASSET_CONTRACTS: [&str; 4] = [
    "7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF",
    "EYGad9FjZWgGKeVbgh2FbA0Hf8oP0XlnRyYCsvSIYKL",
    "JY7kEFnm2c50CGNphdpgnlVo2hOZuLrBua5cFqWWR9Q",
    "XU1Gu6sjcLxg260FmRgrSvRz9L0OohXRSEhlkeSd9j2",
];
pub const PC23: &str = "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C";
pub const T1Q3: &str = "T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV";

pub fn dir(rel: &str) -> PathBuf {
    data(&format!("fixtures/{Y13}/{rel}"))
}

pub fn client_key() -> Vec<u8> {
    wallet_master_key(&fixture(&format!("{Y13}/client_data/wallet.xml")), b"test")
        .unwrap()
        .to_vec()
}

pub fn notary_key() -> Vec<u8> {
    wallet_master_key(
        &fixture(&format!("{Y13}/server_data/notaryServer.xml")),
        b"test",
    )
    .unwrap()
    .to_vec()
}

pub fn client() -> Nym {
    Nym::load_dir(&dir("client_data/credentials"), DYEB, Some(&client_key())).unwrap()
}

pub fn server() -> Nym {
    Nym::load_dir(&dir("server_data/credentials"), VOEQ, Some(&notary_key())).unwrap()
}

pub fn contract_text(id: &str) -> String {
    dearmor_text(&fixture(&format!("{Y13}/client_data/contracts/{id}")))
}

/// The rule an error names (panics when it names none, so a parse error never passes as a
/// rule failure).
pub fn rule<T: std::fmt::Debug>(r: ot_transport::Result<T>) -> Rule {
    let e = r.expect_err("should be refused");
    Rule::of(&e).unwrap_or_else(|| panic!("the error names no rule: {e:?}"))
}

pub fn same_key(a: &Key, b: &Key) -> bool {
    a.spki_der().unwrap() == b.spki_der().unwrap()
}

// ---- helpers that make tampered variants -------------------------------------------------

/// The public texts of a Nym: (list, [(credential ID, public text)]).
pub struct Texts {
    pub list: String,
    pub creds: Vec<(String, String)>,
}

pub fn public_texts(side_dir: &str, nym: &str, ids: &[&str]) -> Texts {
    let base = format!("{Y13}/{side_dir}");
    Texts {
        list: dearmor_text(&fixture(&format!("{base}/{nym}.cred"))),
        creds: ids
            .iter()
            .map(|id| {
                let t = dearmor_text(&fixture(&format!("{base}/{nym}/{id}")));
                // A private file's public text is its <publicCredential>.
                let t = if t.contains("<publicCredential>") {
                    dearmor_text(element(&t, "publicCredential", None).as_bytes())
                } else {
                    t
                };
                (id.to_string(), t)
            })
            .collect(),
    }
}

pub fn dyeb() -> Texts {
    public_texts("server_data/pubcred", DYEB, &[DYEB_MASTER, DYEB_KEY])
}

impl Texts {
    pub fn load(&self, pass: Option<&[u8]>) -> ot_transport::Result<Nym> {
        let creds: Vec<&[u8]> = self.creds.iter().map(|(_, t)| t.as_bytes()).collect();
        Nym::load(self.list.as_bytes(), &creds, pass)
    }
    /// Replaces credential `i` with `text` and renames it in the list (the list is not signed:
    /// anyone can rename).
    pub fn set(&mut self, i: usize, text: String) {
        let new = id_of(text.as_bytes());
        self.list = self.list.replace(&self.creds[i].0, &new);
        self.creds[i] = (new, text);
    }
}

/// Replaces the content of the first `<tag …>` element (whose start tag contains `attr`) with
/// string armor of `text`.
pub fn set_element(doc: &str, tag: &str, attr: Option<&str>, text: &str) -> String {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut from = 0;
    loop {
        let i = from + doc[from..].find(&open).expect("element");
        let gt = i + doc[i..].find('>').unwrap();
        if attr.is_none_or(|a| doc[i..gt].contains(a)) {
            let end = gt + doc[gt..].find(&close).unwrap();
            let body = armor::encode(text.as_bytes(), Kind::String).unwrap();
            return format!("{}\n{}{}", &doc[..=gt], body, &doc[end..]);
        }
        from = gt;
    }
}

pub fn get_element(doc: &str, tag: &str, attr: Option<&str>) -> String {
    dearmor_text(element(doc, tag, attr).as_bytes())
}

/// Signs the content of `text` again with `key` (same type and Meta).
pub fn resign(text: &str, key: &Key) -> String {
    let p = signed::parse(text.as_bytes()).unwrap();
    signed::create(
        &p.doc_type,
        &p.content,
        key,
        p.signatures[0].meta.as_deref(),
    )
    .unwrap()
}

/// An OT public-key block (unescaped, as in `<publicInfo>`) of `k`.
pub fn key_block(k: &Key) -> String {
    k.ot_public_block(false).unwrap()
}

/// `block` with one byte of the key's modulus changed.
pub fn flip_key_byte(block: &str) -> String {
    let k = Key::load(block.as_bytes(), None).unwrap();
    let mut der = k.spki_der().unwrap();
    let i = der.len() / 2;
    der[i] ^= 0x04;
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}-----END PUBLIC KEY-----\n",
        armor::base64_encode_lines(&der)
    );
    let flipped = key_block(&Key::load(pem.as_bytes(), None).unwrap());
    assert_ne!(flipped, block);
    flipped
}

/// A copy of a credentials folder (list + every credential of `nym`) in a fresh temporary
/// folder, to tamper with.
pub fn copy_dir(from: &Path, nym: &str, name: &str) -> PathBuf {
    let to = std::env::temp_dir().join(format!("ot-cred-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(to.join(nym)).unwrap();
    std::fs::copy(
        from.join(format!("{nym}.cred")),
        to.join(format!("{nym}.cred")),
    )
    .unwrap();
    for e in std::fs::read_dir(from.join(nym)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(nym).join(e.file_name())).unwrap();
    }
    to
}
