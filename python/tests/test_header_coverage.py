"""The binding cannot fall behind the C ABI: include/ot_transport.h is parsed and every exported
function must be declared in ot_transport._ffi.FUNCTIONS with the same types, every result code
must have its exception class, and every constant its enum member."""

from __future__ import annotations

import ctypes
import json
import re
from typing import Dict, List, Tuple

import ot_transport as ot
from ot_transport import _ffi
from conftest import HEADER

# C type (as written in the header, parameter name removed) -> token of _ffi.TYPES.
HANDLE_TYPES = {"ot_broker", "ot_buffer", "ot_contract", "ot_envelope", "ot_key", "ot_notary", "ot_nym", "ot_request", "ot_session", "ot_session_options", "ot_stream_opener", "ot_stream_sealer"}


def scalar_typedefs() -> Dict[str, str]:
    """``typedef uint32_t ot_armor_kind;`` and the like: enum-valued integers of the ABI."""
    return dict(
        (m.group(2), m.group(1))
        for m in re.finditer(r"^typedef (u?int\d+_t) (ot_\w+);", HEADER.read_text(), re.M)
    )


def c_token(ctype: str, is_result: bool) -> str:
    t = re.sub(r"\s+", " ", ctype.replace("*", " * ")).strip()
    t = t.replace("* *", "**")
    base = t.replace("const ", "")
    if base in ("void", "int", "size_t", "int64_t", "uint32_t", "uint64_t", "ot_result"):
        return {"size_t": "size", "int64_t": "i64", "uint32_t": "u32", "uint64_t": "u64", "ot_result": "result"}.get(
            base, base
        )
    if base in scalar_typedefs():
        return c_token(scalar_typedefs()[base], is_result)
    if base == "char *":
        return "str"
    if base == "uint8_t *":
        if is_result:
            return "data"
        return "bytes" if t.startswith("const ") else "outbytes"
    if base == "int64_t *":
        return "i64*"
    if base == "int32_t *":
        return "i32*"
    if base == "uint64_t *":
        return "u64*"
    if base == "size_t *":
        return "size*"
    if base == "ot_result *":
        return "result*"
    if base == "uint32_t *":
        return "u32*"
    if base.endswith(" *") and base[:-2] in scalar_typedefs():  # ot_protocol * -> uint32_t *
        return c_token(scalar_typedefs()[base[:-2]] + " *", is_result)
    if base in ("ot_session_stats *", "ot_notary_stats *", "ot_broker_stats *"):
        return base[3:-2] + "*"
    if base == "ot_recipient *":
        return "recipients"
    if base == "ot_slice *":
        return "slices"
    m = re.fullmatch(r"(ot_\w+) (\*\*?)", base)
    if m and m.group(1) in HANDLE_TYPES:
        return "handle" if m.group(2) == "*" else "out"
    return f"<no token for C type {ctype!r}>"


def header_functions() -> Dict[str, Tuple[str, List[str]]]:
    text = HEADER.read_text()
    body = text.split('extern "C" {', 1)[1].rsplit("#ifdef __cplusplus", 1)[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    body = re.sub(r"#[^\n]*", "", body)
    out: Dict[str, Tuple[str, List[str]]] = {}
    for decl in body.split(";"):
        decl = " ".join(decl.split())
        if not decl:
            continue
        m = re.fullmatch(r"(.*?)\b(ot_\w+)\((.*)\)", decl)
        assert m, f"cannot parse header declaration: {decl}"
        ret, name, params = m.groups()
        args: List[str] = []
        if params.strip() != "void":
            for p in params.split(","):
                p = p.strip()
                pm = re.fullmatch(r"(.*?)\s*\b(\w+)", p)
                assert pm, f"{name}: cannot parse parameter {p!r}"
                args.append(c_token(pm.group(1), False))
        out[name] = (c_token(ret.strip(), True), args)
    return out


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
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(rf"#define ({prefix}\w*) (\d+)", HEADER.read_text())
    }


def test_stats_structs_match_the_header() -> None:
    text = HEADER.read_text()
    for cname, cls in (
        ("ot_session_stats", _ffi.SessionStats),
        ("ot_notary_stats", _ffi.NotaryStats),
        ("ot_broker_stats", _ffi.BrokerStats),
    ):
        m = re.search(r"typedef struct \{([^{}]*)\} " + cname + ";", text, re.S)
        assert m, cname
        body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
        fields = re.findall(r"(\w+) (\w+);", body)
        assert all(t == "uint64_t" for t, _ in fields), cname
        assert [n for _, n in fields] == [f[0] for f in cls._fields_], cname
        assert all(f[1] is ctypes.c_uint64 for f in cls._fields_), cname


def test_slice_struct_matches_the_header() -> None:
    m = re.search(r"typedef struct \{([^{}]*)\} ot_slice;", HEADER.read_text(), re.S)
    assert m, "ot_slice"
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    fields = [(" ".join(ty.split()), name) for ty, name in re.findall(r"([\w ]+?\*?)\s*(\w+);", body)]
    assert fields == [("const uint8_t *", "data"), ("size_t", "len")]
    assert [f[0] for f in _ffi.Slice._fields_] == ["data", "len"]
    assert _ffi.Slice._fields_[1][1] is ctypes.c_size_t


def test_every_result_code_has_its_exception_class() -> None:
    codes = {m.group(1): int(m.group(2)) for m in re.finditer(r"\b(OT_(?:OK|ERR_\w+)) = (\d+)", HEADER.read_text())}
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
    missing = sorted(n for n in header_functions() if not re.search(rf"\b{n}\b", code))
    assert not missing, (
        f"{len(missing)} function(s) of include/ot_transport.h have no wrapper in "
        f"include/ot_transport.hpp: {', '.join(missing)}"
    )
