#!/usr/bin/env python3
"""Plots bench_scaleout's results (BENCH_OUT_DIR/scaleout.tsv) as an SVG bar chart:
requests/s without a broker and through it with 1, 2 and 4 workers. Standard library only."""
import os
import sys

out_dir = os.environ.get("BENCH_OUT_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
path = os.path.join(out_dir, "scaleout.tsv")
if not os.path.exists(path):
    sys.exit("plot_scaleout: %s not found (run bench_scaleout first)" % path)
rows = []
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if f[0] in ("direct", "broker_1_workers", "broker_2_workers", "broker_4_workers"):
        rows.append((f[0], float(f[1])))
labels = {"direct": "no broker", "broker_1_workers": "1 worker", "broker_2_workers": "2 workers",
          "broker_4_workers": "4 workers"}
top = max(v for _, v in rows) * 1.15
W, H, left, bottom, bar = 520, 300, 60, 40, 70
svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
       '<text x="%d" y="18" font-size="14">Requests/s through the broker (RSA-2048 notary)</text>' % left]
for i, (k, v) in enumerate(rows):
    h = (H - bottom - 40) * v / top
    x = left + 20 + i * (bar + 40)
    y = H - bottom - h
    svg.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"/>' % (x, y, bar, h, "#999" if k == "direct" else "#3a7"))
    svg.append('<text x="%d" y="%.1f" text-anchor="middle">%.0f</text>' % (x + bar // 2, y - 4, v))
    svg.append('<text x="%d" y="%d" text-anchor="middle">%s</text>' % (x + bar // 2, H - bottom + 16, labels[k]))
svg.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (left, H - bottom, W - 10, H - bottom))
svg.append("</svg>")
open(os.path.join(out_dir, "scaleout.svg"), "w").write("\n".join(svg) + "\n")
print("plot_scaleout: wrote %s" % os.path.join(out_dir, "scaleout.svg"))
