//! Signed contracts (`-----BEGIN SIGNED CONTRACT-----`, plain or in `OT ARMORED CONTRACT`):
//! who signed them, verified, and for a notary's contract its `<notaryServer>` endpoint.
//!
//! * **2013** (`<signer hasCredentials="true" nymID>`): the signer's `<nymIDSource>`, its
//!   `<credentialList>` (string armor of the list) and `<credentials>` (data armor of a protobuf
//!   map, credential ID → public text) make a Nym that must verify like any other; the
//!   contract is signed by the S key of one of its key credentials (never the master's).
//!   Contract ID = base62(SAMY(the signed text, trimmed)).
//! * **2011** (`<key name="contract">`, a certificate or OT public-key block, dash-escaped): the
//!   contract is signed by that key, whose key ID is the signer's NymID; a 2011 Nym has one key
//!   for every role. Contract ID = base62(SAMY(the file as it is)).

use super::credential::Unverified;
use super::list::CredentialList;
use super::nym::Nym;
use super::xml::{self, Element};
use super::{
    Budget, KeySet, MAX_CONTRACT_TEXT, MAX_CREDENTIALS, MAX_LIST_TEXT, Role, Rule, check_id,
    document_text, element_text, public_key, short, unescape_dashes, utf8, verifies,
};
use crate::armor;
use crate::error::{Error, ErrorKind, Result, clip, quote};
use crate::hash::id_of;
use crate::keys::Key;
use crate::signed::{self, SignedText};

/// How a contract names its signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2011: `<key name="contract">`, one key for every role.
    Key2011,
    /// 2013+: `<signer hasCredentials="true">` with the signer's credentials embedded.
    Credentials2013,
}

/// A notary's address from `<notaryServer hostname port>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotaryAddress {
    /// `hostname` as written.
    pub hostname: String,
    /// `port`, 1-65535.
    pub port: u16,
}

impl NotaryAddress {
    /// The ZeroMQ endpoint legacy clients connected to: `tcp://hostname:port`.
    pub fn endpoint(&self) -> String {
        format!("tcp://{}:{}", self.hostname, self.port)
    }
}

/// A contract whose signature verified.
#[derive(Clone, Debug)]
pub struct Contract {
    id: String,
    era: Era,
    kind: String,
    signer_id: String,
    keys: KeySet,
    signer: Option<Nym>,
    notary: Option<NotaryAddress>,
}

impl Contract {
    /// Loads and verifies a signed contract (armored or plain).
    pub fn load(raw: &[u8]) -> Result<Contract> {
        let budget = Budget::new();
        let (text, armored) = document_text(raw, MAX_CONTRACT_TEXT, "contract", &budget)?;
        let signed = signed::parse(text.as_bytes())
            .map_err(|e| Error::malformed(format!("contract: {}", e.detail())))?;
        if signed.doc_type != "CONTRACT" {
            return Err(Error::malformed(format!(
                "a SIGNED {} is not a SIGNED CONTRACT",
                clip(&signed.doc_type)
            )));
        }
        if signed.hash_type != signed::HASH_SAMY {
            return Err(Error::malformed(format!(
                "the contract has \"Hash: {}\"; legacy contracts are SAMY",
                clip(&signed.hash_type)
            )));
        }
        let content = std::str::from_utf8(&signed.content)
            .map_err(|_| Error::malformed("the contract is not UTF-8"))?;
        let root = xml::parse(content)
            .map_err(|e| Error::malformed(format!("contract: {}", e.detail())))?;
        let trimmed = || id_of(text.trim_matches(signed::WS).as_bytes());
        let mut c = if root.opt("signer")?.is_some() {
            let (signer_id, nym) = signer_2013(&root, &signed, &budget)?;
            Contract {
                id: trimmed(),
                era: Era::Credentials2013,
                kind: root.name.to_string(),
                signer_id,
                keys: nym.public_keys().clone(),
                signer: Some(nym),
                notary: None,
            }
        } else {
            let key = signer_2011(&root, &signed)?;
            Contract {
                // The 2011 samples' IDs hash the file as it is, trailing newlines included.
                id: if armored {
                    trimmed()
                } else {
                    id_of(text.as_bytes())
                },
                era: Era::Key2011,
                kind: root.name.to_string(),
                signer_id: key.nym_id()?,
                keys: KeySet {
                    auth: key.clone(),
                    encryption: key.clone(),
                    signing: key,
                },
                signer: None,
                notary: None,
            }
        };
        c.kind.truncate(64);
        // Only a verified contract's address is read (NOTARY).
        c.notary = root.opt("notaryServer")?.map(address).transpose()?;
        Ok(c)
    }

    /// The contract ID.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// 2011 (contract key) or 2013 (embedded credentials).
    pub fn era(&self) -> Era {
        self.era
    }
    /// The root element's name (`notaryProviderContract`, `digitalAssetContract`, …).
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// The signer's NymID (for a notary's contract: the notary's).
    pub fn signer_nym_id(&self) -> &str {
        &self.signer_id
    }
    /// The signer's public keys (2013: its first key credential's; 2011: the contract key in
    /// every role).
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }
    /// One of the signer's public keys.
    pub fn key(&self, role: Role) -> &Key {
        self.keys.get(role)
    }
    /// The signer's verified Nym (2013 contracts).
    pub fn signer(&self) -> Option<&Nym> {
        self.signer.as_ref()
    }
    /// The notary's address, for a contract with `<notaryServer>`.
    pub fn notary(&self) -> Option<&NotaryAddress> {
        self.notary.as_ref()
    }
    /// The notary's endpoint (`tcp://hostname:port`); `State` for a contract that names no
    /// notary server (an asset contract).
    pub fn endpoint(&self) -> Result<String> {
        self.notary
            .as_ref()
            .map(NotaryAddress::endpoint)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::State,
                    format!(
                        "this <{}> has no <notaryServer>: it is not a notary's contract",
                        clip(&self.kind)
                    ),
                )
            })
    }
}

fn address(ns: &Element<'_>) -> Result<NotaryAddress> {
    let host = ns.req_attr("hostname")?;
    let ok_host = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'));
    if !ok_host {
        return Err(Rule::Notary.fail(format!(
            "<notaryServer hostname={}> is not a host name or IPv4 address",
            quote(host)
        )));
    }
    let p = ns.req_attr("port")?;
    let port = (p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()))
        .then(|| p.parse::<u16>().ok())
        .flatten()
        .filter(|&n| n != 0)
        .ok_or_else(|| {
            Rule::Notary.fail(format!(
                "<notaryServer port={}> is not a TCP port (1-65535)",
                quote(p)
            ))
        })?;
    Ok(NotaryAddress {
        hostname: host.to_string(),
        port,
    })
}

/// The 2013 signer: its Nym, verified from the embedded list and credentials, and consistent
/// with the `<signer>` element; the contract must verify with one of its key credentials' S
/// keys.
fn signer_2013(root: &Element<'_>, signed: &SignedText, budget: &Budget) -> Result<(String, Nym)> {
    let s = root.one("signer")?;
    if s.attr("hasCredentials") != Some("true") {
        return Err(Error::unsupported(
            "a <signer> without hasCredentials=\"true\" (only credential signers are read)",
        ));
    }
    let nym_id = check_id(s.req_attr("nymID")?, "the signer's nymID")?.to_string();
    let source = element_text(
        s.one("nymIDSource")?.inner,
        "the signer's <nymIDSource>",
        MAX_LIST_TEXT,
        budget,
    )?;
    let got = id_of(source.as_bytes());
    if got != nym_id {
        return Err(Rule::NymId.fail(format!(
            "the contract's signer is Nym {} but its nymIDSource hashes to {}",
            short(&nym_id),
            short(&got)
        )));
    }
    let list_text = element_text(
        s.one("credentialList")?.inner,
        "the signer's <credentialList>",
        MAX_LIST_TEXT,
        budget,
    )?;
    let list = CredentialList::parse_text(list_text, budget)?;
    if list.nym_id != nym_id || list.source != source {
        return Err(Rule::Consistency.fail(format!(
            "the signer {} and its <credentialList> (of Nym {}) name different Nyms or sources",
            short(&nym_id),
            short(&list.nym_id)
        )));
    }
    let map = armor::decode_body_limited(
        s.one("credentials")?.inner,
        armor::Kind::Data,
        MAX_CONTRACT_TEXT,
    )
    .map_err(|e| Error::malformed(format!("the signer's <credentials>: {}", e.detail())))?;
    let mut read = Vec::new();
    for (field, entry) in armor::length_delimited_fields(&map, MAX_CREDENTIALS + 1)? {
        if field != 1 {
            return Err(Error::malformed(
                "the signer's <credentials> is not a map of credential ID to text",
            ));
        }
        let (mut key, mut value) = (None, None);
        for (f, v) in armor::length_delimited_fields(entry, 8)? {
            match f {
                1 => key = Some(v),
                2 => value = Some(v),
                _ => {}
            }
        }
        let (Some(key), Some(value)) = (key, value) else {
            return Err(Error::malformed(
                "an entry of the signer's <credentials> lacks its ID or its text",
            ));
        };
        let key = utf8(key.to_vec(), "a credential ID in <credentials>")?;
        let u = Unverified::read_in(value, budget)?;
        if u.id() != key {
            return Err(Rule::CredId.fail(format!(
                "the contract maps ID {} to credential {}",
                short(&key),
                short(u.id())
            )));
        }
        read.push(u);
    }
    let nym = Nym::from_read(list, read, None)?;
    let mut verified = false;
    for k in nym.key_credentials() {
        if verifies(signed, &k.keys().signing)? {
            verified = true;
            break;
        }
    }
    if !verified {
        let by_master = verifies(signed, &nym.master().keys().signing)?;
        return Err(Rule::ContractSig.fail(format!(
            "the contract is not signed by the S key of a key credential of its signer {}{}",
            short(&nym_id),
            if by_master {
                " (it is signed by the master credential's S key, which signs only credentials)"
            } else {
                ""
            }
        )));
    }
    Ok((nym_id, nym))
}

/// The 2011 signer: `<key name="contract">`.
fn signer_2011(root: &Element<'_>, signed: &SignedText) -> Result<Key> {
    let mut keys = root
        .all("key")
        .filter(|k| k.attr("name") == Some("contract"));
    let k = keys.next().ok_or_else(|| {
        Error::malformed(
            "the contract names no signer: neither <signer hasCredentials=\"true\"> nor <key name=\"contract\">",
        )
    })?;
    if keys.next().is_some() {
        return Err(Error::malformed(
            "the contract has two <key name=\"contract\">",
        ));
    }
    let key = public_key(&unescape_dashes(k.inner), "<key name=\"contract\">")?;
    if !verifies(signed, &key)? {
        return Err(
            Rule::ContractSig.fail("the contract is not signed by its own <key name=\"contract\">")
        );
    }
    Ok(key)
}
