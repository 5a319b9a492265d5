"""Network faults on a real (virtual) network: the experiments and their table.

Every host is a network namespace on one bridge (``netns.py``); every role is a process in its
host (``roles.py``, ``relay.py``); only the public Python API is used. Two experiments:

**main** — 11 hosts, faults on independent paths at the same time, in two phases:

    n  notary (direct)       c1 ── n          phase 1: n's switch port down for CUT s (a cut on
                                              the LAN: ARP fails too); phase 2: n's port
                                              flapped FLAPS x (1 s down, 1 s up)
    n3 notary (direct)       c4 ── n3         phase 1: c4 and n3 drop each other's packets for
                                              CUT s (a cut past a router: ARP still answered)
    b  broker, w1 w2 workers c2 ── b ── w1    phase 1: w1 partitioned from b for CUT s
                                      └─ w2   phase 2: c2's switch port down for CUT s
    n2 notary behind a relay c3 ── r ── n2    all along: the TCP relay adds latency (one port)
    r  the TCP relay                          or loss as stalls and resets (another port)

Each fault has its own sessions (one legacy REQ and one v2 per row) that send a request every
100 ms from before the fault until RECOVER s after it ended, then drain.

**stranded** — a broker and two idle workers partitioned for CUT s, one worker with the default
options and one with ZMTP heartbeats on its broker link; the broker's namespace gives up on
orphaned TCP connections at once (``tcp_orphan_retries = 1``), as any broker does by default
after a partition of about two minutes (8 retries ≈ 100 s).

Definitions (times in seconds; the same monotonic clock in every namespace):

- *detected after*: from the cut to the first request the session's application heard fail
  (for the broker: to the broker counting the worker dead); "none failed" when every request was
  only delayed;
- *back after*: from the end of the fault (link up, partition healed, last flap up) to the
  session's first answer after it (for the broker: the worker announced again);
- *lost*: requests sent that the application never heard about: neither an answer nor an error
  by the end of the drain (v2: ``receive`` reported every id; legacy: ``request`` returned);
- *seen twice*: requests whose content reached a notary's or worker's application more than
  once (counted there, by content; the largest number of copies in parentheses when over 2;
  "k failed": k of them were reported failed to the client's application);
- *slowest*: the longest a request waited for its answer or its error;
- notes, "k failed requests ran afterwards": requests the client's application was told had
  failed and that a notary's or worker's application received after that.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import netns
import roles
from harness import RELAY, ROLES, Proc, role_env

ANOMALIES = ("crashed", "hung", "wrong", "unknown_id", "receive_error", "watchdog", "noise")


@dataclass
class Row:
    fault: str
    path: str
    client: str  # "legacy", "v2", or "broker" (the broker's own view)
    session: str = ""
    # Where the fault started and ended (for detection and recovery); None: no single fault.
    window: Optional[Tuple[float, float]] = None
    sent: int = 0
    answered: int = 0
    failed: int = 0
    lost: int = 0
    twice: int = 0
    twice_failed: int = 0  # of those, requests the application was told had failed
    ran_after_failing: int = 0  # failed requests that reached an application after the failure
    max_copies: int = 0
    detect: Optional[float] = None
    back: Optional[float] = None
    answered_after: int = 0  # answers to requests sent after the fault ended
    slowest: float = 0.0
    p50: Optional[float] = None
    p95: Optional[float] = None
    notes: str = ""
    anomalies: List[str] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)


@dataclass
class Results:
    profile: str
    rows: List[Row]
    setup: Dict[str, object]
    duration: float = 0.0

    def row(self, fault: str, client: str) -> Row:
        for r in self.rows:
            if r.fault == fault and r.client == client:
                return r
        raise KeyError((fault, client))


def fmt(v: Optional[float], unit: str = "s") -> str:
    """Seconds as "1.2 s", or in milliseconds (unit "ms", or any value under a second with "auto")."""
    if v is None:
        return "—"
    if unit == "ms" or (unit == "auto" and v < 1):
        return f"{v * 1000:.0f} ms"
    return f"{v:.1f} s"


def table(res: Results) -> str:
    head = ("| fault | path | client | sent | answered | failed | lost | seen twice | detected after | back after "
            "| slowest | notes |")
    lines = [head, "|" + "---|" * 12]
    for r in res.rows:
        if r.client == "broker":
            counts = ["", "", "", "", ""]
        else:
            twice = str(r.twice) + (f" ({r.max_copies}×)" if r.max_copies > 2 else "")
            twice += f", {r.twice_failed} failed" if r.twice_failed else ""
            counts = [str(r.sent), str(r.answered), str(r.failed), str(r.lost), twice]
        detect = fmt(r.detect)
        if r.detect is None and r.window is not None and r.client != "broker":
            detect = "none failed"
        slowest = fmt(r.slowest, "auto") if r.client != "broker" else ""
        lines.append(f"| {r.fault} | {r.path} | {r.client} | " + " | ".join(counts)
                     + f" | {detect} | {fmt(r.back, 'auto')} | {slowest} | {r.notes} |")
    return "\n".join(lines)


def stranded_table(res: Results) -> str:
    lines = ["| fault | worker | broker counted it dead after | back after the heal | requests it served after |",
             "|---|---|---|---|---|"]
    for r in res.rows:
        if r.client.startswith("worker"):
            lines.append(f"| {r.fault} | {r.client[len('worker, '):]} | {fmt(r.detect)} | "
                         f"{fmt(r.back) if r.back is not None else 'never (waited ' + fmt(res.setup['waited']) + ')'} "
                         f"| {r.answered} of {res.setup['probes']} |")
    return "\n".join(lines)


def session_row(row: Row, clients: Proc, seen: Dict[str, List[float]]) -> Row:
    s = row.session
    sent = clients.of("sent", s)
    ok = clients.of("ok", s)
    fail = clients.of("fail", s)
    done = clients.of("done", s)
    row.sent, row.answered, row.failed = len(sent), len(ok), len(fail)
    row.errors = Counter(str(e.get("msg", ""))[:90] for e in fail)
    if done:
        row.lost = len(done[-1].get("pending", []))  # type: ignore[arg-type]
    else:  # never finished its drain: everything not reported is lost
        row.lost = row.sent - row.answered - row.failed
        row.anomalies.append("no done event")
    row.anomalies += [f"{e['ev']}: {e}" for e in clients.events if e.get("ev") in ANOMALIES and e.get("s") in (s, None)]
    mine = {int(c.split("#")[1]): times for c, times in seen.items() if c.startswith(s + "#")}
    copies = [len(times) for times in mine.values()]
    row.twice = sum(1 for n in copies if n > 1)
    failed_at = {int(e["n"]): float(e["t"]) for e in fail}  # type: ignore[arg-type]
    row.twice_failed = sum(1 for n, times in mine.items() if len(times) > 1 and n in failed_at)
    # Requests the application was told had failed, and that an application ran afterwards.
    row.ran_after_failing = sum(1 for n, t in failed_at.items() if any(a > t for a in mine.get(n, [])))
    row.max_copies = max(copies, default=0)
    waits = [float(e["t"]) - float(e["sent"]) for e in ok + fail]  # type: ignore[arg-type]
    row.slowest = max(waits, default=0.0)
    rtts = sorted(float(e["t"]) - float(e["sent"]) for e in ok)  # type: ignore[arg-type]
    if rtts:
        row.p50 = statistics.median(rtts)
        row.p95 = rtts[min(len(rtts) - 1, int(0.95 * len(rtts)))]
    if row.window is not None:
        cut, end = row.window
        after_cut = [float(e["t"]) - cut for e in fail if float(e["t"]) >= cut]  # type: ignore[arg-type]
        row.detect = min(after_cut) if after_cut else None
        after_end = [float(e["t"]) - end for e in ok if float(e["t"]) >= end]  # type: ignore[arg-type]
        row.back = min(after_end) if after_end else None
        row.answered_after = sum(1 for e in ok if float(e["sent"]) >= end)  # type: ignore[arg-type]
    return row


class Experiment:
    """A network, its processes and a clock; torn down by ``close`` whatever happened."""

    def __init__(self, tag: str, hosts: Dict[str, int], log: Callable[[str], None]) -> None:
        self.log = log
        self.procs: Dict[str, Proc] = {}
        self.keys = tempfile.TemporaryDirectory(prefix="otnf-keys-")
        roles.write_keys(self.keys.name)
        self.env = role_env()
        self.net = netns.Network(tag, hosts)
        self.t0 = time.monotonic()
        self.marks: List[Tuple[float, str]] = []

    def ep(self, host: str, port: int) -> str:
        return f"tcp://{self.net.addr(host)}:{port}"

    def start(self, host: str, name: str, argv: List[str], script: str = ROLES) -> Proc:
        if script == ROLES:
            argv = [argv[0], "--keys", self.keys.name, *argv[1:]]
        p = Proc(self.net, host, name, [script, *argv], self.env)
        self.procs[name] = p
        return p

    def ready(self, timeout: float = 60) -> None:
        for p in self.procs.values():
            p.wait_for(lambda e: e.get("ev") == "ready", timeout, "ready")

    def at(self, t: float) -> float:
        """Sleeps until t s after t0; the time now."""
        left = self.t0 + t - time.monotonic()
        if left > 0:
            time.sleep(left)
        return time.monotonic()

    def mark(self, what: str) -> float:
        now = time.monotonic()
        self.marks.append((now, what))
        self.log(f"  t={now - self.t0:5.1f} s  {what}")
        return now

    def seen(self) -> Dict[str, List[float]]:
        """Every request content the notaries' and workers' applications saw: when, each time."""
        c: Dict[str, List[float]] = {}
        for p in self.procs.values():
            for e in p.of("req"):
                c.setdefault(str(e["c"]), []).append(float(e["t"]))  # type: ignore[arg-type]
        return c

    def deaths(self) -> Dict[str, str]:
        """Role processes that ended before they were asked to: name -> how (for the notes)."""
        out = {}
        for name, p in self.procs.items():
            e = p.died()
            if e is not None:
                last = [line for line in p.stderr().splitlines() if line.strip()][-1:] or ["no message"]
                at = float(e["t"]) - self.t0  # type: ignore[arg-type]
                out[name] = f"{name} died at t={at:.1f} s (exit status {e.get('rc')}: {last[0][:120]})"
        return out

    def close(self) -> List[str]:
        for p in self.procs.values():
            p.send("quit")
        for p in self.procs.values():
            p.stop()
        left = self.net.teardown()
        self.keys.cleanup()
        return left


def run_main(profile: str = "fast", cut: float = 8, flaps: int = 4, recover: float = 6,
             log: Callable[[str], None] = print) -> Results:
    hosts = dict(b=1, n=2, n2=3, n3=4, w1=11, w2=12, r=50, c1=101, c2=102, c3=103, c4=104)
    started = time.monotonic()
    x = Experiment("main", hosts, log)
    try:
        res = _main(x, profile, cut, flaps, recover, started)
    finally:
        left = x.close()
        if left:
            log(f"could not delete: {left}")
    # Counters the notaries, workers and broker print when they quit.
    res.setup["counters"] = {k: x.procs[k].of("done") for k in ("n", "n2", "n3", "w1", "w2", "b")}
    return res


def _main(x: Experiment, profile: str, cut: float, flaps: int, recover: float, started: float) -> Results:
    log = x.log
    n_ep, n2_ep, n3_ep = x.ep("n", 7000), x.ep("n2", 7000), x.ep("n3", 7000)
    front, back = x.ep("b", 7085), x.ep("b", 7086)
    relay_lat, relay_loss = x.ep("r", 8001), x.ep("r", 8002)
    x.start("n", "n", ["notary", "--bind", n_ep])
    x.start("n2", "n2", ["notary", "--bind", n2_ep])
    x.start("n3", "n3", ["notary", "--bind", n3_ep])
    broker = x.start("b", "b", ["broker", "--front", front, "--back", back])
    x.start("w1", "w1", ["worker", "--connect", back])
    x.start("w2", "w2", ["worker", "--connect", back])
    to_n2 = f"{x.net.addr('n2')}:7000"
    x.start("r", "relay-lat", ["--listen", f"{x.net.addr('r')}:8001", "--to", to_n2, "--delay-ms", "50"], RELAY)
    x.start("r", "relay-loss", ["--listen", f"{x.net.addr('r')}:8002", "--to", to_n2, "--delay-ms", "5",
                                "--stall", "0.05:400", "--reset", "2:6"], RELAY)
    common = ["--profile", profile, "--interval", "0.1", "--window", "8"]

    def sessions(*specs: str) -> List[str]:
        out = []
        for s in specs:
            out += ["--session", s]
        return out

    c1 = x.start("c1", "c1", ["client", *common, *sessions(
        f"cut-L,legacy,{n_ep}", f"cut-V,v2,{n_ep}", f"flap-L,legacy,{n_ep}", f"flap-V,v2,{n_ep}")])
    c2 = x.start("c2", "c2", ["client", *common, *sessions(
        f"part-L,legacy,{front}", f"part-V,v2,{front}", f"front-L,legacy,{front}", f"front-V,v2,{front}")])
    c3 = x.start("c3", "c3", ["client", *common, *sessions(
        f"lat-L,legacy,{relay_lat}", f"lat-V,v2,{relay_lat}",
        f"loss-L,legacy,{relay_loss}", f"loss-V,v2,{relay_loss}")])
    c4 = x.start("c4", "c4", ["client", *common, *sessions(f"drop-L,legacy,{n3_ep}", f"drop-V,v2,{n3_ep}")])
    x.ready()
    broker.wait_for(lambda e: e.get("ev") == "workers" and e.get("workers") == 2, 30, "2 workers")
    log(f"{len(x.procs)} processes ready in {len(x.net.hosts)} namespaces after {time.monotonic() - started:.1f} s")
    x.t0 = time.monotonic()

    def tell(word: str, *who: Tuple[Proc, Tuple[str, ...]]) -> None:
        for c, names in who:
            for name in names:
                c.send(f"{word} {name}")

    relayed = (c3, ("lat-L", "lat-V", "loss-L", "loss-V"))
    # Phase 1: n's link cut; w1 partitioned from the broker. Relay sessions run all along.
    tell("go", (c1, ("cut-L", "cut-V")), (c2, ("part-L", "part-V")), (c4, ("drop-L", "drop-V")), relayed)
    x.at(3)
    x.net.cut("n")
    t_cut = x.mark(f"n's link cut ({cut:.0f} s)")
    how = x.net.partition("w1", "b")
    t_part = x.mark(f"w1 partitioned from b: {how}")
    how_drop = x.net.partition("c4", "n3")
    t_drop = x.mark(f"c4 and n3 partitioned: {how_drop}")
    dropped = "packets dropped" if netns.have_nft() else "client link cut (no nft)"
    x.at(3 + cut)
    x.net.restore("n")
    t_restore = x.mark("n's link up")
    x.net.heal("w1", "b")
    t_heal = x.mark("w1 and b healed")
    x.net.heal("c4", "n3")
    t_drop_end = x.mark("c4 and n3 healed")
    p2 = 3 + cut + recover
    x.at(p2)
    tell("stop", (c1, ("cut-L", "cut-V")), (c2, ("part-L", "part-V")), (c4, ("drop-L", "drop-V")))

    # Phase 2: n's link flapped; c2's link to the broker cut.
    tell("go", (c1, ("flap-L", "flap-V")), (c2, ("front-L", "front-V")))
    x.at(p2 + 3)
    x.net.cut("c2")
    t_front = x.mark(f"c2's link cut ({cut:.0f} s)")
    t_flap = None
    for k in range(flaps):
        x.at(p2 + 3 + 2 * k)
        x.net.cut("n")
        t = x.mark(f"n's link down (flap {k + 1}/{flaps})")
        t_flap = t_flap or t
        x.at(p2 + 4 + 2 * k)
        x.net.restore("n")
        t_flap_end = x.mark("n's link up")
    x.at(p2 + 3 + cut)
    x.net.restore("c2")
    t_front_end = x.mark("c2's link up")
    x.at(p2 + 3 + max(cut, 2 * flaps) + recover)
    tell("stop", (c1, ("flap-L", "flap-V")), (c2, ("front-L", "front-V")), relayed)
    x.mark("load stopped; draining")
    for c in (c1, c2, c3, c4):
        for name in ([e for e in c.of("ready")][0]["sessions"]):  # type: ignore[index]
            c.wait_for(lambda e, n=name: e.get("ev") == "closed" and e.get("s") == n,
                       roles.worst_case_s(profile) * 2 + 60, f"{name} closed")
    x.mark("drained")
    deaths = x.deaths()
    for name in ("relay-lat", "relay-loss"):
        x.procs[name].send("quit")
        x.procs[name].wait_for(lambda e: e.get("ev") == "done", 10, "relay done")
    seen = x.seen()

    rows = []
    for fault, path, window, base in (
        (f"link cut {cut:.0f} s", "direct", (t_cut, t_restore), "cut"),
        (f"{dropped} {cut:.0f} s", "direct", (t_drop, t_drop_end), "drop"),
        (f"flap {flaps}× (1 s down, 1 s up)", "direct", (t_flap, t_flap_end), "flap"),
        (f"client link cut {cut:.0f} s", "broker", (t_front, t_front_end), "front"),
        (f"worker partitioned {cut:.0f} s", "broker", (t_part, t_heal), "part"),
    ):
        for client, suffix in (("legacy", "L"), ("v2", "V")):
            rows.append(session_row(Row(fault, path, client, f"{base}-{suffix}", window), x.procs[
                {"cut": "c1", "drop": "c4", "flap": "c1", "front": "c2", "part": "c2"}[base]], seen))
    # The broker's own view of the partition: when it counted w1 dead, when w1 announced again.
    wk = broker.of("workers")
    dead_at = [float(e["t"]) for e in wk if float(e["t"]) >= t_part and int(e["workers"]) < 2]  # type: ignore[arg-type]
    back_at = [float(e["t"]) for e in wk if float(e["t"]) >= t_heal and int(e["workers"]) == 2]  # type: ignore[arg-type]
    note = "the broker counts w1 dead; back: w1 announced again (READY)"
    if "w1" in deaths:
        note += f"; **{deaths['w1']}**"
    rows.append(Row(f"worker partitioned {cut:.0f} s", "broker", "broker", window=(t_part, t_heal),
                    detect=dead_at[0] - t_part if dead_at else None,
                    back=back_at[0] - t_heal if back_at else None, notes=note))
    resets = sum(int(e.get("resets", 0)) for e in x.procs["relay-loss"].of("done"))  # type: ignore[arg-type]
    stalls = sum(int(e.get("stalls", 0)) for e in x.procs["relay-loss"].of("done"))  # type: ignore[arg-type]
    for fault, base, note in (
        ("latency +50 ms per chunk each way", "lat", ""),
        ("loss: 5 % of chunks held 400 ms, resets every 2–6 s", "loss", f"{resets} resets, {stalls} stalls; "),
    ):
        for client, suffix in (("legacy", "L"), ("v2", "V")):
            r = session_row(Row(fault, "relay", client, f"{base}-{suffix}"), c3, seen)
            r.notes = note + f"answer p50 {fmt(r.p50, 'ms')}, p95 {fmt(r.p95, 'ms')}"
            rows.append(r)
    for r in rows:
        if r.ran_after_failing:
            r.notes = (r.notes + "; " if r.notes else "") + f"{r.ran_after_failing} failed requests ran afterwards"
        if r.client != "broker" and r.failed:
            top = "; ".join(f"{n}× {m}" for m, n in r.errors.most_common(2))
            r.notes = (r.notes + "; " if r.notes else "") + f"errors: {top}"
    setup = dict(profile=profile, options=roles.PROFILES[profile], worst_case_s=roles.worst_case_s(profile),
                 attempt_s=roles.attempt_s(profile), cut_s=cut, flaps=flaps,
                 partition=how, deaths=deaths, t_heal=round(t_heal - x.t0, 2),
                 workers=[(round(float(e["t"]) - x.t0, 2), e["workers"], e["dead"]) for e in wk],  # type: ignore[arg-type]
                 marks=[(round(t - x.t0, 2), m) for t, m in x.marks])
    return Results(profile, rows, setup, time.monotonic() - started)


def run_stranded(cut: float = 8, wait_after: float = 25, orphan_retries: Optional[int] = 1,
                 log: Callable[[str], None] = print) -> Results:
    """Two idle workers partitioned from their broker; one with heartbeats on its link. With
    ``orphan_retries`` None the broker's namespace keeps the kernel's default (then a partition
    longer than about 110 s shows the same)."""
    started = time.monotonic()
    x = Experiment("strand", dict(b=1, w0=11, whb=12, c=101), log)
    try:
        front, back = x.ep("b", 7085), x.ep("b", 7086)
        broker = x.start("b", "b", ["broker", "--front", front, "--back", back])
        x.start("w0", "w0", ["worker", "--connect", back])
        x.ready()
        broker.wait_for(lambda e: e.get("ev") == "workers" and e.get("workers") == 1, 30, "worker w0")
        x.start("whb", "whb", ["worker", "--connect", back, "--heartbeats"])
        x.ready()
        broker.wait_for(lambda e: e.get("ev") == "workers" and e.get("workers") == 2, 30, "worker whb")
        # The broker's kernel forgets an orphaned connection after one retransmission (default:
        # 8, about 100 s): the same as a partition longer than that, in a few seconds.
        if orphan_retries is not None:
            x.net.sysctl("b", "net.ipv4.tcp_orphan_retries", str(orphan_retries))
        x.t0 = time.monotonic()
        x.at(1)
        x.net.partition("w0", "b")
        x.net.partition("whb", "b")
        t_part = x.mark(f"w0 and whb partitioned from b ({cut:.0f} s)")
        x.at(1 + cut)
        x.net.heal("w0", "b")
        x.net.heal("whb", "b")
        t_heal = x.mark("healed")
        # Which worker is which at the broker: the broker does not say; a request through the
        # broker tells (workers answer, and log, what they see).
        end = t_heal + wait_after
        # Long enough for a worker with the default options (a heartbeat every 5 s; no traffic
        # 15 s after one closes the link): its link is closed at the latest 5 + 15 s after the
        # partition began, then it connects again and announces itself.
        earliest = t_part + 5 + 15 + 2.5
        while time.monotonic() < end:
            wk = broker.of("workers")
            if time.monotonic() >= earliest and wk and int(wk[-1]["workers"]) == 2:  # type: ignore[arg-type]
                break
            time.sleep(0.1)
        x.mark("waited for the workers")
        # Which of them came back: a v2 client sends 20 requests through the broker.
        c = x.start("c", "c", ["client", "--profile", "fast", "--interval", "0.05", "--window", "4",
                              "--session", f"probe,v2,{front}"])
        c.wait_for(lambda e: e.get("ev") == "ready", 30, "client ready")
        c.send("go probe")
        c.wait_for(lambda e: e.get("ev") in ("ok", "fail") and e.get("n") == 20, 60, "20 requests done")
        c.send("stop probe")
        c.wait_for(lambda e: e.get("ev") == "closed", 30, "client closed")
        waited = time.monotonic() - t_heal
        deaths = x.deaths()
        wk = broker.of("workers")
        dead_at = [float(e["t"]) for e in wk if float(e["t"]) >= t_part and int(e["dead"]) >= 2]  # type: ignore[arg-type]
        # The broker does not say which worker announced itself, only how many are there: a
        # worker that served requests after the heal is back, and it was back when the broker
        # first counted as many workers as served.
        served = {w: len(x.procs[w].of("req")) for w in ("w0", "whb")}
        count_back = sum(1 for n in served.values() if n)
        ups = [(float(e["t"]) - t_heal, int(e["workers"])) for e in wk if float(e["t"]) >= t_heal]  # type: ignore[arg-type]
        back = next((t for t, n in ups if n >= count_back), None) if count_back else None
        rows = []
        for name, label in (("w0", "default options"), ("whb", "heartbeats 1 s / 3 s on its link")):
            gave_up = "then the broker's TCP gave up" if orphan_retries is not None else "default TCP"
            rows.append(Row(f"idle worker partitioned {cut:.0f} s, {gave_up}", "broker",
                            f"worker, {label}", session=name, window=(t_part, t_heal),
                            detect=(dead_at[0] - t_part) if dead_at else None,
                            back=back if served[name] else None, answered=served[name],
                            notes=deaths.get(name, f"served {served[name]} of the 20 requests sent after the heal")))
        rows.append(Row("", "", "client", session="probe", notes=", ".join(
            f"{len(c.of(k, 'probe'))} {k}" for k in ("ok", "fail"))))
        return Results("fast", rows, dict(workers_after_heal=ups, waited=waited, probes=20, deaths=deaths),
                       time.monotonic() - started)
    finally:
        left = x.close()
        if left:
            log(f"could not delete: {left}")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description="Network faults in network namespaces: prints the result table.")
    p.add_argument("--profile", choices=sorted(roles.PROFILES), default="fast")
    p.add_argument("--cut", type=float, default=8, help="seconds each cut and partition lasts")
    p.add_argument("--flaps", type=int, default=4)
    p.add_argument("--recover", type=float, default=6, help="seconds of load after each fault")
    p.add_argument("--no-stranded", action="store_true", help="skip the stranded-worker experiment")
    p.add_argument("--stranded-cut", type=float, default=8, help="seconds the stranded workers are partitioned")
    p.add_argument("--orphan-retries", default="1",
                   help="tcp_orphan_retries in the broker's namespace for the stranded workers ('default': the kernel's)")
    p.add_argument("--verbose", action="store_true", help="print the broker's worker counts and the notaries' counters")
    args = p.parse_args(argv)
    ok, why = netns.permitted()
    if not ok:
        print(f"skipped: {why}")
        return 0
    netns.remove_stale()
    print(f"main experiment (client options: {args.profile}; {roles.PROFILES[args.profile]})", file=sys.stderr)
    res = run_main(args.profile, args.cut, args.flaps, args.recover, log=lambda s: print(s, file=sys.stderr))
    print(table(res))
    print(f"\n(main experiment: {res.duration:.0f} s; a request's worst case with these options: "
          f"{res.setup['worst_case_s']:.1f} s)")
    if args.verbose:
        for k in ("workers", "marks", "counters"):
            print(k, res.setup[k], file=sys.stderr)
    if not args.no_stranded:
        retries = None if args.orphan_retries == "default" else int(args.orphan_retries)
        st = run_stranded(args.stranded_cut, orphan_retries=retries, log=lambda s: print(s, file=sys.stderr))
        print()
        print(stranded_table(st))
    return 0


if __name__ == "__main__":
    sys.exit(main())
