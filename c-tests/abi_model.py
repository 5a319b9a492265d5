"""One model of the C ABI, read from include/ot_transport.h, for every test that needs it.

The handle walk (c-tests/gen_handle_walk.py), the NULL-argument walk (c-tests/gen_null_walk.py)
and the binding coverage checks (python/tests/test_header_coverage.py) all read the header
through this module, so they cannot disagree about what the ABI is.

What it gives:

* ``functions``: every exported function in header order, with its return type, its typed
  parameters and its doc comment;
* ``handles``: the opaque handle types (``typedef struct ot_x ot_x;``);
* ``scalars``: the integer typedefs (``typedef uint32_t ot_armor_kind;``);
* ``structs``: the plain structs with their fields (``ot_recipient``, ``ot_slice``, the stats);
* ``results``: the ``ot_result`` codes, and ``defines``: every numeric ``#define``;
* which pointer parameters are (pointer, length) pairs, and which are **optional by contract**
  (``OPTIONAL`` below: the one explicit list, checked against the header's own doc comments).

A function whose pointer parameter may be NULL by contract but is not in ``OPTIONAL`` makes the
NULL walk fail (it expects ``OT_ERR_NULL_ARGUMENT`` there and names the list to extend), and an
``OPTIONAL`` entry the header does not document, or that names no such parameter, makes
``load()`` fail: a new optional parameter cannot go unnoticed.

usage as a script: abi_model.py [HEADER]  (prints a summary; exits non-zero if the model is broken)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HEADER = Path(__file__).resolve().parents[1] / "include" / "ot_transport.h"

# Pointer parameters that may be NULL by contract, with what NULL means. Every entry must be a
# pointer parameter of a function in the header whose doc comment says so (load() checks it).
# A (pointer, length) pair member listed here accepts NULL with length 0 and must refuse NULL
# with a length above 0 like any pair.
OPTIONAL: Dict[Tuple[str, str], str] = {
    ("ot_armor_encode", "bookend_type"): "bare armor, no bookends",
    ("ot_broker_new", "options"): "default options",
    ("ot_broker_bind_curve", "secret_z85"): "a generated key",
    ("ot_broker_new_from_files", "options"): "default options",
    ("ot_broker_new_secure", "options"): "default options",
    ("ot_broker_new_secure", "workers"): "no workers yet",
    ("ot_envelope_open", "nym_id"): "the key's own NymID",
    ("ot_envelope_open_armor", "nym_id"): "as ot_envelope_open: the key's own NymID",
    ("ot_envelope_open_bytes", "nym_id"): "as ot_envelope_open: the key's own NymID",
    ("ot_key_load", "passphrase"): "no passphrase (with pass_len 0)",
    ("ot_notary_bind", "options"): "default options",
    ("ot_notary_bind_curve", "options"): "default options",
    ("ot_notary_connect", "options"): "default options",
    ("ot_notary_new", "options"): "default options",
    ("ot_notary_new_from_nym", "options"): "default options (as ot_notary_new)",
    ("ot_notary_reply", "recipient_encryption_public"): "legacy unencrypted MESSAGE reply",
    ("ot_nym_load", "passphrase"): "no passphrase: public keys only (with pass_len 0)",
    ("ot_nym_load_dir", "passphrase"): "no passphrase: public keys only (with pass_len 0)",
    ("ot_request_verify", "content"): "verify only, no content returned",
    ("ot_session_new", "options"): "legacy defaults",
    ("ot_session_new_from_contract", "endpoint"): "the contract's own notary endpoint",
    ("ot_session_new_from_contract", "options"): "legacy defaults",
    ("ot_signed_create", "meta"): "no Meta: line",
    ("ot_signed_verify", "content"): "verify only, no content returned",
    ("ot_stream_open_init", "nym_id"): "every entry in order",
    ("ot_zmq_version", "major"): "that part is not returned",
    ("ot_zmq_version", "minor"): "that part is not returned",
    ("ot_zmq_version", "patch"): "that part is not returned",
}

# Where a parameter's documentation lives in another function's doc comment ("as ot_notary_new").
DOCUMENTED_BY = {
    ("ot_nym_load_dir", "passphrase"): "ot_nym_load",
    ("ot_notary_new_from_nym", "options"): "ot_notary_new",
}


@dataclass(frozen=True)
class Param:
    """One parameter (or struct field): its C type as written, normalised
    (``const uint8_t *``), and its name."""

    ctype: str
    name: str

    @property
    def stars(self) -> int:
        return self.ctype.count("*")

    @property
    def base(self) -> str:
        """The type without const and stars: ``uint8_t``, ``ot_key``."""
        return self.ctype.replace("const ", "").replace("*", "").strip()

    @property
    def is_const(self) -> bool:
        return self.ctype.startswith("const ")

    @property
    def is_pointer(self) -> bool:
        return self.stars > 0


@dataclass
class Function:
    name: str
    ret: str
    params: List[Param]
    doc: str = ""

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no parameter {name!r}")

    def index(self, name: str) -> int:
        return [p.name for p in self.params].index(name)


@dataclass
class Abi:
    header: Path
    functions: Dict[str, Function] = field(default_factory=dict)
    handles: List[str] = field(default_factory=list)
    scalars: Dict[str, str] = field(default_factory=dict)
    structs: Dict[str, List[Param]] = field(default_factory=dict)
    results: Dict[str, int] = field(default_factory=dict)
    defines: Dict[str, int] = field(default_factory=dict)
    optional: Dict[Tuple[str, str], str] = field(default_factory=dict)

    # ---- kinds of parameters ---------------------------------------------------------------

    def is_handle(self, p: Param) -> bool:
        """``ot_key *`` / ``const ot_key *``: a handle passed in."""
        return p.stars == 1 and p.base in self.handles

    def is_out_handle(self, p: Param) -> bool:
        """``ot_buffer **``: a new object comes out."""
        return p.stars == 2 and p.base in self.handles

    def is_struct(self, p: Param) -> bool:
        return p.base in self.structs

    def length_of(self, fn: Function, p: Param) -> Optional[Param]:
        """The ``size_t`` length that follows a data pointer ((pointer, length) pair), or None.
        A handle followed by a size_t (``ot_envelope_recipient_id(envelope, index, …)``) is no
        pair."""
        i = fn.index(p.name)
        if not p.is_pointer or self.is_handle(p) or p.stars != 1 or i + 1 >= len(fn.params):
            return None
        nxt = fn.params[i + 1]
        return nxt if nxt.ctype == "size_t" else None

    def pointer_params(self, fn: Function) -> List[Param]:
        return [p for p in fn.params if p.is_pointer]

    def is_optional(self, fn: Function, p: Param) -> bool:
        return (fn.name, p.name) in self.optional

    def no_object_value(self, fn: Function) -> Optional[str]:
        """What a getter returns for NULL or a handle that is not live: NULL for pointers, 0 for
        numbers; None for void (and ot_result, which has an error code instead)."""
        if fn.ret == "void" or fn.ret == "ot_result":
            return None
        return "NULL" if "*" in fn.ret else "0"

    def with_pointers(self) -> List[Function]:
        return [f for f in self.functions.values() if self.pointer_params(f)]


def _norm_type(t: str) -> str:
    t = re.sub(r"\s+", " ", t.replace("*", " * ")).strip()
    return t.replace("* *", "**").replace(" **", " **")


def _split_param(text: str, where: str) -> Param:
    m = re.fullmatch(r"(.*?[\s*])(\w+)", text.strip())
    if not m:
        raise ValueError(f"{where}: cannot parse parameter {text!r}")
    return Param(_norm_type(m.group(1)), m.group(2))


def _doc_text(comment: str) -> str:
    lines = [re.sub(r"^\s*\*\s?", "", ln) for ln in comment.strip("/*").splitlines()]
    return " ".join(" ".join(lines).split())


def parse(header: Path = HEADER) -> Abi:
    text = Path(header).read_text()
    abi = Abi(Path(header))
    abi.handles = sorted(set(re.findall(r"^typedef struct (ot_\w+) \1;", text, re.M)))
    abi.scalars = {m.group(2): m.group(1) for m in re.finditer(r"^typedef (u?int\d+_t) (ot_\w+);", text, re.M)}
    for m in re.finditer(r"^typedef struct \{(.*?)\} (ot_\w+);", text, re.M | re.S):
        body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
        abi.structs[m.group(2)] = [_split_param(f, m.group(2)) for f in body.split(";") if f.strip()]
    enum = re.search(r"typedef enum \{(.*?)\} ot_result;", text, re.S)
    if not enum:
        raise ValueError("no `typedef enum { … } ot_result;` in the header")
    abi.results = {m.group(1): int(m.group(2)) for m in re.finditer(r"\b(OT_\w+) = (\d+)", enum.group(1))}
    abi.defines = {m.group(1): int(m.group(2)) for m in re.finditer(r"^#define (OT_\w+) (\d+)\b", text, re.M)}

    if 'extern "C" {' not in text:
        raise ValueError('no extern "C" block in the header')
    body = text.split('extern "C" {', 1)[1].rsplit("#ifdef __cplusplus", 1)[0]
    body = re.sub(r"#[^\n]*", "", body)
    for m in re.finditer(r"(/\*\*.*?\*/)|([^;/]+;)", body, re.S):
        if m.group(1):
            doc = _doc_text(m.group(1))
            continue
        decl = " ".join(m.group(2).split())
        dm = re.fullmatch(r"(.*?)\b(ot_\w+)\((.*)\);", decl)
        if not dm:
            raise ValueError(f"cannot parse header declaration: {decl!r}")
        ret, name, params = dm.groups()
        plist = [] if params.strip() in ("", "void") else params.split(",")
        abi.functions[name] = Function(name, _norm_type(ret), [_split_param(p, name) for p in plist], doc)
        doc = ""
    abi.optional = dict(OPTIONAL)
    return abi


def check(abi: Abi) -> List[str]:
    """Problems of the model against the header (empty when it holds)."""
    problems = []
    if len(abi.functions) < 60:
        problems.append(f"only {len(abi.functions)} functions parsed: the header parse broke")
    if not abi.handles:
        problems.append("no handle types parsed")
    for (fname, pname), why in sorted(abi.optional.items()):
        fn = abi.functions.get(fname)
        if fn is None:
            problems.append(f"OPTIONAL names {fname}, which the header does not declare")
            continue
        if pname not in [p.name for p in fn.params]:
            problems.append(f"OPTIONAL names `{pname}` of {fname}, which has no such parameter")
            continue
        if not fn.param(pname).is_pointer:
            problems.append(f"OPTIONAL names `{pname}` of {fname}, which is no pointer")
        doc = abi.functions[DOCUMENTED_BY.get((fname, pname), fname)].doc
        if not documents_null(doc, pname):
            problems.append(
                f"OPTIONAL says `{pname}` of {fname} may be NULL ({why}), but its doc comment does "
                "not say so: document it in the Rust doc comment, or remove the entry"
            )
    for fn in abi.functions.values():
        for p in fn.params:
            if p.stars and p.base not in abi.handles and p.base not in abi.structs and p.base not in abi.scalars \
                    and p.base not in ("uint8_t", "char", "int32_t", "int64_t", "uint32_t", "uint64_t",
                                       "size_t", "ot_result", "void", "int"):
                problems.append(f"{fn.name}: `{p.name}` has a pointer type the model does not know: {p.ctype}")
    return problems


def documents_null(doc: str, pname: str) -> bool:
    """The doc comment says `pname` may be NULL (or, for "any of the pointers", all may)."""
    if "Any of the pointers may be NULL" in doc:
        return True
    for sentence in re.split(r"(?<=\.)\s+(?=[A-Z`(])", doc):
        if re.search(rf"\b{pname}\b", sentence) and "NULL" in sentence and "NULL only when" not in sentence:
            return True
    return False


def load(header: Path = HEADER) -> Abi:
    abi = parse(header)
    problems = check(abi)
    if problems:
        raise SystemExit("abi_model: " + "\n  ".join(["the model does not hold:"] + problems))
    return abi


if __name__ == "__main__":
    a = load(Path(sys.argv[1]) if len(sys.argv) > 1 else HEADER)
    n_ptr = sum(len(a.pointer_params(f)) for f in a.functions.values())
    print(f"{len(a.functions)} functions ({len(a.with_pointers())} with {n_ptr} pointer parameters), "
          f"{len(a.handles)} handle types, {len(a.scalars)} scalar typedefs, {len(a.structs)} structs, "
          f"{len(a.results)} result codes, {len(a.optional)} optional parameters")
