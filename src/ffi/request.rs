//! `ot_request`: a request received by a notary.

use super::OutHandle;
use super::buffer_getter;
use super::{Handle, HandleKind, free, guard, guard_value, handle, ot_buffer, ot_key, ot_result};
use crate::transport::Request;

/// A request received by a notary (opened and parsed, not yet verified). Freed with
/// `ot_request_free`. Immutable: may be read from any thread.
pub struct ot_request(pub(crate) Request);

impl Handle for ot_request {
    const KIND: HandleKind = HandleKind::Request;
    const NAME: &'static str = "ot_request";
}

/// The request's content **without verifying** its signature, e.g. to read the sender's NymID
/// and look up their key. Do not act on it before `ot_request_verify` succeeds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_request_content(
    request: *const ot_request,
    content: *mut *mut ot_buffer,
) -> ot_result {
    buffer_getter(request, "request", content, "content", |r| {
        Ok(r.0.content_unverified().to_vec())
    })
}

/// Verifies the request's signature with the sender's authentication public key; on success the
/// verified content goes to `*content` unless `content` is NULL. `OT_ERR_BAD_SIGNATURE` otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_request_verify(
    request: *const ot_request,
    sender_auth_public: *const ot_key,
    content: *mut *mut ot_buffer,
) -> ot_result {
    guard(|| {
        let r = handle(request, "request")?;
        let k = handle(sender_auth_public, "sender_auth_public")?;
        let c = r.0.verify(&k.0)?;
        if let Some(content) = OutHandle::optional(content) {
            content.put(ot_buffer::from_slice(c));
        }
        Ok(())
    })
}

/// Frees a request. A request freed without an answer is given up: the notary forgets it as in
/// progress and answers its client as it answers an unreadable request (a v2 `ERR`, or the
/// signed error with `reply_errors`; the legacy silence otherwise) at the same delay, so a
/// request whose signature the application refused looks like any other unreadable one.
/// `ot_request_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_request_free(request: *mut ot_request) {
    guard_value((), || free(request))
}
