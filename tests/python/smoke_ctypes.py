"""Loads the shared library with ctypes (as Python and other FFI users do) and seals and opens
one envelope, checking outputs, errors and ownership rules through the raw C ABI."""
import ctypes
import sys

lib = ctypes.CDLL(sys.argv[1] if len(sys.argv) > 1 else "libot_transport.so.1")

class Recipient(ctypes.Structure):
    _fields_ = [("nym_id", ctypes.c_char_p), ("key", ctypes.c_void_p)]

P = ctypes.c_void_p
lib.ot_version.restype = ctypes.c_char_p
lib.ot_last_error.restype = ctypes.c_char_p
lib.ot_result_str.restype = ctypes.c_char_p
lib.ot_buffer_data.restype = ctypes.POINTER(ctypes.c_ubyte)
lib.ot_buffer_data.argtypes = [P]
lib.ot_buffer_len.restype = ctypes.c_size_t
lib.ot_buffer_len.argtypes = [P]
lib.ot_buffer_free.argtypes = [P]
lib.ot_key_free.argtypes = [P]
lib.ot_envelope_free.argtypes = [P]
lib.ot_key_generate.argtypes = [ctypes.c_uint32, ctypes.POINTER(P)]
lib.ot_key_nym_id.argtypes = [P, ctypes.POINTER(P)]
lib.ot_envelope_seal.argtypes = [ctypes.POINTER(Recipient), ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(P)]
lib.ot_envelope_to_armor.argtypes = [P, ctypes.c_int, ctypes.POINTER(P)]
lib.ot_envelope_from_armor.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(P)]
lib.ot_envelope_open.argtypes = [P, ctypes.c_char_p, P, ctypes.POINTER(P)]

def take(buf):
    """Copies an ot_buffer's bytes into Python and frees it."""
    data = ctypes.string_at(lib.ot_buffer_data(buf), lib.ot_buffer_len(buf))
    lib.ot_buffer_free(buf)
    return data

def ok(rc):
    if rc != 0:
        raise RuntimeError(f"{lib.ot_result_str(rc).decode()}: {lib.ot_last_error().decode()}")

checks = 0
def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print("FAILED:", what)
        sys.exit(1)

check(lib.ot_version().decode().count(".") == 2, "version text")
key = P()
ok(lib.ot_key_generate(1024, ctypes.byref(key)))
idbuf = P()
ok(lib.ot_key_nym_id(key, ctypes.byref(idbuf)))
nym = take(idbuf)
check(len(nym) >= 40, "NymID length")

message = b"<OTmessage>hello from ctypes</OTmessage>\n"
env = P()
rs = (Recipient * 1)(Recipient(nym, key))
ok(lib.ot_envelope_seal(rs, 1, message, len(message), ctypes.byref(env)))
armor = P()
ok(lib.ot_envelope_to_armor(env, 1, ctypes.byref(armor)))
text = take(armor)
check(text.startswith(b"-----BEGIN OT ARMORED ENVELOPE-----\n"), "bookended armor")
lib.ot_envelope_free(env)

env2 = P()
ok(lib.ot_envelope_from_armor(text, len(text), ctypes.byref(env2)))
pt = P()
ok(lib.ot_envelope_open(env2, nym, key, ctypes.byref(pt)))
check(take(pt) == message, "round trip")

# Failure: the out pointer stays untouched and the error is explained.
pt = P()
rc = lib.ot_envelope_open(env2, b"someone-else", key, ctypes.byref(pt))
check(rc == 7 and pt.value is None, "no matching recipient")
check(b"no entry" in lib.ot_last_error(), "last error text")
rc = lib.ot_envelope_open(None, None, key, ctypes.byref(pt))
check(rc == 1, "NULL handle gives OT_ERR_NULL_ARGUMENT")
lib.ot_envelope_free(env2)
lib.ot_key_free(key)
lib.ot_key_free(None)
print(f"smoke_ctypes: {checks} passed, 0 failed")
