#!/usr/bin/env python3
"""Writes a log-log SVG plot of bench/scale.sh's data: seconds of log,
files, check and run against recorded actions.  Each data line is
"actions log files check rss_mib run".  No dependencies."""
import math
import sys

rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
W, H, L, B = 560, 360, 60, 40
xs = [r[0] for r in rows]
SERIES = [("log", 1, "#1f77b4"), ("files", 2, "#2ca02c"),
          ("check", 3, "#d62728"), ("run", 5, "#9467bd")]
ys = [max(r[i], 0.005) for r in rows for _, i, _ in SERIES]
x0, x1 = math.log10(min(xs)), math.log10(max(xs))
y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
X = lambda v: L + (math.log10(v) - x0) / max(x1 - x0, 1e-9) * (W - L - 20)
Y = lambda v: H - B - (math.log10(max(v, 0.005)) - y0) / max(y1 - y0, 1e-9) * (H - B - 20)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<line x1="{L}" y1="{H-B}" x2="{W-20}" y2="{H-B}" stroke="black"/>',
       f'<line x1="{L}" y1="20" x2="{L}" y2="{H-B}" stroke="black"/>']
for e in range(int(x0), int(x1) + 1):
    out.append(f'<text x="{X(10**e):.0f}" y="{H-B+15}" text-anchor="middle">1e{e}</text>')
for e in range(int(y0), int(y1) + 1):
    out.append(f'<text x="{L-5}" y="{Y(10**e)+4:.0f}" text-anchor="end">{10**e:g} s</text>')
out.append(f'<text x="{(W+L)/2:.0f}" y="{H-5}" text-anchor="middle">recorded actions</text>')
for k, (name, i, col) in enumerate(SERIES):
    pts = " ".join(f"{X(r[0]):.1f},{Y(r[i]):.1f}" for r in rows)
    out.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
    out.append(f'<text x="{L+10}" y="{30+14*k}" fill="{col}">{name}</text>')
out.append('</svg>')
open(sys.argv[2], "w").write("\n".join(out) + "\n")
