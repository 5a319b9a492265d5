//! Crypto interop with the independent Python peer (`interop/legacy_peer.py`, written from the
//! wire-format spec with pyzmq + `cryptography`, not from this crate): envelopes and signed text
//! both ways, NymIDs and SAMY. Needs python3 with `cryptography` (scripts/test installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use ot_transport::envelope::{Envelope, Recipient};
use ot_transport::keys::{Key, KeyFormat};
use ot_transport::{hash, signed};

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
