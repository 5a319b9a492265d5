"""asyncio for ot_transport: v2 sessions, notaries and the broker on an event loop.

Driven by the loop's own readiness, not a thread per call: each session and notary registers its
ZeroMQ descriptor (``ot_session_fd`` / ``ot_notary_fd``) with ``loop.add_reader``. These are
libzmq ``ZMQ_FD`` descriptors, **edge-triggered**: readable means "the socket's state changed",
so on readiness the non-blocking receive (timeout 0) is called until it times out, and the same
drain runs after every call made on the object (a call may consume the event), as pyzmq's
``zmq.asyncio`` does. A loop timer also drains periodically: a session must be pumped at least
every ``latency_receive_ms`` so resends, request deadlines, heartbeat checks and the automatic
re-subscription after a reconnect run; a notary sends its answers to unreadable requests (25 ms
after arrival), reply-cache hits and ``PONG``s only from inside ``ot_notary_receive``.

A session or notary is used by one thread at a time; one event loop is one thread, so every call
happens on the loop. The two calls that block by design (``subscribe``, which waits for its
reply, and the ``AUTO`` protocol probe) run on a worker thread while the loop leaves the object
alone; everything else is a non-blocking library call.

    async with AsyncNotary("tcp://127.0.0.1:*", n_auth, n_enc) as notary:
        async with AsyncSession(notary.endpoint, identity=..., notary=...) as session:
            reply = await session.request(b"<request/>")
"""

from __future__ import annotations

import asyncio
import collections
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Deque,
    Dict,
    Iterable,
    Optional,
    Set,
    Tuple,
    TypeVar,
)

from ._api import (
    Broker,
    BrokerStats,
    BytesLike,
    Key,
    Notary,
    NotaryStats,
    Protocol,
    Push,
    Request,
    Session,
    SessionOptions,
    SessionStats,
    _b,
)
from ._errors import (
    DecryptFailedError,
    MalformedError,
    NoMatchingRecipientError,
    OtError,
    StateError,
    TimeoutError,
)

__all__ = ["AsyncBroker", "AsyncNotary", "AsyncRequest", "AsyncSession"]

_T = TypeVar("_T")
_Completion = Tuple[int, Optional[bytes], Optional[BaseException]]


def _timeout_error(what: str, timeout: float, request_id: Optional[int] = None) -> TimeoutError:
    e = TimeoutError(f"{what} within {timeout:g} s")
    e.request_id = request_id  # type: ignore[attr-defined]
    return e


async def _await(fut: "asyncio.Future[_T]", timeout: Optional[float], what: str) -> _T:
    """Awaits ``fut``; after ``timeout`` seconds raises ``ot_transport.TimeoutError`` (an error
    the future itself carries, including a library ``TimeoutError``, passes through)."""
    if timeout is None:
        return await fut
    try:
        return await asyncio.wait_for(fut, timeout)
    except asyncio.TimeoutError as e:
        if isinstance(e, OtError):
            raise
        raise _timeout_error(what, timeout) from None


class _Driven:
    """What sessions and notaries share: the reader on the descriptor, the timer, the busy flag."""

    def __init__(self, tick: float) -> None:
        if not tick > 0:
            raise ValueError("tick must be a positive number of seconds")
        self._tick = tick
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._fd: Optional[int] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._closed = False
        self._busy = False  # a worker thread is inside the library on this object
        self._idle: Optional[asyncio.Event] = None

    # -- to be provided ---------------------------------------------------------------------
    def _descriptor(self) -> int:
        raise NotImplementedError

    def _drain(self) -> None:
        raise NotImplementedError

    def _wants_timer(self) -> bool:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------
    def _attach(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._closed:
            raise StateError(f"this {type(self).__name__} is closed")
        if self._loop is None:
            self._loop = loop
            self._idle = asyncio.Event()
            self._idle.set()
            self._fd = self._descriptor()
            loop.add_reader(self._fd, self._on_readable)
        elif self._loop is not loop:
            raise StateError(f"this {type(self).__name__} belongs to another event loop")
        return loop

    def _on_readable(self) -> None:
        self._drain()

    def _on_tick(self) -> None:
        self._timer = None
        self._drain()

    def _schedule(self) -> None:
        """Keeps the timer running while there is something to pump for."""
        if self._timer is None and self._loop is not None and not self._closed and self._wants_timer():
            self._timer = self._loop.call_later(self._tick, self._on_tick)

    async def _wait_idle(self) -> None:
        while self._busy:
            assert self._idle is not None
            await self._idle.wait()

    async def _in_thread(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Runs a blocking library call on a worker thread while the loop leaves the object
        alone (one thread at a time), then drains what arrived meanwhile."""
        loop = self._attach()
        await self._wait_idle()
        assert self._idle is not None
        self._busy = True
        self._idle.clear()
        try:
            return await loop.run_in_executor(None, fn, *args)
        finally:
            self._busy = False
            self._idle.set()
            if not self._closed:
                self._drain()

    def _detach(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._loop is not None and self._fd is not None and not self._loop.is_closed():
            # Before the library closes the socket: the selector must not keep a dead fd.
            self._loop.remove_reader(self._fd)
        self._fd = None


class AsyncSession(_Driven):
    """A transport v2 client session on an asyncio loop.

    ``await request(content)`` sends and waits for the verified reply; many requests may be in
    flight at once (at most ``max_in_flight`` in the library: further ones wait for a slot here).
    ``send``/``receive`` pipeline by hand; ``subscribe`` then ``async for push in
    session.pushes()`` reads the notary's pushes. A cancelled or timed-out ``request`` leaves
    the session usable: the request stays in flight in the library and its late reply is
    dropped. After a notary restart the library reconnects and re-subscribes by itself (the loop
    timer keeps it pumped).

    ``options`` must choose ``protocol`` ``Protocol.V2`` (the default when ``options`` is None)
    or ``Protocol.AUTO`` (the probe runs once, on a worker thread); a legacy-only notary gives
    ``StateError`` (use the blocking ``Session`` there).
    """

    def __init__(
        self,
        endpoint: str,
        options: Optional[SessionOptions] = None,
        *,
        identity: Optional[Tuple[Key, Key]] = None,
        notary: Optional[Tuple[str, Key, Key]] = None,
        tick: Optional[float] = None,
    ) -> None:
        """Connects (asynchronously) to ``endpoint``; ``identity`` = (auth_private,
        encryption_private), ``notary`` = (nym_id, encryption_public, auth_public). ``tick``:
        seconds between timer drains (default: the lesser of 50 ms and half of
        ``latency_receive_ms``)."""
        own = options is None
        opts = SessionOptions(protocol=int(Protocol.V2)) if options is None else options
        try:
            proto = opts.get("protocol")
            if proto == int(Protocol.LEGACY):
                raise StateError(
                    "AsyncSession speaks transport v2: set the option protocol to Protocol.V2 or "
                    "Protocol.AUTO (the blocking Session serves legacy notaries)"
                )
            latency_ms = opts.get("latency_receive_ms")
            self._max_in_flight = max(1, opts.get("max_in_flight"))
            self._auto = proto == int(Protocol.AUTO)
            self._session = Session(endpoint, opts, identity=identity, notary=notary)
        finally:
            if own:
                opts.close()
        super().__init__(tick if tick is not None else max(0.001, min(0.05, latency_ms / 2000)))
        self._decided = not self._auto
        self._waiting: Dict[int, "asyncio.Future[bytes]"] = {}  # request() ids
        self._abandoned: Set[int] = set()  # cancelled or timed out: late replies dropped
        self._raw: Set[int] = set()  # send() ids, for receive()
        self._done: Deque[_Completion] = collections.deque()
        self._receivers: Deque["asyncio.Future[_Completion]"] = collections.deque()
        self._pushes: Deque[Push] = collections.deque()
        self._push_waiters: Deque["asyncio.Future[Push]"] = collections.deque()
        self._subscribed = False
        self._slots: Optional[asyncio.Semaphore] = None

    # -- plumbing ---------------------------------------------------------------------------
    def _descriptor(self) -> int:
        return self._session.fd

    def _wants_timer(self) -> bool:
        return bool(
            self._waiting or self._abandoned or self._raw or self._subscribed or self._push_waiters
        )

    async def _start(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise StateError("this AsyncSession is closed")
        if not self._decided:
            proto = await self._in_thread_raw(lambda: self._session.protocol)
            if proto is not Protocol.V2:
                raise StateError(
                    "the notary did not answer the v2 probe: it speaks legacy REQ only (use the "
                    "blocking Session)"
                )
            self._decided = True
        loop = self._attach()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_in_flight)
        await self._wait_idle()
        return loop

    async def _in_thread_raw(self, fn: Callable[[], _T]) -> _T:
        # Before the reader is attached (the probe decides whether there is a v2 socket at all).
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    def _drain(self) -> None:
        """Reads every finished request and, when someone waits for them, every push."""
        if self._busy or self._closed:
            return
        s = self._session
        while True:
            try:
                rid, reply = s.receive(0)
            except OtError as e:
                rid_e = getattr(e, "request_id", None)
                if rid_e is None:
                    if not isinstance(e, TimeoutError):
                        self._fail_everyone(e)
                    break
                self._finish(rid_e, None, e)
            else:
                self._finish(rid, reply, None)
        while self._push_waiters and self._push_waiters[0].done():
            self._push_waiters.popleft()  # cancelled or timed out
        while self._push_waiters:  # pushes are taken from the library only for a waiter
            try:
                p = s.next_push(0)
            except TimeoutError:
                break
            except OtError as e:
                for w in self._push_waiters:
                    if not w.done():
                        w.set_exception(e)
                self._push_waiters.clear()
                break
            self._give_push(p)
        self._schedule()

    def _give_push(self, p: Push) -> None:
        while self._push_waiters:
            w = self._push_waiters.popleft()
            if not w.done():
                w.set_result(p)
                return
        self._pushes.append(p)

    def _finish(self, rid: int, reply: Optional[bytes], exc: Optional[BaseException]) -> None:
        if self._slots is not None:
            self._slots.release()
        fut = self._waiting.pop(rid, None)
        if fut is not None:
            if not fut.done():
                if exc is not None:
                    fut.set_exception(exc)
                else:
                    fut.set_result(reply if reply is not None else b"")
            return
        if rid in self._abandoned:
            self._abandoned.discard(rid)  # a cancelled or timed-out request's late reply
            return
        if rid in self._raw:
            self._raw.discard(rid)
            item: _Completion = (rid, reply, exc)
            while self._receivers:
                w = self._receivers.popleft()
                if not w.done():
                    w.set_result(item)
                    return
            self._done.append(item)

    def _fail_everyone(self, e: BaseException) -> None:
        for fut in list(self._waiting.values()) + list(self._receivers) + list(self._push_waiters):
            if not fut.done():
                fut.set_exception(e)
        self._receivers.clear()
        self._push_waiters.clear()

    async def _send(self, content: BytesLike) -> int:
        await self._start()
        assert self._slots is not None
        await self._slots.acquire()
        try:
            await self._wait_idle()
            return self._session.send(content)
        except BaseException:
            self._slots.release()
            raise

    # -- API --------------------------------------------------------------------------------
    async def request(self, content: BytesLike, timeout: Optional[float] = None) -> bytes:
        """Signs, seals and sends ``content``; the notary's verified reply content. Errors are
        the request's own (``TimeoutError`` after the library's resends or
        ``request_timeout_ms``, ``TransportError``, ...). After ``timeout`` seconds (None: the
        library's schedule alone) ``ot_transport.TimeoutError``; on timeout or cancellation the
        request is abandoned and its late reply dropped."""
        raw = _b(content)
        rid = await self._send(raw)
        assert self._loop is not None
        fut: "asyncio.Future[bytes]" = self._loop.create_future()
        self._waiting[rid] = fut
        self._drain()
        try:
            return await _await(fut, timeout, f"no reply to request {rid}")
        except TimeoutError as e:
            if getattr(e, "request_id", None) is None:
                e.request_id = rid  # type: ignore[attr-defined]
            raise
        finally:
            if self._waiting.get(rid) is fut:  # not finished: cancelled or timed out
                del self._waiting[rid]
                self._abandoned.add(rid)

    async def send(self, content: BytesLike) -> int:
        """Sends without waiting (a free ``max_in_flight`` slot is awaited); the request id, to
        match with ``receive``."""
        rid = await self._send(_b(content))
        self._raw.add(rid)
        self._drain()
        return rid

    async def receive(self, timeout: Optional[float] = None) -> Tuple[int, bytes]:
        """The next finished request made with ``send``: ``(request_id, reply)``. A request that
        finished with an error raises it with its ``request_id``; ``TimeoutError`` (with
        ``request_id`` None) when none finished within ``timeout`` seconds."""
        loop = await self._start()
        if not self._done:
            fut: "asyncio.Future[_Completion]" = loop.create_future()
            self._receivers.append(fut)
            self._drain()
            try:
                item = await _await(fut, timeout, "no request finished")
            except TimeoutError as e:
                e.request_id = None  # type: ignore[attr-defined]
                raise
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._done.appendleft(fut.result())  # handed over just before the cancel
                raise
        else:
            item = self._done.popleft()
        rid, reply, exc = item
        if exc is not None:
            raise exc
        return rid, reply if reply is not None else b""

    async def subscribe(self, content: BytesLike) -> bytes:
        """Sends a subscription request, waits for its reply (returned) and keeps it: after a
        reconnect (a notary restart) the library sends it again by itself. Runs on a worker
        thread (the library call waits for the reply); other calls on this session wait."""
        raw = _b(content)
        await self._start()
        assert self._slots is not None
        async with self._slots:  # it counts against max_in_flight in the library too
            reply = await self._in_thread(self._session.subscribe, raw)
        self._subscribed = True
        self._drain()
        return reply

    async def next_push(self, timeout: Optional[float] = None) -> Push:
        """The next push (``Push(seq, missed, content)``); ``TimeoutError`` when none came
        within ``timeout`` seconds (None: wait)."""
        loop = await self._start()
        if self._pushes:
            return self._pushes.popleft()
        try:
            p = self._session.next_push(0)
        except TimeoutError:
            pass
        else:
            self._drain()
            return p
        fut: "asyncio.Future[Push]" = loop.create_future()
        self._push_waiters.append(fut)
        self._drain()
        try:
            return await _await(fut, timeout, "no push")
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._pushes.appendleft(fut.result())
            raise

    async def pushes(self, idle_timeout: Optional[float] = None) -> AsyncIterator[Push]:
        """Pushes as they come, until ``idle_timeout`` seconds pass without one (None: until
        the session is closed)."""
        while not self._closed:
            try:
                yield await self.next_push(idle_timeout)
            except TimeoutError:
                return
            except StateError:
                if self._closed:
                    return
                raise

    @property
    def session(self) -> Session:
        """The underlying blocking ``Session`` (use it only from the loop's thread)."""
        return self._session

    @property
    def in_flight(self) -> int:
        """Requests in flight in the library, abandoned ones included until their reply (or
        their own timeout) comes."""
        return self._session.in_flight

    @property
    def stats(self) -> SessionStats:
        return self._session.stats

    def counter(self, name: str) -> int:
        """One of the library's session counters by name (``ot_session_counter``)."""
        return self._session.counter(name)

    def counters(self) -> Dict[str, int]:
        return self._session.counters()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stops watching the descriptor, fails what still waits with ``StateError``, frees the
        session. Idempotent."""
        if self._closed:
            return
        self._detach()
        err = StateError("the AsyncSession was closed")
        for fut in list(self._waiting.values()) + list(self._receivers) + list(self._push_waiters):
            if not fut.done():
                fut.set_exception(err)
                fut.exception()  # retrieved: no "never retrieved" warning for abandoned waits
        self._waiting.clear()
        self._receivers.clear()
        self._push_waiters.clear()
        self._session.close()

    async def aclose(self) -> None:
        """``close()`` once no worker thread uses the session."""
        if self._loop is not None and not self._closed:
            await self._wait_idle()
        self.close()

    async def __aenter__(self) -> "AsyncSession":
        await self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncRequest:
    """A request an ``AsyncNotary`` received: ``content`` (unverified), ``verify(key)``, and
    ``await reply(...)``. Freed with ``close()``, a ``with`` block or by the garbage collector;
    one dropped unanswered is answered by the notary as unreadable."""

    __slots__ = ("request", "_notary")

    def __init__(self, request: Request, notary: "AsyncNotary") -> None:
        self.request = request
        self._notary = notary

    @property
    def content(self) -> bytes:
        """The content **without verifying** the signature (e.g. to find the sender)."""
        return self.request.content

    def verify(self, sender_auth_public: Key) -> bytes:
        """Verifies the signature; the verified content (``BadSignatureError`` otherwise)."""
        return self.request.verify(sender_auth_public)

    async def reply(self, content: BytesLike, recipient_encryption_public: Optional[Key] = None) -> None:
        """Signs and seals the reply and sends it (``AsyncNotary.reply``)."""
        await self._notary.reply(self, content, recipient_encryption_public)

    def close(self) -> None:
        self.request.close()

    def __enter__(self) -> "AsyncRequest":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncNotary(_Driven):
    """A notary on an asyncio loop: ``async for request in notary`` (or ``await receive()``),
    ``await request.reply(...)``, ``await push(...)``. While it is open a loop timer calls the
    library's receive every ``tick`` seconds (default 10 ms), since answers to unreadable
    requests, reply-cache hits and ``PONG``s go out only from inside it; requests that arrive
    while nobody awaits them are queued in order."""

    def __init__(
        self,
        bind_endpoint: str,
        auth_private: Key,
        encryption_private: Key,
        nym_id: Optional[str] = None,
        options: Optional[SessionOptions] = None,
        *,
        tick: float = 0.01,
    ) -> None:
        """Binds ``bind_endpoint`` (``tcp://127.0.0.1:*`` picks a free port: see
        ``endpoint``); the other arguments are ``Notary``'s."""
        self._init(Notary(bind_endpoint, auth_private, encryption_private, nym_id, options), tick)

    def _init(self, notary: Notary, tick: float) -> None:
        super().__init__(tick)
        self._notary = notary
        self._requests: Deque[Request] = collections.deque()
        self._waiters: Deque["asyncio.Future[Request]"] = collections.deque()
        self.skipped = 0

    @classmethod
    def adopt(cls, notary: Notary, *, tick: float = 0.01) -> "AsyncNotary":
        """Drives an existing ``Notary`` (e.g. ``Notary.connect`` to a broker, ``from_nym``);
        it must not be used elsewhere afterwards."""
        self = cls.__new__(cls)
        self._init(notary, tick)
        return self

    @classmethod
    def connect(
        cls,
        backend_endpoint: str,
        auth_private: Key,
        encryption_private: Key,
        nym_id: Optional[str] = None,
        options: Optional[SessionOptions] = None,
        *,
        tick: float = 0.01,
    ) -> "AsyncNotary":
        """A worker notary connected to a broker's backend (``AsyncBroker.backend``)."""
        return cls.adopt(
            Notary.connect(backend_endpoint, auth_private, encryption_private, nym_id, options), tick=tick
        )

    # -- plumbing ---------------------------------------------------------------------------
    def _descriptor(self) -> int:
        return self._notary.fd

    def _wants_timer(self) -> bool:
        return True  # answers, cache hits and PONGs need the library's receive, always

    def _drain(self) -> None:
        if self._busy or self._closed:
            return
        n = self._notary
        while True:
            try:
                req = n.receive(0)
            except TimeoutError:
                break
            except (MalformedError, DecryptFailedError, NoMatchingRecipientError):
                self.skipped += 1  # answered by the library; the notary keeps serving
                continue
            except OtError as e:
                for w in self._waiters:
                    if not w.done():
                        w.set_exception(e)
                self._waiters.clear()
                break
            while self._waiters:
                w = self._waiters.popleft()
                if not w.done():
                    w.set_result(req)
                    break
            else:
                self._requests.append(req)
        self._schedule()

    async def _start(self) -> asyncio.AbstractEventLoop:
        loop = self._attach()
        self._schedule()
        return loop

    # -- API --------------------------------------------------------------------------------
    @property
    def notary(self) -> Notary:
        """The underlying blocking ``Notary`` (use it only from the loop's thread)."""
        return self._notary

    @property
    def endpoint(self) -> str:
        """The bound endpoint, wildcard port resolved."""
        return self._notary.endpoint

    async def receive(self, timeout: Optional[float] = None) -> AsyncRequest:
        """The next readable request; ``TimeoutError`` when none came within ``timeout``
        seconds (None: wait). Unreadable ones are answered by the library and counted in
        ``skipped``."""
        loop = await self._start()
        if not self._requests:
            self._drain()
        if self._requests:
            return AsyncRequest(self._requests.popleft(), self)
        fut: "asyncio.Future[Request]" = loop.create_future()
        self._waiters.append(fut)
        try:
            req = await _await(fut, timeout, "no request")
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._requests.appendleft(fut.result())
            raise
        return AsyncRequest(req, self)

    def __aiter__(self) -> AsyncIterator[AsyncRequest]:
        return self.requests()

    async def requests(self, idle_timeout: Optional[float] = None) -> AsyncIterator[AsyncRequest]:
        """Requests as they come, until ``close()`` or ``idle_timeout`` seconds without one."""
        while not self._closed:
            try:
                yield await self.receive(idle_timeout)
            except TimeoutError:
                return
            except StateError:
                if self._closed:
                    return
                raise

    async def reply(
        self, request: AsyncRequest, content: BytesLike, recipient_encryption_public: Optional[Key] = None
    ) -> None:
        """Signs ``content``, seals it to ``recipient_encryption_public`` (None: the legacy
        unencrypted reply) and sends it; then drains (the call may have consumed the event)."""
        await self._start()
        try:
            self._notary.reply(request.request, content, recipient_encryption_public)
        finally:
            self._drain()

    def register_push(self, request: AsyncRequest, nym_id: str, subscriber_encryption_public: Key) -> None:
        """Registers the route of a verified subscription request for pushes to ``nym_id``."""
        self._notary.register_push(request.request, nym_id, subscriber_encryption_public)

    async def push(self, nym_id: str, content: BytesLike) -> int:
        """Pushes ``content`` to every live subscriber of ``nym_id``; how many it reached."""
        await self._start()
        try:
            return self._notary.push(nym_id, content)
        finally:
            self._drain()

    def bind(self, endpoint: str, options: Optional[SessionOptions] = None) -> str:
        """Listens on one more endpoint (only the first one's descriptor is watched; the timer
        serves the others)."""
        return self._notary.bind(endpoint, options)

    def bind_curve(self, endpoint: str, options: Optional[SessionOptions] = None) -> str:
        """A CURVE endpoint under the notary's transport key, published to v2 sessions (see
        ``Notary.bind_curve``; served by the timer, as ``bind``'s)."""
        return self._notary.bind_curve(endpoint, options)

    @property
    def transport_key(self) -> Optional[str]:
        """The transport key's CURVE public key (Z85), or None."""
        return self._notary.transport_key

    def add_identity(self, auth_private: Key, encryption_private: Key, nym_id: str) -> None:
        self._notary.add_identity(auth_private, encryption_private, nym_id)

    @property
    def stats(self) -> NotaryStats:
        return self._notary.stats

    def counter(self, name: str) -> int:
        """One of the library's notary counters by name (``ot_notary_counter``)."""
        return self._notary.counter(name)

    def counters(self) -> Dict[str, int]:
        return self._notary.counters()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stops the reader and the timer, ends waiting ``receive``s with ``StateError``, frees
        queued requests and the notary. Idempotent."""
        if self._closed:
            return
        self._detach()
        err = StateError("the AsyncNotary was closed")
        for w in self._waiters:
            if not w.done():
                w.set_exception(err)
                w.exception()
        self._waiters.clear()
        while self._requests:
            self._requests.popleft().close()
        self._notary.close()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> "AsyncNotary":
        await self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class AsyncBroker:
    """A broker for asyncio programs. The library runs it on a thread of its own, so nothing
    here is pumped: this is the ``Broker`` with an async context manager, ``wait_for_workers``
    and a close that does not block the loop while the broker's thread stops."""

    def __init__(
        self,
        frontend: str,
        backend: str,
        options: Optional[SessionOptions] = None,
        *,
        backend_secret: Optional[str] = None,
        workers: Optional[Iterable[str]] = None,
        key_file: Optional[str] = None,
        workers_file: Optional[str] = None,
    ) -> None:
        """Binds both endpoints (``tcp://127.0.0.1:*`` picks free ports) and starts the broker;
        the keys as ``Broker``'s (a network backend admits only listed workers)."""
        self._broker = Broker(
            frontend,
            backend,
            options,
            backend_secret=backend_secret,
            workers=workers,
            key_file=key_file,
            workers_file=workers_file,
        )

    @property
    def backend_public(self) -> Optional[str]:
        """The backend's CURVE public key (Z85), for the workers' options."""
        return self._broker.backend_public

    def allow_worker(self, public_z85: str) -> None:
        """Adds a worker's CURVE public key to the backend's allow-list."""
        self._broker.allow_worker(public_z85)

    @property
    def broker(self) -> Broker:
        return self._broker

    @property
    def frontend(self) -> str:
        """Where clients connect."""
        return self._broker.frontend

    @property
    def backend(self) -> str:
        """Where worker notaries connect (``AsyncNotary.connect``)."""
        return self._broker.backend

    @property
    def stats(self) -> BrokerStats:
        return self._broker.stats

    def counter(self, name: str) -> int:
        """One of the library's broker counters by name (``ot_broker_counter``)."""
        return self._broker.counter(name)

    def counters(self) -> Dict[str, int]:
        return self._broker.counters()

    async def wait_for_workers(self, n: int = 1, timeout: Optional[float] = None, poll: float = 0.01) -> int:
        """Waits until at least ``n`` workers are connected; their number. ``TimeoutError``
        after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        while True:
            w = self._broker.stats.workers
            if w >= n:
                return w
            if end is not None and loop.time() >= end:
                raise _timeout_error(f"fewer than {n} workers", timeout or 0.0)
            await asyncio.sleep(poll)

    @property
    def closed(self) -> bool:
        return self._broker.closed

    async def aclose(self) -> None:
        """Stops the broker on a worker thread (its thread is joined)."""
        if not self._broker.closed:
            await asyncio.get_running_loop().run_in_executor(None, self._broker.close)

    def close(self) -> None:
        self._broker.close()

    async def __aenter__(self) -> "AsyncBroker":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
