"""Who may be a worker, and what a worker is trusted with (docs/wire-format.md "Broker ↔
worker"): peers on the backend written here with pyzmq from the spec, next to real worker
notaries of the library.

- a network backend admits only listed CURVE keys: a peer with another key, or without CURVE, is
  refused at the handshake, counted, and handed nothing even if it says READY;
- a listed worker that turned rogue (its key stolen, its host taken) and answers junk that announces itself and answers junk, sprays forged ERR frames for a
  client's next request ids and pushes to clients that never subscribed through it: nothing of it
  reaches a client, honest requests all succeed;
- a worker whose application froze (it stopped taking requests) stops receiving work and gets it
  again when it recovers;
- a peer speaking anything but backend protocol 1 is refused.
"""

from __future__ import annotations

import threading
import time
from typing import Dict, List

import pytest
import zmq

import ot_transport as ot
from conftest import BrokerKeys
from test_transport_v2 import v2_session

TAG, CLIENT, CONTROL = b"OTb1", b"C", b"B"


@pytest.fixture(scope="module")
def ids() -> dict:
    return {n: ot.Key.generate(1024) for n in ("c_auth", "c_enc", "n_auth", "n_enc")}


class Serving:
    """A worker notary and a thread that answers every request with `name:` + content until
    frozen or stopped."""

    def __init__(self, ids: dict, backend: str, name: str, keys: BrokerKeys) -> None:
        self.ids, self.name = ids, name
        self.notary = ot.Notary.connect(backend, ids["n_auth"], ids["n_enc"], options=keys.options())
        self.served = 0
        self.running = threading.Event()
        self.running.set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            if not self.running.wait(0.05):
                continue
            try:
                r = self.notary.receive(0.05)
            except ot.TimeoutError:
                continue
            content = r.verify(self.ids["c_auth"])
            r.reply(self.name.encode() + b":" + content, self.ids["c_enc"])
            r.close()
            self.served += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.notary.close()


def wait_for(cond, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, f"not within {seconds} s: {what}"
        time.sleep(0.02)


def curve_dealer(keys: BrokerKeys, public: str, secret: str) -> zmq.Socket:
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.linger = 0
    s.curve_serverkey = keys.backend_public.encode()
    s.curve_publickey = public.encode()
    s.curve_secretkey = secret.encode()
    return s


def test_unlisted_and_plain_backend_peers_are_refused_and_handed_nothing(ids: dict) -> None:
    keys = BrokerKeys()
    with ot.Broker("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", **keys.broker_args()) as broker:
        stranger = curve_dealer(keys, *ot.curve_keypair())
        plain = zmq.Context.instance().socket(zmq.DEALER)
        plain.linger = 0
        for s in (stranger, plain):
            s.connect(broker.backend)
            s.send_multipart([TAG, CONTROL, b"READY"])
        wait_for(lambda: broker.counter("workers_refused") >= 2, 10, "two refused handshakes")
        honest = Serving(ids, broker.backend, "honest", keys)
        try:
            wait_for(lambda: broker.counter("workers") == 1, 5, "the honest worker in the pool")
            with v2_session(ids, broker.frontend) as s:
                for k in range(10):
                    assert s.request(f"r{k}") == f"honest:r{k}\n".encode()
            assert broker.counter("workers") == 1 and broker.counter("refused") == 0
            for s in (stranger, plain):  # nothing ever reached them
                assert not s.poll(100)
            # a key added while the broker runs is admitted from its next handshake
            pub, sec = ot.curve_keypair()
            late = curve_dealer(keys, pub, sec)
            broker.allow_worker(pub)
            late.connect(broker.backend)
            late.send_multipart([TAG, CONTROL, b"READY"])
            wait_for(lambda: broker.counter("workers") == 2, 5, "the added worker in the pool")
            late.close()
        finally:
            honest.close()
            stranger.close()
            plain.close()


def test_a_rogue_backend_peer_cannot_answer_for_others_or_push_unasked(ids: dict) -> None:
    # A listed key: what a worker whose key was stolen can still do.
    keys = BrokerKeys()
    with ot.Broker("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", **keys.broker_args()) as broker:
        rogue = curve_dealer(keys, keys.worker_public, keys.worker_secret)
        rogue.connect(broker.backend)
        rogue.send_multipart([TAG, CONTROL, b"READY"])
        # The rogue joins the pool first: on a tie the first worker is chosen, so it is handed
        # the first request.
        wait_for(lambda: broker.counter("workers") == 1, 5, "the rogue in the pool")
        honest = Serving(ids, broker.backend, "honest", keys)
        wait_for(lambda: broker.counter("workers") == 2, 5, "the honest worker in the pool")
        handed: List[List[bytes]] = []
        forged = 0
        stop = threading.Event()

        def rogue_loop() -> None:
            nonlocal forged
            next_hb = 0.0
            while not stop.is_set():
                if time.monotonic() >= next_hb:
                    rogue.send_multipart([TAG, CONTROL, b"HB"])
                    next_hb = time.monotonic() + 0.5
                if not rogue.poll(20):
                    continue
                f = rogue.recv_multipart()
                if f[:2] != [TAG, CLIENT]:
                    continue
                handed.append(f)
                client = f[2]
                # junk for what it was handed, forged ERRs for the client's next ids (which
                # the honest worker is handed), and 1 MiB pushes the client never asked for
                rogue.send_multipart([TAG, CLIENT, client, b"junk"])
                if f[3] == b"OTv2":
                    first = int.from_bytes(f[5], "big")
                    for n in range(first + 1, first + 20):
                        rogue.send_multipart([TAG, CLIENT, client, b"OTv2", b"ERR", n.to_bytes(8, "big"), b"forged"])
                        forged += 1
                for seq in range(1, 4):
                    rogue.send_multipart([TAG, CLIENT, client, b"OTv2", b"PUSH", seq.to_bytes(8, "big"),
                                          b"x" * (1 << 20), b"nym-victim", bytes(8)])
                    forged += 1

        t = threading.Thread(target=rogue_loop, daemon=True)
        t.start()
        try:
            with v2_session(ids, broker.frontend, max_resends=3) as s:
                for k in range(30):
                    assert s.request(f"r{k}") == f"honest:r{k}\n".encode()
                assert s.counter("pushes_unsolicited") == 0
                assert s.counter("pushes_invalid") == 0
        finally:
            stop.set()
            t.join(10)
            honest.close()
            rogue.close()
        assert handed, "the rogue was never handed a request: the test proves nothing"
        # everything the rogue sent for clients was dropped at the broker
        assert broker.counter("unexpected") >= forged + len(handed)
        assert broker.counter("pushes") == 0
        # every request was answered once, by the honest worker (the rest of "replies" are PONGs
        # to the session's probes)
        assert honest.served == 30 and 30 <= broker.counter("replies") <= 30 + 5


def test_a_frozen_worker_stops_receiving_work_and_gets_it_back(ids: dict) -> None:
    keys = BrokerKeys()
    with ot.Broker("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", **keys.broker_args()) as broker:
        a = Serving(ids, broker.backend, "a", keys)
        b = Serving(ids, broker.backend, "b", keys)
        try:
            wait_for(lambda: broker.counter("workers") == 2, 5, "two workers")
            with v2_session(ids, broker.frontend, max_resends=8) as s:
                for k in range(10):
                    s.request(f"warm{k}")
                a.running.clear()  # a's application stops taking requests
                frozen_at = time.monotonic()
                answers: Dict[str, int] = {"a": 0, "b": 0}
                # requests keep coming; those a is handed wait in its queue, and the client
                # resends them to b
                while broker.counter("stalled_workers") == 0:
                    assert time.monotonic() - frozen_at < 10, "a frozen worker was never stalled"
                    who = s.request("during").split(b":")[0].decode()
                    answers[who] += 1
                # a sends no heartbeat while a request waits 2 s for it, and is stalled 3 s after
                # its last one
                assert time.monotonic() - frozen_at < 6.5
                assert answers["a"] <= 1  # one receive may have been under way when it froze
                served_by_b = b.served
                for k in range(20):
                    assert s.request(f"after{k}") == f"b:after{k}\n".encode()
                assert b.served - served_by_b == 20
                # a recovers: it answers what it holds and announces itself again
                a.running.set()
                served_by_a = a.served
                wait_for(lambda: a.served > served_by_a, 5, "a taking its queue again")
                time.sleep(1.5)  # its next heartbeat
                who = [s.request(f"back{k}").split(b":")[0] for k in range(20)]
                assert b"a" in who, "a recovered worker never got work again"
        finally:
            a.close()
            b.close()


def test_a_peer_without_backend_protocol_1_is_refused(ids: dict) -> None:
    keys = BrokerKeys()
    with ot.Broker("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", **keys.broker_args()) as broker:
        old = curve_dealer(keys, keys.worker_public, keys.worker_secret)
        old.connect(broker.backend)
        # the pre-protocol-1 announcement, a tag with an unknown word, and a short message
        for f in ([CONTROL, b"READY"], [TAG, CONTROL, b"HELLO"], [TAG, CONTROL], [b"OTb2", CONTROL, b"READY"]):
            old.send_multipart(f)
        wait_for(lambda: broker.counter("refused") == 4, 5, "four refused messages")
        assert broker.counter("workers") == 0
        old.close()


def test_sessions_move_to_the_brokers_curve_frontend_the_workers_vouch_for(ids: dict) -> None:
    keys = BrokerKeys()
    with ot.Broker("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", **keys.broker_args()) as broker:
        curve_front, front_key = broker.bind_curve("tcp://127.0.0.1:*")
        assert len(front_key) == 40 and curve_front != broker.frontend
        w = Serving(ids, broker.backend, "w", keys)
        try:
            w.notary.vouch_transport_key(front_key, "tcp://*:" + curve_front.rsplit(":", 1)[1], int(time.time()) + 3600)
            wait_for(lambda: broker.counter("workers") == 1, 5, "the worker in the pool")
            with v2_session(ids, broker.frontend) as s:
                assert s.request("secure") == b"w:secure\n"
                assert s.counter("curve") == 1
            with v2_session(ids, broker.frontend, curve_policy=0) as s:
                assert s.request("clear") == b"w:clear\n"
                assert s.counter("curve") == 0
        finally:
            w.close()
