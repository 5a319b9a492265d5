//! Suite v3 over the transport (issue 9, suite-v3.md §5): each direction's suite follows the
//! keys. v3 client ↔ v3 notary, RSA client ↔ v3 notary, and one notary holding an RSA and a v3
//! identity at once serving both kinds of client; legacy clients never receive suite v3.

use std::thread;

use ot_transport::ErrorKind;
use ot_transport::armor::{self, Kind};
use ot_transport::envelope::Envelope;
use ot_transport::keys::{Algorithm, Key};
use ot_transport::signed;
use ot_transport::transport::{Notary, Options, Session};

#[path = "common/transport.rs"]
mod fixtures;
use fixtures::{Nym, session_between};

/// The shared short schedule with more time per reply (200 + 400 + 800 + 1600 ms): suite v3
/// requests cost an HPKE unwrap on top of the signatures.
fn fast() -> Options {
    Options {
        latency_receive_ms: 200,
        latency_receive_no_tries: 4,
        ..fixtures::fast()
    }
}

/// Serves `n` requests from any of `clients`: picks the sender's key by the request's hash type
/// (what an application does after reading the sender's NymID), checks which envelope type the
/// request used, and replies `@` + content sealed to that client's encryption key.
fn serve(nt: Notary, n: usize, clients: Vec<Nym>) -> thread::JoinHandle<Vec<(u16, String)>> {
    thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..n {
            let req = nt.receive(10_000).unwrap();
            let want = if req.hash_type() == "SHA256D" {
                Algorithm::Ed25519
            } else {
                Algorithm::Rsa
            };
            let c = clients.iter().find(|c| c.auth.algorithm() == want).unwrap();
            let content = req.verify(&c.auth.to_public()).unwrap().to_vec();
            seen.push((
                if req.is_legacy_envelope() { 1 } else { 3 },
                req.hash_type().to_string(),
            ));
            let reply = [b"@".as_slice(), &content].concat();
            nt.reply(&req, &reply, Some(&c.enc.to_public())).unwrap();
        }
        seen
    })
}

#[test]
fn v3_client_and_v3_notary_never_touch_rsa() {
    let (c, n) = (Nym::v3(), Nym::v3());
    let nt = Notary::bind("tcp://127.0.0.1:*", &n.auth, &n.enc, &n.id, fast()).unwrap();
    let ep = nt.endpoint().to_string();
    let h = serve(nt, 3, vec![c.clone()]);
    let mut s = session_between(&ep, fast(), &c, &n);
    // The request frame itself: type 3 to the notary, SHA256D inside.
    let frame = s.request_frame(b"<OTmessage>peek</OTmessage>\n").unwrap();
    let env = Envelope::from_armor(&frame).unwrap();
    assert_eq!(env.envelope_type(), 3);
    assert_eq!(env.recipient_ids(), vec![n.id.as_str()]);
    let text = env.open(Some(&n.id), &n.enc).unwrap();
    assert!(text.starts_with(b"-----BEGIN SIGNED MESSAGE-----\nHash: SHA256D\n"));
    for i in 0..3 {
        let msg = format!("<OTmessage>v3 request {i}</OTmessage>\n");
        assert_eq!(
            s.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
    }
    assert_eq!(h.join().unwrap(), vec![(3, "SHA256D".to_string()); 3]);
}

#[test]
fn rsa_client_with_v3_notary() {
    let (c, n) = (Nym::rsa(), Nym::v3());
    let nt = Notary::bind("tcp://127.0.0.1:*", &n.auth, &n.enc, &n.id, fast()).unwrap();
    let ep = nt.endpoint().to_string();
    let h = serve(nt, 2, vec![c.clone()]);
    let mut s = session_between(&ep, fast(), &c, &n);
    // Signed SAMY with RSA-PSS, sealed type 3 to the notary.
    let frame = s.request_frame(b"<OTmessage>peek</OTmessage>\n").unwrap();
    let env = Envelope::from_armor(&frame).unwrap();
    assert_eq!(env.envelope_type(), 3);
    let text = env.open(Some(&n.id), &n.enc).unwrap();
    assert!(text.starts_with(b"-----BEGIN SIGNED MESSAGE-----\nHash: SAMY\n"));
    for i in 0..2 {
        let msg = format!("<OTmessage>mixed {i}</OTmessage>\n");
        assert_eq!(
            s.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
    }
    assert_eq!(h.join().unwrap(), vec![(3, "SAMY".to_string()); 2]);
}

#[test]
fn the_reply_follows_the_requesters_keys() {
    // Built by hand so the reply frame itself can be inspected: RSA client, v3 notary.
    let (c, n) = (Nym::rsa(), Nym::v3());
    let nt = Notary::bind("tcp://127.0.0.1:*", &n.auth, &n.enc, &n.id, fast()).unwrap();
    let ep = nt.endpoint().to_string();
    let s = session_between(&ep, fast(), &c, &n);
    let frame = s.request_frame(b"<OTmessage>raw</OTmessage>\n").unwrap();
    let cli = thread::spawn(move || {
        let ctx = zmq::Context::new();
        let sock = ctx.socket(zmq::REQ).unwrap();
        sock.set_linger(0).unwrap();
        sock.set_rcvtimeo(10_000).unwrap();
        sock.connect(&ep).unwrap();
        sock.send(&frame, 0).unwrap();
        sock.recv_bytes(0).unwrap()
    });
    let req = nt.receive(10_000).unwrap();
    req.verify(&c.auth).unwrap();
    nt.reply(&req, b"@raw\n", Some(&c.enc)).unwrap();
    let reply = cli.join().unwrap();
    let a = armor::split(&reply).unwrap();
    assert_eq!(a.armor_type.as_deref(), Some("ENVELOPE"));
    let env = Envelope::parse(&armor::decode_body(&a.body, Kind::Data).unwrap()).unwrap();
    assert_eq!(env.envelope_type(), 1, "an RSA client gets type 1");
    let text = env.open(None, &c.enc).unwrap();
    // Signed by the v3 notary that opened the request.
    assert!(text.starts_with(b"-----BEGIN SIGNED MESSAGE-----\nHash: SHA256D\n"));
    assert_eq!(signed::verify(&text, &n.auth).unwrap(), b"@raw\n");
    assert_eq!(s.read_reply(&reply).unwrap(), b"@raw\n");
}

#[test]
fn one_notary_with_an_rsa_and_a_v3_identity() {
    let (legacy, modern) = (Nym::rsa(), Nym::v3());
    let (n_rsa, n_v3) = (Nym::rsa(), Nym::v3());
    let nt = Notary::bind(
        "tcp://127.0.0.1:*",
        &n_rsa.auth,
        &n_rsa.enc,
        &n_rsa.id,
        fast(),
    )
    .unwrap();
    nt.add_identity(&n_v3.auth, &n_v3.enc, &n_v3.id).unwrap();
    assert_eq!(nt.identity_count(), 2);
    // Bad identities are refused.
    assert_eq!(
        nt.add_identity(&n_v3.auth, &n_v3.enc, &n_v3.id)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        nt.add_identity(&n_v3.enc, &n_v3.enc, "x")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        nt.add_identity(&n_v3.auth, &n_v3.auth, "y")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        nt.add_identity(&n_v3.auth.to_public(), &n_v3.enc, "z")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    let ep = nt.endpoint().to_string();
    let h = serve(nt, 4, vec![legacy.clone(), modern.clone()]);
    // The legacy client knows only the RSA identity; the v3 client the v3 one.
    let mut sl = session_between(&ep, fast(), &legacy, &n_rsa);
    let mut sm = session_between(&ep, fast(), &modern, &n_v3);
    for i in 0..2 {
        let msg = format!("<OTmessage>legacy {i}</OTmessage>\n");
        assert_eq!(
            sl.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
        let msg = format!("<OTmessage>modern {i}</OTmessage>\n");
        assert_eq!(
            sm.request(msg.as_bytes()).unwrap(),
            format!("@{msg}").as_bytes()
        );
    }
    assert_eq!(
        h.join().unwrap(),
        vec![
            (1, "SAMY".to_string()),
            (3, "SHA256D".to_string()),
            (1, "SAMY".to_string()),
            (3, "SHA256D".to_string())
        ]
    );
}

#[test]
fn a_legacy_notary_is_never_sent_suite_v3() {
    let (c, n) = (Nym::v3(), Nym::rsa());
    let s = session_between("tcp://127.0.0.1:1", fast(), &c, &n);
    assert_eq!(
        s.request_frame(b"x\n").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // Key kinds that cannot do the job are refused up front.
    let mut s = Session::new("tcp://127.0.0.1:1", fast()).unwrap();
    let refused = |r: ot_transport::Result<()>| r.unwrap_err().kind();
    assert_eq!(
        refused(s.set_identity(&c.enc, &c.enc)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        refused(s.set_identity(&c.auth, &c.auth)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        refused(s.set_notary(&n.id, &c.auth, &n.auth)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        refused(s.set_notary(&n.id, &n.enc, &c.enc)),
        ErrorKind::InvalidArgument
    );
    for (auth, enc) in [(&c.enc, &c.enc), (&c.auth, &c.auth)] {
        let bound = Notary::bind("tcp://127.0.0.1:*", auth, enc, "n", fast()).map(|_| ());
        assert_eq!(refused(bound), ErrorKind::InvalidArgument);
    }
}

#[test]
fn a_type1_request_to_an_ed25519_signing_identity_gets_no_sha256d_reply() {
    // A notary identity with an RSA encryption key but an Ed25519 auth key: a type-1 request
    // (a legacy client) opens, but the notary refuses to answer it with SHA256D.
    let c = Nym::rsa();
    let auth = Key::generate_ed25519().unwrap();
    let n = Nym {
        id: auth.nym_id().unwrap(),
        auth,
        enc: Key::generate(1024).unwrap(),
    };
    let nt = Notary::bind("tcp://127.0.0.1:*", &n.auth, &n.enc, &n.id, fast()).unwrap();
    let ep = nt.endpoint().to_string();
    let s = session_between(&ep, fast(), &c, &n);
    let frame = s.request_frame(b"<OTmessage>old</OTmessage>\n").unwrap();
    assert_eq!(Envelope::from_armor(&frame).unwrap().envelope_type(), 1);
    let cli = thread::spawn(move || {
        let ctx = zmq::Context::new();
        let sock = ctx.socket(zmq::REQ).unwrap();
        sock.set_linger(0).unwrap();
        sock.set_rcvtimeo(1_000).unwrap();
        sock.connect(&ep).unwrap();
        sock.send(&frame, 0).unwrap();
        // EAGAIN: the 1 s receive timeout passed without a reply
        matches!(sock.recv_bytes(0), Err(zmq::Error::EAGAIN))
    });
    let req = nt.receive(10_000).unwrap();
    assert!(req.is_legacy_envelope());
    assert_eq!(
        nt.reply(&req, b"@old\n", Some(&c.enc)).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert!(cli.join().unwrap(), "no reply was sent");
}
