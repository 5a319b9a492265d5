//! TCP port validation (issue 12, item 10): libzmq wraps out-of-range ports (`:99999` bound
//! port 34463, `:-1` bound 65535), so sessions and notaries refuse them up front; a connect
//! needs a real port, a bind may ask for an ephemeral one (`*` or `0`).

use std::ffi::CString;

use ot_transport::ErrorKind;
use ot_transport::ffi::{
    ot_result, ot_session, ot_session_free, ot_session_new, ot_session_options,
    ot_session_options_free, ot_session_options_new,
};
use ot_transport::transport::{Notary, Options, Session};

const BAD: &[&str] = &[
    "tcp://127.0.0.1:99999",
    "tcp://127.0.0.1:65536",
    "tcp://127.0.0.1:-1",
    "tcp://127.0.0.1:http",
    "tcp://127.0.0.1:12ab",
    "tcp://127.0.0.1:",
    "tcp://127.0.0.1",
    "tcp://[::1]:99999",
];

#[path = "common/transport.rs"]
mod fixtures;
use fixtures::Nym;

#[test]
fn sessions_refuse_bad_ports_and_ephemeral_ones() {
    for ep in BAD
        .iter()
        .chain(&["tcp://127.0.0.1:0", "tcp://127.0.0.1:*"])
    {
        let e = Session::new(ep, Options::default())
            .err()
            .unwrap_or_else(|| panic!("{ep} was accepted"));
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{ep}: {e:?}");
        assert!(e.detail().contains("port"), "{ep}: {e:?}");
    }
    for ep in [
        "tcp://127.0.0.1:1",
        "tcp://127.0.0.1:65535",
        "tcp://localhost:7085",
    ] {
        Session::new(ep, Options::default()).unwrap();
    }
}

#[test]
fn the_c_abi_refuses_wrapped_ports() {
    let mut o: *mut ot_session_options = std::ptr::null_mut();
    assert_eq!(unsafe { ot_session_options_new(&mut o) }, ot_result::OT_OK);
    for ep in BAD {
        let c = CString::new(*ep).unwrap();
        let mut s: *mut ot_session = std::ptr::null_mut();
        let r = unsafe { ot_session_new(c.as_ptr(), o, &mut s) };
        assert_eq!(r, ot_result::OT_ERR_INVALID_ARGUMENT, "{ep}");
        assert!(s.is_null());
    }
    let c = CString::new("tcp://127.0.0.1:7085").unwrap();
    let mut s: *mut ot_session = std::ptr::null_mut();
    assert_eq!(
        unsafe { ot_session_new(c.as_ptr(), o, &mut s) },
        ot_result::OT_OK
    );
    unsafe { ot_session_free(s) };
    unsafe { ot_session_options_free(o) };
}

#[test]
fn notaries_refuse_bad_ports_and_bind_ephemeral_ones() {
    let Nym { auth, enc, id } = Nym::rsa();
    for ep in BAD {
        let e = Notary::bind(ep, &auth, &enc, &id, Options::default())
            .err()
            .unwrap_or_else(|| panic!("{ep} was bound"));
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{ep}: {e:?}");
    }
    for ep in ["tcp://127.0.0.1:*", "tcp://127.0.0.1:0"] {
        let n = Notary::bind(ep, &auth, &enc, &id, Options::default()).unwrap();
        let port: u32 = n.endpoint().rsplit_once(':').unwrap().1.parse().unwrap();
        assert!(port > 0 && port <= 65535, "{}", n.endpoint());
    }
}

#[test]
fn ipv6_endpoints_keep_working() {
    // A connect to an IPv6 literal is accepted (libzmq resolves it when it connects).
    Session::new("tcp://[::1]:7085", Options::default()).unwrap();
    // A bind passes the port check; whether libzmq can bind it depends on its IPv6 setting
    // (ZMQ_IPV6 is not set by this library), which is not a port error.
    let Nym { auth, enc, id } = Nym::rsa();
    for ep in ["tcp://[::1]:*", "tcp://[::1]:0"] {
        match Notary::bind(ep, &auth, &enc, &id, Options::default()) {
            Ok(n) => assert!(n.endpoint().starts_with("tcp://[::1]:"), "{}", n.endpoint()),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Transport, "{ep}: {e:?}"),
        }
    }
}
