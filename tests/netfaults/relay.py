"""A userspace TCP relay that adds latency and models loss, for the network-fault tests (the
machines have no netem). Run inside a namespace:

    python3 relay.py --listen 10.77.0.50:8001 --to 10.77.0.3:7000 --delay-ms 50
    python3 relay.py --listen 10.77.0.50:8002 --to 10.77.0.3:7000 --stall 0.05:400 --reset 2:6

Each accepted connection gets its own connection to the target; bytes are forwarded in order,
both ways, chunk by chunk (a chunk is what one read returned, at most 64 KiB).

- **Latency**: every chunk is written ``--delay-ms`` after it was read (per direction, so the
  round trip gains twice that).
- **Loss** cannot be dropped bytes: TCP is a byte stream, and bytes missing from the middle of a
  ZMTP stream are not "a lost packet" but a corrupt connection. What loss does to a TCP
  connection is seen by the application as (a) stalls: a lost segment holds back everything
  behind it until it is retransmitted (one RTO, 200 ms and more), and (b) connections that die
  and are reset when losses persist. So: ``--stall P:MS`` holds each chunk back, with probability
  P, for MS milliseconds more (and everything behind it, in order); ``--reset A:B`` resets both
  sides of every connection (RST: SO_LINGER 0, then close) after a random lifetime between A and
  B seconds.

Prints JSON lines: ``{"ev": "ready"}``, then one ``{"ev": "reset"}`` per reset; exits when its
stdin closes (its controller is gone) or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import struct
import sys
import threading
import time
from typing import List, Optional, Tuple


def say(**ev: object) -> None:
    ev.setdefault("t", time.monotonic())
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


def hard_close(w: asyncio.StreamWriter) -> None:
    """Closes with a RST: the peer's next read fails at once (ECONNRESET)."""
    sock = w.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    w.transport.abort()


class Relay:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        host, port = args.to.rsplit(":", 1)
        self.target = (host, int(port))
        self.rng = random.Random(args.seed)
        self.stall: Optional[Tuple[float, float]] = None
        if args.stall:
            p, ms = args.stall.split(":")
            self.stall = (float(p), float(ms) / 1000)
        self.reset: Optional[Tuple[float, float]] = None
        if args.reset:
            a, b = args.reset.split(":")
            self.reset = (float(a), float(b))
        self.connections = 0
        self.resets = 0
        self.stalls = 0

    async def pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        """Forwards r to w in order, each chunk at (read time + delay), later when stalled."""
        q: "asyncio.Queue[Tuple[float, bytes]]" = asyncio.Queue()
        delay = self.args.delay_ms / 1000

        async def writer() -> None:
            while True:
                due, data = await q.get()
                if not data:
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                w.write(data)
                await w.drain()

        wt = asyncio.ensure_future(writer())
        last_due = 0.0
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                due = max(time.monotonic() + delay, last_due)
                if self.stall is not None and self.rng.random() < self.stall[0]:
                    due += self.stall[1]
                    self.stalls += 1
                last_due = due
                q.put_nowait((due, data))
            q.put_nowait((0.0, b""))
            await wt
        finally:
            wt.cancel()

    async def handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            ur, uw = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
        except (OSError, asyncio.TimeoutError):
            hard_close(cw)
            return
        for w in (cw, uw):
            s = w.get_extra_info("socket")
            if s is not None:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tasks: List[asyncio.Future] = [asyncio.ensure_future(self.pipe(cr, uw)),
                                       asyncio.ensure_future(self.pipe(ur, cw))]
        lifetime = None if self.reset is None else self.rng.uniform(*self.reset)
        done, _ = await asyncio.wait(tasks, timeout=lifetime, return_when=asyncio.FIRST_COMPLETED)
        if not done:  # lived its lifetime: reset both sides
            self.resets += 1
            say(ev="reset", connections=self.connections)
        for t in tasks:
            t.cancel()
        # One side closed or failed, or the reset: the other side goes too (ZMTP never half-closes).
        hard_close(cw)
        hard_close(uw)

    async def main(self) -> None:
        host, port = self.args.listen.rsplit(":", 1)
        server = await asyncio.start_server(self.handle, host, int(port), reuse_address=True)
        say(ev="ready", listen=self.args.listen)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stdin_watch() -> None:  # the controller's pipe: EOF or "quit" ends the relay
            for line in sys.stdin:
                if line.strip() == "quit":
                    break
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=stdin_watch, daemon=True).start()
        try:
            await asyncio.wait_for(stop.wait(), self.args.max_seconds)
        except asyncio.TimeoutError:
            pass
        server.close()
        say(ev="done", connections=self.connections, resets=self.resets, stalls=self.stalls)


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", required=True, help="IP:PORT to listen on")
    p.add_argument("--to", required=True, help="IP:PORT to forward to")
    p.add_argument("--delay-ms", type=float, default=0, help="fixed delay per chunk, each direction")
    p.add_argument("--stall", help="P:MS: with probability P a chunk is held back MS ms more")
    p.add_argument("--reset", help="A:B: every connection is reset after a random A..B seconds")
    p.add_argument("--seed", type=int, default=18)
    p.add_argument("--max-seconds", type=float, default=600)
    args = p.parse_args(argv)
    asyncio.run(Relay(args).main())
    os._exit(0)


if __name__ == "__main__":
    main()
