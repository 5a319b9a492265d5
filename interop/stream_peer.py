#!/usr/bin/env python3
"""Independent implementation of streaming envelopes (type 4), written from
docs/streaming-envelopes.md only, on Python `cryptography` (X25519, HKDF, HMAC, SHA-256,
ChaCha20-Poly1305). HPKE base mode (RFC 9180, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
ChaCha20-Poly1305) is composed here from those primitives as RFC 9180 §4-§5 define it.

It seals and opens whole streams in memory, can seal with fixed secrets (for reproducible test
vectors) and can build the malformed streams the vectors need (raw chunks with any flag).

    stream_peer.py vectors OUT_DIR        writes docs/vectors/streaming (keys, streams, streams.tsv)
    stream_peer.py open KEY.pem [NYMID] < STREAM > PLAINTEXT     exit 0 iff the stream opens
    stream_peer.py seal ID=PUB.pem [ID=PUB.pem ...] < PLAINTEXT > STREAM
"""
from __future__ import annotations

import hashlib
import os
import struct
import sys
from typing import List, Optional, Sequence, Tuple

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TYPE = 4
SUITE = 1
CHUNK = 65536
TAG = 16
SEALED = CHUNK + TAG
WRAP_INFO = b"ot-transport v3 stream"
PAYLOAD_INFO = b"ot-transport v3 stream payload"


class DecryptFailed(Exception):
    """Every cryptographic failure to open (uniform)."""


class Malformed(Exception):
    pass


class NoMatchingRecipient(Exception):
    pass


# ---------------------------------------------------------------- HPKE base mode (RFC 9180)
KEM_ID = b"KEM" + struct.pack(">H", 0x0020)
HPKE_ID = b"HPKE" + struct.pack(">HHH", 0x0020, 0x0001, 0x0003)


def _hmac(key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return _hmac(salt if salt else b"\0" * 32, ikm)


def _expand(prk: bytes, info: bytes, n: int) -> bytes:
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = _hmac(prk, t + info + bytes([i]))
        out += t
        i += 1
    return out[:n]


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, n: int) -> bytes:
    return _expand(prk, struct.pack(">H", n) + b"HPKE-v1" + suite + label + info, n)


def _raw(pub: X25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_schedule(shared: bytes, info: bytes) -> Tuple[bytes, bytes]:
    psk_id_hash = _labeled_extract(HPKE_ID, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(HPKE_ID, b"", b"info_hash", info)
    ctx = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(HPKE_ID, shared, b"secret", b"")
    return (
        _labeled_expand(HPKE_ID, secret, b"key", ctx, 32),
        _labeled_expand(HPKE_ID, secret, b"base_nonce", ctx, 12),
    )


def _kem_shared(dh: bytes, enc: bytes, pk_r: bytes) -> bytes:
    prk = _labeled_extract(KEM_ID, b"", b"eae_prk", dh)
    return _labeled_expand(KEM_ID, prk, b"shared_secret", enc + pk_r, 32)


def hpke_seal(pk_r: X25519PublicKey, info: bytes, pt: bytes, sk_e: Optional[bytes] = None) -> bytes:
    """enc (32) || ct: SealBase with aad empty; `sk_e` fixes the ephemeral secret (vectors)."""
    e = X25519PrivateKey.from_private_bytes(sk_e) if sk_e is not None else X25519PrivateKey.generate()
    enc = _raw(e.public_key())
    dh = e.exchange(pk_r)
    key, nonce = _key_schedule(_kem_shared(dh, enc, _raw(pk_r)), info)
    return enc + ChaCha20Poly1305(key).encrypt(nonce, pt, b"")


def hpke_open(sk_r: X25519PrivateKey, info: bytes, wrap: bytes) -> Optional[bytes]:
    enc, ct = wrap[:32], wrap[32:]
    try:
        dh = sk_r.exchange(X25519PublicKey.from_public_bytes(enc))
    except ValueError:  # all-zero shared secret
        return None
    key, nonce = _key_schedule(_kem_shared(dh, enc, _raw(sk_r.public_key())), info)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ct, b"")
    except Exception:
        return None


# ---------------------------------------------------------------- streams (the spec, §1-§2)
def payload_key(stream_key: bytes, header: bytes) -> bytes:
    salt = hashlib.sha256(header).digest()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=PAYLOAD_INFO).derive(stream_key)


def nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def header(recipients: Sequence[Tuple[bytes, X25519PublicKey]], stream_key: bytes,
           ephemerals: Optional[Sequence[bytes]] = None) -> bytes:
    """recipients: (NymID bytes, public key); entries sorted by NymID bytes."""
    order = sorted(recipients, key=lambda r: r[0])
    h = struct.pack(">HHII", TYPE, SUITE, CHUNK, len(order))
    for i, (nym, pk) in enumerate(order):
        wrap = hpke_seal(pk, WRAP_INFO + b"\x00" + nym, stream_key, ephemerals[i] if ephemerals else None)
        assert len(wrap) == 80
        h += struct.pack(">I", len(nym) + 1) + nym + b"\x00" + wrap
    return h


def seal_chunks(key: bytes, plaintext: bytes) -> bytes:
    aead = ChaCha20Poly1305(key)
    pieces = [plaintext[i:i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]
    return b"".join(aead.encrypt(nonce(i, i == len(pieces) - 1), p, b"") for i, p in enumerate(pieces))


def seal(recipients: Sequence[Tuple[bytes, X25519PublicKey]], plaintext: bytes,
         stream_key: Optional[bytes] = None, ephemerals: Optional[Sequence[bytes]] = None) -> bytes:
    stream_key = stream_key if stream_key is not None else os.urandom(32)
    h = header(recipients, stream_key, ephemerals)
    return h + seal_chunks(payload_key(stream_key, h), plaintext)


def parse_header(b: bytes) -> Tuple[int, List[Tuple[bytes, bytes]]]:
    """(header length, [(NymID, wrap)]), every length checked against what remains."""
    if len(b) < 12:
        raise DecryptFailed("the stream ends inside its header")  # truncation, not malformation
    t, s, chunk, n = struct.unpack(">HHII", b[:12])
    if t != TYPE or s != SUITE or chunk != CHUNK or not 1 <= n <= 4096:
        raise Malformed("bad fixed fields")
    pos, entries = 12, []
    for _ in range(n):
        if len(b) < pos + 4:
            raise DecryptFailed("the stream ends inside its header")
        (idlen,) = struct.unpack(">I", b[pos:pos + 4])
        if not 1 <= idlen <= 1025:
            raise Malformed("bad entry length")
        if len(b) < pos + 4 + idlen + 80:
            raise DecryptFailed("the stream ends inside its header")
        raw_id = b[pos + 4:pos + 4 + idlen - 1]
        nym = raw_id.split(b"\x00", 1)[0]
        wrap = b[pos + 4 + idlen:pos + 4 + idlen + 80]
        entries.append((nym, wrap))
        pos += 4 + idlen + 80
    return pos, entries


def open_stream(b: bytes, sk: X25519PrivateKey, nym: Optional[bytes]) -> bytes:
    hlen, entries = parse_header(b)
    if nym is not None:
        hit = [e for e in entries if e[0] == nym] or [e for e in entries if e[0] == b""]
        if not hit:
            raise NoMatchingRecipient()
        stream_key = hpke_open(sk, WRAP_INFO + b"\x00" + hit[0][0], hit[0][1])
    else:
        stream_key = None
        for n, w in entries:
            stream_key = hpke_open(sk, WRAP_INFO + b"\x00" + n, w)
            if stream_key is not None:
                break
    if stream_key is None or len(stream_key) != 32:
        raise DecryptFailed()
    aead = ChaCha20Poly1305(payload_key(stream_key, b[:hlen]))
    payload = b[hlen:]
    out, i, pos = [], 0, 0
    while len(payload) - pos > SEALED:  # a middle chunk: followed by at least one more byte
        try:
            out.append(aead.decrypt(nonce(i, False), payload[pos:pos + SEALED], b""))
        except Exception:
            raise DecryptFailed() from None
        i += 1
        pos += SEALED
    last = payload[pos:]
    if len(last) < TAG or (len(last) == TAG and i > 0):
        raise DecryptFailed()
    try:
        out.append(aead.decrypt(nonce(i, True), last, b""))
    except Exception:
        raise DecryptFailed() from None
    return b"".join(out)


# ---------------------------------------------------------------- vectors (docs/vectors/streaming)
def pattern(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


def _pem(sk: X25519PrivateKey) -> bytes:
    return sk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())


def make_vectors(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    # Fixed secrets so that anyone can reproduce the bytes: SHA-256 of a label.
    def secret(label: str) -> bytes:
        return hashlib.sha256(b"ot-transport stream vectors " + label.encode()).digest()

    alice = X25519PrivateKey.from_private_bytes(secret("alice"))
    bob = X25519PrivateKey.from_private_bytes(secret("bob"))
    other = X25519PrivateKey.from_private_bytes(secret("other"))
    for name, k in (("alice", alice), ("bob", bob), ("other", other)):
        with open(os.path.join(out_dir, f"{name}.pem"), "wb") as f:
            f.write(_pem(k))
    rows = ["file\tkey\tnym_id\toutcome\tplaintext_len\tstream_key\tephemerals"]

    def valid(name: str, recips, n: int, opens) -> bytes:
        sk = secret(name + "/stream key")
        eph = [secret(f"{name}/ephemeral {i}") for i in range(len(recips))]
        data = seal(recips, pattern(n), sk, eph)
        with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
            f.write(data)
        for key, nym in opens:
            rows.append("\t".join([name + ".bin", key + ".pem", nym if nym is not None else "-", "plaintext",
                                   str(n), sk.hex(), ",".join(e.hex() for e in eph)]))
        return data

    alice_pub, bob_pub = alice.public_key(), bob.public_key()
    to_both = [(b"alice", alice_pub), (b"bob", bob_pub)]
    both = [("alice", "alice"), ("bob", "bob"), ("alice", None)]
    valid("empty", to_both, 0, both)
    valid("short", to_both, 5, both)
    valid("one-chunk", to_both, CHUNK, both)
    valid("one-chunk-and-a-byte", to_both, CHUNK + 1, both)
    full = valid("three-chunks", [(b"", bob_pub), (b"alice", alice_pub)], 2 * CHUNK + 1000,
                 [("alice", "alice"), ("bob", "bob"), ("bob", None)])
    rows.append("\t".join(["three-chunks.bin", "other.pem", "alice", "decrypt_failed", "0", "-", "-"]))
    rows.append("\t".join(["short.bin", "bob.pem", "carol", "no_matching_recipient", "0", "-", "-"]))

    # Broken streams, each from the valid three-chunk stream (header length from the parse).
    hlen, _ = parse_header(full)
    hdr, body = full[:hlen], full[hlen:]
    sk = secret("three-chunks/stream key")
    key = payload_key(sk, hdr)
    aead = ChaCha20Poly1305(key)
    chunks = [body[i:i + SEALED] for i in range(0, len(body), SEALED)]
    p = pattern(2 * CHUNK + 1000)
    bad = {
        "cut-at-chunk-boundary": hdr + chunks[0] + chunks[1],
        "cut-inside-last-chunk": full[:-1],
        "cut-inside-header": hdr[:-5],
        "header-only": hdr,
        "chunks-swapped": hdr + chunks[1] + chunks[0] + chunks[2],
        "extended": full + aead.encrypt(nonce(3, True), b"more", b""),
        "last-flag-missing": hdr + chunks[0] + chunks[1] + aead.encrypt(nonce(2, False), p[2 * CHUNK:], b""),
        "middle-flagged-last": hdr + aead.encrypt(nonce(0, True), p[:CHUNK], b"") + chunks[1] + chunks[2],
        "empty-last-chunk": hdr + chunks[0] + chunks[1] + aead.encrypt(nonce(2, False), p[2 * CHUNK:], b"")
        + aead.encrypt(nonce(3, True), b"", b""),
        # a byte of the other recipient's wrap: alice's wrap still opens, the payload key differs
        "header-bit-flipped": hdr[:50] + bytes([hdr[50] ^ 1]) + hdr[51:] + body,
        "chunk-bit-flipped": hdr + chunks[0][:100] + bytes([chunks[0][100] ^ 1]) + chunks[0][101:] + chunks[1]
        + chunks[2],
    }
    for name, data in bad.items():
        with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
            f.write(data)
        rows.append("\t".join([name + ".bin", "alice.pem", "alice", "decrypt_failed", "0", "-", "-"]))
    mal = {"wrong-chunk-size": struct.pack(">HHII", 4, 1, 4096, 1) + hdr[12:] + body,
           "wrong-type": struct.pack(">H", 3) + full[2:]}
    for name, data in mal.items():
        with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
            f.write(data)
        rows.append("\t".join([name + ".bin", "alice.pem", "alice", "malformed", "0", "-", "-"]))
    with open(os.path.join(out_dir, "streams.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    # Self-check: this implementation agrees with every row.
    check_vectors(out_dir)


def check_vectors(d: str) -> None:
    lines = open(os.path.join(d, "streams.tsv")).read().splitlines()[1:]
    for line in lines:
        file, key, nym, outcome, n = line.split("\t")[:5]
        sk = serialization.load_pem_private_key(open(os.path.join(d, key), "rb").read(), None)
        data = open(os.path.join(d, file), "rb").read()
        try:
            got = open_stream(data, sk, None if nym == "-" else nym.encode())
            result = "plaintext"
        except DecryptFailed:
            result = "decrypt_failed"
        except Malformed:
            result = "malformed"
        except NoMatchingRecipient:
            result = "no_matching_recipient"
        assert result == outcome, (file, key, nym, result, outcome)
        if result == "plaintext":
            assert got == pattern(int(n)), file


def main(argv: List[str]) -> int:
    if len(argv) >= 2 and argv[1] == "vectors":
        make_vectors(argv[2])
        return 0
    if len(argv) >= 2 and argv[1] == "check":
        check_vectors(argv[2])
        return 0
    if len(argv) >= 3 and argv[1] == "open":
        sk = serialization.load_pem_private_key(open(argv[2], "rb").read(), None)
        nym = argv[3].encode() if len(argv) > 3 else None
        try:
            sys.stdout.buffer.write(open_stream(sys.stdin.buffer.read(), sk, nym))
        except (DecryptFailed, Malformed, NoMatchingRecipient) as e:
            print(type(e).__name__, file=sys.stderr)
            return 1
        return 0
    if len(argv) >= 3 and argv[1] == "seal":
        recips = []
        for spec in argv[2:]:
            nym, path = spec.split("=", 1)
            recips.append((nym.encode(), serialization.load_pem_public_key(open(path, "rb").read())))
        sys.stdout.buffer.write(seal(recips, sys.stdin.buffer.read()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
