//! A verified 2013+ Nym: its credential list, every listed credential checked, and the keys it
//! hands out — those of its **first listed key credential** (the master's keys sign only
//! credentials; every message, envelope and contract of the legacy samples uses the key
//! credential's keys).

use std::path::Path;

use super::credential::{Credential, Unverified};
use super::list::CredentialList;
use super::{
    Budget, KeySet, MAX_CREDENTIAL_TEXT, MAX_CREDENTIALS, MAX_LIST_TEXT, Role, Rule, is_id, short,
};
use crate::error::{Error, Result};
use crate::keys::Key;

/// A Nym whose credentials all verified.
#[derive(Clone, Debug)]
pub struct Nym {
    list: CredentialList,
    master: Credential,
    key_credentials: Vec<Credential>,
}

impl Nym {
    /// Loads a Nym from its credential list and its credentials (in any order, each armored or
    /// plain, public or private), verifying every rule. With `passphrase` (the 16 raw bytes of
    /// the wallet's master key for a 2013 wallet, see [`super::wallet_master_key`]; or the
    /// passphrase the keys were locked with) the private files' keys are unlocked and checked;
    /// without it the Nym has public keys only.
    pub fn load(list: &[u8], credentials: &[&[u8]], passphrase: Option<&[u8]>) -> Result<Nym> {
        let list = CredentialList::parse(list)?;
        if credentials.len() > MAX_CREDENTIALS {
            return Err(Error::invalid(format!(
                "{} credentials given; a Nym has at most {MAX_CREDENTIALS}",
                credentials.len()
            )));
        }
        let budget = Budget::new();
        let read = credentials
            .iter()
            .map(|c| Unverified::read_in(c, &budget))
            .collect::<Result<Vec<_>>>()?;
        Self::from_read(list, read, passphrase)
    }

    /// Matches credentials read in any order with the list (CRED_ID for one that is not
    /// listed, MISSING for a listed one not given), then verifies them.
    pub(crate) fn from_read(
        list: CredentialList,
        mut read: Vec<Unverified>,
        passphrase: Option<&[u8]>,
    ) -> Result<Nym> {
        if read.len() > MAX_CREDENTIALS {
            return Err(Error::invalid(format!(
                "{} credentials given; a Nym has at most {MAX_CREDENTIALS}",
                read.len()
            )));
        }
        for (i, u) in read.iter().enumerate() {
            if !list.ids().any(|id| id == u.id()) {
                return Err(Rule::CredId.fail(format!(
                    "credential {} (a {} of Nym {}) is not in the credential list of Nym {}",
                    short(u.id()),
                    match u.kind() {
                        super::CredentialKind::Master => "master credential",
                        super::CredentialKind::Key => "key credential",
                    },
                    short(u.nym_id()),
                    short(&list.nym_id)
                )));
            }
            if read[..i].iter().any(|r| r.id() == u.id()) {
                return Err(Error::invalid(format!(
                    "credential {} is given twice",
                    short(u.id())
                )));
            }
        }
        let named = list
            .ids()
            .map(|id| {
                let i = read.iter().position(|u| u.id() == id).ok_or_else(|| {
                    Rule::Missing.fail(format!(
                        "credential {} listed for Nym {} was not given",
                        short(id),
                        short(&list.nym_id)
                    ))
                })?;
                Ok((id.to_string(), read.swap_remove(i)))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::verify(list, named, passphrase)
    }

    /// Loads a Nym from a legacy credentials folder: `<dir>/<nym_id>.cred` and
    /// `<dir>/<nym_id>/<credential ID>` for every listed credential (`client_data/credentials`,
    /// `server_data/credentials` and, public only, `server_data/pubcred` have this layout).
    /// The list must be `nym_id`'s, and each file must hold the credential it is named after
    /// (CRED_ID).
    pub fn load_dir(dir: &Path, nym_id: &str, passphrase: Option<&[u8]>) -> Result<Nym> {
        if !is_id(nym_id) {
            return Err(Error::invalid(format!(
                "NymID {} is not a base62 ID",
                crate::error::quote(nym_id)
            )));
        }
        let list_path = dir.join(format!("{nym_id}.cred"));
        let list = read_file(&list_path, 2 * MAX_LIST_TEXT)?.ok_or_else(|| {
            Error::invalid(format!(
                "no credential list {}",
                crate::error::clip(&list_path.display().to_string())
            ))
        })?;
        let list = CredentialList::parse(&list)?;
        if list.nym_id != nym_id {
            return Err(Rule::Consistency.fail(format!(
                "{nym_id}.cred is the credential list of Nym {}",
                short(&list.nym_id)
            )));
        }
        let budget = Budget::new();
        let named = list
            .ids()
            .map(|id| {
                // IDs were checked to be base62 when the list was parsed: safe as file names.
                let path = dir.join(nym_id).join(id);
                let Some(raw) = read_file(&path, 2 * MAX_CREDENTIAL_TEXT)? else {
                    return Err(Rule::Missing.fail(format!(
                        "credential {} listed for Nym {} is not in {}",
                        short(id),
                        short(nym_id),
                        crate::error::clip(&dir.join(nym_id).display().to_string())
                    )));
                };
                Ok((id.to_string(), Unverified::read_in(&raw, &budget)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::verify(list, named, passphrase)
    }

    fn verify(
        list: CredentialList,
        named: Vec<(String, Unverified)>,
        passphrase: Option<&[u8]>,
    ) -> Result<Nym> {
        let mut it = named.into_iter();
        let (master_id, m) = it
            .next()
            .ok_or_else(|| Error::internal("the list always names a master"))?;
        let master = m.verify(&master_id, &list.nym_id, &list.source, None, passphrase)?;
        let key_credentials = it
            .map(|(id, u)| u.verify(&id, &list.nym_id, &list.source, Some(&master), passphrase))
            .collect::<Result<Vec<_>>>()?;
        Ok(Nym {
            list,
            master,
            key_credentials,
        })
    }

    /// The NymID.
    pub fn id(&self) -> &str {
        &self.list.nym_id
    }

    /// The credential list.
    pub fn list(&self) -> &CredentialList {
        &self.list
    }

    /// The master credential.
    pub fn master(&self) -> &Credential {
        &self.master
    }

    /// The key credentials, in list order (never empty).
    pub fn key_credentials(&self) -> &[Credential] {
        &self.key_credentials
    }

    fn first(&self) -> &Credential {
        // LIST_STRUCT guarantees at least one key credential.
        &self.key_credentials[0]
    }

    /// The public keys the Nym hands out (its first key credential's).
    pub fn public_keys(&self) -> &KeySet {
        self.first().keys()
    }

    /// The private keys, when the first key credential was loaded from its private file with a
    /// passphrase.
    pub fn private_keys(&self) -> Option<&KeySet> {
        self.first().private_keys()
    }

    /// Whether the Nym holds its private keys.
    pub fn is_private(&self) -> bool {
        self.private_keys().is_some()
    }

    /// The key of a role: private when the Nym holds it, otherwise public.
    pub fn key(&self, role: Role) -> &Key {
        self.private_keys()
            .unwrap_or_else(|| self.public_keys())
            .get(role)
    }
}

/// Reads a file of at most `max` bytes (the size is checked before reading); `None` when it
/// does not exist.
pub(crate) fn read_file(path: &Path, max: usize) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let shown = || crate::error::clip(&path.display().to_string());
    let cannot = |e: std::io::Error| Error::invalid(format!("{} cannot be read: {e}", shown()));
    let f = match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        r => r.map_err(cannot)?,
    };
    let meta = f.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(Error::invalid(format!("{} is not a file", shown())));
    }
    if meta.len() > max as u64 {
        return Err(Error::invalid(format!(
            "{} is {} bytes, more than the {max} accepted",
            shown(),
            meta.len()
        )));
    }
    let mut v = Vec::with_capacity(meta.len() as usize);
    f.take(max as u64 + 1).read_to_end(&mut v).map_err(cannot)?;
    if v.len() > max {
        return Err(Error::invalid(format!("{} grew past {max} bytes", shown())));
    }
    Ok(Some(v))
}
