"""The notary as an actor (its sockets on a thread of its own), push streams, and idle or frozen
connections: what a v2 peer sees whatever the application is doing. Every wait is bounded."""

from __future__ import annotations

import select
import threading
import time
from typing import Dict, List

import pytest
import zmq

import ot_transport as ot
from test_errors import fast_options


@pytest.fixture(scope="module")
def ids() -> Dict[str, ot.Key]:
    return {n: ot.Key.generate(1024) for n in ("c_auth", "c_enc", "n_auth", "n_enc")}


def notary(ids: Dict[str, ot.Key], **opts: int) -> ot.Notary:
    return ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"], options=fast_options(**opts))


def v2_session(ids: Dict[str, ot.Key], endpoint: str, **opts: int) -> ot.Session:
    return ot.Session(
        endpoint,
        fast_options(protocol=int(ot.Protocol.V2), latency_receive_ms=2000, **opts),
        identity=(ids["c_auth"], ids["c_enc"]),
        notary=(ids["n_enc"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
    )


def dealer(endpoint: str) -> zmq.Socket:
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    return s


def request_frame(ids: Dict[str, ot.Key], content: bytes) -> bytes:
    text = ot.sign("MESSAGE", content, ids["c_auth"])
    return ot.seal([(ids["n_enc"].nym_id, ids["n_enc"].public())], text).to_armor(False)


def test_a_busy_application_does_not_delay_probes_resends_or_answers(ids: Dict[str, ot.Key]) -> None:
    with notary(ids) as n:
        ep = n.endpoint
        d = dealer(ep)
        # A request answered, then the application is busy elsewhere (nobody in receive).
        body = request_frame(ids, b"cache me\n")
        d.send_multipart([b"OTv2", b"REQ", (5).to_bytes(8, "big"), body])
        r = n.receive(5)
        r.reply(b"ok", ids["c_enc"])
        r.close()
        assert d.poll(5000) and d.recv_multipart()[1] == b"REP"
        # PING: answered at once.
        worst = 0.0
        for i in range(20):
            t = time.monotonic()
            d.send_multipart([b"OTv2", b"PING", (100 + i).to_bytes(8, "big")])
            assert d.poll(2000), "no PONG while the application is busy"
            f = d.recv_multipart()
            worst = max(worst, time.monotonic() - t)
            assert f[1:3] == [b"PONG", (100 + i).to_bytes(8, "big")]
        print(f"PONG while the application is busy: at most {worst * 1000:.2f} ms over 20 probes")
        assert worst < 0.5
        # A resend after the interval: answered from the cache without the application.
        time.sleep(1.05)
        d.send_multipart([b"OTv2", b"REQ", (5).to_bytes(8, "big"), body])
        assert d.poll(2000) and d.recv_multipart()[1] == b"REP"
        assert n.counter("pongs") == 20
        d.close()


def test_auto_chooses_v2_with_a_busy_notary(ids: Dict[str, ot.Key]) -> None:
    with notary(ids) as n:  # nobody is receiving: the application is "busy"
        with ot.Session(
            n.endpoint,
            fast_options(protocol=int(ot.Protocol.AUTO), probe_timeout_ms=500),
            identity=(ids["c_auth"], ids["c_enc"]),
            notary=(ids["n_enc"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
        ) as s:
            assert s.protocol is ot.Protocol.V2


def test_several_threads_serve_one_notary(ids: Dict[str, ot.Key]) -> None:
    with notary(ids) as n:
        ep = n.endpoint
        stop = threading.Event()
        served: Dict[int, int] = {}
        lock = threading.Lock()

        def serve(k: int) -> None:
            while not stop.is_set():
                try:
                    r = n.receive(0.05)
                except ot.TimeoutError:
                    continue
                r.reply(b"from " + str(k).encode() + b": " + r.verify(ids["c_auth"]), ids["c_enc"])
                r.close()
                with lock:
                    served[k] = served.get(k, 0) + 1

        threads = [threading.Thread(target=serve, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        try:
            sessions = [v2_session(ids, ep) for _ in range(4)]
            sent = {}
            for si, s in enumerate(sessions):
                for i in range(25):
                    sent[(si, s.send(f"{si}/{i}\n"))] = f"{si}/{i}\n".encode()
            for si, s in enumerate(sessions):
                for _ in range(25):
                    rid, reply = s.receive(20)
                    want = sent.pop((si, rid))
                    assert reply.endswith(b": " + want)
                s.close()
            assert not sent
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        assert sum(served.values()) == 100
        assert len(served) >= 2, f"only one thread served: {served}"
        assert n.stats.requests == 100 and n.stats.replies == 100


def subscribe(n: ot.Notary, s: ot.Session, ids: Dict[str, ot.Key], stream: str) -> None:
    """`s` subscribes to `stream`; the notary's application accepts it on a thread."""

    def accept() -> None:
        r = n.receive(10)
        n.register_push(r, stream, ids["c_enc"].public())
        r.reply(b"subscribed to " + stream.encode(), ids["c_enc"])
        r.close()

    t = threading.Thread(target=accept)
    t.start()
    assert s.subscribe(f"<subscribe to={stream}/>\n") == b"subscribed to " + stream.encode() + b"\n"
    t.join(10)


def test_streams_share_a_connection_and_late_subscribers_miss_nothing(ids: Dict[str, ot.Key]) -> None:
    with notary(ids) as n:
        ep = n.endpoint
        with v2_session(ids, ep) as early:
            subscribe(n, early, ids, "A")
            for k in range(3):
                assert n.push("A", f"A{k + 1}") == 1
            subscribe(n, early, ids, "B")
            assert n.push("B", "B1") == 1
            assert n.push("A", "A4") == 1
            got = [early.next_push(5) for _ in range(5)]
            assert [(p.stream, p.seq, p.missed, p.content) for p in got] == [
                ("A", 1, 0, b"A1\n"),
                ("A", 2, 0, b"A2\n"),
                ("A", 3, 0, b"A3\n"),
                ("B", 1, 0, b"B1\n"),
                ("A", 4, 0, b"A4\n"),
            ]
            # A subscriber that joins after 4 pushes of A starts with nothing missed.
            with v2_session(ids, ep) as late:
                subscribe(n, late, ids, "A")
                assert n.push("A", "A5") == 2
                p = late.next_push(5)
                assert (p.stream, p.seq, p.missed) == ("A", 5, 0)
                assert early.next_push(5).seq == 5


def test_a_notary_restart_is_always_reported(ids: Dict[str, ot.Key]) -> None:
    n = notary(ids)
    ep = n.endpoint
    with v2_session(ids, ep, heartbeat_ivl_ms=200, heartbeat_timeout_ms=600) as s:
        subscribe(n, s, ids, "R")
        for k in range(5):
            n.push("R", f"old {k}")
        assert [s.next_push(5).seq for _ in range(5)] == [1, 2, 3, 4, 5]
        n.close()
        # A new notary on the same endpoint (new epoch); its stream restarts from 1 but passes
        # the session's last number (5) before the session reads: the restart still shows.
        n2 = ot.Notary(ep, ids["n_auth"], ids["n_enc"], options=fast_options())

        def new_notary() -> None:
            r = n2.receive(15)  # the session re-subscribes by itself after reconnecting
            n2.register_push(r, "R", ids["c_enc"].public())
            for k in range(7):  # sequence numbers 1..7 of the new epoch
                n2.push("R", f"new {k}")
            r.reply(b"again", ids["c_enc"])
            r.close()

        t = threading.Thread(target=new_notary)
        t.start()
        try:
            first = s.next_push(15)  # waiting pumps the session: it reconnects and re-subscribes
            t.join(10)
            assert first.missed == ot.MISSED_UNKNOWN, first
            rest = [s.next_push(5) for _ in range(6)]
            assert [p.missed for p in rest] == [0] * 6
        finally:
            n2.close()


def test_idle_and_frozen_connections_are_closed(ids: Dict[str, ot.Key]) -> None:
    # A silence limit of 1 s (the listener's heartbeat_ttl_ms): never-sent connections go after
    # 2 s, silent v2 ones after 1 s; a live v2 session that keeps probing stays.
    with notary(ids, heartbeat_ttl_ms=1000) as n:
        ep = n.endpoint

        def stays_away(s: zmq.Socket) -> zmq.Socket:
            s.setsockopt(zmq.RECONNECT_IVL, 60_000)  # once closed, it does not come back here
            s.connect(ep)
            return s

        ctx = zmq.Context.instance()
        mute = stays_away(ctx.socket(zmq.DEALER))  # connects, never sends
        frozen = stays_away(ctx.socket(zmq.DEALER))  # one message, then frozen (no probe)
        frozen.send_multipart([b"OTv2", b"PING", (1).to_bytes(8, "big")])
        with v2_session(ids, ep, heartbeat_ivl_ms=200, heartbeat_timeout_ms=600) as live:
            assert live.protocol is ot.Protocol.V2
            deadline = time.monotonic() + 3.5
            while time.monotonic() < deadline:
                with pytest.raises(ot.TimeoutError):
                    live.receive(0.1)  # the live session keeps probing while it waits
            # Exactly the two: the live session was never closed (it would have reconnected
            # and been counted).
            assert n.counter("reaped") == 2, n.counters()
            assert n.counter("connections") == 1
            # The live session still works; the reaped ones reconnect by themselves (libzmq).
            threading.Timer(0.1, lambda: (lambda r: (r.reply(b"still here", ids["c_enc"]), r.close()))(n.receive(5))).start()
            assert live.request(b"hello\n") == b"still here\n"
        mute.close(linger=0)
        frozen.close(linger=0)


def test_the_notary_descriptor_is_level_triggered(ids: Dict[str, ot.Key]) -> None:
    with notary(ids) as n:
        fd = n.fd
        assert select.select([fd], [], [], 0)[0] == []
        d = dealer(n.endpoint)
        for i in range(3):
            d.send_multipart([b"OTv2", b"REQ", (i + 1).to_bytes(8, "big"), request_frame(ids, b"x\n")])
        assert select.select([fd], [], [], 5)[0] == [fd]
        got: List[ot.Request] = []
        while len(got) < 3:
            assert select.select([fd], [], [], 5)[0] == [fd]  # readable while any waits
            got.append(n.receive(0))
        assert select.select([fd], [], [], 0.1)[0] == []
        for r in got:
            r.close()
        d.close()


def test_a_cached_subscription_reply_keeps_its_streams(ids: Dict[str, ot.Key]) -> None:
    """A subscriber whose first reply was lost resends; the reply from the cache carries the
    stream frames as the first one did (else its pushes would be dropped as unsolicited)."""
    with notary(ids) as n:
        d = dealer(n.endpoint)
        body = request_frame(ids, b"subscribe\n")
        d.send_multipart([b"OTv2", b"REQ", (9).to_bytes(8, "big"), body])
        r = n.receive(5)
        n.register_push(r, "streamA", ids["c_enc"].public())
        n.register_push(r, "streamB", ids["c_enc"].public())
        r.reply(b"subscribed", ids["c_enc"])
        r.close()
        assert d.poll(5000)
        first = d.recv_multipart()
        assert first[1] == b"REP" and len(first) == 8, first[:2]
        assert [first[4], first[6]] == [b"streamA", b"streamB"]
        time.sleep(1.05)  # a resend of an answered request is served once a second at most
        d.send_multipart([b"OTv2", b"REQ", (9).to_bytes(8, "big"), body])
        assert d.poll(2000), "the resend was not answered from the cache"
        again = d.recv_multipart()
        assert again == first
        assert n.counter("duplicates") == 1
        d.close()
