//! The transport-key document: a notary's CURVE public key, signed by its identity.
//!
//! A notary (or a worker for the broker that fronts it) answers a v2 `PING` that asks for them
//! (its id's top bit set) with one document per identity it serves. A client that knows the notary's authentication key (from the server
//! contract, as for everything else) verifies the document, checks that it names the notary's
//! NymID and is valid now, and from then on connects with CURVE to the key and endpoint it names:
//! nothing is trusted on first use, and a peer that is not the notary cannot make a client talk
//! CURVE to anyone else.
//!
//! The document is a signed text of type `TRANSPORT KEY` whose content is:
//!
//! ```text
//! <otTransportKey version="1"
//!  notaryID="<NymID>"
//!  curveKey="<Z85, 40 characters>"
//!  validFrom="<Unix seconds>"
//!  validUntil="<Unix seconds>">
//! <endpoint>tcp://*:7086</endpoint>
//! </otTransportKey>
//! ```
//!
//! with 1 to [`MAX_ENDPOINTS`] `endpoint` lines (`tcp://*:PORT`: the port on the host the client
//! already reached; or a full endpoint). The signature **covers the type**, so that nothing else
//! the notary's key signs — a reply whose content an application echoed from a request, say —
//! can pass for a transport key: with an Ed25519 key the suite v3 digest already does
//! (`SHA256D("TRANSPORT KEY" || 0x0A || content)`); with an RSA key the text says `Hash:
//! SAMY-TYPED` and the RSA-PSS signature is over `SAMY("TRANSPORT KEY" || 0x00 || content)` — a
//! NUL no signed content ever has, so no `SAMY` signature of the same key can be reused.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::armor;
use crate::error::{Error, ErrorKind, Result};
use crate::hash;
use crate::keys::{Algorithm, Key};
use crate::signed;

/// The signed text's type.
pub const DOC_TYPE: &str = "TRANSPORT KEY";
/// The `Hash:` of an RSA-signed document (see the module docs).
pub const HASH_SAMY_TYPED: &str = "SAMY-TYPED";
/// Most endpoints one document names.
pub const MAX_ENDPOINTS: usize = 8;
/// Longest endpoint a document may name.
pub const MAX_ENDPOINT_LEN: usize = 256;
/// Largest document accepted (an RSA-16384 signature fits with room to spare).
pub const MAX_DOC: usize = 16 * 1024;
/// Clock difference tolerated between notary and client when checking the validity period.
pub const CLOCK_SKEW_S: u64 = 300;

/// What a transport-key document says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportKeyDoc {
    /// The notary's NymID (of the identity that signs the document).
    pub notary_id: String,
    /// The CURVE public key to connect with.
    pub curve_key: [u8; 32],
    /// Valid from (Unix seconds).
    pub valid_from: u64,
    /// Valid until (Unix seconds).
    pub valid_until: u64,
    /// Where to connect with that key (`tcp://*:PORT` means the host already reached).
    pub endpoints: Vec<String>,
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bad(why: &str) -> Error {
    Error::malformed(format!("not a transport-key document: {why}"))
}

fn typed_digest(content: &[u8]) -> [u8; 32] {
    let mut m = Vec::with_capacity(DOC_TYPE.len() + 1 + content.len());
    m.extend_from_slice(DOC_TYPE.as_bytes());
    m.push(0);
    m.extend_from_slice(content);
    hash::samy(&m)
}

fn check_endpoint(ep: &str) -> Result<()> {
    let ok = !ep.is_empty()
        && ep.len() <= MAX_ENDPOINT_LEN
        && (ep.starts_with("tcp://") || ep.starts_with("ipc://"))
        && ep
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>' && b != b'"');
    if ok {
        Ok(())
    } else {
        Err(bad(
            "an endpoint must be tcp:// or ipc://, printable, at most 256 characters",
        ))
    }
}

impl TransportKeyDoc {
    /// The document's content (before signing).
    pub fn content(&self) -> Result<String> {
        if self.endpoints.is_empty() || self.endpoints.len() > MAX_ENDPOINTS {
            return Err(Error::invalid(format!(
                "a transport-key document names 1 to {MAX_ENDPOINTS} endpoints"
            )));
        }
        for ep in &self.endpoints {
            check_endpoint(ep).map_err(|_| {
                Error::invalid(format!(
                    "endpoint {} cannot be published (tcp:// or ipc://, printable, at most \
                     {MAX_ENDPOINT_LEN} characters)",
                    crate::error::quote(ep)
                ))
            })?;
        }
        if !is_nym_id(&self.notary_id) {
            return Err(Error::invalid("the NymID must be 1-128 base62 characters"));
        }
        let key = super::z85::encode(&self.curve_key)?;
        let mut s = format!(
            "<otTransportKey version=\"1\"\n notaryID=\"{}\"\n curveKey=\"{}\"\n validFrom=\"{}\"\n validUntil=\"{}\">\n",
            self.notary_id, &*key, self.valid_from, self.valid_until
        );
        for ep in &self.endpoints {
            s.push_str("<endpoint>");
            s.push_str(ep);
            s.push_str("</endpoint>\n");
        }
        s.push_str("</otTransportKey>\n");
        Ok(s)
    }

    /// Signs the document with the notary's authentication key (RSA or Ed25519).
    pub fn sign(&self, auth: &Key) -> Result<String> {
        let content = self.content()?;
        match auth.algorithm() {
            Algorithm::Ed25519 => signed::create(DOC_TYPE, content.as_bytes(), auth, None),
            Algorithm::Rsa => {
                let sig = auth.sign_digest(&typed_digest(content.as_bytes()))?;
                let sig_armor = armor::encode(&sig, armor::Kind::Data)?;
                Ok(format!(
                    "-----BEGIN SIGNED {DOC_TYPE}-----\nHash: {HASH_SAMY_TYPED}\n\n{content}\
                     -----BEGIN {DOC_TYPE} SIGNATURE-----\nVersion: Open Transactions {}\n{}\n\n\
                     {sig_armor}-----END {DOC_TYPE} SIGNATURE-----",
                    armor::LEGACY_VERSION,
                    armor::COMMENT_LINE
                ))
            }
            Algorithm::X25519 => Err(Error::invalid(
                "an X25519 key cannot sign: sign with an RSA or Ed25519 key",
            )),
        }
    }

    /// Parses the content of a document (after its signature was checked).
    fn parse_content(content: &[u8]) -> Result<TransportKeyDoc> {
        let text = std::str::from_utf8(content).map_err(|_| bad("not UTF-8"))?;
        let mut lines = text.lines();
        let mut next = || lines.next().ok_or_else(|| bad("too short"));
        if next()? != "<otTransportKey version=\"1\"" {
            return Err(bad("the first line is not <otTransportKey version=\"1\""));
        }
        let attr = |line: &str, name: &str, last: bool| -> Result<String> {
            let close = if last { "\">" } else { "\"" };
            line.strip_prefix(&format!(" {name}=\""))
                .and_then(|r| r.strip_suffix(close))
                .filter(|v| !v.contains('"'))
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("no {name} line where it belongs")))
        };
        let notary_id = attr(next()?, "notaryID", false)?;
        let key = attr(next()?, "curveKey", false)?;
        let number = |v: String, what: &str| -> Result<u64> {
            if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!("{what} is not a number")));
            }
            v.parse()
                .map_err(|_| bad(&format!("{what} is not a number")))
        };
        let valid_from = number(attr(next()?, "validFrom", false)?, "validFrom")?;
        let valid_until = number(attr(next()?, "validUntil", true)?, "validUntil")?;
        let mut endpoints = Vec::new();
        loop {
            let line = next()?;
            if line == "</otTransportKey>" {
                break;
            }
            let ep = line
                .strip_prefix("<endpoint>")
                .and_then(|r| r.strip_suffix("</endpoint>"))
                .ok_or_else(|| bad("a line is neither <endpoint> nor the end"))?;
            check_endpoint(ep)?;
            if endpoints.len() == MAX_ENDPOINTS {
                return Err(bad("too many endpoints"));
            }
            endpoints.push(ep.to_string());
        }
        if lines.next().is_some() {
            return Err(bad("text after </otTransportKey>"));
        }
        if endpoints.is_empty() {
            return Err(bad("no endpoint"));
        }
        if !is_nym_id(&notary_id) {
            return Err(bad("notaryID is not a NymID"));
        }
        if key.len() != 40 {
            return Err(bad("curveKey is not a 40-character Z85 key"));
        }
        let curve_key: [u8; 32] = super::z85::decode(&key)
            .ok()
            .and_then(|v| v.as_slice().try_into().ok())
            .ok_or_else(|| bad("curveKey is not a 40-character Z85 key"))?;
        Ok(TransportKeyDoc {
            notary_id,
            curve_key,
            valid_from,
            valid_until,
            endpoints,
        })
    }

    /// Verifies a signed document: signed by `notary_auth` (type-bound, see the module docs),
    /// naming `notary_id`, and valid at `now` (give or take [`CLOCK_SKEW_S`]).
    ///
    /// Every failure is `BadSignature` (not signed by that key), `Malformed` (not a document) or
    /// `State` (another notary's, or not valid now).
    pub fn verify(
        text: &[u8],
        notary_auth: &Key,
        notary_id: &str,
        now: u64,
    ) -> Result<TransportKeyDoc> {
        if text.len() > MAX_DOC {
            return Err(bad("over 16 KiB"));
        }
        let parsed = signed::parse(text)?;
        if parsed.doc_type != DOC_TYPE {
            return Err(bad("the signed text is not of type TRANSPORT KEY"));
        }
        let content = match notary_auth.algorithm() {
            Algorithm::Ed25519 => parsed.verify(notary_auth)?.to_vec(),
            Algorithm::Rsa => {
                if parsed.hash_type != HASH_SAMY_TYPED {
                    return Err(bad("an RSA-signed document must say Hash: SAMY-TYPED"));
                }
                let digest = typed_digest(&parsed.content);
                let ok = parsed
                    .signatures
                    .iter()
                    .any(|s| notary_auth.verify_digest(&digest, &s.bytes).is_ok());
                if !ok {
                    return Err(Error::new(
                        ErrorKind::BadSignature,
                        "the transport-key document is not signed by the notary's key",
                    ));
                }
                parsed.content.clone()
            }
            Algorithm::X25519 => {
                return Err(Error::invalid(
                    "an X25519 key cannot verify: give the notary's RSA or Ed25519 auth key",
                ));
            }
        };
        let doc = Self::parse_content(&content)?;
        if doc.notary_id != notary_id {
            return Err(Error::new(
                ErrorKind::State,
                "the transport-key document names another notary",
            ));
        }
        if now.saturating_add(CLOCK_SKEW_S) < doc.valid_from
            || now > doc.valid_until.saturating_add(CLOCK_SKEW_S)
        {
            return Err(Error::new(
                ErrorKind::State,
                "the transport-key document is not valid now (expired, or not yet valid)",
            ));
        }
        Ok(doc)
    }

    /// The endpoint to connect to for `published`, given the endpoint the client reached the
    /// notary on: `tcp://*:PORT` takes that endpoint's host.
    pub fn resolve_endpoint(published: &str, reached: &str) -> Option<String> {
        let Some(port) = published.strip_prefix("tcp://*:") else {
            return Some(published.to_string());
        };
        let rest = reached.strip_prefix("tcp://")?;
        // The host is everything before the last ':' (IPv6 literals are bracketed).
        let host = &rest[..rest.rfind(':')?];
        let host = host.rsplit_once(';').map_or(host, |(_, h)| h); // "src;host" form
        if host.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.is_empty() {
            return None;
        }
        Some(format!("tcp://{host}:{port}"))
    }
}

fn is_nym_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str) -> TransportKeyDoc {
        TransportKeyDoc {
            notary_id: id.into(),
            curve_key: [7u8; 32],
            valid_from: 1_000,
            valid_until: 2_000,
            endpoints: vec!["tcp://*:7086".into(), "ipc:///tmp/x".into()],
        }
    }

    #[test]
    fn round_trip_with_both_key_types() {
        let rsa = Key::generate(1024).unwrap();
        let ed = Key::generate_ed25519().unwrap();
        for k in [&rsa, &ed] {
            let id = k.nym_id().unwrap();
            let d = doc(&id);
            let text = d.sign(k).unwrap();
            assert!(text.starts_with("-----BEGIN SIGNED TRANSPORT KEY-----\n"));
            let got = TransportKeyDoc::verify(text.as_bytes(), &k.to_public(), &id, 1_500).unwrap();
            assert_eq!(got, d);
            // Validity, with the skew either side.
            assert!(TransportKeyDoc::verify(text.as_bytes(), k, &id, 1_000 - 300).is_ok());
            assert!(TransportKeyDoc::verify(text.as_bytes(), k, &id, 2_000 + 300).is_ok());
            let e = TransportKeyDoc::verify(text.as_bytes(), k, &id, 2_000 + 301).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::State);
            let e = TransportKeyDoc::verify(text.as_bytes(), k, &id, 699).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::State);
            // Another notary's NymID.
            let e = TransportKeyDoc::verify(text.as_bytes(), k, "other", 1_500).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::State);
        }
        // Another key.
        let other = Key::generate(1024).unwrap();
        let id = rsa.nym_id().unwrap();
        let text = doc(&id).sign(&rsa).unwrap();
        let e = TransportKeyDoc::verify(text.as_bytes(), &other, &id, 1_500).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadSignature);
    }

    /// What the notary's key signs as a MESSAGE (say a reply echoing a request's content) never
    /// passes for a transport key, whatever the content.
    #[test]
    fn a_message_with_the_same_content_is_not_a_transport_key() {
        for k in [
            Key::generate(1024).unwrap(),
            Key::generate_ed25519().unwrap(),
        ] {
            let id = k.nym_id().unwrap();
            let content = doc(&id).content().unwrap();
            let msg = signed::create("MESSAGE", content.as_bytes(), &k, None).unwrap();
            assert!(TransportKeyDoc::verify(msg.as_bytes(), &k, &id, 1_500).is_err());
            // Relabelled as a transport key: the signature does not cover that type.
            let relabelled = msg.replace("MESSAGE", DOC_TYPE);
            let e = TransportKeyDoc::verify(relabelled.as_bytes(), &k, &id, 1_500).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::BadSignature | ErrorKind::Malformed),
                "{e}"
            );
            let retagged = relabelled.replace("Hash: SAMY\n", "Hash: SAMY-TYPED\n");
            assert!(TransportKeyDoc::verify(retagged.as_bytes(), &k, &id, 1_500).is_err());
        }
    }

    #[test]
    fn strict_content() {
        let k = Key::generate_ed25519().unwrap();
        let id = k.nym_id().unwrap();
        let good = doc(&id).content().unwrap();
        let variants = [
            good.replace("version=\"1\"", "version=\"2\""),
            good.replace(" curveKey=", "  curveKey="),
            good.replace("validFrom=\"1000\"", "validFrom=\"-1\""),
            good.replace(
                "<endpoint>tcp://*:7086</endpoint>\n<endpoint>ipc:///tmp/x</endpoint>\n",
                "",
            ),
            good.replace("tcp://*:7086", "udp://x:1"),
            good.clone() + "extra\n",
            good.replace("</otTransportKey>\n", ""),
            good.replace(&*super::super::z85::encode(&[7u8; 32]).unwrap(), "short"),
        ];
        for v in variants {
            let text = signed::create(DOC_TYPE, v.as_bytes(), &k, None).unwrap();
            let e = TransportKeyDoc::verify(text.as_bytes(), &k, &id, 1_500).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Malformed, "{v}");
        }
        let mut many = doc(&id);
        many.endpoints = vec!["tcp://*:1".into(); MAX_ENDPOINTS + 1];
        assert!(many.content().is_err());
    }

    #[test]
    fn endpoints_resolve_against_the_host_reached() {
        let r = |p, e| TransportKeyDoc::resolve_endpoint(p, e);
        assert_eq!(
            r("tcp://*:7086", "tcp://10.0.0.5:7085").as_deref(),
            Some("tcp://10.0.0.5:7086")
        );
        assert_eq!(
            r("tcp://*:7086", "tcp://notary.example:7085").as_deref(),
            Some("tcp://notary.example:7086")
        );
        assert_eq!(
            r("tcp://*:7086", "tcp://[::1]:7085").as_deref(),
            Some("tcp://[::1]:7086")
        );
        assert_eq!(r("tcp://*:7086", "ipc:///x").as_deref(), None);
        assert_eq!(
            r("ipc:///run/n", "tcp://h:1").as_deref(),
            Some("ipc:///run/n")
        );
        assert_eq!(r("tcp://h2:9", "tcp://h:1").as_deref(), Some("tcp://h2:9"));
    }
}
