#!/usr/bin/env python3
"""Run every documented config/trace pair with two smmu-sim binaries and list
the stats that differ (wall-clock and RSS fields ignored).

    python3 scripts/compare_stats.py --before OLD/smmu-sim --after build/smmu-sim

The pairs: each `smmu-sim run` command in README.md, docs/*.md and
traces/README.md whose config and trace files are in the tree (with its
--config, --set and --trace options); each trace under traces/ with the config
its header names ("with configs/...yaml") or the config of the same name; every
configs/seed/*.yaml with traces/seed/mixed-dma.trace in accurate and fast mode (mainline.yaml
over shared-s2-direct.yaml);
configs/examples/four-modes.yaml after each configs/smmu/*.yaml preset; and
--extra CONFIG:TRACE pairs (e.g. the bench's, from `bench --trace-dir`).

A difference in a functional count (faults, commands, events, walks, records,
transactions) is marked FUNCTIONAL; the rest are timing and cache figures that
same-time ordering moves. Exit 1 when anything differs, 0 when nothing does.
"""
import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING = re.compile(r"latency|histogram|dma_during_change|_ns")
IGNORED = {"sim.wall_s", "sim.build_wall_s", "sim.traffic_cpu_s", "memory.peak_rss_bytes"}
FUNCTIONAL = re.compile(r"(^|\.)(faults|records|transactions|bytes|commands|count|errors|events|gerror)(\.|$|\[)|"
                        r"(^|\.)(faults|events|commands)\.")


def documented_runs():
    """The `smmu-sim run` commands of the docs whose files exist: [(args, where)]."""
    runs = []
    files = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "traces", "README.md")]
    files += sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    for path in files:
        lines = open(path, encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            start = i
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line[:-1] + " " + lines[i].strip()
            i += 1
            line = re.sub(r"^\$\s+", "", line)
            if not line.startswith("smmu-sim run "):
                continue
            try:
                words = shlex.split(line.split("|")[0], comments=True)
            except ValueError:
                continue
            args, ok, j = [], True, 2
            while j < len(words):
                w = words[j]
                if w in ("--config", "--trace", "--set") and j + 1 < len(words):
                    v = words[j + 1]
                    if w != "--set" and not os.path.isfile(os.path.join(ROOT, v)):
                        ok = False
                    args += [w, v]
                    j += 2
                elif w in ("--stats", "--vmid-csv", "--timeline", "--timeline-window", "--timeline-sample",
                           "--timeline-max-events", "--progress"):
                    j += 2
                else:
                    j += 1
            if ok and "--config" in args:
                runs.append((args, "%s:%d" % (os.path.relpath(path, ROOT), start + 1)))
    return runs


def trace_pairs():
    """Each trace under traces/ with the config its header names, or of its name."""
    pairs = []
    for trace in sorted(glob.glob(os.path.join(ROOT, "traces", "**", "*.trace"), recursive=True)):
        rel = os.path.relpath(trace, ROOT)
        head = "".join(open(trace, encoding="utf-8", errors="replace").readlines()[:5])
        configs = re.findall(r"configs/[\w./-]+\.yaml", head)
        name = os.path.join("configs", "examples", os.path.basename(trace)[:-len(".trace")] + ".yaml")
        if not configs and os.path.isfile(os.path.join(ROOT, name)):
            configs = [name]
        for c in dict.fromkeys(configs):
            pairs.append((["--config", c, "--trace", rel], rel + " header"))
    seed = os.path.join("traces", "seed", "mixed-dma.trace")
    configs = [["--config", os.path.relpath(c, ROOT)] for c in sorted(glob.glob(os.path.join(ROOT, "configs", "seed", "*.yaml")))
               if not c.endswith("mainline.yaml")]
    # mainline.yaml is an overlay (docs/seed-study.md): on the direct topology.
    configs.append(["--config", "configs/seed/shared-s2-direct.yaml", "--config", "configs/seed/mainline.yaml"])
    for c in configs:
        for mode in ("accurate", "fast"):
            pairs.append((c + ["--set", "sim.mode=" + mode, "--trace", seed], "seed grid"))
    for p in sorted(glob.glob(os.path.join(ROOT, "configs", "smmu", "*.yaml"))):
        pairs.append((["--config", os.path.relpath(p, ROOT), "--config", "configs/examples/four-modes.yaml",
                       "--trace", "traces/examples/four-modes.trace"], "presets"))
    return pairs


def flatten(j, prefix=""):
    if isinstance(j, dict):
        for k, v in j.items():
            yield from flatten(v, prefix + ("." if prefix else "") + str(k))
    elif isinstance(j, list):
        for i, v in enumerate(j):
            yield from flatten(v, "%s[%d]" % (prefix, i))
    else:
        yield prefix, j


def run(binary, args, out):
    p = subprocess.run([binary, "run", *args, "--stats", out, "--quiet"], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.returncode, (p.stderr.strip().splitlines() or [""])[-1]
    with open(out) as f:
        return {k: v for k, v in flatten(json.load(f)) if k not in IGNORED}, 0, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="the smmu-sim binary before the change")
    ap.add_argument("--after", required=True, help="the smmu-sim binary after it")
    ap.add_argument("--extra", action="append", default=[], metavar="CONFIG:TRACE", help="another pair to run")
    ap.add_argument("--max-keys", type=int, default=12, help="differing keys shown per pair")
    a = ap.parse_args()
    pairs = documented_runs() + trace_pairs()
    pairs += [(["--config", os.path.abspath(e.split(":")[0]), "--trace", os.path.abspath(e.split(":")[1])], "--extra")
              for e in a.extra]
    seen, unique = set(), []
    for args, where in pairs:
        if tuple(args) not in seen:
            seen.add(tuple(args))
            unique.append((args, where))
    differ = functional = 0
    with tempfile.TemporaryDirectory() as tmp:
        for args, where in unique:
            label = " ".join(args) + "  (" + where + ")"
            b, rc_b, err_b = run(os.path.abspath(a.before), args, os.path.join(tmp, "b.json"))
            f, rc_a, err_a = run(os.path.abspath(a.after), args, os.path.join(tmp, "a.json"))
            if b is None or f is None:
                same = rc_b == rc_a and err_b == err_a
                print(("same   " if same else "DIFFER ") + label + "  (exit %d / %d: %s)" % (rc_b, rc_a, err_a or err_b))
                differ += not same
                continue
            keys = [k for k in sorted(set(b) | set(f)) if b.get(k) != f.get(k)]
            # dma_during_change classifies DMAs by when they were issued relative
            # to a host change: a timing figure, not a count of work done.
            func = [k for k in keys if FUNCTIONAL.search(k) and not TIMING.search(k)]
            if not keys:
                print("same   " + label)
                continue
            differ += 1
            functional += bool(func)
            print("DIFFER " + label + ": %d keys%s" % (len(keys), ", FUNCTIONAL: %d" % len(func) if func else ""))
            for k in (func + [k for k in keys if k not in func])[:a.max_keys]:
                print("    %s%s: %s -> %s" % ("FUNCTIONAL " if k in func else "", k, b.get(k), f.get(k)))
    print("%d pairs, %d differ, %d in functional counts" % (len(unique), differ, functional))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
