"""A connection reset while its messages wait: the deterministic form of a crash the network-fault
experiments found (a worker aborted when its partition healed). Runs on loopback, no namespaces.

What happens, in libzmq 4.3.4 (and its master as of 2026-07): a connection whose receive pipe is
full (the notary's, broker's and worker's sockets allow 4 messages per connection: ZMQ_RCVHWM =
32 MiB / 8 MiB) stops reading; when the peer's RST arrives then, the engine marks an I/O error and
stays to hand over what it already read; when the application drains the pipe, the engine decodes
the rest of its buffer, and a ZMTP PING command there (any peer with heartbeats sends them; v2
sessions do by default) makes it answer PONG through ``out_event``, which asserts ``!_io_error``:
the process aborts (``Assertion failed: !_io_error (src/stream_engine_base.cpp:331)``).

After a healed partition the broker's kernel does exactly this to a worker: it delivers what the
broker had sent (requests, PINGs) to the worker, then answers the worker's next bytes with a RST
(the broker had closed that connection). Here a raw ZMTP peer does it at once.

The library cannot fix libzmq; it keeps those pipes from filling instead: the notary's own thread
reads every message as it arrives (requests wait in its bounded queue, whatever the application is
doing), and the broker reads its clients even while it has no worker (they wait in its bounded
queue). Both tests aborted the process every time before that; they guard it now.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import tempfile
import time
from typing import Iterator, List, Optional

import pytest

from harness import ROLES, role_env

import ot_transport as ot  # noqa: E402  (after harness: role_env does not need it)
import roles  # noqa: E402



def frame(body: bytes, more: bool) -> bytes:
    flags = 0x01 if more else 0x00
    if len(body) > 255:
        return bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def command(body: bytes) -> bytes:
    return bytes([0x04, len(body)]) + body


def v2_req(n: int, body: bytes) -> bytes:
    return frame(b"OTv2", True) + frame(b"REQ", True) + frame(struct.pack(">Q", n), True) + frame(body, False)


def zmtp_dealer(port: int) -> socket.socket:
    """A raw ZMTP 3.1 DEALER (NULL mechanism) connected to 127.0.0.1:port, handshake done."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"\xff" + b"\0" * 8 + b"\x7f" + bytes([3, 1]) + b"NULL".ljust(20, b"\0") + b"\0" * 32)
    got = b""
    while len(got) < 64:
        chunk = s.recv(64 - len(got))
        if not chunk:
            raise ConnectionError("closed during the greeting")
        got += chunk
    s.sendall(command(b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"))
    return s


def reset(s: socket.socket) -> None:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Role:
    def __init__(self, argv: List[str]) -> None:
        self.p = subprocess.Popen([sys.executable, "-u", ROLES, *argv], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=role_env())
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        assert '"ready"' in line, (line, self.stderr())

    def stderr(self) -> str:
        try:
            return (self.p.stderr.read() if self.p.poll() is not None and self.p.stderr else "")[-300:]
        except (OSError, ValueError):
            return ""

    def alive_after(self, seconds: float) -> Optional[str]:
        """None if it is still running after ``seconds``; else how it ended."""
        try:
            rc = self.p.wait(seconds)
        except subprocess.TimeoutExpired:
            return None
        return f"exit status {rc}: {self.stderr().strip()}"

    def close(self) -> None:
        if self.p.poll() is None:
            assert self.p.stdin is not None
            self.p.stdin.close()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)


@pytest.fixture(scope="module")
def keys() -> "Iterator[tempfile.TemporaryDirectory[str]]":
    d = tempfile.TemporaryDirectory(prefix="otnf-keys-")
    roles.write_keys(d.name)
    yield d
    d.cleanup()


def test_a_peer_reset_cannot_abort_a_busy_notary(keys: "tempfile.TemporaryDirectory[str]") -> None:
    port = free_port()
    # An application that takes 100 ms per request (a busy notary; real ones take milliseconds).
    notary = Role(["notary", "--keys", keys.name, "--bind", f"tcp://127.0.0.1:{port}", "--work-ms", "100"])
    try:
        k = roles.load_keys(keys.name)
        # Any peer can make requests the notary opens: they are sealed to its public key.
        body = ot.seal([(k["n_enc"].nym_id, k["n_enc"].public())], ot.sign("MESSAGE", b"x\n", k["c_auth"])).to_armor(False)
        s = zmtp_dealer(port)
        burst = b"".join(v2_req(i + 1, body) for i in range(6))  # 6 > 4, all in one read (< 8 KiB)
        s.sendall(burst + command(b"\x04PING" + struct.pack(">H", 0)))
        time.sleep(0.05)
        reset(s)
        died = notary.alive_after(5)
        assert died is None, f"the notary process died: {died}"
    finally:
        notary.close()


def test_a_client_reset_cannot_abort_a_broker_waiting_for_workers(keys: "tempfile.TemporaryDirectory[str]") -> None:
    front, back = free_port(), free_port()
    broker = Role(["broker", "--keys", keys.name, "--front", f"tcp://127.0.0.1:{front}", "--back", f"tcp://127.0.0.1:{back}"])
    worker = None
    try:
        # No worker: the broker leaves clients' messages in libzmq, 4 per connection. A v2 client
        # that pipelines (garbage will do: the broker does not read them) and heartbeats...
        s = zmtp_dealer(front)
        s.sendall(b"".join(v2_req(i + 1, b"x" * 100) for i in range(6)) + command(b"\x04PING" + struct.pack(">H", 0)))
        time.sleep(0.2)
        reset(s)  # ...and whose connection is reset.
        assert broker.alive_after(0.5) is None
        # A worker comes: the broker reads the waiting messages.
        worker = Role(["worker", "--keys", keys.name, "--connect", f"tcp://127.0.0.1:{back}"])
        died = broker.alive_after(5)
        assert died is None, f"the broker process died when a worker came: {died}"
    finally:
        if worker is not None:
            worker.close()
        broker.close()
