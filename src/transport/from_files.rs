//! Sessions and notaries configured from the files a legacy client or notary already has: a
//! verified contract names the notary (endpoint, NymID, A and E keys), a verified Nym is an
//! identity (see [`crate::credentials`]). The key-based calls stay as they are; these only feed
//! them verified keys.

use super::{Notary, Options, Session};
use crate::credentials::{Contract, Nym, Role};
use crate::error::{Error, Result};

fn private_keys_of(nym: &Nym) -> Result<(&crate::keys::Key, &crate::keys::Key)> {
    match nym.private_keys() {
        Some(k) => Ok((&k.auth, &k.encryption)),
        None => Err(Error::invalid(format!(
            "Nym {} holds public keys only: load it from its private credential files with the \
             wallet's master key",
            crate::credentials::short(nym.id())
        ))),
    }
}

impl Session {
    /// A session to the notary of a verified contract: connects to `endpoint`, or when `None`
    /// to the contract's own `<notaryServer>` endpoint (a contract without one is `State`),
    /// and sets the notary from the contract: requests are sealed to its signer's NymID with its
    /// E key, replies must be signed by its A key.
    pub fn from_contract(
        contract: &Contract,
        endpoint: Option<&str>,
        opts: Options,
    ) -> Result<Session> {
        let ep = match endpoint {
            Some(e) => e.to_string(),
            None => contract.endpoint()?,
        };
        let mut s = Session::new(&ep, opts)?;
        s.set_notary(
            contract.signer_nym_id(),
            contract.key(Role::Encryption),
            contract.key(Role::Auth),
        )?;
        Ok(s)
    }

    /// Sets the client's identity from a Nym loaded with its private keys: its A key signs
    /// requests, its E key opens replies. A public-only Nym is `InvalidArgument`.
    pub fn set_identity_nym(&mut self, nym: &Nym) -> Result<()> {
        let (a, e) = private_keys_of(nym)?;
        self.set_identity(a, e)
    }
}

impl Notary {
    /// A notary serving as `nym` (loaded from the notary's private credential files with its
    /// master key): its A key signs replies, its E key opens requests sealed to its NymID.
    pub fn bind_nym(endpoint: &str, nym: &Nym, opts: Options) -> Result<Notary> {
        let (a, e) = private_keys_of(nym)?;
        Notary::bind(endpoint, a, e, nym.id(), opts)
    }
}
