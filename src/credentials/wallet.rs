//! The master key of a legacy wallet: the `<cachedKey>` of a client's `wallet.xml`
//! (`OT ARMORED WALLET`) or of a notary's `notaryServer.xml` (`OT ARMORED NOTARY`). Its 16 raw
//! bytes are the passphrase of every private key the wallet's 2013+ credentials hold.

use zeroize::Zeroizing;

use super::xml;
use super::{Budget, document_text};
use crate::error::{Error, Result};
use crate::symkey::SymmetricKey;

/// Largest wallet file accepted (armored or not).
pub const MAX_WALLET_TEXT: usize = 16 * 1024 * 1024;

/// Unlocks the master key cached in a wallet (`wallet.xml`, or a notary's `notaryServer.xml`;
/// armored or plain XML) with the wallet's passphrase (legacy sample data: `test`). A wrong
/// passphrase is `BadPassphrase`; a wallet without `<cachedKey>` (pre-2012) is `Unsupported`.
pub fn wallet_master_key(raw: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (text, _) = document_text(raw, MAX_WALLET_TEXT, "wallet", &Budget::new())?;
    let root = xml::parse(&text)?;
    let Some(cached) = root.opt("cachedKey")? else {
        return Err(Error::unsupported(format!(
            "the wallet (<{}>) has no <cachedKey>: its keys are locked with the passphrase itself",
            crate::error::clip(root.name)
        )));
    };
    SymmetricKey::parse(cached.inner.trim().as_bytes())?.unlock(passphrase)
}
