//! Legacy credentials (2013+ Nyms), signed notary contracts (2011 and 2013) and wallets: from the
//! files a legacy client already has to verified keys and a notary's address.
//!
//! | file                          | what it gives                                               |
//! |-------------------------------|-------------------------------------------------------------|
//! | [`list`]: `<NymID>.cred`      | the NymID, its source, the master and key credential IDs    |
//! | [`credential`]: `<NymID>/<ID>`| one master or key credential, public or private             |
//! | [`nym`]                       | a verified Nym: its A (auth), E (encryption), S (signing) keys |
//! | [`contract`]                  | a verified signed contract: the signer's NymID and keys, the notary endpoint |
//! | [`wallet`]                    | the wallet's (or notary's) master key, which unlocks private keys |
//!
//! Every rule of `docs/credentials.md` is checked and named ([`Rule`]): a failure is
//! [`ErrorKind::BadSignature`] (the chain does not verify) whose detail starts with the rule
//! name, e.g. `MASTER_SIG: …`. Unreadable input (armor, XML, a key block) is
//! [`ErrorKind::Malformed`]; a wrong passphrase is [`ErrorKind::BadPassphrase`]. Inputs are
//! bounded before anything is allocated from them (the `MAX_*` constants).

pub mod contract;
pub mod credential;
pub mod list;
pub mod nym;
pub mod wallet;
mod xml;

pub use contract::{Contract, Era};
pub use credential::{Credential, CredentialKind};
pub use list::CredentialList;
pub use nym::Nym;
pub use wallet::wallet_master_key;

use crate::armor;
use crate::error::{Error, ErrorKind, Result, clip};
use crate::keys::{Algorithm, Key};

/// Largest credential list accepted (armored or not); real ones are about 1 KiB.
pub const MAX_LIST_TEXT: usize = 256 * 1024;
/// Largest credential accepted (armored or not); a real private key credential is 23 KiB.
pub const MAX_CREDENTIAL_TEXT: usize = 1024 * 1024;
/// Largest contract accepted (armored or not); contracts embed their signer's credentials.
pub const MAX_CONTRACT_TEXT: usize = 16 * 1024 * 1024;
/// Most credentials one Nym may have (master included).
pub const MAX_CREDENTIALS: usize = 64;
/// Most bytes all the armor of one load (a Nym, a contract) may decode to together — documents,
/// nested credentials, keys. Each piece has its own limit too, but a contract could otherwise
/// hold 64 credentials each nesting ten 1 MiB zlib bombs. Real loads decode about 100 KiB.
pub const MAX_DECODED: usize = 32 * 1024 * 1024;

/// What is left of [`MAX_DECODED`] for one load; every decode takes its share.
pub(crate) struct Budget(std::cell::Cell<usize>);

impl Budget {
    pub(crate) fn new() -> Budget {
        Budget(std::cell::Cell::new(MAX_DECODED))
    }
    /// The limit for one decode: `max`, or less when the budget is nearly spent.
    fn limit(&self, max: usize) -> usize {
        max.min(self.0.get())
    }
    fn spend(&self, n: usize) {
        self.0.set(self.0.get().saturating_sub(n));
    }
    fn error(&self, what: &str, e: &Error) -> Error {
        if self.0.get() < MAX_CREDENTIAL_TEXT {
            Error::malformed(format!(
                "{what}: the armor of this load decodes to more than {MAX_DECODED} bytes in all"
            ))
        } else {
            Error::malformed(format!("{what}: {}", e.detail()))
        }
    }
}

/// The verification rules, named as in `docs/credentials.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A `nymID` is base62(SAMY(the decoded nymIDSource)).
    NymId,
    /// The list names exactly one master and at least one key credential of that master.
    ListStruct,
    /// Every listed credential is present.
    Missing,
    /// A credential's ID is base62(SAMY(its public signed text)), and is the one it is listed,
    /// named or mapped under.
    CredId,
    /// The master credential is signed by its own S key.
    MasterSelfSig,
    /// The nymIDSource is the master's S key as an escaped OT public-key block.
    Source,
    /// A key credential carries `<masterSigned>`.
    MasterSigMissing,
    /// `<masterSigned>` is signed by the master's S key.
    MasterSig,
    /// `<masterPublic>` is the master's public text, which names the master credential ID.
    MasterLink,
    /// A key credential is signed by its own S key.
    KeySelfSig,
    /// nymID, nymIDSource and master credential ID agree everywhere they are stated.
    Consistency,
    /// A private file repeats its public part and is signed by the credential's own S key.
    PrivateOuter,
    /// Each private key is the private half of the public key of the same letter.
    PrivateKeys,
    /// A contract is signed by the S key of one of its signer's key credentials.
    ContractSig,
    /// A notary contract's `<notaryServer hostname port>` is a usable endpoint.
    Notary,
}

impl Rule {
    /// The rule's name as written in `docs/credentials.md` and at the start of error details.
    pub fn name(self) -> &'static str {
        match self {
            Rule::NymId => "NYMID",
            Rule::ListStruct => "LIST_STRUCT",
            Rule::Missing => "MISSING",
            Rule::CredId => "CRED_ID",
            Rule::MasterSelfSig => "MASTER_SELFSIG",
            Rule::Source => "SOURCE",
            Rule::MasterSigMissing => "MASTER_SIG_MISSING",
            Rule::MasterSig => "MASTER_SIG",
            Rule::MasterLink => "MASTER_LINK",
            Rule::KeySelfSig => "KEY_SELFSIG",
            Rule::Consistency => "CONSISTENCY",
            Rule::PrivateOuter => "PRIVATE_OUTER",
            Rule::PrivateKeys => "PRIVATE_KEYS",
            Rule::ContractSig => "CONTRACT_SIG",
            Rule::Notary => "NOTARY",
        }
    }

    /// Every rule, in the order of `docs/credentials.md`.
    pub const ALL: [Rule; 15] = [
        Rule::NymId,
        Rule::ListStruct,
        Rule::Missing,
        Rule::CredId,
        Rule::MasterSelfSig,
        Rule::Source,
        Rule::MasterSigMissing,
        Rule::MasterSig,
        Rule::MasterLink,
        Rule::KeySelfSig,
        Rule::Consistency,
        Rule::PrivateOuter,
        Rule::PrivateKeys,
        Rule::ContractSig,
        Rule::Notary,
    ];

    /// The rule an error names (its detail starts with `RULE: `), if any.
    pub fn of(e: &Error) -> Option<Rule> {
        let head = e.detail().split(':').next()?;
        Rule::ALL.into_iter().find(|r| r.name() == head)
    }

    /// The error for this rule failing: `BadSignature` (`Malformed` for [`Rule::Notary`], an
    /// unusable address rather than a broken chain), detail `RULE: what`.
    pub(crate) fn fail(self, what: impl AsRef<str>) -> Error {
        let kind = if self == Rule::Notary {
            ErrorKind::Malformed
        } else {
            ErrorKind::BadSignature
        };
        Error::new(kind, format!("{}: {}", self.name(), what.as_ref()))
    }
}

/// The three key roles of a Nym.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A: signs messages (requests and replies).
    Auth,
    /// E: opens envelopes sealed to the Nym.
    Encryption,
    /// S: signs contracts and credentials.
    Signing,
}

impl Role {
    /// The letter legacy OT names the role with (`key="A"`, Meta `A…`).
    pub fn letter(self) -> char {
        match self {
            Role::Auth => 'A',
            Role::Encryption => 'E',
            Role::Signing => 'S',
        }
    }
}

/// A Nym's three keys.
#[derive(Clone, Debug)]
pub struct KeySet {
    /// A: authentication (signs messages).
    pub auth: Key,
    /// E: encryption (opens envelopes).
    pub encryption: Key,
    /// S: signing (signs contracts and credentials).
    pub signing: Key,
}

impl KeySet {
    /// The key of a role.
    pub fn get(&self, role: Role) -> &Key {
        match role {
            Role::Auth => &self.auth,
            Role::Encryption => &self.encryption,
            Role::Signing => &self.signing,
        }
    }
}

/// A short form of an ID for error texts (`T5AMLPyk…`): its first 8 characters.
pub fn short(id: &str) -> String {
    let s: String = id.chars().take(8).collect();
    if id.chars().count() > 8 {
        format!("{}…", clip(&s))
    } else {
        clip(&s)
    }
}

/// Whether `id` can be a base62 ID (and so a file name): 1-64 characters of `0-9A-Za-z`.
pub(crate) fn is_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// An ID attribute that must look like a base62 ID.
pub(crate) fn check_id<'a>(id: &'a str, what: &str) -> Result<&'a str> {
    if is_id(id) {
        Ok(id)
    } else {
        Err(Error::malformed(format!(
            "{what} {} is not a base62 ID",
            crate::error::quote(id)
        )))
    }
}

/// Text (UTF-8) of a de-armored payload.
pub(crate) fn utf8(v: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(v).map_err(|_| Error::malformed(format!("{what} is not UTF-8 text")))
}

/// Decodes the string-path armor inside an XML element (`<nymIDSource>`, `<publicInfo>`, …) to
/// text of at most `max` bytes, within the load's budget.
pub(crate) fn element_text(inner: &str, what: &str, max: usize, budget: &Budget) -> Result<String> {
    let v = armor::decode_body_limited(inner, armor::Kind::String, budget.limit(max))
        .map_err(|e| budget.error(what, &e))?;
    budget.spend(v.len());
    utf8(v, what)
}

/// A whole document that is either OT armor of `armor_type` (string path; bookends required)
/// or already the plain text. At most `max` bytes either way, within the load's budget.
pub(crate) fn document_text(
    raw: &[u8],
    max: usize,
    what: &str,
    budget: &Budget,
) -> Result<(String, bool)> {
    if raw.len() > max.saturating_mul(2).max(4096) {
        return Err(Error::invalid(format!(
            "{what} is {} bytes, more than the {max} accepted",
            raw.len()
        )));
    }
    let start = raw
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(raw.len());
    let rest = &raw[start..];
    if rest.starts_with(b"-----BEGIN OT ARMORED") || rest.starts_with(b"- -----BEGIN OT ARMORED") {
        let v = armor::decode_limited(raw, armor::Kind::String, budget.limit(max))
            .map_err(|e| budget.error(what, &e))?;
        budget.spend(v.len());
        return Ok((utf8(v, what)?, true));
    }
    if raw.len() > max {
        return Err(Error::invalid(format!(
            "{what} is {} bytes, more than the {max} accepted",
            raw.len()
        )));
    }
    Ok((utf8(raw.to_vec(), what)?, false))
}

/// Whether one of `s`'s signatures verifies with `key` (other failures are errors).
pub(crate) fn verifies(s: &crate::signed::SignedText, key: &Key) -> Result<bool> {
    match s.verify(key) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::BadSignature => Ok(false),
        Err(e) => Err(e),
    }
}

/// Loads an RSA public key from an OT public-key block (or any public key text).
pub(crate) fn public_key(text: &str, what: &str) -> Result<Key> {
    let k = Key::load(text.as_bytes(), None)
        .map_err(|e| Error::malformed(format!("{what}: {}", e.detail())))?;
    if k.algorithm() != Algorithm::Rsa || k.is_private() {
        return Err(Error::malformed(format!("{what} is not an RSA public key")));
    }
    Ok(k)
}

/// The escaped form of a text, as legacy OT nests one armored block in another: every line that
/// starts with `-` gets a `- ` in front.
pub(crate) fn escape_dashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split_inclusive('\n') {
        if line.starts_with('-') {
            out.push_str("- ");
        }
        out.push_str(line);
    }
    out
}

/// The reverse of [`escape_dashes`]: `- ` is taken off lines that start with `- -`.
pub(crate) fn unescape_dashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(
            line.strip_prefix("- ")
                .filter(|l| l.starts_with('-'))
                .unwrap_or(line),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::of(&r.fail("x")), Some(r));
        }
        assert_eq!(Rule::of(&Error::malformed("XML: nope")), None);
        assert_eq!(Rule::NymId.fail("x").kind(), ErrorKind::BadSignature);
        assert_eq!(Rule::Notary.fail("x").kind(), ErrorKind::Malformed);
    }

    #[test]
    fn dashes() {
        let t = "-----BEGIN X-----\nAB\n-----END X-----\n";
        let e = escape_dashes(t);
        assert_eq!(e, "- -----BEGIN X-----\nAB\n- -----END X-----\n");
        assert_eq!(unescape_dashes(&e), t);
        assert_eq!(short("T5AMLPykOlzs"), "T5AMLPyk…");
        assert!(is_id("DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"));
        assert!(!is_id("../etc") && !is_id(""));
    }
}
