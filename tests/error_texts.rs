//! Error texts are bounded (issue 12, item 5): user input quoted in an error detail is cut at
//! 64 characters, then "…", so a 10 MB bad value never becomes a 10 MB `ot_last_error()`.

use std::ffi::{CStr, CString};

use ot_transport::ffi::{
    ot_armor_decode, ot_buffer, ot_key, ot_key_load, ot_last_error, ot_result, ot_session,
    ot_session_new, ot_session_options, ot_session_options_free, ot_session_options_load_ini,
    ot_session_options_new, ot_session_options_set,
};

/// 64 quoted characters (escaped: at most a few bytes each) plus the fixed text around them
/// (the longest is the unknown-option error, which lists every option name).
const BOUND: usize = 600;
const BIG: usize = 10 * 1024 * 1024;

fn last_error() -> String {
    unsafe { CStr::from_ptr(ot_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn check(what: &str, r: ot_result, want: ot_result, marker: &str) -> String {
    assert_eq!(r, want, "{what}");
    let e = last_error();
    assert!(
        e.len() <= BOUND,
        "{what}: ot_last_error() is {} bytes: {}…",
        e.len(),
        &e[..200.min(e.len())]
    );
    assert!(e.contains(marker), "{what}: {e}");
    assert!(e.contains('…'), "{what}: the cut is shown: {e}");
    e
}

fn options() -> *mut ot_session_options {
    let mut o: *mut ot_session_options = std::ptr::null_mut();
    assert_eq!(unsafe { ot_session_options_new(&mut o) }, ot_result::OT_OK);
    o
}

#[test]
fn a_10_mb_bad_ini_number_gives_a_short_error() {
    let o = options();
    let ini = format!("[latency]\nlatency_send_ms = {}\n", "9x".repeat(BIG / 2));
    let r = unsafe { ot_session_options_load_ini(o, ini.as_ptr(), ini.len()) };
    let e = check(
        "bad INI number",
        r,
        ot_result::OT_ERR_MALFORMED,
        "line 2: latency_send_ms",
    );
    assert!(e.contains(&format!("\"{}\"…", "9x".repeat(32))), "{e}");
    unsafe { ot_session_options_free(o) };
}

#[test]
fn a_10_mb_option_name_gives_a_short_error() {
    let o = options();
    let name = CString::new("n".repeat(BIG)).unwrap();
    let r = unsafe { ot_session_options_set(o, name.as_ptr(), 1) };
    check(
        "long option name",
        r,
        ot_result::OT_ERR_INVALID_ARGUMENT,
        "unknown option",
    );
    unsafe { ot_session_options_free(o) };
}

#[test]
fn a_long_endpoint_gives_a_short_error() {
    let o = options();
    let mut s: *mut ot_session = std::ptr::null_mut();
    for ep in [format!("tcp://{}:1", "h".repeat(BIG)), "x".repeat(BIG)] {
        let ep = CString::new(ep).unwrap();
        let r = unsafe { ot_session_new(ep.as_ptr(), o, &mut s) };
        check(
            "long endpoint",
            r,
            ot_result::OT_ERR_INVALID_ARGUMENT,
            "endpoint",
        );
        assert!(s.is_null());
    }
    unsafe { ot_session_options_free(o) };
}

#[test]
fn long_labels_in_armor_and_pem_give_short_errors() {
    // An armor BEGIN line with a 10 MB type and no END line.
    let text = format!("-----BEGIN OT ARMORED {}-----\nCgF4\n", "T".repeat(BIG));
    let mut out: *mut ot_buffer = std::ptr::null_mut();
    let r = unsafe { ot_armor_decode(text.as_ptr(), text.len(), 0, &mut out) };
    check(
        "armor type",
        r,
        ot_result::OT_ERR_MALFORMED,
        "no END bookend",
    );
    // A PEM block with a 900 KB label (key input is capped at 1 MiB) and no END line.
    let pem = format!("-----BEGIN {}-----\nAAAA\n", "L".repeat(900 * 1024));
    let mut k: *mut ot_key = std::ptr::null_mut();
    let r = unsafe { ot_key_load(pem.as_ptr(), pem.len(), std::ptr::null(), 0, &mut k) };
    check(
        "PEM label",
        r,
        ot_result::OT_ERR_KEY_FORMAT,
        "has no END line",
    );
}
