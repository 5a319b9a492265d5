//! Session and notary options, with legacy OT's `[latency]` names and defaults.

use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result, quote};

/// CURVE (ZeroMQ's CurveZMQ) keys: encryption and server authentication of the connection itself,
/// on top of the sealed envelopes. Both ends must be configured; legacy peers cannot speak it, so
/// it is off unless set.
#[derive(Clone, PartialEq, Eq)]
pub enum Curve {
    /// A notary: its long-term secret key.
    Server {
        /// The server's secret key (32 bytes).
        secret: Zeroizing<[u8; 32]>,
    },
    /// A client: the notary's public key, and the client's own key pair.
    Client {
        /// The server's public key (32 bytes).
        server_public: [u8; 32],
        /// The client's public key (32 bytes).
        public: [u8; 32],
        /// The client's secret key (32 bytes).
        secret: Zeroizing<[u8; 32]>,
    },
}

impl std::fmt::Debug for Curve {
    // Secret keys stay out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Curve::Server { .. } => f.write_str("Curve::Server"),
            Curve::Client { .. } => f.write_str("Curve::Client"),
        }
    }
}

/// Decodes a Z85 CURVE key (40 characters).
pub(crate) fn z85_key(text: &str, what: &str) -> Result<[u8; 32]> {
    let bad = || Error::invalid(format!("{what} is not a 40-character Z85 CURVE key"));
    if text.len() != 40 {
        return Err(bad());
    }
    let v = super::z85::decode(text).map_err(|_| bad())?;
    v.as_slice().try_into().map_err(|_| bad())
}

/// The 32 bytes of a CURVE key given as Z85 text (40 characters).
pub fn curve_key_from_z85(text: &str) -> Result<[u8; 32]> {
    z85_key(text, "the key")
}

/// The CURVE public key (Z85) of a CURVE secret key (Z85): X25519 of the base point, as
/// libzmq's `zmq_curve_public`.
pub fn curve_public(secret_z85: &str) -> Result<String> {
    let secret = Zeroizing::new(z85_key(secret_z85, "the secret key")?);
    let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*secret));
    Ok(super::z85::encode(public.as_bytes())?.to_string())
}

/// The oldest libzmq CURVE is enabled on: 4.3.3 fixed a use-after-free reachable by a peer
/// through heartbeats (and 4.3.2 CVE-2019-13132, a stack overflow in the CURVE handshake).
pub const CURVE_MIN_ZMQ: (i32, i32, i32) = (4, 3, 3);

pub(crate) fn curve_available() -> Result<()> {
    if zmq::has("curve") != Some(true) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "this libzmq was built without CURVE support",
        ));
    }
    let v = zmq::version();
    if v < CURVE_MIN_ZMQ {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "CURVE needs libzmq 4.3.3 or newer (this is {}.{}.{}: older versions have \
                 CVE-2019-13132 and a heartbeat use-after-free a peer can reach)",
                v.0, v.1, v.2
            ),
        ));
    }
    Ok(())
}

/// A new CURVE key pair as Z85 text: (public, secret).
pub fn curve_keypair() -> Result<(String, Zeroizing<String>)> {
    curve_available()?;
    let kp = zmq::CurveKeyPair::new().map_err(|e| super::zmq_err("zmq_curve_keypair", e))?;
    let public = super::z85::encode(&kp.public_key)?.to_string();
    let secret = super::z85::encode(&kp.secret_key)?;
    let mut kp = kp;
    zeroize::Zeroize::zeroize(&mut kp.secret_key);
    Ok((public, secret))
}

/// The type of a table option's value: an integer, or a flag set as 0/1 (`true`/`false` in INI).
trait OptValue: Copy {
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
}
impl OptValue for i64 {
    fn to_i64(self) -> i64 {
        self
    }
    fn from_i64(v: i64) -> Self {
        v
    }
}
impl OptValue for bool {
    fn to_i64(self) -> i64 {
        i64::from(self)
    }
    fn from_i64(v: i64) -> Self {
        v == 1
    }
}

/// Declares [`Options`], its defaults, [`NAMES`] and the name-based access from the one list
/// below.
macro_rules! options_table {
    ($($(#[doc = $doc:literal])* $name:ident: $ty:ty = $default:expr, $lo:expr, $hi:expr;)*) => {
        /// Transport options. Field names are the legacy `client.cfg` / `server.cfg` keys where
        /// one exists. Durations are milliseconds.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Options {
            $($(#[doc = $doc])* pub $name: $ty,)*
            /// CURVE keys set by hand (`None` by default: a v2 session then uses the transport key
            /// the notary publishes, option `curve_policy`; legacy peers cannot use CURVE).
            pub curve: Option<Curve>,
            /// Whether `max_message_size` was set (by [`Options::set`] or an INI file): notaries
            /// and brokers use [`LISTENER_MAX_MESSAGE_SIZE`] otherwise.
            pub max_message_size_set: bool,
        }

        impl Default for Options {
            fn default() -> Self {
                Options {
                    $($name: $default,)*
                    curve: None,
                    max_message_size_set: false,
                }
            }
        }

        /// Every option name, in table order (`ot_session_option_name` enumerates them).
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Each option's accepted range, in table order.
        const RANGES: &[(i64, i64)] = &[$(($lo, $hi)),*];

        impl Options {
            /// Sets a table option after its range check; `false` for an unknown name.
            fn set_in_table(&mut self, name: &str, v: i64) -> Result<bool> {
                match name {
                    $(stringify!($name) => self.$name = OptValue::from_i64(range(name, v, $lo, $hi)?),)*
                    _ => return Ok(false),
                }
                Ok(true)
            }

            fn get_in_table(&self, name: &str) -> Option<i64> {
                match name {
                    $(stringify!($name) => Some(OptValue::to_i64(self.$name)),)*
                    _ => None,
                }
            }
        }
    };
}

/// A day in milliseconds: the longest timeout an option accepts.
const DAY: i64 = 86_400_000;

// THE ONE LIST of options. The `Options` fields, defaults, names, ranges, `set`/`get`, the INI
// keys, `ot_session_option_name`, the options block of the C header and the README's option list
// (build.rs reads this block; tests/header.rs checks both) all come from it: a new option is one
// entry here (plus its test). Format per option: doc lines, then
// `name: i64|bool = default, lowest, highest;` (flags: 0, 1).
options_table! {
    /// First send poll timeout; doubles on each try (legacy 200).
    latency_send_ms: i64 = 200, 1, DAY;
    /// Send polls before giving up on an attempt (legacy 7).
    latency_send_no_tries: i64 = 7, 1, 30;
    /// First receive poll timeout; doubles on each try (legacy 200).
    latency_receive_ms: i64 = 200, 1, DAY;
    /// Receive polls before the attempt counts as lost (legacy 7): 200·(2⁷−1) ms ≈ 25 s.
    latency_receive_no_tries: i64 = 7, 1, 30;
    /// Pause after a successful send before waiting for the reply (legacy 50; 0 for lowest latency).
    latency_delay_after: i64 = 50, 0, 60_000;
    /// Legacy flag: with 1, waits have no poll timeout (a lost reply is then only noticed by heartbeats).
    is_blocking: bool = false, 0, 1;
    /// ZMQ_LINGER of every socket (legacy 0; -1 = forever).
    linger_ms: i64 = 0, -1, DAY;
    /// Times a request is re-sent after its reply was lost (on a fresh socket, or the same one with req_relaxed).
    max_resends: i64 = 1, 0, 100;
    /// 1: use libzmq's ZMQ_REQ_RELAXED + ZMQ_REQ_CORRELATE instead of re-creating the socket (libzmq ≥ 4 peers).
    req_relaxed: bool = false, 0, 1;
    /// ZMQ_HEARTBEAT_IVL (0 = off; v2 sessions use 5000 when both heartbeat options are 0).
    heartbeat_ivl_ms: i64 = 0, 0, DAY;
    /// ZMQ_HEARTBEAT_TIMEOUT (0 = libzmq's default: the interval; v2 sessions 15000).
    heartbeat_timeout_ms: i64 = 0, 0, DAY;
    /// ZMQ_HEARTBEAT_TTL (0 = off; v2 sessions 15000).
    heartbeat_ttl_ms: i64 = 0, 0, 6_553_599;
    /// Largest incoming message (ZMQ_MAXMSGSIZE; -1 = no limit, 0 is refused). Sessions 64 MiB; notaries and brokers 8 MiB unless set. Also bounds what a legacy MESSAGE reply may inflate to.
    max_message_size: i64 = 64 * 1024 * 1024, -1, i64::MAX;
    /// Deadline of one whole request, every try and resend included (0 = none: the legacy schedule alone bounds it).
    request_timeout_ms: i64 = 0, 0, DAY;
    /// Session protocol: 0 legacy REQ, 1 v2 (DEALER), 2 auto (a v2 probe, else legacy).
    protocol: i64 = 0, 0, 2;
    /// v2: most requests in flight at once.
    max_in_flight: i64 = 64, 1, 65_536;
    /// auto: how long the v2 probe waits for an answer.
    probe_timeout_ms: i64 = 1000, 1, 60_000;
    /// Notary: 1 answers an unreadable legacy request with a signed error instead of the legacy silence.
    reply_errors: bool = false, 0, 1;
    /// Notary endpoint: 1 refuses v2 requests on this plain endpoint (ERR CURVE_REQUIRED; probes are answered, legacy REQ served as before), so v2 runs only over the notary's CURVE endpoints.
    require_curve: bool = false, 0, 1;
    /// v2: CURVE with a notary that publishes a transport key signed by its identity (checked with the notary's auth key): 0 off, 1 when it publishes one, 2 required (requests fail without one).
    curve_policy: i64 = 1, 0, 2;
}

/// What notaries and brokers accept per message unless `max_message_size` is set: 8 MiB. Real OT
/// requests are a few KiB (the largest legacy sample documents, contracts and credentials, are
/// 16-23 KiB); 8 MiB leaves room for ledgers of thousands of receipts, and bounds what one
/// connection can park (see [`RECEIVE_BUDGET`]).
pub const LISTENER_MAX_MESSAGE_SIZE: i64 = 8 << 20;

/// Bytes one connection may have queued in libzmq for the application: the receive high-water
/// mark is this budget divided by `max_message_size` (at least 2 messages, at most libzmq's
/// default 1000). With the notary default (8 MiB) a connection holds at most 4 whole messages
/// plus the one being read; a connection that sends faster is slowed down by TCP (nothing is
/// lost).
pub const RECEIVE_BUDGET: i64 = 32 << 20;

fn range(name: &str, v: i64, lo: i64, hi: i64) -> Result<i64> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(format!(
            "option {name} = {v} is outside {lo}..={hi}"
        )))
    }
}

impl Options {
    /// Makes sockets CURVE servers with this secret key (Z85 text), for a notary.
    pub fn set_curve_server(&mut self, secret_z85: &str) -> Result<()> {
        curve_available()?;
        let secret = Zeroizing::new(z85_key(secret_z85, "the server secret key")?);
        self.curve = Some(Curve::Server { secret });
        Ok(())
    }

    /// Makes sockets CURVE clients of the server with public key `server_public_z85`, using the
    /// client key pair given (Z85 text), for a session.
    pub fn set_curve_client(
        &mut self,
        server_public_z85: &str,
        public_z85: &str,
        secret_z85: &str,
    ) -> Result<()> {
        curve_available()?;
        let server_public = z85_key(server_public_z85, "the server public key")?;
        let public = z85_key(public_z85, "the client public key")?;
        let secret = Zeroizing::new(z85_key(secret_z85, "the client secret key")?);
        self.curve = Some(Curve::Client {
            server_public,
            public,
            secret,
        });
        Ok(())
    }

    /// Sets one option by its name (see [`NAMES`]; the range of each is in the table).
    /// `max_message_size` = 0 is refused (it would drop every message).
    pub fn set(&mut self, name: &str, v: i64) -> Result<()> {
        if name == "max_message_size" && v == 0 {
            return Err(Error::invalid(
                "option max_message_size = 0 would refuse every message: give a size in bytes, \
                 or -1 for no limit",
            ));
        }
        if !self.set_in_table(name, v)? {
            return Err(Error::invalid(format!(
                "unknown option {}; known: {}",
                quote(name),
                NAMES.join(", ")
            )));
        }
        if name == "max_message_size" {
            self.max_message_size_set = true;
        }
        Ok(())
    }

    /// Reads one option by its name.
    pub fn get(&self, name: &str) -> Result<i64> {
        self.get_in_table(name)
            .ok_or_else(|| Error::invalid(format!("unknown option {}", quote(name))))
    }

    /// The accepted range of option `name`, as (lowest, highest).
    pub fn range_of(name: &str) -> Option<(i64, i64)> {
        NAMES.iter().position(|n| *n == name).map(|i| RANGES[i])
    }

    /// Applies a legacy `client.cfg`/`server.cfg` text: keys of the `[latency]` section (legacy
    /// names), and of an `[ot_transport]` section for this library's own options. Other sections
    /// and unknown keys are ignored, as the legacy reader did; a known key with a value that is
    /// not a number (or `true`/`false`) is an error naming the line. A UTF-8 byte-order mark
    /// at the start of the text (as Windows editors write it) is skipped.
    pub fn load_ini(&mut self, text: &str) -> Result<()> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut section = String::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.trim().to_ascii_lowercase();
                continue;
            }
            if section != "latency" && section != "ot_transport" {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(Error::malformed(format!(
                    "line {}: expected key = value",
                    n + 1
                )));
            };
            let (k, v) = (k.trim(), v.trim());
            if !NAMES.contains(&k) {
                continue;
            }
            let value = match v.to_ascii_lowercase().as_str() {
                "true" => 1,
                "false" => 0,
                other => other.parse::<i64>().map_err(|_| {
                    Error::malformed(format!(
                        "line {}: {k} = {} is not a number",
                        n + 1,
                        quote(v)
                    ))
                })?,
            };
            self.set(k, value)
                .map_err(|e| Error::invalid(format!("line {}: {}", n + 1, e.detail())))?;
        }
        Ok(())
    }

    /// The receive-poll timeouts of one attempt (legacy doubling), in ms; `None` = blocking.
    pub(crate) fn receive_polls(&self) -> Vec<Option<i64>> {
        polls(
            self.is_blocking,
            self.latency_receive_ms,
            self.latency_receive_no_tries,
        )
    }

    pub(crate) fn send_polls(&self) -> Vec<Option<i64>> {
        polls(
            self.is_blocking,
            self.latency_send_ms,
            self.latency_send_no_tries,
        )
    }

    /// Longest a request can take with these options before `Timeout` (ms), ignoring the
    /// notary's own processing time; `None` when nothing bounds it (blocking mode without a
    /// request timeout). Heartbeats end an attempt early only when the peer is dead, so they do
    /// not bound a live but slow notary.
    pub fn worst_case_ms(&self) -> Option<i64> {
        let sum = |p: Vec<Option<i64>>| p.iter().map(|x| x.unwrap_or(0)).sum::<i64>();
        let schedule = (self.max_resends + 1)
            * (sum(self.send_polls()) + self.latency_delay_after + sum(self.receive_polls()));
        let bounds = [
            (!self.is_blocking).then_some(schedule),
            (self.request_timeout_ms > 0).then_some(self.request_timeout_ms),
        ];
        bounds.into_iter().flatten().min()
    }

    /// How long a session waits for a connection to prove alive before giving an attempt up,
    /// when heartbeats are on: `heartbeat_timeout_ms`, or the interval when that is 0 (libzmq's
    /// own default). `None` when heartbeats are off.
    pub(crate) fn liveness_ms(&self) -> Option<i64> {
        if self.heartbeat_timeout_ms > 0 {
            Some(self.heartbeat_timeout_ms)
        } else if self.heartbeat_ivl_ms > 0 {
            Some(self.heartbeat_ivl_ms)
        } else {
            None
        }
    }

    /// The options a notary or broker socket runs with: `max_message_size` is
    /// [`LISTENER_MAX_MESSAGE_SIZE`] unless it was set.
    pub(crate) fn for_listener(&self) -> Options {
        let mut o = self.clone();
        if !o.max_message_size_set {
            o.max_message_size = LISTENER_MAX_MESSAGE_SIZE;
        }
        o
    }

    /// Applies the options to a notary's or broker's socket: as [`Options::apply`], with the
    /// listener's message size limit and a receive high-water mark that keeps what one connection
    /// can queue within [`RECEIVE_BUDGET`]. (Sessions keep libzmq's default: their only peer is
    /// the notary they chose, and what they keep of it is bounded above libzmq, e.g. pushes.)
    pub(crate) fn apply_listener(&self, s: &zmq::Socket) -> Result<()> {
        let o = self.for_listener();
        o.apply(s)?;
        s.set_rcvhwm(o.receive_hwm())
            .map_err(|err| super::zmq_err("ZMQ_RCVHWM", err))
    }

    /// The receive high-water mark (messages) that keeps one connection within
    /// [`RECEIVE_BUDGET`] bytes.
    pub(crate) fn receive_hwm(&self) -> i32 {
        if self.max_message_size <= 0 {
            return 1000;
        }
        (RECEIVE_BUDGET / self.max_message_size).clamp(2, 1000) as i32
    }

    pub(crate) fn apply(&self, s: &zmq::Socket) -> Result<()> {
        let e = |w| move |err| super::zmq_err(w, err);
        s.set_linger(self.linger_ms.clamp(-1, i64::from(i32::MAX)) as i32)
            .map_err(e("ZMQ_LINGER"))?;
        s.set_maxmsgsize(self.max_message_size)
            .map_err(e("ZMQ_MAXMSGSIZE"))?;
        if self.heartbeat_ivl_ms > 0 {
            s.set_heartbeat_ivl(self.heartbeat_ivl_ms.min(i64::from(i32::MAX)) as i32)
                .map_err(e("ZMQ_HEARTBEAT_IVL"))?;
        }
        if self.heartbeat_timeout_ms > 0 {
            s.set_heartbeat_timeout(self.heartbeat_timeout_ms.min(i64::from(i32::MAX)) as i32)
                .map_err(e("ZMQ_HEARTBEAT_TIMEOUT"))?;
        }
        if self.heartbeat_ttl_ms > 0 {
            s.set_heartbeat_ttl(self.heartbeat_ttl_ms as i32)
                .map_err(e("ZMQ_HEARTBEAT_TTL"))?;
        }
        self.apply_curve(s)
    }

    /// Sets the CURVE options alone (a client's apply to the connections made afterwards).
    pub(crate) fn apply_curve(&self, s: &zmq::Socket) -> Result<()> {
        let e = |what: &'static str| move |err| super::zmq_err(what, err);
        match &self.curve {
            None => {}
            Some(Curve::Server { secret }) => {
                s.set_curve_server(true).map_err(e("ZMQ_CURVE_SERVER"))?;
                s.set_curve_secretkey(&secret[..])
                    .map_err(e("ZMQ_CURVE_SECRETKEY"))?;
            }
            Some(Curve::Client {
                server_public,
                public,
                secret,
            }) => {
                s.set_curve_serverkey(server_public)
                    .map_err(e("ZMQ_CURVE_SERVERKEY"))?;
                s.set_curve_publickey(public)
                    .map_err(e("ZMQ_CURVE_PUBLICKEY"))?;
                s.set_curve_secretkey(&secret[..])
                    .map_err(e("ZMQ_CURVE_SECRETKEY"))?;
            }
        }
        Ok(())
    }
}

fn polls(blocking: bool, first: i64, tries: i64) -> Vec<Option<i64>> {
    if blocking {
        return vec![None];
    }
    (0..tries)
        .map(|i| Some(first.saturating_mul(1i64 << i.min(40))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_defaults_and_doubling() {
        let o = Options::default();
        assert_eq!(
            o.receive_polls(),
            [200, 400, 800, 1600, 3200, 6400, 12800].map(Some).to_vec()
        );
        for n in NAMES {
            let v = o.get(n).unwrap();
            let mut c = o.clone();
            c.set(n, v).unwrap();
            c.max_message_size_set = false; // setting marks it as chosen (see for_listener)
            assert_eq!(c, o);
        }
        // Notaries and brokers take 8 MiB unless the option was set, to any value.
        assert_eq!(o.for_listener().max_message_size, LISTENER_MAX_MESSAGE_SIZE);
        assert_eq!(o.for_listener().receive_hwm(), 4);
        let mut c = o.clone();
        c.set("max_message_size", 64 << 20).unwrap();
        assert_eq!(c.for_listener().max_message_size, 64 << 20);
        c.set("max_message_size", 4096).unwrap();
        assert_eq!(c.for_listener().receive_hwm(), 1000);
        c.set("max_message_size", -1).unwrap();
        assert_eq!(c.for_listener().receive_hwm(), 1000);
        assert!(o.clone().set("nope", 1).is_err());
        assert!(o.clone().set("latency_send_no_tries", 0).is_err());
    }

    #[test]
    fn legacy_client_cfg() {
        let cfg = "[misc]\nfoo=bar\n\n[latency]\nlatency_send_ms=100\nlatency_send_no_tries=3\n\
                   latency_receive_ms=150\nlatency_receive_no_tries=4\nlatency_delay_after=0\n\
                   is_blocking=false\nunknown_key=5\n[ot_transport]\nmax_resends=3\nreq_relaxed=true\n";
        let mut o = Options::default();
        o.load_ini(cfg).unwrap();
        assert_eq!((o.latency_send_ms, o.latency_send_no_tries), (100, 3));
        assert_eq!((o.latency_receive_ms, o.latency_receive_no_tries), (150, 4));
        assert_eq!(
            (
                o.latency_delay_after,
                o.is_blocking,
                o.max_resends,
                o.req_relaxed
            ),
            (0, false, 3, true)
        );
        assert!(
            Options::default()
                .load_ini("[latency]\nlatency_send_ms=fast\n")
                .is_err()
        );
        assert!(
            Options::default()
                .load_ini("[latency]\nlatency_send_ms=-5\n")
                .is_err()
        );
    }

    #[test]
    fn utf8_bom_before_the_first_section_is_skipped() {
        // With the BOM glued to `[latency]` the section used to be ignored.
        let mut o = Options::default();
        o.load_ini("\u{feff}[latency]\nlatency_send_ms=123\n[ot_transport]\nmax_resends=4\n")
            .unwrap();
        assert_eq!((o.latency_send_ms, o.max_resends), (123, 4));
        let mut o = Options::default();
        o.load_ini("\u{feff}; comment\r\n[latency]\r\nlatency_receive_ms = 321\r\n")
            .unwrap();
        assert_eq!(o.latency_receive_ms, 321);
    }

    #[test]
    fn max_message_size_zero_is_refused_and_minus_one_means_no_limit() {
        let mut o = Options::default();
        let e = o.set("max_message_size", 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.detail().contains("-1 for no limit"), "{e:?}");
        assert_eq!(o.max_message_size, 64 * 1024 * 1024);
        let e = Options::default()
            .load_ini("[ot_transport]\nmax_message_size=0\n")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        o.set("max_message_size", -1).unwrap();
        assert_eq!(o.get("max_message_size").unwrap(), -1);
        o.set("max_message_size", 1).unwrap();
        assert!(o.set("max_message_size", -2).is_err());
    }
}
