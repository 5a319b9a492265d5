"""The processes of the network-fault tests, one per namespace, driven through their pipes:
commands on stdin, one JSON event per line on stdout (times are ``time.monotonic()``, one clock
for every namespace of the machine). Every role exits when its stdin closes (the controller is
gone), and after ``--max-seconds`` whatever happens.

    roles.py notary --keys DIR --bind tcp://10.77.0.2:7000
    roles.py worker --keys DIR --connect tcp://10.77.0.1:7086 [--heartbeats]
    roles.py broker --front tcp://10.77.0.1:7085 --back tcp://10.77.0.1:7086
    roles.py client --keys DIR --profile fast --session NAME,legacy|v2,ENDPOINT ...

A client runs each session on its own thread between ``go NAME`` and ``stop NAME``: it sends
requests whose content names the session and a sequence number (``NAME#17``), so that the
notaries and workers can say which requests their application saw more than once. Notaries and
workers answer ``@`` + the content. Only the public Python API is used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import ot_transport as ot

# Client option profiles. "fast" keeps the test short: the legacy schedule cut to 250 + 500 +
# 1000 ms per attempt (1.75 s), 3 resends, ZMTP heartbeats every 1 s, dead after 3 s, TTL 3 s.
# "default" is the library's defaults (legacy: 25.4 s per attempt, 1 resend, no heartbeats; v2:
# heartbeats 5 s / 15 s / TTL 15 s), with no pause after sending.
PROFILES: Dict[str, Dict[str, int]] = {
    "fast": dict(
        latency_send_ms=250,
        latency_send_no_tries=3,
        latency_receive_ms=250,
        latency_receive_no_tries=3,
        latency_delay_after=0,
        max_resends=3,
        heartbeat_ivl_ms=1000,
        heartbeat_timeout_ms=3000,
        heartbeat_ttl_ms=3000,
    ),
    "default": dict(latency_delay_after=0),
}

# Heartbeats for a worker's link to its broker (Notary.connect's options): off unless asked.
WORKER_HEARTBEATS = dict(heartbeat_ivl_ms=1000, heartbeat_timeout_ms=3000, heartbeat_ttl_ms=3000)


def attempt_s(profile: str) -> float:
    o = ot.SessionOptions(**PROFILES[profile])
    ms = sum(o["latency_receive_ms"] * 2**i for i in range(o["latency_receive_no_tries"]))
    return ms / 1000


def worst_case_s(profile: str) -> float:
    """Longest a request may take with these options before it is reported (send and receive
    schedules of every attempt; the library's own bound, ``worst_case_ms``, for one attempt
    more or less)."""
    o = ot.SessionOptions(**PROFILES[profile])
    send = sum(o["latency_send_ms"] * 2**i for i in range(o["latency_send_no_tries"]))
    return (send / 1000 + attempt_s(profile)) * (o["max_resends"] + 1)


_out = threading.Lock()


def say(**ev: object) -> None:
    ev.setdefault("t", time.monotonic())
    line = json.dumps(ev)
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def load_keys(d: str) -> Dict[str, ot.Key]:
    return {n: ot.Key.load((Path(d) / f"{n}.pem").read_bytes()) for n in ("n_auth", "n_enc", "c_auth", "c_enc")}


def write_keys(d: str, bits: int = 1024) -> None:
    for n in ("n_auth", "n_enc", "c_auth", "c_enc"):
        (Path(d) / f"{n}.pem").write_bytes(ot.Key.generate(bits).export(ot.KeyFormat.PKCS8_PLAIN))
    # The broker's backend admits only listed workers: its CURVE key file (mode 600), the worker
    # list, and the workers' key pair.
    backend_pub, backend_sec = ot.curve_keypair()
    worker_pub, worker_sec = ot.curve_keypair()
    key_file = Path(d) / "backend.key"
    key_file.touch(mode=0o600)
    key_file.write_text(f"{backend_sec}\n")
    (Path(d) / "workers").write_text(f"{worker_pub} worker\n")
    (Path(d) / "worker.json").write_text(json.dumps({"backend": backend_pub, "public": worker_pub, "secret": worker_sec}))


def worker_options(d: str, **extra: int) -> ot.SessionOptions:
    """A worker's options: a CURVE client of the broker's backend with the listed key pair."""
    k = json.loads((Path(d) / "worker.json").read_text())
    return ot.SessionOptions(**extra).set_curve_client(k["backend"], k["public"], k["secret"])


class Control:
    """The controller's pipe: commands in a queue; EOF stops everything."""

    def __init__(self, max_seconds: float) -> None:
        self.quit = threading.Event()
        self.go: Dict[str, threading.Event] = {}
        self.stop: Dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._watchdog, args=(max_seconds,), daemon=True).start()

    def event(self, kind: str, name: str) -> threading.Event:
        with self.lock:
            table = self.go if kind == "go" else self.stop
            return table.setdefault(name, threading.Event())

    def _read(self) -> None:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            if words[0] in ("go", "stop") and len(words) == 2:
                self.event(words[0], words[1]).set()
        self.quit.set()
        with self.lock:
            for e in list(self.stop.values()):
                e.set()

    def _watchdog(self, max_seconds: float) -> None:
        if not self.quit.wait(max_seconds):
            say(ev="watchdog", after=max_seconds)
            os._exit(3)
        # Quit asked (or the controller gone): give the roles a few seconds to finish, then go.
        time.sleep(15)
        os._exit(4)


# ---- notary and worker ----------------------------------------------------------------------


def serve(notary: ot.Notary, keys: Dict[str, ot.Key], ctl: Control, work_s: float) -> None:
    while not ctl.quit.is_set():
        try:
            req = notary.receive(0.05)
        except ot.TimeoutError:
            continue
        except ot.OtError as e:
            say(ev="unreadable", err=type(e).__name__)
            continue
        try:
            content = req.verify(keys["c_auth"])
        except ot.OtError as e:
            say(ev="unverified", err=type(e).__name__)
            req.close()
            continue
        say(ev="req", c=content.decode("utf-8", "replace").strip())
        if work_s:
            time.sleep(work_s)
        try:
            req.reply(b"@" + content, keys["c_enc"])
        except ot.OtError as e:
            say(ev="reply_failed", c=content.decode("utf-8", "replace").strip(), err=type(e).__name__, msg=str(e)[:200])
        req.close()
    say(ev="done", stats=notary.stats._asdict(), counters=notary.counters())


def run_notary(args: argparse.Namespace, ctl: Control) -> None:
    keys = load_keys(args.keys)
    with ot.Notary(args.bind, keys["n_auth"], keys["n_enc"]) as n:
        say(ev="ready", endpoint=n.endpoint)
        serve(n, keys, ctl, args.work_ms / 1000)


def run_worker(args: argparse.Namespace, ctl: Control) -> None:
    keys = load_keys(args.keys)
    opts = worker_options(args.keys, **(WORKER_HEARTBEATS if args.heartbeats else {}))
    with ot.Notary.connect(args.connect, keys["n_auth"], keys["n_enc"], options=opts) as n:
        say(ev="ready", endpoint=args.connect)
        serve(n, keys, ctl, args.work_ms / 1000)


def run_broker(args: argparse.Namespace, ctl: Control) -> None:
    d = Path(args.keys)
    with ot.Broker(args.front, args.back, key_file=str(d / "backend.key"), workers_file=str(d / "workers")) as b:
        say(ev="ready", frontend=b.frontend, backend=b.backend)
        last: Optional[Tuple[int, int]] = None
        while not ctl.quit.wait(0.02):
            st = b.stats
            now = (st.workers, st.dead_workers)
            if now != last:
                say(ev="workers", workers=st.workers, dead=st.dead_workers)
                last = now
        say(ev="done", stats=b.stats._asdict())


# ---- clients --------------------------------------------------------------------------------


class Client:
    """One session on its own thread, sending between ``go`` and ``stop``."""

    def __init__(self, name: str, protocol: str, endpoint: str, keys: Dict[str, ot.Key], args: argparse.Namespace,
                 ctl: Control) -> None:
        self.name, self.protocol, self.endpoint = name, protocol, endpoint
        self.keys, self.args, self.ctl = keys, args, ctl
        opts = dict(PROFILES[args.profile])
        if protocol == "v2":
            opts["protocol"] = int(ot.Protocol.V2)
            opts["max_in_flight"] = args.window
        self.session = ot.Session(
            endpoint,
            ot.SessionOptions(**opts),
            identity=(keys["c_auth"], keys["c_enc"]),
            notary=(keys["n_enc"].nym_id, keys["n_enc"].public(), keys["n_auth"].public()),
        )
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def content(self, seq: int) -> bytes:
        return f"{self.name}#{seq}\n".encode()

    def check(self, seq: int, reply: bytes, sent: float) -> None:
        if reply == b"@" + self.content(seq):
            say(ev="ok", s=self.name, n=seq, sent=sent)
        else:
            say(ev="wrong", s=self.name, n=seq, sent=sent, got=reply[:80].decode("utf-8", "replace"))

    def run(self) -> None:
        go, stop = self.ctl.event("go", self.name), self.ctl.event("stop", self.name)
        while not go.wait(0.1):
            if self.ctl.quit.is_set():
                return
        say(ev="started", s=self.name)
        try:
            (self.run_v2 if self.protocol == "v2" else self.run_legacy)(stop)
        except Exception as e:  # reported, never silent: the controller counts the session as broken
            say(ev="crashed", s=self.name, err=type(e).__name__, msg=str(e)[:300])
        finally:
            stats = {}
            try:
                stats = self.session.stats._asdict()
            except Exception:
                pass
            self.session.close()
            say(ev="closed", s=self.name, stats=stats)

    def run_legacy(self, stop: threading.Event) -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            t0 = time.monotonic()
            say(ev="sent", s=self.name, n=seq, t=t0)
            try:
                reply = self.session.request(self.content(seq))
            except ot.OtError as e:
                say(ev="fail", s=self.name, n=seq, sent=t0, err=type(e).__name__, msg=str(e)[:200])
            else:
                self.check(seq, reply, t0)
            stop.wait(self.args.interval)
        say(ev="done", s=self.name, pending=[])

    def run_v2(self, stop: threading.Event) -> None:
        s = self.session
        pending: Dict[int, Tuple[int, float]] = {}
        seq = 0
        next_send = time.monotonic()

        def receive(timeout: float) -> None:
            try:
                rid, reply = s.receive(timeout)
            except ot.OtError as e:
                rid = getattr(e, "request_id", None)
                if rid is None:
                    if not isinstance(e, ot.TimeoutError):
                        say(ev="receive_error", s=self.name, err=type(e).__name__, msg=str(e)[:200])
                    return
                n, t0 = pending.pop(rid, (-1, 0.0))
                say(ev="fail", s=self.name, n=n, sent=t0, err=type(e).__name__, msg=str(e)[:200])
                return
            if rid not in pending:
                say(ev="unknown_id", s=self.name, id=rid)
                return
            n, t0 = pending.pop(rid)
            self.check(n, reply, t0)

        while not stop.is_set():
            now = time.monotonic()
            if now >= next_send and len(pending) < self.args.window:
                seq += 1
                next_send = now + self.args.interval
                try:
                    rid = s.send(self.content(seq))
                except ot.OtError as e:
                    say(ev="sent", s=self.name, n=seq, t=now)
                    say(ev="fail", s=self.name, n=seq, sent=now, err=type(e).__name__, msg="send: " + str(e)[:200])
                else:
                    pending[rid] = (seq, now)
                    say(ev="sent", s=self.name, n=seq, t=now)
            receive(max(0.0, min(0.05, next_send - time.monotonic())))
        # Drain: every request sent must come back, answered or failed, within the bound.
        end = time.monotonic() + self.args.drain
        while pending and time.monotonic() < end:
            receive(0.2)
        say(ev="done", s=self.name, pending=sorted(n for n, _ in pending.values()), in_flight=s.in_flight)


def run_clients(args: argparse.Namespace, ctl: Control) -> None:
    keys = load_keys(args.keys)
    clients = []
    for spec in args.session:
        name, protocol, endpoint = spec.split(",", 2)
        clients.append(Client(name, protocol, endpoint, keys, args, ctl))
    say(ev="ready", sessions=[c.name for c in clients])
    ctl.quit.wait()
    for c in clients:
        c.thread.join(args.drain + 30)
        if c.thread.is_alive():  # a legacy request() that never returned
            say(ev="hung", s=c.name)


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="role", required=True)
    for role in ("notary", "worker", "broker", "client"):
        q = sub.add_parser(role)
        q.add_argument("--max-seconds", type=float, default=600)
        q.add_argument("--keys", required=True)
    for role in ("notary", "worker"):
        sub.choices[role].add_argument("--work-ms", type=float, default=0, help="time the application takes per request")
    sub.choices["notary"].add_argument("--bind", required=True)
    sub.choices["worker"].add_argument("--connect", required=True)
    sub.choices["worker"].add_argument("--heartbeats", action="store_true", help="ZMTP heartbeats on the broker link")
    sub.choices["broker"].add_argument("--front", required=True)
    sub.choices["broker"].add_argument("--back", required=True)
    c = sub.choices["client"]
    c.add_argument("--session", action="append", required=True, help="NAME,legacy|v2,ENDPOINT")
    c.add_argument("--profile", choices=sorted(PROFILES), default="fast")
    c.add_argument("--interval", type=float, default=0.1, help="seconds between new requests")
    c.add_argument("--window", type=int, default=8, help="v2: most requests in flight")
    c.add_argument("--drain", type=float, default=40, help="seconds a stopped session waits for its last requests")
    args = p.parse_args(argv)
    ctl = Control(args.max_seconds)
    try:
        {"notary": run_notary, "worker": run_worker, "broker": run_broker, "client": run_clients}[args.role](args, ctl)
    except Exception as e:
        say(ev="crashed", err=type(e).__name__, msg=str(e)[:300])
        sys.stdout.flush()
        os._exit(2)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
