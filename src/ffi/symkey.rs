//! Legacy symmetric keys (a wallet's master key).

use super::OutHandle;
use super::{bytes, guard, null, ot_buffer, ot_result};
use crate::symkey::SymmetricKey;

/// Unlocks a legacy serialized `OTSymmetricKey` (binary, or its data-path armor as found in a
/// wallet's `<cachedKey>`) with a passphrase: PBKDF2-HMAC-SHA1, hash check, AES-128-CBC unwrap.
/// The 16 raw key bytes go to a new `*raw_key` (zeroed on free). A wrong passphrase is
/// `OT_ERR_BAD_PASSPHRASE`, never a garbage key. For a 2013+ wallet, the result is the
/// passphrase of every private key (pass it to `ot_key_load`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_symkey_unlock(
    serialized: *const u8,
    len: usize,
    passphrase: *const u8,
    pass_len: usize,
    raw_key: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let s = unsafe { bytes(serialized, len, "serialized") }?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { bytes(passphrase, pass_len, "passphrase") }?;
        if passphrase.is_null() {
            return Err(null("passphrase"));
        }
        let raw_key = OutHandle::new(raw_key, "raw_key")?;
        let k = SymmetricKey::parse(s)?.unlock(p)?;
        raw_key.put(ot_buffer::from_slice(&k));
        Ok(())
    })
}

/// Unlocks the master key of a legacy wallet — a client's `wallet.xml` (`OT ARMORED WALLET`) or
/// a notary's `notaryServer.xml` (`OT ARMORED NOTARY`), armored or plain XML, at most 16 MiB —
/// from its `<cachedKey>` with the wallet's passphrase (`passphrase[0..pass_len]`; the legacy
/// sample data's is `test`). The 16 raw key bytes go to a new `*master_key` (zeroed on free):
/// they are the passphrase of every private key of the wallet's 2013+ credentials (give them to
/// `ot_nym_load` / `ot_nym_load_dir`). A wrong passphrase is `OT_ERR_BAD_PASSPHRASE`; a wallet
/// without `<cachedKey>` (before 2012 keys were locked with the passphrase itself)
/// `OT_ERR_UNSUPPORTED`; unreadable input `OT_ERR_MALFORMED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_wallet_master_key(
    wallet: *const u8,
    len: usize,
    passphrase: *const u8,
    pass_len: usize,
    master_key: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let w = unsafe { bytes(wallet, len, "wallet") }?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { bytes(passphrase, pass_len, "passphrase") }?;
        if passphrase.is_null() {
            return Err(null("passphrase"));
        }
        let master_key = OutHandle::new(master_key, "master_key")?;
        let k = crate::credentials::wallet_master_key(w, p)?;
        master_key.put(ot_buffer::new(k.to_vec()));
        Ok(())
    })
}
