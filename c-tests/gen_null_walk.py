#!/usr/bin/env python3
"""Generates the NULL-argument walk C test from the public header, through c-tests/abi_model.py.

Every exported function with a pointer parameter is called once per pointer parameter with NULL
there and valid values everywhere else (live objects of every type from
c-tests/null_walk/null_walk_fixture.h):

* a required pointer: ``OT_ERR_NULL_ARGUMENT``, ``ot_last_error()`` set by this call and naming
  the parameter, and no output written;
* a (pointer, length) pair: NULL with a length above 0 is refused as above; NULL with length 0
  may be accepted (or refused with a documented code and a detail, writing nothing);
* a pointer the model lists as optional by contract (``abi_model.OPTIONAL``): the call succeeds
  (the documented meaning of NULL, e.g. default options), and a void function writes the
  outputs it was given;
* the pointer fields of a struct argument (``recipients[0].key``, ``credentials[0].data``)
  are walked the same way;
* getters returning plain values answer their no-object value (NULL, 0) and ``*_free(NULL)``
  does nothing.

A new function whose arguments the rows below cannot make fails the generation, naming the row
to add; a new optional parameter that is not in ``abi_model.OPTIONAL`` fails the walk.

usage: gen_null_walk.py HEADER OUT.c
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import abi_model  # noqa: E402

header, out = sys.argv[1], sys.argv[2]
abi = abi_model.load(Path(header))

# ---- argument rows: a valid value for every parameter -------------------------------------------
# Looked up by (function, parameter), then by parameter name. Byte strings name a `blob` of the
# fixture (pointer .p, length .n); strings and handles are C expressions of the fixture.

BLOBS = {
    ("ot_armor_decode", "text"): "armored",
    ("ot_contract_load", "text"): "contract",
    ("ot_envelope_parse", "data"): "env_bytes",
    ("ot_envelope_from_armor", "text"): "env_armor",
    ("ot_envelope_open_bytes", "data"): "env_bytes",
    ("ot_envelope_open_armor", "text"): "env_armor",
    ("ot_envelope_encrypt_symmetric", "raw_key"): "raw16",
    ("ot_envelope_decrypt_symmetric", "raw_key"): "raw16",
    ("ot_key_load", "data"): "key_pem",
    ("ot_nym_load", "list"): "dyeb_list",
    ("ot_session_options_load_ini", "text"): "ini",
    ("ot_signed_verify", "text"): "signed_text",
    ("ot_signed_content", "text"): "signed_text",
    "passphrase": "pass",
}
DEFAULT_BLOB = "small"  # "abc": data to hash, encode, seal, sign or send

STRINGS = {
    ("ot_broker_new", "frontend_endpoint"): '"tcp://127.0.0.1:*"',
    ("ot_broker_new", "backend_endpoint"): '"inproc://null-walk-broker"',
    ("ot_broker_new_secure", "frontend_endpoint"): '"tcp://127.0.0.1:*"',
    ("ot_broker_new_secure", "backend_endpoint"): '"tcp://127.0.0.1:*"',
    ("ot_broker_new_from_files", "frontend_endpoint"): '"tcp://127.0.0.1:*"',
    ("ot_broker_new_from_files", "backend_endpoint"): '"tcp://127.0.0.1:*"',
    "backend_secret_z85": "BUF_STR(curve_sec)",
    "secret_z85": "BUF_STR(curve_sec)",
    "workers": "BUF_STR(curve_pub)",
    "worker_public_z85": "BUF_STR(curve_pub)",
    "key_file": "walk_key_file",
    "workers_file": "walk_workers_file",
    ("ot_notary_bind", "endpoint"): '"tcp://127.0.0.1:*"',
    ("ot_notary_bind_curve", "endpoint"): '"tcp://127.0.0.1:*"',
    ("ot_broker_bind_curve", "endpoint"): '"tcp://127.0.0.1:*"',
    ("ot_notary_vouch_transport_key", "endpoint"): '"tcp://*:7087"',
    "public_z85": "BUF_STR(curve_pub)",
    ("ot_notary_connect", "backend_endpoint"): "broker_backend",
    ("ot_session_new", "endpoint"): "NOWHERE",
    ("ot_session_new_from_contract", "endpoint"): "NOWHERE",
    ("ot_envelope_open", "nym_id"): "key_id",
    ("ot_nym_load_dir", "nym_id"): "DYEB",
    ("ot_notary_register_push", "nym_id"): '"subscriber"',
    ("ot_notary_push", "nym_id"): '"subscriber"',
    ("ot_session_options_set", "name"): '"max_resends"',
    ("ot_session_options_get", "name"): '"max_resends"',
    ("ot_session_counter", "name"): '"replies"',
    ("ot_notary_counter", "name"): '"requests"',
    ("ot_broker_counter", "name"): '"requests"',
    "bind_endpoint": '"tcp://127.0.0.1:*"',
    "nym_id": "key_id",
    "notary_nym_id": "key_id",
    "doc_type": '"MESSAGE"',
    "meta": '"ADT9"',
    "bookend_type": '"ENVELOPE"',
    "id": '"abc"',
    "credentials_dir": "PUBCRED",
    "server_secret_z85": "BUF_STR(curve_sec)",
    "server_public_z85": "BUF_STR(curve_pub)",
    "client_public_z85": "BUF_STR(curve_pub)",
    "client_secret_z85": "BUF_STR(curve_sec)",
}

HANDLES = {
    ("ot_request_verify", "sender_auth_public"): "client_auth",
    ("ot_notary_reply", "recipient_encryption_public"): "client_enc",
    ("ot_stream_open_init", "private_key"): "xkey",  # streams take X25519 keys
}

SCALARS = {
    "ot_armor_kind": "OT_ARMOR_DATA",
    "ot_key_role": "OT_KEY_ROLE_AUTH",
    "ot_key_format": "OT_KEY_FORMAT_SPKI_PEM",
    ("uint32_t", "timeout_ms"): "0",  # never wait: a walk call must not block
    ("uint32_t", "bits"): "1024",
    ("int", "bookends"): "0",
    ("int64_t", "value"): "0",
    ("size_t", "index"): "0",
    ("uint64_t", "index"): "0",
    ("int", "last"): "1",
    ("size_t", "in_len"): "3",
    ("size_t", "out_cap"): "128",  # the size of the output area a plain output gets (uint64_t[16])
    ("uint64_t", "valid_until"): "4102444800u",  # 2100-01-01
}

# Where the library's refusal names a parameter differently from the header. Each row is a
# mismatch to fix in src/ffi (then delete the row), not a second name.
ERROR_NAMES = {
    ("ot_signed_create", "doc_type"): "type",  # src/ffi/signed.rs says "argument `type` is NULL"
}

# Struct arrays: (array expression, element count).
ARRAYS = {"ot_recipient": ("rcp", "1"), "ot_slice": ("creds", "n_creds")}


def row(table, fn, pname):
    return table.get((fn.name, pname), table.get(pname))


def missing(fn, p, what):
    sys.exit(
        f"gen_null_walk: no {what} for `{p.name}` ({p.ctype}) of {fn.name}: add a row to "
        f"c-tests/gen_null_walk.py (and an object to null_walk_fixture.h if it needs one)"
    )


class Call:
    """One generated call: argument expressions, and the locals that receive its outputs."""

    def __init__(self, fn):
        self.fn = fn
        self.args = []
        self.decls = []  # local declarations
        self.checks = []  # expressions true when the output was not written
        self.frees = []  # statements freeing what was written
        self.written = []  # expressions true when the output was written


def build(fn, null_at=None, null_len=None, field=None):
    """The call of `fn` with NULL for parameter `null_at` (its length `null_len` when a pair),
    or with NULL in `field` of element 0 of struct parameter `null_at`."""
    c = Call(fn)
    skip_len = None
    for i, p in enumerate(fn.params):
        if skip_len == i:
            continue
        nxt = abi.length_of(fn, p)
        if p.name == null_at and field is None:
            c.args.append("NULL")
            if nxt is not None:
                c.args.append(null_len)
                skip_len = i + 1
            continue
        if abi.is_out_handle(p):
            v = f"o{i}"
            c.decls.append(f"{p.base} *{v} = ({p.base} *)SENTINEL;")
            c.args.append(f"&{v}")
            c.checks.append(f"{v} == ({p.base} *)SENTINEL")
            c.written.append(f"{v} != ({p.base} *)SENTINEL")
            c.frees.append(f"if ({v} != ({p.base} *)SENTINEL) {p.base}_free({v});")
        elif abi.is_handle(p):
            c.args.append(row(HANDLES, fn, p.name) or f"live_{p.base}")
        elif p.is_pointer and not p.is_const:  # plain output: int64_t *, uint8_t out[32], stats
            v = f"s{i}"
            c.decls.append(f"uint64_t {v}[16];")
            c.decls.append(f"memset({v}, 0xA5, sizeof {v});")
            c.args.append(f"({p.ctype})(void *){v}")
            c.checks.append(f"untouched({v}, sizeof {v})")
            c.written.append(f"!untouched({v}, sizeof {v})")
        elif p.base in ARRAYS:
            arr, count = ARRAYS[p.base]
            if p.name == null_at:  # a field of element 0 is NULL
                v = f"a{i}"
                c.decls.append(f"{p.base} {v}[8];")
                c.decls.append(f"memcpy({v}, {arr}, sizeof {v});")
                c.decls.append(f"{v}[0].{field} = NULL;")
                if field_len(p.base, field):
                    c.decls.append(f"{v}[0].{field_len(p.base, field)} = {null_len};")
                arr = v
            c.args.append(arr)
            if nxt is None:
                missing(fn, p, "count after this array")
            c.args.append(count)
            skip_len = i + 1
        elif p.ctype == "const uint8_t *":
            b = row(BLOBS, fn, p.name) or DEFAULT_BLOB
            c.args.append(f"{b}.p")
            if nxt is not None:
                c.args.append(f"{b}.n")
                skip_len = i + 1
        elif p.ctype == "const char *":
            s = row(STRINGS, fn, p.name)
            if s is None:
                missing(fn, p, "string")
            c.args.append(s)
        elif not p.is_pointer:
            s = SCALARS.get(p.ctype) or SCALARS.get((p.ctype, p.name))
            if s is None:
                missing(fn, p, "scalar value")
            c.args.append(s)
        else:
            missing(fn, p, "value")
    return c


def field_len(struct, fld):
    """The length field that goes with a pointer field (``ot_slice.data`` -> ``len``)."""
    fields = abi.structs[struct]
    names = [f.name for f in fields]
    i = names.index(fld)
    return names[i + 1] if i + 1 < len(fields) and fields[i + 1].ctype == "size_t" else None


lines = []
w = lines.append
cases = 0


def emit(c, label, how, what):
    """how: refused | maybe (pair NULL with 0) | accepted (optional) | no_object | free | writes."""
    global cases
    cases += 1
    fn = c.fn
    w(f"  {{ /* {fn.name}: {label} */")
    for d in c.decls:
        w(f"    {d}")
    call = f"{fn.name}({', '.join(c.args)})"
    untouched = " && ".join(c.checks) or "1"
    if how == "free":
        w(f"    {call};")
        w(f'    done("{fn.name}", "{what}");')
    elif how == "no_object":
        w(f"    no_object(\"{fn.name}\", \"{what}\", {call} == {abi.no_object_value(fn)});")
    elif how == "writes":
        w(f"    {call};")
        written = " && ".join(c.written) or "1"
        w(f'    wrote_outputs("{fn.name}", "{what}", {written});')
    else:
        w("    canary();")
        w(f"    ot_result rc = {call};")
        w(f"    int kept = {untouched};")
        for f in c.frees:
            w(f"    {f}")
        needle = ERROR_NAMES.get((fn.name, what), what)
        w(f'    {how}("{fn.name}", "{what}", "{needle}", rc, kept);')
        w(f'    after("{fn.name}", rc);')
    w("  }")


walked = []
for fn in abi.functions.values():
    ptrs = abi.pointer_params(fn)
    if not ptrs:
        continue
    walked.append(fn.name)
    for p in ptrs:
        opt = abi.is_optional(fn, p)
        if fn.ret == "void":
            if fn.name.endswith("_free") and len(fn.params) == 1 and abi.is_handle(p):
                emit(build(fn, p.name), f"`{p.name}` NULL: a no-op", "free", p.name)
            elif opt:
                emit(build(fn, p.name), f"`{p.name}` NULL (optional): the other outputs are written",
                     "writes", p.name)
            else:
                sys.exit(f"gen_null_walk: {fn.name} returns nothing and `{p.name}` is not optional: "
                         "what should NULL do? Extend gen_null_walk.py")
            continue
        if fn.ret != "ot_result":
            if not abi.is_handle(p):
                sys.exit(f"gen_null_walk: {fn.name} returns {fn.ret} and takes `{p.name}` ({p.ctype}): "
                         "extend gen_null_walk.py")
            emit(build(fn, p.name), f"`{p.name}` NULL: its no-object value", "no_object", p.name)
            continue
        length = abi.length_of(fn, p)
        if length is not None:
            emit(build(fn, p.name, "3"), f"`{p.name}` NULL, {length.name} 3: refused", "refused", p.name)
            if opt:
                emit(build(fn, p.name, "0"), f"`{p.name}` NULL, {length.name} 0 (optional: "
                     f"{abi.optional[(fn.name, p.name)]})", "accepted", p.name)
            else:
                emit(build(fn, p.name, "0"), f"`{p.name}` NULL, {length.name} 0: accepted or refused",
                     "maybe", p.name)
        elif opt:
            emit(build(fn, p.name), f"`{p.name}` NULL (optional: {abi.optional[(fn.name, p.name)]})",
                 "accepted", p.name)
        else:
            emit(build(fn, p.name), f"`{p.name}` NULL: refused", "refused", p.name)
        if p.base in abi.structs:
            for f in abi.structs[p.base]:
                if not f.is_pointer:
                    continue
                path = f"{p.name}[0].{f.name}"
                if field_len(p.base, f.name):
                    emit(build(fn, p.name, "3", f.name), f"`{path}` NULL, {field_len(p.base, f.name)} 3: refused",
                         "refused", path)
                    emit(build(fn, p.name, "0", f.name), f"`{path}` NULL, {field_len(p.base, f.name)} 0: "
                         "accepted or refused", "maybe", path)
                else:
                    emit(build(fn, p.name, None, f.name), f"`{path}` NULL: refused", "refused", path)

head = [
    "/* GENERATED by c-tests/gen_null_walk.py from include/ot_transport.h: do not edit. */",
    '#include "null_walk_fixture.h"',
    "",
    f"/* {len(walked)} of {len(abi.functions)} exported functions take a pointer; {cases} calls. */",
    "static void walk(void) {",
]
tail = [
    "}",
    "",
    f"#define WALKED_FUNCTIONS {len(walked)}",
    f"#define EXPORTED_FUNCTIONS {len(abi.functions)}",
    f"#define WALK_CALLS {cases}",
    '#include "null_walk_main.h"',
]
open(out, "w").write("\n".join(head + lines + tail) + "\n")
print(f"gen_null_walk: {len(walked)} of {len(abi.functions)} functions, {cases} calls")
