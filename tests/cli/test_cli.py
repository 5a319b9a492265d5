"""The `ot` command-line tool, end to end: the binary named by $OT_CLI against files it makes,
the independent Python peer's files (interop/legacy_peer.py), the legacy fixtures, a notary
and a broker. Run by scripts/test (scripts/test-cli); not part of python/tests, because the
binary links the system libzmq that the wheel check hides."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "tests" / "data" / "fixtures"
PEER = [sys.executable, str(REPO / "interop" / "legacy_peer.py")]
OT = os.environ.get("OT_CLI") or pytest.fail("set OT_CLI to the ot binary (scripts/test-cli does)")

COMMANDS = ["keygen", "id", "seal", "open", "sign", "verify", "armor", "dearmor", "inspect", "ping", "stats"]


def ot(*args: object, input: Optional[bytes] = None, code: int = 0, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    r = subprocess.run([OT, *map(str, args)], input=input, capture_output=True, timeout=120, cwd=cwd)
    assert r.returncode == code, (args, r.returncode, r.stderr.decode(errors="replace"))
    return r


def peer(*args: object) -> str:
    r = subprocess.run([*PEER, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def test_help_for_every_command() -> None:
    top = ot("--help").stdout.decode()
    for c in COMMANDS:
        assert re.search(rf"^  {c} ", top, re.M), c
        h = ot(c, "--help").stdout.decode()
        assert h.startswith(h.splitlines()[0]) and f"Usage: ot {c}" in h, c
    assert "Exit status" in top
    assert ot("--version").stdout.decode().strip() == "ot 0.1.0"


def test_usage_errors_exit_2() -> None:
    r = ot("seal", code=2)  # no recipient
    assert b"--recipient" in r.stderr
    ot("frobnicate", code=2)


@pytest.mark.parametrize("kind", ["rsa", "ed25519", "x25519"])
def test_keygen_id_and_the_peer_agree(tmp_path: Path, kind: str) -> None:
    args = ["--bits", "1024"] if kind == "rsa" else []
    r = ot("keygen", "-t", kind, *args, "-o", tmp_path / "k", "--public", tmp_path / "k.pub")
    nym = r.stderr.decode().split("NymID: ")[1].strip()
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert ot("id", tmp_path / "k").stdout.decode().strip() == nym
    assert ot("id", tmp_path / "k.pub").stdout.decode().strip() == nym
    assert peer("nymid", "--key", tmp_path / "k.pub").strip() == nym  # independent rule, v1 or v3
    v3 = ot("id", "--scheme", "v3", tmp_path / "k.pub").stdout.decode().strip()
    if kind == "rsa":
        assert ot("id", "--scheme", "v1", tmp_path / "k").stdout.decode().strip() == nym
        assert v3 != nym
    else:
        assert v3 == nym
        r = ot("id", "--scheme", "v1", tmp_path / "k", code=13)  # the OT public-key block is RSA-only
        assert r.stderr.startswith(b"ot: unsupported feature: ")


def test_encrypted_keys_and_passphrase_errors(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("correct horse\n")
    ot("keygen", "-t", "ed25519", "-o", tmp_path / "k", "--passphrase-file", tmp_path / "pw")
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "k").read_bytes()
    r = ot("id", tmp_path / "k", code=5)
    assert r.stderr.startswith(b"ot: missing or wrong passphrase: ")
    env = dict(os.environ, OT_PW="correct horse")
    r = subprocess.run([OT, "id", tmp_path / "k", "--passphrase-env", "OT_PW"], capture_output=True, env=env)
    assert r.returncode == 0 and len(r.stdout.strip()) > 40
    ot("keygen", "--bits", "1024", "-o", tmp_path / "legacy", "--passphrase-file", tmp_path / "pw", "--legacy-encryption")
    assert ot("inspect", tmp_path / "legacy").stdout.decode().splitlines()[:3] == [
        "what: key",
        "encrypted: true",
        "note: an encrypted private key: give --passphrase-file or --passphrase-env to see more",
    ]
    out = ot("inspect", tmp_path / "legacy", "--passphrase-file", tmp_path / "pw").stdout.decode()
    assert "algorithm: RSA-1024" in out and "private: true" in out


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    for name, kind in [("alice", "rsa"), ("bob", "rsa"), ("ed", "ed25519"), ("x", "x25519")]:
        args = ["--bits", "1024"] if kind == "rsa" else []
        ot("keygen", "-t", kind, *args, "-o", d / name, "--public", d / f"{name}.pub")
    return d


def test_seal_to_two_recipients_open_as_each(keys: Path, tmp_path: Path) -> None:
    msg = b"<OTmessage>two recipients</OTmessage>\n"
    env = ot("seal", "-r", keys / "alice.pub", "-r", keys / "bob.pub", input=msg).stdout
    assert env.startswith(b"-----BEGIN OT ARMORED ENVELOPE-----")
    for who in ("alice", "bob"):
        assert ot("open", "-k", keys / who, input=env).stdout == msg
    info = json.loads(ot("inspect", "--json", input=env).stdout)
    ids = [ot("id", keys / f"{w}.pub").stdout.decode().strip() for w in ("alice", "bob")]
    assert (info["what"], info["type"], info["recipient_ids"]) == ("envelope", 1, sorted(ids))  # entries are sorted by NymID
    # raw and bare forms, files instead of pipes
    (tmp_path / "m").write_bytes(msg)
    ot("seal", "-r", keys / "bob.pub", "--raw", "-i", tmp_path / "m", "-o", tmp_path / "m.raw")
    assert (tmp_path / "m.raw").read_bytes()[:2] == b"\x00\x01"  # type 1, raw bytes
    ot("open", "-k", keys / "bob", "-i", tmp_path / "m.raw", "-o", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == msg and (tmp_path / "back").stat().st_mode & 0o777 == 0o600
    bare = ot("seal", "-r", keys / "bob.pub", "--bare", input=msg).stdout
    assert not bare.startswith(b"-----") and ot("open", "-k", keys / "bob", input=bare).stdout == msg


def test_exit_codes_follow_the_library(keys: Path) -> None:
    env = ot("seal", "-r", keys / "alice.pub", input=b"for alice\n").stdout
    r = ot("open", "-k", keys / "bob", input=env, code=7)
    assert r.stderr.startswith(b"ot: no matching recipient in envelope: ")
    r = ot("open", "-k", keys / "bob", "--nym-id", ot("id", keys / "alice").stdout.decode().strip(), input=env, code=6)
    assert r.stderr.startswith(b"ot: decryption failed: ")
    text = ot("sign", "-k", keys / "alice", input=b"signed by alice\n").stdout
    r = ot("verify", "-k", keys / "bob.pub", input=text, code=8)
    assert r.stderr.startswith(b"ot: bad signature: ")
    ot("verify", "-q", "-k", keys / "bob.pub", input=text, code=8)
    r = ot("inspect", input=b"\x07\x07 not anything", code=3)
    assert r.stderr.startswith(b"ot: malformed input: ")
    r = ot("open", "-k", keys / "nonexistent", input=env, code=2)
    assert r.stderr.startswith(b"ot: invalid argument: ")


def test_v3_seal_sign_and_inspect(keys: Path) -> None:
    nym = ot("id", keys / "ed.pub").stdout.decode().strip()
    msg = b"binary\x00payload for v3"
    env = ot("seal", "-r", f"{nym}={keys / 'x.pub'}", input=msg).stdout
    assert json.loads(ot("inspect", "--json", input=env).stdout)["type"] == 3
    assert ot("open", "-k", keys / "x", "--nym-id", nym, input=env).stdout == msg
    text = ot("sign", "-k", keys / "ed", "-t", "CONTRACT", input=b"<contract/>\n").stdout
    assert b"-----BEGIN SIGNED CONTRACT-----\nHash: SHA256D\n" in text
    r = ot("verify", "-k", keys / "ed.pub", input=text)
    assert r.stdout == b"<contract/>\n" and f"good signature by {nym}".encode() in r.stderr
    info = json.loads(ot("inspect", "--json", "-k", keys / "alice.pub", "-k", keys / "ed.pub", input=text).stdout)
    assert info["hash"] == "SHA256D" and info["signatures"][0]["algorithm"] == "Ed25519"
    assert info["signer"] == {"key": str(keys / "ed.pub"), "nym_id": nym}


def test_the_independent_peer_files(keys: Path, tmp_path: Path) -> None:
    """Envelopes and signed texts made by interop/legacy_peer.py open and verify with `ot`, and
    the other way round."""
    msg = tmp_path / "msg"
    msg.write_bytes(b"<OTmessage>from the peer</OTmessage>\n")
    bob_id = ot("id", keys / "bob.pub").stdout.decode().strip()
    peer("seal", "--to", f"{bob_id}={keys / 'bob.pub'}", "--in", msg, "--out", tmp_path / "p.env", "--bookend")
    assert ot("open", "-k", keys / "bob", "-i", tmp_path / "p.env").stdout == msg.read_bytes()
    ed_id = ot("id", keys / "ed.pub").stdout.decode().strip()
    peer("seal", "--to", f"{ed_id}={keys / 'x.pub'}", "--in", msg, "--out", tmp_path / "p3.env")
    assert ot("open", "-k", keys / "x", "--nym-id", ed_id, "-i", tmp_path / "p3.env").stdout == msg.read_bytes()
    for signer in ("alice", "ed"):
        peer("sign", "--key", keys / signer, "--in", msg, "--out", tmp_path / f"{signer}.sig")
        assert ot("verify", "-k", keys / f"{signer}.pub", "-i", tmp_path / f"{signer}.sig").stdout == msg.read_bytes()
    # ours, checked by the peer
    ot("seal", "-r", keys / "bob.pub", "-i", msg, "-o", tmp_path / "o.env")
    r = subprocess.run([*PEER, "open", "--key", keys / "bob", "--nym-id", bob_id, "--in", tmp_path / "o.env"], capture_output=True)
    assert r.returncode == 0 and r.stdout.rstrip(b"\0") == msg.read_bytes()
    ot("sign", "-k", keys / "alice", "-i", msg, "-o", tmp_path / "o.sig")
    assert peer("verify", "--key", keys / "alice.pub", "--in", tmp_path / "o.sig").encode() == msg.read_bytes()


def test_legacy_fixtures() -> None:
    d11 = FIX / "legacy-0.72-2011" / "client_data"
    d13 = FIX / "legacy-0.89-2013" / "client_data"
    pw = ["--passphrase-env", "OT_TEST_PW"]
    os.environ["OT_TEST_PW"] = "test"
    # 2011 certs: NymID = the file name (encrypted PKCS#8 and traditional DEK-Info PEM, "test")
    for name in ("T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV", "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C",
                 "lMTANg3U97bwGFJAYKljTXAcy5By6JcLdU4di5AoA4z"):
        assert ot("id", d11 / "certs" / name, *pw).stdout.decode().strip() == name
    # a 2011 signed contract verifies with its signer's cert; inspect names the signer among keys
    contract = d11 / "contracts" / "8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp"
    signer = d11 / "certs" / "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C"
    r = ot("verify", "-k", signer, *pw, "-i", contract)
    assert b"good signature by pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C" in r.stderr
    info = json.loads(ot("inspect", "--json", "-k", d11 / "certs" / "T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV", "-k", signer, contract, *pw).stdout)
    assert info["what"] == "signed text" and info["hash"] == "SAMY"
    assert info["signer"]["nym_id"] == "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C"
    # 2013 armored contract and wallet: armor on the string path, signed text inside
    info = json.loads(ot("inspect", "--json", d13 / "contracts" / "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG").stdout)
    assert (info["what"], info["bookend"], info["path"]) == ("armor", "CONTRACT", "string")
    assert info["signed_text"]["doc_type"] == "CONTRACT" and info["signed_text"]["hash"] == "SAMY"
    wallet = ot("dearmor", "-i", d13 / "wallet.xml").stdout
    assert b"<wallet" in wallet and b"cachedKey" in wallet


def test_armor_round_trips(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    for path in ("data", "string"):
        a = ot("armor", "--path", path, "-b", "TEST", input=data).stdout
        assert a.startswith(b"-----BEGIN OT ARMORED TEST-----")
        assert ot("dearmor", input=a).stdout == data
        assert ot("dearmor", "--path", path, input=a).stdout == data
    bare = ot("armor", input=b"hello").stdout
    assert not bare.startswith(b"-") and ot("dearmor", input=bare).stdout == b"hello"


def test_progress_bar_on_a_terminal(keys: Path, tmp_path: Path) -> None:
    """A large input on a terminal (a pty from script(1)) shows the progress bar and its final
    line; without a terminal nothing goes to stderr."""
    if not shutil.which("script"):
        pytest.fail("script(1) (util-linux) is needed for the terminal test")
    big = tmp_path / "big"
    big.write_bytes(os.urandom(8 << 20).replace(b"\0", b"\1"))
    cmd = f"'{OT}' seal -r '{keys / 'bob.pub'}' -i '{big}' -o '{tmp_path / 'big.env'}'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stdout
    assert b"sealed 8388608 bytes to 1 recipient(s)" in r.stdout
    cmd = f"'{OT}' open -k '{keys / 'bob'}' -i '{tmp_path / 'big.env'}' -o '{tmp_path / 'big.out'}'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=120)
    assert r.returncode == 0 and b"opened 8388608 bytes" in r.stdout
    assert (tmp_path / "big.out").read_bytes() == big.read_bytes()
    r = ot("seal", "-r", keys / "bob.pub", "-i", big, "-o", tmp_path / "quiet.env")
    assert r.stderr == b""


def _python(code: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(REPO / "python"))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)


def test_ping_a_notary_and_nobody() -> None:
    notary = _python(
        "import asyncio, ot_transport as ot\n"
        "from ot_transport.aio import AsyncNotary\n"
        "async def main():\n"
        "    a, e = ot.Key.generate_ed25519(), ot.Key.generate_x25519()\n"
        "    async with AsyncNotary('tcp://127.0.0.1:*', a, e, a.nym_id) as n:\n"
        "        print(n.endpoint, flush=True)\n"
        "        await asyncio.sleep(30)\n"
        "asyncio.run(main())\n"
    )
    try:
        assert notary.stdout is not None
        endpoint = notary.stdout.readline().strip()
        out = ot("ping", endpoint, "-c", "3", "--interval-ms", "50").stdout.decode()
        assert out.count("protocol v2, round trip") == 3 and "3 of 3 answered" in out
    finally:
        notary.kill()
        notary.wait()
    r = ot("ping", "tcp://127.0.0.1:9", "-c", "1", "--timeout-ms", "200", code=9)
    assert b"no v2 answer within 200 ms" in r.stdout and r.stderr.startswith(b"ot: timed out: ")


def test_stats_of_a_broker_with_a_worker_and_a_client(tmp_path) -> None:
    import ot_transport as ot_lib
    # A tcp backend admits only listed workers: without --key/--workers it is refused.
    r = ot("stats", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "--duration", "1", code=2)
    assert b"admits only listed workers" in r.stderr
    backend_pub, backend_sec = ot_lib.curve_keypair()
    worker_pub, worker_sec = ot_lib.curve_keypair()
    key_file, workers_file = tmp_path / "backend.key", tmp_path / "workers"
    key_file.write_text(f"# the backend key\n{backend_sec}\n")
    key_file.chmod(0o644)
    workers_file.write_text(f"# the workers\n{worker_pub} worker-1\n")
    args = [OT, "stats", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "--key", str(key_file), "--workers",
            str(workers_file)]
    r = ot(*args[1:], "--duration", "1", code=2)
    assert b"readable by other users" in r.stderr
    key_file.chmod(0o600)
    p = subprocess.Popen(
        args + ["--every", "0.3", "--duration", "4", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr is not None
        hello = p.stderr.readline()
        m = re.search(r"clients -> (\S+), workers -> (\S+)", hello)
        assert m, hello
        worker = _python(
            "import asyncio, sys, ot_transport as ot\n"
            "from ot_transport.aio import AsyncBroker, AsyncNotary, AsyncSession\n"
            "async def main():\n"
            "    ca, ce, na, ne = ot.Key.generate_ed25519(), ot.Key.generate_x25519(), ot.Key.generate_ed25519(), ot.Key.generate_x25519()\n"
            f"    o = ot.SessionOptions().set_curve_client('{backend_pub}', '{worker_pub}', '{worker_sec}')\n"
            f"    w = AsyncNotary.connect('{m.group(2)}', na, ne, na.nym_id, o)\n"
            "    async def serve():\n"
            "        async for r in w:\n"
            "            await r.reply(r.verify(ca), ce)\n"
            "    t = asyncio.ensure_future(serve())\n"
            "    await asyncio.sleep(0.5)\n"
            f"    async with AsyncSession('{m.group(1)}', identity=(ca, ce), notary=(na.nym_id, ne.public(), na.public())) as s:\n"
            "        for i in range(5):\n"
            "            await s.request(b'x', timeout=10)\n"
            "    print('done', flush=True)\n"
            "    await asyncio.sleep(10)\n"
            "asyncio.run(main())\n"
        )
        try:
            out, _ = p.communicate(timeout=30)
        finally:
            worker.kill()
            wout, werr = worker.communicate()
        assert "done" in wout, werr
    finally:
        p.kill()
    reports = [json.loads(line) for line in out.splitlines()]
    assert len(reports) >= 5
    assert set(reports[-1]) == {"requests", "replies", "pushes", "dropped", "unroutable", "workers",
                                "dead_workers", "queued", "queued_bytes", "unexpected", "stalled_workers",
                                "refused", "ignored", "workers_refused"}
    # 5 requests and the session's probe for the notary's transport key, each answered once
    last = reports[-1]
    assert last["requests"] == 6 and last["replies"] == 6 and last["workers"] == 1, last
    assert p.returncode == 0


def test_readme_tour_runs(tmp_path: Path) -> None:
    """The README's "Command line" tour is examples/cli_tour.sh, verbatim, and runs."""
    tour = (REPO / "examples" / "cli_tour.sh").read_text()
    assert tour in (REPO / "README.md").read_text(), "README's ot tour differs from examples/cli_tour.sh"
    env = dict(os.environ, PATH=f"{Path(OT).parent}:{os.environ['PATH']}")
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", tour], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "hello, Bob" in lines and "what: envelope" in lines and lines[-1] == "exit status 7"
    assert any(line.startswith("ot: no matching recipient in envelope") for line in r.stderr.splitlines())
