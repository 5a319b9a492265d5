//! `ot inspect`: what a file is — signed text, key, envelope or armor — and what it says.

use std::path::PathBuf;

use ot_transport::envelope::{Envelope, Layout};
use ot_transport::keys::{Algorithm, Key};
use ot_transport::{Error, ErrorKind, armor, hash, signed};
use serde_json::{Value, json};

use crate::PassArgs;
use crate::io::{Input, looks_like_text};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn algorithm_name(k: &Key) -> String {
    match k.algorithm() {
        Algorithm::Rsa => format!("RSA-{}", k.bits()),
        Algorithm::Ed25519 => "Ed25519".to_string(),
        Algorithm::X25519 => "X25519".to_string(),
    }
}

fn envelope_type_name(t: u16) -> &'static str {
    match t {
        0 => "v0 (2011, one RSA recipient, no NymID)",
        1 => "v1 (legacy: RSA-wrapped AES-128-CBC)",
        2 => "symmetric (AES-128-CBC under a raw key)",
        3 => "v3 (X25519 HPKE-wrapped ChaCha20-Poly1305)",
        _ => "unknown",
    }
}

fn describe_envelope(env: &Envelope, raw_len: usize) -> Value {
    let t = env.envelope_type();
    let ids: Vec<Value> = env
        .recipient_ids()
        .into_iter()
        .map(|s| Value::from(s.to_string()))
        .collect();
    let count = match env.layout() {
        Layout::V0(_) => 1,
        Layout::Symmetric => 0,
        _ => ids.len(),
    };
    let bytes = env.to_bytes();
    json!({
        "what": "envelope",
        "type": t,
        "type_name": envelope_type_name(t),
        "recipients": count,
        "recipient_ids": ids,
        "bytes": bytes.len(),
        "input_bytes": raw_len,
        "sha256": hex(&hash::sha256(&bytes)),
    })
}

fn describe_key(k: &Key) -> Result<Value, Error> {
    let mut v = json!({
        "what": "key",
        "algorithm": algorithm_name(k),
        "private": k.is_private(),
        "nym_id": k.nym_id()?,
        "nym_id_v3": hash::id_of_v3(&k.spki_der()?)?,
        "spki_sha256": hex(&hash::sha256(&k.spki_der()?)),
    });
    if k.algorithm() == Algorithm::Rsa {
        v["nym_id_v1"] = Value::from(hash::id_of(k.ot_public_block(true)?.as_bytes()));
    }
    Ok(v)
}

fn describe_signed(raw: &[u8], keys: &[(String, Key)]) -> Result<Value, Error> {
    let st = signed::parse(raw)?;
    let sigs: Vec<Value> = st
        .signatures
        .iter()
        .map(|s| {
            let alg = if s.bytes.len() == signed::ED25519_SIG_LEN
                && st.hash_type == signed::HASH_SHA256D
            {
                "Ed25519".to_string()
            } else {
                format!("RSA-{} PSS", s.bytes.len() * 8)
            };
            json!({ "algorithm": alg, "bytes": s.bytes.len(), "meta": s.meta })
        })
        .collect();
    let mut v = json!({
        "what": "signed text",
        "doc_type": st.doc_type,
        "hash": st.hash_type,
        "content_bytes": st.content.len(),
        "content_sha256": hex(&hash::sha256(&st.content)),
        "signatures": sigs,
    });
    if !keys.is_empty() {
        let signer = keys
            .iter()
            .find(|(_, k)| st.verify(k).is_ok())
            .map(|(name, k)| json!({ "nym_id": k.nym_id().unwrap_or_default(), "key": name }));
        v["signer"] = signer.unwrap_or(Value::Null);
    }
    Ok(v)
}

fn describe_armor(raw: &[u8]) -> Result<Value, Error> {
    let parts = armor::split(raw)?;
    let (payload, kind) = armor::decode_any(raw)?;
    let mut v = json!({
        "what": "armor",
        "bookend": parts.armor_type,
        "escaped": parts.escaped,
        "path": if kind == armor::Kind::Data { "data" } else { "string" },
        "payload_bytes": payload.len(),
        "payload_sha256": hex(&hash::sha256(&payload)),
    });
    if kind == armor::Kind::Data
        && let Ok(env) = Envelope::parse(&payload)
    {
        v["envelope"] = describe_envelope(&env, payload.len());
    }
    if kind == armor::Kind::String && payload.starts_with(b"-----BEGIN SIGNED") {
        v["signed_text"] = describe_signed(&payload, &[]).unwrap_or(Value::Null);
    }
    Ok(v)
}

fn starts_with_text(raw: &[u8], prefix: &str) -> bool {
    let t = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&raw[0..0], |i| &raw[i..]);
    t.starts_with(prefix.as_bytes())
}

fn describe(raw: &[u8], keys: &[(String, Key)], pass: Option<&[u8]>) -> Result<Value, Error> {
    if starts_with_text(raw, "-----BEGIN SIGNED") {
        return describe_signed(raw, keys);
    }
    if looks_like_text(raw) {
        match Key::load(raw, pass) {
            Ok(k) => return describe_key(&k),
            Err(e) if e.kind() == ErrorKind::BadPassphrase => {
                return Ok(json!({
                    "what": "key",
                    "private": true,
                    "encrypted": true,
                    "note": "an encrypted private key: give --passphrase-file or --passphrase-env to see more",
                }));
            }
            Err(_) => {}
        }
        if let Ok(env) = Envelope::from_armor(raw) {
            return Ok(describe_envelope(&env, raw.len()));
        }
        return describe_armor(raw);
    }
    if let Ok(env) = Envelope::parse(raw) {
        return Ok(describe_envelope(&env, raw.len()));
    }
    if let Ok(k) = Key::load(raw, pass) {
        return describe_key(&k);
    }
    Err(Error::new(
        ErrorKind::Malformed,
        "not an envelope, signed text, key or armor this tool knows",
    ))
}

fn print_lines(v: &Value, indent: &str) {
    let Some(map) = v.as_object() else { return };
    // "what" first, then the rest in name order.
    let first = map.get_key_value("what").into_iter();
    for (k, val) in first.chain(map.iter().filter(|(k, _)| *k != "what")) {
        match val {
            Value::Object(_) => {
                println!("{indent}{k}:");
                print_lines(val, &format!("{indent}  "));
            }
            Value::Array(items) => {
                println!("{indent}{k}: {}", items.len());
                for (i, it) in items.iter().enumerate() {
                    match it {
                        Value::Object(_) => {
                            println!("{indent}  [{i}]");
                            print_lines(it, &format!("{indent}    "));
                        }
                        Value::String(s) if s.is_empty() => println!("{indent}  [{i}] (key only)"),
                        Value::String(s) => println!("{indent}  [{i}] {s}"),
                        other => println!("{indent}  [{i}] {other}"),
                    }
                }
            }
            Value::String(s) => println!("{indent}{k}: {s}"),
            Value::Null => println!("{indent}{k}: none"),
            other => println!("{indent}{k}: {other}"),
        }
    }
}

pub fn run(
    file: Option<PathBuf>,
    key_files: Vec<PathBuf>,
    as_json: bool,
    pass: PassArgs,
) -> Result<(), Error> {
    let raw = Input::new(file).read_all(None)?;
    let mut keys = Vec::new();
    for f in key_files {
        let k = crate::load_key(&f, &pass)?; // the same passphrase opens encrypted -k keys
        keys.push((f.display().to_string(), k));
    }
    let pw = pass.get()?;
    let v = describe(&raw, &keys, pw.as_deref())?;
    if as_json {
        println!("{v}");
    } else {
        print_lines(&v, "");
    }
    Ok(())
}
