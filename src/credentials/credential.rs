//! One credential: a master credential (`SIGNED MASTER KEY CREDENTIAL`) or a key credential
//! (`SIGNED KEY CREDENTIAL`), in its public or its private form, and the rules that verify it.
//!
//! * A **master** credential's public text holds `nymID`, `<nymIDSource>` and `<publicContents>`
//!   with the A, E and S public keys; it is signed by its own S key, and its source is that S
//!   key (rules MASTER_SELFSIG, SOURCE).
//! * A **key** credential's public text holds `nymID`, `masterCredentialID`, `<nymIDSource>` and
//!   `<masterSigned>` only: its keys live inside `<masterSigned>`, a `KEY CREDENTIAL` signed by
//!   the master's S key that also repeats the master's public text in `<masterPublic>`. The
//!   outer text is signed by the key credential's own S key (MASTER_SIG, MASTER_LINK,
//!   KEY_SELFSIG).
//! * A **private** file repeats the public part, adds `<publicCredential>` (the public text,
//!   whose hash is the ID) and `<privateContents>` (each `<privateInfo>` is string armor of an
//!   `ENCRYPTED PRIVATE KEY` PEM plus its certificate), and is signed by the credential's own S
//!   key (PRIVATE_OUTER, PRIVATE_KEYS).
//!
//! The ID of every credential is base62(SAMY(public text)) (CRED_ID).

use zeroize::Zeroizing;

use super::xml::{self, Element};
use super::{
    Budget, KeySet, MAX_CREDENTIAL_TEXT, Role, Rule, check_id, document_text, element_text,
    escape_dashes, public_key, short, verifies,
};
use crate::error::{Error, ErrorKind, Result, clip};
use crate::hash::id_of;
use crate::keys::{Algorithm, Key};
use crate::signed::{self, SignedText};

/// Which credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// The master credential: its keys sign only the Nym's key credentials.
    Master,
    /// A key credential: its keys are the Nym's (A signs messages, E opens envelopes, S signs
    /// contracts).
    Key,
}

impl CredentialKind {
    fn doc_type(self) -> &'static str {
        match self {
            CredentialKind::Master => "MASTER KEY CREDENTIAL",
            CredentialKind::Key => "KEY CREDENTIAL",
        }
    }
    fn root(self) -> &'static str {
        match self {
            CredentialKind::Master => "masterCredential",
            CredentialKind::Key => "keyCredential",
        }
    }
    fn name(self) -> &'static str {
        match self {
            CredentialKind::Master => "master credential",
            CredentialKind::Key => "key credential",
        }
    }
}

const LETTERS: [Role; 3] = [Role::Auth, Role::Encryption, Role::Signing];

/// The elements of one signed credential text, parsed but not verified.
struct Parts {
    kind: CredentialKind,
    signed: SignedText,
    nym_id: String,
    /// `masterCredentialID` (key credentials).
    master_id: Option<String>,
    source: String,
    /// `<publicContents>`: the A, E, S public-key texts.
    public_info: Option<[String; 3]>,
    master_public: Option<String>,
    master_signed: Option<String>,
    public_credential: Option<String>,
    /// `<privateContents>`: the A, E, S private-key PEM texts (still locked).
    private_info: Option<[Zeroizing<String>; 3]>,
}

/// The three `<tag key="A|E|S">` children of `parent`, decoded, in A, E, S order.
fn three(parent: &Element<'_>, tag: &str, what: &str, budget: &Budget) -> Result<[String; 3]> {
    if parent.all(tag).count() != 3 {
        return Err(Error::malformed(format!(
            "{what}: <{}> must hold exactly three <{tag}> (A, E and S)",
            parent.name
        )));
    }
    let mut out: [String; 3] = Default::default();
    for (slot, role) in out.iter_mut().zip(LETTERS) {
        let l = role.letter().to_string();
        let mut it = parent
            .all(tag)
            .filter(|e| e.attr("key") == Some(l.as_str()));
        let e = it
            .next()
            .ok_or_else(|| Error::malformed(format!("{what}: no <{tag} key=\"{l}\">")))?;
        if it.next().is_some() {
            return Err(Error::malformed(format!(
                "{what}: <{tag} key=\"{l}\"> appears twice"
            )));
        }
        *slot = element_text(
            e.inner,
            &format!("{what}: <{tag} key=\"{l}\">"),
            MAX_CREDENTIAL_TEXT,
            budget,
        )?;
    }
    Ok(out)
}

fn optional(root: &Element<'_>, tag: &str, what: &str, budget: &Budget) -> Result<Option<String>> {
    root.opt(tag)?
        .map(|e| {
            element_text(
                e.inner,
                &format!("{what}: <{tag}>"),
                MAX_CREDENTIAL_TEXT,
                budget,
            )
        })
        .transpose()
}

impl Parts {
    fn parse(text: &str, what: &str, budget: &Budget) -> Result<Parts> {
        let signed = signed::parse(text.as_bytes())
            .map_err(|e| Error::malformed(format!("{what}: {}", e.detail())))?;
        let kind = match signed.doc_type.as_str() {
            "MASTER KEY CREDENTIAL" => CredentialKind::Master,
            "KEY CREDENTIAL" => CredentialKind::Key,
            other => {
                return Err(Error::malformed(format!(
                    "{what} is a SIGNED {}, not a SIGNED MASTER KEY CREDENTIAL or KEY CREDENTIAL",
                    clip(other)
                )));
            }
        };
        if signed.hash_type != signed::HASH_SAMY {
            return Err(Error::malformed(format!(
                "{what} has \"Hash: {}\"; legacy credentials are SAMY",
                clip(&signed.hash_type)
            )));
        }
        // signed::parse read the text as UTF-8, so its content lines are UTF-8 too.
        let content = std::str::from_utf8(&signed.content)
            .map_err(|_| Error::malformed(format!("{what} is not UTF-8")))?;
        let root =
            xml::parse(content).map_err(|e| Error::malformed(format!("{what}: {}", e.detail())))?;
        if root.name != kind.root() {
            return Err(Error::malformed(format!(
                "{what}: a SIGNED {} holds <{}>, not <{}>",
                kind.doc_type(),
                kind.root(),
                clip(root.name)
            )));
        }
        let nym_id = check_id(root.req_attr("nymID")?, "nymID")?.to_string();
        let master_id = match kind {
            CredentialKind::Key => Some(
                check_id(root.req_attr("masterCredentialID")?, "masterCredentialID")?.to_string(),
            ),
            CredentialKind::Master => None,
        };
        let source = element_text(
            root.one("nymIDSource")?.inner,
            &format!("{what}: <nymIDSource>"),
            MAX_CREDENTIAL_TEXT,
            budget,
        )?;
        let public_info = root
            .opt("publicContents")?
            .map(|pc| three(pc, "publicInfo", what, budget))
            .transpose()?;
        let private_info = root
            .opt("privateContents")?
            .map(|pc| three(pc, "privateInfo", what, budget).map(|a| a.map(Zeroizing::new)))
            .transpose()?;
        let parts = Parts {
            kind,
            nym_id,
            master_id,
            source,
            public_info,
            master_public: optional(&root, "masterPublic", what, budget)?,
            master_signed: optional(&root, "masterSigned", what, budget)?,
            public_credential: optional(&root, "publicCredential", what, budget)?,
            private_info,
            signed,
        };
        if parts.public_credential.is_some() != parts.private_info.is_some() {
            return Err(Error::malformed(format!(
                "{what}: a private credential has both <publicCredential> and <privateContents>"
            )));
        }
        if kind == CredentialKind::Master
            && (parts.master_public.is_some() || parts.master_signed.is_some())
        {
            return Err(Error::malformed(format!(
                "{what}: a master credential has no <masterPublic> or <masterSigned>"
            )));
        }
        Ok(parts)
    }

    fn is_private(&self) -> bool {
        self.public_credential.is_some()
    }

    fn keys(&self, what: &str) -> Result<KeySet> {
        let info = self
            .public_info
            .as_ref()
            .ok_or_else(|| Error::malformed(format!("{what} has no <publicContents>")))?;
        let load = |i: usize| {
            public_key(
                &info[i],
                &format!("{what}: public key {}", LETTERS[i].letter()),
            )
        };
        Ok(KeySet {
            auth: load(0)?,
            encryption: load(1)?,
            signing: load(2)?,
        })
    }
}

/// A credential read from its file and identified, not yet verified (see
/// [`Unverified::verify`]).
pub struct Unverified {
    id: String,
    /// The text as given (the private file's own text, or the public text).
    outer: Parts,
    /// For a private file, its `<publicCredential>` parsed.
    public: Option<Parts>,
    public_text: String,
}

impl Unverified {
    /// Reads a credential, armored (`-----BEGIN OT ARMORED CREDENTIAL-----`) or as its plain
    /// signed text, public or private, and computes its ID (CRED_ID: the hash of the public
    /// text). Nothing is verified yet.
    pub fn read(raw: &[u8]) -> Result<Unverified> {
        Self::read_in(raw, &Budget::new())
    }

    /// [`Unverified::read`] within a load's decode budget.
    pub(crate) fn read_in(raw: &[u8], budget: &Budget) -> Result<Unverified> {
        let (text, _) = document_text(raw, MAX_CREDENTIAL_TEXT, "credential", budget)?;
        let outer = Parts::parse(&text, "credential", budget)?;
        let (public, public_text) = match &outer.public_credential {
            None => (None, text),
            Some(p) => {
                let inner = Parts::parse(p, "the credential's <publicCredential>", budget)?;
                if inner.is_private() {
                    return Err(Error::malformed(
                        "the credential's <publicCredential> is itself a private credential",
                    ));
                }
                let p = p.clone();
                (Some(inner), p)
            }
        };
        Ok(Unverified {
            id: id_of(public_text.as_bytes()),
            outer,
            public,
            public_text,
        })
    }

    /// The credential's ID: base62(SAMY(its public text)).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Master or key credential.
    pub fn kind(&self) -> CredentialKind {
        self.public().kind
    }

    /// The NymID the credential states.
    pub fn nym_id(&self) -> &str {
        &self.public().nym_id
    }

    /// The decoded nymIDSource the credential states.
    pub fn source(&self) -> &str {
        &self.public().source
    }

    fn public(&self) -> &Parts {
        self.public.as_ref().unwrap_or(&self.outer)
    }

    /// Verifies the credential as `expected_id` of Nym `nym_id` (whose source is `source`),
    /// under `master` (None: this must be the master). With `passphrase`, a private file's keys
    /// are unlocked and checked against the public ones (PRIVATE_KEYS); without it a private
    /// file gives public keys only.
    pub fn verify(
        self,
        expected_id: &str,
        nym_id: &str,
        source: &str,
        master: Option<&Credential>,
        passphrase: Option<&[u8]>,
    ) -> Result<Credential> {
        let id = self.id.clone();
        let sid = short(&id);
        if id != expected_id {
            return Err(Rule::CredId.fail(format!(
                "the credential named {} is credential {sid} (base62 of the SAMY of its public text)",
                short(expected_id)
            )));
        }
        let p = self.public();
        let want = if master.is_some() {
            CredentialKind::Key
        } else {
            CredentialKind::Master
        };
        if p.kind != want {
            return Err(Rule::ListStruct.fail(format!(
                "credential {sid} is listed as a {} but is a {}",
                want.name(),
                p.kind.name()
            )));
        }
        let what = format!("{} {sid}", p.kind.name());
        let got = id_of(p.source.as_bytes());
        if got != p.nym_id {
            return Err(Rule::NymId.fail(format!(
                "{what} names Nym {} but its nymIDSource hashes to {}",
                short(&p.nym_id),
                short(&got)
            )));
        }
        if p.nym_id != nym_id {
            return Err(Rule::Consistency.fail(format!(
                "{what} belongs to Nym {}, not to Nym {}",
                short(&p.nym_id),
                short(nym_id)
            )));
        }
        if p.source != source {
            return Err(Rule::Consistency.fail(format!(
                "{what}'s nymIDSource differs from the credential list's"
            )));
        }
        let (keys, inner) = match master {
            None => (self.verify_master(&what)?, None),
            Some(m) => {
                let (k, inner) = self.verify_key(&what, m)?;
                (k, Some(inner))
            }
        };
        let private = if self.public.is_some() {
            self.verify_private(&what, &keys, inner.as_ref(), passphrase)?
        } else {
            None
        };
        Ok(Credential {
            id,
            kind: want,
            nym_id: nym_id.to_string(),
            keys,
            private,
            public_text: self.public_text,
        })
    }

    fn verify_master(&self, what: &str) -> Result<KeySet> {
        let p = self.public();
        let keys = p.keys(what)?;
        let info = p.public_info.as_ref().map(|i| &i[2]);
        if info.map(|s| escape_dashes(s)).as_deref() != Some(p.source.as_str()) {
            return Err(Rule::Source.fail(format!(
                "{what}'s nymIDSource is not its S key as an escaped OT public-key block"
            )));
        }
        verify_with(&p.signed, &keys.signing, Rule::MasterSelfSig, || {
            format!("{what} is not signed by its own S key")
        })?;
        Ok(keys)
    }

    /// Returns the keys (from `<masterSigned>`) and the parsed `<masterSigned>`.
    fn verify_key(&self, what: &str, master: &Credential) -> Result<(KeySet, Parts)> {
        let p = self.public();
        let master_id = p.master_id.as_deref().unwrap_or_default();
        if master_id != master.id {
            return Err(Rule::Consistency.fail(format!(
                "{what} names master credential {}, not the Nym's master {}",
                short(master_id),
                short(&master.id)
            )));
        }
        let Some(ms) = &p.master_signed else {
            return Err(Rule::MasterSigMissing.fail(format!(
                "{what} carries no <masterSigned>: nothing shows the master signed its keys"
            )));
        };
        // Parsed during verification, one credential at a time: a budget of its own.
        let inner = Parts::parse(ms, &format!("{what}'s <masterSigned>"), &Budget::new())?;
        if inner.kind != CredentialKind::Key || inner.is_private() {
            return Err(Error::malformed(format!(
                "{what}'s <masterSigned> is not a public KEY CREDENTIAL"
            )));
        }
        if inner.nym_id != p.nym_id
            || inner.source != p.source
            || inner.master_id.as_deref() != Some(master_id)
        {
            return Err(Rule::Consistency.fail(format!(
                "{what}'s <masterSigned> states another nymID, nymIDSource or masterCredentialID"
            )));
        }
        let mp = inner.master_public.as_deref().unwrap_or_default();
        if inner.master_public.is_none()
            || mp != master.public_text
            || id_of(mp.as_bytes()) != master_id
            || p.master_public.as_deref().is_some_and(|o| o != mp)
        {
            return Err(Rule::MasterLink.fail(format!(
                "{what}'s <masterPublic> is not the public text of master credential {}",
                short(&master.id)
            )));
        }
        verify_with(&inner.signed, &master.keys.signing, Rule::MasterSig, || {
            format!(
                "{what}'s <masterSigned> is not signed by the S key of master credential {}",
                short(&master.id)
            )
        })?;
        let keys = inner.keys(&format!("{what}'s <masterSigned>"))?;
        if p.public_info
            .as_ref()
            .is_some_and(|o| Some(o) != inner.public_info.as_ref())
        {
            return Err(Rule::Consistency.fail(format!(
                "{what}'s public keys differ from the ones its master signed"
            )));
        }
        verify_with(&p.signed, &keys.signing, Rule::KeySelfSig, || {
            format!("{what} is not signed by its own S key")
        })?;
        Ok((keys, inner))
    }

    fn verify_private(
        &self,
        what: &str,
        keys: &KeySet,
        inner: Option<&Parts>,
        passphrase: Option<&[u8]>,
    ) -> Result<Option<KeySet>> {
        let (o, p) = (&self.outer, self.public());
        let signed_info = inner.map_or(p.public_info.as_ref(), |i| i.public_info.as_ref());
        let same = o.kind == p.kind
            && o.nym_id == p.nym_id
            && o.master_id == p.master_id
            && o.source == p.source
            && o.public_info.as_ref() == signed_info
            && o.master_signed == p.master_signed
            && (inner.is_none() || o.master_public == inner.and_then(|i| i.master_public.clone()));
        if !same {
            return Err(Rule::PrivateOuter.fail(format!(
                "the private file of {what} does not repeat its public part"
            )));
        }
        verify_with(&o.signed, &keys.signing, Rule::PrivateOuter, || {
            format!("the private file of {what} is not signed by the credential's own S key")
        })?;
        let Some(pass) = passphrase else {
            return Ok(None);
        };
        let pems = o.private_info.as_ref().ok_or_else(|| {
            Error::malformed(format!(
                "the private file of {what} has no <privateContents>"
            ))
        })?;
        let unlock = |i: usize| -> Result<Key> {
            let role = LETTERS[i];
            let k = Key::load(pems[i].as_bytes(), Some(pass)).map_err(|e| match e.kind() {
                ErrorKind::BadPassphrase => Error::new(
                    ErrorKind::BadPassphrase,
                    format!(
                        "{what}: private key {} does not unlock with this passphrase (a 2013 \
                         wallet locks it with the wallet's master key)",
                        role.letter()
                    ),
                ),
                _ => Error::malformed(format!(
                    "{what}: private key {}: {}",
                    role.letter(),
                    e.detail()
                )),
            })?;
            let public = keys.get(role);
            if k.algorithm() != Algorithm::Rsa
                || !k.is_private()
                || k.spki_der()? != public.spki_der()?
            {
                return Err(Rule::PrivateKeys.fail(format!(
                    "{what}: private key {} is not the private half of public key {}",
                    role.letter(),
                    role.letter()
                )));
            }
            Ok(k)
        };
        Ok(Some(KeySet {
            auth: unlock(0)?,
            encryption: unlock(1)?,
            signing: unlock(2)?,
        }))
    }
}

fn verify_with(s: &SignedText, key: &Key, rule: Rule, what: impl FnOnce() -> String) -> Result<()> {
    if verifies(s, key)? {
        Ok(())
    } else {
        Err(rule.fail(what()))
    }
}

/// A verified credential.
#[derive(Clone)]
pub struct Credential {
    id: String,
    kind: CredentialKind,
    nym_id: String,
    keys: KeySet,
    private: Option<KeySet>,
    public_text: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credential {{ id: {}, kind: {:?}, nym_id: {}, private: {} }}",
            self.id,
            self.kind,
            self.nym_id,
            self.private.is_some()
        )
    }
}

impl Credential {
    /// The credential's ID.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Master or key credential.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }
    /// The Nym it belongs to.
    pub fn nym_id(&self) -> &str {
        &self.nym_id
    }
    /// Its public A, E and S keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }
    /// Its private keys, when it was read from a private file with a passphrase.
    pub fn private_keys(&self) -> Option<&KeySet> {
        self.private.as_ref()
    }
    /// Its public signed text (what its ID is the hash of).
    pub fn public_text(&self) -> &str {
        &self.public_text
    }
}
