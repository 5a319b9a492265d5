"""Faults on a real (virtual) network: broker, workers, notaries and clients each in a network
namespace of their own, links cut silently, flapped and partitioned, latency and loss added by a
userspace TCP relay (see ``scenario.py`` for the experiments and the definitions of the table's
columns). Run as root; skipped with the reason where network namespaces are not permitted.

The experiments run once per module (about a minute); each test asserts one property of their
results. Time bounds are generous: the machine is shared and noisy.
"""

from __future__ import annotations

import sys

import pytest

import netns

PERMITTED, WHY = netns.permitted()
if not PERMITTED:
    pytest.skip(f"network faults need network namespaces, not permitted here: {WHY}", allow_module_level=True)

import roles  # noqa: E402  (imports ot_transport: only once namespaces are known to work)
import scenario  # noqa: E402

PROFILE = "fast"
WORST = roles.worst_case_s(PROFILE)  # 14 s: a request's whole schedule with these options
SLACK = 10.0  # the machine is shared: every bound gets this much on top
MAX_RESENDS = roles.PROFILES[PROFILE]["max_resends"]
WORKERS = 2  # workers behind the broker in the main experiment


@pytest.fixture(scope="module")
def main() -> scenario.Results:
    netns.remove_stale()
    return scenario.run_main(PROFILE, log=lambda s: print(s, file=sys.stderr))


@pytest.fixture(scope="module")
def stranded() -> scenario.Results:
    return scenario.run_stranded(log=lambda s: print(s, file=sys.stderr))


def clients(res: scenario.Results, protocol: str = "") -> "list[scenario.Row]":
    return [r for r in res.rows if r.client in ("legacy", "v2") and (not protocol or r.client == protocol)]


def test_print_the_tables(main: scenario.Results, stranded: scenario.Results, capsys: pytest.CaptureFixture) -> None:
    with capsys.disabled():
        print(f"\n\nNetwork faults (client options {PROFILE!r}: {roles.PROFILES[PROFILE]}; "
              f"partition: {main.setup['partition']}; main experiment {main.duration:.0f} s)\n")
        print(scenario.table(main))
        print()
        print(scenario.stranded_table(stranded))
        print()


def test_nothing_is_left_behind(main: scenario.Results, stranded: scenario.Results) -> None:
    assert netns.namespaces_of_this_run() == []


def test_every_v2_request_is_answered_or_reported_failed(main: scenario.Results) -> None:
    rows = clients(main, "v2")
    assert len(rows) == 7
    for r in rows:
        assert r.sent > 0, r
        assert r.lost == 0, f"{r.fault} / {r.path}: {r.lost} v2 requests never reported"
        assert r.answered + r.failed == r.sent, r
        assert not r.anomalies, r.anomalies


def test_every_legacy_request_returns(main: scenario.Results) -> None:
    for r in clients(main, "legacy"):
        assert r.sent > 0, r
        assert r.lost == 0, f"{r.fault} / {r.path}: a legacy request() never returned"
        assert r.answered + r.failed == r.sent, r
        assert not r.anomalies, r.anomalies


def test_requests_seen_twice_stay_within_their_bounds(main: scenario.Results) -> None:
    for r in clients(main):
        if r.client == "v2" and r.path != "broker":
            # One notary: resends (same id, same bytes, from any connection) are answered from
            # its reply cache, never handed to the application again.
            assert r.twice == 0, f"{r.fault}: {r.twice} v2 requests reached the notary's application twice"
        elif r.client == "v2":
            # Behind a broker each worker has its own cache: at most once per worker.
            assert r.max_copies <= WORKERS, r
        else:
            # Legacy REQ resends are new requests to the notary: at most once per attempt.
            assert r.max_copies <= 1 + MAX_RESENDS, r


def test_every_request_finishes_within_its_schedule(main: scenario.Results) -> None:
    for r in clients(main):
        assert r.slowest <= WORST + SLACK, f"{r.fault} / {r.client}: a request took {r.slowest:.1f} s"


def test_a_dead_link_is_detected_in_bounded_time(main: scenario.Results) -> None:
    # The cuts last longer than the heartbeat limit (3 s + 3 s) and an attempt (1.75 s), so
    # every session must have reported a failure, and soon.
    cuts = [r for r in clients(main) if "link cut" in r.fault or "dropped" in r.fault]  # 3 faults x 2 clients
    assert len(cuts) == 6
    for r in cuts:
        assert r.detect is not None, f"{r.fault} / {r.path} / {r.client}: nothing failed during the cut"
        assert r.detect <= WORST + SLACK, r
    broker = main.row(next(r.fault for r in main.rows if r.client == "broker"), "broker")
    # The broker's backend heartbeats: 1 s interval, dead after 3 s.
    assert broker.detect is not None and broker.detect <= 3 + SLACK, broker


def test_sessions_recover_when_the_link_comes_back(main: scenario.Results) -> None:
    for r in clients(main):
        if r.window is None or "partitioned" in r.fault:
            continue
        assert r.back is not None and r.back <= 20, f"{r.fault} / {r.client}: back after {r.back}"
        assert r.answered_after >= 5, f"{r.fault} / {r.client}: {r.answered_after} answers after the fault"


def test_short_flaps_cost_no_request(main: scenario.Results) -> None:
    # 1 s down is shorter than the heartbeat limit and an attempt: TCP retransmits, nothing fails.
    flaps = [r for r in clients(main) if r.fault.startswith("flap")]
    assert len(flaps) == 2
    for r in flaps:
        assert r.failed == 0 and r.answered == r.sent, r


def test_latency_and_loss_through_the_relay(main: scenario.Results) -> None:
    for r in clients(main):
        if r.path != "relay":
            continue
        if r.client == "v2":
            # Resets are reconnects: the session resends at once, the cache answers.
            assert r.failed == 0, r
        else:
            assert r.answered >= 0.9 * r.sent, r
        if r.fault.startswith("latency"):
            assert r.p50 is not None and r.p50 >= 0.1, r  # 2 x 50 ms: the relay did delay


@pytest.mark.xfail(
    strict=False,
    reason="mostly fixed, one case left: a v2 request reported failed while the connection was down no longer "
    "goes out later (the session now drops the connection with everything libzmq queued for it, counter "
    "`renewals`: every failed request ran afterwards before, at most one per cut now). What can remain is a "
    "request already written to the kernel's TCP buffer when the link died: libzmq closes a dead connection "
    "without a reset, so the kernel retransmits it when the link returns, and a notary whose side of the "
    "connection is still open reads it",
)
def test_a_v2_request_reported_failed_does_not_run_afterwards(main: scenario.Results) -> None:
    rows = [r for r in clients(main, "v2") if r.path == "direct" and r.window is not None and r.failed]
    assert rows
    for r in rows:
        assert r.ran_after_failing == 0, f"{r.fault}: {r.ran_after_failing} of {r.failed} failed requests ran afterwards"


def test_a_worker_with_heartbeats_rejoins_after_a_long_partition(stranded: scenario.Results) -> None:
    w = next(r for r in stranded.rows if r.session == "whb")
    assert w.detect is not None and w.detect <= 3 + SLACK, w
    assert w.answered > 0 and w.back is not None and w.back <= 20, w


@pytest.mark.xfail(
    strict=False,  # the crash needs the broker's retransmission to arrive while the run lasts: most runs
    reason="library bug (through a libzmq assertion): when a worker's partition heals, the broker's kernel "
    "delivers the requests and PINGs it had queued, then resets the connection the broker had closed; the "
    "worker's 4-message receive limit is full by then and libzmq aborts the worker process (assert "
    "!_io_error, stream_engine_base.cpp:331). test_reset_burst.py reproduces it deterministically",
)
def test_no_process_dies(main: scenario.Results, stranded: scenario.Results) -> None:
    assert main.setup["deaths"] == {} and stranded.setup["deaths"] == {}


@pytest.mark.xfail(
    strict=False,
    reason="open: a worker's link now runs ZMTP heartbeats by default (5 s / dead after 15 s), yet in these "
    "runs the idle worker with default options still served none of the requests sent 22 s after its "
    "partition began, while one with 1 s / 3 s heartbeats was back 0.2 s after the heal; not explained yet",
)
def test_an_idle_worker_with_default_options_rejoins_after_a_long_partition(stranded: scenario.Results) -> None:
    w = next(r for r in stranded.rows if r.session == "w0")
    assert w.answered > 0 and w.back is not None, f"the worker never came back ({stranded.setup['waited']:.0f} s)"
