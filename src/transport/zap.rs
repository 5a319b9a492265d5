//! ZAP (ZeroMQ RFC 27): who may complete a CURVE handshake with our sockets.
//!
//! libzmq asks a ZAP handler — a socket bound to `inproc://zeromq.zap.01` in the same context —
//! about every CURVE handshake on a server socket. The library's one context gets one handler
//! thread, started the first time a socket asks for a [`Domain`] (and again in a forked child,
//! which gets a context of its own). Each socket that wants a policy sets `ZMQ_ZAP_DOMAIN` to its
//! domain's name; the handler looks the policy up by that name:
//!
//! * a domain with an allow-list admits exactly the listed client public keys and refuses the
//!   others at the handshake (counted: [`Domain::refused`]);
//! * a domain without one admits any key (it is there to learn the key: see below);
//! * a domain name the handler does not know (its owner is gone) is refused;
//! * a socket with no domain (CURVE configured by hand through the options) is admitted as
//!   before a handler existed.
//!
//! Every admitted CURVE peer gets its public key, in Z85, as its ZAP user id, so each message
//! from it carries the key as the `User-Id` property: the notary binds a connection and its
//! cached replies to that key. Only CURVE is ever admitted on a domain: NULL and PLAIN are
//! refused there (status 400).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use crate::error::{Error, Result};
use crate::transport::{context, keep_forever, zmq_err};

/// The endpoint libzmq sends ZAP requests to (RFC 27).
const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// At most this many keys in one allow-list.
pub const MAX_ALLOWED_KEYS: usize = 65_536;

/// One domain's policy.
#[derive(Default)]
struct Policy {
    /// `None`: any CURVE key; `Some`: exactly these.
    allowed: Mutex<Option<HashSet<[u8; 32]>>>,
    admitted: AtomicU64,
    refused: AtomicU64,
}

type Policies = HashMap<String, Arc<Policy>>;

fn policies() -> std::sync::MutexGuard<'static, Policies> {
    static POLICIES: LazyLock<Mutex<Policies>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    // A poisoned lock only means a panic elsewhere while it was held; the map stays usable.
    POLICIES.lock().unwrap_or_else(|p| p.into_inner())
}

/// A ZAP domain: set its [`name`](Domain::name) as a socket's `ZMQ_ZAP_DOMAIN` before it binds.
/// Dropping it withdraws the policy (the handler then refuses that name).
pub struct Domain {
    name: String,
    policy: Arc<Policy>,
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain").field("name", &self.name).finish()
    }
}

impl Domain {
    /// A new domain admitting `allowed` keys only, or any CURVE key when `None`; starts the
    /// handler if this process has none yet.
    pub fn new(allowed: Option<HashSet<[u8; 32]>>) -> Result<Domain> {
        check_size(allowed.as_ref())?;
        super::options::curve_available()?;
        ensure_handler()?;
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let name = format!(
            "ot-transport.{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let policy = Arc::new(Policy {
            allowed: Mutex::new(allowed),
            ..Policy::default()
        });
        policies().insert(name.clone(), policy.clone());
        Ok(Domain { name, policy })
    }

    /// The `ZMQ_ZAP_DOMAIN` to set on the socket.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Replaces the allow-list (`None`: any key). Connections already admitted stay.
    pub fn set_allowed(&self, allowed: Option<HashSet<[u8; 32]>>) -> Result<()> {
        check_size(allowed.as_ref())?;
        *self
            .policy
            .allowed
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = allowed;
        Ok(())
    }

    /// Adds one key to the allow-list (creating it if the domain admitted any key).
    pub fn allow(&self, key: [u8; 32]) -> Result<()> {
        let mut allowed = self
            .policy
            .allowed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let set = allowed.get_or_insert_with(HashSet::new);
        if set.len() >= MAX_ALLOWED_KEYS && !set.contains(&key) {
            return Err(Error::invalid(format!(
                "an allow-list holds at most {MAX_ALLOWED_KEYS} keys"
            )));
        }
        set.insert(key);
        Ok(())
    }

    /// Whether the domain has an allow-list.
    pub fn restricted(&self) -> bool {
        self.policy
            .allowed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Handshakes admitted so far.
    pub fn admitted(&self) -> u64 {
        self.policy.admitted.load(Ordering::Relaxed)
    }

    /// Handshakes refused so far (a key not on the list, or not CURVE).
    pub fn refused(&self) -> u64 {
        self.policy.refused.load(Ordering::Relaxed)
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        policies().remove(&self.name);
    }
}

fn check_size(allowed: Option<&HashSet<[u8; 32]>>) -> Result<()> {
    match allowed {
        Some(s) if s.len() > MAX_ALLOWED_KEYS => Err(Error::invalid(format!(
            "an allow-list holds at most {MAX_ALLOWED_KEYS} keys"
        ))),
        _ => Ok(()),
    }
}

/// Starts this process's handler thread once (again after `fork()`: the child's context is new).
fn ensure_handler() -> Result<()> {
    static STARTED: Mutex<u32> = Mutex::new(0);
    let mut started = STARTED.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if *started == pid {
        return Ok(());
    }
    let socket = context()
        .socket(zmq::REP)
        .map_err(|e| zmq_err("creating the ZAP handler socket", e))?;
    socket
        .set_linger(0)
        .map_err(|e| zmq_err("ZMQ_LINGER (ZAP handler)", e))?;
    socket
        .bind(ZAP_ENDPOINT)
        .map_err(|e| zmq_err("binding the ZAP handler", e))?;
    std::thread::Builder::new()
        .name("ot-zap".into())
        .spawn(move || serve(socket))
        .map_err(|_| Error::internal("cannot start the ZAP handler thread"))?;
    *started = pid;
    Ok(())
}

/// The handler: answers every request, forever (the context is never terminated).
fn serve(socket: zmq::Socket) {
    loop {
        let frames = match socket.recv_multipart(0) {
            Ok(f) => f,
            // EINTR and the like: ask again. ETERM (never here): stop.
            Err(zmq::Error::ETERM) => {
                keep_forever(socket);
                return;
            }
            Err(_) => continue,
        };
        let reply = answer(&frames);
        // A REP socket must answer before it can receive again; a failed send is retried by
        // libzmq's side timing out the handshake, nothing to do here.
        let _ = socket.send_multipart(reply, 0);
    }
}

/// The reply frames (RFC 27) to one request: version, request id, status code, status text,
/// user id, metadata.
fn answer(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let request_id = frames.get(1).cloned().unwrap_or_default();
    let reply = |code: &str, text: &str, user: &[u8]| {
        vec![
            b"1.0".to_vec(),
            request_id.clone(),
            code.as_bytes().to_vec(),
            text.as_bytes().to_vec(),
            user.to_vec(),
            Vec::new(),
        ]
    };
    // version, request id, domain, address, routing id, mechanism, credentials...
    if frames.len() < 6 || frames[0] != b"1.0" {
        return reply("500", "malformed ZAP request", b"");
    }
    let domain = String::from_utf8_lossy(&frames[2]).into_owned();
    let mechanism = frames[5].as_slice();
    let curve_key: Option<[u8; 32]> = if mechanism == b"CURVE" {
        frames.get(6).and_then(|k| k.as_slice().try_into().ok())
    } else {
        None
    };
    let user = curve_key
        .and_then(|k| super::z85::encode(&k).ok())
        .map(|z| z.as_bytes().to_vec())
        .unwrap_or_default();
    if domain.is_empty() {
        // A socket with CURVE set by hand and no domain: admitted as before the handler existed
        // (libzmq admits every peer when no handler is bound), with its key as the user id.
        return reply("200", "OK", &user);
    }
    let policy = policies().get(&domain).cloned();
    let Some(policy) = policy else {
        return reply("400", "unknown domain", b"");
    };
    let admitted = match curve_key {
        None => false,
        Some(key) => match &*policy.allowed.lock().unwrap_or_else(|p| p.into_inner()) {
            None => true,
            Some(list) => list.contains(&key),
        },
    };
    if admitted {
        policy.admitted.fetch_add(1, Ordering::Relaxed);
        reply("200", "OK", &user)
    } else {
        policy.refused.fetch_add(1, Ordering::Relaxed);
        reply("400", "not allowed", b"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(domain: &str, mechanism: &str, key: Option<[u8; 32]>) -> Vec<Vec<u8>> {
        let mut f = vec![
            b"1.0".to_vec(),
            b"7".to_vec(),
            domain.as_bytes().to_vec(),
            b"127.0.0.1".to_vec(),
            Vec::new(),
            mechanism.as_bytes().to_vec(),
        ];
        if let Some(k) = key {
            f.push(k.to_vec());
        }
        f
    }

    #[test]
    fn allow_lists_admit_exactly_their_keys() {
        let listed = [1u8; 32];
        let d = Domain::new(Some([listed].into_iter().collect())).unwrap();
        let ok = answer(&request(d.name(), "CURVE", Some(listed)));
        assert_eq!(ok[1], b"7");
        assert_eq!(ok[2], b"200");
        assert_eq!(
            ok[4],
            super::super::z85::encode(&listed).unwrap().as_bytes()
        );
        assert_eq!(
            answer(&request(d.name(), "CURVE", Some([2u8; 32])))[2],
            b"400"
        );
        assert_eq!(answer(&request(d.name(), "NULL", None))[2], b"400");
        assert_eq!(answer(&request(d.name(), "PLAIN", None))[2], b"400");
        assert_eq!((d.admitted(), d.refused()), (1, 3));
        d.allow([2u8; 32]).unwrap();
        assert_eq!(
            answer(&request(d.name(), "CURVE", Some([2u8; 32])))[2],
            b"200"
        );
        let name = d.name().to_string();
        drop(d);
        assert_eq!(answer(&request(&name, "CURVE", Some(listed)))[2], b"400");
    }

    #[test]
    fn open_domains_admit_any_curve_key_and_malformed_requests_fail() {
        let d = Domain::new(None).unwrap();
        assert!(!d.restricted());
        assert_eq!(
            answer(&request(d.name(), "CURVE", Some([9u8; 32])))[2],
            b"200"
        );
        assert_eq!(answer(&request(d.name(), "CURVE", None))[2], b"400");
        assert_eq!(answer(&request("", "CURVE", Some([9u8; 32])))[2], b"200");
        assert_eq!(answer(&[b"2.0".to_vec()])[2], b"500");
        assert_eq!(answer(&[])[2], b"500");
    }

    /// Real handshakes through libzmq: a listed key gets in with its key as `User-Id`, an
    /// unlisted one and a NULL peer get nothing, and each is counted.
    #[test]
    fn handshakes_are_decided_by_the_domain() {
        let ctx = context();
        let server = zmq::CurveKeyPair::new().unwrap();
        let good = zmq::CurveKeyPair::new().unwrap();
        let bad = zmq::CurveKeyPair::new().unwrap();
        let d = Domain::new(Some([good.public_key].into_iter().collect())).unwrap();
        let r = ctx.socket(zmq::ROUTER).unwrap();
        r.set_linger(0).unwrap();
        r.set_curve_server(true).unwrap();
        r.set_curve_secretkey(&server.secret_key).unwrap();
        r.set_zap_domain(d.name()).unwrap();
        r.bind("tcp://127.0.0.1:*").unwrap();
        let ep = r.get_last_endpoint().unwrap().unwrap();
        let dealer = |kp: Option<&zmq::CurveKeyPair>| {
            let s = ctx.socket(zmq::DEALER).unwrap();
            s.set_linger(0).unwrap();
            if let Some(kp) = kp {
                s.set_curve_serverkey(&server.public_key).unwrap();
                s.set_curve_publickey(&kp.public_key).unwrap();
                s.set_curve_secretkey(&kp.secret_key).unwrap();
            }
            s.connect(&ep).unwrap();
            s.send("hello", 0).unwrap();
            s
        };
        let _bad = dealer(Some(&bad));
        let _plain = dealer(None);
        let _good = dealer(Some(&good));
        r.set_rcvtimeo(3000).unwrap();
        let _routing_id = r.recv_msg(0).unwrap();
        let mut body = r.recv_msg(0).unwrap();
        assert_eq!(&body[..], b"hello");
        let user = body.gets("User-Id").map(str::to_string);
        let want = super::super::z85::encode(&good.public_key).unwrap();
        assert_eq!(user.as_deref(), Some(want.as_str()));
        // Nothing else arrives: the others never completed a handshake.
        r.set_rcvtimeo(300).unwrap();
        assert!(r.recv_msg(0).is_err());
        assert_eq!(d.admitted(), 1);
        assert!(d.refused() >= 1, "the unlisted CURVE key was refused");
    }
}
