"""ot_transport.aio: sessions, notaries and a broker on one asyncio loop, driven by the loop's
readiness on the ZeroMQ descriptors plus its timers. Every wait is bounded."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List

import pytest

import ot_transport as ot
from ot_transport.aio import AsyncBroker, AsyncNotary, AsyncRequest, AsyncSession
from conftest import BrokerKeys


@pytest.fixture(scope="module")
def v3() -> Dict[str, ot.Key]:
    """Suite v3 keys: fast enough for hundreds of requests in a test."""
    return {
        "c_auth": ot.Key.generate_ed25519(),
        "c_enc": ot.Key.generate_x25519(),
        "n_auth": ot.Key.generate_ed25519(),
        "n_enc": ot.Key.generate_x25519(),
    }


def run(coro: Any, limit: float = 60) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, limit)

    return asyncio.run(bounded())


def session(ids: Dict[str, ot.Key], endpoint: str, **opts: int) -> AsyncSession:
    values = dict(protocol=int(ot.Protocol.V2), latency_delay_after=0)
    values.update(opts)
    options = ot.SessionOptions(**values)
    try:
        return AsyncSession(
            endpoint,
            options,
            identity=(ids["c_auth"], ids["c_enc"]),
            notary=(ids["n_auth"].nym_id, ids["n_enc"].public(), ids["n_auth"].public()),
        )
    finally:
        options.close()


def notary(ids: Dict[str, ot.Key], endpoint: str = "tcp://127.0.0.1:*", **kw: Any) -> AsyncNotary:
    return AsyncNotary(endpoint, ids["n_auth"], ids["n_enc"], ids["n_auth"].nym_id, **kw)


async def echo(n: AsyncNotary, ids: Dict[str, ot.Key], prefix: bytes = b"re:") -> None:
    async for req in n:
        with req:
            await req.reply(prefix + req.verify(ids["c_auth"]), ids["c_enc"])


def test_many_concurrent_requests_on_one_loop(v3: Dict[str, ot.Key]) -> None:
    """300 requests at once from 3 sessions (max_in_flight 16 each: the rest wait for a slot),
    one notary, all on one loop; each reply is the answer to its own request."""

    async def main() -> None:
        async with notary(v3) as n:
            server = asyncio.ensure_future(echo(n, v3))
            sessions = [session(v3, n.endpoint, max_in_flight=16) for _ in range(3)]
            try:
                replies = await asyncio.gather(
                    *(sessions[i % 3].request(f"req {i}\n") for i in range(300))
                )
                assert replies == [f"re:req {i}\n".encode() for i in range(300)]
                assert all(s.in_flight == 0 for s in sessions)
                assert n.stats.requests == 300
            finally:
                for s in sessions:
                    await s.aclose()
                server.cancel()

    run(main())


def test_readiness_alone_drives_requests(v3: Dict[str, ot.Key]) -> None:
    """With the timers slowed to 30 s, 50 pipelined requests still finish at once: the
    edge-triggered descriptors are drained after readiness and after every call."""

    async def main() -> None:
        async with notary(v3, tick=30) as n:
            server = asyncio.ensure_future(echo(n, v3))
            async with session(v3, n.endpoint) as s:
                s._tick = 30.0  # type: ignore[attr-defined]
                t0 = time.monotonic()
                for _ in range(5):
                    got = await asyncio.gather(*(s.request(f"r{i}") for i in range(10)))
                    assert got == [f"re:r{i}\n".encode() for i in range(10)]
                assert time.monotonic() - t0 < 5
            server.cancel()

    run(main())


def test_send_and_receive_pipeline(v3: Dict[str, ot.Key]) -> None:
    """send/receive by hand: replies answered in reverse order come back with their ids."""

    async def main() -> None:
        async with notary(v3) as n, session(v3, n.endpoint) as s:
            ids = [await s.send(f"p{i}") for i in range(6)]
            held: List[AsyncRequest] = [await n.receive(5) for _ in range(6)]
            for r in reversed(held):
                await r.reply(b"#" + r.verify(v3["c_auth"]), v3["c_enc"])
                r.close()
            got = dict([await s.receive(5) for _ in range(6)])
            assert got == {rid: f"#p{i}\n".encode() for i, rid in enumerate(ids)}
            with pytest.raises(ot.TimeoutError) as e:
                await s.receive(0.1)
            assert e.value.request_id is None  # type: ignore[attr-defined]

    run(main())


def test_pushes_on_one_loop(v3: Dict[str, ot.Key]) -> None:
    """subscribe, then 40 pushes read with `async for push in session.pushes()`, in order."""

    async def main() -> None:
        async with notary(v3) as n, session(v3, n.endpoint) as s:

            async def accept() -> None:
                r = await n.receive(5)
                assert r.verify(v3["c_auth"]) == b"<subscribe/>\n"
                n.register_push(r, "nym-aio", v3["c_enc"].public())
                await r.reply(b"subscribed", v3["c_enc"])

            acceptor = asyncio.ensure_future(accept())
            assert await s.subscribe("<subscribe/>") == b"subscribed\n"
            await acceptor
            for i in range(40):
                assert await n.push("nym-aio", f"note {i}") == 1
            got = []
            async for p in s.pushes(idle_timeout=2):
                got.append(p)
                if len(got) == 40:
                    break
            assert [p.content for p in got] == [f"note {i}\n".encode() for i in range(40)]
            assert [p.seq for p in got] == list(range(1, 41))
            assert all(p.missed == 0 for p in got)
            with pytest.raises(ot.TimeoutError):
                await s.next_push(0.05)

    run(main())


def test_cancelled_request_leaves_the_session_usable(v3: Dict[str, ot.Key]) -> None:
    """A cancelled await and an asyncio timeout abandon their requests: the notary's late
    replies are dropped, the next requests get their own replies, nothing stays in flight."""

    async def main() -> None:
        async with notary(v3) as n, session(v3, n.endpoint) as s:
            task = asyncio.ensure_future(s.request(b"slow 1"))
            held = [await n.receive(5)]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(ot.TimeoutError) as e:
                await s.request(b"slow 2", timeout=0.2)
            assert isinstance(e.value.request_id, int)  # type: ignore[attr-defined]
            held.append(await n.receive(5))
            assert s.in_flight == 2
            for r in held:  # late replies to both abandoned requests
                await r.reply(b"late:" + r.verify(v3["c_auth"]), v3["c_enc"])
                r.close()
            server = asyncio.ensure_future(echo(n, v3))
            assert await s.request(b"fresh") == b"re:fresh\n"
            for _ in range(100):
                if s.in_flight == 0:
                    break
                await asyncio.sleep(0.02)
            assert s.in_flight == 0
            assert await asyncio.gather(*(s.request(f"x{i}") for i in range(5))) == [
                f"re:x{i}\n".encode() for i in range(5)
            ]
            server.cancel()

    run(main())


def test_the_library_timeout_reaches_the_await(v3: Dict[str, ot.Key]) -> None:
    """request_timeout_ms ends a request the notary never answers: its own TimeoutError (code
    9) with its id, delivered by the loop timer; the session keeps working."""

    async def main() -> None:
        async with notary(v3) as n, session(v3, n.endpoint, request_timeout_ms=300) as s:
            t0 = time.monotonic()
            with pytest.raises(ot.TimeoutError) as e:
                await s.request(b"never answered")
            took = time.monotonic() - t0
            assert e.value.code == 9 and isinstance(e.value.request_id, int)  # type: ignore[attr-defined]
            assert 0.25 < took < 2.0
            unanswered = await n.receive(1)
            unanswered.close()
            server = asyncio.ensure_future(echo(n, v3))
            assert await s.request(b"again") == b"re:again\n"
            server.cancel()

    run(main())


def test_notary_restart_resubscribes(v3: Dict[str, ot.Key]) -> None:
    """The notary goes away and a new one binds the same endpoint: the session reconnects and
    sends its subscription again by itself (the loop timer pumps it); pushes from the new notary
    arrive with the restart marked (missed = MISSED_UNKNOWN) and requests work again."""

    async def accept(n: AsyncNotary) -> None:
        r = await n.receive(10)
        assert r.verify(v3["c_auth"]) == b"<subscribe/>\n"
        n.register_push(r, "nym-restart", v3["c_enc"].public())
        await r.reply(b"subscribed", v3["c_enc"])
        r.close()

    async def main() -> None:
        first = notary(v3)
        endpoint = first.endpoint
        async with session(v3, endpoint) as s:
            acceptor = asyncio.ensure_future(accept(first))
            assert await s.subscribe(b"<subscribe/>") == b"subscribed\n"
            await acceptor
            await first.push("nym-restart", b"before")
            assert (await s.next_push(5)).content == b"before\n"
            first.close()
            await asyncio.sleep(0.2)
            async with notary(v3, endpoint) as second:
                await accept(second)  # the re-subscription the session sent by itself
                assert await second.push("nym-restart", b"after") == 1
                p = await s.next_push(5)
                assert (p.content, p.seq, p.missed) == (b"after\n", 1, ot.MISSED_UNKNOWN)
                server = asyncio.ensure_future(echo(second, v3))
                assert await s.request(b"still there?") == b"re:still there?\n"
                server.cancel()

    run(main())


def test_notary_answers_unreadable_requests_while_idle(v3: Dict[str, ot.Key]) -> None:
    """Nobody awaits requests: the notary's loop timer still answers garbage (reply_errors: the
    signed error, ~25 ms after arrival) and counts it; an AUTO session's v2 probe (a PONG the
    library sends from inside receive) decides protocol v2."""
    zmq_asyncio = pytest.importorskip("zmq.asyncio")
    import zmq

    rsa = {k: ot.Key.generate(1024) for k in v3}  # a legacy client reads RSA-signed errors

    async def main() -> None:
        opts = ot.SessionOptions(reply_errors=1)
        n = notary(rsa, options=opts)
        opts.close()
        async with n:
            ctx = zmq_asyncio.Context()
            req = ctx.socket(zmq.REQ)
            req.setsockopt(zmq.LINGER, 0)
            req.connect(n.endpoint)
            t0 = time.monotonic()
            await req.send(b"this is not armor")
            answer = await asyncio.wait_for(req.recv(), 5)
            content = ot.verify(ot.armor_decode(answer, ot.ArmorKind.STRING), rsa["n_auth"])
            assert b"could not be read" in content
            assert time.monotonic() - t0 >= 0.02
            assert n.skipped == 1
            req.close()
            ctx.term()
            async with session(rsa, n.endpoint, protocol=int(ot.Protocol.AUTO), probe_timeout_ms=2000) as s:
                assert s.session.protocol is ot.Protocol.V2

    run(main())


def test_auto_against_silence_is_a_state_error(v3: Dict[str, ot.Key]) -> None:
    """AUTO against an endpoint that never answers the probe: StateError (legacy notaries are
    served by the blocking Session); a legacy options object is refused at once."""

    async def main() -> None:
        s = session(v3, "tcp://127.0.0.1:9", protocol=int(ot.Protocol.AUTO), probe_timeout_ms=150)
        with pytest.raises(ot.StateError):
            await s.request(b"x")
        s.close()
        with pytest.raises(ot.StateError):
            AsyncSession("tcp://127.0.0.1:9", ot.SessionOptions(protocol=0))

    run(main())


def test_broker_with_async_workers(v3: Dict[str, ot.Key]) -> None:
    """A broker, two worker notaries and a session on one loop: 40 requests, spread over both
    workers, counted by the broker."""

    async def main() -> None:
        keys = BrokerKeys()
        async with AsyncBroker("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", **keys.broker_args()) as b:
            assert b.backend_public == keys.backend_public
            workers = [
                AsyncNotary.connect(b.backend, v3["n_auth"], v3["n_enc"], v3["n_auth"].nym_id, keys.options())
                for _ in range(2)
            ]
            served = [0, 0]

            async def serve(i: int) -> None:
                async for req in workers[i]:
                    with req:
                        served[i] += 1
                        await asyncio.sleep(0.005)  # a little work, so both workers get some
                        await req.reply(b"w:" + req.verify(v3["c_auth"]), v3["c_enc"])

            tasks = [asyncio.ensure_future(serve(i)) for i in range(2)]
            assert await b.wait_for_workers(2, timeout=10) == 2
            async with session(v3, b.frontend) as s:
                got = await asyncio.gather(*(s.request(f"b{i}") for i in range(40)))
            assert got == [f"w:b{i}\n".encode() for i in range(40)]
            assert sum(served) == 40 and min(served) > 0
            assert b.counter("requests") >= 40 and b.stats.replies >= 40
            for t in tasks:
                t.cancel()
            for w in workers:
                w.close()

    run(main())


def test_close_fails_waiters_and_frees(v3: Dict[str, ot.Key]) -> None:
    async def main() -> None:
        n = notary(v3)
        waiter = asyncio.ensure_future(n.receive())
        await asyncio.sleep(0.05)
        n.close()
        with pytest.raises(ot.StateError):
            await waiter
        assert n.closed and n.notary.closed
        n.close()  # idempotent
        s = session(v3, "tcp://127.0.0.1:9")
        pending = asyncio.ensure_future(s.request(b"nobody"))
        await asyncio.sleep(0.05)
        await s.aclose()
        with pytest.raises(ot.StateError):
            await pending
        with pytest.raises(ot.StateError):
            await s.request(b"after close")

    run(main())
