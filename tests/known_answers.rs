//! Independent known-answer vectors: hashes, SAMY, AES-128-CBC, Wycheproof RSA and AES.

mod common;
use common::*;

use ot_transport::ErrorKind;
use ot_transport::envelope::cipher;
use ot_transport::hash::{id_decode, id_encode, samy, sha256, whirlpool};
use ot_transport::keys::Key;
use serde_json::Value;

fn tsv_rows(rel: &str) -> Vec<Vec<String>> {
    read_str(rel)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .skip(1) // column names
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn sha256_and_whirlpool_vectors() {
    let rows = tsv_rows("vectors/hash-vectors.tsv");
    let (mut n_sha, mut n_wp) = (0, 0);
    for r in rows {
        let (alg, label, input, repeat, digest) = (
            &r[0],
            &r[1],
            hex(&r[2]),
            r[3].parse::<usize>().unwrap(),
            hex(&r[4]),
        );
        let msg = input.repeat(repeat);
        match alg.as_str() {
            "SHA-256" => {
                assert_eq!(sha256(&msg).to_vec(), digest, "{label}");
                n_sha += 1;
            }
            "Whirlpool" => {
                assert_eq!(whirlpool(&msg).to_vec(), digest, "{label}");
                n_wp += 1;
            }
            other => panic!("unknown algorithm {other}"),
        }
    }
    assert!(n_sha >= 10 && n_wp >= 10, "{n_sha} {n_wp}");
}

#[test]
fn samy_and_base62_vectors() {
    let rows = tsv_rows("vectors/samy-derived.tsv");
    assert!(rows.len() >= 5);
    for r in rows {
        let msg = hex(&r[1]).repeat(r[2].parse().unwrap());
        let s = samy(&msg);
        assert_eq!(to_hex(&sha256(&msg)), r[3]);
        assert_eq!(to_hex(&whirlpool(&msg)[..32]), r[4]);
        assert_eq!(to_hex(&s), r[5], "{}", r[0]);
        assert_eq!(id_encode(&s).unwrap(), r[6], "{}", r[0]);
        let back = id_decode(&r[6]).unwrap();
        let start = s.iter().position(|&b| b != 0).unwrap();
        assert_eq!(back, s[start..].to_vec());
    }
}

#[test]
fn aes128_cbc_known_answers() {
    let v: Value =
        serde_json::from_str(&read_str("vectors/aes/aes128_cbc_known_answers.json")).unwrap();
    let sp = &v["sp800_38a_F2_1_F2_2"];
    let key: [u8; 16] = hex(sp["key"].as_str().unwrap()).try_into().unwrap();
    let iv: [u8; 16] = hex(sp["iv"].as_str().unwrap()).try_into().unwrap();
    let pt: Vec<u8> = sp["plaintext_blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| hex(b.as_str().unwrap()))
        .collect();
    let ct: Vec<u8> = sp["ciphertext_blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| hex(b.as_str().unwrap()))
        .collect();
    let ours = cipher::encrypt(&key, &iv, &pt).unwrap();
    // PKCS#7 adds one block; the first 64 bytes are raw CBC.
    assert_eq!(&ours[..64], &ct[..]);
    assert_eq!(ours.len(), 80);
    assert_eq!(
        cipher::decrypt(&key, &iv, &ours).unwrap().as_slice(),
        &pt[..]
    );
    for c in v["rfc3602_cases"].as_array().unwrap() {
        let key: [u8; 16] = hex(c["key"].as_str().unwrap()).try_into().unwrap();
        let iv: [u8; 16] = hex(c["iv"].as_str().unwrap()).try_into().unwrap();
        let pt = hex(c["plaintext"].as_str().unwrap());
        let ct = hex(c["ciphertext"].as_str().unwrap());
        assert_eq!(
            &cipher::encrypt(&key, &iv, &pt).unwrap()[..ct.len()],
            &ct[..],
            "{}",
            c["case"]
        );
    }
    // Botan's PKCS#7 set: lengths 0..64, exact ciphertexts including padding.
    let rows = tsv_rows("vectors/aes/aes128_cbc_pkcs7_botan.tsv");
    assert!(rows.len() > 60);
    for r in rows {
        let key: [u8; 16] = hex(&r[0]).try_into().unwrap();
        let iv: [u8; 16] = hex(&r[1]).try_into().unwrap();
        let pt = hex(&r[2]);
        let ct = hex(&r[3]);
        assert_eq!(cipher::encrypt(&key, &iv, &pt).unwrap(), ct);
        assert_eq!(cipher::decrypt(&key, &iv, &ct).unwrap().as_slice(), &pt[..]);
    }
}

#[test]
fn wycheproof_aes_cbc_pkcs5() {
    let v: Value =
        serde_json::from_str(&read_str("vectors/wycheproof/aes_cbc_pkcs5_test.json")).unwrap();
    let mut n = 0;
    for g in v["testGroups"].as_array().unwrap() {
        if g["keySize"] != 128 {
            continue;
        }
        for t in g["tests"].as_array().unwrap() {
            let key: [u8; 16] = hex(t["key"].as_str().unwrap()).try_into().unwrap();
            let iv: [u8; 16] = hex(t["iv"].as_str().unwrap()).try_into().unwrap();
            let msg = hex(t["msg"].as_str().unwrap());
            let ct = hex(t["ct"].as_str().unwrap());
            let id = &t["tcId"];
            match t["result"].as_str().unwrap() {
                "valid" => {
                    assert_eq!(cipher::encrypt(&key, &iv, &msg).unwrap(), ct, "tc {id}");
                    assert_eq!(
                        cipher::decrypt(&key, &iv, &ct).unwrap().as_slice(),
                        &msg[..],
                        "tc {id}"
                    );
                }
                _ => assert!(
                    !ct.len().is_multiple_of(16) || cipher::decrypt(&key, &iv, &ct).is_none(),
                    "invalid tc {id} decrypted"
                ),
            }
            n += 1;
        }
    }
    assert!(n > 50);
}

/// The key-unwrap step of envelope open, on Wycheproof's PKCS#1 v1.5 decryption set: valid
/// cases yield the message; invalid ones never yield it (implicit rejection returns unrelated
/// bytes) and never crash.
#[test]
fn wycheproof_rsa_pkcs1_decrypt_through_unwrap() {
    let v: Value =
        serde_json::from_str(&read_str("vectors/wycheproof/rsa_pkcs1_2048_test.json")).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for g in v["testGroups"].as_array().unwrap() {
        let key = Key::load(&hex(g["privateKeyPkcs8"].as_str().unwrap()), None).unwrap();
        for t in g["tests"].as_array().unwrap() {
            let ct = hex(t["ct"].as_str().unwrap());
            let msg = hex(t["msg"].as_str().unwrap());
            let got = key.unwrap_pkcs1(&ct);
            match t["result"].as_str().unwrap() {
                "valid" => {
                    assert_eq!(got.unwrap().as_slice(), &msg[..], "tc {}", t["tcId"]);
                    valid += 1;
                }
                _ => {
                    if let Ok(bytes) = got {
                        assert_ne!(bytes.as_slice(), &msg[..], "tc {}", t["tcId"]);
                    }
                    invalid += 1;
                }
            }
        }
    }
    assert_eq!((valid, invalid), (42, 25));
}

/// Wycheproof RSASSA-PSS (SHA-256, MGF1-SHA-256) through the legacy verify path, which
/// recovers the salt length from the signature as OpenSSL's `-2` did. Every valid signature
/// verifies; every invalid one is rejected, except those whose only defect is a salt length
/// different from the file's fixed one, which legacy OT accepts by design.
#[test]
fn wycheproof_pss_verify() {
    for file in [
        "rsa_pss_2048_sha256_mgf1_0_test.json",
        "rsa_pss_2048_sha256_mgf1_32_test.json",
    ] {
        let v: Value =
            serde_json::from_str(&read_str(&format!("vectors/wycheproof/{file}"))).unwrap();
        let (mut valid, mut rejected, mut other_salt) = (0, 0, 0);
        for g in v["testGroups"].as_array().unwrap() {
            let key = Key::load(g["publicKeyPem"].as_str().unwrap().as_bytes(), None).unwrap();
            for t in g["tests"].as_array().unwrap() {
                let msg = hex(t["msg"].as_str().unwrap());
                let sig = hex(t["sig"].as_str().unwrap());
                let r = key.verify_digest(&sha256(&msg), &sig);
                match t["result"].as_str().unwrap() {
                    "valid" => {
                        assert!(r.is_ok(), "{file} tc {}", t["tcId"]);
                        valid += 1;
                    }
                    _ if t["comment"]
                        .as_str()
                        .unwrap()
                        .starts_with("s_len changed to ") =>
                    {
                        // A well-formed PSS signature with another salt length: OpenSSL's
                        // auto-recovery (-2), and so legacy OT, accepts it.
                        assert!(r.is_ok(), "{file} tc {}", t["tcId"]);
                        other_salt += 1;
                    }
                    _ => {
                        assert_eq!(
                            r.map_err(|e| e.kind()).err(),
                            Some(ErrorKind::BadSignature),
                            "{file} tc {} ({})",
                            t["tcId"],
                            t["comment"]
                        );
                        rejected += 1;
                    }
                }
            }
        }
        assert!(
            valid > 50 && rejected > 30 && other_salt >= 4,
            "{file}: {valid} {rejected} {other_salt}"
        );
    }
}

/// The envelope's own key-unwrap (fixed 16-byte PKCS#1 v1.5 decoding, constant-time) on the same
/// Wycheproof set: valid 16-byte messages come out with the flag set; every other case, valid
/// with another length or invalid, is flagged invalid.
#[test]
fn wycheproof_rsa_pkcs1_through_the_fixed_length_unwrap() {
    let v: Value =
        serde_json::from_str(&read_str("vectors/wycheproof/rsa_pkcs1_2048_test.json")).unwrap();
    let (mut sixteen, mut rejected) = (0, 0);
    for g in v["testGroups"].as_array().unwrap() {
        let key = Key::load(&hex(g["privateKeyPkcs8"].as_str().unwrap()), None).unwrap();
        for t in g["tests"].as_array().unwrap() {
            let ct = hex(t["ct"].as_str().unwrap());
            let msg = hex(t["msg"].as_str().unwrap());
            let valid16 = t["result"] == "valid" && msg.len() == 16;
            match key.unwrap_session_key_for_tests(&ct) {
                Ok((bytes, ok)) if valid16 => {
                    assert_eq!((ok, bytes.as_slice()), (1, &msg[..]), "tc {}", t["tcId"]);
                    sixteen += 1;
                }
                Ok((_, ok)) => {
                    assert_eq!(ok, 0, "tc {} ({}) accepted", t["tcId"], t["comment"]);
                    rejected += 1;
                }
                // Only a ciphertext whose length or value is out of range errors (public facts).
                Err(_) => {
                    assert!(!valid16, "tc {}", t["tcId"]);
                    rejected += 1;
                }
            }
        }
    }
    assert!(rejected >= 50, "{sixteen} {rejected}");
}

#[test]
fn traditional_pem_keys_of_every_cipher_decrypt() {
    // OpenSSL-written DEK-Info PEMs (tests/data/vectors/traditional-pem/SOURCES.md): every
    // cipher the loader names goes through the one CBC helper.
    let public = Key::load(&read("vectors/traditional-pem/pub.pem"), None).unwrap();
    let want = public.nym_id().unwrap();
    for (file, dek) in [
        ("key-aes128.pem", "AES-128-CBC"),
        ("key-aes192.pem", "AES-192-CBC"),
        ("key-aes256.pem", "AES-256-CBC"),
        ("key-des3.pem", "DES-EDE3-CBC"),
        ("key-des.pem", "DES-CBC"),
    ] {
        let pem = read(&format!("vectors/traditional-pem/{file}"));
        assert!(String::from_utf8_lossy(&pem).contains(&format!("DEK-Info: {dek},")));
        let k = Key::load(&pem, Some(b"hostile-test")).unwrap();
        assert!(k.is_private(), "{file}");
        assert_eq!(k.nym_id().unwrap(), want, "{file}");
        let e = Key::load(&pem, Some(b"wrong")).err().unwrap();
        assert_eq!(
            e.kind(),
            ot_transport::ErrorKind::BadPassphrase,
            "{file}: {e:?}"
        );
    }
}

#[test]
fn cbc_decryption_has_one_implementation() {
    // Envelopes, symmetric keys and traditional PEM keys share src/cipher/mod.rs.
    fn walk(dir: &std::path::Path, hits: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, hits);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                if text.contains("cbc::Decryptor") || text.contains("decrypt_padded") {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut hits = Vec::new();
    walk(&src, &mut hits);
    let want = src.join("cipher").join("mod.rs").display().to_string();
    assert_eq!(hits, vec![want]);
}
