#!/usr/bin/python3
"""Timeline of a faultcheck run, in the style of Jepsen's latency plots.

    faultplot.py RUN_DIR   reads ops.jsonl and events.jsonl, writes timeline.png

Top: every request's latency at its start time, by kind, coloured by outcome
(ok, failed, indeterminate). Bottom: requests and errors per second. Fault
windows are shaded and named in both.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display on CI machines
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"ok": "#2b8a3e", "failed": "#c92a2a", "indeterminate": "#f08c00"}
MARKERS = {"put": "o", "remove": "x", "set_read": "^", "set_write": "s"}


def read_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a run killed mid-line leaves a torn last line
    return out


def fault_windows(events, t0, t_end):
    """(start_s, end_s, label) per fault, paired by name and detail."""
    open_, out = {}, []
    for ev in events:
        key = (ev["name"], ev.get("detail", ""))
        if ev["type"] == "fault_start":
            open_.setdefault(key, []).append(ev["t_ms"])
        elif ev["type"] == "fault_end" and open_.get(key):
            start = open_[key].pop()
            out.append(((start - t0) / 1000, (ev["t_ms"] - t0) / 1000,
                        "%s %s" % key))
    for key, starts in open_.items():
        out += [((s - t0) / 1000, t_end, "%s %s" % key) for s in starts]
    return out


def main(run_dir):
    ops = read_lines(os.path.join(run_dir, "ops.jsonl"))
    events = read_lines(os.path.join(run_dir, "events.jsonl"))
    if not ops:
        print("faultplot: no operations in", run_dir, file=sys.stderr)
        return 1
    t0 = min(op["start_ms"] for op in ops)
    t_end = (max(op["end_ms"] for op in ops) - t0) / 1000
    fig, (lat, rate) = plt.subplots(2, 1, figsize=(14, 8), sharex=True,
                                    gridspec_kw={"height_ratios": [3, 1]})
    windows = fault_windows(events, t0, t_end)
    for i, (start, end, label) in enumerate(windows):
        for ax in (lat, rate):
            ax.axvspan(start, end, color="#868e96", alpha=0.15, lw=0)
        lat.text(start, 1.02 + 0.04 * (i % 3), label, fontsize=7,
                 transform=lat.get_xaxis_transform())
    for ev in events:
        if ev["type"] == "healed":
            for ax in (lat, rate):
                ax.axvline((ev["t_ms"] - t0) / 1000, color="#1c7ed6", lw=1)
    for kind, marker in MARKERS.items():
        for result, colour in COLOURS.items():
            xs, ys = [], []
            for op in ops:
                if op["kind"] == kind and op["outcome"] == result:
                    xs.append((op["start_ms"] - t0) / 1000)
                    ys.append(max(op["end_ms"] - op["start_ms"], 0.5))
            if xs:
                lat.scatter(xs, ys, s=6, c=colour, marker=marker, lw=0.5,
                            alpha=0.6, label="%s %s" % (kind, result))
    lat.set_yscale("log")
    lat.set_ylabel("latency (ms)")
    lat.legend(loc="upper right", fontsize=7, markerscale=2, ncol=4)
    seconds = int(t_end) + 1
    total, errors = [0] * seconds, [0] * seconds
    for op in ops:
        s = min(int((op["start_ms"] - t0) / 1000), seconds - 1)
        total[s] += 1
        errors[s] += op["outcome"] != "ok"
    rate.plot(range(seconds), total, color="#2b8a3e", lw=1, label="requests/s")
    rate.plot(range(seconds), errors, color="#c92a2a", lw=1, label="errors/s")
    rate.set_xlabel("time since the first request (s)")
    rate.set_ylabel("per second")
    rate.legend(loc="upper right", fontsize=7)
    summary = ""
    result_path = os.path.join(run_dir, "result.json")
    if os.path.exists(result_path):
        with open(result_path) as f:
            summary = json.load(f).get("summary", "")
    fig.suptitle(os.path.basename(os.path.normpath(run_dir)) + "\n" + summary,
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(run_dir, "timeline.png"), dpi=110)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
