"""Loading libot_transport and declaring its C functions (ctypes).

The table ``FUNCTIONS`` below is the whole binding: one line per exported C function, naming its
result and parameter types with the tokens of ``TYPES``. ``python/tests/test_header_coverage.py``
parses ``include/ot_transport.h`` and fails, naming them, for every function that is missing from
the table or declared here with other types. Adding a function to the C ABI means adding its line
here (and, for the Pythonic API, a wrapper in ``__init__.py``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple

#: The SONAME's number this binding was written for (``OT_TRANSPORT_ABI_VERSION``).
ABI_VERSION = 1
LIBRARY_NAME = f"libot_transport.so.{ABI_VERSION}"


class Recipient(ctypes.Structure):
    """``ot_recipient``: a NymID text and a key handle."""

    _fields_ = [("nym_id", ctypes.c_char_p), ("key", ctypes.c_void_p)]


class Slice(ctypes.Structure):
    """``ot_slice``: a borrowed byte string (``data``, ``len``)."""

    _fields_ = [("data", ctypes.c_char_p), ("len", ctypes.c_size_t)]


class SessionStats(ctypes.Structure):
    """``ot_session_stats``: a session's counters."""

    _fields_ = [
        ("replies", ctypes.c_uint64),
        ("resends", ctypes.c_uint64),
        ("sockets_created", ctypes.c_uint64),
        ("timeouts", ctypes.c_uint64),
    ]


class NotaryStats(ctypes.Structure):
    """``ot_notary_stats``: a notary's counters."""

    _fields_ = [
        ("requests", ctypes.c_uint64),
        ("replies", ctypes.c_uint64),
        ("rejected", ctypes.c_uint64),
        ("rebinds", ctypes.c_uint64),
        ("duplicates", ctypes.c_uint64),
        ("pushes", ctypes.c_uint64),
        ("dropped_routes", ctypes.c_uint64),
    ]


class BrokerStats(ctypes.Structure):
    """``ot_broker_stats``: a broker's counters."""

    _fields_ = [
        ("requests", ctypes.c_uint64),
        ("replies", ctypes.c_uint64),
        ("pushes", ctypes.c_uint64),
        ("dropped", ctypes.c_uint64),
        ("unroutable", ctypes.c_uint64),
        ("workers", ctypes.c_uint64),
        ("dead_workers", ctypes.c_uint64),
    ]


# Type tokens: the C type as written in the header -> ctypes type. Handles are opaque values
# (generation-tagged slot numbers, not addresses) carried as c_void_p.
TYPES: Dict[str, object] = {
    "void": None,
    "result": ctypes.c_int,  # ot_result
    "int": ctypes.c_int,
    "u32": ctypes.c_uint32,  # uint32_t, ot_armor_kind, ot_key_format
    "i64": ctypes.c_int64,
    "u64": ctypes.c_uint64,  # uint64_t (a Unix time)
    "size": ctypes.c_size_t,
    "str": ctypes.c_char_p,  # const char * (NUL-terminated text in, or static text out)
    "bytes": ctypes.c_char_p,  # const uint8_t * input (borrowed for the call)
    "data": ctypes.c_void_p,  # const uint8_t * result (ot_buffer_data)
    "outbytes": ctypes.c_void_p,  # uint8_t * caller-provided output array
    "handle": ctypes.c_void_p,  # ot_key *, const ot_envelope *, ... (any handle)
    "out": ctypes.POINTER(ctypes.c_void_p),  # T ** output handle
    "i64*": ctypes.POINTER(ctypes.c_int64),
    "i32*": ctypes.POINTER(ctypes.c_int32),
    "u32*": ctypes.POINTER(ctypes.c_uint32),  # ot_protocol * (uint32_t)
    "u64*": ctypes.POINTER(ctypes.c_uint64),  # uint64_t *
    "size*": ctypes.POINTER(ctypes.c_size_t),  # size_t *
    "result*": ctypes.POINTER(ctypes.c_int),  # ot_result * (a C enum: int)
    "session_stats*": ctypes.POINTER(SessionStats),
    "notary_stats*": ctypes.POINTER(NotaryStats),
    "broker_stats*": ctypes.POINTER(BrokerStats),
    "recipients": ctypes.POINTER(Recipient),  # const ot_recipient *
    "slices": ctypes.POINTER(Slice),  # const ot_slice *
}

# name: (result token, [parameter tokens]).  One line per exported function.
FUNCTIONS: Dict[str, Tuple[str, List[str]]] = {
    "ot_version": ("str", []),
    "ot_result_str": ("str", ["int"]),
    "ot_last_error": ("str", []),
    "ot_armor_encode": ("result", ["bytes", "size", "u32", "str", "out"]),
    "ot_armor_decode": ("result", ["bytes", "size", "u32", "out"]),
    "ot_buffer_data": ("data", ["handle"]),
    "ot_buffer_len": ("size", ["handle"]),
    "ot_buffer_free": ("void", ["handle"]),
    "ot_envelope_seal": ("result", ["recipients", "size", "bytes", "size", "out"]),
    "ot_envelope_parse": ("result", ["bytes", "size", "out"]),
    "ot_envelope_from_armor": ("result", ["bytes", "size", "out"]),
    "ot_envelope_to_bytes": ("result", ["handle", "out"]),
    "ot_envelope_to_armor": ("result", ["handle", "int", "out"]),
    "ot_envelope_recipient_count": ("size", ["handle"]),
    "ot_envelope_recipient_id": ("result", ["handle", "size", "out"]),
    "ot_envelope_open": ("result", ["handle", "str", "handle", "out"]),
    "ot_envelope_encrypt_symmetric": ("result", ["bytes", "size", "bytes", "size", "out"]),
    "ot_envelope_decrypt_symmetric": ("result", ["handle", "bytes", "size", "out"]),
    "ot_envelope_free": ("void", ["handle"]),
    "ot_stream_seal_init": ("result", ["recipients", "size", "out"]),
    "ot_stream_seal_output_max": ("size", ["handle", "size"]),
    "ot_stream_seal_update": ("result", ["handle", "bytes", "size", "outbytes", "size", "size*"]),
    "ot_stream_seal_final": ("result", ["handle", "outbytes", "size", "size*"]),
    "ot_stream_sealer_free": ("void", ["handle"]),
    "ot_stream_open_init": ("result", ["str", "handle", "out"]),
    "ot_stream_open_output_max": ("size", ["handle", "size"]),
    "ot_stream_open_update": ("result", ["handle", "bytes", "size", "outbytes", "size", "size*"]),
    "ot_stream_open_final": ("result", ["handle", "outbytes", "size", "size*"]),
    "ot_stream_open_chunk": ("result", ["handle", "u64", "int", "bytes", "size", "outbytes", "size", "size*"]),
    "ot_stream_opener_header_len": ("result", ["handle", "size*"]),
    "ot_stream_opener_free": ("void", ["handle"]),
    "ot_envelope_seal_to_bytes": ("result", ["recipients", "size", "bytes", "size", "out"]),
    "ot_envelope_seal_to_armor": ("result", ["recipients", "size", "bytes", "size", "int", "out"]),
    "ot_envelope_open_bytes": ("result", ["bytes", "size", "str", "handle", "out"]),
    "ot_envelope_open_armor": ("result", ["bytes", "size", "str", "handle", "out"]),
    "ot_hash_samy": ("result", ["bytes", "size", "outbytes"]),
    "ot_hash_sha256": ("result", ["bytes", "size", "outbytes"]),
    "ot_hash_whirlpool": ("result", ["bytes", "size", "outbytes"]),
    "ot_id_encode": ("result", ["bytes", "size", "out"]),
    "ot_id_decode": ("result", ["str", "out"]),
    "ot_id_of": ("result", ["bytes", "size", "out"]),
    "ot_key_generate": ("result", ["u32", "out"]),
    "ot_key_load": ("result", ["bytes", "size", "bytes", "size", "out"]),
    "ot_key_export": ("result", ["handle", "u32", "bytes", "size", "out"]),
    "ot_key_public": ("result", ["handle", "out"]),
    "ot_key_is_private": ("int", ["handle"]),
    "ot_key_bits": ("u32", ["handle"]),
    "ot_key_nym_id": ("result", ["handle", "out"]),
    "ot_key_free": ("void", ["handle"]),
    "ot_notary_new": ("result", ["str", "handle", "handle", "str", "handle", "out"]),
    "ot_notary_endpoint": ("result", ["handle", "out"]),
    "ot_notary_receive": ("result", ["handle", "u32", "out"]),
    "ot_notary_reply": ("result", ["handle", "handle", "bytes", "size", "handle"]),
    "ot_notary_free": ("void", ["handle"]),
    "ot_session_options_new": ("result", ["out"]),
    "ot_session_options_set": ("result", ["handle", "str", "i64"]),
    "ot_session_options_get": ("result", ["handle", "str", "i64*"]),
    "ot_session_options_load_ini": ("result", ["handle", "bytes", "size"]),
    "ot_session_option_name": ("str", ["size"]),
    "ot_curve_keypair": ("result", ["out", "out"]),
    "ot_session_options_set_curve_server": ("result", ["handle", "str"]),
    "ot_session_options_set_curve_client": ("result", ["handle", "str", "str", "str"]),
    "ot_session_options_free": ("void", ["handle"]),
    "ot_request_content": ("result", ["handle", "out"]),
    "ot_request_verify": ("result", ["handle", "handle", "out"]),
    "ot_request_free": ("void", ["handle"]),
    "ot_session_new": ("result", ["str", "handle", "out"]),
    "ot_session_exchange": ("result", ["handle", "bytes", "size", "out"]),
    "ot_session_set_identity": ("result", ["handle", "handle", "handle"]),
    "ot_session_set_notary": ("result", ["handle", "str", "handle", "handle"]),
    "ot_session_request": ("result", ["handle", "bytes", "size", "out"]),
    "ot_session_free": ("void", ["handle"]),
    "ot_zmq_version": ("void", ["i32*", "i32*", "i32*"]),
    # suite v3
    "ot_envelope_type": ("result", ["handle", "i32*"]),
    "ot_hash_sha256d": ("result", ["bytes", "size", "outbytes"]),
    "ot_id_of_v3": ("result", ["bytes", "size", "out"]),
    "ot_key_algorithm": ("u32", ["handle"]),
    "ot_key_generate_ed25519": ("result", ["out"]),
    "ot_key_generate_x25519": ("result", ["out"]),
    "ot_notary_add_identity": ("result", ["handle", "handle", "handle", "str"]),
    "ot_signed_create": ("result", ["str", "bytes", "size", "handle", "str", "out"]),
    "ot_signed_verify": ("result", ["bytes", "size", "handle", "out"]),
    "ot_signed_content": ("result", ["bytes", "size", "out"]),
    "ot_symkey_unlock": ("result", ["bytes", "size", "bytes", "size", "out"]),
    # transport v2, server push, scale-out
    "ot_session_protocol": ("result", ["handle", "u32*"]),
    "ot_session_send": ("result", ["handle", "bytes", "size", "u64*"]),
    "ot_session_send_frame": ("result", ["handle", "bytes", "size", "u64*"]),
    "ot_session_receive": ("result", ["handle", "u32", "u64*", "result*", "out"]),
    "ot_session_subscribe": ("result", ["handle", "bytes", "size", "out"]),
    "ot_session_next_push": ("result", ["handle", "u32", "u64*", "u64*", "out"]),
    "ot_session_next_push_from": ("result", ["handle", "u32", "u64*", "u64*", "out", "out"]),
    "ot_session_fd": ("result", ["handle", "i32*"]),
    "ot_session_in_flight": ("size", ["handle"]),
    "ot_session_get_stats": ("result", ["handle", "session_stats*"]),
    "ot_notary_bind": ("result", ["handle", "str", "handle", "out"]),
    "ot_notary_register_push": ("result", ["handle", "handle", "str", "handle"]),
    "ot_notary_push": ("result", ["handle", "str", "bytes", "size", "size*"]),
    "ot_notary_fd": ("result", ["handle", "i32*"]),
    "ot_notary_connect": ("result", ["str", "handle", "handle", "str", "handle", "out"]),
    "ot_notary_get_stats": ("result", ["handle", "notary_stats*"]),
    "ot_broker_new": ("result", ["str", "str", "handle", "out"]),
    "ot_broker_frontend": ("result", ["handle", "out"]),
    "ot_broker_backend": ("result", ["handle", "out"]),
    "ot_broker_get_stats": ("result", ["handle", "broker_stats*"]),
    "ot_broker_free": ("void", ["handle"]),
    # who may be a worker (issue 17)
    "ot_broker_new_secure": ("result", ["str", "str", "handle", "str", "str", "out"]),
    "ot_broker_new_from_files": ("result", ["str", "str", "handle", "str", "str", "out"]),
    "ot_broker_allow_worker": ("result", ["handle", "str"]),
    "ot_broker_backend_public": ("result", ["handle", "out"]),
    "ot_curve_public": ("result", ["str", "out"]),
    "ot_notary_bind_curve": ("result", ["handle", "str", "handle", "out"]),
    "ot_notary_set_transport_key": ("result", ["handle", "str", "u64"]),
    "ot_notary_transport_key": ("result", ["handle", "out"]),
    "ot_broker_bind_curve": ("result", ["handle", "str", "str", "out", "out"]),
    "ot_notary_vouch_transport_key": ("result", ["handle", "str", "str", "u64"]),
    # counters by name (hostile-network round 3)
    "ot_session_counter": ("result", ["handle", "str", "u64*"]),
    "ot_session_counter_name": ("str", ["size"]),
    "ot_notary_counter": ("result", ["handle", "str", "u64*"]),
    "ot_notary_counter_name": ("str", ["size"]),
    "ot_broker_counter": ("result", ["handle", "str", "u64*"]),
    "ot_broker_counter_name": ("str", ["size"]),
    # credentials, contracts, wallets (issue 22)
    "ot_wallet_master_key": ("result", ["bytes", "size", "bytes", "size", "out"]),
    "ot_nym_load": ("result", ["bytes", "size", "slices", "size", "bytes", "size", "out"]),
    "ot_nym_load_dir": ("result", ["str", "str", "bytes", "size", "out"]),
    "ot_nym_id": ("result", ["handle", "out"]),
    "ot_nym_key": ("result", ["handle", "u32", "out"]),
    "ot_nym_is_private": ("int", ["handle"]),
    "ot_nym_free": ("void", ["handle"]),
    "ot_contract_load": ("result", ["bytes", "size", "out"]),
    "ot_contract_id": ("result", ["handle", "out"]),
    "ot_contract_signer_id": ("result", ["handle", "out"]),
    "ot_contract_key": ("result", ["handle", "u32", "out"]),
    "ot_contract_endpoint": ("result", ["handle", "out"]),
    "ot_contract_free": ("void", ["handle"]),
    "ot_session_new_from_contract": ("result", ["handle", "str", "handle", "out"]),
    "ot_session_set_identity_nym": ("result", ["handle", "handle"]),
    "ot_notary_new_from_nym": ("result", ["str", "handle", "handle", "out"]),
}


def candidates() -> List[str]:
    """Where the library is looked for, in order: ``$OT_TRANSPORT_LIB`` (a file path), the copy
    bundled next to this package (wheels built by ``scripts/build-wheel``), then the system's
    loader path (an installed ``libot_transport.so.1``)."""
    out = []
    env = os.environ.get("OT_TRANSPORT_LIB")
    if env:
        out.append(env)
    here = Path(__file__).resolve().parent
    out.append(str(here / LIBRARY_NAME))
    out.append(LIBRARY_NAME)
    found = ctypes.util.find_library("ot_transport")
    if found and found not in out:
        out.append(found)
    return out


def load(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads the library (``path``, or the first of ``candidates()`` that loads) and declares
    every function of ``FUNCTIONS`` on it."""
    tried = []
    lib = None
    explicit = path or os.environ.get("OT_TRANSPORT_LIB")
    for cand in [path] if path else candidates():
        if os.sep in cand and not os.path.exists(cand):
            tried.append(f"{cand}: no such file")
            if cand == explicit:
                break
            continue
        try:
            lib = ctypes.CDLL(cand)
            break
        except OSError as e:
            tried.append(f"{cand}: {e}")
            if cand == explicit:
                break  # an explicit choice that fails is an error, not a reason to look elsewhere
    if lib is None:
        raise ImportError(
            "ot_transport: cannot load the shared library (set OT_TRANSPORT_LIB to its path, or "
            "install libot_transport.so.1):\n  " + "\n  ".join(tried)
        )
    missing = []
    for name, (res, args) in FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = TYPES[res]
        fn.argtypes = [TYPES[a] for a in args]
    if missing:
        raise ImportError(
            f"ot_transport: {lib._name} lacks {', '.join(missing)}: it is older than this binding"
        )
    return lib
