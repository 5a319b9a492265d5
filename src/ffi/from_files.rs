//! Sessions and notaries from the files a legacy client or notary already has: a verified
//! contract (`ot_contract`) names the notary, a verified Nym (`ot_nym`) is an identity. The
//! key-based calls (`ot_session_set_notary`, `ot_session_set_identity`, `ot_notary_new`) are
//! unchanged; these feed them verified keys.

use std::ffi::c_char;

use super::OutHandle;
use super::contract::ot_contract;
use super::nym::ot_nym;
use super::options::{opts, ot_session_options};
use super::session::ot_session;
use super::{cstr, guard, handle, handle_mut, opt_cstr, ot_notary, ot_result};
use crate::transport::{Notary, Session};

/// Creates a session to the notary of a verified contract, in one call: it connects to
/// `endpoint`, or when `endpoint` is NULL to the contract's own `<notaryServer>` endpoint
/// (`tcp://hostname:port`), and sets the notary from the contract — requests are sealed to the
/// signer's NymID with its E key, replies must be signed by its A key. Set the client's keys
/// with `ot_session_set_identity_nym` (or `ot_session_set_identity`). `options` may be NULL
/// (legacy defaults); it is copied.
/// Errors: `OT_ERR_STATE` when `endpoint` is NULL and the contract names no notary server (an
/// asset contract); as `ot_session_new` otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_new_from_contract(
    contract: *const ot_contract,
    endpoint: *const c_char,
    options: *const ot_session_options,
    session: *mut *mut ot_session,
) -> ot_result {
    guard(|| {
        let c = handle(contract, "contract")?;
        // SAFETY: NULL or a NUL-terminated string (header contract).
        let ep = unsafe { opt_cstr(endpoint, "endpoint") }?;
        let session = OutHandle::new(session, "session")?;
        let s = Session::from_contract(&c.0, ep, opts(options)?)?;
        session.put(ot_session(s));
        Ok(())
    })
}

/// Sets the client's keys from a Nym loaded with its private keys (`ot_nym_is_private`): its A
/// key signs requests, its E key opens replies (copied). A Nym with public keys only is
/// `OT_ERR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_session_set_identity_nym(
    session: *mut ot_session,
    nym: *const ot_nym,
) -> ot_result {
    guard(|| {
        let mut s = handle_mut(session, "session")?;
        let n = handle(nym, "nym")?;
        s.0.set_identity_nym(&n.0)?;
        Ok(())
    })
}

/// Binds a notary endpoint serving as `nym`, loaded from the notary's own private credential
/// files (`server_data/credentials`) with its master key (`ot_wallet_master_key` of
/// `notaryServer.xml`): its A key signs replies, its E key opens requests sealed to its NymID.
/// As `ot_notary_new` otherwise (`bind_endpoint`, `options`, errors); a Nym with public keys
/// only is `OT_ERR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_notary_new_from_nym(
    bind_endpoint: *const c_char,
    nym: *const ot_nym,
    options: *const ot_session_options,
    notary: *mut *mut ot_notary,
) -> ot_result {
    guard(|| {
        // SAFETY: a NUL-terminated string (header contract).
        let ep = unsafe { cstr(bind_endpoint, "bind_endpoint") }?;
        let n = handle(nym, "nym")?;
        let notary = OutHandle::new(notary, "notary")?;
        let nt = Notary::bind_nym(ep, &n.0, opts(options)?)?;
        notary.put(ot_notary(nt));
        Ok(())
    })
}
