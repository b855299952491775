"""Plots of bench/redis_compare.sh's sweep: throughput and p99 latency
against clients (unpipelined) and pipeline depth (50 clients), redis-server
and kvactors on the same charts.
    redis_plot.py OUT_DIR   (reads OUT_DIR/sweep.csv, writes two PNGs)"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/sweep.csv")))
names = {"redis": "redis-server (AOF everysec)", "kv1": "kvactors, 1 node",
         "kv3": "kvactors, 3 nodes N=3 R=W=2"}
styles = {"set": "-", "get": "--"}


def series(server, test, axis, field):
    if axis == "clients":
        chosen = [r for r in rows if r["pipeline"] == "1"]
    else:
        chosen = [r for r in rows if r["clients"] == "50"]
    chosen = [r for r in chosen if r["server"] == server and r["test"] == test]
    chosen.sort(key=lambda r: int(r[axis]))
    return [int(r[axis]) for r in chosen], [float(r[field]) for r in chosen]


for field, label, name in (("rps", "operations per second", "throughput"),
                           ("p99_ms", "p99 latency (ms)", "latency")):
    fig, panes = plt.subplots(1, 2, figsize=(11, 4.2))
    for pane, axis, title in ((panes[0], "clients", "unpipelined, by clients"),
                              (panes[1], "pipeline", "50 clients, by pipeline depth")):
        for server in ("redis", "kv1", "kv3"):
            for test in ("set", "get"):
                x, y = series(server, test, axis, field)
                if x:
                    pane.plot(x, y, styles[test], marker="o",
                              label=f"{names[server]} {test.upper()}")
        pane.set_xscale("log", base=2)
        pane.set_xlabel(axis)
        pane.set_ylabel(label)
        pane.set_title(title)
        pane.grid(True, alpha=0.3)
    panes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(f"{out}/redis-{name}.png", dpi=90)
print(f"plots in {out}/redis-throughput.png and {out}/redis-latency.png")
