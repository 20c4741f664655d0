#!/usr/bin/env python3
"""Runs the studies of docs/lifetime-study.md and prints their tables:
  a  VM churn (traces/tools/gen_churn.py): 8- vs 16-bit VMIDs, linux vs
     linux-viommu-vmid: VMIDs in use, -ENOSPC, flush-on-free, DMA latency
  b  a guest toggling dev0 between bypass and translate: through the
     vIOMMU's bypass HWPT (proxy) vs a direct S2 attach
  c  guest TLBI_NH_VA batches through VIOMMU_INVALIDATE, sizes 1..64
Usage: scripts/lifetime_study.py [--bin build/smmu-sim] [--study a|b|c] [--csv-dir DIR]
(from the source directory). Deterministic: the same tables every run.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", default="build/smmu-sim")
parser.add_argument("--study", choices=["a", "b", "c"], action="append")
parser.add_argument("--csv-dir", help="study a: keep the --vmid-csv files here")
args = parser.parse_args()
studies = args.study or ["a", "b", "c"]
tmp = tempfile.mkdtemp(prefix="lifetime-study-")


def run(name, config, trace, sets=(), csv=None):
    stats = os.path.join(tmp, name + ".json")
    cmd = [args.bin, "run", "--config", config, "--trace", trace, "--stats", stats, "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    if csv:
        cmd += ["--vmid-csv", csv]
    subprocess.run(cmd, check=True)
    with open(stats) as f:
        return json.load(f)


shown = []


def title(text):
    """A study's title, after a blank line from the study before it."""
    if shown:
        print()
    shown.append(text)
    print(text)
    print()


if "a" in studies:
    config, trace = os.path.join(tmp, "churn.yaml"), os.path.join(tmp, "churn.trace")
    subprocess.run([sys.executable, "traces/tools/gen_churn.py", "--vms", "200", "--devices", "2", "--nested",
                    "--cycles", "3", "--config-out", config, "--trace-out", trace], check=True)
    title("a. VM churn: 200 VMs x (1 nested + 1 S2 device), 3 starts each, + a background device")
    print("| host.driver | VMIDs | peak in use | allocated | -ENOSPC | flush-on-free TLBI_S12_VMALL |"
          " bg DMA latency ns | bg DMAs during a change | faults |")
    print("|---|---|---|---|---|---|---|---|---|")
    for driver in ["linux", "linux-viommu-vmid"]:
        for bits, vmid16 in [(8, "false"), (16, "true")]:
            csv = os.path.join(args.csv_dir, "churn-%s-%d.csv" % (driver, bits)) if args.csv_dir else None
            s = run("a-%s-%d" % (driver, bits), config, trace,
                    ["host.driver=" + driver, "smmu.vmid16=" + vmid16], csv)
            lt, bg = s["lifetime"], s["devices"]["bgdev"]
            print("| %s | %d-bit | %d | %d | %d | %d | %.1f | %d of %d | %d |" % (
                driver, bits, s["vmids"]["peak"], s["vmids"]["allocated"], lt["failed_by_errno"].get("-ENOSPC", 0),
                lt["flush_on_free_commands"], bg["latency_ns_mean"], bg["dma_during_change"]["transactions"],
                bg["transactions"],
                s["totals"]["faults"]))

if "b" in studies:
    title("b. dev0 toggled 10 times between bypass and translate (configs/examples/nested-cold.yaml)")
    print("| bypass through | host.driver | attaches | CFGI_STE | SYNCs | VMIDs in use | attach ns (mean) |")
    print("|---|---|---|---|---|---|---|")
    for kind, label in [("proxy", "the vIOMMU's bypass HWPT"), ("direct", "a direct S2 attach")]:
        for driver in ["linux", "linux-viommu-vmid"]:
            s = run("b-%s-%s" % (kind, driver), "configs/examples/nested-cold.yaml",
                    "traces/examples/toggle-%s.trace" % kind, ["host.driver=" + driver])
            a = s["lifetime"]["ops"]["attach"]
            print("| %s | %s | %d | %d | %d | %d | %.1f |" % (
                label, driver, a["changes"], a["by_opcode"].get("CFGI_STE", 0), a["syncs"], s["vmids"]["used"],
                a["change_to_sync_ns"]["mean"]))

if "c" in studies:
    title("c. one guest batch of N TLBI_NH_VA through VIOMMU_INVALIDATE (mean of 50 batches), ns")
    print("| N | trap | ioctl | queue | SYNC wait | total | per command | host SYNCs per batch |")
    print("|---|---|---|---|---|---|---|---|")
    for n in [1, 2, 4, 8, 16, 32, 63, 64]:
        trace = os.path.join(tmp, "inv-%d.trace" % n)
        with open(trace, "w") as f:
            subprocess.run([sys.executable, "traces/tools/gen_guest_inv.py", "--batch", str(n)], check=True, stdout=f)
        s = run("c-%d" % n, "configs/examples/nested-cold.yaml", trace)
        g = s["invalidation"]["guest_batches"]
        lat = g["latency_ns"]
        print("| %d | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f | %.0f |" % (
            n, lat["trap_mean"], lat["ioctl_mean"], lat["queue_mean"], lat["sync_mean"], lat["total_mean"],
            lat["total_mean"] / n, s["invalidation"]["paths"]["viommu_invalidate"]["syncs"] / g["batches"]))
