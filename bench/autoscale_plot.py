#!/usr/bin/python3
"""The autoscaling run of tests/e2e/autoscale_ramp.sh, drawn.

    autoscale_plot.py OUT_DIR [PNG]

OUT_DIR is the directory the test was given (timeline.csv, ops.jsonl).
Top: the load kvbench offered and the request rate the nodes gossiped,
with the number of nodes on the ring (right axis). Bottom: the p50 and p99
latency of kvcheck's requests (the fault checker's workload, which ran the
whole time) over 5-second windows. Writes PNG (default
docs/autoscaling.png).
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display on CI machines
import matplotlib.pyplot as plt  # noqa: E402

WINDOW_S = 5


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else None


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    png = sys.argv[2] if len(sys.argv) == 3 else "docs/autoscaling.png"
    with open(os.path.join(out_dir, "timeline.csv")) as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    ops = []
    with open(os.path.join(out_dir, "ops.jsonl")) as f:
        for line in f:
            try:
                ops.append(json.loads(line))
            except ValueError:
                pass  # a torn last line
    # The timeline counts seconds from its first sample; kvcheck's requests
    # carry wall-clock ms. The first sample came right after kvcheck started.
    t0 = min(op["start_ms"] for op in ops) / 1000 - rows[0]["t_s"]
    windows = {}
    for op in ops:
        if op["outcome"] != "ok":
            continue
        w = int((op["start_ms"] / 1000 - t0) // WINDOW_S)
        windows.setdefault(w, []).append(op["end_ms"] - op["start_ms"])
    xs = sorted(windows)

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    t = [r["t_s"] for r in rows]
    top.plot(t, [r["offered_ops"] for r in rows], color="#868e96",
             label="offered by kvbench (req/s)")
    top.plot(t, [r["gossiped_ops"] for r in rows], color="#1c7ed6",
             label="served, as the nodes gossip it (req/s)")
    top.set_ylabel("requests/s")
    nodes = top.twinx()
    nodes.step(t, [r["nodes"] for r in rows], where="post", color="#c92a2a",
               lw=2, label="nodes on the ring")
    nodes.set_ylabel("nodes")
    nodes.set_ylim(0, 6)
    lines = top.get_legend_handles_labels()
    more = nodes.get_legend_handles_labels()
    top.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left",
               fontsize=8)
    top.set_title("Autoscaling under a ramping load (3 -> 5 -> 3 nodes)")

    mid = [(w + 0.5) * WINDOW_S for w in xs]
    bottom.plot(mid, [percentile(windows[w], 0.50) for w in xs],
                color="#2b8a3e", label="kvcheck p50")
    bottom.plot(mid, [percentile(windows[w], 0.99) for w in xs],
                color="#f08c00", label="kvcheck p99")
    bottom.set_ylabel(f"latency (ms, {WINDOW_S} s windows)")
    bottom.set_xlabel("seconds")
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(png) or ".", exist_ok=True)
    fig.savefig(png, dpi=90)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
