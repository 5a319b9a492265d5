//! Shared by the transport tests (`tests/transport.rs`, `transport_v2.rs`, `transport_v3.rs`,
//! `broker.rs`, `faults.rs`, `interop_python.rs`, `ports.rs`): identities, the short schedule,
//! and sessions and notaries on loopback ports read back from the bound socket.
#![allow(dead_code)]

use std::sync::OnceLock;

use ot_transport::keys::Key;
use ot_transport::transport::{Notary, Options, Session};

/// A client's or a notary's identity: authentication key (signs), encryption key (opens), NymID.
#[derive(Clone)]
pub struct Nym {
    pub auth: Key,
    pub enc: Key,
    pub id: String,
}

impl Nym {
    /// Legacy suite: two RSA-1024 keys (the legacy size, quick to generate).
    pub fn rsa() -> Nym {
        let auth = Key::generate(1024).unwrap();
        let enc = Key::generate(1024).unwrap();
        let id = auth.nym_id().unwrap();
        Nym { auth, enc, id }
    }

    /// Suite v3: Ed25519 (A) and X25519 (E).
    pub fn v3() -> Nym {
        let auth = Key::generate_ed25519().unwrap();
        let enc = Key::generate_x25519().unwrap();
        let id = auth.nym_id().unwrap();
        Nym { auth, enc, id }
    }
}

/// The client and the notary of a test binary (RSA), made once.
pub fn pair() -> &'static (Nym, Nym) {
    static P: OnceLock<(Nym, Nym)> = OnceLock::new();
    P.get_or_init(|| (Nym::rsa(), Nym::rsa()))
}

/// The legacy schedule, shortened: sends polled 50 ms x 2, replies 100 + 200 + 400 ms = 700 ms
/// per attempt, no pause after sending, one resend.
pub fn fast() -> Options {
    Options {
        latency_send_ms: 50,
        latency_send_no_tries: 2,
        latency_receive_ms: 100,
        latency_receive_no_tries: 3,
        latency_delay_after: 0,
        max_resends: 1,
        ..Options::default()
    }
}

/// A session to `endpoint` as `client`, to `notary` (its public keys).
pub fn session_between(endpoint: &str, o: Options, client: &Nym, notary: &Nym) -> Session {
    let mut s = Session::new(endpoint, o).unwrap();
    s.set_identity(&client.auth, &client.enc).unwrap();
    s.set_notary(
        &notary.id,
        &notary.enc.to_public(),
        &notary.auth.to_public(),
    )
    .unwrap();
    s
}

/// A session of `pair()`'s client to its notary at `endpoint`.
pub fn session(endpoint: &str, o: Options) -> Session {
    let (client, notary) = pair();
    session_between(endpoint, o, client, notary)
}

/// `pair()`'s notary on a free loopback port (`notary.endpoint()` gives the bound one).
pub fn notary(o: Options) -> Notary {
    let (_, n) = pair();
    Notary::bind("tcp://127.0.0.1:*", &n.auth, &n.enc, &n.id, o).unwrap()
}

/// An endpoint nothing listens on and nobody else can take: a socket path in a fresh private
/// folder, removed on drop (a TCP port found free and closed again could be taken by another
/// process before use).
pub struct UnusedIpc {
    pub endpoint: String,
    dir: std::path::PathBuf,
}

impl UnusedIpc {
    pub fn new(name: &str) -> UnusedIpc {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ot-test-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let endpoint = format!("ipc://{}/notary", dir.display());
        UnusedIpc { endpoint, dir }
    }
}

impl Drop for UnusedIpc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
