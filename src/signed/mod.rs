//! OT signed text (legacy `OTContract` bookends) with SAMY/PSS signatures.
//!
//! ```text
//! -----BEGIN SIGNED <TYPE>-----
//! Hash: SAMY
//!
//! <content, every line ending \n>
//! -----BEGIN <TYPE> SIGNATURE-----
//! Version: Open Transactions 0.90.b
//! Comment: http://github.com/FellowTraveler/Open-Transactions/wiki
//! [Meta:    KNMS]
//!
//! <data-path armor of the raw RSA signature>
//! -----END <TYPE> SIGNATURE-----
//! ```
//!
//! The whole text is trimmed, so it ends right after the last `-----END … SIGNATURE-----`.
//! The signed bytes are the content lines exactly as parsed by the legacy reader: each line
//! verbatim (escape dashes kept, `\r` kept) plus `\n`. The signature is EMSA-PSS (SHA-256,
//! MGF1-SHA-256, maximum salt) over SAMY(content), see [`Key::sign_digest`].
//!
//! Suite v3 (an Ed25519 signer) writes `Hash: SHA256D` and signs, with pure Ed25519, the
//! 32-byte digest `SHA256D(TYPE || 0x0A || content)`: the document type is bound, so a v3
//! `MESSAGE` signature cannot be replayed as a `CONTRACT`. The key chooses: RSA signs SAMY,
//! Ed25519 signs SHA256D, and verification refuses every other pairing. Parsing is stricter than
//! the legacy reader for both hash types: a second `Hash: ` line (which the legacy reader would
//! take as a switch, silently dropping the line after it) makes the text malformed.

use crate::armor;
use crate::error::{Error, ErrorKind, Result, quote};
use crate::hash;
use crate::keys::{Algorithm, Key};

/// The `Hash:` value of legacy (RSA) signed texts.
pub const HASH_SAMY: &str = "SAMY";
/// The `Hash:` value of suite v3 (Ed25519) signed texts.
pub const HASH_SHA256D: &str = "SHA256D";
/// Length of an Ed25519 signature.
pub const ED25519_SIG_LEN: usize = 64;

/// The suite v3 signed digest: SHA256D(TYPE || 0x0A || content).
pub fn v3_digest(doc_type: &str, content: &[u8]) -> [u8; 32] {
    let mut m = Vec::with_capacity(doc_type.len() + 1 + content.len());
    m.extend_from_slice(doc_type.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(content);
    hash::sha256d(&m)
}

/// Longest content line, in the characters (bytes) a legacy reader keeps (a `\r` before the `\n`
/// counts: the reader keeps it), that survives the legacy reader unchanged.
///
/// `OTString::sgets` reads a line into a 2048-byte buffer and stops after 2047 characters
/// *without* consuming the `\n`: a line of 2047 characters comes back followed by an extra empty
/// line, and a longer one is cut into pieces. Either way the legacy library verifies other bytes
/// than it signed, so it cannot verify such a text, not even one it signed itself. Lines of up
/// to 2046 characters read back as written.
pub const MAX_LINE: usize = 2046;
/// Largest signed text accepted for parsing (64 MiB).
pub const MAX_SIGNED_TEXT: usize = 64 * 1024 * 1024;
/// Most signature sections a signed text may carry. Legacy texts carry one section per signer
/// (in practice one); verifying tries every section, so without a cap a text stuffed with
/// thousands of foreign sections costs thousands of signature checks. More is `Malformed`.
pub const MAX_SIGNATURES: usize = 16;

/// One signature section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The raw RSA signature bytes.
    pub bytes: Vec<u8>,
    /// The `Meta:` value (4 characters: key type A/E/S, then first characters of the NymID,
    /// master credential ID and sub-credential ID), if present.
    pub meta: Option<String>,
}

/// A parsed signed document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedText {
    /// `<TYPE>` from `-----BEGIN SIGNED <TYPE>-----`.
    pub doc_type: String,
    /// The `Hash:` value, upper-cased (`SAMY` when absent).
    pub hash_type: String,
    /// The signed content: exactly the bytes the signatures cover.
    pub content: Vec<u8>,
    /// Signature sections, in order.
    pub signatures: Vec<Signature>,
}

/// The white space a signed text is trimmed of (as the legacy reader trimmed it).
pub(crate) const WS: &[char] = &[' ', '\t', '\x0b', '\x0c', '\n', '\r'];

fn check_meta(m: &str) -> Result<()> {
    let b = m.as_bytes();
    let ok = b.len() == 4
        && matches!(b[0], b'A' | b'E' | b'S')
        && b[1..].iter().all(u8::is_ascii_alphanumeric);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "Meta must be 4 characters: A, E or S, then three base62 characters (e.g. \"ADT9\")",
        ))
    }
}

/// Signs `content` as a `-----BEGIN SIGNED <doc_type>-----` document with one signature.
///
/// A final `\n` is added to `content` when missing (the legacy reader re-terminates every line,
/// so content without it could not verify). Content is refused when a legacy reader would
/// change it: NUL bytes, lines longer than [`MAX_LINE`] (2046) characters, counting a `\r`
/// before the `\n`, lines starting with `-` that are not escaped as `- -`, or lines starting with
/// `Hash: `. (The line-length limit applies to RSA/SAMY texts only: legacy readers never accept
/// SHA256D texts anyway.)
pub fn create(doc_type: &str, content: &[u8], signer: &Key, meta: Option<&str>) -> Result<String> {
    armor::check_type(doc_type)?;
    if let Some(m) = meta {
        check_meta(m)?;
    }
    let mut text = std::str::from_utf8(content)
        .map_err(|_| Error::invalid("signed content must be UTF-8 text"))?
        .to_string();
    if text.contains('\0') {
        return Err(Error::invalid("signed content contains a NUL byte"));
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // The line limit protects legacy readers, which only ever see SAMY texts. `line` keeps a
    // CRLF line's `\r`, as the legacy reader does, so the `\r` counts toward the limit.
    let legacy = signer.algorithm() == Algorithm::Rsa;
    for (i, line) in text[..text.len() - 1].split('\n').enumerate() {
        if legacy && line.len() > MAX_LINE {
            return Err(Error::invalid(format!(
                "content line {} is {} bytes long (a final '\\r' counts); a legacy reader cuts \
                 lines longer than {MAX_LINE}",
                i + 1,
                line.len()
            )));
        }
        if line.starts_with('-') && !line.starts_with("- -") {
            return Err(Error::invalid(format!(
                "content line {} starts with '-': escape it as \"- -\" as legacy OT does",
                i + 1
            )));
        }
        if line.starts_with("Hash: ") {
            return Err(Error::invalid(format!(
                "content line {} starts with \"Hash: \", which a legacy reader would consume",
                i + 1
            )));
        }
    }
    let (sig, hash_name) = match signer.algorithm() {
        Algorithm::Rsa => (signer.sign_digest(&hash::samy(text.as_bytes()))?, HASH_SAMY),
        Algorithm::Ed25519 => (
            signer
                .sign_ed25519(&v3_digest(doc_type, text.as_bytes()))?
                .to_vec(),
            HASH_SHA256D,
        ),
        Algorithm::X25519 => {
            return Err(Error::invalid(
                "an X25519 key cannot sign: sign with an RSA or Ed25519 key",
            ));
        }
    };
    let sig_armor = armor::encode(&sig, armor::Kind::Data)?;
    let mut out = String::with_capacity(text.len() + sig_armor.len() + 300);
    out.push_str("-----BEGIN SIGNED ");
    out.push_str(doc_type);
    out.push_str("-----\nHash: ");
    out.push_str(hash_name);
    out.push_str("\n\n");
    out.push_str(&text);
    out.push_str("-----BEGIN ");
    out.push_str(doc_type);
    out.push_str(" SIGNATURE-----\nVersion: Open Transactions ");
    out.push_str(armor::LEGACY_VERSION);
    out.push('\n');
    out.push_str(armor::COMMENT_LINE);
    out.push('\n');
    if let Some(m) = meta {
        out.push_str("Meta:    ");
        out.push_str(m);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&sig_armor);
    out.push_str("-----END ");
    out.push_str(doc_type);
    out.push_str(" SIGNATURE-----");
    Ok(out)
}

/// Parses a signed document by the legacy reader's rules, without verifying anything.
///
/// Stricter than the legacy reader where it would verify other bytes than the text shows: in a
/// text that is not `Hash: SHA256D`, a content line longer than [`MAX_LINE`] characters (a `\r`
/// before the `\n` counts) is [`ErrorKind::Malformed`]. The legacy reader would cut it (a
/// 2047-character line gains an empty line after it), so no such text signed as written, by
/// the legacy library or anyone else, verifies there; only one whose signature covers the cut
/// content would, and we do not reproduce the cut.
pub fn parse(raw: &[u8]) -> Result<SignedText> {
    if raw.len() > MAX_SIGNED_TEXT {
        return Err(Error::invalid("signed text is larger than 64 MiB"));
    }
    let text =
        std::str::from_utf8(raw).map_err(|_| Error::malformed("signed text is not UTF-8"))?;
    let text = text.trim_matches(WS);
    let mut lines = text.split('\n');
    let mut doc_type = None;
    for l in lines.by_ref() {
        let b = l.as_bytes();
        if b.len() > 4 && b[0] == b'-' && &b[2..5] == b"---" && l.contains("BEGIN") {
            let t = l.trim_start_matches("- ").trim_start_matches('-');
            let t = t
                .strip_prefix("BEGIN SIGNED ")
                .unwrap_or(t.trim_start_matches("BEGIN "));
            doc_type = Some(t.trim_end_matches('-').to_string());
            break;
        }
    }
    let doc_type = doc_type.ok_or_else(|| Error::malformed("no -----BEGIN SIGNED line found"))?;
    let mut hash_type = "SAMY".to_string();
    let mut content = String::new();
    let mut signatures = Vec::new();
    let mut in_sig = false;
    let mut sig_body = String::new();
    let mut meta: Option<String> = None;
    let mut skip_next = false;
    let mut seen_hash = false;
    let finish =
        |body: &mut String, meta: &mut Option<String>, sigs: &mut Vec<Signature>| -> Result<()> {
            let bytes = armor::decode_body(body, armor::Kind::Data)
                .map_err(|e| Error::malformed(format!("signature armor: {}", e.detail())))?;
            if sigs.len() >= MAX_SIGNATURES {
                return Err(Error::malformed(format!(
                    "more than {MAX_SIGNATURES} signature sections"
                )));
            }
            sigs.push(Signature {
                bytes,
                meta: meta.take(),
            });
            body.clear();
            Ok(())
        };
    let mut after_hash = false;
    for l in lines {
        if after_hash {
            // Stricter than legacy: the line the legacy reader drops after `Hash:` must be the
            // blank one, so nothing (a second `Hash:` line, say) is silently skipped.
            after_hash = false;
            if !l.trim_end_matches('\r').is_empty() {
                return Err(Error::malformed(
                    "the line after the \"Hash: \" line is not blank",
                ));
            }
            continue;
        }
        if skip_next {
            skip_next = false;
            continue;
        }
        if !in_sig {
            if let Some(h) = l.strip_prefix("Hash: ") {
                // Stricter than legacy: one hash line, before any content.
                if seen_hash || !content.is_empty() {
                    return Err(Error::malformed(
                        "a second \"Hash: \" line inside the signed content",
                    ));
                }
                seen_hash = true;
                hash_type = h.trim_end_matches('\r').to_ascii_uppercase();
                after_hash = true;
                continue;
            }
            if l.starts_with('-') {
                let b = l.as_bytes();
                if b.len() > 4
                    && &b[1..5] == b"----"
                    && l.contains("SIGNATURE")
                    && l.contains("BEGIN")
                {
                    in_sig = true;
                    continue;
                }
                if !l.starts_with("- -") {
                    return Err(Error::malformed(
                        "a content line starts with '-' without the \"- -\" escape",
                    ));
                }
            }
            if l.len() > MAX_LINE && hash_type != HASH_SHA256D {
                return Err(Error::malformed(format!(
                    "a content line is longer than {MAX_LINE} bytes (a final '\\r' counts), \
                     which a legacy reader would cut"
                )));
            }
            content.push_str(l);
            content.push('\n');
        } else {
            if l.starts_with('-') {
                // END of this signature, or BEGIN of the next one.
                if !sig_body.is_empty() {
                    finish(&mut sig_body, &mut meta, &mut signatures)?;
                }
                continue;
            }
            if l.starts_with("Version:") {
                skip_next = true;
                continue;
            }
            if let Some(m) = l.strip_prefix("Meta:") {
                let m = m.trim_matches(WS);
                check_meta(m)
                    .map_err(|_| Error::malformed(format!("invalid Meta value {}", quote(m))))?;
                meta = Some(m.to_string());
                skip_next = true;
                continue;
            }
            if l.len() < 2 || l.starts_with("Comment:") {
                continue;
            }
            sig_body.push_str(l);
            sig_body.push('\n');
        }
    }
    if !sig_body.is_empty() {
        return Err(Error::malformed("the last signature has no END line"));
    }
    Ok(SignedText {
        doc_type,
        hash_type,
        content: content.into_bytes(),
        signatures,
    })
}

impl SignedText {
    /// Verifies that at least one signature was made by `signer`; returns the content.
    ///
    /// `Hash: SAMY` verifies only with an RSA key and `Hash: SHA256D` only with an Ed25519 key;
    /// any other pairing is [`ErrorKind::InvalidArgument`] (wrong key type), never a success.
    pub fn verify(&self, signer: &Key) -> Result<&[u8]> {
        let alg = signer.algorithm();
        let ok = match self.hash_type.as_str() {
            HASH_SAMY if alg == Algorithm::Rsa => true,
            HASH_SHA256D if alg == Algorithm::Ed25519 => true,
            HASH_SAMY | HASH_SHA256D => false,
            other => {
                return Err(Error::unsupported(format!(
                    "hash type {} is not supported (only SAMY and SHA256D)",
                    quote(other)
                )));
            }
        };
        if !ok {
            return Err(Error::invalid(format!(
                "a \"Hash: {}\" text verifies only with {} key, not {:?}",
                self.hash_type,
                if self.hash_type == HASH_SAMY {
                    "an RSA"
                } else {
                    "an Ed25519"
                },
                alg
            )));
        }
        if self.signatures.is_empty() {
            return Err(Error::new(
                ErrorKind::BadSignature,
                "the document has no signature",
            ));
        }
        let verified = if alg == Algorithm::Rsa {
            let digest = hash::samy(&self.content);
            self.signatures
                .iter()
                .any(|s| signer.verify_digest(&digest, &s.bytes).is_ok())
        } else {
            let digest = v3_digest(&self.doc_type, &self.content);
            self.signatures.iter().any(|s| {
                s.bytes.len() == ED25519_SIG_LEN && signer.verify_ed25519(&digest, &s.bytes).is_ok()
            })
        };
        if verified {
            Ok(&self.content)
        } else {
            Err(Error::new(
                ErrorKind::BadSignature,
                "no signature verifies with this key",
            ))
        }
    }
}

/// Parses and verifies in one step; returns the verified content.
pub fn verify(raw: &[u8], signer: &Key) -> Result<Vec<u8>> {
    let p = parse(raw)?;
    p.verify(signer).map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_parse_verify() {
        let k = Key::generate(1024).unwrap();
        let content = b"<OTmessage>\n- -----BEGIN X-----\n\n</OTmessage>";
        let t = create("MESSAGE", content, &k, Some("ADT9")).unwrap();
        assert!(t.starts_with("-----BEGIN SIGNED MESSAGE-----\nHash: SAMY\n\n<OTmessage>\n"));
        assert!(t.ends_with("-----END MESSAGE SIGNATURE-----"));
        assert!(t.contains("\nMeta:    ADT9\n\n"));
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.doc_type, "MESSAGE");
        assert_eq!(p.content, [&content[..], b"\n"].concat());
        assert_eq!(p.signatures[0].meta.as_deref(), Some("ADT9"));
        assert_eq!(verify(t.as_bytes(), &k.to_public()).unwrap(), p.content);
        let other = Key::generate(1024).unwrap();
        assert_eq!(
            verify(t.as_bytes(), &other).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
        let tampered = t.replace("<OTmessage>", "<OTmessagE>");
        assert_eq!(
            verify(tampered.as_bytes(), &k).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
    }

    #[test]
    fn refuses_content_a_legacy_reader_would_change() {
        let k = Key::generate(1024).unwrap();
        assert!(create("MESSAGE", b"-bad\n", &k, None).is_err());
        assert!(create("MESSAGE", b"Hash: x\n", &k, None).is_err());
        assert!(create("MESSAGE", b"a\0b\n", &k, None).is_err());
        assert!(create("message", b"x\n", &k, None).is_err());
        assert!(create("MESSAGE", b"x\n", &k, Some("Q123")).is_err());
    }

    /// Appends `extra` copies of the text's own signature section (a foreign signer's sections
    /// cost the same to check).
    fn stuffed(text: &str, doc_type: &str, extra: usize) -> String {
        let begin = format!("-----BEGIN {doc_type} SIGNATURE-----");
        let section = &text[text.find(&begin).unwrap()..];
        let mut out = text.to_string();
        for _ in 0..extra {
            out.push('\n');
            out.push_str(section);
        }
        out
    }

    #[test]
    fn signature_sections_are_capped_for_both_hash_types() {
        let rsa = Key::generate(1024).unwrap();
        let ed = Key::generate_ed25519().unwrap();
        for k in [&rsa, &ed] {
            let t = create("MESSAGE", b"stuffed?\n", k, None).unwrap();
            let at_cap = stuffed(&t, "MESSAGE", MAX_SIGNATURES - 1);
            let p = parse(at_cap.as_bytes()).unwrap();
            assert_eq!(p.signatures.len(), MAX_SIGNATURES);
            assert_eq!(p.verify(k).unwrap(), b"stuffed?\n");
            let over = stuffed(&t, "MESSAGE", MAX_SIGNATURES);
            let e = parse(over.as_bytes()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Malformed, "{e:?}");
            assert_eq!(
                verify(over.as_bytes(), k).unwrap_err().kind(),
                ErrorKind::Malformed
            );
        }
    }

    /// `<a>`, a line of `n` bytes ending with `eol`, `</a>`.
    fn long_line(n: usize, eol: &str) -> Vec<u8> {
        format!("<a>\n{}{eol}</a>\n", "x".repeat(n)).into_bytes()
    }

    #[test]
    fn signing_refuses_lines_the_legacy_reader_would_cut() {
        // The legacy reader keeps a CRLF line's '\r', so it counts: 2045 + CR is the longest
        // CRLF line, 2046 the longest LF line.
        let k = Key::generate(1024).unwrap();
        for (eol, longest) in [("\n", 2046), ("\r\n", 2045)] {
            for n in 2044..=2048 {
                let content = long_line(n, eol);
                let r = create("MESSAGE", &content, &k, None);
                if n <= longest {
                    let t = r.unwrap_or_else(|e| panic!("{n} {eol:?}: {e}"));
                    assert_eq!(verify(t.as_bytes(), &k).unwrap(), content, "{n} {eol:?}");
                } else {
                    let e = r.unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{n} {eol:?}");
                    assert!(e.detail().contains("content line 2 is"), "{e}");
                }
            }
        }
        // Bytes, not characters: 1023 'é' are 2046 bytes; one more ASCII byte is too many.
        let ok = format!("{}\n", "é".repeat(1023));
        assert!(create("MESSAGE", ok.as_bytes(), &k, None).is_ok());
        let long = format!("{}x\n", "é".repeat(1023));
        let e = create("MESSAGE", long.as_bytes(), &k, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        // The last line counts too, with or without its final newline.
        assert!(create("MESSAGE", "y".repeat(2046).as_bytes(), &k, None).is_ok());
        assert!(create("MESSAGE", "y".repeat(2047).as_bytes(), &k, None).is_err());
        // SHA256D texts are never read by a legacy reader: no limit.
        let ed = Key::generate_ed25519().unwrap();
        for n in [2047, 2048, 5000] {
            let content = long_line(n, "\n");
            let t = create("MESSAGE", &content, &ed, None).unwrap();
            assert_eq!(verify(t.as_bytes(), &ed.to_public()).unwrap(), content);
        }
    }
}
