//! Every frame layout of the transport, legacy and v2, in one place (docs/wire-format.md,
//! "Transport v2", is the same contract in words).
//!
//! Legacy (REQ ↔ REP, or REQ ↔ our ROUTER): the request is one frame, the bare armor of an
//! envelope sealed to the notary; the reply is one frame. On a ROUTER socket a legacy REQ peer's
//! message reads `[routing id, "", body]` and the reply is sent as `[routing id, "", reply]`.
//!
//! v2 (DEALER ↔ ROUTER): no empty delimiter (so a legacy REP peer silently drops v2 frames), then
//! `["OTv2", command, 8-byte big-endian number, body?]`.

/// Broker ↔ worker wrapping (our own, between a broker's backend and its workers; backend
/// protocol 1): every message starts with [`BACKEND_TAG`], then one frame that says whether the
/// rest is a client's message (`[C, client routing id, …]`, both ways) or a control message
/// (`[B, READY]` and `[B, HB]` worker → broker; `[B, PING]` broker → worker).
pub const BACKEND_TAG: &[u8] = b"OTb1";
/// See [`BACKEND_TAG`].
pub const BROKER_CLIENT: &[u8] = b"C";
/// See [`BACKEND_TAG`].
pub const BROKER_CONTROL: &[u8] = b"B";

/// Content prefix of the signed error a notary sends a legacy client with the `reply_errors`
/// option: `<otTransportError reason="…"/>`.
pub const ERROR_REPLY_PREFIX: &str = "<otTransportError reason=\"";

/// The protocol tag: first frame of every v2 message.
pub const TAG: &[u8] = b"OTv2";

/// v2 commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// client → notary: a request (body = legacy request frame), number = request id.
    Req,
    /// client → notary: liveness/protocol probe, number = probe id, no body.
    Ping,
    /// notary → client: the reply to request `number` (body = legacy reply frame).
    Rep,
    /// notary → client: answer to a `PING`.
    Pong,
    /// notary → client: request `number` could not be read (body = UTF-8 reason).
    Err,
    /// notary → client: a notification (body = bookended sealed envelope), number = sequence
    /// number of its stream (the subscribed NymID) in the notary's epoch, from 1; the stream and
    /// the epoch follow the body.
    Push,
}

impl Command {
    pub fn name(self) -> &'static [u8] {
        match self {
            Command::Req => b"REQ",
            Command::Ping => b"PING",
            Command::Rep => b"REP",
            Command::Pong => b"PONG",
            Command::Err => b"ERR",
            Command::Push => b"PUSH",
        }
    }

    fn parse(b: &[u8]) -> Option<Command> {
        [
            Command::Req,
            Command::Ping,
            Command::Rep,
            Command::Pong,
            Command::Err,
            Command::Push,
        ]
        .into_iter()
        .find(|c| c.name() == b)
    }

    /// Whether the command carries a body frame.
    fn has_body(self) -> bool {
        !matches!(self, Command::Ping | Command::Pong)
    }
}

/// A decoded v2 message (without the routing id).
#[derive(Debug, PartialEq, Eq)]
pub struct V2 {
    pub command: Command,
    pub number: u64,
    pub body: Vec<u8>,
    /// The frames after the body: `PUSH` — the stream (the subscribed NymID, UTF-8) and the
    /// notary's epoch (8 bytes); `REP` — for each push subscription the request registered, its
    /// stream and 16 bytes: the epoch and the stream's sequence number when the request registered
    /// it; `PONG` — the notary's signed transport-key documents, when the `PING` asked for them.
    /// Empty otherwise.
    pub extra: Vec<Vec<u8>>,
}

/// Most frames after a `PONG`: the signed transport-key documents (one per identity), sent only
/// to a `PING` whose number has its top bit set.
pub const MAX_PONG_EXTRA: usize = 8;

/// Most frames after the body of a `REP` (a request may register up to this many streams / 2).
pub const MAX_EXTRA_FRAMES: usize = 32;

/// Builds the frames of a v2 message.
pub fn v2(command: Command, number: u64, body: &[u8]) -> Vec<Vec<u8>> {
    let mut f = vec![
        TAG.to_vec(),
        command.name().to_vec(),
        number.to_be_bytes().to_vec(),
    ];
    if command.has_body() {
        f.push(body.to_vec());
    }
    f
}

/// Builds the frames of a v2 message with frames after the body (see [`V2::extra`]).
pub fn v2_extra(command: Command, number: u64, body: &[u8], extra: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut f = v2(command, number, body);
    f.extend(extra.iter().cloned());
    f
}

/// Decodes the frames of a v2 message; `None` for anything else (wrong tag, command, sizes).
/// `REP` and `PUSH` may carry frames after the body, in pairs (see [`V2::extra`]).
pub fn parse_v2(mut frames: Vec<Vec<u8>>) -> Option<V2> {
    if frames.len() < 3 || frames[0] != TAG {
        return None;
    }
    let command = Command::parse(&frames[1])?;
    let number = u64::from_be_bytes(frames[2].as_slice().try_into().ok()?);
    let want = if command.has_body() { 4 } else { 3 };
    let extra_ok = match command {
        Command::Rep | Command::Push => {
            frames.len() > want
                && (frames.len() - want).is_multiple_of(2)
                && frames.len() - want <= MAX_EXTRA_FRAMES
        }
        // The transport-key documents, one per identity, for a probe that asked for them.
        Command::Pong => frames.len() > want && frames.len() - want <= MAX_PONG_EXTRA,
        _ => false,
    };
    if frames.len() != want && !extra_ok {
        return None;
    }
    let extra = frames.split_off(want);
    let body = if command.has_body() {
        frames.pop().unwrap_or_default()
    } else {
        Vec::new()
    };
    Some(V2 {
        command,
        number,
        body,
        extra,
    })
}

/// What arrived on a notary's ROUTER socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A legacy REQ peer's request: `[id, …, "", body]`. `envelope` is every frame before the
    /// empty delimiter (the routing id first; a `REQ_CORRELATE` peer adds its request id), which
    /// the reply must carry back, as a REP socket would.
    Legacy {
        envelope: Vec<Vec<u8>>,
        body: Vec<u8>,
    },
    /// A v2 client message.
    V2 { peer: Vec<u8>, msg: V2 },
    /// Anything else (counted and dropped).
    Unknown,
}

/// Classifies a ROUTER message. v2 is tried first: a v2 `REQ` may carry an empty body, which must
/// not be read as a legacy REQ delimiter. (A legacy `REQ_CORRELATE` peer's 4-byte request id can
/// equal `OTv2`; its message then fails the v2 parse, since no command frame follows, and is
/// classified as legacy below.)
pub fn classify(mut frames: Vec<Vec<u8>>) -> Incoming {
    if frames.len() < 2 {
        return Incoming::Unknown;
    }
    if frames[1] == TAG {
        let v2 = frames.len() >= 4
            && Command::parse(&frames[2])
                .is_some_and(|c| matches!(c, Command::Req | Command::Ping));
        if v2 {
            let peer = frames.remove(0);
            return match parse_v2(frames) {
                Some(msg) => Incoming::V2 { peer, msg },
                None => Incoming::Unknown,
            };
        }
    }
    if let Some(d) = frames.iter().position(|f| f.is_empty()) {
        // The routing id itself is never empty, so d >= 1; the body is one frame.
        if (1..=4).contains(&d) && frames.len() == d + 2 {
            let body = frames.pop().unwrap_or_default();
            frames.truncate(d);
            return Incoming::Legacy {
                envelope: frames,
                body,
            };
        }
    }
    Incoming::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_classification() {
        let f = v2(Command::Req, 7, b"body");
        assert_eq!(f.len(), 4);
        let mut routed = vec![b"peer".to_vec()];
        routed.extend(f.clone());
        assert_eq!(
            classify(routed),
            Incoming::V2 {
                peer: b"peer".to_vec(),
                msg: V2 {
                    command: Command::Req,
                    number: 7,
                    body: b"body".to_vec(),
                    extra: Vec::new()
                }
            }
        );
        let legacy = vec![b"p".to_vec(), vec![], b"armor".to_vec()];
        assert!(matches!(classify(legacy), Incoming::Legacy { .. }));
        // REQ_CORRELATE peers put their request id before the delimiter: it is kept.
        let correlated = vec![b"p".to_vec(), vec![0, 0, 0, 9], vec![], b"armor".to_vec()];
        match classify(correlated) {
            Incoming::Legacy { envelope, body } => {
                assert_eq!(envelope, vec![b"p".to_vec(), vec![0, 0, 0, 9]]);
                assert_eq!(body, b"armor");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_v2(v2(Command::Pong, 1, b"")).map(|m| m.command),
            Some(Command::Pong)
        );
        // Bad tag, bad id size, extra frames, replies sent to a notary: dropped.
        for bad in [
            vec![
                b"p".to_vec(),
                b"OTv3".to_vec(),
                b"REQ".to_vec(),
                vec![0; 8],
                vec![],
            ],
            vec![
                b"p".to_vec(),
                TAG.to_vec(),
                b"REQ".to_vec(),
                vec![0; 7],
                vec![],
            ],
            vec![
                b"p".to_vec(),
                TAG.to_vec(),
                b"PING".to_vec(),
                vec![0; 8],
                vec![],
            ],
            vec![
                b"p".to_vec(),
                TAG.to_vec(),
                b"REP".to_vec(),
                vec![0; 8],
                vec![],
            ],
            vec![b"p".to_vec(), vec![], b"a".to_vec(), b"b".to_vec()],
            vec![vec![], b"b".to_vec()],
            vec![b"p".to_vec()],
        ] {
            assert_eq!(classify(bad), Incoming::Unknown);
        }
    }

    #[test]
    fn a_v2_request_with_an_empty_body_is_v2() {
        let mut routed = vec![b"peer".to_vec()];
        routed.extend(v2(Command::Req, 9, b""));
        assert_eq!(
            classify(routed),
            Incoming::V2 {
                peer: b"peer".to_vec(),
                msg: V2 {
                    command: Command::Req,
                    number: 9,
                    body: Vec::new(),
                    extra: Vec::new()
                }
            }
        );
        // A REQ_CORRELATE legacy peer whose request id happens to read "OTv2" stays legacy.
        let correlated = vec![b"p".to_vec(), TAG.to_vec(), vec![], b"armor".to_vec()];
        match classify(correlated) {
            Incoming::Legacy { envelope, body } => {
                assert_eq!(envelope, vec![b"p".to_vec(), TAG.to_vec()]);
                assert_eq!(body, b"armor");
            }
            other => panic!("{other:?}"),
        }
        // A v2 PING never carries a body frame; with one it is dropped.
        let mut ping = vec![b"p".to_vec()];
        ping.extend(v2(Command::Ping, 1, b""));
        ping.push(Vec::new());
        assert_eq!(classify(ping), Incoming::Unknown);
    }
}
