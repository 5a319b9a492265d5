"""The controller's side of the role processes: start one in a namespace, read its JSON events
on a thread, send it commands, wait for an event with a bound, stop it (and, if it does not
go by itself, kill its process group)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

from netns import Network

HERE = Path(__file__).resolve().parent
ROLES = str(HERE / "roles.py")
RELAY = str(HERE / "relay.py")

Event = Dict[str, object]


class Proc:
    """A role process in ``host``'s namespace."""

    def __init__(self, net: Network, host: str, name: str, argv: List[str], env: Dict[str, str]) -> None:
        self.name = name
        self.events: List[Event] = []
        self.cond = threading.Condition()
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(
            net.command(host, [sys.executable, "-u", *argv]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            env=env,
            start_new_session=True,  # its own process group: killed as one if it must be
        )
        self.quitting = False  # set when the controller asked it to quit
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"ev": "noise", "line": line[:300], "t": time.monotonic()}
            with self.cond:
                self.events.append(ev)
                self.cond.notify_all()
        t = time.monotonic()
        try:
            rc: Optional[int] = self.p.wait(5)
        except subprocess.TimeoutExpired:
            rc = None
        with self.cond:
            self.events.append({"ev": "exit", "t": t, "rc": rc, "quit": self.quitting})
            self.cond.notify_all()

    def send(self, command: str) -> None:
        if command == "quit":
            self.quitting = True
        try:
            assert self.p.stdin is not None
            self.p.stdin.write(command + "\n")
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def wait_for(self, pred: Callable[[Event], bool], timeout: float, what: str = "") -> Event:
        end = time.monotonic() + timeout
        with self.cond:
            seen = 0
            while True:
                for ev in self.events[seen:]:
                    if pred(ev):
                        return ev
                    if ev.get("ev") in ("exit", "crashed"):
                        raise RuntimeError(f"{self.name} ended before {what or 'the event'}: {ev}; stderr: {self.stderr()}")
                seen = len(self.events)
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no {what or 'event'} within {timeout:.0f} s; stderr: {self.stderr()}")
                self.cond.wait(left)

    def died(self) -> Optional[Event]:
        """Its exit event if it ended before it was asked to quit (a crash), else None."""
        with self.cond:
            return next((e for e in self.events if e.get("ev") == "exit" and not e.get("quit")), None)

    def of(self, kind: str, session: Optional[str] = None) -> List[Event]:
        with self.cond:
            return [e for e in self.events if e.get("ev") == kind and (session is None or e.get("s") == session)]

    def stderr(self) -> str:
        try:
            self.err.seek(0)
            return self.err.read()[-2000:]
        except (OSError, ValueError):
            return ""

    def stop(self, grace: float = 10) -> None:
        """Asks it to quit (stdin closed), then kills its process group if it is still there."""
        self.send("quit")
        self.quitting = True
        try:
            if self.p.stdin is not None:
                self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.reader.join(5)
        self.err.close()


def role_env() -> Dict[str, str]:
    """The environment of the role processes: the caller's (OT_TRANSPORT_LIB, PYTHONPATH)."""
    env = dict(os.environ)
    repo = HERE.parents[1]
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(repo / "python") not in paths:
        paths.append(str(repo / "python"))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    return env
