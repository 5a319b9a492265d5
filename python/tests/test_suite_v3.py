"""Suite v3 from Python: Ed25519/X25519 keys, SHA256D, type-3 envelopes, Ed25519 signed text, a
notary holding an RSA and a v3 identity at once. Checked against the shared vectors'
definitions (SHA256D = SHA-256 twice) and hashlib."""

from __future__ import annotations

import hashlib
import threading

import pytest

import ot_transport as ot


def test_keys_hashes_and_ids() -> None:
    ed = ot.Key.generate_ed25519()
    x = ot.Key.generate_x25519()
    assert ed.algorithm == ot.Algorithm.ED25519 and x.algorithm == ot.Algorithm.X25519
    assert ed.bits == 256 and ed.is_private and not ed.public().is_private
    assert ot.Key.generate(1024).algorithm == ot.Algorithm.RSA
    data = b"suite v3"
    assert ot.sha256d(data) == hashlib.sha256(hashlib.sha256(data).digest()).digest()
    assert ot.id_of_v3(data) == ot.id_encode(ot.sha256d(data))
    # The OT public-key block makes no sense for Ed25519.
    with pytest.raises(ot.UnsupportedError):
        ed.export(ot.KeyFormat.OT_PUBLIC)
    again = ot.Key.load(ed.export(ot.KeyFormat.PKCS8_PLAIN))
    assert again.algorithm == ot.Algorithm.ED25519 and again.nym_id == ed.nym_id


def test_type3_envelope_and_ed25519_signature() -> None:
    x = ot.Key.generate_x25519()
    ed = ot.Key.generate_ed25519()
    text = ot.sign("MESSAGE", b"<v3 message/>\n", ed)
    assert b"Hash: SHA256D" in text
    assert ot.verify(text, ed.public()) == b"<v3 message/>\n"
    env = ot.seal([x], text + b"\x00kept")  # NUL bytes are fine in type 3
    assert env.type == 3
    back = ot.Envelope.from_armor(env.to_armor())
    assert back.open(x) == text + b"\x00kept"
    with pytest.raises(ot.DecryptFailedError):
        back.open(ot.Key.generate_x25519(), x.nym_id)
    # A wrong pairing is refused: an RSA key cannot verify a SHA256D text.
    with pytest.raises(ot.OtError):
        ot.verify(text, ot.Key.generate(1024))


def test_notary_serves_rsa_and_v3_identities_on_one_endpoint() -> None:
    rsa_auth, rsa_enc = ot.Key.generate(1024), ot.Key.generate(1024)
    v3_auth, v3_enc = ot.Key.generate_ed25519(), ot.Key.generate_x25519()
    c_auth, c_enc = ot.Key.generate_ed25519(), ot.Key.generate_x25519()
    with ot.Notary("tcp://127.0.0.1:*", rsa_auth, rsa_enc, rsa_auth.nym_id) as n:
        n.add_identity(v3_auth, v3_enc, v3_auth.nym_id)
        endpoint = n.endpoint  # read before another thread uses the notary (one thread at a time)

        def serve() -> None:
            req = n.receive(10)
            content = req.verify(c_auth.public())
            n.reply(req, b"@" + content, c_enc.public())

        t = threading.Thread(target=serve)
        t.start()
        opts = ot.SessionOptions(latency_delay_after=0)
        with ot.Session(
            endpoint,
            opts,
            identity=(c_auth, c_enc),
            notary=(v3_auth.nym_id, v3_enc.public(), v3_auth.public()),
        ) as s:
            assert s.request(b"v3 request\n") == b"@v3 request\n"
        t.join(10)
