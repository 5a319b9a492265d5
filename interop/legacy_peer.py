#!/usr/bin/env python3
"""Independent reference peer for the legacy Open-Transactions wire format, and suite v3.

Written only from the legacy wire-format specification, as summarised in the repository's
docs/wire-format.md (the "wire-format.md, <section>" references below name its sections), and
the real legacy fixtures in tests/data/fixtures; for suite v3 (Ed25519 / X25519 / SHA256D /
envelope type 3) only from the suite v3 contract, as summarised in docs/wire-format.md ("Suite
v3"), and its published test vectors ("v3 §n" below: 1 hash and IDs, 2 keys, 3 signed text,
4 envelope type 3, 5 transport).
Credentials, Nyms and contracts (`nym`, `contract`, `batch`) are written only from the repository's
docs/credentials.md (its rules and the order of the checks), not from the library's code.
It plays a legacy notary (ZMQ REP) or a legacy client (ZMQ REQ), and offers file-level crypto
commands (seal/open/sign/verify/nymid/samy/genkey) plus a self-test on the real legacy fixtures.

Dependencies: Python 3.11 standard library, pyzmq, cryptography.
Whirlpool comes from the system OpenSSL legacy provider via hashlib, else a built-in pure-Python
implementation (both checked in `selftest`).
"""
import argparse
import base64
import ctypes
import hashlib
import os
import re
import struct
import sys
import tempfile
import time
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding as sympad, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
import hmac

OT_VERSION = "0.90.b"
OT_COMMENT = "http://github.com/FellowTraveler/Open-Transactions/wiki"
SGETS_KEEP = 2047         # OTString::sgets: one read keeps at most 2047 bytes (wire-format.md, Signed text)
MAX_LINE = SGETS_KEEP - 1  # longest content line (a final '\r' counts) that reads back as written
MAX_RECIPIENTS = 10000    # bound for envelope parsing loops


# The repository's real legacy fixtures, relative to this file (interop/legacy_peer.py).
DEFAULT_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                "tests", "data", "fixtures")


class PeerError(Exception):
    pass


class BadSignature(PeerError):
    pass


# ----------------------------------------------------------------------------------------------
# Whirlpool (wire-format.md, Hashes and IDs): OpenSSL legacy provider through hashlib, else pure Python.
# ----------------------------------------------------------------------------------------------
def _load_openssl_legacy():
    try:
        lib = ctypes.CDLL("libcrypto.so.3")
        lib.OSSL_PROVIDER_load.restype = ctypes.c_void_p
        lib.OSSL_PROVIDER_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.OSSL_PROVIDER_load(None, b"legacy")
        lib.OSSL_PROVIDER_load(None, b"default")
        hashlib.new("whirlpool", b"abc")
        return True
    except Exception:
        return False


_HAVE_OPENSSL_WHIRLPOOL = _load_openssl_legacy()


def _wp_tables():
    e = [0x1, 0xB, 0x9, 0xC, 0xD, 0x6, 0xF, 0x3, 0xE, 0x8, 0x7, 0x4, 0xA, 0x2, 0x5, 0x0]
    r = [0x7, 0xC, 0xB, 0xD, 0xE, 0x4, 0x9, 0xF, 0x6, 0x3, 0x8, 0xA, 0x2, 0x5, 0x1, 0x0]
    einv = [0] * 16
    for i, v in enumerate(e):
        einv[v] = i
    sbox = []
    for u in range(256):
        a, b = e[u >> 4], einv[u & 15]
        t = r[a ^ b]
        sbox.append((e[a ^ t] << 4) | einv[b ^ t])

    def gmul(x, y):
        p = 0
        for _ in range(8):
            if y & 1:
                p ^= x
            x <<= 1
            if x & 0x100:
                x ^= 0x11D
            y >>= 1
        return p

    circ = [1, 1, 4, 1, 8, 5, 2, 9]
    tabs = []
    for k in range(8):
        tk = []
        for x in range(256):
            s = sbox[x]
            v = 0
            for j in range(8):
                v = (v << 8) | gmul(s, circ[(j - k) % 8])
            tk.append(v)
        tabs.append(tk)
    rc = []
    for rnd in range(1, 11):
        v = 0
        for j in range(8):
            v = (v << 8) | sbox[8 * (rnd - 1) + j]
        rc.append(v)
    return tabs, rc


_WP = None


def _wp_round(tabs, state, key):
    out = []
    for i in range(8):
        v = 0
        for k in range(8):
            v ^= tabs[k][(state[(i - k) % 8] >> (56 - 8 * k)) & 0xFF]
        out.append(v ^ key[i])
    return out


def whirlpool_pure(data: bytes) -> bytes:
    global _WP
    if _WP is None:
        _WP = _wp_tables()
    tabs, rc = _WP
    bitlen = len(data) * 8
    msg = data + b"\x80"
    msg += b"\x00" * ((32 - len(msg) % 64) % 64)
    msg += bitlen.to_bytes(32, "big")
    h = [0] * 8
    for off in range(0, len(msg), 64):
        m = list(struct.unpack(">8Q", msg[off:off + 64]))
        k = h[:]
        st = [m[i] ^ k[i] for i in range(8)]
        for rnd in range(10):
            k = _wp_round(tabs, k, [rc[rnd], 0, 0, 0, 0, 0, 0, 0])
            st = _wp_round(tabs, st, k)
        h = [h[i] ^ st[i] ^ m[i] for i in range(8)]
    return struct.pack(">8Q", *h)


def whirlpool(data: bytes) -> bytes:
    if _HAVE_OPENSSL_WHIRLPOOL:
        return hashlib.new("whirlpool", data).digest()
    return whirlpool_pure(data)


# ----------------------------------------------------------------------------------------------
# SAMY and base62 IDs (wire-format.md, Hashes and IDs)
# ----------------------------------------------------------------------------------------------
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def samy(data: bytes) -> bytes:
    s = hashlib.sha256(data).digest()
    w = whirlpool(data)[:32]
    return bytes(a ^ b for a, b in zip(s, w))


def base62_encode(b: bytes) -> str:
    n = int.from_bytes(b, "big")
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(B62[r])
    return "".join(reversed(out))


def base62_decode(s: str) -> bytes:
    """Legacy decode: <3 chars or a non-base62 char -> empty; leading zero bytes are lost."""
    if len(s) < 3 or any(c not in B62 for c in s):
        return b""
    n = 0
    for c in s:
        n = n * 62 + B62.index(c)
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def samy_id(data: bytes) -> str:
    return base62_encode(samy(data))


# ----------------------------------------------------------------------------------------------
# Armor (wire-format.md, Armor): protobuf field 1 packing, zlib for strings, 64-col base64, bookends, reader.
# ----------------------------------------------------------------------------------------------
def pb_pack(value: bytes) -> bytes:
    n, v = len(value), bytearray()
    while True:
        if n < 0x80:
            v.append(n)
            break
        v.append((n & 0x7F) | 0x80)
        n >>= 7
    return b"\x0a" + bytes(v) + value


def _varint(buf, i):
    n, shift = 0, 0
    for _ in range(10):
        if i >= len(buf):
            raise PeerError("truncated varint")
        c = buf[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return n, i
    raise PeerError("varint too long")


def pb_unpack(buf: bytes) -> bytes:
    """Return field 1 (length-delimited) of a protobuf message; unknown fields are skipped."""
    i, value = 0, b""
    for _ in range(len(buf) + 1):
        if i >= len(buf):
            return value
        key, i = _varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            _, i = _varint(buf, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            ln, i = _varint(buf, i)
            if i + ln > len(buf):
                raise PeerError("protobuf field overruns buffer")
            if field == 1:
                value = buf[i:i + ln]
            i += ln
        else:
            raise PeerError("unsupported protobuf wire type %d" % wt)
        if i > len(buf):
            raise PeerError("protobuf truncated")
    raise PeerError("protobuf loop bound")


def b64_lines(data: bytes) -> str:
    s = base64.b64encode(data).decode("ascii")
    return "".join(s[i:i + 64] + "\n" for i in range(0, len(s), 64))


def b64_decode_lines(text: str) -> bytes:
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except Exception as exc:
        raise PeerError("bad base64: %s" % exc)


def armor_data(data: bytes) -> str:
    return b64_lines(pb_pack(data))


def armor_string(text: bytes) -> str:
    return b64_lines(zlib.compress(pb_pack(text), 9))


def dearmor_data(b64: str) -> bytes:
    return pb_unpack(b64_decode_lines(b64))


def dearmor_string(b64: str) -> bytes:
    try:
        raw = zlib.decompress(b64_decode_lines(b64))
    except zlib.error as exc:
        raise PeerError("zlib: %s" % exc)
    return pb_unpack(raw)


def bookend(b64: str, typ: str, escaped: bool = False) -> str:
    e = "- " if escaped else ""
    return ("%s-----BEGIN OT ARMORED %s-----\nVersion: Open Transactions %s\nComment: %s\n\n%s"
            "%s-----END OT ARMORED %s-----\n\n" % (e, typ, OT_VERSION, OT_COMMENT, b64, e, typ))


def sgets_lines(text: str):
    """Line splitting like OTString::sgets (wire-format.md, Signed text): '\\n' removed, '\\r' kept
    (so it counts). One read keeps at most 2047 characters and leaves the rest of the line, its
    '\\n' included, to the next read: a 2047-character line is followed by an empty line, and a
    longer one comes back in 2047-character pieces, then the rest. At the end of the text (no '\\n'
    left) there is nothing more to read."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if last and not line:
            return
        while len(line) >= SGETS_KEEP:
            yield line[:SGETS_KEEP]
            line = line[SGETS_KEEP:]
            if last and not line:
                return
        yield line


def read_armor(text: str, escaped: bool = False) -> str:
    """Legacy LoadFromString (wire-format.md, Armor): returns the base64 body. Text with no BEGIN line at all is
    taken as bare armor (what the notary does with a request frame)."""
    if "-----BEGIN" not in text:
        return text
    state, out = 0, []
    second = " " if escaped else "-"
    for line in sgets_lines(text):
        if state == 0:
            if line.startswith("-") and "-----BEGIN" in line and len(line) > 1 and line[1] == second:
                state = 1
            continue
        if line.startswith("-") and "-----END" in line:
            return "".join(out)
        if line.startswith("Version:") or line.startswith("Comment:") or len(line) < 2:
            continue
        out.append(line + "\n")
    raise PeerError("armor: no END line")


# ----------------------------------------------------------------------------------------------
# Keys (wire-format.md, Keys)
# ----------------------------------------------------------------------------------------------
_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----\r?\n?", re.S)


def pem_blocks(data: bytes):
    return [(m.group(1).decode(), m.group(0)) for m in _PEM_RE.finditer(data)]


def load_private(data: bytes, password=None):
    for kind, block in pem_blocks(data):
        if "PRIVATE KEY" in kind:
            pw = password.encode() if isinstance(password, str) else password
            if "ENCRYPTED" not in kind and b"ENCRYPTED" not in block:
                pw = None
            return serialization.load_pem_private_key(block, pw)
    raise PeerError("no private key PEM block")


def load_public(data: bytes, password=None):
    """SPKI PEM, else a certificate, else the public half of a private key PEM."""
    blocks = pem_blocks(data)
    for kind, block in blocks:
        if kind == "PUBLIC KEY":
            return serialization.load_pem_public_key(block)
    for kind, block in blocks:
        if kind == "CERTIFICATE":
            return x509.load_pem_x509_certificate(block).public_key()
    return load_private(data, password).public_key()


def read_file(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def ot_public_key_block(pub, escaped: bool = True) -> str:
    """Spec 6.1: SPKI PEM -> data-path armor -> OT 'PUBLIC KEY' bookends."""
    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    e = "- " if escaped else ""
    return "%s-----BEGIN PUBLIC KEY-----\n%s%s-----END PUBLIC KEY-----\n" % (e, armor_data(pem), e)


def nym_id(pub) -> str:
    if is_v3(pub):
        return v3_nym_id(pub)          # v3 §2
    return samy_id(ot_public_key_block(pub, True).encode())


def parse_ot_public_key(block: str):
    """Inverse of ot_public_key_block (escaped or not)."""
    body = read_armor(block, escaped=block.lstrip().startswith("- "))
    return serialization.load_pem_public_key(dearmor_data(body))


def key_bytes(key) -> int:
    return (key.key_size + 7) // 8


# ----------------------------------------------------------------------------------------------
# Envelopes (wire-format.md, Envelopes)
# ----------------------------------------------------------------------------------------------
def _aes_cbc_encrypt(key, iv, data):
    p = sympad.PKCS7(128).padder()
    data = p.update(data) + p.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def _aes_cbc_decrypt(key, iv, data):
    if len(data) == 0 or len(data) % 16:
        raise PeerError("ciphertext length %d is not a positive multiple of 16" % len(data))
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    raw = dec.update(data) + dec.finalize()
    u = sympad.PKCS7(128).unpadder()
    try:
        return u.update(raw) + u.finalize()
    except ValueError:
        raise PeerError("bad PKCS#7 padding (wrong key?)")


def _legacy_cstring(plain: bytes) -> bytes:
    """Open rule: last plaintext byte forced to NUL, then cut at the first NUL."""
    if not plain:
        return b""
    plain = plain[:-1] + b"\x00"
    return plain[:plain.index(b"\x00")]


def _unwrap_key(priv, ek):
    try:
        k = priv.decrypt(ek, padding.PKCS1v15())
    except ValueError:
        raise PeerError("RSA key unwrap failed")
    if len(k) != 16:   # implicit rejection returns synthetic bytes of another length
        raise PeerError("unwrapped session key is %d bytes, not 16" % len(k))
    return k


def seal_v1(plaintext: bytes, recipients) -> bytes:
    """recipients: list of (nymid_str, public_key). Plaintext gets one NUL appended."""
    key, iv = os.urandom(16), os.urandom(16)
    out = [struct.pack(">HI", 1, len(recipients))]
    for nid, pub in sorted(recipients, key=lambda r: r[0].encode()):
        nb = nid.encode("ascii") + b"\x00"
        ek = pub.encrypt(key, padding.PKCS1v15())
        out.append(struct.pack(">I", len(nb)) + nb + struct.pack(">I", len(ek)) + ek)
    out.append(struct.pack(">I", 16) + iv)
    out.append(_aes_cbc_encrypt(key, iv, plaintext + b"\x00"))
    return b"".join(out)


def parse_v1(env: bytes):
    if len(env) < 6:
        raise PeerError("envelope too short")
    typ, count = struct.unpack(">HI", env[:6])
    if typ != 1:
        raise PeerError("envelope type %d != 1" % typ)
    if count > MAX_RECIPIENTS:
        raise PeerError("absurd recipient count %d" % count)
    i, entries = 6, []
    for _ in range(count):
        if i + 4 > len(env):
            raise PeerError("truncated recipient")
        (nl,) = struct.unpack(">I", env[i:i + 4])
        i += 4
        if nl == 0 or i + nl > len(env):
            raise PeerError("bad nymid length %d" % nl)
        raw = env[i:i + nl - 1] + b"\x00"       # last byte forced to NUL
        nid = raw[:raw.index(b"\x00")].decode("latin-1")
        i += nl
        if i + 4 > len(env):
            raise PeerError("truncated recipient")
        (el,) = struct.unpack(">I", env[i:i + 4])
        i += 4
        if i + el > len(env):
            raise PeerError("bad encrypted key length %d" % el)
        entries.append((nid, env[i:i + el]))
        i += el
    if i + 4 > len(env):
        raise PeerError("truncated IV length")
    (ivl,) = struct.unpack(">I", env[i:i + 4])
    i += 4
    if ivl > 16 or i + ivl > len(env):
        raise PeerError("bad IV length %d" % ivl)
    iv = env[i:i + ivl]
    return entries, iv, env[i + ivl:]


def open_v1(env: bytes, priv, my_nym_id: str) -> bytes:
    entries, iv, ct = parse_v1(env)
    if len(iv) != 16:
        raise PeerError("IV is %d bytes; AES-128-CBC needs 16" % len(iv))
    chosen = None
    for nid, ek in entries:
        if nid == my_nym_id:
            chosen = ek
            break
    if chosen is None and entries and entries[-1][0] == "":
        chosen = entries[-1][1]
    if chosen is None:
        raise PeerError("no recipient entry for NymID %r (ids: %s)" % (my_nym_id, [e[0] for e in entries]))
    return _legacy_cstring(_aes_cbc_decrypt(_unwrap_key(priv, chosen), iv, ct))


def seal_v0(plaintext: bytes, pub) -> bytes:
    key, iv = os.urandom(16), os.urandom(16)
    ek = pub.encrypt(key, padding.PKCS1v15())
    return struct.pack(">I", len(ek)) + ek + iv + _aes_cbc_encrypt(key, iv, plaintext + b"\x00")


def open_v0(env: bytes, priv) -> bytes:
    if len(env) < 4:
        raise PeerError("v0 envelope too short")
    (el,) = struct.unpack(">I", env[:4])
    if 4 + el + 16 > len(env):
        raise PeerError("v0 envelope truncated")
    ek, iv, ct = env[4:4 + el], env[4 + el:4 + el + 16], env[4 + el + 16:]
    return _legacy_cstring(_aes_cbc_decrypt(_unwrap_key(priv, ek), iv, ct))


def open_any(env: bytes, priv, my_nym_id: str) -> bytes:
    if env[:2] == b"\x00\x01":
        return open_v1(env, priv, my_nym_id)
    return open_v0(env, priv)


# ----------------------------------------------------------------------------------------------
# Signed text (wire-format.md, Signed text)
# ----------------------------------------------------------------------------------------------
PSS_SIGN = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
PSS_VERIFY = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


def make_content(text: bytes, legacy: bool = True) -> bytes:
    """Normalise free text into signable content lines: every line ends with '\\n', lines starting
    with '-' are dash-escaped ('- ' prefix, which stays part of the signed bytes). For legacy (RSA)
    signing, a line longer than MAX_LINE (a final '\\r' counts) is refused: sgets_lines shows what
    the legacy reader would make of it."""
    if not text.endswith(b"\n"):
        text += b"\n"
    out = []
    for line in text[:-1].split(b"\n"):
        if line.startswith(b"-"):
            line = b"- " + line
        if line.startswith(b"Hash: "):
            raise PeerError("content line starting with 'Hash: ' cannot survive the legacy parser")
        if legacy and len(line) > MAX_LINE:
            raise PeerError("content line of %d bytes (a final '\\r' counts): the legacy reader reads "
                            "back at most %d unchanged" % (len(line), MAX_LINE))
        out.append(line + b"\n")
    return b"".join(out)


def sign_raw(priv, content: bytes) -> bytes:
    return priv.sign(samy(content), PSS_SIGN, utils.Prehashed(hashes.SHA256()))


def create_signed(content: bytes, typ: str, priv, meta: str = None) -> bytes:
    """Spec 5.1; `content` must already be valid content lines (see make_content). The key
    chooses (v3 §3): RSA -> Hash: SAMY + PSS, Ed25519 -> Hash: SHA256D + Ed25519."""
    if content and not content.endswith(b"\n"):
        raise PeerError("content must end with a newline")
    if isinstance(priv, ed25519.Ed25519PrivateKey):
        sig, hname = priv.sign(v3_digest(typ, content)), "SHA256D"
    elif isinstance(priv, rsa.RSAPrivateKey):
        sig, hname = sign_raw(priv, content), "SAMY"
    else:
        raise PeerError("this key cannot sign")
    head = "-----BEGIN SIGNED %s-----\nHash: %s\n\n" % (typ, hname)
    sec = "-----BEGIN %s SIGNATURE-----\nVersion: Open Transactions %s\nComment: %s\n" % (typ, OT_VERSION, OT_COMMENT)
    if meta:
        if len(meta) != 4:
            raise PeerError("meta must be 4 chars (KNMS)")
        sec += "Meta:    %s\n" % meta
    sec += "\n" + armor_data(sig) + "-----END %s SIGNATURE-----\n\n" % typ
    return (head.encode() + content + sec.encode()).strip(b" \t\f\v\n\r")


def parse_signed(text: bytes):
    """Spec 5.2. Returns dict(type, hash, content, signatures=[(meta, raw_sig_bytes)])."""
    s = text.strip(b" \t\f\v\n\r").decode("latin-1")
    mode, skip_next, typ, hash_type = 0, False, None, None
    content, sigs, cur, cur_meta = [], [], None, None
    # v3 §3: SHA256D texts are never read by legacy code; their lines are not cut at 2047.
    v3_text = re.search(r"^Hash: SHA256D\r?$", s, re.M) is not None
    for line in (s.split("\n") if v3_text else sgets_lines(s)):
        if skip_next:
            skip_next = False
            continue
        if mode == 0:
            if line.startswith("-") and "BEGIN" in line and line[1:4] == "---":
                m = re.match(r"-----BEGIN SIGNED (.+?)-----", line)
                typ = m.group(1) if m else None
                mode = 1
            continue
        if mode == 1:
            if line.startswith("Hash: "):
                if hash_type is not None:      # v3 §3: a second Hash: line is malformed
                    raise PeerError("second Hash: line in the signed text")
                hash_type = line[6:].strip().upper()
                skip_next = True
                continue
            if line.startswith("-"):
                if "SIGNATURE" in line and "BEGIN" in line and not line.startswith("- "):
                    mode, cur, cur_meta = 2, [], None
                    continue
                if not line.startswith("- -"):
                    raise PeerError("unescaped dashed line in content: %r" % line[:60])
            content.append(line + "\n")
            continue
        # mode 2 / 3: inside a signature section / between signature sections
        if line.startswith("-"):
            if mode == 2:
                sigs.append((cur_meta, dearmor_data("".join(cur))))
                mode = 3
            if "SIGNATURE" in line and "BEGIN" in line:
                mode, cur, cur_meta = 2, [], None
            continue
        if mode != 2:
            continue
        if line.startswith("Version:"):
            skip_next = True
        elif line.startswith("Meta:"):
            cur_meta = line[5:].strip()
            skip_next = True
        elif len(line) < 2 or line.startswith("Comment:"):
            continue
        else:
            cur.append(line + "\n")
    if mode == 2 and cur:
        sigs.append((cur_meta, dearmor_data("".join(cur))))
    if mode == 0:
        raise PeerError("no BEGIN line: not a signed text")
    return {"type": typ, "hash": hash_type, "content": "".join(content).encode("latin-1"), "signatures": sigs}


def verify_raw(pub, content: bytes, sig: bytes) -> bool:
    n = key_bytes(pub)
    if len(sig) < n:
        return False
    try:
        pub.verify(sig[:n], samy(content), PSS_VERIFY, utils.Prehashed(hashes.SHA256()))
        return True
    except Exception:
        return False


def verify_signed(text: bytes, pub, want_type: str = None) -> bytes:
    """Returns the verified content or raises BadSignature / PeerError."""
    p = parse_signed(text)
    if want_type and p["type"] != want_type:
        raise PeerError("signed type %r, expected %r" % (p["type"], want_type))
    if p["hash"] not in (None, "SAMY", "SHA256D"):
        raise PeerError("hash type %r not supported (only SAMY, SHA256D)" % p["hash"])
    v3 = p["hash"] == "SHA256D"
    if v3 != is_ed25519(pub) or (not v3 and not isinstance(pub, rsa.RSAPublicKey)):
        raise PeerError("hash %s does not pair with this key kind" % p["hash"])
    if not p["signatures"]:
        raise BadSignature("no signature section")
    if v3:
        d = v3_digest(p["type"], p["content"])

        def ok(sig):
            if len(sig) != 64:
                return False
            try:
                pub.verify(sig, d)
                return True
            except Exception:
                return False
        if any(ok(sig) for _, sig in p["signatures"]):
            return p["content"]
    elif any(verify_raw(pub, p["content"], sig) for _, sig in p["signatures"]):
        return p["content"]
    raise BadSignature("no signature verifies")


# ----------------------------------------------------------------------------------------------
# Suite v3 (suite-v3.md): SHA256D, Ed25519 / X25519 keys, HPKE base mode, envelope type 3
# ----------------------------------------------------------------------------------------------
def sha256d(data: bytes) -> bytes:
    """v3 §1."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def v3_id(data: bytes) -> str:
    return base62_encode(sha256d(data))


def is_v3(key) -> bool:
    return isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey,
                            x25519.X25519PrivateKey, x25519.X25519PublicKey))


def is_ed25519(key) -> bool:
    return isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey))


def is_x25519(key) -> bool:
    return isinstance(key, (x25519.X25519PrivateKey, x25519.X25519PublicKey))


def spki_der(pub) -> bytes:
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def v3_nym_id(pub) -> str:
    """v3 §2: base62(SHA256D(SPKI DER))."""
    return v3_id(spki_der(pub))


# HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305,
# composed from X25519, HMAC-SHA256 and ChaCha20-Poly1305.
_KEM_SUITE = b"KEM" + struct.pack(">H", 0x0020)
_HPKE_SUITE = b"HPKE" + struct.pack(">HHH", 0x0020, 0x0001, 0x0003)


def _hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _hkdf_expand(prk: bytes, info: bytes, n: int) -> bytes:
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def _labeled_extract(suite, salt, label, ikm):
    return _hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite, prk, label, info, n):
    return _hkdf_expand(prk, struct.pack(">H", n) + b"HPKE-v1" + suite + label + info, n)


def _raw_pub(pub) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _kem_shared(dh, enc, pk_rm):
    if dh == b"\x00" * 32:
        raise PeerError("all-zero X25519 output")
    prk = _labeled_extract(_KEM_SUITE, b"", b"eae_prk", dh)
    return _labeled_expand(_KEM_SUITE, prk, b"shared_secret", enc + pk_rm, 32)


def _key_schedule(shared, info):
    ctx = (b"\x00" + _labeled_extract(_HPKE_SUITE, b"", b"psk_id_hash", b"")
           + _labeled_extract(_HPKE_SUITE, b"", b"info_hash", info))
    secret = _labeled_extract(_HPKE_SUITE, shared, b"secret", b"")
    return (_labeled_expand(_HPKE_SUITE, secret, b"key", ctx, 32),
            _labeled_expand(_HPKE_SUITE, secret, b"base_nonce", ctx, 12))


def hpke_seal(pk_r, info: bytes, aad: bytes, pt: bytes, sk_e=None):
    sk_e = sk_e or x25519.X25519PrivateKey.generate()
    enc = _raw_pub(sk_e.public_key())
    shared = _kem_shared(sk_e.exchange(pk_r), enc, _raw_pub(pk_r))
    key, nonce = _key_schedule(shared, info)
    return enc, ChaCha20Poly1305(key).encrypt(nonce, pt, aad)


def hpke_open(sk_r, enc: bytes, info: bytes, aad: bytes, ct: bytes) -> bytes:
    try:
        dh = sk_r.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    except ValueError:
        raise PeerError("decrypt failed")
    shared = _kem_shared(dh, enc, _raw_pub(sk_r.public_key()))
    key, nonce = _key_schedule(shared, info)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ct, aad)
    except Exception:
        raise PeerError("decrypt failed")


V3_INFO = b"ot-transport v3 envelope"
V3_MAX_RECIPIENTS = 4096


def seal_v3(plaintext: bytes, recipients) -> bytes:
    """v3 §4. recipients: list of (nymid_str, X25519 public key)."""
    if not 1 <= len(recipients) <= V3_MAX_RECIPIENTS:
        raise PeerError("1..4096 recipients")
    cek = os.urandom(32)
    head = [struct.pack(">HHI", 3, 1, len(recipients))]
    for nid, pub in sorted(recipients, key=lambda r: r[0].encode()):
        nb = nid.encode("ascii")
        enc, ct = hpke_seal(pub, V3_INFO + b"\x00" + nb, b"", cek)
        head.append(struct.pack(">I", len(nb) + 1) + nb + b"\x00" + enc + ct)
    header = b"".join(head)
    return header + ChaCha20Poly1305(cek).encrypt(b"\x00" * 12, plaintext, header)


def parse_v3(env: bytes):
    """Returns (entries [(nymid_bytes, wrap80)], header, payload); every length checked first."""
    if len(env) < 8:
        raise PeerError("decrypt failed: short envelope")
    typ, suite, n = struct.unpack(">HHI", env[:8])
    if typ != 3 or suite != 1:
        raise PeerError("not a type-3 suite-1 envelope")
    if not 1 <= n <= V3_MAX_RECIPIENTS or n * 85 > len(env) - 8:
        raise PeerError("bad recipient count %d" % n)
    i, entries = 8, []
    for _ in range(n):
        if i + 4 > len(env):
            raise PeerError("truncated entry")
        (idl,) = struct.unpack(">I", env[i:i + 4])
        i += 4
        if idl < 1 or i + idl + 80 > len(env):
            raise PeerError("bad NymID length %d" % idl)
        nid = env[i:i + idl]
        if nid[-1:] != b"\x00":
            raise PeerError("NymID not NUL-terminated")
        entries.append((nid[:-1], env[i + idl:i + idl + 80]))
        i += idl + 80
    return entries, env[:i], env[i:]


def open_v3(env: bytes, priv, my_nym_id=None) -> bytes:
    """v3 §4 open rules. my_nym_id None: try every entry in order."""
    entries, header, payload = parse_v3(env)
    if my_nym_id is not None:
        want = my_nym_id.encode()
        chosen = [e for e in entries if e[0] == want][:1] or [e for e in entries if e[0] == b""][:1]
        if not chosen:
            raise PeerError("no recipient entry for NymID %r" % my_nym_id)
    else:
        chosen = entries
    for nid, wrap in chosen:
        try:
            cek = hpke_open(priv, wrap[:32], V3_INFO + b"\x00" + nid, b"", wrap[32:])
        except PeerError:
            continue
        if len(cek) != 32:
            continue
        try:
            return ChaCha20Poly1305(cek).decrypt(b"\x00" * 12, payload, header)
        except Exception:
            raise PeerError("decrypt failed")
    raise PeerError("decrypt failed")


def v3_digest(typ: str, content: bytes) -> bytes:
    """v3 §3.1: SHA256D(TYPE || 0x0A || xml_unsigned)."""
    return sha256d(typ.encode("ascii") + b"\n" + content)


def seal_any(plaintext: bytes, recipients) -> bytes:
    """The recipients' keys choose: RSA -> type 1, X25519 -> type 3, a mix is refused."""
    kinds = {is_x25519(pub) for _, pub in recipients}
    if kinds == {True}:
        return seal_v3(plaintext, recipients)
    if kinds == {False}:
        return seal_v1(plaintext, recipients)
    raise PeerError("cannot mix RSA and X25519 recipients")


def open_env(env: bytes, priv, my_nym_id) -> bytes:
    if env[:2] == b"\x00\x03":
        if not isinstance(priv, x25519.X25519PrivateKey):
            raise PeerError("a type-3 envelope needs an X25519 private key")
        return open_v3(env, priv, my_nym_id)
    return open_any(env, priv, my_nym_id or "")


# ----------------------------------------------------------------------------------------------
# Transport (wire-format.md, Transport)
# ----------------------------------------------------------------------------------------------
def check_endpoint(ep: str) -> str:
    m = re.fullmatch(r"tcp://(127\.0\.0\.1|localhost):(\d+|\*)", ep)
    if not m and not ep.startswith("ipc://"):
        raise SystemExit("endpoint must be tcp://127.0.0.1:PORT or :* (loopback only) or ipc://: %r" % ep)
    return ep


def announce_bound(ep: str) -> None:
    """First line of stdout: the endpoint actually bound (a `:*` port resolved), for the caller
    to connect to."""
    sys.stdout.write("bound %s\n" % ep)
    sys.stdout.flush()


def log(msg):
    sys.stderr.write("[legacy_peer %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def frame_notes(frame: bytes):
    """Deviations from the exact legacy emitter format (informational)."""
    notes = []
    if b"\x00" in frame:
        notes.append("frame contains NUL (legacy notary cuts there)")
    body = frame.split(b"\x00")[0].decode("latin-1")
    lines = body.split("\n")
    if not body.endswith("\n"):
        notes.append("armor does not end with \\n")
    if any(len(l) > 64 for l in lines if not l.startswith("-")):
        notes.append("base64 lines longer than 64 columns")
    return notes


def notary_handle(frame: bytes, a) -> bytes:
    body = frame.split(b"\x00")[0].decode("latin-1")        # MemSet stops at first NUL
    if "-----" in body and not a.lenient:
        raise PeerError("request frame has bookends; legacy expects bare armor (use --lenient)")
    env = dearmor_data(read_armor(body))
    plain = open_env(env, a._enc, a.nym_id)          # type 1 or 3 (v3 §5: the keys choose)
    content = verify_signed(plain, a._client_auth, "MESSAGE")
    reply = create_signed(b"@" + content, "MESSAGE", a._auth)
    if a.plain_reply:
        return bookend(armor_string(reply), "MESSAGE").encode()
    return bookend(armor_data(seal_any(reply, [("", a._client_enc)])), "ENVELOPE").encode()


def _bind_rep(ctx, ep):
    import zmq
    last = None
    for _ in range(100):                       # bounded re-bind retries (async close of old socket)
        s = ctx.socket(zmq.REP)
        s.setsockopt(zmq.LINGER, 0)
        try:
            s.bind(ep)
            return s
        except zmq.ZMQError as exc:
            last = exc
            s.close(0)
            time.sleep(0.02)
    raise PeerError("cannot bind %s: %s" % (ep, last))


def cmd_notary(a):
    import zmq
    a._auth = load_private(read_file(a.auth_key), a.password)
    a._enc = load_private(read_file(a.enc_key), a.password)
    a._client_auth = load_public(read_file(a.client_auth_pub))
    a._client_enc = load_public(read_file(a.client_enc_pub))
    ctx = zmq.Context(1)
    sock = _bind_rep(ctx, check_endpoint(a.bind))
    # A `:*` port resolved: re-binds after a rejected request (the legacy habit) reuse it.
    a.bind = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
    announce_bound(a.bind)
    log("notary %s listening on %s (count=%d, timeout=%dms)" % (a.nym_id, a.bind, a.count, a.timeout_ms))
    rc = 0
    try:
        for n in range(1, a.count + 1):
            if not sock.poll(a.timeout_ms, zmq.POLLIN):
                log("timeout: no request within %d ms" % a.timeout_ms)
                rc = 1
                break
            frame = sock.recv()
            notes = frame_notes(frame)
            try:
                reply = notary_handle(frame, a)
            except Exception as exc:
                log("request %d/%d: REJECTED (%s: %s)%s; no reply, re-binding REP socket"
                    % (n, a.count, type(exc).__name__, exc, " notes: " + "; ".join(notes) if notes else ""))
                sock.close(0)
                sock = _bind_rep(ctx, a.bind)
                continue
            if not sock.poll(a.timeout_ms, zmq.POLLOUT):
                log("request %d/%d: cannot send reply" % (n, a.count))
                rc = 1
                break
            sock.send(reply)
            log("request %d/%d: OK, %d-byte frame in, %d-byte %s reply out%s"
                % (n, a.count, len(frame), len(reply), "MESSAGE" if a.plain_reply else "ENVELOPE",
                   " notes: " + "; ".join(notes) if notes else ""))
    finally:
        sock.close(0)
        ctx.term()
    return rc


def client_decode_reply(frame: bytes, enc_priv, notary_auth, my_nym_id: str = "") -> bytes:
    text = frame.decode("latin-1")
    if "-----BEGIN" not in text:
        raise PeerError("reply has no bookends (pre-0.83 notary?)")
    body = read_armor(text)
    if "ENVELOPE" in text:
        plain = open_env(dearmor_data(body), enc_priv, my_nym_id)  # "" entry: fallback rule
    elif "MESSAGE" in text:
        plain = dearmor_string(body)
    else:
        raise PeerError("reply is neither ENVELOPE nor MESSAGE armor")
    return verify_signed(plain, notary_auth, "MESSAGE")


def cmd_client(a):
    import zmq
    auth = load_private(read_file(a.auth_key), a.password)
    enc = load_private(read_file(a.enc_key), a.password)
    n_enc = load_public(read_file(a.notary_enc_pub))
    n_auth = load_public(read_file(a.notary_auth_pub))
    ep = check_endpoint(a.connect)
    content = make_content(a.message.encode(), legacy=not is_v3(auth))
    my_id = nym_id(auth.public_key())      # opener ID; the notary seals replies to "" (fallback rule)
    ctx = zmq.Context(1)
    sock = ctx.socket(zmq.REQ)             # one REQ socket for all requests, like OTSocket
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(ep)
        for i in range(a.repeat):
            signed = create_signed(content, "MESSAGE", auth)
            frame = armor_data(seal_any(signed, [(a.notary_nym_id, n_enc)])).encode()
            if not sock.poll(a.timeout_ms, zmq.POLLOUT):
                log("request %d: send timeout" % (i + 1))
                return 2
            sock.send(frame)
            if not sock.poll(a.timeout_ms, zmq.POLLIN):
                log("request %d: no reply within %d ms" % (i + 1, a.timeout_ms))
                return 2
            reply = sock.recv()
            try:
                out = client_decode_reply(reply, enc, n_auth, my_id)
            except BadSignature as exc:
                log("request %d: bad notary signature: %s" % (i + 1, exc))
                return 3
            except Exception as exc:
                log("request %d: bad reply: %s: %s" % (i + 1, type(exc).__name__, exc))
                return 4
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
            log("request %d/%d: verified reply (%d bytes)" % (i + 1, a.repeat, len(reply)))
    finally:
        sock.close(0)
        ctx.term()
    return 0


# ----------------------------------------------------------------------------------------------
# File-level commands
# ----------------------------------------------------------------------------------------------
def cmd_client_v2(a):
    """Transport v2 client (docs/wire-format.md, "Transport v2"): a DEALER with a fixed random
    routing id sends every request at once ("OTv2", "REQ", 8-byte id, legacy request frame) and
    matches the REP frames by id, in whatever order they come; late requests are re-sent with the
    same id."""
    import zmq
    auth = load_private(read_file(a.auth_key), a.password)
    enc = load_private(read_file(a.enc_key), a.password)
    n_enc = load_public(read_file(a.notary_enc_pub))
    n_auth = load_public(read_file(a.notary_auth_pub))
    ep = check_endpoint(a.connect)
    my_id = nym_id(auth.public_key())
    ctx = zmq.Context(1)
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTING_ID, b"O" + os.urandom(16))
    pending = {}
    try:
        sock.connect(ep)
        for i in range(a.repeat):
            content = make_content(("%s #%d" % (a.message, i + 1)).encode())
            signed = create_signed(content, "MESSAGE", auth)
            frame = armor_data(seal_v1(signed, [(a.notary_nym_id, n_enc)])).encode()
            rid = 1000 + i
            pending[rid] = (content, frame)
            sock.send_multipart([b"OTv2", b"REQ", struct.pack(">Q", rid), frame])
        deadline = time.monotonic() + a.timeout_ms / 1000.0
        resend_at = time.monotonic() + 2.0
        while pending:
            now = time.monotonic()
            if now >= deadline:
                log("v2: %d request(s) unanswered" % len(pending))
                return 2
            if now >= resend_at:
                for rid, (_, frame) in pending.items():
                    sock.send_multipart([b"OTv2", b"REQ", struct.pack(">Q", rid), frame])
                resend_at = now + 2.0
            if not sock.poll(200, zmq.POLLIN):
                continue
            msg = sock.recv_multipart()
            if len(msg) != 4 or msg[0] != b"OTv2" or msg[1] != b"REP" or len(msg[2]) != 8:
                log("v2: unexpected message %r" % [m[:16] for m in msg])
                return 4
            rid = struct.unpack(">Q", msg[2])[0]
            if rid not in pending:
                continue  # a late duplicate
            content, _ = pending.pop(rid)
            out = client_decode_reply(msg[3], enc, n_auth, my_id)
            sys.stdout.buffer.write(b"%d " % rid + out)
            sys.stdout.flush()
        log("v2: %d pipelined requests answered and verified" % a.repeat)
    finally:
        sock.close(0)
        ctx.term()
    return 0


def cmd_seal(a):
    recips = []
    for spec in a.to:
        nid, _, pem = spec.partition("=")
        recips.append((nid, load_public(read_file(pem))))
    arm = armor_data(seal_any(read_file(a.inp), recips))
    with open(a.out, "w") as f:
        f.write(bookend(arm, "ENVELOPE") if a.bookend else arm)
    return 0


def cmd_open(a):
    priv = load_private(read_file(a.key), a.password)
    env = dearmor_data(read_armor(read_file(a.inp).decode("latin-1")))
    sys.stdout.buffer.write(open_env(env, priv, a.nym_id))
    return 0


def cmd_sign(a):
    priv = load_private(read_file(a.key), a.password)
    data = read_file(a.inp)
    content = data if a.raw_content else make_content(data, legacy=not is_v3(priv))
    with open(a.out, "wb") as f:
        f.write(create_signed(content, a.type, priv, a.meta))
    return 0


def cmd_verify(a):
    try:
        content = verify_signed(read_file(a.inp), load_public(read_file(a.key), a.password))
    except (BadSignature, PeerError) as exc:
        log("INVALID: %s" % exc)
        return 1
    sys.stdout.buffer.write(content)
    return 0


def cmd_nymid(a):
    print(nym_id(load_public(read_file(a.key), a.password)))
    return 0


def cmd_samy(a):
    d = samy(read_file(a.inp))
    print(base62_encode(d) if a.base62 else d.hex())
    return 0


def cmd_sha256d(a):
    d = sha256d(read_file(a.inp))
    print(base62_encode(d) if a.base62 else d.hex())
    return 0


def cmd_selftest_v3(a):
    """RFC 9180 A.2.1 (base mode, sequence 0) for this file's HPKE composition."""
    import json
    t = json.load(open(a.vectors))
    h = lambda k: bytes.fromhex(t[k])
    e0 = t["encryptions"][0]
    sk_e = x25519.X25519PrivateKey.from_private_bytes(h("skEm"))
    sk_r = x25519.X25519PrivateKey.from_private_bytes(h("skRm"))
    aad, pt, ct = (bytes.fromhex(e0[k]) for k in ("aad", "pt", "ct"))
    enc, got = hpke_seal(sk_r.public_key(), h("info"), aad, pt, sk_e)
    ok = enc == h("enc") and got == ct and hpke_open(sk_r, enc, h("info"), aad, ct) == pt
    print("PASS  rfc9180 base x25519/sha256/chacha20poly1305" if ok else "FAIL  rfc9180")
    return 0 if ok else 1


def cmd_genkey(a):
    if a.alg == "ed25519":
        k = ed25519.Ed25519PrivateKey.generate()
    elif a.alg == "x25519":
        k = x25519.X25519PrivateKey.generate()
    else:
        k = rsa.generate_private_key(public_exponent=65537, key_size=a.bits)
    with open(a.out, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    if a.pub_out:
        with open(a.pub_out, "wb") as f:
            f.write(k.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    print(nym_id(k.public_key()))
    return 0


# ----------------------------------------------------------------------------------------------
# Self-test on the real legacy fixtures (tests/data/fixtures, fixtures/SOURCES.md)
# ----------------------------------------------------------------------------------------------
class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, fn):
        try:
            ok, detail = fn()
        except Exception as exc:
            ok, detail = False, "%s: %s" % (type(exc).__name__, exc)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print("%s  %s%s" % ("PASS" if ok else "FAIL", name, ("  (" + detail + ")") if detail else ""))
        sys.stdout.flush()


def _xml_armor(text: str, tag: str) -> str:
    m = re.search(r"<%s>\n(.*?)</%s>" % (tag, tag), text, re.S)
    if not m:
        raise PeerError("no <%s> element" % tag)
    return m.group(1)


def _info(text: str, elem: str, key: str) -> str:
    m = re.search(r'<%s key="%s">\n(.*?)</%s>' % (elem, key, elem), text, re.S)
    if not m:
        raise PeerError("no <%s key=%s>" % (elem, key))
    return m.group(1)


def _de_file(path) -> bytes:
    """A bookended string-path armored file -> its text."""
    return dearmor_string(read_armor(read_file(path).decode("latin-1")))


def master_key_from_wallet(path, passphrase=b"test") -> bytes:
    wallet = _de_file(path).decode("latin-1")
    blob = dearmor_data(_xml_armor(wallet, "cachedKey"))
    i = 0

    def take(fmt):
        nonlocal i
        v = struct.unpack_from(fmt, blob, i)
        i += struct.calcsize(fmt)
        return v

    def take_lv():
        nonlocal i
        (n,) = take(">I")
        if i + n > len(blob):
            raise PeerError("cachedKey field overruns")
        v = blob[i:i + n]
        i += n
        return v

    _gen, bits, iters = take(">HHI")
    salt, iv, enc_key, hash_check = take_lv(), take_lv(), take_lv(), take_lv()
    klen = bits // 8
    derived = hashlib.pbkdf2_hmac("sha1", passphrase, salt, iters, klen)
    if hashlib.pbkdf2_hmac("sha1", derived, salt, iters, len(hash_check)) != hash_check:
        raise PeerError("wallet passphrase hash-check mismatch")
    mk = _aes_cbc_decrypt(derived, iv, enc_key)
    if len(mk) != klen:
        raise PeerError("master key has %d bytes" % len(mk))
    return mk


def _fresh_roundtrips(c: Checker):
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=1024) for _ in range(3)]
    ids = [nym_id(k.public_key()) for k in keys]
    msg = b"<?xml version=\"1.0\"?>\n<test>hello \xc3\xa9</test>\n"

    c.check("armor data/string round trip + reader", lambda: (
        dearmor_data(read_armor(bookend(armor_data(b"\x00\x01" * 300), "DATA"))) == b"\x00\x01" * 300
        and dearmor_string(read_armor(bookend(armor_string(msg), "MESSAGE"))) == msg
        and armor_string(msg)[:3] == "eNr", ""))

    def seal_open():
        env = seal_v1(msg, [(ids[1], keys[1].public_key()), (ids[0], keys[0].public_key())])
        order = [e[0] for e in parse_v1(env)[0]]
        ok = (order == sorted(order) and open_v1(env, keys[0], ids[0]) == msg
              and open_v1(env, keys[1], ids[1]) == msg)
        try:
            open_v1(env, keys[2], ids[2])
            ok = False
        except PeerError:
            pass
        env2 = seal_v1(msg, [("", keys[2].public_key())])
        ok = ok and open_v1(env2, keys[2], "anything") == msg and open_v0(seal_v0(msg, keys[2].public_key()), keys[2]) == msg
        return ok, "2 recipients sorted, wrong ID refused, empty-ID fallback, v0"
    c.check("envelope seal/open round trips (fresh 1024-bit keys)", seal_open)

    def sign_verify():
        content = make_content(b"line one\n-----BEGIN FAKE-----\n\n<x/>")
        signed = create_signed(content, "MESSAGE", keys[0], "A" + ids[0][0] + "xy")
        ok = verify_signed(signed, keys[0].public_key(), "MESSAGE") == content
        p = parse_signed(signed)
        ok = ok and len(p["signatures"][0][1]) == 128 and p["signatures"][0][0] == "A" + ids[0][0] + "xy"
        bad = signed.replace(b"line one", b"line 0ne")
        try:
            verify_signed(bad, keys[0].public_key())
            ok = False
        except BadSignature:
            pass
        try:
            verify_signed(signed, keys[1].public_key())
            ok = False
        except BadSignature:
            pass
        return ok, "tamper and wrong key rejected"
    c.check("sign/verify round trip (PSS max salt, SAMY)", sign_verify)
    _line_limit_checks(c, keys[0])


def _line_limit_checks(c: Checker, key):
    """wire-format.md, Signed text: what sgets makes of lines around its 2047-character read, and
    what that does to signed text at 2045-2048 characters, LF and CRLF."""
    def split():
        a = "a" * 2045
        want = {
            a + "\nz": [a, "z"],
            a + "a\nz": [a + "a", "z"],                      # 2046: as written
            a + "aa\nz": [a + "aa", "", "z"],                # 2047: an extra empty line
            a + "aaa\nz": [a + "aa", "a", "z"],              # 2048: cut after 2047
            a + "\r\nz": [a + "\r", "z"],                   # CRLF: the '\r' is kept and counts
            a + "a\r\nz": [a + "a\r", "", "z"],
            "z\n" + a + "aa": ["z", a + "aa"],              # last line: no newline left to read
            "b" * 4094 + "\nz": ["b" * 2047, "b" * 2047, "", "z"],
        }
        for text, lines in want.items():
            got = list(sgets_lines(text))
            if got != lines:
                return False, "%r... -> %r" % (text[-8:], [x[-4:] for x in got])
        return True, "2045/2046 kept, 2047 + empty line, 2048 cut, CR counts, end of text"
    c.check("sgets line splitting at 2047 characters", split)

    def boundaries():
        pub, done = key.public_key(), []
        for eol, longest in ((b"\n", 2046), (b"\r\n", 2045)):
            for n in (2045, 2046, 2047, 2048):
                content = b"<a>\n" + b"m" * n + eol + b"</a>\n"
                try:
                    made = make_content(content) == content
                except PeerError:
                    made = False
                if made != (n <= longest):
                    return False, "make_content, %d + %r" % (n, eol)
                # Signed as written, as the legacy library signs (no line check).
                text = create_signed(content, "MESSAGE", key)
                parsed = parse_signed(text)["content"]
                try:
                    ok = verify_signed(text, pub) == content
                except BadSignature:
                    ok = False
                if ok != (n <= longest) or (parsed == content) != ok:
                    return False, "verify, %d + %r" % (n, eol)
                extra = b"<a>\n" + b"m" * n + eol + b"\n</a>\n"
                if n + len(eol) - 1 == SGETS_KEEP and parsed != extra:
                    return False, "no extra empty line after 2047 kept characters"
                done.append(n)
        return True, "%d cases: up to 2046 kept characters verify, longer lines do not" % len(done)
    c.check("signed text line boundaries 2045-2048, LF and CRLF", boundaries)


def _credential_checks(c: Checker, d13: str, d11: str):
    """credentials.md on the real files: the sample Nyms and every contract verify; a few
    tampered variants are refused by the rule they break."""
    dyeb, voeq = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n", "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk"
    server_contract = "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG"
    if not os.path.isdir(os.path.join(d13, "server_data", "pubcred")):
        return
    state = {}

    def nym(folder, who, wallet):
        mk = master_key_from_wallet(os.path.join(d13, wallet)) if wallet else None
        n = nym_verify_dir(os.path.join(d13, folder), who, mk)
        first = n["key_creds"][0]
        state[(folder, who)] = n
        return (n["nym_id"] == who and (first["private"] is not None) == bool(wallet),
                "master %s, key credential %s, %s" % (n["master"]["id"][:8], first["id"][:8],
                                                      "private keys unlocked" if wallet else "public"))
    c.check("2013 client Nym DYEB... from client_data/credentials + wallet master key",
            lambda: nym("client_data/credentials", dyeb, "client_data/wallet.xml"))
    c.check("2013 client Nym DYEB... from the notary's server_data/pubcred",
            lambda: nym("server_data/pubcred", dyeb, None))
    c.check("2013 notary Nym voeq... from server_data/credentials + notaryServer.xml master key",
            lambda: nym("server_data/credentials", voeq, "server_data/notaryServer.xml"))

    def contract(path, signer, endpoint):
        v = contract_verify(read_file(path))
        ok = v["signer"] == signer and v["endpoint"] == endpoint and v["id"] == os.path.basename(path)
        return ok, "signer %s, endpoint %s" % (v["signer"][:8], v["endpoint"])
    cdir = os.path.join(d13, "client_data", "contracts")
    for name in sorted(os.listdir(cdir)):
        notary = name == server_contract
        c.check("2013 contract %s... verifies through its signer's embedded credentials" % name[:8],
                lambda name=name, notary=notary: contract(
                    os.path.join(cdir, name), voeq if notary else dyeb, "tcp://localhost:7085" if notary else None))
    cdir11 = os.path.join(d11, "client_data", "contracts")
    signers11 = {"8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp": "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C",
                 "XBCTdnxYMLKaP6m1cSpvgViOFfdjoVCffbnZ7VIAEQz": "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C"}
    for name in sorted(os.listdir(cdir11)) if os.path.isdir(cdir11) else []:
        c.check("2011 contract %s... verifies with its contract key" % name[:8],
                lambda name=name: contract(os.path.join(cdir11, name),
                                           signers11.get(name, "T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV"),
                                           "tcp://localhost:7085" if name.startswith("8dlRJ") else None))

    def refused(rule, fn):
        try:
            fn()
        except RuleFailed as exc:
            return exc.rule == rule, str(exc)
        return False, "accepted"
    pub = os.path.join(d13, "server_data", "pubcred")
    lst = read_file(os.path.join(pub, dyeb + ".cred"))
    creds = [read_file(os.path.join(pub, dyeb, i)) for i in sorted(os.listdir(os.path.join(pub, dyeb)))]
    voeq_list = _doc(read_file(os.path.join(d13, "server_data", "credentials", voeq + ".cred"))).decode("latin-1")
    voeq_key = read_file(os.path.join(d13, "server_data", "credentials", voeq, "EvcfMaNJ3fiK4lUVhQNhHmX1Qc3mjlA6q0MS96JXNNO"))
    plain_list = _doc(lst).decode("latin-1")
    src = lambda x: _one(x, "nymIDSource")[1]  # noqa: E731
    c.check("tampered: the list's nymIDSource of another Nym -> NYMID",
            lambda: refused("NYMID", lambda: nym_verify(plain_list.replace(src(plain_list), src(voeq_list)).encode("latin-1"), creds)))
    c.check("tampered: another Nym's key credential given -> CRED_ID",
            lambda: refused("CRED_ID", lambda: nym_verify(lst, [creds[1], voeq_key])))
    c.check("tampered: a listed credential not given -> MISSING",
            lambda: refused("MISSING", lambda: nym_verify(lst, creds[:1])))
    text = _doc(read_file(os.path.join(cdir, server_contract)))
    c.check("tampered: the notary contract's port changed -> CONTRACT_SIG",
            lambda: refused("CONTRACT_SIG", lambda: contract_verify(text.replace(b'port="7085"', b'port="7086"'))))

    def resigned_by_client():
        n = state.get(("client_data/credentials", dyeb))
        if n is None:
            return False, "client Nym not loaded"
        s = n["key_creds"][0]["private"]["S"]
        p = parse_signed(text)
        forged = create_signed(p["content"], "CONTRACT", s, p["signatures"][0][0])
        return refused("CONTRACT_SIG", lambda: contract_verify(forged))
    c.check("tampered: the notary contract signed by the client's S key -> CONTRACT_SIG", resigned_by_client)


def cmd_selftest(a):
    c = Checker()
    fx = a.fixtures
    d13 = os.path.join(fx, "legacy-0.89-2013")
    d11 = os.path.join(fx, "legacy-0.72-2011")

    c.check("Whirlpool (%s) ISO vectors" % ("OpenSSL legacy provider" if _HAVE_OPENSSL_WHIRLPOOL else "pure Python"),
            lambda: (whirlpool(b"abc").hex().startswith("4e2448a4c6f486bb16b6562c73b4020b")
                     and whirlpool(b"").hex().startswith("19fa61d75522a4669b44e39c1d2e1726")
                     and whirlpool(b"message digest").hex().endswith("52838f3362e86dbd37a8903e"), ""))
    c.check("pure-Python Whirlpool matches", lambda: (
        all(whirlpool_pure(m) == whirlpool(m) for m in (b"", b"abc", b"\x00" * 31, bytes(range(256)) * 3)), ""))
    vec = os.path.join(fx, "..", "vectors", "hash-vectors.tsv")
    if os.path.exists(vec):
        def vectors():
            n = 0
            for line in open(vec):
                f = line.rstrip("\n").split("\t")
                if line.startswith("#") or len(f) < 5 or f[0] not in ("Whirlpool", "SHA-256"):
                    continue
                data = bytes.fromhex(f[2]) * int(f[3])
                got = whirlpool(data) if f[0] == "Whirlpool" else hashlib.sha256(data).digest()
                if got.hex() != f[4].lower():
                    return False, "mismatch: %s %s" % (f[0], f[1])
                n += 1
            return n > 0, "%d vectors from %s" % (n, os.path.normpath(vec))
        c.check("hash vectors file", vectors)
    c.check("SAMY('abc') base62", lambda: (samy_id(b"abc") == "vwcP2mhqOoT693w3V9kKXl5rsHe9FF50CcwpcHwgUPh", ""))
    c.check("base62 drops leading zero bytes", lambda: (
        base62_decode(base62_encode(b"\x00\x00" + bytes(range(1, 33)))) == bytes(range(1, 33))
        and base62_decode("ab") == b"" and base62_decode("a-c") == b"", ""))

    # 2013 contract IDs (trimmed de-armored text)
    cdir = os.path.join(d13, "client_data", "contracts")
    for name in sorted(os.listdir(cdir)) if os.path.isdir(cdir) else []:
        c.check("2013 contract ID %s... = base62(SAMY(trim(text)))" % name[:8],
                lambda name=name: ((lambda got: (got == name, "" if got == name else got))(
                    samy_id(_de_file(os.path.join(cdir, name)).strip(b" \t\f\v\n\r")))))

    # server S key from the server key credential; r1fUo signature
    srv = os.path.join(d13, "server_data", "credentials", "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk")

    def contract_sig():
        cred = _de_file(os.path.join(srv, "EvcfMaNJ3fiK4lUVhQNhHmX1Qc3mjlA6q0MS96JXNNO")).decode("latin-1")
        s_pub = parse_ot_public_key(dearmor_string(_info(cred, "publicInfo", "S")).decode("latin-1"))
        text = _de_file(os.path.join(cdir, "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG"))
        p = parse_signed(text)
        salt = key_bytes(s_pub) - 32 - 2
        return (verify_signed(text, s_pub, "CONTRACT") is not None,
                "type %s, %d sig(s), meta %s, 1024-bit S key, max salt %d" % (p["type"], len(p["signatures"]), p["signatures"][0][0], salt))
    c.check("2013 contract r1fUo... signature verifies with server S key", contract_sig)

    def nymid_from_source(credfile, want):
        t = _de_file(credfile).decode("latin-1")
        src = dearmor_string(_xml_armor(t, "nymIDSource"))
        return samy_id(src) == want, "source %d bytes" % len(src)
    c.check("2013 server NymID voeq... = SAMY(nymIDSource)",
            lambda: nymid_from_source(srv + ".cred", "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk"))
    c.check("2013 server NymID voeq... = nym_id(S key of master credential)", lambda: (
        nym_id(parse_ot_public_key(dearmor_string(_info(_de_file(os.path.join(srv, "UESzvzSw6zqC7BuvlcHmbPKTmf5BIbG0RNvCTpDx1kH")).decode("latin-1"), "publicInfo", "S")).decode("latin-1")))
        == "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk", ""))
    pub = os.path.join(d13, "server_data", "pubcred", "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n")
    for name in sorted(os.listdir(pub)) if os.path.isdir(pub) else []:
        c.check("2013 credential ID %s... = SAMY(untrimmed text)" % name[:8],
                lambda name=name: (samy_id(_de_file(os.path.join(pub, name))) == name, ""))

    # 2013 wallet master key -> private E key -> purse token (envelope v1)
    dyeb = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"

    def purse_open():
        mk = master_key_from_wallet(os.path.join(d13, "client_data", "wallet.xml"))
        kc = _de_file(os.path.join(d13, "client_data", "credentials", dyeb,
                                   "9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ")).decode("latin-1")
        e_priv = load_private(dearmor_string(_info(kc, "privateInfo", "E")), mk)
        pdir = os.path.join(d13, "client_data", "purse", "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG", dyeb)
        purse = _de_file(os.path.join(pdir, os.listdir(pdir)[0])).decode("latin-1")
        env = dearmor_data(_xml_armor(purse, "token"))
        plain = open_v1(env, e_priv, dyeb)
        ids = [e[0] for e in parse_v1(env)[0]]
        return (plain.startswith(b"-----BEGIN SIGNED CASH TOKEN-----") and len(plain) == 1444,
                "master key via PBKDF2-HMAC-SHA1; env %d B, ids %s, plaintext %d B + NUL" % (len(env), [i[:4] for i in ids], len(plain)))
    c.check("2013 wallet master key -> E key -> open purse token (v1)", purse_open)

    # 2011
    certs = os.path.join(d11, "client_data", "certs")
    t1q3 = "T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV"
    pc23 = "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C"
    keys11 = {}
    for name in sorted(os.listdir(certs)) if os.path.isdir(certs) else []:
        def nym11(name=name):
            k = load_private(read_file(os.path.join(certs, name)), b"test")
            keys11[name] = k
            got = nym_id(k.public_key())
            return got == name, got if got != name else ""
        c.check("2011 NymID %s... recomputed from its public key" % name[:8], nym11)

    def v0_open():
        t = read_file(os.path.join(d11, "client_data", "nyms", t1q3))
        verify_signed(t, keys11[t1q3].public_key(), "FILE")
        nymxml = dearmor_string(_xml_armor(t.decode("latin-1"), "filePayload")).decode("latin-1")
        msg = dearmor_string(_xml_armor(nymxml, "mailMessage"))
        verify_signed(msg, keys11[t1q3].public_key(), "MESSAGE")
        env = dearmor_data(_xml_armor(msg.decode("latin-1"), "messagePayload"))
        plain = open_v0(env, keys11[t1q3])
        return (plain.startswith(b"Subject:Just testing\nblah blah blah") and len(plain) == 156,
                "SIGNED FILE + inner SIGNED MESSAGE verified; v0 %d B -> %d B + NUL" % (len(env), len(plain)))
    c.check("2011 nym file: signatures + open v0 envelope (key pw 'test')", v0_open)

    cdir11 = os.path.join(d11, "client_data", "contracts")
    for name in sorted(os.listdir(cdir11)) if os.path.isdir(cdir11) else []:
        def c11(name=name):
            raw = read_file(os.path.join(cdir11, name))
            if samy_id(raw) != name:
                return False, "ID mismatch"
            signers = [n for n in (pc23, t1q3) if n in keys11 and
                       any(verify_raw(keys11[n].public_key(), parse_signed(raw)["content"], s)
                           for _, s in parse_signed(raw)["signatures"])]
            return bool(signers), "signed by %s" % ",".join(s[:6] for s in signers)
        c.check("2011 contract %s... ID (untrimmed) + signature" % name[:8], c11)

    _credential_checks(c, d13, d11)
    _fresh_roundtrips(c)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


# ----------------------------------------------------------------------------------------------
# Credentials, Nyms, contracts, wallets (credentials.md: the files, the rules, the order of the
# checks). Written from the repository's docs/credentials.md only.
# ----------------------------------------------------------------------------------------------
class RuleFailed(PeerError):
    """A verification rule of credentials.md failed; `rule` is its name."""

    def __init__(self, rule: str, detail: str):
        super().__init__("%s: %s" % (rule, detail))
        self.rule = rule


_ATTR_RE = re.compile(r'([A-Za-z_][\w.:-]*)\s*=\s*"([^"]*)"')
_B62 = re.compile(r"^[0-9A-Za-z]{1,64}$")


def _children(xml: str, tag: str):
    """[(attrs, inner)] of every <tag ...>inner</tag> and <tag .../> in xml, in order."""
    out = []
    for m in re.finditer(r"<%s(\s[^<>]*?)?(/>|>(.*?)</%s\s*>)" % (tag, tag), xml, re.S):
        out.append((dict(_ATTR_RE.findall(m.group(1) or "")), m.group(3) or ""))
    return out


def _one(xml: str, tag: str):
    found = _children(xml, tag)
    if len(found) != 1:
        raise PeerError("expected one <%s>, found %d" % (tag, len(found)))
    return found[0]


def _opt(xml: str, tag: str):
    found = _children(xml, tag)
    if len(found) > 1:
        raise PeerError("more than one <%s>" % tag)
    return found[0] if found else None


def _root(xml: str):
    """(name, attrs) of the first element after the prolog and comments."""
    s = re.sub(r"<\?.*?\?>|<!--.*?-->", "", xml, flags=re.S)
    m = re.search(r"<([A-Za-z_][\w.:-]*)([^<>]*)>", s)
    if not m:
        raise PeerError("no root element")
    return m.group(1), dict(_ATTR_RE.findall(m.group(2)))


def _s(b64: str) -> str:
    return dearmor_string(b64).decode("latin-1")


def _doc(raw: bytes) -> bytes:
    """A file that is OT string armor (bookended) or already the plain text."""
    if raw.lstrip().startswith((b"-----BEGIN OT ARMORED", b"- -----BEGIN OT ARMORED")):
        return dearmor_string(read_armor(raw.decode("latin-1")))
    return raw


def _escape(text: str) -> str:
    return "".join("- " + l if l.startswith("-") else l for l in text.splitlines(True))


def _spki(pub) -> bytes:
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _pubkey(text: str):
    k = parse_ot_public_key(text)
    if not isinstance(k, rsa.RSAPublicKey):
        raise PeerError("credential key is not RSA")
    return k


def _signed_by(text: bytes, pub) -> bool:
    try:
        verify_signed(text, pub)
        return True
    except BadSignature:
        return False


def _cred_parts(text: bytes) -> dict:
    """The elements of one signed credential text (credentials.md, The files)."""
    p = parse_signed(text)
    kinds = {"MASTER KEY CREDENTIAL": ("master", "masterCredential"), "KEY CREDENTIAL": ("key", "keyCredential")}
    if p["type"] not in kinds:
        raise PeerError("not a credential: SIGNED %s" % p["type"])
    kind, root_name = kinds[p["type"]]
    xml = p["content"].decode("latin-1")
    name, attrs = _root(xml)
    if name != root_name:
        raise PeerError("root <%s> in a %s credential" % (name, kind))
    # Only the root's own children matter: strip the root tags.
    body = xml[xml.index(">", xml.index("<" + root_name)) + 1:]

    def info(elem, tag):
        found = _opt(body, elem)
        if found is None:
            return None
        items = _children(found[1], tag)
        out = {a.get("key"): _s(inner) for a, inner in items}
        if len(items) != 3 or sorted(out) != ["A", "E", "S"]:
            raise PeerError("<%s> must hold A, E and S" % elem)
        return out

    def opt_text(tag):
        found = _opt(body, tag)
        return None if found is None else _s(found[1])

    for a in ("nymID",) + (("masterCredentialID",) if kind == "key" else ()):
        if not _B62.match(attrs.get(a, "")):
            raise PeerError("bad or missing %s" % a)
    parts = {
        "kind": kind, "text": text, "nym_id": attrs["nymID"], "master_id": attrs.get("masterCredentialID"),
        "source": _s(_one(body, "nymIDSource")[1]),
        "public_info": None, "private_info": None,
        "master_public": None, "master_signed": None, "public_credential": None,
    }
    # <masterSigned> is armored, so its nested elements never show here.
    parts["public_info"] = info("publicContents", "publicInfo")
    parts["private_info"] = info("privateContents", "privateInfo")
    for tag, key in (("masterPublic", "master_public"), ("masterSigned", "master_signed"),
                     ("publicCredential", "public_credential")):
        parts[key] = opt_text(tag)
    if (parts["public_credential"] is None) != (parts["private_info"] is None):
        raise PeerError("a private file has both <publicCredential> and <privateContents>")
    return parts


def cred_read(raw: bytes) -> dict:
    """A credential file (armored or plain, public or private) and its ID (CRED_ID: the ID of its
    public text, for a private file its <publicCredential>)."""
    text = _doc(raw)
    outer = _cred_parts(text)
    if outer["public_credential"] is not None:
        pub_text = outer["public_credential"].encode("latin-1")
        pub = _cred_parts(pub_text)
        if pub["public_credential"] is not None:
            raise PeerError("<publicCredential> is itself private")
    else:
        pub_text, pub = text, outer
    return {"id": samy_id(pub_text), "outer": outer, "pub": pub, "pub_text": pub_text}


def list_read(raw: bytes) -> dict:
    """A credential list, checked (credentials.md order, step 1: NYMID, LIST_STRUCT)."""
    xml = _doc(raw).decode("latin-1")
    name, attrs = _root(xml)
    if name != "OTuser" or not _B62.match(attrs.get("nymID", "")):
        raise PeerError("not a credential list")
    nym, source = attrs["nymID"], _s(_one(xml, "nymIDSource")[1])
    if samy_id(source.encode("latin-1")) != nym:
        raise RuleFailed("NYMID", "the list's nymIDSource does not hash to its nymID")
    masters = _children(xml, "masterCredential")
    if len(masters) != 1:
        raise RuleFailed("LIST_STRUCT", "%d master credentials" % len(masters))
    master = masters[0][0].get("ID", "")
    keys = []
    for a, _ in _children(xml, "keyCredential"):
        if a.get("masterID") != master:
            raise RuleFailed("LIST_STRUCT", "a key credential under another master")
        if a.get("ID") == master or a.get("ID") in keys:
            raise RuleFailed("LIST_STRUCT", "an ID listed twice")
        keys.append(a.get("ID", ""))
    if not keys:
        raise RuleFailed("LIST_STRUCT", "no key credential")
    for i in [master] + keys:
        if not _B62.match(i):
            raise PeerError("bad credential ID in the list")
    return {"nym_id": nym, "source": source, "master": master, "keys": keys}


def _cred_verify(c: dict, name: str, lst: dict, master, master_key=None) -> dict:
    """credentials.md order, step 3, for one credential; returns its public keys (and private
    ones when master_key unlocks them)."""
    p, o = c["pub"], c["outer"]
    if c["id"] != name:
        raise RuleFailed("CRED_ID", "the credential named %s is %s" % (name[:8], c["id"][:8]))
    want = "key" if master else "master"
    if p["kind"] != want:
        raise RuleFailed("LIST_STRUCT", "listed as %s, is %s" % (want, p["kind"]))
    if samy_id(p["source"].encode("latin-1")) != p["nym_id"]:
        raise RuleFailed("NYMID", "nymID is not the ID of its source")
    if p["nym_id"] != lst["nym_id"] or p["source"] != lst["source"]:
        raise RuleFailed("CONSISTENCY", "another Nym's credential")
    inner = None
    if not master:
        if p["public_info"] is None:
            raise PeerError("master without public keys")
        keys = {k: _pubkey(v) for k, v in p["public_info"].items()}
        if _escape(p["public_info"]["S"]) != p["source"]:
            raise RuleFailed("SOURCE", "the source is not the master's S key")
        if not _signed_by(p["text"], keys["S"]):
            raise RuleFailed("MASTER_SELFSIG", "not signed by its own S key")
    else:
        if p["master_id"] != master["id"]:
            raise RuleFailed("CONSISTENCY", "another master credential ID")
        if p["master_signed"] is None:
            raise RuleFailed("MASTER_SIG_MISSING", "no <masterSigned>")
        inner = _cred_parts(p["master_signed"].encode("latin-1"))
        if inner["kind"] != "key" or inner["public_credential"] is not None:
            raise PeerError("<masterSigned> is not a public key credential")
        if (inner["nym_id"], inner["source"], inner["master_id"]) != (p["nym_id"], p["source"], p["master_id"]):
            raise RuleFailed("CONSISTENCY", "<masterSigned> states another Nym or master")
        mp = inner["master_public"]
        if (mp is None or mp.encode("latin-1") != master["pub_text"] or samy_id(mp.encode("latin-1")) != p["master_id"]
                or (p["master_public"] is not None and p["master_public"] != mp)):
            raise RuleFailed("MASTER_LINK", "<masterPublic> is not the master's public text")
        if not _signed_by(inner["text"], master["keys"]["S"]):
            raise RuleFailed("MASTER_SIG", "<masterSigned> not signed by the master's S key")
        if inner["public_info"] is None:
            raise PeerError("<masterSigned> without public keys")
        keys = {k: _pubkey(v) for k, v in inner["public_info"].items()}
        if p["public_info"] is not None and p["public_info"] != inner["public_info"]:
            raise RuleFailed("CONSISTENCY", "outer keys differ from the master-signed ones")
        if not _signed_by(p["text"], keys["S"]):
            raise RuleFailed("KEY_SELFSIG", "not signed by its own S key")
    private = None
    if o is not p:
        signed_info = inner["public_info"] if inner else p["public_info"]
        same = (o["kind"] == p["kind"] and o["nym_id"] == p["nym_id"] and o["master_id"] == p["master_id"]
                and o["source"] == p["source"] and o["public_info"] == signed_info
                and o["master_signed"] == p["master_signed"]
                and (inner is None or o["master_public"] == inner["master_public"]))
        if not same or not _signed_by(o["text"], keys["S"]):
            raise RuleFailed("PRIVATE_OUTER", "the private file does not repeat its public part or is not self-signed")
        if master_key is not None:
            private = {}
            for k in "AES":
                try:
                    priv = load_private(o["private_info"][k].encode("latin-1"), master_key)
                except (ValueError, TypeError) as exc:
                    raise PeerError("private key %s does not unlock: %s" % (k, exc))
                if _spki(priv.public_key()) != _spki(keys[k]):
                    raise RuleFailed("PRIVATE_KEYS", "private key %s is not the half of public key %s" % (k, k))
                private[k] = priv
    return {"id": c["id"], "pub_text": c["pub_text"], "keys": keys, "private": private}


def nym_verify(list_raw: bytes, creds: list, master_key=None, named=None) -> dict:
    """credentials.md order, steps 1-3. `creds`: credential file contents in any order; with
    `named` (a folder), [(file name, content)] in list order instead."""
    lst = list_read(list_raw)
    listed = [lst["master"]] + lst["keys"]
    if named is None:
        read = [cred_read(r) for r in creds]
        ids = [r["id"] for r in read]
        for r in read:
            if r["id"] not in listed:
                raise RuleFailed("CRED_ID", "credential %s is not listed" % r["id"][:8])
        if len(set(ids)) != len(ids):
            raise PeerError("a credential given twice")
        by_id = {r["id"]: r for r in read}
        for i in listed:
            if i not in by_id:
                raise RuleFailed("MISSING", "credential %s not given" % i[:8])
        named = [(i, by_id[i]) for i in listed]
    master = _cred_verify(named[0][1], named[0][0], lst, None, master_key)
    key_creds = [_cred_verify(c, n, lst, master, master_key) for n, c in named[1:]]
    return {"nym_id": lst["nym_id"], "master": master, "key_creds": key_creds}


def nym_verify_dir(folder: str, nym: str, master_key=None) -> dict:
    if not _B62.match(nym):
        raise PeerError("bad NymID")
    list_raw = read_file(os.path.join(folder, nym + ".cred"))
    lst = list_read(list_raw)
    if lst["nym_id"] != nym:
        raise RuleFailed("CONSISTENCY", "the folder's list is another Nym's")
    named = []
    for i in [lst["master"]] + lst["keys"]:
        path = os.path.join(folder, nym, i)
        if not os.path.exists(path):
            raise RuleFailed("MISSING", "no file %s" % i[:8])
        named.append((i, cred_read(read_file(path))))
    return nym_verify(list_raw, [], master_key, named)


def _map_entries(b64: str) -> list:
    """<credentials>: data armor of a protobuf map, repeated field 1 = {1: ID, 2: text}."""
    raw = dearmor_data(b64)
    out, i = [], 0
    while i < len(raw):
        key, i = _varint(raw, i)
        if key != 0x0A:
            raise PeerError("<credentials> is not a map")
        n, i = _varint(raw, i)
        entry, i = raw[i:i + n], i + n
        fields, j = {}, 0
        while j < len(entry):
            k, j = _varint(entry, j)
            if k & 7 != 2:
                raise PeerError("unexpected map field")
            m, j = _varint(entry, j)
            fields[k >> 3] = entry[j:j + m]
            j += m
        if 1 not in fields or 2 not in fields:
            raise PeerError("map entry without ID or text")
        out.append((fields[1].decode("latin-1"), fields[2]))
        if len(out) > 64:
            raise PeerError("too many credentials")
    return out


def contract_verify(raw: bytes) -> dict:
    """credentials.md, Contracts and order step 4."""
    armored = raw.lstrip().startswith(b"-----BEGIN OT ARMORED")
    text = _doc(raw)
    p = parse_signed(text)
    if p["type"] != "CONTRACT":
        raise PeerError("not a SIGNED CONTRACT")
    xml = p["content"].decode("latin-1")
    signers = _children(xml, "signer")
    trimmed = samy_id(text.strip(b" \t\f\v\n\r"))
    if signers:
        if len(signers) != 1 or signers[0][0].get("hasCredentials") != "true":
            raise PeerError("one credential signer expected")
        attrs, body = signers[0]
        nym, source = attrs.get("nymID", ""), _s(_one(body, "nymIDSource")[1])
        if samy_id(source.encode("latin-1")) != nym:
            raise RuleFailed("NYMID", "the signer's source does not hash to its nymID")
        list_text = dearmor_string(_one(body, "credentialList")[1])
        lst = list_read(list_text)
        if lst["nym_id"] != nym or lst["source"] != source:
            raise RuleFailed("CONSISTENCY", "signer and list differ")
        values = []
        for cid, value in _map_entries(_one(body, "credentials")[1]):
            c = cred_read(value)
            if c["id"] != cid:
                raise RuleFailed("CRED_ID", "map key %s holds %s" % (cid[:8], c["id"][:8]))
            values.append(value)
        n = nym_verify(list_text, values)
        if not any(_signed_by(text, k["keys"]["S"]) for k in n["key_creds"]):
            raise RuleFailed("CONTRACT_SIG", "not signed by a key credential's S key")
        era, cid, signer, keys = 2013, trimmed, nym, n["key_creds"][0]["keys"]
    else:
        found = [(a, inner) for a, inner in _children(xml, "key") if a.get("name") == "contract"]
        if len(found) != 1:
            raise PeerError("no signer: neither <signer> nor one <key name=\"contract\">")
        block = "".join(l[2:] if l.startswith("- -") else l for l in found[0][1].splitlines(True))
        # A certificate, or an OT public-key block (data armor of an SPKI PEM inside
        # PUBLIC KEY bookends).
        key = parse_ot_public_key(block) if "BEGIN PUBLIC KEY" in block else load_public(block.encode("latin-1"))
        if not _signed_by(text, key):
            raise RuleFailed("CONTRACT_SIG", "not signed by its contract key")
        era, cid, signer = 2011, trimmed if armored else samy_id(raw), nym_id(key)
        keys = {"A": key, "E": key, "S": key}
    endpoint = None
    ns = _opt(xml, "notaryServer")
    if ns is not None:
        host, port = ns[0].get("hostname", ""), ns[0].get("port", "")
        if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$", host):
            raise RuleFailed("NOTARY", "bad hostname")
        if not re.match(r"^[0-9]{1,5}$", port) or not 0 < int(port) < 65536:
            raise RuleFailed("NOTARY", "bad port")
        endpoint = "tcp://%s:%s" % (host, port)
    return {"era": era, "id": cid, "signer": signer, "keys": keys, "endpoint": endpoint}


def _verdict(fn) -> int:
    """Runs a verification and prints its verdict as JSON: 0 verified, 1 a rule failed,
    2 unreadable input."""
    import json
    try:
        out = fn()
    except RuleFailed as exc:
        print(json.dumps({"ok": False, "rule": exc.rule, "detail": str(exc)}))
        return 1
    except (PeerError, ValueError, KeyError, IndexError, UnicodeError) as exc:
        print(json.dumps({"ok": False, "rule": None, "detail": "%s: %s" % (type(exc).__name__, exc)}))
        return 2
    print(json.dumps(dict(out, ok=True), sort_keys=True))
    return 0


def _key_ids(keys: dict) -> dict:
    return {k: nym_id(v) for k, v in keys.items()}


def cmd_nym(a):
    mk = master_key_from_wallet(a.wallet, a.wallet_password.encode()) if a.wallet else None

    def run():
        if a.dir:
            n = nym_verify_dir(a.dir, a.nym_id, mk)
        else:
            n = nym_verify(read_file(a.list), [read_file(f) for f in a.cred], mk)
        first = n["key_creds"][0]
        return {"nym_id": n["nym_id"], "master": n["master"]["id"], "keys": _key_ids(first["keys"]),
                "private": first["private"] is not None}
    return _verdict(run)


def cmd_batch(a):
    """Runs every command line of a JSON manifest (a list of argument lists, e.g. ["nym", "--dir",
    ...]) in this one process; prints a JSON list of their verdicts (credential commands)."""
    import contextlib
    import io
    import json
    verdicts = []
    for argv in json.loads(read_file(a.manifest)):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(argv)
        out = buf.getvalue().strip()
        verdicts.append(json.loads(out) if out else {"ok": False, "rule": None, "detail": "exit %s" % code})
    print(json.dumps(verdicts))
    return 0


def cmd_contract(a):
    def run():
        c = contract_verify(read_file(a.inp))
        return {"era": c["era"], "id": c["id"], "signer": c["signer"], "endpoint": c["endpoint"],
                "keys": _key_ids(c["keys"])}
    return _verdict(run)


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description="Independent legacy Open-Transactions reference peer")
    ap.add_argument("--password", default=None, help="passphrase for encrypted private key PEMs")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("notary", help="legacy notary: ZMQ REP, open+verify request, sign+seal reply")
    p.add_argument("--bind", required=True)
    p.add_argument("--auth-key", required=True)
    p.add_argument("--enc-key", required=True)
    p.add_argument("--nym-id", required=True)
    p.add_argument("--client-auth-pub", required=True)
    p.add_argument("--client-enc-pub", required=True)
    p.add_argument("--plain-reply", action="store_true")
    p.add_argument("--lenient", action="store_true", help="also accept bookended request frames")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout-ms", type=int, default=30000)

    p = sub.add_parser("client", help="legacy client: ZMQ REQ, sign+seal request, open+verify reply")
    p.add_argument("--connect", required=True)
    p.add_argument("--auth-key", required=True)
    p.add_argument("--enc-key", required=True)
    p.add_argument("--notary-nym-id", required=True)
    p.add_argument("--notary-enc-pub", required=True)
    p.add_argument("--notary-auth-pub", required=True)
    p.add_argument("--message", required=True)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--timeout-ms", type=int, default=5000)

    p = sub.add_parser("client-v2", help="transport v2 client: DEALER, pipelined requests")
    p.add_argument("--connect", required=True)
    p.add_argument("--auth-key", required=True)
    p.add_argument("--enc-key", required=True)
    p.add_argument("--notary-nym-id", required=True)
    p.add_argument("--notary-enc-pub", required=True)
    p.add_argument("--notary-auth-pub", required=True)
    p.add_argument("--message", required=True)
    p.add_argument("--repeat", type=int, default=8)
    p.add_argument("--timeout-ms", type=int, default=30000)

    p = sub.add_parser("seal")
    p.add_argument("--to", action="append", required=True, help="NYMID=PUBPEM (empty NYMID allowed)")
    p.add_argument("--in", dest="inp", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--bookend", action="store_true", help="write OT ARMORED ENVELOPE bookends")
    p = sub.add_parser("open")
    p.add_argument("--key", required=True)
    p.add_argument("--nym-id", default=None, help="type 1: default \"\"; type 3: default try every entry")
    p.add_argument("--in", dest="inp", required=True)
    p = sub.add_parser("sign")
    p.add_argument("--key", required=True)
    p.add_argument("--type", default="MESSAGE")
    p.add_argument("--meta", default=None, help="4-char KNMS Meta value")
    p.add_argument("--raw-content", action="store_true", help="input is already escaped content lines")
    p.add_argument("--in", dest="inp", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("verify")
    p.add_argument("--key", required=True)
    p.add_argument("--in", dest="inp", required=True)
    p = sub.add_parser("nymid")
    p.add_argument("--key", required=True)
    p = sub.add_parser("samy")
    p.add_argument("--in", dest="inp", required=True)
    p.add_argument("--base62", action="store_true")
    p = sub.add_parser("sha256d")
    p.add_argument("--in", dest="inp", required=True)
    p.add_argument("--base62", action="store_true")
    p = sub.add_parser("selftest-v3", help="check the HPKE composition against RFC 9180 vectors")
    p.add_argument("--vectors", required=True, help="RFC 9180 JSON entry (tests/data/vectors/rfc)")
    p = sub.add_parser("genkey")
    p.add_argument("--bits", type=int, default=1024)
    p.add_argument("--alg", choices=["rsa", "ed25519", "x25519"], default="rsa")
    p.add_argument("--out", required=True)
    p.add_argument("--pub-out", default=None)
    p = sub.add_parser("nym", help="load and verify a 2013 Nym (credentials.md); prints a JSON verdict")
    p.add_argument("--list", help="the <NymID>.cred credential list")
    p.add_argument("--cred", action="append", default=[], help="a credential file (any order)")
    p.add_argument("--dir", help="a credentials folder (<dir>/<NymID>.cred, <dir>/<NymID>/<ID>)")
    p.add_argument("--nym-id", help="with --dir: the Nym to load")
    p.add_argument("--wallet", help="wallet.xml / notaryServer.xml whose master key unlocks private keys")
    p.add_argument("--wallet-password", default="test")
    p = sub.add_parser("contract", help="load and verify a signed contract (credentials.md); JSON verdict")
    p.add_argument("--in", dest="inp", required=True)
    p = sub.add_parser("batch", help="run the command lines of a JSON manifest; print their JSON verdicts")
    p.add_argument("--manifest", required=True)
    p = sub.add_parser("selftest")
    p.add_argument("--fixtures", default=DEFAULT_FIXTURES,
                   help="legacy fixtures folder (default: the repository's tests/data/fixtures)")

    a = ap.parse_args(argv)
    handlers = {"notary": cmd_notary, "client": cmd_client, "client-v2": cmd_client_v2, "seal": cmd_seal, "open": cmd_open,
                "sign": cmd_sign, "verify": cmd_verify, "nymid": cmd_nymid, "samy": cmd_samy,
                "genkey": cmd_genkey, "selftest": cmd_selftest,
                "sha256d": cmd_sha256d, "selftest-v3": cmd_selftest_v3,
                "nym": cmd_nym, "contract": cmd_contract, "batch": cmd_batch}
    try:
        return handlers[a.cmd](a)
    except PeerError as exc:
        log("error: %s" % exc)
        return 4


if __name__ == "__main__":
    sys.exit(main())
