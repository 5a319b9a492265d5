"""Streaming envelopes (type 4) through the Python binding, checked against the independent
implementation of docs/streaming-envelopes.md (interop/stream_peer.py, Python `cryptography`):
streams sealed by the library open there and the other way round, the published vectors open
here, and broken streams fail with the one uniform error."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import List

import pytest

import ot_transport as ot
from conftest import REPO

pytest.importorskip("cryptography")
from cryptography.hazmat.primitives import serialization  # noqa: E402

_spec = importlib.util.spec_from_file_location("stream_peer", REPO / "interop" / "stream_peer.py")
assert _spec and _spec.loader
peer = importlib.util.module_from_spec(_spec)
sys.modules["stream_peer"] = peer
_spec.loader.exec_module(peer)

VECTORS = REPO / "docs" / "vectors" / "streaming"
CHUNK = ot.STREAM_CHUNK_LEN


def _seal(recipients: object, data: bytes, pieces: List[int]) -> bytes:
    s = ot.StreamSealer.init(recipients)  # type: ignore[arg-type]
    out, pos, i = [], 0, 0
    while pos < len(data):
        n = pieces[i % len(pieces)]
        out.append(s.update(data[pos:pos + n]))
        pos += n
        i += 1
    out.append(s.final())
    s.close()
    return b"".join(out)


def _open(key: ot.Key, nym: "str | None", data: bytes, pieces: List[int]) -> bytes:
    o = ot.StreamOpener.init(key, nym)
    out, pos, i = [], 0, 0
    while pos < len(data):
        n = pieces[i % len(pieces)]
        out.append(o.update(data[pos:pos + n]))
        pos += n
        i += 1
    out.append(o.final())
    o.close()
    return b"".join(out)


def _peer_key(key: ot.Key) -> object:
    pem = key.export(ot.KeyFormat.PKCS8_PLAIN)
    return serialization.load_pem_private_key(pem, None)


@pytest.mark.parametrize("n", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 77])
def test_library_and_independent_implementation_agree(n: int) -> None:
    a, b = ot.Key.generate_x25519(), ot.Key.generate_x25519()
    data = os.urandom(n)
    ours = _seal([("alice", a.public()), ("", b.public())], data, [1000, CHUNK + 3])
    assert peer.open_stream(ours, _peer_key(a), b"alice") == data
    assert peer.open_stream(ours, _peer_key(b), None) == data
    pk_a = _peer_key(a).public_key()  # type: ignore[attr-defined]
    pk_b = _peer_key(b).public_key()  # type: ignore[attr-defined]
    theirs = peer.seal([(b"alice", pk_a), (b"bob", pk_b)], data)
    assert _open(a, "alice", theirs, [7, 70_000]) == data
    assert _open(b, "bob", theirs, [len(theirs) or 1]) == data
    assert _open(b, None, theirs, [CHUNK + 16]) == data


def test_published_vectors() -> None:
    rows = (VECTORS / "streams.tsv").read_text().splitlines()[1:]
    errors = {
        "decrypt_failed": ot.DecryptFailedError,
        "malformed": ot.MalformedError,
        "no_matching_recipient": ot.NoMatchingRecipientError,
    }
    for row in rows:
        file, keyfile, nym, outcome, n = row.split("\t")[:5]
        key = ot.Key.load((VECTORS / keyfile).read_bytes())
        data = (VECTORS / file).read_bytes()
        nym_id = None if nym == "-" else nym
        if outcome == "plaintext":
            assert _open(key, nym_id, data, [5000]) == peer.pattern(int(n)), file
        else:
            with pytest.raises(errors[outcome]):
                _open(key, nym_id, data, [5000])


def test_truncation_and_tampering_fail_uniformly() -> None:
    a, wrong = ot.Key.generate_x25519(), ot.Key.generate_x25519()
    data = os.urandom(2 * CHUNK + 10)
    s = _seal(a.public(), data, [CHUNK])
    o = ot.StreamOpener.init(a)
    assert o.update(s[:300]) == b""  # the header, and the start of chunk 0 (held back)
    hlen = o.header_len
    assert hlen is not None
    cut = s[: hlen + 2 * ot.STREAM_SEALED_CHUNK_LEN]  # at a chunk boundary
    texts = set()
    for broken, key in ((cut, a), (s[:-1], a), (s + b"x", a), (s, wrong)):
        with pytest.raises(ot.DecryptFailedError) as e:
            _open(key, None, broken, [CHUNK])
        texts.add(str(e.value))
    assert len(texts) == 1
    # random access with the opener that has read the header
    payload = s[hlen:]
    i = 1
    chunk = payload[i * ot.STREAM_SEALED_CHUNK_LEN:(i + 1) * ot.STREAM_SEALED_CHUNK_LEN]
    assert o.open_chunk(i, chunk, last=False) == data[i * CHUNK:(i + 1) * CHUNK]
    with pytest.raises(ot.DecryptFailedError):
        o.open_chunk(i, chunk, last=True)
    last = payload[2 * ot.STREAM_SEALED_CHUNK_LEN:]
    assert o.open_chunk(2, last, last=True) == data[2 * CHUNK:]


def test_legacy_keys_are_refused() -> None:
    rsa = ot.Key.generate(1024)
    with pytest.raises(ot.InvalidArgumentError):
        ot.StreamSealer.init(rsa)
    with pytest.raises(ot.InvalidArgumentError):
        ot.StreamOpener.init(rsa)
