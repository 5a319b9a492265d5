#!/usr/bin/env python3
"""Turns the benchmark TSVs into ratios.svg and summary.md (standard library only).

Reads from BENCH_OUT_DIR (default: bench/results next to this file):
  crypto.tsv     bench_crypto    ours vs OpenSSL per operation
  transport.tsv  bench_transport ours vs bare libzmq (tcp loopback)
  legacy.tsv     bench_transport ot_session_request vs the legacy pipeline on OpenSSL + libzmq
  scaling.tsv    bench_scaling   seal+open vs payload size and recipient count
  v2.tsv         bench_v2        transport v2: exchange vs bare DEALER/ROUTER, pipelined requests, attack
  scaleout.tsv   bench_scaleout  requests/s through the broker with 1, 2, 4 workers
  forward.tsv    bench_forward   the broker's forwarding rate vs zmq_proxy
  v3.tsv         bench_v3        suite v3 vs OpenSSL EVP and libsodium
  stream.tsv     bench_stream    streaming envelopes vs libsodium secretstream, RSS of a 4 GiB stream
  push.tsv       bench_push      push fan-out to N subscribers
  notary_threads.tsv  bench_notary_threads  one notary served by 1 vs 2 application threads
  curve.tsv      bench_curve     transport v2 with vs without CURVE
  rogue.tsv      bench_rogue     honest clients through a broker, calm vs rogue backend peers
  meta_*.tsv     library versions the programs ran with; meta_run.tsv: load average before/after
Writes to the same folder:
  ratios.svg     horizontal bars of every ratio (log2 axis, a line at 1.0), drawn by hand as SVG
  summary.md     Markdown tables of every row, plus the machine description
  readme.md      the block scripts/bench puts between README.md's BENCH-TABLE markers (the machine
                 line and the main tables, made from the same rows)
"""
import csv
import datetime
import math
import os
import platform
import sys
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("BENCH_OUT_DIR") or os.path.join(HERE, "results")


def read_tsv(name):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def machine():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info.setdefault("cpu", platform.processor() or "unknown")
    info["nproc"] = str(os.cpu_count() or "?")
    for prog in ("crypto", "transport", "scaling", "engine"):
        for row in read_tsv("meta_%s.tsv" % prog) or []:
            info.setdefault(row["key"], row["value"])
    for row in read_tsv("meta_run.tsv") or []:
        info.setdefault(row["key"], row["value"])
    for row in read_tsv("meta_stream.tsv") or []:
        info.setdefault(row["key"], row["value"])
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info["kernel"] = platform.release()
    return info


def machine_line(m):
    """One line naming the machine, the load and the references, for the summary and the README."""
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    return ("Measured %s on %s, %s vCPU (kernel %s; load average %s before the run, %s after); against %s, "
            "libzmq %s, libsodium %s; RSA engine: %s.%s" % (
                m.get("date"), m.get("cpu"), m.get("nproc"), m.get("kernel"), m.get("load_before", "?"),
                m.get("load_after", "?"), m.get("openssl", "OpenSSL ?"), m.get("libzmq", "?"),
                m.get("libsodium", "?"), m.get("rsa_engine", "?"),
                " **BENCH_QUICK=1 smoke run: short rounds, noisy numbers.**" if quick else ""))


def kib(n):
    n = int(n)
    return "%d MiB" % (n // 1048576) if n >= 1048576 and n % 1048576 == 0 else "%d KiB" % (n // 1024)


def fmt(v, digits=3):
    v = float(v)
    if v >= 1000:
        return "%.0f" % v
    if v >= 100:
        return "%.1f" % v
    return ("%%.%dg" % digits) % v


# ------------------------------------------------------------------ chart


def svg_chart(rows, path):
    """rows: list of (section, label, ratio). Bars grow from the 1.0 line on a log2 axis."""
    ratios = [r for _, _, r in rows if r > 0]
    if not ratios:
        return False
    lo = min(0.5, 2 ** math.floor(math.log2(min(ratios))))
    hi = max(2.0, 2 ** math.ceil(math.log2(max(ratios))))
    label_w, plot_w, right, row_h, top = 330, 560, 70, 18, 64
    sections = []
    for s, _, _ in rows:
        if s not in sections:
            sections.append(s)
    n_lines = len(rows) + len(sections)
    height = top + n_lines * row_h + 50
    width = label_w + plot_w + right

    def x(v):
        return label_w + (math.log2(v) - math.log2(lo)) / (math.log2(hi) - math.log2(lo)) * plot_w

    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">' % (width, height, width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="%d" y="22" font-size="15" font-weight="bold">ot-transport speed relative to the reference '
        "(log2 scale)</text>" % 10,
        '<text x="10" y="40" fill="#444">crypto: ours / OpenSSL; transport: ours / bare libzmq (req/s). '
        "Right of 1.0 = ours faster.</text>",
    ]
    bottom = top + n_lines * row_h
    k = math.log2(lo)
    while k <= math.log2(hi) + 1e-9:
        v = 2 ** k
        xv = x(v)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (xv, top - 6, xv, bottom))
        lab = ("%g" % v) if v >= 1 else "1/%g" % (1 / v)
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%s</text>' % (xv, bottom + 16, lab))
        k += 1
    y = top
    for s in sections:
        out.append('<text x="10" y="%d" font-weight="bold">%s</text>' % (y + 13, escape(s)))
        y += row_h
        for sec, label, r in rows:
            if sec != s:
                continue
            x1 = x(1.0)
            xr = x(min(max(r, lo), hi))
            color = "#2e7d32" if r >= 1 else "#d84315"
            left, w = (x1, xr - x1) if r >= 1 else (xr, x1 - xr)
            out.append('<text x="22" y="%d">%s</text>' % (y + 13, escape(label)))
            out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' % (left, y + 3, max(w, 1), row_h - 6, color))
            tx = xr + 4 if r >= 1 else xr - 4
            anchor = "start" if r >= 1 else "end"
            out.append('<text x="%.1f" y="%d" text-anchor="%s" font-size="11">%s</text>' % (tx, y + 13, anchor, fmt(r)))
            y += row_h
    x1 = x(1.0)
    out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-width="1.5"/>' % (x1, top - 8, x1, bottom))
    out.append('<text x="%.1f" y="%d" text-anchor="middle" font-weight="bold">1.0</text>' % (x1, top - 12))
    out.append('<text x="%d" y="%d" fill="#444">ratio (speed)</text>' % (label_w + plot_w / 2 - 40, bottom + 34))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return True


# ------------------------------------------------------------------ the other programs' rows


def verdict(ratio, target):
    return "✓" if ratio >= target else "✗"


def sections(v2, scaleout, v3, stream, push, threads, curve, rogue, chart):
    """Markdown for bench_v2, bench_scaleout, bench_v3, bench_stream, bench_push,
    bench_notary_threads, bench_curve and bench_rogue; adds their ratios to `chart`."""
    md = []
    if v3:
        md.append("## Suite v3: ours vs OpenSSL EVP and libsodium (same process, interleaved)")
        md.append("")
        md.append("| operation | ours /s | OpenSSL /s | libsodium /s | ratio vs the faster reference | target |")
        md.append("|---|---:|---:|---:|---:|---|")
        for r in v3:
            ratio, target = float(r["ratio"]), float(r["target"])
            refs = [fmt(r[k]) if float(r[k]) > 0 else "-" for k in ("openssl_ops", "libsodium_ops")]
            if r["best_ref"].startswith("RSA"):
                tgt = "≥ %g× RSA-2048 requests" % target if target > 0 else "-"
            else:
                tgt = "≥ %.2f %s" % (target, verdict(ratio, target)) if target > 0 else "-"
            md.append("| %s | %s | %s | %s | **%.3f** (%s) | %s |" % (
                r["op"], fmt(r["ours_ops"]), refs[0], refs[1], ratio, r["best_ref"], tgt))
            if not r["best_ref"].startswith("RSA"):
                chart.append(("suite v3 (vs the faster of OpenSSL and libsodium)", r["op"], ratio))
        md.append("")
        md.append("Ed25519 rows: ours is a whole `ot_signed_create` / `ot_signed_verify` (text built and parsed), "
                  "the references sign / verify the SHA256D digest only. seal / open: type-3 envelope to one "
                  "X25519 recipient vs `crypto_box_seal` / `crypto_box_seal_open` (docs/x25519-engine.md).")
        md.append("")
    if stream:
        md.append("## Streaming envelopes: ours vs libsodium crypto_secretstream_xchacha20poly1305 (64 KiB chunks)")
        md.append("")
        md.append("| row | ours | reference | unit | ratio | target |")
        md.append("|---|---:|---:|---|---:|---|")
        for r in stream:
            if r["ratio"] in ("-", ""):
                md.append("| %s | %s | whole process peak %s | %s | - | %s %s |" % (
                    r["row"], fmt(r["ours"]), fmt(r["reference"]), r["unit"], r["target"],
                    "✓" if r["verdict"] == "met" else "✗"))
            else:
                ratio = float(r["ratio"])
                md.append("| %s | %s | %s | %s | **%.3f** | ≥ %s %s |" % (
                    r["row"], fmt(r["ours"]), fmt(r["reference"]), r["unit"], ratio, r["target"],
                    verdict(ratio, float(r["target"]))))
                chart.append(("streaming (vs libsodium secretstream, MiB/s)", r["row"], ratio))
        md.append("")
        md.append("seal / open: a 16 MiB stream to one X25519 recipient, fed in 1 MiB pieces (ours: "
                  "ot_stream_seal/open_update into a reused area; libsodium: push / pull of each 64 KiB chunk). "
                  "RSS: a fresh child process seals a stream in 256 KiB pieces and opens it as it goes; the row "
                  "is its peak RSS over what it held before the stream (shared libraries included in both).")
        md.append("")
    if v2:
        md.append("## Transport v2 (DEALER/ROUTER), pipelining and the garbage attack")
        md.append("")
        md.append("| row | ours | bare libzmq | ratio | max latency ms |")
        md.append("|---|---:|---:|---:|---:|")
        for r in v2:
            ratio = r.get("ratio", "-")
            md.append("| %s | %s | %s | %s | %s |" % (
                r["row"], fmt(r["ours"]), r["libzmq"] if r["libzmq"] == "-" else fmt(r["libzmq"]),
                "-" if ratio in ("-", "") else "**%.3f**" % float(ratio),
                r.get("max_latency_ms") or "-"))
            if ratio not in ("-", ""):
                chart.append(("transport v2 (vs bare libzmq DEALER/ROUTER)", r["row"], float(ratio)))
        md.append("")
        md.append("exchange_1k_1: ot_session_exchange (v2, 1 in flight, no crypto) vs bare DEALER/ROUTER; "
                  "pipelined_1k_N: ot_session_send_frame + ot_session_receive with N in flight (no crypto) vs the "
                  "bare DEALER pipelining; "
                  "request_1k_inflight_N: RSA-2048 v2 requests per s with N in flight; attack_*: 4 honest "
                  "clients' req/s, calm and with a garbage frame every 100 ms, ROUTER notary vs a legacy-style REP.")
        md.append("")
    if scaleout:
        md.append("## Scale-out through the broker (RSA-2048 notary, 8 v2 clients × 4 in flight)")
        md.append("")
        md.append("| row | req/s | ratio to 1 worker | mean latency ms |")
        md.append("|---|---:|---:|---:|")
        for r in scaleout:
            md.append("| %s | %s | %s | %s |" % (r["row"], r["req_per_s"] if r["req_per_s"] == "-" else fmt(r["req_per_s"]),
                                               r["ratio_to_1_worker"], r["mean_latency_ms"]))
        md.append("")
        md.append("![scale-out](scaleout.svg)")
        md.append("")
    if push:
        md.append("## Push fan-out: one push to N subscribers (notary side, tcp loopback)")
        md.append("")
        md.append("| keys | subscribers | pushes/s | deliveries/s | µs per delivery | one signature per subscriber: pushes/s | gain |")
        md.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in push:
            md.append("| %s | %s | %s | %s | %s | %s | **%.2f×** |" % (
                r["suite"], r["subscribers"], fmt(r["pushes_per_s"]), fmt(r["deliveries_per_s"]),
                fmt(r["us_per_delivery"]), fmt(r["one_sig_per_subscriber_pushes_per_s"]), float(r["gain"])))
        md.append("")
        md.append("ot_notary_push of a 1 KiB MESSAGE: signed once per push, sealed to each subscriber. The "
                  "one-signature-per-subscriber column adds (N − 1) signatures per push at the signing rate "
                  "measured in the same run (what signing per subscriber would cost).")
        md.append("")
    if threads:
        rate = {(r["suite"], r["threads"]): float(r["requests_per_s"]) for r in threads}
        md.append("## One notary, 1 vs 2 application threads (tcp loopback, 4 clients × 16 in flight)")
        md.append("")
        md.append("| row | 1 thread /s | 2 threads /s | 2 / 1 |")
        md.append("|---|---:|---:|---:|")
        names = {"openssl_sign": "OpenSSL RSA-2048 sign (the machine's ceiling)",
                 "rsa2048": "notary requests, RSA-2048", "v3": "notary requests, suite v3"}
        for suite in ("openssl_sign", "rsa2048", "v3"):
            one, two = rate.get((suite, "1")), rate.get((suite, "2"))
            if one and two:
                md.append("| %s | %s | %s | **%.2f** |" % (names[suite], fmt(one), fmt(two), two / one))
        md.append("")
    if curve:
        md.append("## Transport v2 with and without CURVE (same notary and session code, interleaved)")
        md.append("")
        md.append("| row | plain /s | CURVE /s | CURVE / plain |")
        md.append("|---|---:|---:|---:|")
        for r in curve:
            ratio = float(r["ratio"])
            md.append("| %s | %s | %s | **%.3f** |" % (r["row"], fmt(r["plain_per_s"]), fmt(r["curve_per_s"]), ratio))
            chart.append(("transport v2 with CURVE (vs the same without)", r["row"], ratio))
        md.append("")
    if rogue:
        md.append("## Honest clients through a broker, calm vs rogue backend peers (suite v3, 2 workers)")
        md.append("")
        md.append("| phase | honest req/s | ratio to calm | failed requests |")
        md.append("|---|---:|---:|---:|")
        for r in rogue:
            ratio = float(r["ratio_to_calm"])
            md.append("| %s | %s | **%.3f** | %s |" % (r["phase"], fmt(r["honest_per_s"]), ratio, r["failed"]))
            if r["phase"] != "calm":
                chart.append(("broker under rogue backend peers (vs calm)", r["phase"], ratio))
        md.append("")
    return md


def targets(crypto, transport, v2, scaleout, forward, v3):
    """Markdown: issue 19's targets, each computed from the rows of this run (never typed in)."""
    rows = []

    def add(name, ratio, target, source):
        if ratio is None:
            rows.append("| %s | not measured in this run | ≥ %g | %s |" % (name, target, source))
        else:
            rows.append("| %s | **%.3f** | ≥ %g %s | %s |" % (name, ratio, target, verdict(ratio, target), source))

    def crypto_ratio(group, op):
        for r in crypto or []:
            if r["group"] == group and r["op"] == op:
                return float(r["ratio"])
        return None

    def transport_ratio(impl, payload, clients):
        for r in transport or []:
            if (r["impl"], r["payload"], r["clients"], r["delay_after_ms"]) == (impl, payload, clients, "0"):
                return float(r["rps_ratio_vs_libzmq"])
        return None

    add("seal 1 MiB, one-shot, vs OpenSSL EVP_Seal", crypto_ratio("seal", "1MiB x1 one-shot"), 0.8, "crypto.tsv")
    add("open 1 MiB, one-shot, vs OpenSSL EVP_Open", crypto_ratio("open", "1MiB x1 one-shot"), 0.8, "crypto.tsv")
    for clients in ("1", "4"):
        add("exchange 64 KiB, %s client(s), vs bare REQ/REP" % clients,
            transport_ratio("exchange", "65536", clients), 0.95, "transport.tsv")
    for row, name in (("exchange_1k_1", "v2 exchange 1 KiB, 1 in flight"),
                      ("pipelined_1k_8", "v2 send_frame 1 KiB, 8 in flight"),
                      ("pipelined_1k_64", "v2 send_frame 1 KiB, 64 in flight")):
        ex = [r for r in v2 or [] if r["row"] == row and r.get("ratio") not in (None, "", "-")]
        add(name + ", no crypto, vs bare DEALER/ROUTER", float(ex[0]["ratio"]) if ex else None, 0.9, "v2.tsv")
    so = {r["row"]: r for r in scaleout or []}
    v3_ratio = None
    if "v3_direct" in so and "v3_broker_1_workers" in so:
        v3_ratio = float(so["v3_broker_1_workers"]["req_per_s"]) / float(so["v3_direct"]["req_per_s"])
    add("suite v3 through the broker, 1 worker, vs the same notary direct", v3_ratio, 0.9, "scaleout.tsv")
    fw = [r for r in forward or [] if r["row"] == "broker_vs_zmq_proxy_64b"]
    add("broker forwarding 64 B requests vs zmq_proxy (both 1000 messages per connection)",
        float(fw[0]["ratio"]) if fw else None, 0.8, "forward.tsv")
    op = [r for r in v3 or [] if (r.get("op") or "").startswith("v3 open")]
    add("suite v3 open 1 KiB vs libsodium crypto_box_seal_open", float(op[0]["ratio"]) if op else None, 0.9, "v3.tsv")
    md = ["## Issue 19 targets, from this run's rows", "",
          "| target | ratio | wanted | rows |", "|---|---:|---|---|"]
    md.extend(rows)
    md.append("")
    md.append("Streaming targets (throughput, RSS of a 4 GiB stream): the streaming section.")
    md.append("")
    return md


def forward_section(forward, chart):
    md = []
    if forward:
        md.append("## Broker forwarding vs zmq_proxy (4 DEALER clients × 32 in flight, 64-byte v2 requests, one echo worker)")
        md.append("")
        md.append("| row | broker /s | zmq_proxy /s | ratio |")
        md.append("|---|---:|---:|---:|")
        for r in forward:
            ratio = float(r["ratio"])
            md.append("| %s | %s | %s | **%.3f** |" % (r["row"], fmt(r["ours"]), fmt(r["reference"]), ratio))
            chart.append(("broker forwarding (vs zmq_proxy)", r["row"], ratio))
        md.append("")
        md.append("The same C clients and echo worker on both sides; zmq_proxy(ROUTER, DEALER) runs in a libzmq "
                  "context of its own, as the broker runs in the library's (bench/bench_forward.c). The broker "
                  "lets one connection queue ZMQ_RCVHWM = 32 MiB / max_message_size messages inside libzmq (a "
                  "bound in bytes on what a peer can park); zmq_proxy keeps libzmq's 1000 messages of any size. "
                  "broker_vs_zmq_proxy_64b gives the broker max_message_size 32 KiB (1000 messages too); "
                  "broker_default_limits_* keeps its default 8 MiB (4 messages per connection: a client with 32 "
                  "requests in flight waits on that bound).")
        md.append("")
    return md


def readme_block(m, crypto, legacy, transport, extra):
    """README.md's generated block: the machine line, the crypto and headline tables, then the
    other programs' sections (the same Markdown as summary.md)."""
    out = [machine_line(m), "",
           "Ratio = our speed / the reference's speed in the same interleaved run (> 1: we are faster). "
           "Every row below comes from `bench/results/summary.md` (written by `bench/plot.py`); "
           "`scripts/bench` rewrites this block.", ""]
    if crypto:
        out.append("| operation | ours | OpenSSL | unit | ratio |")
        out.append("|---|---:|---:|---|---:|")
        for r in crypto:
            out.append("| %s %s | %s | %s | %s | **%.3f** |" % (
                r["group"], r["op"], fmt(r["ours"]), fmt(r["openssl"]), r["unit"], float(r["ratio"])))
        out.append("")
        out.append("RSA-2048 unless stated; *one-shot* rows: `ot_envelope_seal_to_bytes` / `ot_envelope_open_bytes` "
                   "(the other seal/open rows: `ot_envelope_seal` + `ot_envelope_to_bytes`, `ot_envelope_parse` + "
                   "`ot_envelope_open`).")
        out.append("")
    if legacy:
        out.append("**Headline: a notary's request round trip** (`ot_session_request` against an `ot_notary` "
                   "thread, versus the same legacy pipeline written on OpenSSL's libcrypto + bare libzmq):")
        out.append("")
        out.append("| payload | clients | ours req/s | OpenSSL+libzmq req/s | req/s ratio |")
        out.append("|---|---:|---:|---:|---:|")
        for r in legacy:
            out.append("| %s | %s | %s | %s | **%.3f** |" % (
                kib(r["payload"]), r["clients"], fmt(r["request_rps"]), fmt(r["legacy_rps"]), float(r["rps_ratio"])))
        out.append("")
    if transport:
        out.append("Transport on tcp loopback (req/s ratio to bare libzmq REQ/REP, same payload and clients):")
        out.append("")
        out.append("| impl | payload | clients | delay_after ms | req/s | ratio to libzmq |")
        out.append("|---|---|---:|---:|---:|---:|")
        for r in transport:
            is_base = r["impl"] == "libzmq"
            out.append("| %s | %s | %s | %s | %s | %s |" % (
                r["impl"], kib(r["payload"]), r["clients"], r["delay_after_ms"], fmt(r["rps"]),
                "-" if is_base else "**%.4f**" % float(r["rps_ratio_vs_libzmq"])))
        out.append("")
    out.extend([line.replace("(scaleout.svg)", "(bench/results/scaleout.svg)").replace("## ", "#### ")
                for line in extra])
    out.append("![ratio per operation](bench/results/ratios.svg)")
    return out


# ------------------------------------------------------------------ main


def main():
    crypto = read_tsv("crypto.tsv")
    transport = read_tsv("transport.tsv")
    legacy = read_tsv("legacy.tsv")
    scaling = read_tsv("scaling.tsv")
    if not (crypto or transport or scaling):
        print("plot.py: no TSV found in %s (run scripts/bench first)" % OUT, file=sys.stderr)
        return 1
    m = machine()
    chart = []
    md = ["# ot-transport benchmark summary", ""]
    md.append("| machine | |")
    md.append("|---|---|")
    md.append("| CPU | %s |" % m.get("cpu"))
    md.append("| nproc | %s |" % m.get("nproc"))
    md.append("| OpenSSL | %s |" % m.get("openssl", "?"))
    md.append("| libzmq | %s |" % m.get("libzmq", "?"))
    md.append("| zlib | %s |" % m.get("zlib", "?"))
    md.append("| ot-transport | %s (RSA engine: %s) |" % (m.get("ot_transport", "?"), m.get("rsa_engine", "?")))
    md.append("| kernel | %s |" % m.get("kernel"))
    md.append("| date | %s |" % m.get("date"))
    md.append("| load average (1 min) before / after the run | %s / %s |" % (m.get("load_before", "?"), m.get("load_after", "?")))
    md.append("| libsodium | %s |" % m.get("libsodium", "?"))
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    md.append("| settings | BENCH_SECONDS=%s%s |" % (os.environ.get("BENCH_SECONDS", "default"), ", BENCH_QUICK=1 (smoke run, noisy)" if quick else ""))
    md.append("")
    md.append(machine_line(m))
    md.append("")
    md.append("Ratios are speed ratios: **> 1 means ot-transport is faster**. ![ratios](ratios.svg)")
    md.append("")

    if crypto:
        md.append("## Crypto: ot-transport vs %s (same process, interleaved rounds)" % m.get("openssl", "OpenSSL"))
        md.append("")
        md.append("| operation | ours | OpenSSL | unit | ratio ours/OpenSSL | per-round min-max |")
        md.append("|---|---:|---:|---|---:|---|")
        for r in crypto:
            label = "%s %s" % (r["group"], r["op"])
            ratio = float(r["ratio"])
            md.append("| %s | %s | %s | %s | **%.3f** | %.2f-%.2f |" % (
                label, fmt(r["ours"]), fmt(r["openssl"]), r["unit"], ratio,
                float(r["round_ratio_min"]), float(r["round_ratio_max"])))
            chart.append(("crypto (vs OpenSSL)", label, ratio))
        md.append("")
        md.append("RSA-2048 keys unless stated. seal = random AES-128 key + IV, RSA PKCS#1 v1.5 wrap per recipient, "
                  "AES-128-CBC, v1 layout bytes; open = parse + unwrap + decrypt. sign/verify = a whole OT signed "
                  "MESSAGE (SAMY + RSA-PSS max salt + armor). String armor = protobuf + zlib 9 + base64.")
        md.append("")

    if legacy:
        md.append("## Headline: a notary's request round trip, ot-transport vs the legacy pipeline on OpenSSL + libzmq")
        md.append("")
        md.append("request = ot_session_request against an ot_notary thread; legacy = the same pipeline written "
                  "directly on OpenSSL's libcrypto and bare libzmq (client: SAMY + RSA-PSS sign, EVP_Seal, armor, "
                  "send; notary: de-armor, EVP_Open, verify, sign, EVP_Seal, armor back; client: open + verify). "
                  "Same keys, payloads and rounds; one server thread each.")
        md.append("")
        md.append("| payload | clients | request req/s | legacy req/s | req/s ratio | request median us | legacy median us | median-latency ratio |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in legacy:
            md.append("| %s | %s | %s | %s | **%.3f** | %s | %s | %.3f |" % (
                kib(r["payload"]), r["clients"], fmt(r["request_rps"]), fmt(r["legacy_rps"]),
                float(r["rps_ratio"]), fmt(r["request_median_us"]), fmt(r["legacy_median_us"]),
                float(r["median_ratio"])))
            chart.append(("headline: ot_session_request vs the legacy pipeline on OpenSSL + libzmq (req/s)",
                          "request %s, %s client%s" % (kib(r["payload"]), r["clients"],
                                                       "" if r["clients"] == "1" else "s"),
                          float(r["rps_ratio"])))
        md.append("")

    if transport:
        md.append("## Transport: tcp loopback, ours vs bare libzmq REQ/REP")
        md.append("")
        md.append("Server side is **one thread** in every row (a bare libzmq REP echo thread for libzmq and exchange; "
                  "one ot_notary thread for request). Each client is its own thread and socket/session. "
                  "libzmq = bare REQ/REP echo; exchange = ot_session_exchange (raw frame) against the same echo "
                  "thread; request = ot_session_request (sign + seal + send, notary opens + verifies + signs + seals "
                  "the same payload back, client opens + verifies); legacy = that pipeline on OpenSSL + bare libzmq "
                  "(see the headline table).")
        md.append("")
        md.append("| impl | payload | clients | delay_after ms | requests | median us | p99 us | req/s | req/s ratio | median-latency ratio |")
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in transport:
            d = int(r["delay_after_ms"])
            ratio, lat = float(r["rps_ratio_vs_libzmq"]), float(r["median_ratio_vs_libzmq"])
            is_base = r["impl"] == "libzmq"
            md.append("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |" % (
                r["impl"], kib(r["payload"]), r["clients"], d, r["requests"], fmt(r["median_us"]),
                fmt(r["p99_us"]), fmt(r["rps"]),
                "-" if is_base else "**%.4f**" % ratio, "-" if is_base else "%.4f" % lat))
            if not is_base and d == 0 and r["impl"] != "legacy":
                chart.append(("transport: ot_session_exchange vs bare libzmq (req/s)" if r["impl"] == "exchange"
                              else "transport: full ot_session_request vs bare libzmq echo (req/s)",
                              "%s %s, %s client%s" % (r["impl"], kib(r["payload"]), r["clients"],
                                                      "" if r["clients"] == "1" else "s"), ratio))
        md.append("")
        md.append("Ratios are against the libzmq row of the same payload and client count; the delay_after = 50 rows "
                  "are against the same impl with delay_after = 0 (the cost of the legacy default pause).")
        md.append("")

    if scaling:
        md.append("## Seal + open scaling (ours vs OpenSSL side)")
        md.append("")
        md.append("| dimension | x | ours ms | OpenSSL ms | ratio ours/OpenSSL | ours per unit us | OpenSSL per unit us | ours measured/linear fit | OpenSSL measured/linear fit |")
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in scaling:
            isb = r["dimension"] == "bytes"
            md.append("| %s | %s | %s | %s | **%.3f** | %s | %s | %s | %s |" % (
                "payload (1 recipient)" if isb else "recipients (1 KiB)", kib(r["x"]) if isb else r["x"],
                fmt(r["ours_ms"]), fmt(r["openssl_ms"]), float(r["ratio"]),
                fmt(r["ours_per_unit_us"]), fmt(r["openssl_per_unit_us"]),
                r.get("ours_vs_fit", "-"), r.get("openssl_vs_fit", "-")))
        md.append("")
        md.append("Per unit = per KiB (payload rows) or per recipient. Linear fit t = a + b*x by relative least "
                  "squares over the rows of one dimension; a value far from 1.00 marks where the cost stops being "
                  "linear (small rows are noisy: one RSA private operation dominates them).")
        md.append("")

    v2 = read_tsv("v2.tsv")
    scaleout = read_tsv("scaleout.tsv")
    v3 = read_tsv("v3.tsv")
    stream = read_tsv("stream.tsv")
    push = read_tsv("push.tsv")
    threads = read_tsv("notary_threads.tsv")
    curve = read_tsv("curve.tsv")
    rogue = read_tsv("rogue.tsv")
    forward = read_tsv("forward.tsv")
    extra = sections(v2, scaleout, v3, stream, push, threads, curve, rogue, chart)
    extra += forward_section(forward, chart)
    extra += targets(crypto, transport, v2, scaleout, forward, v3)
    md.extend(extra)

    svg_path = os.path.join(OUT, "ratios.svg")
    if svg_chart(chart, svg_path):
        print("plot.py: wrote %s" % svg_path)
    with open(os.path.join(OUT, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("plot.py: wrote %s" % os.path.join(OUT, "summary.md"))
    readme = readme_block(m, crypto, legacy, transport, extra)
    with open(os.path.join(OUT, "readme.md"), "w") as f:
        f.write("\n".join(readme) + "\n")
    print("plot.py: wrote %s" % os.path.join(OUT, "readme.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
