"""The binding cannot fall behind the C ABI: include/ot_transport.h is read through the one ABI
model of the tests (c-tests/abi_model.py, which the C handle and NULL walks are generated from) and every exported
function must be declared in ot_transport._ffi.FUNCTIONS with the same types, every result code
must have its exception class, and every constant its enum member."""

from __future__ import annotations

import ctypes
import importlib.util
import json
import re
import sys
from typing import Dict, List, Tuple

import ot_transport as ot
from ot_transport import _ffi
from conftest import HEADER, REPO


def _load_abi_model():
    """c-tests/abi_model.py, the one reading of the header that the C walks use too."""
    spec = importlib.util.spec_from_file_location("abi_model", REPO / "c-tests" / "abi_model.py")
    assert spec and spec.loader, "c-tests/abi_model.py not found"
    mod = importlib.util.module_from_spec(spec)
    sys.modules["abi_model"] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


abi_model = _load_abi_model()
ABI = abi_model.parse(HEADER)

# Plain C types (as the model normalises them) -> token of _ffi.TYPES.
PLAIN = {"void": "void", "int": "int", "size_t": "size", "int64_t": "i64", "uint32_t": "u32", "uint64_t": "u64",
         "ot_result": "result"}
POINTERS = {
    "char *": "str",
    "int64_t *": "i64*",
    "int32_t *": "i32*",
    "uint64_t *": "u64*",
    "uint32_t *": "u32*",
    "size_t *": "size*",
    "ot_result *": "result*",
    "ot_recipient *": "recipients",
    "ot_slice *": "slices",
}


def c_token(ctype: str, is_result: bool) -> str:
    p = abi_model.Param(ctype, "")
    stars = "*" * p.stars
    if p.base in ABI.scalars:  # ot_armor_kind -> uint32_t, ot_protocol * -> uint32_t *
        return c_token(f"{ABI.scalars[p.base]} {stars}".strip(), is_result)
    if not p.stars and p.base in PLAIN:
        return PLAIN[p.base]
    if p.stars == 1 and p.base == "uint8_t":
        if is_result:
            return "data"
        return "bytes" if p.is_const else "outbytes"
    if p.stars == 1 and p.base in ABI.structs and p.base.endswith("_stats"):
        return p.base[3:] + "*"
    if p.stars == 1 and f"{p.base} *" in POINTERS:
        return POINTERS[f"{p.base} *"]
    if p.base in ABI.handles:
        return {1: "handle", 2: "out"}.get(p.stars, f"<no token for C type {ctype!r}>")
    return f"<no token for C type {ctype!r}>"


def header_functions() -> Dict[str, Tuple[str, List[str]]]:
    return {
        f.name: (c_token(f.ret, True), [c_token(p.ctype, False) for p in f.params])
        for f in ABI.functions.values()
    }


def test_the_abi_model_holds() -> None:
    """Every OPTIONAL entry names a pointer parameter the header documents as NULL-able, and
    every pointer type is one the model knows (the C walks are generated from the same model)."""
    assert abi_model.check(ABI) == []


def test_header_is_parsed() -> None:
    fns = header_functions()
    assert len(fns) >= 59
    assert fns["ot_envelope_open"] == ("result", ["handle", "str", "handle", "out"])


def test_every_header_function_is_bound() -> None:
    fns = header_functions()
    missing = sorted(set(fns) - set(_ffi.FUNCTIONS))
    assert not missing, (
        f"{len(missing)} function(s) of include/ot_transport.h are not bound in "
        f"python/ot_transport/_ffi.py FUNCTIONS: {', '.join(missing)}. Add one line per function:\n"
        + "\n".join(f'    "{n}": ("{fns[n][0]}", {json.dumps(fns[n][1])}),' for n in missing)
    )
    stale = sorted(set(_ffi.FUNCTIONS) - set(fns))
    assert not stale, f"bound in _ffi.FUNCTIONS but not in the header: {', '.join(stale)}"


def test_every_binding_has_the_header_signature() -> None:
    fns = header_functions()
    wrong = [
        f"{n}: header {fns[n]!r}, binding {_ffi.FUNCTIONS[n]!r}"
        for n in sorted(set(fns) & set(_ffi.FUNCTIONS))
        if fns[n] != (_ffi.FUNCTIONS[n][0], list(_ffi.FUNCTIONS[n][1]))
    ]
    assert not wrong, "signatures differ from include/ot_transport.h:\n" + "\n".join(wrong)


def test_every_bound_function_is_declared_on_the_loaded_library() -> None:
    for name, (res, args) in _ffi.FUNCTIONS.items():
        fn = getattr(ot.lib, name)
        assert fn.restype is _ffi.TYPES[res], name
        assert list(fn.argtypes) == [_ffi.TYPES[a] for a in args], name


def defines(prefix: str) -> Dict[str, int]:
    return {n: v for n, v in ABI.defines.items() if n.startswith(prefix)}


def test_stats_structs_match_the_header() -> None:
    for cname, cls in (
        ("ot_session_stats", _ffi.SessionStats),
        ("ot_notary_stats", _ffi.NotaryStats),
        ("ot_broker_stats", _ffi.BrokerStats),
    ):
        fields = ABI.structs[cname]
        assert all(f.ctype == "uint64_t" for f in fields), cname
        assert [f.name for f in fields] == [f[0] for f in cls._fields_], cname
        assert all(f[1] is ctypes.c_uint64 for f in cls._fields_), cname
    assert sorted(n for n in ABI.structs if n.endswith("_stats")) == [
        "ot_broker_stats", "ot_notary_stats", "ot_session_stats"
    ], "a new stats struct: bind it in python/ot_transport/_ffi.py and list it here"


def test_slice_struct_matches_the_header() -> None:
    fields = [(f.ctype, f.name) for f in ABI.structs["ot_slice"]]
    assert fields == [("const uint8_t *", "data"), ("size_t", "len")]
    assert [f[0] for f in _ffi.Slice._fields_] == ["data", "len"]
    assert _ffi.Slice._fields_[1][1] is ctypes.c_size_t


def test_every_result_code_has_its_exception_class() -> None:
    codes = dict(ABI.results)
    assert codes["OT_OK"] == 0
    errors = {n: c for n, c in codes.items() if n != "OT_OK"}
    assert max(errors.values()) == defines("OT_RESULT_MAX")["OT_RESULT_MAX"]
    missing = sorted(n for n, c in errors.items() if c not in ot.ERRORS or ot.ERRORS[c].name != n)
    assert not missing, f"no exception class in python/ot_transport/_errors.py for: {', '.join(missing)}"
    assert len(ot.ERRORS) == len(errors)
    for cls in ot.ERRORS.values():
        assert issubclass(cls, ot.OtError) and getattr(ot, cls.__name__) is cls
        assert ot.result_str(cls.code) not in ("", "unknown result code")


def test_constants_match() -> None:
    assert {f"OT_KEY_FORMAT_{m.name}": m.value for m in ot.KeyFormat} == defines("OT_KEY_FORMAT_")
    assert {f"OT_ARMOR_{m.name}": m.value for m in ot.ArmorKind} == defines("OT_ARMOR_")
    # AUTO (2) is an option value only, not an ot_protocol result
    assert {f"OT_PROTOCOL_{m.name}": m.value for m in ot.Protocol if m is not ot.Protocol.AUTO} == defines("OT_PROTOCOL_")
    assert {f"OT_KEY_ROLE_{m.name}": m.value for m in ot.KeyRole} == defines("OT_KEY_ROLE_")
    lens = defines("OT_")
    assert (lens["OT_SAMY_LEN"], lens["OT_SHA256_LEN"], lens["OT_WHIRLPOOL_LEN"]) == (32, 32, 64)
    assert (lens["OT_STREAM_CHUNK_LEN"], lens["OT_STREAM_SEALED_CHUNK_LEN"]) == (
        ot.STREAM_CHUNK_LEN,
        ot.STREAM_SEALED_CHUNK_LEN,
    )
    assert (len(ot.samy(b"")), len(ot.sha256(b"")), len(ot.whirlpool(b""))) == (32, 32, 64)
    assert lens["OT_TRANSPORT_ABI_VERSION"] == _ffi.ABI_VERSION
    v = ".".join(str(lens[f"OT_TRANSPORT_VERSION_{p}"]) for p in ("MAJOR", "MINOR", "PATCH"))
    assert v == ot.version()


def test_every_header_function_is_used_by_the_cxx_wrappers() -> None:
    hpp = (HEADER.parent / "ot_transport.hpp").read_text()
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", hpp, flags=re.S)  # uses, not mentions in comments
    missing = sorted(n for n in ABI.functions if not re.search(rf"\b{n}\b", code))
    assert not missing, (
        f"{len(missing)} function(s) of include/ot_transport.h have no wrapper in "
        f"include/ot_transport.hpp: {', '.join(missing)}"
    )
