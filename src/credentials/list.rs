//! The credential list (`<NymID>.cred`, `OT ARMORED CREDENTIAL LIST`): the NymID, its source,
//! and the IDs of the master and key credentials. The list is not signed: every claim in it is
//! checked against the credentials themselves ([`super::nym`]).
//!
//! ```text
//! <OTuser version="1.0" nymID="…">
//! <nymIDSource> string armor of the source </nymIDSource>
//! <masterCredential ID="…" valid="true"/>
//! <keyCredential ID="…" masterID="…" valid="true"/>
//! </OTuser>
//! ```

use super::xml;
use super::{
    Budget, MAX_CREDENTIALS, MAX_LIST_TEXT, Rule, check_id, document_text, element_text, short,
};
use crate::error::{Error, Result};
use crate::hash::id_of;

/// A parsed credential list whose NymID matches its source (rules NYMID and LIST_STRUCT hold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialList {
    /// The Nym's ID (`nymID`).
    pub nym_id: String,
    /// The decoded nymIDSource (for a 2013 Nym: the master credential's S key as an escaped OT
    /// public-key block).
    pub source: String,
    /// The master credential's ID.
    pub master_id: String,
    /// The key credentials' IDs, in list order.
    pub key_ids: Vec<String>,
    /// The list's XML text (de-armored).
    pub text: String,
}

impl CredentialList {
    /// Parses a list, armored (`-----BEGIN OT ARMORED CREDENTIAL LIST-----`) or as plain XML, and
    /// checks NYMID and LIST_STRUCT.
    pub fn parse(raw: &[u8]) -> Result<CredentialList> {
        let budget = Budget::new();
        let (text, _) = document_text(raw, MAX_LIST_TEXT, "credential list", &budget)?;
        Self::parse_text(text, &budget)
    }

    pub(crate) fn parse_text(text: String, budget: &Budget) -> Result<CredentialList> {
        let root = xml::parse(&text)?;
        if root.name != "OTuser" {
            return Err(Error::malformed(format!(
                "a credential list's root element is <OTuser>, not <{}>",
                crate::error::clip(root.name)
            )));
        }
        let nym_id = check_id(root.req_attr("nymID")?, "the list's nymID")?.to_string();
        let source = element_text(
            root.one("nymIDSource")?.inner,
            "the list's nymIDSource",
            MAX_LIST_TEXT,
            budget,
        )?;
        let got = id_of(source.as_bytes());
        if got != nym_id {
            return Err(Rule::NymId.fail(format!(
                "the credential list names Nym {} but its nymIDSource hashes to {}",
                short(&nym_id),
                short(&got)
            )));
        }
        let masters: Vec<_> = root.all("masterCredential").collect();
        if masters.len() != 1 {
            return Err(Rule::ListStruct.fail(format!(
                "the credential list of {} names {} master credentials; exactly one is required",
                short(&nym_id),
                masters.len()
            )));
        }
        let master_id = check_id(masters[0].req_attr("ID")?, "a master credential ID")?.to_string();
        let mut key_ids: Vec<String> = Vec::new();
        for k in root.all("keyCredential") {
            if key_ids.len() + 1 >= MAX_CREDENTIALS {
                return Err(Rule::ListStruct.fail(format!(
                    "the credential list names more than {MAX_CREDENTIALS} credentials"
                )));
            }
            let id = check_id(k.req_attr("ID")?, "a key credential ID")?;
            let m = k.req_attr("masterID")?;
            if m != master_id {
                return Err(Rule::ListStruct.fail(format!(
                    "key credential {} is listed under master {}, not under the Nym's master {}",
                    short(id),
                    short(m),
                    short(&master_id)
                )));
            }
            if id == master_id || key_ids.iter().any(|k| k == id) {
                return Err(
                    Rule::ListStruct.fail(format!("credential {} is listed twice", short(id)))
                );
            }
            key_ids.push(id.to_string());
        }
        if key_ids.is_empty() {
            return Err(Rule::ListStruct.fail(format!(
                "the credential list of {} names no key credential, so the Nym has no keys for \
                 messages",
                short(&nym_id)
            )));
        }
        Ok(CredentialList {
            nym_id,
            source,
            master_id,
            key_ids,
            text,
        })
    }

    /// Every listed ID, master first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.master_id.as_str()).chain(self.key_ids.iter().map(String::as_str))
    }
}
