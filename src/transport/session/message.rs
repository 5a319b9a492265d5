//! The message code both protocols share: the session's keys and the notary's, the request frame
//! (signed `MESSAGE`, sealed to the notary, armored) and the reading of a reply or push (opened,
//! verified, error replies turned into errors).

use super::Session;
use crate::armor::{self, Kind};
use crate::envelope::{Envelope, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};
use crate::signed;
use crate::transport::frames::ERROR_REPLY_PREFIX;

/// The client's own keys: `auth` signs requests, `enc` opens replies.
pub(super) struct Identity {
    auth: Key,
    enc: Key,
}

/// The notary: its NymID and `enc` (requests are sealed to them), its `auth` (replies must be
/// signed by it).
pub(super) struct NotaryInfo {
    pub(super) nym_id: String,
    pub(super) enc: Key,
    pub(super) auth: Key,
}

impl Session {
    /// Sets the client's own keys: `auth` signs requests, `enc` opens replies. Both private.
    /// The keys choose the suite (suite v3 §5): an RSA `auth` signs `Hash: SAMY`, an Ed25519
    /// one `Hash: SHA256D`; replies come sealed to `enc` (RSA: type 1, X25519: type 3). An
    /// Ed25519 `auth` is refused at request time with a notary whose keys are all RSA.
    /// The session keeps its own copies.
    pub fn set_identity(&mut self, auth: &Key, enc: &Key) -> Result<()> {
        self.check_process()?;
        if !auth.is_private() || !enc.is_private() {
            return Err(Error::invalid("the identity keys must be private keys"));
        }
        if auth.algorithm() == Algorithm::X25519 {
            return Err(Error::invalid(
                "the authentication key signs requests: RSA or Ed25519, not X25519",
            ));
        }
        if enc.algorithm() == Algorithm::Ed25519 {
            return Err(Error::invalid(
                "the encryption key opens replies: RSA or X25519, not Ed25519",
            ));
        }
        self.identity = Some(Identity {
            auth: auth.clone(),
            enc: enc.clone(),
        });
        Ok(())
    }

    /// Sets the notary: its NymID (written in the request envelope), its encryption key (requests
    /// are sealed to it) and its authentication key (replies must be signed by it).
    /// Requests are sealed type 1 to an RSA `enc` and type 3 to an X25519 one.
    pub fn set_notary(&mut self, nym_id: &str, enc: &Key, auth: &Key) -> Result<()> {
        self.check_process()?;
        if nym_id.is_empty() || nym_id.len() > 1024 {
            return Err(Error::invalid(
                "the notary NymID must be 1..=1024 characters",
            ));
        }
        if enc.algorithm() == Algorithm::Ed25519 {
            return Err(Error::invalid(
                "the notary encryption key receives requests: RSA or X25519, not Ed25519",
            ));
        }
        if auth.algorithm() == Algorithm::X25519 {
            return Err(Error::invalid(
                "the notary authentication key signs replies: RSA or Ed25519, not X25519",
            ));
        }
        self.notary = Some(NotaryInfo {
            nym_id: nym_id.to_string(),
            enc: enc.to_public(),
            auth: auth.to_public(),
        });
        Ok(())
    }

    /// Builds the request frame for `content`: signed `MESSAGE` (auth key), sealed to the notary,
    /// bare armor without NUL — exactly what a legacy client sends.
    pub fn request_frame(&self, content: &[u8]) -> Result<Vec<u8>> {
        let id = self.identity.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::State,
                "set the identity keys before sending requests",
            )
        })?;
        let n = self.notary.as_ref().ok_or_else(|| {
            Error::new(ErrorKind::State, "set the notary before sending requests")
        })?;
        // Suite v3 §5 / design rule 1: a notary whose keys are all RSA is a legacy peer; it is
        // never sent a SHA256D signature.
        if id.auth.algorithm() == Algorithm::Ed25519
            && n.enc.algorithm() == Algorithm::Rsa
            && n.auth.algorithm() == Algorithm::Rsa
        {
            return Err(Error::invalid(
                "this notary's keys are RSA (a legacy notary): it cannot verify an Ed25519 \
                 signature; use an RSA identity with it",
            ));
        }
        let text = signed::create("MESSAGE", content, &id.auth, None)?;
        let env = Envelope::seal(
            &[Recipient {
                nym_id: &n.nym_id,
                key: &n.enc,
            }],
            text.as_bytes(),
        )?;
        Ok(env.to_armor(false)?.into_bytes())
    }

    /// Reads a reply frame: a bookended `ENVELOPE` (opened with our encryption key) or the legacy
    /// unencrypted bookended `MESSAGE`; the notary's signature must verify. Returns the content.
    pub fn read_reply(&self, reply: &[u8]) -> Result<Vec<u8>> {
        let id = self.identity.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::State,
                "set the identity keys before reading replies",
            )
        })?;
        let n = self
            .notary
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::State, "set the notary before reading replies"))?;
        if reply.is_empty() {
            return Err(Error::new(
                ErrorKind::Transport,
                "the notary sent an empty reply: it could not process the request",
            ));
        }
        let a = armor::split(reply)?;
        let text = match a.armor_type.as_deref() {
            Some("ENVELOPE") => {
                let env = Envelope::parse(&armor::decode_body(&a.body, Kind::Data)?)?;
                // Replies and pushes are sealed to the key-only entry: a type-3 reply opens that
                // one only (a forged reply with thousands of entries costs one key operation);
                // type 0/1 follow the legacy rule, which tries one entry at most.
                let nym = (env.envelope_type() == 3).then_some("");
                env.open(nym, &id.enc)?
            }
            // Inflating stops at max_message_size: a zlib bomb is refused (`Malformed`) before
            // it can cost more memory than a legitimate reply.
            Some("MESSAGE") => armor::decode_body_limited(
                &a.body,
                Kind::String,
                usize::try_from(self.opts.max_message_size).unwrap_or(armor::MAX_INFLATED),
            )?,
            other => {
                return Err(Error::new(
                    ErrorKind::Transport,
                    format!(
                        "unexpected reply: {} (wanted OT ARMORED ENVELOPE or MESSAGE)",
                        other.map_or("bare armor".to_string(), |t| format!(
                            "bookend type {}",
                            crate::error::quote(t)
                        ))
                    ),
                ));
            }
        };
        let content = signed::verify(&text, &n.auth)?;
        if let Some(rest) = content.strip_prefix(ERROR_REPLY_PREFIX.as_bytes()) {
            let reason = String::from_utf8_lossy(rest);
            let reason = reason.split('"').next().unwrap_or("");
            return Err(Error::new(
                ErrorKind::Transport,
                format!("the notary rejected the request: {reason}"),
            ));
        }
        Ok(content)
    }
}
