"""``python -m ot_transport``: a self-check. Prints the versions, the RSA engine, where the shared
libraries were loaded from (the wheel's bundled copies or the system's), then runs one round of
every suite — RSA and v3 keys, sign/verify, seal/open, armor — and a v2 request between a notary
and a session on an asyncio loop over tcp loopback. Exit status 0 when every check passed."""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import struct
import sys
from typing import Dict, List, Optional

import ot_transport as ot
from ot_transport.aio import AsyncNotary, AsyncSession


def needed_libraries(path: str) -> List[str]:
    """The DT_NEEDED entries of an ELF shared library (64-bit little-endian), read from the
    file: which libraries it links (e.g. libcrypto.so.3 means the OpenSSL RSA engine)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    out = []
    for s in sections:
        if s[1] != 6:  # SHT_DYNAMIC
            continue
        strtab = sections[s[6]]  # sh_link: the string table
        for off in range(s[4], s[4] + s[5], 16):
            tag, val = struct.unpack_from("<qQ", data, off)
            if tag == 0:
                break
            if tag == 1:  # DT_NEEDED
                start = strtab[4] + val
                out.append(data[start : data.index(b"\0", start)].decode())
    return out


def loaded_from(names: List[str]) -> Dict[str, Optional[str]]:
    """Where each library (by name prefix) is mapped in this process (Linux /proc/self/maps)."""
    found: Dict[str, Optional[str]] = {n: None for n in names}
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return found
    for p in sorted(paths):
        base = os.path.basename(p)
        for n in names:
            if found[n] is None and (base.startswith(n + "-") or base.startswith(n + ".")):
                found[n] = p
    return found


def rsa_engine(needed: List[str]) -> str:
    libcrypto = [n for n in needed if n.startswith("libcrypto")]
    return f"openssl ({libcrypto[0]})" if libcrypto else "rust (pure-Rust RSA)"


async def loopback() -> bytes:
    c_auth, c_enc = ot.Key.generate_ed25519(), ot.Key.generate_x25519()
    n_auth, n_enc = ot.Key.generate_ed25519(), ot.Key.generate_x25519()
    async with AsyncNotary("tcp://127.0.0.1:*", n_auth, n_enc, n_auth.nym_id) as notary:

        async def serve() -> None:
            req = await notary.receive(10)
            await req.reply(b"pong:" + req.verify(c_auth.public()), c_enc.public())
            req.close()

        server = asyncio.ensure_future(serve())
        async with AsyncSession(
            notary.endpoint,
            identity=(c_auth, c_enc),
            notary=(n_auth.nym_id, n_enc.public(), n_auth.public()),
        ) as session:
            reply = await session.request(b"ping", timeout=10)
        await server
        return reply


def main() -> int:
    lib = ot.library_path()
    needed = needed_libraries(lib) if os.path.exists(lib) else []
    print(f"ot_transport {ot.__version__} (Python {platform.python_version()}, {platform.machine()})")
    print(f"library      {ot.version()}: {lib}")
    print("libzmq       %d.%d.%d" % ot.zmq_version())
    print(f"RSA engine   {rsa_engine(needed)}")
    try:
        ot.curve_keypair()
        curve = "available"
    except ot.OtError as e:
        curve = f"unavailable ({e.detail})"
    print(f"CURVE        {curve}")
    wanted = ["libzmq", "libssl", "libcrypto", "libsodium"]
    here = os.path.dirname(os.path.abspath(lib))
    bundled_dir = os.path.join(os.path.dirname(here), "ot_transport.libs")
    for name, path in loaded_from(wanted).items():
        if path is None:
            continue
        where = "bundled in the wheel" if path.startswith(bundled_dir) else "system"
        print(f"{name:12} {where}: {path}")

    checks = 0
    failed: List[str] = []

    def check(what: str, ok: bool) -> None:
        nonlocal checks
        checks += 1
        if not ok:
            failed.append(what)
            print(f"FAILED       {what}")

    text = b"<OTmessage>self-check</OTmessage>\n"
    rsa = ot.Key.generate(1024)
    check("RSA sign/verify", ot.verify(ot.sign("MESSAGE", text, rsa), rsa.public()) == text)
    check("RSA seal/open (type 1)", ot.Envelope.from_armor(ot.seal([rsa.public()], text).to_armor()).open(rsa) == text)
    ed, x = ot.Key.generate_ed25519(), ot.Key.generate_x25519()
    check("Ed25519 sign/verify", ot.verify(ot.sign("MESSAGE", text, ed), ed.public()) == text)
    env = ot.seal([(ed.nym_id, x.public())], text + b"\0binary")
    check("X25519 seal/open (type 3)", env.type == 3 and env.open(x, ed.nym_id) == text + b"\0binary")
    check("armor", ot.armor_decode(ot.armor_encode(text, ot.ArmorKind.STRING), ot.ArmorKind.STRING) == text)
    check("SHA-256", ot.sha256(b"abc") == hashlib.sha256(b"abc").digest())
    check("SAMY", ot.samy(b"abc") == bytes(a ^ b for a, b in zip(ot.sha256(b"abc"), ot.whirlpool(b"abc"))))
    try:
        check("v2 request over tcp loopback (asyncio)", asyncio.run(loopback()) == b"pong:ping\n")
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        check(f"v2 request over tcp loopback (asyncio): {e}", False)
    if failed:
        print(f"self-check: {len(failed)} of {checks} checks FAILED")
        return 1
    print(f"self-check: {checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
