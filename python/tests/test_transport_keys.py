"""CURVE without configuration (docs/wire-format.md, "Transport keys"): a notary publishes its
transport key signed by its identity; v2 sessions that know the notary's keys verify it and move
to CURVE. Next to it, a pyzmq peer that is not the notary answers the probe with a document it
signed itself: refused."""

from __future__ import annotations

import threading
import time

import pytest
import zmq

import ot_transport as ot
from test_errors import fast_options

KEYS_FLAG = 1 << 63


@pytest.fixture(scope="module")
def ids() -> dict:
    return {n: ot.Key.generate(1024) for n in ("c_auth", "c_enc", "n_auth", "n_enc")}


def session(ids: dict, endpoint: str, **opts: int) -> ot.Session:
    return ot.Session(
        endpoint,
        fast_options(protocol=int(ot.Protocol.V2), max_resends=1, **opts),
        identity=(ids["c_auth"], ids["c_enc"]),
        notary=(ids["n_auth"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
    )


def test_a_session_verifies_the_published_key_and_talks_curve(ids: dict) -> None:
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"], ids["n_auth"].nym_id) as n:
        assert n.transport_key is None
        curve_ep = n.bind_curve("tcp://127.0.0.1:*")
        assert n.transport_key is not None and len(n.transport_key) == 40
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    r = n.receive(0.05)
                except ot.TimeoutError:
                    continue
                r.reply(b"ok:" + r.verify(ids["c_auth"]), ids["c_enc"])
                r.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            with session(ids, n.endpoint) as s:  # the plain endpoint, nothing about CURVE
                assert s.request("one") == b"ok:one\n"
                assert s.counter("curve") == 1 and s.counter("transport_keys_refused") == 0
            assert n.counter("requests_curve") == 1
            with session(ids, n.endpoint, curve_policy=0) as s:
                assert s.request("two") == b"ok:two\n"
                assert s.counter("curve") == 0
            assert n.counter("requests_curve") == 1
            # What the probe returns, read with pyzmq: one document, signed by the notary.
            d = zmq.Context.instance().socket(zmq.DEALER)
            d.linger = 0
            d.connect(n.endpoint)
            d.send_multipart([b"OTv2", b"PING", (KEYS_FLAG | 5).to_bytes(8, "big")])
            assert d.poll(5000)
            f = d.recv_multipart()
            assert f[:3] == [b"OTv2", b"PONG", (KEYS_FLAG | 5).to_bytes(8, "big")] and len(f) == 4
            content = f[3]  # a signed text of type TRANSPORT KEY (RSA: Hash SAMY-TYPED, type-bound)
            assert b"-----BEGIN SIGNED TRANSPORT KEY-----" in content and b"Hash: SAMY-TYPED" in content
            assert f'notaryID="{ids["n_auth"].nym_id}"'.encode() in content
            assert f'curveKey="{n.transport_key}"'.encode() in content
            assert f"<endpoint>tcp://*:{curve_ep.rsplit(':', 1)[1]}</endpoint>".encode() in content
            d.send_multipart([b"OTv2", b"PING", (6).to_bytes(8, "big")])  # not asked: nothing
            assert d.poll(5000) and len(d.recv_multipart()) == 3
            d.close()
        finally:
            stop.set()
            t.join(10)


def test_a_transport_key_signed_by_another_key_is_refused(ids: dict) -> None:
    # A well-formed document naming the notary, from a notary object that claims the notary's
    # NymID but holds another authentication key (what an impostor can make).
    impostor = ot.Key.generate(1024)
    with ot.Notary("tcp://127.0.0.1:*", impostor, ids["n_enc"], ids["n_auth"].nym_id) as other:
        other.bind_curve("tcp://127.0.0.1:*")
        d = zmq.Context.instance().socket(zmq.DEALER)
        d.linger = 0
        d.connect(other.endpoint)
        d.send_multipart([b"OTv2", b"PING", (KEYS_FLAG | 1).to_bytes(8, "big")])
        assert d.poll(5000)
        forged = d.recv_multipart()[3]
        d.close()
    assert f'notaryID="{ids["n_auth"].nym_id}"'.encode() in forged
    r = zmq.Context.instance().socket(zmq.ROUTER)
    r.linger = 0
    port = r.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def fake() -> None:
        while not stop.is_set():
            if not r.poll(20):
                continue
            f = r.recv_multipart()
            if f[1:3] == [b"OTv2", b"PING"]:
                r.send_multipart([f[0], b"OTv2", b"PONG", f[3], forged])

    t = threading.Thread(target=fake, daemon=True)
    t.start()
    try:
        with session(ids, f"tcp://127.0.0.1:{port}", curve_policy=2) as s:
            with pytest.raises(ot.StateError, match="no transport key"):
                s.send("x")
            assert s.counter("transport_keys_refused") == 1 and s.counter("curve") == 0
        with session(ids, f"tcp://127.0.0.1:{port}", curve_policy=1) as s:
            s.send("y")  # stays on the plain connection
            assert s.counter("transport_keys_refused") == 1 and s.counter("curve") == 0
    finally:
        stop.set()
        t.join(10)
        r.close()


def test_a_session_follows_a_rotated_transport_key(ids: dict) -> None:
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"], ids["n_auth"].nym_id) as n:
        n.bind_curve("tcp://127.0.0.1:*")
        first = n.transport_key
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    r = n.receive(0.05)
                except ot.TimeoutError:
                    continue
                r.reply(b"ok:" + r.verify(ids["c_auth"]), ids["c_enc"])
                r.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            with session(ids, n.endpoint, latency_receive_ms=1000, latency_receive_no_tries=3) as s:
                assert s.request("before") == b"ok:before\n" and s.counter("curve") == 1
                time.sleep(1.1)  # a session asks again at most once a second
                public, secret = ot.curve_keypair()
                n.set_transport_key(secret, int(time.time()) + 3600)  # rotation while running
                assert n.transport_key == public != first
                assert s.request("after") == b"ok:after\n"
                assert s.counter("transport_key_changes") == 1 and s.counter("curve") == 1
            assert n.counter("requests_curve") == 2
        finally:
            stop.set()
            t.join(10)
