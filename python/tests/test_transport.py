"""Client <-> notary over tcp loopback, both ends from Python (notary on a thread), and threads
sharing keys. Every wait is bounded."""

from __future__ import annotations

import threading
import time
from typing import List, Tuple

import pytest

import ot_transport as ot
from test_errors import fast_options


@pytest.fixture(scope="module")
def ids() -> dict:
    return {n: ot.Key.generate(1024) for n in ("c_auth", "c_enc", "n_auth", "n_enc")}


def serve(notary: ot.Notary, client_auth: ot.Key, client_enc: "ot.Key | None", count: int, log: List[bytes]) -> None:
    for req in notary.requests(idle_timeout=10):
        content = req.verify(client_auth)
        log.append(content)
        req.reply(b"@" + content, client_enc)
        if len(log) == count:
            return


def session(ids: dict, endpoint: str, **opts: int) -> ot.Session:
    o = dict(latency_receive_ms=1000, latency_receive_no_tries=3, max_resends=1)
    o.update(opts)
    return ot.Session(
        endpoint,
        fast_options(**o),
        identity=(ids["c_auth"], ids["c_enc"]),
        notary=(ids["n_enc"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
    )


def test_requests_through_a_notary_iterated_on_a_thread(ids: dict) -> None:
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"]) as notary:
        endpoint = notary.endpoint
        log: List[bytes] = []
        t = threading.Thread(target=serve, args=(notary, ids["c_auth"].public(), ids["c_enc"].public(), 3, log))
        t.start()
        with session(ids, endpoint) as s:
            for i in range(3):
                msg = f"<request n='{i}'>\n- - dash-escaped line\n</request>".encode()
                assert s.request(msg) == b"@" + msg + b"\n"
        t.join(30)
        assert not t.is_alive()
        assert log == [f"<request n='{i}'>\n- - dash-escaped line\n</request>\n".encode() for i in range(3)]


def test_legacy_unencrypted_reply_and_unreadable_request(ids: dict) -> None:
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"]) as notary:
        endpoint = notary.endpoint
        log: List[bytes] = []
        t = threading.Thread(target=serve, args=(notary, ids["c_auth"], None, 1, log))
        t.start()
        with session(ids, endpoint, max_resends=0, latency_receive_ms=100, latency_receive_no_tries=1) as s:
            # Not an envelope: the notary drops it as the legacy one did (no reply), and keeps serving.
            with pytest.raises(ot.TimeoutError):
                s.exchange(b"not armor")
        with session(ids, endpoint) as s:
            assert s.request(b"plain please") == b"@plain please\n"
        t.join(30)
        assert notary.skipped == 1 and log == [b"plain please\n"]


def test_raw_exchange_built_from_the_primitives(ids: dict) -> None:
    """The wire protocol done by hand: sign, seal to the notary, bare armor frame; the reply is a
    bookended envelope sealed to the client with an empty NymID, signed by the notary."""
    c_auth, c_enc, n_auth, n_enc = ids["c_auth"], ids["c_enc"], ids["n_auth"], ids["n_enc"]
    with ot.Notary("tcp://127.0.0.1:*", n_auth, n_enc) as notary:
        endpoint = notary.endpoint
        log: List[bytes] = []
        t = threading.Thread(target=serve, args=(notary, c_auth, c_enc, 1, log))
        t.start()
        frame = ot.seal((n_enc.nym_id, n_enc.public()), ot.sign("MESSAGE", b"<raw/>", c_auth)).to_armor(bookends=False)
        with ot.Session(endpoint, fast_options(latency_receive_ms=1000, latency_receive_no_tries=3)) as s:
            reply = s.exchange(frame)
        t.join(30)
        assert reply.startswith(b"-----BEGIN OT ARMORED ENVELOPE-----")
        env = ot.Envelope.from_armor(reply)
        assert env.recipient_ids == [""]
        assert ot.verify(env.open(c_enc, ""), n_auth.public()) == b"@<raw/>\n"


def test_close_from_another_thread_ends_iteration(ids: dict) -> None:
    notary = ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"])
    got: List[object] = []
    t = threading.Thread(target=lambda: got.extend(notary))
    t.start()
    time.sleep(0.3)
    notary.close()
    t.join(5)
    assert not t.is_alive() and got == []


def test_curve_transport(ids: dict) -> None:
    spub, ssec = ot.curve_keypair()
    cpub, csec = ot.curve_keypair()
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"], options=ot.SessionOptions().set_curve_server(ssec)) as notary:
        endpoint = notary.endpoint
        log: List[bytes] = []
        t = threading.Thread(target=serve, args=(notary, ids["c_auth"], ids["c_enc"], 1, log))
        t.start()
        # A client with the wrong server key never completes the handshake.
        wrong_pub, _ = ot.curve_keypair()
        o = fast_options(latency_receive_ms=100, latency_receive_no_tries=1).set_curve_client(wrong_pub, cpub, csec)
        with ot.Session(endpoint, o, identity=(ids["c_auth"], ids["c_enc"]),
                        notary=(ids["n_enc"].nym_id, ids["n_enc"], ids["n_auth"])) as s:
            with pytest.raises(ot.TimeoutError):
                s.request(b"wrong server key")
        o = fast_options(latency_receive_ms=1000, latency_receive_no_tries=3).set_curve_client(spub, cpub, csec)
        with ot.Session(endpoint, o, identity=(ids["c_auth"], ids["c_enc"]),
                        notary=(ids["n_enc"].nym_id, ids["n_enc"], ids["n_auth"])) as s:
            assert s.request(b"over curve") == b"@over curve\n"
        t.join(30)
        assert log == [b"over curve\n"]


def test_many_client_threads_share_keys_with_one_notary(ids: dict) -> None:
    n_threads, per_thread = 4, 5
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"]) as notary:
        endpoint = notary.endpoint
        log: List[bytes] = []
        server = threading.Thread(target=serve, args=(notary, ids["c_auth"], ids["c_enc"], n_threads * per_thread, log))
        server.start()
        errors: List[BaseException] = []

        def client(k: int) -> None:
            try:
                with session(ids, endpoint) as s:  # own session, shared keys
                    for i in range(per_thread):
                        msg = f"client {k} request {i}".encode()
                        assert s.request(msg) == b"@" + msg + b"\n"
            except BaseException as e:  # reported below
                errors.append(e)

        clients = [threading.Thread(target=client, args=(k,)) for k in range(n_threads)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(60)
        server.join(30)
        assert not errors, errors
        assert sorted(log) == sorted(f"client {k} request {i}\n".encode() for k in range(n_threads) for i in range(per_thread))


def test_threads_share_keys_and_envelopes(alice: ot.Key, bob: ot.Key) -> None:
    env = ot.seal([alice, bob], b"shared envelope")
    errors: List[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(20):
                msg = f"thread {k} message {i}".encode()
                text = ot.sign("MESSAGE", msg, alice)
                assert ot.verify(text, alice) == msg + b"\n"
                mine = ot.seal([alice, bob], text)
                assert mine.open(bob) == text
                assert env.open(alice if i % 2 else bob) == b"shared envelope"
                assert alice.nym_id and bob.bits == 1024
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def test_a_session_busy_in_one_thread_refuses_another(ids: dict) -> None:
    """ctypes releases the GIL during a call, so a second thread really reaches the library while
    the first waits in it: whichever call comes second gets StateError at once, the other one is
    unharmed (here: times out, the notary never reads)."""
    with ot.Notary("tcp://127.0.0.1:*", ids["n_auth"], ids["n_enc"]) as silent:
        s = ot.Session(silent.endpoint, fast_options(latency_receive_ms=2000, latency_receive_no_tries=1))
        outcomes: List[Tuple[float, BaseException]] = []
        start = time.monotonic()

        def call(frame: bytes) -> None:
            try:
                s.exchange(frame)
            except BaseException as e:
                outcomes.append((time.monotonic() - start, e))

        threads = [threading.Thread(target=call, args=(f"thread {i}".encode(),)) for i in range(2)]
        threads[0].start()
        time.sleep(0.3)
        threads[1].start()
        for t in threads:
            t.join(10)
        kinds = sorted(type(e).__name__ for _, e in outcomes)
        assert kinds == ["StateError", "TimeoutError"], outcomes
        busy_at, busy = next((at, e) for at, e in outcomes if isinstance(e, ot.StateError))
        assert "in use by another thread" in busy.detail
        assert busy_at < 1.5  # refused at once, not after the other call's 2 s wait
        s.close()
