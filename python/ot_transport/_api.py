"""The Pythonic API over the C ABI. Every C call goes through ``_lib`` (declared in ``_ffi``)."""

from __future__ import annotations

import ctypes
import enum
import threading
import time
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

from . import _ffi
from ._errors import (
    DecryptFailedError,
    InternalError,
    InvalidArgumentError,
    MalformedError,
    NoMatchingRecipientError,
    OtError,
    StateError,
    TimeoutError,
    error_for,
)

if TYPE_CHECKING:
    from ._credentials import Contract, Nym

_lib = _ffi.load()

#: Bytes-like input: ``bytes``, ``bytearray``, ``memoryview``, or ``str`` (encoded as UTF-8).
BytesLike = Union[bytes, bytearray, memoryview, str]

SAMY_LEN = 32
SHA256_LEN = 32
WHIRLPOOL_LEN = 64
_FOREVER = 0xFFFFFFFF

def _names_from(fn: Callable[[int], Optional[bytes]]) -> Tuple[str, ...]:
    """Every name a C ``*_name(index)`` enumerator gives, in order (NULL ends the list)."""
    out: List[str] = []
    while True:
        n = fn(len(out))
        if n is None:
            return tuple(out)
        out.append(n.decode("ascii"))


#: Option names ``SessionOptions`` accepts (the latency names are legacy OT's), as the library
#: lists them (``ot_session_option_name``): a new option needs no change here.
OPTION_NAMES: Tuple[str, ...] = _names_from(_lib.ot_session_option_name)


class Protocol(enum.IntEnum):
    """``ot_protocol`` (``Session.protocol``) and the values of the session option ``protocol``."""

    LEGACY = 0  #: lock-step REQ, exactly as a legacy client (OT_PROTOCOL_LEGACY)
    V2 = 1  #: transport v2: pipelining, pushes, heartbeats (OT_PROTOCOL_V2)
    AUTO = 2  #: option value only: probe the notary on first use


class Push(NamedTuple):
    """A push from the notary (``Session.next_push``): its sequence number in its stream (from 1),
    how many pushes of that stream were lost just before it (``MISSED_UNKNOWN`` when the notary
    restarted), the content, and the stream (the NymID the subscription registered)."""

    seq: int
    missed: int
    content: bytes
    stream: str = ""


#: ``Push.missed`` when the sequence restarted (the notary restarted; the count lost is unknown).
MISSED_UNKNOWN = 0xFFFFFFFFFFFFFFFF


class SessionStats(NamedTuple):
    """A session's counters (``ot_session_stats``)."""

    replies: int
    resends: int
    sockets_created: int
    timeouts: int


class NotaryStats(NamedTuple):
    """A notary's counters (``ot_notary_stats``)."""

    requests: int
    replies: int
    rejected: int
    rebinds: int
    duplicates: int
    pushes: int
    dropped_routes: int


class BrokerStats(NamedTuple):
    """A broker's counters (``ot_broker_stats``; ``workers`` = live workers now)."""

    requests: int
    replies: int
    pushes: int
    dropped: int
    unroutable: int
    workers: int
    dead_workers: int


def _stats(fn: Callable[..., int], handle: int, struct: "type[ctypes.Structure]", tuple_type: type) -> object:
    st = struct()
    _check(fn(handle, ctypes.byref(st)))
    return tuple_type(*(getattr(st, f[0]) for f in st._fields_))


def _counter(fn: Callable[..., int], handle: int, name: str) -> int:
    v = ctypes.c_uint64()
    _check(fn(handle, name.encode("utf-8"), ctypes.byref(v)))
    return int(v.value)


def _counter_names(fn: Callable[[int], Optional[bytes]]) -> "list[str]":
    return list(_names_from(fn))


def _ms(timeout: Optional[float]) -> int:
    """Seconds (None: forever) -> the C API's uint32 milliseconds (UINT32_MAX: forever)."""
    return _FOREVER if timeout is None else max(0, min(int(timeout * 1000), _FOREVER - 1))


class ArmorKind(enum.IntEnum):
    """Armor path: ``DATA`` (binary: envelopes, keys) or ``STRING`` (text, zlib-compressed)."""

    DATA = 0
    STRING = 1


class KeyFormat(enum.IntEnum):
    """Export formats (``OT_KEY_FORMAT_*``)."""

    SPKI_PEM = 0
    OT_PUBLIC = 1
    OT_PUBLIC_UNESCAPED = 2
    PKCS8_ENCRYPTED = 3
    PKCS8_ENCRYPTED_LEGACY = 4
    PKCS8_PLAIN = 5


# ---- helpers ------------------------------------------------------------------------------------


def _b(data: BytesLike, what: str = "data") -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what}: expected bytes, bytearray, memoryview or str, got {type(data).__name__}")


def _opt_b(data: Optional[BytesLike], what: str) -> Optional[bytes]:
    return None if data is None else _b(data, what)


def _s(text: Optional[Union[str, bytes]], what: str) -> Optional[bytes]:
    """NUL-terminated text argument. A NUL inside would silently cut it, so it is refused."""
    if text is None:
        return None
    raw = text.encode("utf-8") if isinstance(text, str) else _b(text, what)
    if b"\0" in raw:
        raise ValueError(f"{what}: text contains a NUL character")
    return raw


def last_error() -> str:
    """``ot_last_error()``: detail of the calling thread's last failed call."""
    return (_lib.ot_last_error() or b"").decode("utf-8", "replace")


def result_str(code: int) -> str:
    """``ot_result_str()``: static English text of a result code."""
    return (_lib.ot_result_str(code) or b"").decode("utf-8", "replace")


def _check(rc: int) -> None:
    if rc != 0:
        raise error_for(rc, last_error(), result_str(rc))


def _take(buf: ctypes.c_void_p) -> bytes:
    """Copies an ``ot_buffer`` into Python bytes and frees it (the library zeroes it)."""
    try:
        n = _lib.ot_buffer_len(buf)
        ptr = _lib.ot_buffer_data(buf)
        return ctypes.string_at(ptr, n) if n else b""
    finally:
        _lib.ot_buffer_free(buf)


def _call_buf(fn: Callable[..., int], *args: object) -> bytes:
    """Calls ``fn(*args, &buffer)`` and returns the buffer's bytes."""
    out = ctypes.c_void_p()
    _check(fn(*args, ctypes.byref(out)))
    return _take(out)


def _call_text(fn: Callable[..., int], *args: object) -> str:
    return _call_buf(fn, *args).decode("utf-8")


def _call_handle(fn: Callable[..., int], *args: object) -> int:
    out = ctypes.c_void_p()
    _check(fn(*args, ctypes.byref(out)))
    if not out.value:
        raise InternalError("the library reported success but returned no object")
    return out.value


def version() -> str:
    """Library version text (``ot_version()``)."""
    return str(_lib.ot_version().decode())


def zmq_version() -> Tuple[int, int, int]:
    """The libzmq version the library runs with."""
    v = [ctypes.c_int32() for _ in range(3)]
    _lib.ot_zmq_version(*(ctypes.byref(x) for x in v))
    return (v[0].value, v[1].value, v[2].value)


def library_path() -> str:
    """The file the shared library was loaded from (as given to the loader)."""
    return str(_lib._name)


# ---- handles ------------------------------------------------------------------------------------


_H = TypeVar("_H", bound="_Handle")


class _Handle:
    """Owner of one library handle: freed by ``close()``, by leaving a ``with`` block, or when the
    object is garbage-collected (also safe during interpreter shutdown)."""

    _free_name = ""
    __slots__ = ("_h", "_free", "__weakref__")

    def __init__(self, handle: int) -> None:
        self._h: Optional[int] = handle
        # Kept on the instance so that __del__ needs no module globals at interpreter shutdown.
        self._free = getattr(_lib, self._free_name)

    @property
    def handle(self) -> int:
        """The raw handle value, for calling the C functions in ``ot_transport.lib`` directly."""
        if self._h is None:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._h

    @property
    def closed(self) -> bool:
        return self._h is None

    def close(self) -> None:
        """Frees the handle now (the library zeroes private material). Idempotent."""
        h, self._h = getattr(self, "_h", None), None
        if h is not None:
            self._free(h)

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - nothing may escape a finalizer
            pass


class Algorithm(enum.IntEnum):
    """A key's algorithm (``OT_KEY_ALGORITHM_*``)."""

    NONE = 0
    RSA = 1
    ED25519 = 2
    X25519 = 3


class Key(_Handle):
    """A key, public or private (``ot_key``): RSA (legacy suite), Ed25519 or X25519 (suite v3).
    Immutable: safe to share between threads. ``Key(handle)`` adopts a raw handle (as do the
    other handle classes)."""

    _free_name = "ot_key_free"
    __slots__ = ("_nym",)

    def __init__(self, handle: int) -> None:
        super().__init__(handle)
        self._nym: Optional[str] = None

    @classmethod
    def generate(cls, bits: int = 2048) -> "Key":
        """A new RSA key (exponent 65537); ``bits`` a multiple of 8 in 1024..8192."""
        return cls(_call_handle(_lib.ot_key_generate, bits))

    @classmethod
    def generate_ed25519(cls) -> "Key":
        """A new Ed25519 key (suite v3: signs ``Hash: SHA256D`` texts; roles A and S)."""
        return cls(_call_handle(_lib.ot_key_generate_ed25519))

    @classmethod
    def generate_x25519(cls) -> "Key":
        """A new X25519 key (suite v3: opens type-3 envelopes; role E)."""
        return cls(_call_handle(_lib.ot_key_generate_x25519))

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm(int(_lib.ot_key_algorithm(self.handle)))

    @classmethod
    def load(cls, data: BytesLike, passphrase: Optional[BytesLike] = None) -> "Key":
        """Loads a key in any format legacy OT wrote (format detected). ``passphrase`` (bytes, any
        value, e.g. a 16-byte wallet master key; or str) is needed only for encrypted keys."""
        raw = _b(data)
        pw = _opt_b(passphrase, "passphrase")
        return cls(
            _call_handle(_lib.ot_key_load, raw, len(raw), pw, 0 if pw is None else len(pw))
        )

    def export(self, fmt: KeyFormat = KeyFormat.SPKI_PEM, passphrase: Optional[BytesLike] = None) -> bytes:
        """The key as text in ``fmt``; encrypted formats need a passphrase."""
        pw = _opt_b(passphrase, "passphrase")
        return _call_buf(
            _lib.ot_key_export, self.handle, int(fmt), pw, 0 if pw is None else len(pw)
        )

    def public(self) -> "Key":
        """A new public-only key with the same public part."""
        return Key(_call_handle(_lib.ot_key_public, self.handle))

    @property
    def is_private(self) -> bool:
        return bool(_lib.ot_key_is_private(self.handle) == 1)

    @property
    def bits(self) -> int:
        return int(_lib.ot_key_bits(self.handle))

    @property
    def nym_id(self) -> str:
        """base62(SAMY(escaped OT public-key block)): the NymID of 2011-era Nyms."""
        if self._nym is None:
            self._nym = _call_text(_lib.ot_key_nym_id, self.handle)
        return self._nym

    def __repr__(self) -> str:
        if self.closed:
            return "<ot_transport.Key closed>"
        kind = "private" if self.is_private else "public"
        alg = self.algorithm
        name = f"RSA-{self.bits}" if alg == Algorithm.RSA else alg.name
        return f"<ot_transport.Key {kind} {name} {self.nym_id}>"


#: A recipient for ``seal``: a ``Key`` (its own NymID), or a ``(nym_id, key)`` pair.
RecipientSpec = Union[Key, Tuple[str, Key]]


def _recipients(recipients: Union[RecipientSpec, Iterable[RecipientSpec]]) -> Tuple[ctypes.Array, int]:
    """The C recipient array of a seal: a ``Key`` (its own NymID is written in the envelope) or a
    ``(nym_id, key)`` pair (``""``: key-only)."""
    if isinstance(recipients, (Key, tuple)):
        recipients = [recipients]
    pairs: List[Tuple[bytes, Key]] = []
    for r in recipients:
        if isinstance(r, Key):
            pairs.append((_s(r.nym_id, "nym_id") or b"", r))
        else:
            nym_text, rkey = r
            if not isinstance(rkey, Key):
                raise TypeError("recipient key must be an ot_transport.Key")
            pairs.append((_s(nym_text, "nym_id") or b"", rkey))
    arr = (_ffi.Recipient * max(len(pairs), 1))()
    for i, (nym, key) in enumerate(pairs):
        arr[i].nym_id = nym
        arr[i].key = key.handle
    return arr, len(pairs)


class Envelope(_Handle):
    """A sealed envelope (v1, v0 or symmetric). Immutable: safe to share between threads."""

    _free_name = "ot_envelope_free"
    __slots__ = ()

    @classmethod
    def seal(cls, recipients: Union[RecipientSpec, Iterable[RecipientSpec]], data: BytesLike) -> "Envelope":
        """Seals ``data`` (no NUL bytes) to one or more recipients: a ``Key`` (its own NymID is
        written in the envelope) or a ``(nym_id, key)`` pair (``""``: key-only, as notaries seal
        replies)."""
        arr, n = _recipients(recipients)
        raw = _b(data)
        return cls(_call_handle(_lib.ot_envelope_seal, arr, n, raw, len(raw)))

    @staticmethod
    def seal_to_bytes(recipients: Union[RecipientSpec, Iterable[RecipientSpec]], data: BytesLike) -> bytes:
        """``seal(...).to_bytes()`` in one step, without the envelope object or a copy."""
        arr, n = _recipients(recipients)
        raw = _b(data)
        return _call_buf(_lib.ot_envelope_seal_to_bytes, arr, n, raw, len(raw))

    @staticmethod
    def seal_to_armor(
        recipients: Union[RecipientSpec, Iterable[RecipientSpec]], data: BytesLike, bookends: bool = True
    ) -> bytes:
        """``seal(...).to_armor(bookends)`` in one step."""
        arr, n = _recipients(recipients)
        raw = _b(data)
        return _call_buf(_lib.ot_envelope_seal_to_armor, arr, n, raw, len(raw), 1 if bookends else 0)

    @staticmethod
    def open_bytes(data: BytesLike, key: "Key", nym_id: Optional[str] = None) -> bytes:
        """``from_bytes(data).open(key, nym_id)`` in one step, the ciphertext read in place."""
        raw = _b(data)
        return _call_buf(_lib.ot_envelope_open_bytes, raw, len(raw), _s(nym_id, "nym_id"), key.handle)

    @staticmethod
    def open_armor(text: BytesLike, key: "Key", nym_id: Optional[str] = None) -> bytes:
        """``from_armor(text).open(key, nym_id)`` in one step."""
        raw = _b(text)
        return _call_buf(_lib.ot_envelope_open_armor, raw, len(raw), _s(nym_id, "nym_id"), key.handle)

    @classmethod
    def from_bytes(cls, data: BytesLike) -> "Envelope":
        raw = _b(data)
        return cls(_call_handle(_lib.ot_envelope_parse, raw, len(raw)))

    @classmethod
    def from_armor(cls, text: BytesLike) -> "Envelope":
        """Parses armor: bare, or bookended as ``OT ARMORED ENVELOPE``."""
        raw = _b(text)
        return cls(_call_handle(_lib.ot_envelope_from_armor, raw, len(raw)))

    @classmethod
    def encrypt_symmetric(cls, raw_key: BytesLike, data: BytesLike) -> "Envelope":
        """A symmetric (type 2) envelope under a raw 16-byte AES key (see ``symkey_unlock``)."""
        k, raw = _b(raw_key, "raw_key"), _b(data)
        return cls(_call_handle(_lib.ot_envelope_encrypt_symmetric, k, len(k), raw, len(raw)))

    @property
    def type(self) -> int:
        """The envelope's type field: 0 (2011 v0), 1 (legacy v1), 2 (symmetric), 3 (suite v3)."""
        t = ctypes.c_int32(0)
        _check(_lib.ot_envelope_type(self.handle, ctypes.byref(t)))
        return int(t.value)

    def to_bytes(self) -> bytes:
        return _call_buf(_lib.ot_envelope_to_bytes, self.handle)

    def to_armor(self, bookends: bool = True) -> bytes:
        """Armor text: bookended ``-----BEGIN OT ARMORED ENVELOPE-----`` by default, bare (what a
        client sends as its request frame) with ``bookends=False``."""
        return _call_buf(_lib.ot_envelope_to_armor, self.handle, 1 if bookends else 0)

    def __len__(self) -> int:
        """Number of recipient entries (v0: 1; symmetric: 0)."""
        return int(_lib.ot_envelope_recipient_count(self.handle))

    @property
    def recipient_ids(self) -> List[str]:
        """The NymIDs of the entries, in envelope order (``""`` for key-only and v0 entries)."""
        h = self.handle
        return [_call_text(_lib.ot_envelope_recipient_id, h, i) for i in range(len(self))]

    def open(self, key: Key, nym_id: Optional[str] = None) -> bytes:
        """Opens with a private key; the entry is the one for ``nym_id`` (default: the key's own
        NymID), else a last key-only entry. Every cryptographic failure is the same
        ``DecryptFailedError``."""
        return _call_buf(_lib.ot_envelope_open, self.handle, _s(nym_id, "nym_id"), key.handle)

    def decrypt_symmetric(self, raw_key: BytesLike) -> bytes:
        k = _b(raw_key, "raw_key")
        return _call_buf(_lib.ot_envelope_decrypt_symmetric, self.handle, k, len(k))


def seal(recipients: Union[RecipientSpec, Iterable[RecipientSpec]], data: BytesLike) -> Envelope:
    """``Envelope.seal``."""
    return Envelope.seal(recipients, data)


# ---- armor, hashes, IDs, signed text, symmetric keys -------------------------------------------


def armor_encode(data: BytesLike, kind: ArmorKind = ArmorKind.DATA, bookend: Optional[str] = None) -> bytes:
    """OT armor of ``data``; bare, or bookended ``-----BEGIN OT ARMORED <bookend>-----``."""
    raw = _b(data)
    return _call_buf(_lib.ot_armor_encode, raw, len(raw), int(kind), _s(bookend, "bookend"))


def armor_decode(text: BytesLike, kind: ArmorKind = ArmorKind.DATA) -> bytes:
    """Decodes armor (bookended, escaped-bookended or bare)."""
    raw = _b(text)
    return _call_buf(_lib.ot_armor_decode, raw, len(raw), int(kind))


def _digest(fn: Callable[..., int], data: BytesLike, n: int) -> bytes:
    raw = _b(data)
    out = ctypes.create_string_buffer(n)
    _check(fn(raw, len(raw), out))
    return out.raw


def samy(data: BytesLike) -> bytes:
    """SAMY: SHA-256 XOR the first 32 bytes of Whirlpool."""
    return _digest(_lib.ot_hash_samy, data, SAMY_LEN)


def sha256(data: BytesLike) -> bytes:
    return _digest(_lib.ot_hash_sha256, data, SHA256_LEN)


def whirlpool(data: BytesLike) -> bytes:
    return _digest(_lib.ot_hash_whirlpool, data, WHIRLPOOL_LEN)


def sha256d(data: BytesLike) -> bytes:
    """SHA-256(SHA-256(data)): the suite v3 hash."""
    return _digest(_lib.ot_hash_sha256d, data, SHA256_LEN)


def id_encode(data: BytesLike) -> str:
    """OT base62 text of bytes (big-endian, leading zero bytes dropped)."""
    raw = _b(data)
    return _call_text(_lib.ot_id_encode, raw, len(raw))


def id_decode(text: str) -> bytes:
    return _call_buf(_lib.ot_id_decode, _s(text, "id"))


def id_of(data: BytesLike) -> str:
    """The OT identifier of ``data``: base62(SAMY(data))."""
    raw = _b(data)
    return _call_text(_lib.ot_id_of, raw, len(raw))


def id_of_v3(data: BytesLike) -> str:
    """The suite v3 identifier of ``data``: base62(SHA256D(data))."""
    raw = _b(data)
    return _call_text(_lib.ot_id_of_v3, raw, len(raw))


def sign(doc_type: str, content: BytesLike, key: Key, meta: Optional[str] = None) -> bytes:
    """Signs ``content`` as ``-----BEGIN SIGNED <doc_type>-----`` with a private key."""
    raw = _b(content)
    return _call_buf(
        _lib.ot_signed_create, _s(doc_type, "doc_type"), raw, len(raw), key.handle, _s(meta, "meta")
    )


def verify(text: BytesLike, key: Key) -> bytes:
    """Verifies signed text with the signer's key; returns the signed content."""
    raw = _b(text)
    return _call_buf(_lib.ot_signed_verify, raw, len(raw), key.handle)


def signed_content(text: BytesLike) -> bytes:
    """The content of signed text **without verifying it**."""
    raw = _b(text)
    return _call_buf(_lib.ot_signed_content, raw, len(raw))


def symkey_unlock(serialized: BytesLike, passphrase: BytesLike) -> bytes:
    """Unlocks a legacy ``OTSymmetricKey`` (binary or armored ``<cachedKey>``): the 16 raw key
    bytes (for a 2013+ wallet, the passphrase of every private key)."""
    raw, pw = _b(serialized), _b(passphrase, "passphrase")
    return _call_buf(_lib.ot_symkey_unlock, raw, len(raw), pw, len(pw))


def curve_keypair() -> Tuple[str, str]:
    """A new CURVE key pair as Z85 text: ``(public, secret)``."""
    pub, sec = ctypes.c_void_p(), ctypes.c_void_p()
    _check(_lib.ot_curve_keypair(ctypes.byref(pub), ctypes.byref(sec)))
    return _take(pub).decode(), _take(sec).decode()


def curve_public(secret_z85: str) -> str:
    """The CURVE public key (Z85) of a CURVE secret key (Z85) (``ot_curve_public``)."""
    return _call_text(_lib.ot_curve_public, _s(secret_z85, "secret"))


# ---- transport ---------------------------------------------------------------------------------


class SessionOptions(_Handle):
    """Transport options (legacy defaults). Sessions and notaries copy them. Also usable as a
    mapping: ``opts["latency_delay_after"] = 0``. Not thread-safe while being modified."""

    _free_name = "ot_session_options_free"
    __slots__ = ()

    def __init__(self, **values: int) -> None:
        super().__init__(_call_handle(_lib.ot_session_options_new))
        for name, value in values.items():
            self.set(name, value)

    def set(self, name: str, value: Union[int, bool]) -> "SessionOptions":
        _check(_lib.ot_session_options_set(self.handle, _s(name, "name"), int(value)))
        return self

    def get(self, name: str) -> int:
        v = ctypes.c_int64()
        _check(_lib.ot_session_options_get(self.handle, _s(name, "name"), ctypes.byref(v)))
        return v.value

    __getitem__ = get

    def __setitem__(self, name: str, value: Union[int, bool]) -> None:
        self.set(name, value)

    def as_dict(self) -> Dict[str, int]:
        return {n: self.get(n) for n in OPTION_NAMES}

    def load_ini(self, text: BytesLike) -> "SessionOptions":
        """Applies a legacy ``client.cfg``/``server.cfg`` text (``[latency]``, ``[ot_transport]``)."""
        raw = _b(text)
        _check(_lib.ot_session_options_load_ini(self.handle, raw, len(raw)))
        return self

    def set_curve_server(self, server_secret_z85: str) -> "SessionOptions":
        _check(_lib.ot_session_options_set_curve_server(self.handle, _s(server_secret_z85, "secret")))
        return self

    def set_curve_client(
        self, server_public_z85: str, client_public_z85: str, client_secret_z85: str
    ) -> "SessionOptions":
        _check(
            _lib.ot_session_options_set_curve_client(
                self.handle,
                _s(server_public_z85, "server_public"),
                _s(client_public_z85, "client_public"),
                _s(client_secret_z85, "client_secret"),
            )
        )
        return self


def _options_handle(options: Optional[SessionOptions]) -> Optional[int]:
    return None if options is None else options.handle


class Session(_Handle):
    """A client session: legacy (one lock-step REQ connection) or, with the option ``protocol``
    set to ``Protocol.V2`` (or ``AUTO``), transport v2: pipelined ``send``/``receive``, pushes
    (``subscribe``/``next_push``), ``fd`` for event loops. One thread at a time; the library
    answers a concurrent second call with ``StateError``."""

    _free_name = "ot_session_free"
    __slots__ = ()

    def __init__(
        self,
        endpoint: str,
        options: Optional[SessionOptions] = None,
        *,
        identity: Optional[Tuple[Key, Key]] = None,
        notary: Optional[Tuple[str, Key, Key]] = None,
    ) -> None:
        """Connects (asynchronously) to ``endpoint``. ``identity`` = (auth_private,
        encryption_private) and ``notary`` = (nym_id, encryption_public, auth_public) may be given
        here or set later."""
        super().__init__(
            _call_handle(_lib.ot_session_new, _s(endpoint, "endpoint"), _options_handle(options))
        )
        if identity is not None:
            self.set_identity(*identity)
        if notary is not None:
            self.set_notary(*notary)

    def set_identity(self, auth_private: Key, encryption_private: Key) -> None:
        _check(_lib.ot_session_set_identity(self.handle, auth_private.handle, encryption_private.handle))

    @classmethod
    def from_contract(
        cls,
        contract: "Contract",
        endpoint: Optional[str] = None,
        options: Optional[SessionOptions] = None,
        *,
        identity: "Optional[Nym]" = None,
    ) -> "Session":
        """A session to the notary of a verified ``Contract``: connects to ``endpoint`` (None:
        the contract's own ``<notaryServer>`` endpoint) and sets the notary (NymID, A and E keys)
        from it; ``identity``, a ``Nym`` loaded with its private keys, may be given here or set
        with ``set_identity_nym``."""
        self = cls.__new__(cls)
        _Handle.__init__(
            self,
            _call_handle(
                _lib.ot_session_new_from_contract,
                contract.handle,
                _s(endpoint, "endpoint"),
                _options_handle(options),
            ),
        )
        if identity is not None:
            self.set_identity_nym(identity)
        return self

    def set_identity_nym(self, nym: "Nym") -> None:
        """The client's keys from a ``Nym`` loaded with its private keys (A signs requests, E
        opens replies)."""
        _check(_lib.ot_session_set_identity_nym(self.handle, nym.handle))

    def set_notary(self, nym_id: str, encryption_public: Key, auth_public: Key) -> None:
        _check(
            _lib.ot_session_set_notary(
                self.handle, _s(nym_id, "nym_id"), encryption_public.handle, auth_public.handle
            )
        )

    def request(self, content: BytesLike) -> bytes:
        """A full legacy request: sign, seal, send, wait, open, verify; the reply content."""
        raw = _b(content)
        return _call_buf(_lib.ot_session_request, self.handle, raw, len(raw))

    def exchange(self, frame: BytesLike) -> bytes:
        """One raw lock-step exchange of frames."""
        raw = _b(frame)
        return _call_buf(_lib.ot_session_exchange, self.handle, raw, len(raw))

    # ---- transport v2 (option ``protocol`` = Protocol.V2, or AUTO against a v2 notary) ----

    @property
    def protocol(self) -> Protocol:
        """The protocol the session speaks. With option ``protocol`` = AUTO the first use probes
        the notary (up to ``probe_timeout_ms``)."""
        p = ctypes.c_uint32()
        _check(_lib.ot_session_protocol(self.handle, ctypes.byref(p)))
        return Protocol(p.value)

    def send(self, content: BytesLike) -> int:
        """v2: signs, seals and sends ``content`` without waiting; the request's id (match it with
        ``receive``). ``StateError`` beyond ``max_in_flight`` or on a legacy session."""
        raw = _b(content)
        rid = ctypes.c_uint64()
        _check(_lib.ot_session_send(self.handle, raw, len(raw), ctypes.byref(rid)))
        return rid.value

    def send_frame(self, frame: BytesLike) -> int:
        """v2: sends ``frame`` as a request body as it is (nothing signed or sealed: the pipelined
        form of ``exchange``) without waiting; the request's id. ``receive`` returns its reply
        frame as it came. ``StateError`` beyond ``max_in_flight`` or on a legacy session."""
        raw = _b(frame)
        rid = ctypes.c_uint64()
        _check(_lib.ot_session_send_frame(self.handle, raw, len(raw), ctypes.byref(rid)))
        return rid.value

    def receive(self, timeout: Optional[float] = None) -> Tuple[int, bytes]:
        """v2: waits up to ``timeout`` seconds (None: forever; 0: do not wait) for the next finished
        request; ``(request_id, reply_content)`` (for a ``send_frame`` request: its reply frame).

        Raises ``TimeoutError`` (with ``request_id`` None) when no request finished in time. When
        a request finished **with an error** (its own status: ``TimeoutError`` after its resends,
        ``TransportError``, ``BadSignatureError``, ...), that error is raised with the finished
        request's id in its ``request_id`` attribute; the request is done either way."""
        rid = ctypes.c_uint64()
        status = ctypes.c_int(0)
        out = ctypes.c_void_p()
        rc = _lib.ot_session_receive(
            self.handle, _ms(timeout), ctypes.byref(rid), ctypes.byref(status), ctypes.byref(out)
        )
        if rc != 0:
            e = error_for(rc, last_error(), result_str(rc))
            e.request_id = None  # type: ignore[attr-defined]
            raise e
        if status.value != 0:
            if out.value:
                _lib.ot_buffer_free(out)
            e = error_for(status.value, last_error(), result_str(status.value))
            e.request_id = rid.value  # type: ignore[attr-defined]
            raise e
        return rid.value, _take(out) if out.value else b""

    def subscribe(self, content: BytesLike) -> bytes:
        """v2: sends a subscription, waits for its reply (returned) and re-sends it after every
        reconnect so pushes keep coming."""
        raw = _b(content)
        return _call_buf(_lib.ot_session_subscribe, self.handle, raw, len(raw))

    def next_push(self, timeout: Optional[float] = None) -> Push:
        """v2: the next push (None: wait forever; 0: do not wait). ``TimeoutError`` when none came."""
        seq = ctypes.c_uint64()
        missed = ctypes.c_uint64()
        stream = ctypes.c_void_p()
        out = ctypes.c_void_p()
        _check(
            _lib.ot_session_next_push_from(
                self.handle,
                _ms(timeout),
                ctypes.byref(seq),
                ctypes.byref(missed),
                ctypes.byref(stream),
                ctypes.byref(out),
            )
        )
        name = _take(stream).decode("utf-8", "replace")
        return Push(seq.value, missed.value, _take(out), name)

    def pushes(self, idle_timeout: Optional[float] = None) -> Iterator[Push]:
        """Pushes as they come, until ``idle_timeout`` seconds pass without one (None: forever) or
        the session is closed."""
        while not self.closed:
            try:
                yield self.next_push(idle_timeout)
            except TimeoutError:
                return

    @property
    def fd(self) -> int:
        """The socket's ``ZMQ_FD`` for selectors/asyncio: edge-triggered; when readable, call
        ``receive(0)`` / ``next_push(0)`` until ``TimeoutError`` (see ``ot_session_fd``)."""
        fd = ctypes.c_int32()
        _check(_lib.ot_session_fd(self.handle, ctypes.byref(fd)))
        return fd.value

    @property
    def in_flight(self) -> int:
        """Requests sent with ``send`` and not yet returned by ``receive``."""
        return int(_lib.ot_session_in_flight(self.handle))

    @property
    def stats(self) -> SessionStats:
        return _stats(_lib.ot_session_get_stats, self.handle, _ffi.SessionStats, SessionStats)  # type: ignore[return-value]

    def counter(self, name: str) -> int:
        """One counter by name (``ot_session_counter``; see ``counters()`` for every name), e.g.
        ``pushes_unsolicited``, ``pushes_invalid``, ``pushes_overflow``."""
        return _counter(_lib.ot_session_counter, self.handle, name)

    def counters(self) -> "dict[str, int]":
        """Every counter the library knows for a session, by name."""
        return {n: self.counter(n) for n in _counter_names(_lib.ot_session_counter_name)}


class Request(_Handle):
    """A request received by a ``Notary`` (opened and parsed, not verified yet)."""

    _free_name = "ot_request_free"
    __slots__ = ("_notary",)

    def __init__(self, handle: int, notary: "Notary") -> None:
        super().__init__(handle)
        self._notary = notary

    @property
    def content(self) -> bytes:
        """The content **without verifying** the signature (e.g. to find the sender)."""
        return _call_buf(_lib.ot_request_content, self.handle)

    def verify(self, sender_auth_public: Key) -> bytes:
        """Verifies the signature; returns the verified content. ``BadSignatureError`` otherwise."""
        return _call_buf(_lib.ot_request_verify, self.handle, sender_auth_public.handle)

    def reply(self, content: BytesLike, recipient_encryption_public: Optional[Key] = None) -> None:
        """Answers this request through its notary (see ``Notary.reply``)."""
        self._notary.reply(self, content, recipient_encryption_public)


class Notary(_Handle):
    """A notary endpoint (one REP socket). One thread at a time. A context manager, and an
    iterator of requests: ``for req in notary: ...`` runs until ``close()`` (unreadable requests
    are survived and counted in ``skipped``)."""

    _free_name = "ot_notary_free"
    __slots__ = ("skipped", "_closing")

    #: Slice in which iteration waits for a request, so that close() and Ctrl-C end it promptly.
    POLL_MS = 200

    def __init__(
        self,
        bind_endpoint: str,
        auth_private: Key,
        encryption_private: Key,
        nym_id: Optional[str] = None,
        options: Optional[SessionOptions] = None,
    ) -> None:
        """Binds ``bind_endpoint`` (``tcp://127.0.0.1:*`` picks a free port: see ``endpoint``).
        ``nym_id`` defaults to ``encryption_private.nym_id``."""
        nym = encryption_private.nym_id if nym_id is None else nym_id
        super().__init__(
            _call_handle(
                _lib.ot_notary_new,
                _s(bind_endpoint, "endpoint"),
                auth_private.handle,
                encryption_private.handle,
                _s(nym, "nym_id"),
                _options_handle(options),
            )
        )
        self.skipped = 0
        self._closing = threading.Event()

    @property
    def endpoint(self) -> str:
        """The bound endpoint with a wildcard port resolved."""
        return _call_text(_lib.ot_notary_endpoint, self.handle)

    def receive(self, timeout: Optional[float] = None) -> Request:
        """Waits up to ``timeout`` seconds (None: forever) for a request. ``TimeoutError`` when
        none came; ``MalformedError``/``DecryptFailedError``/``NoMatchingRecipientError`` for an
        unreadable one (the notary keeps serving)."""
        return Request(_call_handle(_lib.ot_notary_receive, self.handle, _ms(timeout)), self)

    def reply(
        self, request: Request, content: BytesLike, recipient_encryption_public: Optional[Key] = None
    ) -> None:
        """Signs ``content`` with the notary's auth key and seals it to
        ``recipient_encryption_public`` (None: the legacy unencrypted ``MESSAGE`` reply)."""
        raw = _b(content)
        rk = None if recipient_encryption_public is None else recipient_encryption_public.handle
        _check(_lib.ot_notary_reply(self.handle, request.handle, raw, len(raw), rk))

    @classmethod
    def connect(
        cls,
        backend_endpoint: str,
        auth_private: Key,
        encryption_private: Key,
        nym_id: Optional[str] = None,
        options: Optional[SessionOptions] = None,
    ) -> "Notary":
        """A **worker** notary connected to a broker's backend (``Broker.backend``) instead of
        bound; it serves with the same receive/reply/push calls."""
        nym = encryption_private.nym_id if nym_id is None else nym_id
        self = cls.__new__(cls)
        _Handle.__init__(
            self,
            _call_handle(
                _lib.ot_notary_connect,
                _s(backend_endpoint, "endpoint"),
                auth_private.handle,
                encryption_private.handle,
                _s(nym, "nym_id"),
                _options_handle(options),
            ),
        )
        self.skipped = 0
        self._closing = threading.Event()
        return self

    @classmethod
    def from_nym(cls, bind_endpoint: str, nym: "Nym", options: Optional[SessionOptions] = None) -> "Notary":
        """A notary serving as ``nym``, loaded from the notary's own private credential files
        with its master key (``wallet_master_key`` of ``notaryServer.xml``)."""
        self = cls.__new__(cls)
        _Handle.__init__(
            self,
            _call_handle(
                _lib.ot_notary_new_from_nym,
                _s(bind_endpoint, "endpoint"),
                nym.handle,
                _options_handle(options),
            ),
        )
        self.skipped = 0
        self._closing = threading.Event()
        return self

    def add_identity(self, auth_private: Key, encryption_private: Key, nym_id: str) -> None:
        """Serves one more identity on the same endpoints (e.g. a suite v3 identity next to the
        RSA one): the request's envelope type and recipient NymID choose which one opens it."""
        _check(
            _lib.ot_notary_add_identity(
                self.handle, auth_private.handle, encryption_private.handle, _s(nym_id, "nym_id")
            )
        )

    def bind(self, endpoint: str, options: Optional[SessionOptions] = None) -> str:
        """Listens on one more endpoint with its own options (e.g. a CURVE port next to a plain
        one); the bound endpoint, wildcard port resolved."""
        return _call_text(_lib.ot_notary_bind, self.handle, _s(endpoint, "endpoint"), _options_handle(options))

    def bind_curve(self, endpoint: str, options: Optional[SessionOptions] = None) -> str:
        """Listens on ``endpoint`` with CURVE only, under the notary's transport key (generated now
        unless ``set_transport_key`` set one), and publishes the key signed by each identity: v2
        sessions that know the notary's keys move there over CURVE by themselves (option
        ``curve_policy``). The bound endpoint, wildcard port resolved."""
        return _call_text(_lib.ot_notary_bind_curve, self.handle, _s(endpoint, "endpoint"), _options_handle(options))

    def set_transport_key(self, secret_z85: str, valid_until: int) -> None:
        """Sets the transport key (a CURVE secret key, Z85) and the end of its documents' validity
        (Unix seconds): before the first ``bind_curve``, or later to rotate it (the CURVE
        endpoints are bound again under the new key; sessions follow)."""
        _check(_lib.ot_notary_set_transport_key(self.handle, _s(secret_z85, "secret"), int(valid_until)))

    def vouch_transport_key(self, public_z85: str, endpoint: str, valid_until: int) -> None:
        """Vouches for its broker's CURVE frontend (``Broker.bind_curve``): probes through the
        broker then get a transport-key document for that key and ``endpoint`` (``tcp://*:PORT``),
        signed by each identity, and sessions talk CURVE to the broker."""
        _check(
            _lib.ot_notary_vouch_transport_key(
                self.handle, _s(public_z85, "public"), _s(endpoint, "endpoint"), int(valid_until)
            )
        )

    @property
    def transport_key(self) -> Optional[str]:
        """The transport key's CURVE public key (Z85), or None while the notary has none."""
        try:
            return _call_text(_lib.ot_notary_transport_key, self.handle)
        except StateError:
            return None

    def register_push(self, request: Request, nym_id: str, subscriber_encryption_public: Key) -> None:
        """Registers the route ``request`` came from for pushes to ``nym_id`` (after verifying the
        subscription request; answer it as usual). ``StateError`` for a legacy request."""
        _check(
            _lib.ot_notary_register_push(
                self.handle, request.handle, _s(nym_id, "nym_id"), subscriber_encryption_public.handle
            )
        )

    def push(self, nym_id: str, content: BytesLike) -> int:
        """Pushes ``content`` to every live subscriber of ``nym_id``; how many it reached (0 when
        nobody is subscribed)."""
        raw = _b(content)
        n = ctypes.c_size_t()
        _check(_lib.ot_notary_push(self.handle, _s(nym_id, "nym_id"), raw, len(raw), ctypes.byref(n)))
        return n.value

    @property
    def fd(self) -> int:
        """The first socket's ``ZMQ_FD`` (edge-triggered; drain with ``receive(0)``)."""
        fd = ctypes.c_int32()
        _check(_lib.ot_notary_fd(self.handle, ctypes.byref(fd)))
        return fd.value

    @property
    def stats(self) -> NotaryStats:
        return _stats(_lib.ot_notary_get_stats, self.handle, _ffi.NotaryStats, NotaryStats)  # type: ignore[return-value]

    def counter(self, name: str) -> int:
        """One counter by name (``ot_notary_counter``; see ``counters()`` for every name), e.g.
        ``released``, ``busy``, ``cached_bytes``."""
        return _counter(_lib.ot_notary_counter, self.handle, name)

    def counters(self) -> "dict[str, int]":
        """Every counter the library knows for a notary, by name."""
        return {n: self.counter(n) for n in _counter_names(_lib.ot_notary_counter_name)}

    def requests(self, idle_timeout: Optional[float] = None) -> Iterator[Request]:
        """Requests as they come, until ``close()`` or ``idle_timeout`` seconds without one.
        Unreadable requests are skipped (counted in ``skipped``). Each request stays usable after
        the loop advances (keep it to answer it later, in any order); one dropped without an
        answer is answered by the notary as unreadable (``ot_request_free``)."""
        deadline = None if idle_timeout is None else time.monotonic() + idle_timeout
        while not self._closing.is_set() and not self.closed:
            slice_s = self.POLL_MS / 1000
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                slice_s = min(slice_s, left)
            try:
                req = self.receive(slice_s)
            except TimeoutError:
                continue
            except (MalformedError, DecryptFailedError, NoMatchingRecipientError):
                self.skipped += 1
                continue
            except (OtError, ValueError):
                if self._closing.is_set() or self.closed:
                    return  # closed by another thread while waiting
                raise
            # Not closed when the loop advances: v2 lets a request be answered later, after
            # others. It is freed when the application drops it (or calls close()); a request
            # freed unanswered is answered by the notary as an unreadable one.
            yield req
            del req
            if deadline is not None:
                deadline = time.monotonic() + idle_timeout  # type: ignore[operator]

    def __iter__(self) -> Iterator[Request]:
        return self.requests()

    def close(self) -> None:
        closing = getattr(self, "_closing", None)
        if closing is not None:
            closing.set()
        super().close()


class Broker(_Handle):
    """A broker: clients connect to ``frontend``, worker notaries (``Notary.connect``) to
    ``backend``; it runs on a background thread of its own until ``close()`` (or the end of a
    ``with`` block). Its getters may be called from any thread."""

    _free_name = "ot_broker_free"
    __slots__ = ()

    def __init__(
        self,
        frontend: str,
        backend: str,
        options: Optional[SessionOptions] = None,
        *,
        backend_secret: Optional[str] = None,
        workers: Optional[Iterable[str]] = None,
        key_file: Optional[str] = None,
        workers_file: Optional[str] = None,
    ) -> None:
        """Binds both endpoints (``tcp://127.0.0.1:*`` picks free ports) and starts the broker.
        ``options`` applies to the frontend (CURVE, ``max_message_size``).

        A backend on the network admits only listed workers: give ``backend_secret`` (its CURVE
        secret key, Z85; ``curve_keypair()``) and ``workers`` (their CURVE public keys, Z85; more
        with ``allow_worker``), or ``key_file`` and ``workers_file`` (as ``ot-broker --key
        --workers``). Without keys only an ``inproc://`` or ``ipc://`` backend is accepted.
        A worker connects with ``Notary.connect(backend, ..., options)`` whose options are
        ``SessionOptions().set_curve_client(broker.backend_public, worker_public, worker_secret)``."""
        fe, be = _s(frontend, "endpoint"), _s(backend, "endpoint")
        opts = _options_handle(options)
        if key_file is not None or workers_file is not None:
            if key_file is None or workers_file is None or backend_secret is not None or workers is not None:
                raise ValueError("key_file and workers_file go together, without backend_secret and workers")
            h = _call_handle(
                _lib.ot_broker_new_from_files, fe, be, opts, _s(key_file, "key_file"), _s(workers_file, "workers_file")
            )
        elif backend_secret is not None:
            listed = "".join(f"{w}\n" for w in (workers or ()))
            h = _call_handle(
                _lib.ot_broker_new_secure, fe, be, opts, _s(backend_secret, "backend_secret"), _s(listed, "workers")
            )
        elif workers is not None:
            raise ValueError("workers need backend_secret")
        else:
            h = _call_handle(_lib.ot_broker_new, fe, be, opts)
        super().__init__(h)

    @property
    def backend_public(self) -> Optional[str]:
        """The backend's CURVE public key (Z85) for the workers' options; None without keys."""
        try:
            return _call_text(_lib.ot_broker_backend_public, self.handle)
        except InvalidArgumentError:
            return None

    def bind_curve(self, endpoint: str, secret_z85: Optional[str] = None) -> Tuple[str, str]:
        """Adds a CURVE-only frontend (``secret_z85``: its CURVE secret key; None: generated):
        ``(bound endpoint, public key)``. Workers vouch for it (``Notary.vouch_transport_key``)."""
        bound, pub = ctypes.c_void_p(), ctypes.c_void_p()
        _check(
            _lib.ot_broker_bind_curve(
                self.handle, _s(endpoint, "endpoint"), _s(secret_z85, "secret"), ctypes.byref(bound), ctypes.byref(pub)
            )
        )
        return _take(bound).decode(), _take(pub).decode()

    def allow_worker(self, public_z85: str) -> None:
        """Adds a worker's CURVE public key to the backend's allow-list (from its next handshake)."""
        _check(_lib.ot_broker_allow_worker(self.handle, _s(public_z85, "worker key")))

    @property
    def frontend(self) -> str:
        """The bound frontend endpoint (for clients)."""
        return _call_text(_lib.ot_broker_frontend, self.handle)

    @property
    def backend(self) -> str:
        """The bound backend endpoint (for worker notaries)."""
        return _call_text(_lib.ot_broker_backend, self.handle)

    @property
    def stats(self) -> BrokerStats:
        return _stats(_lib.ot_broker_get_stats, self.handle, _ffi.BrokerStats, BrokerStats)  # type: ignore[return-value]

    def counter(self, name: str) -> int:
        """One counter by name (``ot_broker_counter``), e.g. ``queued_bytes``."""
        return _counter(_lib.ot_broker_counter, self.handle, name)

    def counters(self) -> "dict[str, int]":
        """Every counter the library knows for a broker, by name."""
        return {n: self.counter(n) for n in _counter_names(_lib.ot_broker_counter_name)}


#: The raw library (every function of the header, declared with argtypes/restype), for calls the
#: Pythonic API does not cover. Handles: ``obj.handle``.
lib = _lib

STREAM_CHUNK_LEN = 65536
STREAM_SEALED_CHUNK_LEN = 65552


def _secret_area(n: int) -> "ctypes.Array[ctypes.c_char]":
    return ctypes.create_string_buffer(max(n, 1))


def _wipe(area: "ctypes.Array[ctypes.c_char]") -> None:
    ctypes.memset(area, 0, ctypes.sizeof(area))


class StreamSealer(_Handle):
    """Seals a streaming envelope (type 4, suite v3 X25519 keys: docs/streaming-envelopes.md)
    a piece at a time: ``update(data)`` returns the bytes to send next (the header first, then
    whole 64 KiB chunks; often ``b""``), ``final()`` the rest. One thread at a time."""

    _free_name = "ot_stream_sealer_free"
    __slots__ = ()

    @classmethod
    def init(cls, recipients: Union[RecipientSpec, Iterable[RecipientSpec]]) -> "StreamSealer":
        """A sealer to one or more X25519 recipients: a ``Key`` or a ``(nym_id, key)`` pair."""
        arr, n = _recipients(recipients)
        return cls(_call_handle(_lib.ot_stream_seal_init, arr, n))

    def update(self, data: BytesLike) -> bytes:
        raw = _b(data)
        cap = int(_lib.ot_stream_seal_output_max(self.handle, len(raw)))
        out = ctypes.create_string_buffer(max(cap, 1))
        n = ctypes.c_size_t(0)
        _check(_lib.ot_stream_seal_update(self.handle, raw, len(raw), out, cap, ctypes.byref(n)))
        return out.raw[: n.value]

    def final(self) -> bytes:
        cap = int(_lib.ot_stream_seal_output_max(self.handle, 0))
        out = ctypes.create_string_buffer(max(cap, 1))
        n = ctypes.c_size_t(0)
        _check(_lib.ot_stream_seal_final(self.handle, out, cap, ctypes.byref(n)))
        return out.raw[: n.value]


class StreamOpener(_Handle):
    """Opens a streaming envelope a piece at a time: ``update(data)`` with the bytes as they
    arrive (any split) returns the plaintext of every chunk verified so far, ``final()`` the last.
    The stream is complete and authentic only once ``final()`` has returned: do not act on the
    plaintext before. Every cryptographic failure (a wrap that does not open, a chunk that does
    not verify, truncation) is the same ``DecryptFailedError``. One thread at a time."""

    _free_name = "ot_stream_opener_free"
    __slots__ = ()

    @classmethod
    def init(cls, key: "Key", nym_id: Optional[str] = None) -> "StreamOpener":
        """An opener with an X25519 private key; the entry for ``nym_id`` (else the key-only
        entry), or with ``None`` every entry in order."""
        return cls(_call_handle(_lib.ot_stream_open_init, _s(nym_id, "nym_id"), key.handle))

    def _run(self, fn: Callable[..., int], cap: int, *args: object) -> bytes:
        out = _secret_area(cap)
        n = ctypes.c_size_t(0)
        try:
            _check(fn(self.handle, *args, out, cap, ctypes.byref(n)))
            return out.raw[: n.value]
        finally:
            _wipe(out)

    def update(self, data: BytesLike) -> bytes:
        raw = _b(data)
        cap = int(_lib.ot_stream_open_output_max(self.handle, len(raw)))
        return self._run(_lib.ot_stream_open_update, cap, raw, len(raw))

    def final(self) -> bytes:
        cap = int(_lib.ot_stream_open_output_max(self.handle, 0))
        return self._run(_lib.ot_stream_open_final, cap)

    def open_chunk(self, index: int, chunk: BytesLike, last: bool) -> bytes:
        """Random access, once ``update`` has read the header: the plaintext of chunk ``index``
        (the ``STREAM_SEALED_CHUNK_LEN`` bytes at payload offset ``index *
        STREAM_SEALED_CHUNK_LEN``; ``last`` for the final chunk)."""
        raw = _b(chunk, "chunk")
        return self._run(_lib.ot_stream_open_chunk, len(raw), index, 1 if last else 0, raw, len(raw))

    @property
    def header_len(self) -> Optional[int]:
        """The header's length once ``update`` has read it (the payload starts there)."""
        n = ctypes.c_size_t(0)
        rc = _lib.ot_stream_opener_header_len(self.handle, ctypes.byref(n))
        return int(n.value) if rc == 0 else None


__all__ = [
    "ArmorKind",
    "Broker",
    "BrokerStats",
    "BytesLike",
    "MISSED_UNKNOWN",
    "NotaryStats",
    "Protocol",
    "Push",
    "SessionStats",
    "Envelope",
    "StreamOpener",
    "StreamSealer",
    "STREAM_CHUNK_LEN",
    "STREAM_SEALED_CHUNK_LEN",
    "Algorithm",
    "Key",
    "KeyFormat",
    "Notary",
    "OPTION_NAMES",
    "RecipientSpec",
    "Request",
    "Session",
    "SessionOptions",
    "armor_decode",
    "armor_encode",
    "curve_keypair",
    "curve_public",
    "id_decode",
    "id_encode",
    "id_of",
    "id_of_v3",
    "last_error",
    "lib",
    "library_path",
    "result_str",
    "samy",
    "seal",
    "sha256",
    "sha256d",
    "sign",
    "signed_content",
    "symkey_unlock",
    "verify",
    "version",
    "whirlpool",
    "zmq_version",
]
