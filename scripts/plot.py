#!/usr/bin/env python3
"""PNG plots of smmu-sim results (README, "Plots"). Needs Debian's python3-matplotlib.

  plot.py stats STATS.json [--out DIR]
      from a `run --stats` JSON: DIR/latency.png (latency histogram and CDF,
      all traffic and each device), DIR/caches.png (hit rate of each cache),
      DIR/invalidation.png (per invalidation path: the time from a change to
      its last CMD_SYNC, split into host software and SYNC waits) when the run
      had invalidations.
  plot.py sweep SWEEP.csv --x KEY --y METRIC [--y METRIC...] [--by KEY...] --out FILE.png
      from a `sweep --csv` (or `collect --csv`) table: each METRIC against the
      varied KEY, one line per value of the --by keys.
  plot.py vmids VMIDS.csv --out FILE.png
      from a `run --vmid-csv` table: VMIDs in use over time, a step line per
      SMMU instance and the total (docs/lifetime-study.md).

Prints each file it writes. Bad input: one line on stderr naming the file and
what is wrong, exit 2.
"""
import argparse
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display, no network
import matplotlib.pyplot as plt  # noqa: E402

# No version or date in the files: the same input gives the same PNG bytes.
PNG_METADATA = {"Software": None}


class BadInput(Exception):
    pass


def save(fig, path, make_dir=False):
    if make_dir and os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(fig)
    print("wrote " + path)


def histogram(latency, where):
    """The (latency ns, transactions) pairs of a latency_ns object, sorted."""
    h = latency.get("histogram") if isinstance(latency, dict) else None
    if not isinstance(h, dict):
        raise BadInput(where + ": no latency_ns.histogram (a stats JSON of smmu-sim run --stats?)")
    try:
        return sorted((float(k), int(v)) for k, v in h.items())
    except (TypeError, ValueError):
        raise BadInput(where + ": latency_ns.histogram: not a map of ns -> transactions")


def plot_latency(stats, name, out):
    series = [("all", histogram(stats.get("latency_ns"), name))]
    for dev, d in (stats.get("devices") or {}).items():
        if isinstance(d, dict) and "latency_ns" in d:
            series.append((dev, histogram(d["latency_ns"], name + ": devices." + dev)))
    series = [(label, pairs) for label, pairs in series if pairs]
    if not series:
        return None
    fig, (hist_ax, cdf_ax) = plt.subplots(1, 2, figsize=(11, 4))
    top = max(ns for _, pairs in series for ns, _ in pairs)
    bins = min(60, max(10, len({ns for _, pairs in series for ns, _ in pairs})))
    for label, pairs in series:
        values = [ns for ns, _ in pairs]
        weights = [n for _, n in pairs]
        style = {"linewidth": 2.0, "color": "black"} if label == "all" else {"linewidth": 1.0}
        hist_ax.hist(values, bins=bins, range=(0, top), weights=weights, histtype="step", label=label, **style)
        total = float(sum(weights))
        xs, ys, seen = [], [], 0
        for ns, n in pairs:
            seen += n
            xs.append(ns)
            ys.append(seen / total)
        cdf_ax.step(xs, ys, where="post", label=label, **style)
    hist_ax.set(xlabel="latency (ns)", ylabel="transactions", title="latency histogram")
    cdf_ax.set(xlabel="latency (ns)", ylabel="fraction of transactions", title="latency CDF", ylim=(0, 1.02))
    cdf_ax.legend(fontsize="small")
    path = os.path.join(out, "latency.png")
    save(fig, path)
    return path


def plot_caches(stats, out):
    names, rates = [], []
    for cache, c in (stats.get("caches") or {}).items():
        if isinstance(c, dict) and c.get("lookups"):
            names.append(cache)
            rates.append(100.0 * c.get("hits", 0) / c["lookups"])
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(names) + 2), 4))
    bars = ax.bar(names, rates, color="tab:blue")
    for bar, rate in zip(bars, rates):
        ax.annotate("%.1f" % rate, (bar.get_x() + bar.get_width() / 2, rate), ha="center", va="bottom", fontsize="small")
    ax.set(ylabel="hit rate (%)", ylim=(0, 105), title="cache hit rates (hits / lookups)")
    ax.tick_params(axis="x", labelrotation=45)
    path = os.path.join(out, "caches.png")
    save(fig, path)
    return path


def plot_invalidation(stats, out):
    paths = ((stats.get("invalidation") or {}).get("paths")) or {}
    rows = [(p, v) for p, v in paths.items() if isinstance(v, dict) and v.get("changes")]
    if not rows:
        return None
    fig, (time_ax, cmd_ax) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [p for p, _ in rows]
    software = [v.get("host_time_ns", {}).get("software_mean", 0.0) for _, v in rows]
    waits = [v.get("host_time_ns", {}).get("sync_wait_mean", 0.0) for _, v in rows]
    time_ax.bar(labels, software, label="host software")
    time_ax.bar(labels, waits, bottom=software, label="waiting for CMD_SYNCs")
    maxima = [v.get("change_to_sync_ns", {}).get("max") for _, v in rows]
    if all(m is not None for m in maxima):
        time_ax.scatter(labels, maxima, marker="_", s=400, color="black", label="max change to SYNC", zorder=3)
    time_ax.set(ylabel="ns per change (mean)", title="change to last SYNC")
    time_ax.legend(fontsize="small")
    per = [float(v["changes"]) for _, v in rows]
    cmd_ax.bar(labels, [v.get("commands", 0) / n for (_, v), n in zip(rows, per)], label="commands")
    cmd_ax.bar(labels, [v.get("syncs", 0) / n for (_, v), n in zip(rows, per)],
               bottom=[v.get("commands", 0) / n for (_, v), n in zip(rows, per)], label="CMD_SYNCs")
    cmd_ax.set(ylabel="per change", title="invalidation commands")
    cmd_ax.legend(fontsize="small")
    path = os.path.join(out, "invalidation.png")
    save(fig, path)
    return path


def stats_command(args):
    try:
        with open(args.stats) as f:
            stats = json.load(f)
    except OSError as e:
        raise BadInput("missing file '%s' (%s)" % (args.stats, e.strerror))
    except ValueError as e:
        raise BadInput("%s: not JSON (%s)" % (args.stats, e))
    if not isinstance(stats, dict) or not isinstance(stats.get("latency_ns"), dict):
        raise BadInput(args.stats + ": not a stats JSON (no latency_ns object; smmu-sim run --stats writes one)")
    os.makedirs(args.out, exist_ok=True)
    written = [p for p in (plot_latency(stats, args.stats, args.out), plot_caches(stats, args.out),
                           plot_invalidation(stats, args.out)) if p]
    if not written:
        print("nothing to plot: the run had no traffic", file=sys.stderr)


def number(cell):
    try:
        return float(cell)
    except ValueError:
        return math.nan  # "-": the run has no such figure


def read_csv(path):
    try:
        with open(path, newline="") as f:
            return list(csv.reader(f))
    except OSError as e:
        raise BadInput("missing file '%s' (%s)" % (path, e.strerror))


def sweep_command(args):
    table = read_csv(args.csv)
    if len(table) < 2:
        raise BadInput(args.csv + ": no rows (smmu-sim sweep --csv writes a header and a row per run)")
    header, rows = table[0], table[1:]
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise BadInput("%s:%d: %d cells, the header has %d" % (args.csv, line, len(row), len(header)))
    for option, names in (("--x", [args.x]), ("--y", args.y), ("--by", args.by)):
        for name in names:
            if name not in header:
                raise BadInput("%s %s: no such column in %s (columns: %s)" % (option, name, args.csv, ", ".join(header)))
    xi = header.index(args.x)
    by = [header.index(k) for k in args.by]
    groups = {}
    for line, row in enumerate(rows, start=2):
        x = number(row[xi])
        if math.isnan(x):
            raise BadInput("%s:%d: %s: '%s' is not a number" % (args.csv, line, args.x, row[xi]))
        group = tuple(row[i] for i in by)
        points = groups.setdefault(group, [])
        if any(p[0] == x for p in points):
            raise BadInput("%s:%d: a second row with %s=%s%s: another key varies; name it with --by"
                           % (args.csv, line, args.x, row[xi], (" and the same --by values" if by else "")))
        points.append((x, row))
    fig, axes = plt.subplots(1, len(args.y), figsize=(5.5 * len(args.y), 4), squeeze=False)
    for ax, metric in zip(axes[0], args.y):
        mi = header.index(metric)
        for group, points in groups.items():
            points.sort(key=lambda p: p[0])
            label = " ".join("%s=%s" % (k, v) for k, v in zip(args.by, group)) or None
            ax.plot([p[0] for p in points], [number(p[1][mi]) for p in points], marker="o", label=label)
        ax.set(xlabel=args.x, ylabel=metric, title=metric)
        if args.log_x:
            ax.set_xscale("log", base=2)
        if args.by:
            ax.legend(fontsize="small")
    save(fig, args.out, make_dir=True)


def vmids_command(args):
    table = read_csv(args.csv)
    if len(table) < 2 or not table[0] or table[0][0] != "time_ns" or table[0][-1] != "total":
        raise BadInput(args.csv + ": not a VMID table (smmu-sim run --vmid-csv writes time_ns,<smmu>...,total)")
    header, rows = table[0], table[1:]
    columns = [[] for _ in header]
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise BadInput("%s:%d: %d cells, the header has %d" % (args.csv, line, len(row), len(header)))
        for i, cell in enumerate(row):
            v = number(cell)
            if math.isnan(v):
                raise BadInput("%s:%d: %s: '%s' is not a number" % (args.csv, line, header[i], cell))
            columns[i].append(v)
    fig, ax = plt.subplots(figsize=(8, 4))
    t_us = [t / 1000.0 for t in columns[0]]
    # One instance: its line is the total's.
    for name, values in zip(header[1:], columns[1:]):
        if name != "total" and len(header) == 3:
            continue
        ax.step(t_us, values, where="post", label=name)
    ax.set(xlabel="time (us)", ylabel="VMIDs in use", title="VMIDs in use over time")
    ax.legend(fontsize="small")
    save(fig, args.out, make_dir=True)


def main():
    parser = argparse.ArgumentParser(prog="plot.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stats", help="a run's --stats JSON -> latency.png, caches.png, invalidation.png")
    s.add_argument("stats", help="the JSON smmu-sim run --stats wrote")
    s.add_argument("--out", default=".", help="directory for the PNGs (default: here)")
    w = sub.add_parser("sweep", help="a sweep's --csv table -> line plots of metrics against a varied key")
    w.add_argument("csv", help="the CSV smmu-sim sweep --csv (or collect --csv) wrote")
    w.add_argument("--x", required=True, help="the varied key on the x axis")
    w.add_argument("--y", required=True, action="append", help="a metric column (repeat: one plot each)")
    w.add_argument("--by", default=[], action="append", help="another varied key: one line per value")
    w.add_argument("--log-x", action="store_true", help="x axis in powers of 2 (cache sizes)")
    w.add_argument("--out", required=True, help="the PNG to write")
    v = sub.add_parser("vmids", help="a run's --vmid-csv table -> VMIDs in use over time")
    v.add_argument("csv", help="the CSV smmu-sim run --vmid-csv wrote")
    v.add_argument("--out", required=True, help="the PNG to write")
    args = parser.parse_args()
    try:
        {"stats": stats_command, "sweep": sweep_command, "vmids": vmids_command}[args.command](args)
    except BadInput as e:
        print("plot.py: " + str(e), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
