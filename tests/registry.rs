//! The handle registry through the C ABI, in a process of its own (this file has one test, so
//! no other test allocates or frees handles meanwhile and which slot comes next is known): a
//! freed slot is not handed out again at once; once more than 4096 freed slots wait behind it,
//! it is — the new handle has the same slot bits and another generation — and the stale handle
//! is then refused while the new object keeps answering. (c-tests/test_handle_walk checks the
//! same for every handle type through every function, with fewer guarantees on order.)

use std::ffi::{CStr, CString};

use ot_transport::ffi::{
    ot_last_error, ot_result, ot_session_options, ot_session_options_free, ot_session_options_get,
    ot_session_options_new, ot_session_options_set,
};

/// The low bits of a handle name its slot (src/ffi/registry.rs: `generation << 28 | slot`).
const SLOT_MASK: usize = (1 << 28) - 1;
/// Freed slots that must wait before a freed slot is handed out again (registry REUSE_AFTER).
const REUSE_AFTER: usize = 4096;

fn slot(h: *mut ot_session_options) -> usize {
    h as usize & SLOT_MASK
}

fn new_options() -> *mut ot_session_options {
    let mut o = std::ptr::null_mut();
    assert_eq!(unsafe { ot_session_options_new(&mut o) }, ot_result::OT_OK);
    o
}

fn get(h: *mut ot_session_options, name: &CStr) -> Result<i64, (ot_result, String)> {
    let mut v = -1;
    match unsafe { ot_session_options_get(h, name.as_ptr(), &mut v) } {
        ot_result::OT_OK => Ok(v),
        r => Err((
            r,
            unsafe { CStr::from_ptr(ot_last_error()) }
                .to_string_lossy()
                .into_owned(),
        )),
    }
}

#[test]
fn a_freed_slot_is_reused_and_its_stale_handle_is_refused() {
    let name = CString::new("max_resends").unwrap();
    let stale = new_options();
    assert_eq!(
        unsafe { ot_session_options_set(stale, name.as_ptr(), 5) },
        ot_result::OT_OK
    );
    unsafe { ot_session_options_free(stale) };

    // Not at once: the next handles take new slots while fewer than 4097 freed slots wait.
    let early = new_options();
    assert_ne!(
        slot(early),
        slot(stale),
        "a freed slot was handed out again at once"
    );
    unsafe { ot_session_options_free(early) };

    // More than REUSE_AFTER freed slots behind it: the oldest freed slot, `stale`'s, is next.
    let pool: Vec<_> = (0..REUSE_AFTER + 8).map(|_| new_options()).collect();
    for h in pool {
        unsafe { ot_session_options_free(h) };
    }
    let fresh = new_options();
    assert_eq!(slot(fresh), slot(stale), "the slot was not reused");
    assert_ne!(fresh, stale, "the reused slot kept its generation");

    // The new object holds the defaults, whatever was set through the old handle.
    assert_eq!(get(fresh, &name), Ok(1));
    // The stale handle names the slot but not the object in it: refused, with the reason.
    let (r, detail) = get(stale, &name).unwrap_err();
    assert_eq!(r, ot_result::OT_ERR_INVALID_ARGUMENT);
    assert!(detail.contains("already freed"), "{detail}");
    assert_eq!(
        unsafe { ot_session_options_set(stale, name.as_ptr(), 9) },
        ot_result::OT_ERR_INVALID_ARGUMENT
    );
    // Freeing it again is a no-op: the new object is untouched.
    unsafe { ot_session_options_free(stale) };
    assert_eq!(get(fresh, &name), Ok(1));
    assert_eq!(
        unsafe { ot_session_options_set(fresh, name.as_ptr(), 3) },
        ot_result::OT_OK
    );
    assert_eq!(get(fresh, &name), Ok(3));
    unsafe { ot_session_options_free(fresh) };
    assert_eq!(
        get(fresh, &name).unwrap_err().0,
        ot_result::OT_ERR_INVALID_ARGUMENT
    );
}
