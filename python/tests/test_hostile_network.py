"""Hostile network, round 3: the notary and sessions tried as an attacker on the internet would,
with raw ZeroMQ peers (pyzmq) next to the library. One test (or more) per finding; each fails
against the library before the fix. Every wait is bounded."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import zmq

import ot_transport as ot
from test_errors import fast_options

UNREADABLE = b"the request could not be read"
DELAY = 0.025  # the notary's earliest answer to an unreadable request (plus 25 ns per byte)


@pytest.fixture(scope="module")
def ids() -> Dict[str, ot.Key]:
    k = {n: ot.Key.generate(1024) for n in ("c_auth", "c_enc", "n_auth", "n_enc", "other")}
    k["v3_c_auth"] = ot.Key.generate_ed25519()
    k["v3_c_enc"] = ot.Key.generate_x25519()
    k["v3_n_auth"] = ot.Key.generate_ed25519()
    k["v3_n_enc"] = ot.Key.generate_x25519()
    return k


class Served:
    """A notary served on its own thread: every request goes to ``handler(notary, request)``;
    ``call(fn)`` runs ``fn(notary)`` on that thread (a notary is used by one thread at a time)."""

    def __init__(self, notary: ot.Notary, handler: Callable[[ot.Notary, ot.Request], None]) -> None:
        self.notary = notary
        self.endpoint = notary.endpoint
        self.handler = handler
        self.errors: List[str] = []
        self._calls: "queue.Queue[Tuple[Callable[[ot.Notary], object], queue.Queue]]" = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            while not self._calls.empty():
                fn, out = self._calls.get()
                out.put(fn(self.notary))
            try:
                req = self.notary.receive(0.01)
            except ot.TimeoutError:
                continue
            except ot.OtError as e:
                self.errors.append(type(e).__name__)
                continue
            self.handler(self.notary, req)

    def call(self, fn: Callable[[ot.Notary], object]) -> object:
        out: "queue.Queue[object]" = queue.Queue()
        self._calls.put((fn, out))
        return out.get(timeout=10)

    def counter(self, name: str) -> int:
        return int(self.call(lambda n: n.counter(name)))  # type: ignore[arg-type]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.notary.close()


def echo_known(ids: Dict[str, ot.Key]) -> Callable[[ot.Notary, ot.Request], None]:
    """Answers requests signed by the client's key with '@' + content; drops the others (the
    README's loop)."""

    def handle(n: ot.Notary, req: ot.Request) -> None:
        try:
            c = req.verify(ids["c_auth"])
        except ot.OtError:
            req.close()
            return
        req.reply(b"@" + c, ids["c_enc"])
        req.close()

    return handle


def rsa_notary(ids: Dict[str, ot.Key], **opts: int) -> ot.Notary:
    return ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"], options=fast_options(**opts))


def request_frame(ids: Dict[str, ot.Key], content: bytes, signer: str = "c_auth") -> bytes:
    """A legacy request frame, as a legacy client builds it: signed MESSAGE, sealed (type 1) to
    the notary's NymID, bare armor."""
    text = ot.sign("MESSAGE", content, ids[signer])
    return ot.seal([(ids["n_enc"].nym_id, ids["n_enc"].public())], text).to_armor(False)


def v1_parts(raw: bytes) -> Tuple[int, int]:
    """(offset of the IV, length of the ciphertext) in v1 envelope bytes."""
    assert raw[:2] == b"\x00\x01"
    n = int.from_bytes(raw[2:6], "big")
    at = 6
    for _ in range(n):
        at += 4 + int.from_bytes(raw[at : at + 4], "big")
        at += 4 + int.from_bytes(raw[at : at + 4], "big")
    iv_len = int.from_bytes(raw[at : at + 4], "big")
    assert iv_len == 16
    return at + 4, len(raw) - (at + 4 + 16)


def tampered(frame: bytes, block_from_end: int, delta: int) -> bytes:
    """The frame with one byte of ciphertext block (counted from the end, 1 = last; the IV is
    block len+1) XORed with delta: it changes the plaintext of the next block."""
    raw = bytearray(ot.armor_decode(frame))
    iv_at, ct_len = v1_parts(bytes(raw))
    blocks = ct_len // 16
    b = blocks - block_from_end  # 0-based block index; -1 is the IV
    last_byte = iv_at + 16 + 16 * b + 15
    raw[last_byte] ^= delta
    return ot.armor_encode(bytes(raw))


def dealer(endpoint: str, identity: Optional[bytes] = None) -> zmq.Socket:
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if identity is not None:
        s.setsockopt(zmq.IDENTITY, identity)
    s.connect(endpoint)
    return s


def v2_req(n: int, body: bytes) -> List[bytes]:
    return [b"OTv2", b"REQ", n.to_bytes(8, "big"), body]


def recv_v2(s: zmq.Socket, timeout: float) -> Optional[List[bytes]]:
    if s.poll(int(timeout * 1000)) == 0:
        return None
    return s.recv_multipart()


# ---- 1. one answer, at one time, for every unreadable request ---------------------------------


def test_every_unreadable_request_gets_one_answer_after_one_delay(ids: Dict[str, ot.Key]) -> None:
    served = Served(rsa_notary(ids), echo_known(ids))
    try:
        good = request_frame(ids, b"<OTmessage>hello</OTmessage>\n")
        cases = {
            "armor": b"%%% not armor %%%",
            "envelope": ot.armor_encode(b"\x00\x01garbage"),
            "rsa unwrap": ot.seal([(ids["n_enc"].nym_id, ids["other"].public())], b"x\n").to_armor(False),
            # The padding oracle's two classes: a bad CBC padding (the last plaintext byte made
            # > 16), and a good padding over garbage (the first two blocks scrambled).
            "bad padding": tampered(good, 2, 0x80),
            "not signed text": ot.seal([(ids["n_enc"].nym_id, ids["n_enc"].public())], b"just text\n").to_armor(False),
            "signature": request_frame(ids, b"forged\n", signer="other"),
        }
        # A good padding over garbage: scramble the first plaintext block through the IV.
        raw = bytearray(ot.armor_decode(good))
        iv_at, _ = v1_parts(bytes(raw))
        raw[iv_at] ^= 0x41
        cases["good padding, garbage"] = ot.armor_encode(bytes(raw))
        answers = {}
        d = dealer(served.endpoint)
        for i, (name, frame) in enumerate(cases.items()):
            t = time.monotonic()
            d.send_multipart(v2_req(100 + i, frame))
            got = recv_v2(d, 5)
            elapsed = time.monotonic() - t
            assert got is not None, f"{name}: no answer"
            assert got[1] == b"ERR" and int.from_bytes(got[2], "big") == 100 + i, (name, got[:3])
            assert elapsed >= DELAY, f"{name}: answered after {elapsed * 1000:.1f} ms"
            answers[name] = got[3]
            print(f"unreadable ({name}): ERR after {elapsed * 1000:.1f} ms")
        assert set(answers.values()) == {UNREADABLE}, answers
        # The good request still works on the same connection.
        d.send_multipart(v2_req(1, good))
        got = recv_v2(d, 5)
        assert got is not None and got[1] == b"REP"
        d.close()
    finally:
        served.close()


def test_legacy_reply_errors_are_one_signed_answer_byte_for_byte(ids: Dict[str, ot.Key]) -> None:
    served = Served(rsa_notary(ids, reply_errors=1), echo_known(ids))
    try:
        good = request_frame(ids, b"<OTmessage>hi</OTmessage>\n")
        raw = bytearray(ot.armor_decode(good))
        iv_at, _ = v1_parts(bytes(raw))
        raw[iv_at] ^= 0x41
        frames = [
            b"garbage",
            tampered(good, 2, 0x80),  # bad padding
            ot.armor_encode(bytes(raw)),  # good padding, garbage
            request_frame(ids, b"forged\n", signer="other"),  # signature (the application's check)
        ]
        replies = []
        for f in frames:
            s = zmq.Context.instance().socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(served.endpoint)
            t = time.monotonic()
            s.send(f)
            assert s.poll(5000), "no signed error"
            replies.append(s.recv())
            assert time.monotonic() - t >= DELAY
            s.close()
        assert len(set(replies)) == 1, "the signed error differs with what failed"
        content = ot.verify(ot.armor_decode(replies[0], ot.ArmorKind.STRING), ids["n_auth"])
        assert UNREADABLE in content
    finally:
        served.close()


# ---- 2. resends cannot hold the notary or amplify ---------------------------------------------


def test_receive_deadline_holds_and_resends_do_not_amplify(ids: Dict[str, ot.Key]) -> None:
    with rsa_notary(ids) as n:
        ep = n.endpoint
        body = request_frame(ids, b"cache me\n")
        d = dealer(ep, b"Oflooding-client")
        d.setsockopt(zmq.RCVHWM, 100000)
        d.send_multipart(v2_req(7, body))
        req = n.receive(5)
        n.reply(req, (b"x" * 99 + b"\n") * 600, ids["c_enc"])
        req.close()
        assert recv_v2(d, 5) is not None  # the first reply

        stop = threading.Event()

        sent = [0]

        def flood() -> None:
            # The id of the cached reply, as 9-byte resends (no body) and as full copies.
            tiny, full = v2_req(7, b""), v2_req(7, body)
            while not stop.is_set():
                try:
                    d.send_multipart(tiny if sent[0] % 2 else full, zmq.NOBLOCK)
                    sent[0] += 1
                except zmq.Again:
                    time.sleep(0.0005)

        t = threading.Thread(target=flood)
        t.start()
        try:
            time.sleep(0.2)
            # Every call returns within its deadline (an unreadable resend may end it earlier,
            # with its error); none is ever handed a request.
            for timeout in (0.2, 0.0):
                worst = 0.0
                for _ in range(10):
                    start = time.monotonic()
                    with pytest.raises(ot.OtError):
                        n.receive(timeout)
                    worst = max(worst, time.monotonic() - start)
                print(f"receive({timeout * 1000:.0f} ms) under a resend flood: at most {worst * 1000:.1f} ms")
                assert worst < timeout + 0.5, f"receive({timeout}) took {worst:.2f} s under a flood"
            # Keep the notary busy with the flood for 3 s: one resend a second, three in all.
            end = time.monotonic() + 3.0
            while time.monotonic() < end:
                with pytest.raises(ot.OtError):
                    n.receive(0.1)
        finally:
            stop.set()
            t.join()
        resent = 0
        while True:
            f = recv_v2(d, 0.3)
            if f is None:
                break
            resent += f[1] == b"REP"
        print(f"{sent[0]} resends of one cached 60 KB reply in 3.4 s: {resent} answered with the reply")
        assert sent[0] > 1000, sent[0]
        assert 1 <= resent <= 3, resent
        assert n.counter("resends_suppressed") > 100
        d.close()


def test_receive_deadline_holds_under_a_probe_flood(ids: Dict[str, ot.Key]) -> None:
    with rsa_notary(ids) as n:
        ep = n.endpoint
        # A backlog of 600 000 probes queued while the application is busy: each needs no
        # application, so a notary that only checked its deadline when nothing waited would not
        # return until all were handled.
        d = dealer(ep)
        d.setsockopt(zmq.SNDHWM, 0)
        d.setsockopt(zmq.RCVHWM, 1)
        ping = [b"OTv2", b"PING", (1).to_bytes(8, "big")]
        for _ in range(600_000):
            d.send_multipart(ping)
        start = time.monotonic()
        with pytest.raises(ot.TimeoutError):
            n.receive(0.2)
        took = time.monotonic() - start
        print(f"receive(200 ms) with 600 000 probes queued: returned after {took * 1000:.1f} ms")
        assert took < 0.45, f"receive(0.2) took {took:.2f} s under a flood"
        d.close()


# ---- 3. requests freed unanswered are released; a per-peer cap ---------------------------------


def test_freed_requests_leave_nothing_behind_and_in_progress_is_capped(ids: Dict[str, ot.Key]) -> None:
    with rsa_notary(ids) as n:
        d = dealer(n.endpoint)
        # 50 requests signed by a stranger: the application drops each (it cannot verify them).
        for i in range(50):
            d.send_multipart(v2_req(i + 1, request_frame(ids, b"who am I\n", signer="other")))
        for _ in range(50):
            r = n.receive(5)
            with pytest.raises(ot.BadSignatureError):
                r.verify(ids["c_auth"])
            r.close()
        errs = 0
        deadline = time.monotonic() + 5
        while errs < 50 and time.monotonic() < deadline:
            try:
                n.receive(0.01)
            except ot.TimeoutError:
                pass
            while d.poll(0):
                f = d.recv_multipart()
                assert f[1] == b"ERR" and f[3] == UNREADABLE
                errs += 1
        assert errs == 50, "a freed, unanswered request is answered as unreadable"
        assert n.counter("in_progress") == 0
        assert n.counter("released") == 50

        # The application holds requests without answering: one connection gets at most 256 in
        # progress; the rest are refused at once (BUSY), before any work.
        frame = request_frame(ids, b"hold\n")
        held = []
        for i in range(300):
            d.send_multipart(v2_req(1000 + i, frame))
        busy = 0
        deadline = time.monotonic() + 20
        while len(held) + busy < 300 and time.monotonic() < deadline:
            try:
                held.append(n.receive(0.01))
            except ot.TimeoutError:
                pass
            while d.poll(0):
                f = d.recv_multipart()
                assert f[1] == b"ERR" and b"too many requests in progress" in f[3], f
                busy += 1
        assert (len(held), busy) == (256, 44)
        assert n.counter("in_progress") == 256
        del held
        import gc

        gc.collect()
        with pytest.raises(ot.TimeoutError):
            n.receive(0.05)
        assert n.counter("in_progress") == 0
        d.close()


# ---- 4. the reply cache: per-peer quota, retention, eviction -----------------------------------


def test_other_clients_cannot_evict_a_clients_cached_reply(ids: Dict[str, ot.Key]) -> None:
    with rsa_notary(ids) as n:
        ep = n.endpoint
        victim = dealer(ep)
        vbody = request_frame(ids, b"victim\n")
        victim.send_multipart(v2_req(1, vbody))
        r = n.receive(5)
        n.reply(r, b"for the victim", ids["c_enc"])
        r.close()
        first = recv_v2(victim, 5)
        assert first is not None and first[1] == b"REP"

        # Another client: 300 answered requests of 16 KiB replies, more than its own quota.
        other = dealer(ep)
        other.setsockopt(zmq.RCVHWM, 100000)
        obody = [request_frame(ids, f"other {i}\n".encode()) for i in range(300)]
        # In batches of 100: one connection may have at most 256 requests in progress.
        for start in range(0, 300, 100):
            for i in range(start, start + 100):
                other.send_multipart(v2_req(i + 1, obody[i]))
            for _ in range(100):
                r = n.receive(10)
                n.reply(r, (b"y" * 127 + b"\n") * 128, ids["c_enc"])
                r.close()
        assert n.counter("cached_replies") <= 257
        assert n.counter("cached_bytes") <= (4 << 20) + 2 * 17000
        time.sleep(1.0)
        # The victim's resend is answered from the cache, byte for byte, without the application.
        victim.send_multipart(v2_req(1, vbody))
        with pytest.raises(ot.TimeoutError):
            n.receive(0.3)
        again = recv_v2(victim, 5)
        assert again == first
        # The other client's oldest reply was evicted by its own quota: its resend is told so and
        # does not reach the application a second time.
        while other.poll(0):
            other.recv_multipart()
        other.send_multipart(v2_req(1, obody[0]))
        with pytest.raises(ot.TimeoutError):
            n.receive(0.3)
        got = recv_v2(other, 5)
        assert got is not None and got[1] == b"ERR" and b"no longer kept" in got[3], got
        assert n.counter("cache_evictions") >= 44
        victim.close()
        other.close()


# ---- 5. cache poisoning and route takeover --------------------------------------------------


def test_a_routing_id_in_use_cannot_be_taken_over(ids: Dict[str, ot.Key]) -> None:
    with rsa_notary(ids) as n:
        ep = n.endpoint
        victim = dealer(ep, b"Ovictim-routing-id")
        vbody = request_frame(ids, b"mine\n")
        victim.send_multipart(v2_req(5, vbody))
        req = n.receive(5)
        # An attacker connects with the victim's routing id while the request is in progress.
        thief = dealer(ep, b"Ovictim-routing-id")
        thief.send_multipart(v2_req(5, request_frame(ids, b"theirs\n")))
        time.sleep(0.3)
        with pytest.raises(ot.TimeoutError):
            n.receive(0.3)  # the thief's request never reaches the application
        n.reply(req, b"for the victim only", ids["c_enc"])
        got = recv_v2(victim, 5)
        assert got is not None and got[1] == b"REP"
        assert ot.verify(ot.Envelope.from_armor(got[3]).open(ids["c_enc"]), ids["n_auth"]) == b"for the victim only\n"
        assert recv_v2(thief, 0.5) is None
        thief.close()
        victim.close()


def test_a_cached_reply_goes_only_to_the_same_request(ids: Dict[str, ot.Key]) -> None:
    with rsa_notary(ids) as n:
        ep = n.endpoint
        # An attacker who knows (or guesses) a client's routing id and its next request ids
        # answers them first, hoping the client's requests hit the attacker's cached replies.
        attacker = dealer(ep, b"Oshared-routing-id")
        for i in (1, 2, 3):
            attacker.send_multipart(v2_req(i, request_frame(ids, f"attacker {i}\n".encode())))
            r = n.receive(5)
            n.reply(r, b"attacker's reply", ids["other"])
            r.close()
            assert recv_v2(attacker, 5) is not None
        attacker.close()
        # The notary notices the closed connection while it serves (inside receive); only then is
        # the routing id free again (a connection presenting an id in use is refused).
        for _ in range(3):
            with pytest.raises(ot.TimeoutError):
                n.receive(0.1)
        victim = dealer(ep, b"Oshared-routing-id")
        for i in (1, 2, 3):
            victim.send_multipart(v2_req(i, request_frame(ids, f"victim {i}\n".encode())))
            r = n.receive(5)  # each reaches the application: it is another request
            assert r.verify(ids["c_auth"]) == f"victim {i}\n".encode()
            n.reply(r, b"victim's reply", ids["c_enc"])
            r.close()
            got = recv_v2(victim, 5)
            assert got is not None and got[1] == b"REP"
            ot.Envelope.from_armor(got[3]).open(ids["c_enc"])  # readable: its own reply
        victim.close()


# ---- 6. bytes one connection can park -----------------------------------------------------------

_PARKED = textwrap.dedent(
    """
    import sys, time
    import ot_transport as ot
    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    what = sys.argv[1]
    a, e = ot.Key.generate(1024), ot.Key.generate(1024)
    if what == "notary":
        n = ot.Notary("tcp://127.0.0.1:*", a, e)
        ep = n.endpoint
    else:
        _, backend_secret = ot.curve_keypair()
        n = ot.Broker("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", backend_secret=backend_secret)
        ep = n.frontend
    print(ep, hwm(), flush=True)
    sys.stdin.readline()  # the application is busy (the broker has no worker) meanwhile
    print(hwm(), flush=True)
    """
)


@pytest.mark.parametrize("what", ["notary", "broker"])
def test_one_connection_cannot_park_hundreds_of_mib(what: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _PARKED, what],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        ep, before = child.stdout.readline().split()
        d = dealer(ep)
        d.setsockopt(zmq.SNDTIMEO, 200)
        d.setsockopt(zmq.SNDHWM, 4)
        chunk = os.urandom(4 << 20)
        sent = 0
        end = time.monotonic() + 6
        while sent < 64 and time.monotonic() < end:  # 256 MiB as 4 MiB frames, if it takes them
            try:
                d.send_multipart(v2_req(sent + 1, chunk))
                sent += 1
            except zmq.Again:
                time.sleep(0.05)
        time.sleep(1.0)
        child.stdin.write("\n")
        child.stdin.flush()
        after = int(child.stdout.readline())
        grew = after - int(before)
        print(f"{what}: {sent} x 4 MiB offered, peak RSS grew {grew / 2**20:.1f} MiB")
        assert grew < 64 << 20, f"{what}: peak RSS grew {grew / 2**20:.1f} MiB"
        d.close()
    finally:
        child.kill()
        child.wait(10)


# ---- 7. pushes nobody asked for, forged pushes, a bounded push queue ---------------------------


class FakeNotary:
    """A ROUTER that speaks v2 as a (rogue) notary would, signing with the notary's real keys
    where it must look genuine."""

    def __init__(self, ids: Dict[str, ot.Key]) -> None:
        self.ids = ids
        self.s = zmq.Context.instance().socket(zmq.ROUTER)
        self.s.setsockopt(zmq.LINGER, 0)
        port = self.s.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"

    def sealed(self, content: bytes, signer: str = "n_auth") -> bytes:
        text = ot.sign("MESSAGE", content, self.ids[signer])
        return ot.seal([("", self.ids["c_enc"].public())], text).to_armor(True)

    def next_request(self, timeout: float = 5) -> Tuple[bytes, int]:
        end = time.monotonic() + timeout
        while True:
            assert self.s.poll(max(1, int((end - time.monotonic()) * 1000))), "no request"
            f = self.s.recv_multipart()
            if f[1:3] == [b"OTv2", b"PING"]:  # a probe (a session asks for transport keys first)
                self.s.send_multipart([f[0], b"OTv2", b"PONG", f[3]])
                continue
            assert f[1:3] == [b"OTv2", b"REQ"], f[:3]
            return f[0], int.from_bytes(f[3], "big")

    EPOCH = (12345).to_bytes(8, "big")

    def send(self, peer: bytes, command: bytes, n: int, body: bytes, extra: "List[bytes] | None" = None) -> None:
        """A v2 frame; a PUSH names its stream ("stream") and epoch, as the wire format says."""
        if extra is None and command == b"PUSH":
            extra = [b"stream", self.EPOCH]
        self.s.send_multipart([peer, b"OTv2", command, n.to_bytes(8, "big"), body] + (extra or []))

    def subscribed(self, peer: bytes, n: int, content: bytes, seq: int = 0) -> None:
        """The reply to a subscription: the stream "stream" at sequence number `seq`."""
        self.send(peer, b"REP", n, self.sealed(content), [b"stream", self.EPOCH + seq.to_bytes(8, "big")])

    def close(self) -> None:
        self.s.close()


def test_pushes_without_a_subscription_are_dropped_and_counted(ids: Dict[str, ot.Key]) -> None:
    fake = FakeNotary(ids)
    s = ot.Session(
        fake.endpoint,
        fast_options(protocol=int(ot.Protocol.V2), latency_receive_ms=2000),
        identity=(ids["c_auth"], ids["c_enc"]),
        notary=(ids["n_enc"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
    )
    try:
        rid = s.send(b"hello\n")
        peer, n = fake.next_request()
        junk = os.urandom(1 << 20)
        for i in range(100):
            fake.send(peer, b"PUSH", i + 1, junk)
        fake.send(peer, b"REP", n, fake.sealed(b"hi"))
        assert s.receive(5) == (rid, b"hi\n")
        with pytest.raises(ot.TimeoutError):
            s.next_push(0.2)
        assert s.counter("pushes_unsolicited") == 100
        assert s.counter("pushes_queued") == 0
    finally:
        s.close()
        fake.close()


def test_forged_pushes_are_dropped_and_the_queue_is_bounded_in_bytes(ids: Dict[str, ot.Key]) -> None:
    fake = FakeNotary(ids)
    s = ot.Session(
        fake.endpoint,
        fast_options(protocol=int(ot.Protocol.V2), latency_receive_ms=2000),
        identity=(ids["c_auth"], ids["c_enc"]),
        notary=(ids["n_enc"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
    )
    try:
        done: "queue.Queue[bytes]" = queue.Queue()
        t = threading.Thread(target=lambda: done.put(s.subscribe(b"subscribe\n")))
        t.start()
        peer, n = fake.next_request()
        fake.subscribed(peer, n, b"subscribed")
        t.join(10)
        assert done.get(timeout=1) == b"subscribed\n"
        # Forged: garbage, signed by another key, sealed to another key; then a genuine one.
        fake.send(peer, b"PUSH", 1, b"garbage")
        fake.send(peer, b"PUSH", 2, fake.sealed(b"forged", signer="other"))
        fake.send(peer, b"PUSH", 3, ot.seal([("", ids["other"].public())], ot.sign("MESSAGE", b"x", ids["n_auth"])).to_armor(True))
        fake.send(peer, b"PUSH", 4, fake.sealed(b"genuine"))
        p = s.next_push(5)
        assert p.content == b"genuine\n" and p.seq == 4
        assert s.counter("pushes_invalid") == 3
        # 24 MiB of unread pushes: the queue keeps at most 16 MiB (the oldest dropped, counted).
        big = os.urandom(1 << 20)
        for i in range(24):
            fake.send(peer, b"PUSH", 10 + i, big)
        time.sleep(0.5)
        with pytest.raises(ot.TimeoutError):
            s.receive(0.3)  # reads the socket into the queue
        assert s.counter("pushes_queued_bytes") <= 16 << 20
        assert s.counter("pushes_overflow") >= 8
        # Reading them: every one is invalid garbage, dropped and counted; never an error.
        with pytest.raises(ot.TimeoutError):
            s.next_push(0.2)
        assert s.counter("pushes_queued") == 0
    finally:
        s.close()
        fake.close()


# ---- 8. a forged reply costs one key operation ---------------------------------------------------


def test_a_forged_reply_with_thousands_of_entries_costs_one_key_operation(ids: Dict[str, ot.Key]) -> None:
    fake = FakeNotary(ids)
    s = ot.Session(
        fake.endpoint,
        fast_options(protocol=int(ot.Protocol.V2), latency_receive_ms=2000),
        identity=(ids["v3_c_auth"], ids["v3_c_enc"]),
        notary=(ids["v3_n_enc"].nym_id, ids["v3_n_enc"].public(), ids["v3_n_auth"].public()),
    )
    try:
        # 2048 entries, none of them key-only: the client must not try them one by one.
        keys = [ot.Key.generate_x25519() for _ in range(8)]
        recipients = [(f"n{i}", keys[i % 8].public()) for i in range(2048)]
        t0 = time.monotonic()
        forged = ot.seal(recipients, ot.sign("MESSAGE", b"x", ids["v3_n_auth"])).to_armor(True)
        seal_time = time.monotonic() - t0
        rid = s.send(b"q\n")
        peer, n = fake.next_request()
        t0 = time.monotonic()
        fake.send(peer, b"REP", n, forged)
        with pytest.raises(ot.OtError) as e:
            s.receive(5)
        took = time.monotonic() - t0
        assert getattr(e.value, "request_id", None) == rid
        # Sealing did 2048 X25519 operations; trying every entry would cost as much again.
        print(f"forged 2048-entry reply read in {took * 1000:.1f} ms (sealing it took {seal_time * 1000:.0f} ms)")
        assert took < seal_time / 4, f"reading the forged reply took {took:.3f} s (seal {seal_time:.3f} s)"
    finally:
        s.close()
        fake.close()


# ---- 9. a v2 request with an empty body ---------------------------------------------------------


def test_a_v2_request_with_an_empty_body_gets_err(ids: Dict[str, ot.Key]) -> None:
    served = Served(rsa_notary(ids), echo_known(ids))
    try:
        d = dealer(served.endpoint)
        d.send_multipart(v2_req(77, b""))
        got = recv_v2(d, 3)
        assert got is not None, "an empty-body v2 REQ was taken for a legacy message and dropped"
        assert got[1:3] == [b"ERR", (77).to_bytes(8, "big")] and got[3] == UNREADABLE
        d.close()
    finally:
        served.close()


# ---- 10. one failed push does not unsubscribe everyone -------------------------------------------


def test_a_failing_push_leaves_every_route_registered(ids: Dict[str, ot.Key]) -> None:
    n = ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"], options=fast_options())
    n.add_identity(ids["v3_n_auth"], ids["v3_n_enc"], ids["v3_n_enc"].nym_id)
    ep = n.endpoint
    legacy = ot.Session(
        ep,
        fast_options(protocol=int(ot.Protocol.V2), latency_receive_ms=2000),
        identity=(ids["c_auth"], ids["c_enc"]),
        notary=(ids["n_enc"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
    )
    v3 = ot.Session(
        ep,
        fast_options(protocol=int(ot.Protocol.V2), latency_receive_ms=2000),
        identity=(ids["v3_c_auth"], ids["v3_c_enc"]),
        notary=(ids["v3_n_enc"].nym_id, ids["v3_n_enc"].public(), ids["v3_n_auth"].public()),
    )
    try:
        for sess, enc in ((legacy, "c_enc"), (v3, "v3_c_enc")):
            done: "queue.Queue[bytes]" = queue.Queue()
            t = threading.Thread(target=lambda: done.put(sess.subscribe(b"sub\n")))
            t.start()
            r = n.receive(5)
            # A subscriber key that cannot receive sealed pushes is refused at registration.
            with pytest.raises(ot.InvalidArgumentError):
                n.register_push(r, "stream", ids["v3_c_auth"].public())
            n.register_push(r, "stream", ids[enc].public())
            n.reply(r, b"ok", ids[enc])
            r.close()
            t.join(10)
            assert done.get(timeout=1) == b"ok\n"
        # Content an RSA/SAMY signer must refuse (a legacy reader would alter it): the v3 route
        # is still served, the RSA route fails alone, and both stay registered.
        long_line = b"a" * 3000 + b"\n"
        assert n.push("stream", long_line) == 1
        assert n.counter("push_failures") == 1
        assert v3.next_push(5).content == long_line
        assert n.push("stream", b"for both\n") == 2
        assert legacy.next_push(5).content == b"for both\n"
        assert v3.next_push(5).content == b"for both\n"
    finally:
        legacy.close()
        v3.close()
        n.close()


# ---- 12. key files that kill the process ---------------------------------------------------------


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 128:
        return bytes([tag, n]) + content
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(b)]) + b + content


def _int(v: int) -> bytes:
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return _der(0x02, b)


def scrypt_pkcs8(n: int, r: int, p: int) -> bytes:
    """An EncryptedPrivateKeyInfo (PBES2, scrypt KDF, AES-256-CBC) as PEM, with made-up data."""
    oid = lambda b: _der(0x06, b)  # noqa: E731
    pbes2 = oid(bytes.fromhex("2a864886f70d01050d"))
    scrypt = oid(bytes.fromhex("2b06010401da47040b"))
    aes256 = oid(bytes.fromhex("60864801650304012a"))
    kdf = _der(0x30, scrypt + _der(0x30, _der(0x04, b"saltsalt") + _int(n) + _int(r) + _int(p)))
    enc = _der(0x30, aes256 + _der(0x04, b"\x00" * 16))
    alg = _der(0x30, pbes2 + _der(0x30, kdf + enc))
    der = _der(0x30, alg + _der(0x04, b"\x00" * 64))
    import base64

    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END ENCRYPTED PRIVATE KEY-----\n").encode()


@pytest.mark.parametrize("n,r,p", [(2**50, 8, 1), (2**14, 8, 65535), (2**14, 8, 1)])
def test_scrypt_keys_are_refused_without_work(n: int, r: int, p: int) -> None:
    # In a child process: before the fix, N = 2^50 aborted the process (allocation failure).
    code = textwrap.dedent(
        f"""
        import sys, time, ot_transport as ot
        pem = bytes.fromhex({scrypt_pkcs8(n, r, p).hex()!r})
        t = time.monotonic()
        try:
            ot.Key.load(pem, b"test")
            print("LOADED")
        except ot.UnsupportedError:
            print("UNSUPPORTED", time.monotonic() - t)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-500:]
    word, took = out.stdout.split()
    assert word == "UNSUPPORTED" and float(took) < 1.0, out.stdout


# ---- 13. signature stuffing ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_signature_sections_are_capped(ids: Dict[str, ot.Key], kind: str) -> None:
    key = ids["c_auth"] if kind == "rsa" else ids["v3_c_auth"]
    text = ot.sign("MESSAGE", b"stuffed\n", key)
    section = text[text.index(b"-----BEGIN MESSAGE SIGNATURE-----") :]
    at_cap = text + (b"\n" + section) * 15
    assert ot.verify(at_cap, key) == b"stuffed\n"
    with pytest.raises(ot.MalformedError):
        ot.verify(text + (b"\n" + section) * 16, key)
    with pytest.raises(ot.MalformedError):
        ot.verify(text + (b"\n" + section) * 2000, key)


# ---- 14. a request from the iterator stays usable -----------------------------------------------


def test_requests_from_the_iterator_can_be_answered_after_the_next_one(ids: Dict[str, ot.Key]) -> None:
    with rsa_notary(ids) as n:
        ep = n.endpoint
        got: List[ot.Request] = []

        def serve() -> None:
            for req in n.requests(idle_timeout=5):
                got.append(req)
                if len(got) == 2:
                    break
            # Answered in reverse order, after the loop moved on (v2 allows it).
            for r in reversed(got):
                r.reply(b"re:" + r.verify(ids["c_auth"]), ids["c_enc"])

        t = threading.Thread(target=serve)
        t.start()
        with ot.Session(
            ep,
            fast_options(protocol=int(ot.Protocol.V2), latency_receive_ms=2000),
            identity=(ids["c_auth"], ids["c_enc"]),
            notary=(ids["n_enc"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
        ) as s:
            a = s.send(b"one\n")
            b = s.send(b"two\n")
            replies = dict(s.receive(10) for _ in range(2))
        t.join(10)
        assert replies == {a: b"re:one\n", b: b"re:two\n"}
