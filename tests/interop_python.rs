//! Crypto interop with the independent Python peer (`interop/legacy_peer.py`, written from the
//! wire-format spec with pyzmq + `cryptography`, not from this crate): envelopes and signed text
//! both ways, NymIDs and SAMY. Needs python3 with `cryptography` (scripts/test installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use ot_transport::envelope::{Envelope, Recipient};
use ot_transport::keys::{Key, KeyFormat};
use ot_transport::{hash, signed};

#[path = "common/transport.rs"]
mod fixtures;
use fixtures::Nym;

fn peer() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/legacy_peer.py")
}

fn run(args: &[&str]) -> (bool, Vec<u8>) {
    let out = Command::new("python3")
        .arg(peer())
        .args(args)
        .output()
        .expect("python3 must be installed (scripts/test installs it with pyzmq and cryptography)");
    if !out.status.success() {
        eprintln!(
            "legacy_peer {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (out.status.success(), out.stdout)
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ot-interop-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_keys(dir: &Path, name: &str, k: &Key) -> (String, String) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub"));
    std::fs::write(&private, k.export(KeyFormat::Pkcs8Plain, None).unwrap()).unwrap();
    std::fs::write(&public, k.export(KeyFormat::SpkiPem, None).unwrap()).unwrap();
    (private.display().to_string(), public.display().to_string())
}

#[test]
fn nym_ids_and_samy_agree() {
    let dir = tmpdir("ids");
    for bits in [1024, 2048] {
        let k = Key::generate(bits).unwrap();
        let (_, public) = write_keys(&dir, &format!("k{bits}"), &k);
        let (ok, out) = run(&["nymid", "--key", &public]);
        assert!(ok);
        assert_eq!(String::from_utf8(out).unwrap().trim(), k.nym_id().unwrap());
    }
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let f = dir.join("data.bin");
    std::fs::write(&f, &data).unwrap();
    let (ok, out) = run(&["samy", "--in", f.to_str().unwrap()]);
    assert!(ok);
    let want: String = hash::samy(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(String::from_utf8(out).unwrap().trim(), want);
}

#[test]
fn envelopes_both_ways() {
    let dir = tmpdir("env");
    let ours = Key::generate(1024).unwrap();
    let theirs = Key::generate(2048).unwrap();
    let (our_priv, our_pub) = write_keys(&dir, "ours", &ours);
    let (their_priv, their_pub) = write_keys(&dir, "theirs", &theirs);
    let our_id = ours.nym_id().unwrap();
    let their_id = theirs.nym_id().unwrap();
    let message = "<OTmessage>\n café — interop\n</OTmessage>\n";

    // Python seals to both of us; we open our entry.
    let input = dir.join("msg.txt");
    std::fs::write(&input, message).unwrap();
    let sealed = dir.join("py.env");
    let (ok, _) = run(&[
        "seal",
        "--to",
        &format!("{our_id}={our_pub}"),
        "--to",
        &format!("{their_id}={their_pub}"),
        "--in",
        input.to_str().unwrap(),
        "--out",
        sealed.to_str().unwrap(),
    ]);
    assert!(ok);
    let env = Envelope::from_armor(&std::fs::read(&sealed).unwrap()).unwrap();
    assert_eq!(env.open(Some(&our_id), &ours).unwrap(), message.as_bytes());

    // We seal (bookended); Python opens with its key, and our key's file too.
    let ours_env = Envelope::seal(
        &[
            Recipient {
                nym_id: &our_id,
                key: &ours,
            },
            Recipient {
                nym_id: &their_id,
                key: &theirs.to_public(),
            },
        ],
        message.as_bytes(),
    )
    .unwrap();
    let f = dir.join("rs.env");
    std::fs::write(&f, ours_env.to_armor(true).unwrap()).unwrap();
    for (key, id) in [(&their_priv, &their_id), (&our_priv, &our_id)] {
        let (ok, out) = run(&[
            "open",
            "--key",
            key,
            "--nym-id",
            id,
            "--in",
            f.to_str().unwrap(),
        ]);
        assert!(ok);
        assert_eq!(out, message.as_bytes());
    }
    // Key-only seal (empty NymID), as notaries reply.
    let reply = Envelope::seal(
        &[Recipient {
            nym_id: "",
            key: &theirs,
        }],
        b"reply",
    )
    .unwrap();
    std::fs::write(&f, reply.to_armor(false).unwrap()).unwrap();
    let (ok, out) = run(&[
        "open",
        "--key",
        &their_priv,
        "--nym-id",
        &their_id,
        "--in",
        f.to_str().unwrap(),
    ]);
    assert!(ok);
    assert_eq!(out, b"reply");
}

#[test]
fn signed_text_both_ways() {
    let dir = tmpdir("sig");
    let k = Key::generate(1024).unwrap();
    let (private, public) = write_keys(&dir, "k", &k);
    let content = "<?xml version=\"1.0\"?>\n\n<OTmessage\n version=\"2.0\">\n</OTmessage>\n";

    // Python signs; we verify and get the exact content back.
    let input = dir.join("content.txt");
    std::fs::write(&input, content).unwrap();
    let out_file = dir.join("py.signed");
    let (ok, _) = run(&[
        "sign",
        "--key",
        &private,
        "--type",
        "MESSAGE",
        "--meta",
        "ADT9",
        "--in",
        input.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(ok);
    let text = std::fs::read(&out_file).unwrap();
    assert_eq!(signed::verify(&text, &k).unwrap(), content.as_bytes());
    assert_eq!(
        signed::parse(&text).unwrap().signatures[0].meta.as_deref(),
        Some("ADT9")
    );

    // We sign; Python verifies; a flipped byte fails there too.
    let ours = signed::create("MESSAGE", content.as_bytes(), &k, None).unwrap();
    let f = dir.join("rs.signed");
    std::fs::write(&f, &ours).unwrap();
    let (ok, out) = run(&["verify", "--key", &public, "--in", f.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(out, content.as_bytes());
    std::fs::write(&f, ours.replace("2.0", "2.1")).unwrap();
    let (ok, _) = run(&["verify", "--key", &public, "--in", f.to_str().unwrap()]);
    assert!(
        !ok,
        "a tampered document must not verify in the independent peer"
    );
}

/// Issue 23, at each boundary, LF and CRLF: a line the legacy reader keeps up to 2046 bytes of
/// (a CRLF line's '\r' counts) crosses both ways; longer lines are refused by both signers, and
/// a text signed as written anyway (the peer's `--raw-content`, as the legacy library signs) is
/// MALFORMED here and fails the peer's own legacy reader, which reads it with an extra empty
/// line (2047) or cut (2048).
#[test]
fn signed_text_line_boundaries_both_ways() {
    let dir = tmpdir("sig-lines");
    let k = Key::generate(1024).unwrap();
    let (private, public) = write_keys(&dir, "k", &k);
    let input = dir.join("content.txt");
    let (py, rs) = (dir.join("py.signed"), dir.join("rs.signed"));
    let (input_s, py_s, rs_s) = (
        input.to_str().unwrap(),
        py.to_str().unwrap(),
        rs.to_str().unwrap(),
    );
    let sign = |raw: bool| {
        let mut args = vec![
            "sign", "--key", &private, "--type", "MESSAGE", "--in", input_s, "--out", py_s,
        ];
        if raw {
            args.push("--raw-content");
        }
        let _ = std::fs::remove_file(&py);
        run(&args).0
    };
    for (eol, longest) in [("\n", 2046), ("\r\n", 2045)] {
        for n in [2045, 2046, 2047, 2048] {
            let what = format!("{n} bytes + {eol:?}");
            let fits = n <= longest;
            let content = format!("<OTmessage>\n{}{eol}</OTmessage>\n", "m".repeat(n));
            std::fs::write(&input, &content).unwrap();

            // Peer signs (its content rules) -> we verify.
            assert_eq!(sign(false), fits, "peer sign, {what}");
            if fits {
                let text = std::fs::read(&py).unwrap();
                assert_eq!(
                    signed::verify(&text, &k).unwrap(),
                    content.as_bytes(),
                    "{what}"
                );
            }

            // Peer signs as written, as the legacy library does -> we, and the peer itself.
            assert!(sign(true), "peer sign --raw-content, {what}");
            let text = std::fs::read(&py).unwrap();
            let (ok, out) = run(&["verify", "--key", &public, "--in", py_s]);
            assert_eq!(ok, fits, "peer verifies its own text, {what}");
            if fits {
                assert_eq!(out, content.as_bytes(), "{what}");
                assert_eq!(
                    signed::verify(&text, &k).unwrap(),
                    content.as_bytes(),
                    "{what}"
                );
            } else {
                let e = signed::verify(&text, &k).unwrap_err();
                assert_eq!(e.kind(), ot_transport::ErrorKind::Malformed, "{what}: {e}");
            }

            // We sign -> peer verifies.
            match signed::create("MESSAGE", content.as_bytes(), &k, None) {
                Ok(ours) => {
                    assert!(fits, "we signed {what}");
                    std::fs::write(&rs, &ours).unwrap();
                    let (ok, out) = run(&["verify", "--key", &public, "--in", rs_s]);
                    assert!(ok, "peer verifies ours, {what}");
                    assert_eq!(out, content.as_bytes(), "{what}");
                }
                Err(e) => {
                    assert!(!fits, "we refused {what}: {e}");
                    assert_eq!(e.kind(), ot_transport::ErrorKind::InvalidArgument, "{what}");
                }
            }
        }
    }
}

#[test]
fn the_peer_and_its_readme_name_only_repository_paths() {
    // Issue 12 item 14: no absolute path outside the repository (it exists on no user's machine);
    // the spec and fixtures they name are the repository's own, and they exist.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for f in ["interop/README.md", "interop/legacy_peer.py"] {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        for bad in [
            "/work/",
            "shared/spec",
            "shared/fixtures",
            "/home/",
            "/tmp/",
        ] {
            assert!(!text.contains(bad), "{f} names {bad:?}");
        }
        assert!(text.contains("docs/wire-format.md"), "{f}");
        assert!(text.contains("tests/data/fixtures"), "{f}");
    }
    assert!(root.join("docs/wire-format.md").is_file());
    assert!(root.join("tests/data/fixtures/SOURCES.md").is_file());
    // The self-test finds the repository's fixtures by itself, from any working directory.
    let out = Command::new("python3")
        .arg(peer())
        .arg("selftest")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

// ---- Suite v3 (issue 9): the peer learned it from suite-v3.md, not from this crate ----------

#[test]
fn v3_peer_hpke_matches_rfc9180_and_ids_agree() {
    let vec = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vectors/rfc/rfc9180_base_x25519_sha256_chacha20poly1305.json");
    let (ok, out) = run(&["selftest-v3", "--vectors", vec.to_str().unwrap()]);
    assert!(ok, "{}", String::from_utf8_lossy(&out));
    let dir = tmpdir("v3ids");
    for (i, k) in [
        Key::generate_ed25519().unwrap(),
        Key::generate_x25519().unwrap(),
    ]
    .iter()
    .enumerate()
    {
        let (private, public) = write_keys(&dir, &format!("k{i}"), k);
        for f in [&private, &public] {
            let (ok, out) = run(&["nymid", "--key", f]);
            assert!(ok);
            assert_eq!(String::from_utf8(out).unwrap().trim(), k.nym_id().unwrap());
        }
    }
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 13 % 256) as u8).collect();
    let f = dir.join("data.bin");
    std::fs::write(&f, &data).unwrap();
    let (ok, out) = run(&["sha256d", "--in", f.to_str().unwrap(), "--base62"]);
    assert!(ok);
    assert_eq!(
        String::from_utf8(out).unwrap().trim(),
        hash::id_of_v3(&data).unwrap()
    );
}

#[test]
fn v3_envelopes_both_ways() {
    let dir = tmpdir("v3env");
    let (a1, e1) = (
        Key::generate_ed25519().unwrap(),
        Key::generate_x25519().unwrap(),
    );
    let (a2, e2) = (
        Key::generate_ed25519().unwrap(),
        Key::generate_x25519().unwrap(),
    );
    let (id1, id2) = (a1.nym_id().unwrap(), a2.nym_id().unwrap());
    let (e1_priv, e1_pub) = write_keys(&dir, "e1", &e1);
    let (e2_priv, e2_pub) = write_keys(&dir, "e2", &e2);
    let message: &[u8] = b"<OTmessage>\0binary \xff and NUL survive type 3\0</OTmessage>";
    let input = dir.join("msg.bin");
    std::fs::write(&input, message).unwrap();

    // Python seals type 3 to both; we open each entry, by NymID and by key alone.
    let sealed = dir.join("py3.env");
    let (ok, _) = run(&[
        "seal",
        "--to",
        &format!("{id1}={e1_pub}"),
        "--to",
        &format!("{id2}={e2_pub}"),
        "--in",
        input.to_str().unwrap(),
        "--out",
        sealed.to_str().unwrap(),
        "--bookend",
    ]);
    assert!(ok);
    let env = Envelope::from_armor(&std::fs::read(&sealed).unwrap()).unwrap();
    assert_eq!(env.envelope_type(), 3);
    assert_eq!(env.open(Some(&id1), &e1).unwrap(), message);
    assert_eq!(env.open(Some(&id2), &e2).unwrap(), message);
    assert_eq!(env.open(None, &e2).unwrap(), message);
    assert_eq!(
        env.open(Some(&id1), &e2).unwrap_err().kind(),
        ot_transport::ErrorKind::DecryptFailed
    );

    // We seal type 3 (with a key-only entry too); Python opens as each recipient.
    let ours = Envelope::seal(
        &[
            Recipient {
                nym_id: &id1,
                key: &e1.to_public(),
            },
            Recipient {
                nym_id: "",
                key: &e2,
            },
        ],
        message,
    )
    .unwrap();
    let f = dir.join("rs3.env");
    std::fs::write(&f, ours.to_armor(false).unwrap()).unwrap();
    for (key, id) in [(&e1_priv, id1.as_str()), (&e2_priv, "not-listed")] {
        let (ok, out) = run(&[
            "open",
            "--key",
            key,
            "--nym-id",
            id,
            "--in",
            f.to_str().unwrap(),
        ]);
        assert!(ok);
        assert_eq!(out, message);
    }
    let (ok, out) = run(&["open", "--key", &e2_priv, "--in", f.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(out, message);
    // A tampered payload fails in the peer too.
    let mut b = ours.to_bytes();
    let last = b.len() - 1;
    b[last] ^= 1;
    std::fs::write(
        &f,
        ot_transport::armor::encode(&b, ot_transport::armor::Kind::Data).unwrap(),
    )
    .unwrap();
    let (ok, _) = run(&[
        "open",
        "--key",
        &e1_priv,
        "--nym-id",
        &id1,
        "--in",
        f.to_str().unwrap(),
    ]);
    assert!(!ok);
}

#[test]
fn v3_signed_text_both_ways() {
    let dir = tmpdir("v3sig");
    let k = Key::generate_ed25519().unwrap();
    let (private, public) = write_keys(&dir, "k", &k);
    let long = "x".repeat(3000);
    let content =
        format!("<?xml version=\"1.0\"?>\n\n<OTmessage\n version=\"2.0\">\n{long}\n</OTmessage>\n");
    let input = dir.join("content.txt");
    std::fs::write(&input, &content).unwrap();
    let out_file = dir.join("py.signed");
    let (ok, _) = run(&[
        "sign",
        "--key",
        &private,
        "--type",
        "CONTRACT",
        "--meta",
        "SDT9",
        "--in",
        input.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(ok);
    let text = std::fs::read(&out_file).unwrap();
    assert!(text.starts_with(b"-----BEGIN SIGNED CONTRACT-----\nHash: SHA256D\n\n"));
    assert_eq!(
        signed::verify(&text, &k.to_public()).unwrap(),
        content.as_bytes()
    );
    // Ed25519 is deterministic: our text for the same content is identical.
    let ours = signed::create("CONTRACT", content.as_bytes(), &k, Some("SDT9")).unwrap();
    assert_eq!(ours.as_bytes(), &text[..]);

    let ours = signed::create("MESSAGE", content.as_bytes(), &k, None).unwrap();
    let f = dir.join("rs.signed");
    std::fs::write(&f, &ours).unwrap();
    let (ok, out) = run(&["verify", "--key", &public, "--in", f.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(out, content.as_bytes());
    // Type swapped: the v3 digest binds the type, so the peer refuses it.
    std::fs::write(&f, ours.replace("MESSAGE", "CONTRACT")).unwrap();
    let (ok, _) = run(&["verify", "--key", &public, "--in", f.to_str().unwrap()]);
    assert!(!ok);
    // An RSA key does not verify a SHA256D text in the peer either.
    let rsa = Key::generate(1024).unwrap();
    let (_, rsa_pub) = write_keys(&dir, "rsa", &rsa);
    std::fs::write(&f, &ours).unwrap();
    let (ok, _) = run(&["verify", "--key", &rsa_pub, "--in", f.to_str().unwrap()]);
    assert!(!ok);
}

/// The endpoint a peer notary bound: it binds `tcp://127.0.0.1:*` and prints `bound ENDPOINT`
/// as its first line (reading the port back from the bound socket; no port is probed and
/// reused).
fn read_bound(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.strip_prefix("bound ")
        .unwrap_or_else(|| panic!("the peer did not say where it bound: {line:?}"))
        .trim_end()
        .to_string()
}

fn peer_opts() -> ot_transport::transport::Options {
    ot_transport::transport::Options {
        latency_delay_after: 0,
        latency_receive_ms: 500, // python start-up
        latency_receive_no_tries: 5,
        ..ot_transport::transport::Options::default()
    }
}

fn ident(v3: bool) -> Nym {
    if v3 { Nym::v3() } else { Nym::rsa() }
}

/// Python peer as notary, our session as client: (client v3?, notary v3?).
fn python_notary_rust_client(client_v3: bool, notary_v3: bool) {
    let dir = tmpdir(&format!("v3tn-{client_v3}-{notary_v3}"));
    let (c, n) = (ident(client_v3), ident(notary_v3));
    let (n_auth, _) = write_keys(&dir, "n_auth", &n.auth);
    let (n_enc, _) = write_keys(&dir, "n_enc", &n.enc);
    let (_, c_auth_pub) = write_keys(&dir, "c_auth", &c.auth);
    let (_, c_enc_pub) = write_keys(&dir, "c_enc", &c.enc);
    let mut child = Command::new("python3")
        .arg(peer())
        .args([
            "notary",
            "--bind",
            "tcp://127.0.0.1:*",
            "--auth-key",
            &n_auth,
            "--enc-key",
            &n_enc,
            "--nym-id",
            &n.id,
            "--client-auth-pub",
            &c_auth_pub,
            "--client-enc-pub",
            &c_enc_pub,
            "--count",
            "2",
            "--timeout-ms",
            "20000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ep = read_bound(&mut child);
    let mut s = fixtures::session_between(&ep, peer_opts(), &c, &n);
    for i in 0..2 {
        let msg = format!("<OTmessage>\n<checkServerID requestNum=\"{i}\"/>\n</OTmessage>\n");
        assert_eq!(
            s.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Our notary, Python peer as client.
fn rust_notary_python_client(client_v3: bool, notary_v3: bool) {
    let dir = tmpdir(&format!("v3tc-{client_v3}-{notary_v3}"));
    let (c, n) = (ident(client_v3), ident(notary_v3));
    let (c_auth, _) = write_keys(&dir, "c_auth", &c.auth);
    let (c_enc, _) = write_keys(&dir, "c_enc", &c.enc);
    let (_, n_auth_pub) = write_keys(&dir, "n_auth", &n.auth);
    let (_, n_enc_pub) = write_keys(&dir, "n_enc", &n.enc);
    let nt = ot_transport::transport::Notary::bind(
        "tcp://127.0.0.1:*",
        &n.auth,
        &n.enc,
        &n.id,
        peer_opts(),
    )
    .unwrap();
    let ep = nt.endpoint().to_string();
    let (c_auth_k, c_enc_pub_k) = (c.auth.to_public(), c.enc.to_public());
    let h = std::thread::spawn(move || {
        let mut kinds = Vec::new();
        for _ in 0..2 {
            let req = nt.receive(20_000).unwrap();
            let content = req.verify(&c_auth_k).unwrap().to_vec();
            kinds.push((req.is_legacy_envelope(), req.hash_type().to_string()));
            let reply = [b"@".as_slice(), &content].concat();
            nt.reply(&req, &reply, Some(&c_enc_pub_k)).unwrap();
        }
        kinds
    });
    let (ok, out) = run(&[
        "client",
        "--connect",
        &ep,
        "--auth-key",
        &c_auth,
        "--enc-key",
        &c_enc,
        "--notary-nym-id",
        &n.id,
        "--notary-enc-pub",
        &n_enc_pub,
        "--notary-auth-pub",
        &n_auth_pub,
        "--message",
        "hello from the python peer",
        "--repeat",
        "2",
        "--timeout-ms",
        "20000",
    ]);
    assert!(ok);
    assert_eq!(
        out,
        b"@hello from the python peer\n@hello from the python peer\n"
    );
    let kinds = h.join().unwrap();
    let want = (
        !notary_v3,
        if client_v3 { "SHA256D" } else { "SAMY" }.to_string(),
    );
    assert_eq!(kinds, vec![want.clone(), want]);
}

#[test]
fn v3_transport_python_notary_rust_client() {
    python_notary_rust_client(true, true);
    python_notary_rust_client(false, true); // RSA client, v3 notary
}

#[test]
fn v3_transport_rust_notary_python_client() {
    rust_notary_python_client(true, true);
    rust_notary_python_client(false, true); // RSA client, v3 notary
}
