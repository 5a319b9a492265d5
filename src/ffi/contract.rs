//! `ot_contract`: a verified signed contract (a notary's, or an asset contract).

use super::OutHandle;
use super::buffer_getter;
use super::from_bytes;
use super::nym::{ot_key_role, role};
use super::{Handle, HandleKind, free, guard, guard_value, handle, ot_buffer, ot_key, ot_result};
use crate::credentials::Contract;

/// A signed contract whose signature verified through its signer: 2013 (the signer's
/// credentials embedded, signed with the S key of one of its key credentials) or 2011 (signed
/// with its `<key name="contract">`). Created by `ot_contract_load`, freed with
/// `ot_contract_free`. Immutable: usable from many threads at once. A notary's contract gives the
/// notary's NymID, its A and E keys and its endpoint: `ot_session_new_from_contract` uses them
/// all.
pub struct ot_contract(pub(crate) Contract);

impl Handle for ot_contract {
    const KIND: HandleKind = HandleKind::Contract;
    const NAME: &'static str = "ot_contract";
}

/// Loads a signed contract (`text[0..len]`: the `contracts/<ID>` file, `OT ARMORED CONTRACT` or
/// the plain `-----BEGIN SIGNED CONTRACT-----` text; at most 16 MiB de-armored) and verifies
/// it: 2013 — the embedded credential list and credentials make a Nym that passes every rule of
/// `docs/credentials.md`, and the contract verifies with the S key of one of its key
/// credentials (never the master's); 2011 — the contract verifies with its
/// `<key name="contract">`. A `<notaryServer>` must then give a usable address.
///
/// Errors: `OT_ERR_BAD_SIGNATURE` when a rule fails (`ot_last_error()` starts with its name:
/// `CONTRACT_SIG: …`, `CRED_ID: …`); `OT_ERR_MALFORMED` for unreadable input or an unusable
/// `<notaryServer>` (`NOTARY: …`); `OT_ERR_INVALID_ARGUMENT` for oversized input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_contract_load(
    text: *const u8,
    len: usize,
    contract: *mut *mut ot_contract,
) -> ot_result {
    // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
    unsafe {
        from_bytes(text, len, "text", contract, "contract", |t| {
            Ok(ot_contract(Contract::load(t)?))
        })
    }
}

/// The contract's ID into a new `*id`: base62(SAMY(the signed text)), trimmed for 2013
/// contracts, the file as it is for 2011 ones — the name legacy OT stored it under.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_contract_id(
    contract: *const ot_contract,
    id: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(contract, "contract", id, "id", |c| {
        Ok(c.0.id().as_bytes().to_vec())
    })
}

/// The signer's NymID into a new `*nym_id` — for a notary's contract, the notary's NymID
/// (requests are sealed to it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_contract_signer_id(
    contract: *const ot_contract,
    nym_id: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(contract, "contract", nym_id, "nym_id", |c| {
        Ok(c.0.signer_nym_id().as_bytes().to_vec())
    })
}

/// One of the signer's public keys into a new `*key` (2013: its first key credential's; 2011:
/// the contract key, which serves every role). `role`: `OT_KEY_ROLE_AUTH` (verifies the
/// notary's replies), `_ENCRYPTION` (requests are sealed to it) or `_SIGNING`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_contract_key(
    contract: *const ot_contract,
    role: ot_key_role,
    key: *mut *mut ot_key,
) -> ot_result {
    guard(|| {
        let c = handle(contract, "contract")?;
        let r = self::role(role)?;
        let key = OutHandle::new(key, "key")?;
        key.put(ot_key(c.0.key(r).clone()));
        Ok(())
    })
}

/// The notary's endpoint from `<notaryServer hostname port>` into a new `*endpoint`
/// (`tcp://hostname:port`, e.g. `tcp://localhost:7085`). `OT_ERR_STATE` for a contract that
/// names no notary server (an asset contract).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_contract_endpoint(
    contract: *const ot_contract,
    endpoint: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let c = handle(contract, "contract")?;
        let endpoint = OutHandle::new(endpoint, "endpoint")?;
        let e = c.0.endpoint()?;
        endpoint.put(ot_buffer::new(e.into_bytes()));
        Ok(())
    })
}

/// Frees a contract. `ot_contract_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_contract_free(contract: *mut ot_contract) {
    guard_value((), || free(contract))
}
