//! `ot_nym`: a verified 2013+ Nym loaded from its credential files.

use std::ffi::{c_char, c_int};

use super::OutHandle;
use super::buffer_getter;
use super::keys::pass;
use super::{
    FfiResult, Handle, HandleKind, bytes, checked, cstr, free, guard, guard_value, handle, invalid,
    null, ot_buffer, ot_key, ot_result,
};
use crate::credentials::{MAX_CREDENTIALS, Nym, Role};

/// A Nym whose credential list and credentials all verified (every rule of
/// `docs/credentials.md`). Created by `ot_nym_load` or `ot_nym_load_dir`, freed with
/// `ot_nym_free` (private keys are zeroed). Immutable: one Nym may be used from many threads at
/// once. It hands out the keys of its first key credential: A (`OT_KEY_ROLE_AUTH`, signs
/// requests), E (`OT_KEY_ROLE_ENCRYPTION`, opens envelopes), S (`OT_KEY_ROLE_SIGNING`, signs
/// contracts).
pub struct ot_nym(pub(crate) Nym);

impl Handle for ot_nym {
    const KIND: HandleKind = HandleKind::Nym;
    const NAME: &'static str = "ot_nym";
}

/// A borrowed byte string: `len` bytes at `data` (NULL only with `len` 0).
#[repr(C)]
pub struct ot_slice {
    /// The bytes (borrowed for the duration of the call).
    pub data: *const u8,
    /// Their number.
    pub len: usize,
}

/// A key role, for `ot_nym_key` and `ot_contract_key`: one of the `OT_KEY_ROLE_*` values.
pub type ot_key_role = u32;
/// A: authentication — signs messages (a client's requests, a notary's replies).
pub const OT_KEY_ROLE_AUTH: ot_key_role = 1;
/// E: encryption — opens envelopes sealed to the Nym.
pub const OT_KEY_ROLE_ENCRYPTION: ot_key_role = 2;
/// S: signing — signs contracts.
pub const OT_KEY_ROLE_SIGNING: ot_key_role = 3;

pub(crate) fn role(r: ot_key_role) -> FfiResult<Role> {
    match r {
        OT_KEY_ROLE_AUTH => Ok(Role::Auth),
        OT_KEY_ROLE_ENCRYPTION => Ok(Role::Encryption),
        OT_KEY_ROLE_SIGNING => Ok(Role::Signing),
        _ => Err(invalid(format!(
            "key role {r} is not OT_KEY_ROLE_AUTH (1), _ENCRYPTION (2) or _SIGNING (3)"
        ))),
    }
}

/// Loads a Nym from its credential list (`list[0..list_len]`: the `<NymID>.cred` file,
/// `OT ARMORED CREDENTIAL LIST`, or its plain XML) and its `count` credentials (each the
/// content of a `<NymID>/<credential ID>` file, armored or plain, public or private, in any
/// order; at most 64), and verifies every rule of `docs/credentials.md`.
///
/// `passphrase` (`pass_len` bytes; NULL with 0: none) unlocks the private files' keys: for a
/// 2013 wallet it is the wallet's master key (`ot_wallet_master_key`), not the wallet's
/// passphrase. Without it, or with public files, the Nym holds public keys only
/// (`ot_nym_is_private` is 0).
///
/// Errors: `OT_ERR_BAD_SIGNATURE` when a rule fails — `ot_last_error()` starts with the rule's
/// name (`CRED_ID: …`, `MASTER_SIG: …`); `OT_ERR_MALFORMED` for unreadable input;
/// `OT_ERR_BAD_PASSPHRASE` when a private key does not unlock; `OT_ERR_INVALID_ARGUMENT` for
/// more than 64 credentials or oversized input (a list over 256 KiB, a credential over 1 MiB).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_nym_load(
    list: *const u8,
    list_len: usize,
    credentials: *const ot_slice,
    count: usize,
    passphrase: *const u8,
    pass_len: usize,
    nym: *mut *mut ot_nym,
) -> ot_result {
    guard(|| {
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let l = unsafe { bytes(list, list_len, "list") }?;
        if count > MAX_CREDENTIALS {
            return Err(invalid(format!(
                "{count} credentials given; a Nym has at most {MAX_CREDENTIALS}"
            )));
        }
        if credentials.is_null() && count > 0 {
            return Err(null("credentials"));
        }
        let mut creds: Vec<&[u8]> = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: `credentials` points to `count` readable ot_slice values (header
            // contract); `count` was bounded above.
            let s = unsafe { &*credentials.add(i) };
            // SAFETY: each slice's (pointer, length) pair is readable (header contract).
            creds.push(unsafe { bytes(s.data, s.len, "credentials[i].data") }?);
        }
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { pass(passphrase, pass_len) }?;
        let nym = OutHandle::new(nym, "nym")?;
        let n = Nym::load(l, &creds, p)?;
        nym.put(ot_nym(n));
        Ok(())
    })
}

/// Loads a Nym from a legacy credentials folder: `credentials_dir/<nym_id>.cred` and
/// `credentials_dir/<nym_id>/<credential ID>` for every listed credential — the layout of a
/// client's `client_data/credentials`, a notary's `server_data/credentials`, and (public files)
/// a notary's `server_data/pubcred`. `nym_id` must be a base62 NymID (1-64 characters of
/// `0-9A-Za-z`); the list must be that Nym's and each file must hold the credential it is
/// named after. `passphrase` and errors as `ot_nym_load`; a listed file that does not exist is
/// `OT_ERR_BAD_SIGNATURE` with `MISSING: …`, an unreadable folder `OT_ERR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_nym_load_dir(
    credentials_dir: *const c_char,
    nym_id: *const c_char,
    passphrase: *const u8,
    pass_len: usize,
    nym: *mut *mut ot_nym,
) -> ot_result {
    guard(|| {
        // SAFETY: a NUL-terminated string (header contract).
        let d = unsafe { cstr(credentials_dir, "credentials_dir") }?;
        // SAFETY: a NUL-terminated string (header contract).
        let id = unsafe { cstr(nym_id, "nym_id") }?;
        // SAFETY: the caller's (pointer, length) pair is readable for this call (header contract).
        let p = unsafe { pass(passphrase, pass_len) }?;
        let nym = OutHandle::new(nym, "nym")?;
        let n = Nym::load_dir(std::path::Path::new(d), id, p)?;
        nym.put(ot_nym(n));
        Ok(())
    })
}

/// The Nym's ID (base62 text) into a new `*nym_id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_nym_id(nym: *const ot_nym, nym_id: *mut *mut ot_buffer) -> ot_result {
    buffer_getter(nym, "nym", nym_id, "nym_id", |n| {
        Ok(n.0.id().as_bytes().to_vec())
    })
}

/// One of the Nym's keys (its first key credential's) into a new `*key`: private when the Nym
/// was loaded from private files with the passphrase (`ot_nym_is_private`), otherwise public.
/// `role`: `OT_KEY_ROLE_AUTH`, `_ENCRYPTION` or `_SIGNING` (`OT_ERR_INVALID_ARGUMENT` otherwise).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_nym_key(
    nym: *const ot_nym,
    role: ot_key_role,
    key: *mut *mut ot_key,
) -> ot_result {
    guard(|| {
        let n = handle(nym, "nym")?;
        let r = self::role(role)?;
        let key = OutHandle::new(key, "key")?;
        key.put(ot_key(n.0.key(r).clone()));
        Ok(())
    })
}

/// 1 if the Nym holds its private keys (loaded from private files with the passphrase), 0 if
/// it holds public keys only or `nym` is NULL or not a live Nym.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_nym_is_private(nym: *const ot_nym) -> c_int {
    guard_value(0, || {
        checked(nym).is_some_and(|n| n.0.is_private()) as c_int
    })
}

/// Frees a Nym (private keys are zeroed). `ot_nym_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_nym_free(nym: *mut ot_nym) {
    guard_value((), || free(nym))
}
