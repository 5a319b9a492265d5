//! The fuzz targets' bodies, shared by the cargo-fuzz binaries (fuzz/fuzz_targets) and by the
//! regression test that replays every saved crash input (tests/fuzz_regressions.rs).
#![allow(dead_code)]

use std::sync::LazyLock;

use ot_transport::armor::{self, Kind};
use ot_transport::credentials::credential::Unverified;
use ot_transport::credentials::{Contract, CredentialKind, CredentialList, Nym, Role};
use ot_transport::envelope::Envelope;
use ot_transport::hash;
use ot_transport::keys::{Key, KeyFormat};
use ot_transport::signed;
use ot_transport::symkey::SymmetricKey;
use ot_transport::transport::{Options, open_request_frame};

/// A fixed 1024-bit test key (not a secret: generated for fuzzing only).
static KEY: LazyLock<Key> =
    LazyLock::new(|| Key::load(include_bytes!("keys/fuzz_key.pem"), None).expect("fuzz key"));

/// Fixed suite v3 test keys (not secrets: generated for fuzzing only).
static ED: LazyLock<Key> = LazyLock::new(|| {
    Key::load(include_bytes!("keys/fuzz_ed25519.pem"), None).expect("fuzz ed key")
});
static X: LazyLock<Key> =
    LazyLock::new(|| Key::load(include_bytes!("keys/fuzz_x25519.pem"), None).expect("fuzz x key"));

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// Every target by name, for the regression replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("armor_decode", armor_decode),
    ("envelope", envelope),
    ("signed_text", signed_text),
    ("key_load", key_load),
    ("id_decode", id_decode),
    ("symkey_unlock", symkey_unlock),
    ("ini_load", ini_load),
    ("notary_request", notary_request),
    ("transport_key", transport_key),
    ("credential_list", credential_list),
    ("credential", credential),
    ("contract", contract),
];

/// The client Nym's public credential files from the 2013 sample data (tests/data/fixtures).
const DYEB_LIST: &[u8] = include_bytes!(
    "../tests/data/fixtures/legacy-0.89-2013/server_data/pubcred/DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n.cred"
);
const DYEB_MASTER: &[u8] = include_bytes!(
    "../tests/data/fixtures/legacy-0.89-2013/server_data/pubcred/DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n/T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D"
);

/// Armor decoding, both paths and auto-detection, with bookends or bare.
pub fn armor_decode(data: &[u8]) {
    for kind in [Kind::Data, Kind::String] {
        if let Ok(payload) = armor::decode(data, kind) {
            // Whatever decodes must re-encode and decode to the same payload.
            let again = armor::encode(&payload, kind).expect("encode");
            assert_eq!(
                armor::decode(again.as_bytes(), kind).expect("round trip"),
                payload
            );
        }
    }
    let _ = armor::decode_any(data);
    let _ = armor::unpack_field1(data);
}

/// Envelope parsing (binary and armored, types 0-3) and opening with fixed RSA and X25519
/// private keys.
pub fn envelope(data: &[u8]) {
    for env in [Envelope::parse(data), Envelope::from_armor(data)]
        .into_iter()
        .flatten()
    {
        {
            // Serialisation is the inverse of parsing.
            assert_eq!(Envelope::parse(&env.to_bytes()).expect("reparse"), env);
            let _ = env.recipient_ids();
            let _ = env.open(None, &KEY);
            let _ = env.open(Some(""), &KEY);
            // Type 3: by key alone, by NymID (falls back to a key-only entry), and the uniform
            // failure: whatever fails after an entry is chosen is DecryptFailed.
            for id in [None, Some(""), Some("notary")] {
                if let Err(e) = env.open(id, &X)
                    && env.envelope_type() == 3
                {
                    assert!(matches!(
                        e.kind(),
                        ot_transport::ErrorKind::DecryptFailed
                            | ot_transport::ErrorKind::NoMatchingRecipient
                    ));
                }
            }
            let _ = env.decrypt_symmetric(&[7u8; 16]);
        }
    }
}

/// Signed-text parsing and verification with fixed RSA and Ed25519 keys (SAMY and SHA256D).
pub fn signed_text(data: &[u8]) {
    if let Ok(p) = signed::parse(data) {
        let _ = p.verify(&KEY);
        let _ = p.verify(&ED);
        let _ = p.verify(&X);
    }
    if data.len() < 4096
        && let Ok(text) = signed::create("CONTRACT", data, &ED, None)
    {
        let content = signed::verify(text.as_bytes(), &ED).expect("own v3 signature verifies");
        assert!(content.starts_with(data));
        // The type is signed: the same text as another type does not verify.
        let other = text.replace("CONTRACT", "MESSAGE");
        assert!(signed::verify(other.as_bytes(), &ED).is_err());
    }
    // Content accepted by `create` must verify after a round trip.
    if data.len() < 4096
        && let Ok(text) = signed::create("MESSAGE", data, &KEY, None)
    {
        let content = signed::verify(text.as_bytes(), &KEY).expect("own signature verifies");
        assert!(content.starts_with(data));
    }
}

/// Key loading in every format, with and without a passphrase.
pub fn key_load(data: &[u8]) {
    for pass in [None, Some(&b"test"[..]), Some(&[0u8; 16][..])] {
        if let Ok(k) = Key::load(data, pass) {
            // A loaded key exports and reloads to the same NymID.
            let id = k.nym_id().expect("nym id");
            // The OT public-key block is RSA-only; v3 keys round-trip through SPKI.
            let f = if k.is_v3() {
                KeyFormat::SpkiPem
            } else {
                KeyFormat::OtPublic
            };
            let spki = k.export(f, None).expect("export");
            assert_eq!(
                Key::load(&spki, None)
                    .expect("reload")
                    .nym_id()
                    .expect("id"),
                id
            );
        }
    }
}

/// base62 ID decoding and encoding.
pub fn id_decode(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(bytes) = hash::id_decode(text)
    {
        let canon = text.trim_start_matches('0');
        assert_eq!(
            hash::id_encode(&bytes).expect("decoded IDs re-encode"),
            canon
        );
    }
    // Whatever encodes must decode back (a finding once: encode accepted longer inputs than
    // decode did).
    if let Ok(t) = hash::id_encode(data) {
        let back = hash::id_decode(&t).expect("own encoding decodes");
        let start = data.iter().position(|&b| b != 0).unwrap_or(data.len());
        assert_eq!(back, &data[start..]);
    } else {
        assert!(data.len() > hash::MAX_ID_BYTES);
    }
}

/// Legacy symmetric-key parsing and unlocking.
pub fn symkey_unlock(data: &[u8]) {
    if let Ok(k) = SymmetricKey::parse(data) {
        // Keep executions fast: unlocking runs PBKDF2 with the blob's own iteration count.
        if k.iterations <= 4096
            && let Ok(raw) = k.unlock(b"test")
        {
            assert_eq!(raw.len(), 16);
        }
    }
}

/// Legacy client.cfg / server.cfg loading.
pub fn ini_load(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut o = Options::default();
        if o.load_ini(text).is_ok() {
            let _ = o.worst_case_ms();
        }
    }
}

/// What a notary does with one raw request frame from the network.
pub fn notary_request(data: &[u8]) {
    if let Ok(req) = open_request_frame(data, "notary", &KEY) {
        let _ = req.content_unverified();
        let _ = req.verify(&KEY);
    }
    if let Ok(req) = open_request_frame(data, "notary", &X) {
        let _ = req.content_unverified();
        let _ = req.verify(&ED);
        let _ = req.verify(&KEY);
    }
}

/// Credential lists: whatever parses names its NymID's source, one master and its key
/// credentials; as the list of the real client Nym, with the real credentials.
pub fn credential_list(data: &[u8]) {
    if let Ok(l) = CredentialList::parse(data) {
        assert_eq!(hash::id_of(l.source.as_bytes()), l.nym_id);
        assert!(!l.key_ids.is_empty() && l.ids().count() == l.key_ids.len() + 1);
        let _ = Nym::load(data, &[DYEB_MASTER], None);
    }
}

/// One credential, public or private: read, identified, verified as a master under its own
/// claims, and as a key credential of the real client Nym (under its real master).
pub fn credential(data: &[u8]) {
    if let Ok(u) = Unverified::read(data) {
        let id = u.id().to_string();
        assert!(hash::id_decode(&id).is_ok());
        if u.kind() == CredentialKind::Master {
            let (nym, source) = (u.nym_id().to_string(), u.source().to_string());
            if let Ok(c) = u.verify(&id, &nym, &source, None, None) {
                assert_eq!((c.id(), c.nym_id()), (id.as_str(), nym.as_str()));
            }
        } else {
            let _ = u.verify(&id, "x", "y", None, None);
        }
    }
    if let Ok(n) = Nym::load(DYEB_LIST, &[DYEB_MASTER, data], None) {
        // Only the real key credential can complete the real Nym.
        assert_eq!(
            n.key_credentials()[0].id(),
            "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ"
        );
    }
}

/// Signed contracts (2011 and 2013): whatever verifies has an ID, a signer and keys; a notary
/// endpoint, when present, is a tcp endpoint.
pub fn contract(data: &[u8]) {
    if let Ok(c) = Contract::load(data) {
        assert!(!c.id().is_empty() && !c.signer_nym_id().is_empty());
        let _ = c.key(Role::Auth).nym_id();
        if let Ok(e) = c.endpoint() {
            assert!(e.starts_with("tcp://"));
        }
    }
}

/// Transport-key documents (the signed text a `PONG` carries) verified against the fixed RSA and
/// Ed25519 keys, and the document text alone; then the same bytes as the frames of a v2 message
/// and of a broker's backend message (split at every 0xFF byte).
pub fn transport_key(data: &[u8]) {
    use ot_transport::transport::frames;
    use ot_transport::transport::transport_key::TransportKeyDoc;
    for k in [&*KEY, &*ED] {
        if let Ok(nym) = k.nym_id() {
            let _ = TransportKeyDoc::verify(data, k, &nym, 1_800_000_000);
        }
    }
    let parts: Vec<Vec<u8>> = data.split(|b| *b == 0xFF).map(<[u8]>::to_vec).collect();
    if let Some(m) = frames::parse_v2(parts.clone()) {
        assert!(m.extra.len() <= frames::MAX_EXTRA_FRAMES);
    }
    let _ = frames::classify(parts);
}
