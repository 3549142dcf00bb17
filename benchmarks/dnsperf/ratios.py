#!/usr/bin/env python3
"""Prints issue 6's ratios from a run_anchor.sh runs.tsv: for each petdns variant, medians over
the clean repetitions of CPU µs per answer at each fixed load, maximum QPS, p99 latency and RSS,
each divided by the better of NSD and Knot (RSS: by Knot's). A ratio below 1 is better than both.

Usage: ratios.py RESULTS_DIR   (the --out folder of run_anchor.sh)
"""
import csv
import statistics
import sys

BASELINES = ("nsd", "knot")


def load(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    clean = [r for r in rows if r.get("noisy", "0") == "0"]
    return clean or rows


def median(rows, server, load, field):
    values = []
    for r in rows:
        if r["server"] == server and r["load"] == load and r[field] not in ("", "-"):
            values.append(float(r[field]))
    return statistics.median(values) if values else None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = load(sys.argv[1] + "/runs.tsv")
    servers = sorted({r["server"] for r in rows} - set(BASELINES))
    loads = sorted({r["load"] for r in rows if r["load"] != "max"}, key=int)
    # (label, field, load, better is lower, baseline: "best" of both or "knot")
    measures = [(f"CPU µs/answer @ {l} QPS", "srv_us_per_answer", l, True, "best") for l in loads]
    measures += [(f"p99 ms @ {l} QPS", "p99_ms", l, True, "best") for l in loads]
    measures += [("max QPS", "qps", "max", False, "best"), ("RSS MB", "rss_mb", "max", True, "knot")]
    print("| measure | nsd | knot | " + " | ".join(servers) + " | " +
          " | ".join(f"{s} ratio" for s in servers) + " |")
    print("|---" * (3 + 2 * len(servers)) + "|")
    for label, field, load_, lower, against in measures:
        base = {b: median(rows, b, load_, field) for b in BASELINES}
        known = [v for v in base.values() if v is not None]
        if not known:
            continue
        if against == "knot":
            reference = base["knot"]
        else:
            reference = min(known) if lower else max(known)
        cells = [median(rows, s, load_, field) for s in servers]
        fmt = lambda v: "-" if v is None else (f"{v:.0f}" if v >= 1000 else f"{v:.2f}")
        ratios = ["-" if v is None or not reference else f"{v / reference:.2f}x" for v in cells]
        print(f"| {label} | {fmt(base['nsd'])} | {fmt(base['knot'])} | " +
              " | ".join(fmt(v) for v in cells) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main()
