"""Transport v2, server pushes and scale-out through the Pythonic API, over tcp loopback with
notaries on threads. Every wait is bounded."""

from __future__ import annotations

import selectors
import threading
from typing import List

import pytest

import ot_transport as ot
from conftest import BrokerKeys
from test_errors import fast_options


@pytest.fixture(scope="module")
def ids() -> dict:
    return {n: ot.Key.generate(1024) for n in ("c_auth", "c_enc", "n_auth", "n_enc")}


def v2_session(ids: dict, endpoint: str, **opts: int) -> ot.Session:
    return ot.Session(
        endpoint,
        fast_options(protocol=int(ot.Protocol.V2), **opts),
        identity=(ids["c_auth"], ids["c_enc"]),
        notary=(ids["n_enc"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
    )


def test_v2_options_are_settable() -> None:
    o = ot.SessionOptions(protocol=int(ot.Protocol.AUTO), max_in_flight=4, probe_timeout_ms=250, request_timeout_ms=3000)
    assert (o["protocol"], o["max_in_flight"], o["probe_timeout_ms"], o["request_timeout_ms"]) == (2, 4, 250, 3000)
    assert set(o.as_dict()) == set(ot.OPTION_NAMES)
    with pytest.raises(ot.InvalidArgumentError):
        o["protocol"] = 3
    o.close()


def test_pipelined_requests_answered_in_reverse_order(ids: dict) -> None:
    n = 8
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"]) as notary:
        held: List[ot.Request] = []

        def serve() -> None:
            while len(held) < n:
                held.append(notary.receive(10))
            for r in reversed(held):
                r.reply(b"re:" + r.verify(ids["c_auth"]), ids["c_enc"])
                r.close()

        endpoint = notary.endpoint  # before the thread: one thread at a time per notary
        t = threading.Thread(target=serve)
        t.start()
        with v2_session(ids, endpoint) as s:
            assert s.protocol is ot.Protocol.V2
            assert s.fd >= 0
            sent = {s.send(f"req {i}\n"): i for i in range(n)}
            assert len(sent) == n and s.in_flight == n
            got = {}
            for _ in range(n):
                rid, reply = s.receive(10)
                assert rid in sent and rid not in got
                got[rid] = reply
            assert {rid: f"re:req {i}\n".encode() for rid, i in sent.items()} == got
            assert s.in_flight == 0
            with pytest.raises(ot.TimeoutError) as e:
                s.receive(0)
            assert e.value.request_id is None
            st = s.stats
            assert isinstance(st, ot.SessionStats) and st.replies == n and st.timeouts == 0
        t.join(30)
        assert not t.is_alive()
        ns = notary.stats
        assert ns.requests == n and ns.replies == n and ns.rejected == 0


def test_a_request_that_fails_raises_its_own_error_with_its_id(ids: dict) -> None:
    # Nobody answers: the request ends with its own TimeoutError after its (single) try; the
    # receive call itself succeeded, so the error carries the request's id.
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"]) as notary:
        with v2_session(ids, notary.endpoint, latency_receive_ms=100, latency_receive_no_tries=1, max_resends=0,
                        request_timeout_ms=300) as s:
            rid = s.send("nobody answers")
            with pytest.raises(ot.TimeoutError) as e:
                s.receive(10)
            assert e.value.request_id == rid
            assert s.in_flight == 0 and s.stats.timeouts == 1


def test_subscribe_push_and_next_push(ids: dict) -> None:
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"]) as notary:
        second = notary.bind("tcp://127.0.0.1:*")
        assert second != notary.endpoint and notary.fd >= 0

        def accept_subscription() -> None:
            r = notary.receive(10)
            assert r.verify(ids["c_auth"]) == b"<subscribe/>\n"
            notary.register_push(r, "nym-py", ids["c_enc"].public())
            r.reply("subscribed", ids["c_enc"])

        t = threading.Thread(target=accept_subscription)
        t.start()
        with v2_session(ids, second) as s:
            assert s.subscribe("<subscribe/>\n") == b"subscribed\n"
            t.join(30)
            assert not t.is_alive()
            for k in range(1, 6):
                assert notary.push("nym-py", f"update {k}") == 1
            assert notary.push("nobody", "x") == 0
            first = s.next_push(10)
            assert first == ot.Push(1, 0, b"update 1\n", "nym-py")
            # the rest through the iterator, ended by the idle timeout
            rest = list(s.pushes(idle_timeout=0.5))
            assert [(p.seq, p.missed, p.content) for p in rest] == [(k, 0, f"update {k}\n".encode()) for k in range(2, 6)]
            with pytest.raises(ot.TimeoutError):
                s.next_push(0)
        assert notary.stats.pushes == 5


def test_fd_signals_a_push_to_a_selector(ids: dict) -> None:
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"]) as notary:

        def accept() -> None:
            r = notary.receive(10)
            notary.register_push(r, "nym-fd", ids["c_enc"])
            r.reply("ok", ids["c_enc"])

        endpoint = notary.endpoint
        t = threading.Thread(target=accept)
        t.start()
        with v2_session(ids, endpoint) as s:
            s.subscribe("<subscribe/>")
            t.join(30)
            notary.push("nym-fd", "wake up")
            got = []
            with selectors.DefaultSelector() as sel:
                sel.register(s.fd, selectors.EVENT_READ)
                for _ in range(50):  # bounded: 50 x 100 ms
                    while True:  # edge-triggered: drain before polling again
                        try:
                            got.append(s.next_push(0))
                        except ot.TimeoutError:
                            break
                    if got:
                        break
                    sel.select(0.1)
            assert [p.content for p in got] == [b"wake up\n"]


def test_legacy_session_refuses_v2_calls(ids: dict) -> None:
    with ot.Session("tcp://127.0.0.1:9", identity=(ids["c_auth"], ids["c_enc"]),
                    notary=(ids["n_enc"].nym_id, ids["n_enc"], ids["n_auth"])) as s:
        assert s.protocol is ot.Protocol.LEGACY
        with pytest.raises(ot.StateError, match="v2"):
            s.send("x")
        with pytest.raises(ot.StateError, match="v2"):
            s.send_frame(b"x")
        assert s.in_flight == 0


def test_raw_frames_pipeline_against_a_pyzmq_v2_peer() -> None:
    """send_frame / receive against a bare v2 peer written here with pyzmq from the wire spec: 32
    frames in flight, each reply handed back as the peer sent it (nothing opened)."""
    zmq = pytest.importorskip("zmq")
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.linger = 0
    port = router.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            if not router.poll(50):
                continue
            f = router.recv_multipart()
            if len(f) == 5 and f[1] == b"OTv2" and f[2] == b"REQ":
                router.send_multipart([f[0], b"OTv2", b"REP", f[3], b"echo:" + f[4]])

    t = threading.Thread(target=echo)
    t.start()
    try:
        with ot.Session(f"tcp://127.0.0.1:{port}",
                        fast_options(protocol=int(ot.Protocol.V2), curve_policy=0)) as s:
            sent = {s.send_frame(bytes([i]) * (i + 1) + b"\0"): i for i in range(32)}
            assert s.in_flight == 32
            for _ in range(32):
                rid, reply = s.receive(10)
                i = sent.pop(rid)
                assert reply == b"echo:" + bytes([i]) * (i + 1) + b"\0"
            assert not sent
    finally:
        stop.set()
        t.join()
        router.close()
        ctx.term()


def test_broker_with_a_worker_serves_a_request(ids: dict) -> None:
    keys = BrokerKeys()
    with ot.Broker("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", **keys.broker_args()) as broker:
        assert broker.frontend != broker.backend and broker.backend_public == keys.backend_public
        with ot.Notary.connect(broker.backend, ids["n_auth"], ids["n_enc"], options=keys.options()) as worker:

            def serve() -> None:
                r = worker.receive(10)
                r.reply(b"worker:" + r.verify(ids["c_auth"]), ids["c_enc"])
                r.close()

            t = threading.Thread(target=serve)
            t.start()
            with v2_session(ids, broker.frontend) as s:
                assert s.request("via broker") == b"worker:via broker\n"
            t.join(30)
            assert not t.is_alive()
            st = broker.stats
            assert isinstance(st, ot.BrokerStats)
            assert st.workers == 1 and st.requests >= 1 and st.replies >= 1 and st.dropped == 0
            assert worker.stats.replies == 1
    assert broker.closed
    with pytest.raises(ValueError):
        broker.stats
