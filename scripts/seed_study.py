#!/usr/bin/env python3
"""The seed study (docs/seed-study.md): the seed scenario's topologies under
both host driver profiles, over several trace seeds, as mean and spread, and
the per-seed differences between direct and proxy with whether their sign
holds across every seed.

Usage: scripts/seed_study.py [--seeds 1,2,3,4,5] [--smmu-sim build/smmu-sim] [--out DIR]
Needs a built smmu-sim (scripts/build.sh) and python3.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (label, config files, extra --set): what each profile can build.
SETUPS = [
    ("viommu-vmid direct", ["configs/seed/shared-s2-direct.yaml"], []),
    ("viommu-vmid proxy", ["configs/seed/shared-s2-proxy.yaml"], []),
    ("viommu-vmid nonshared", ["configs/seed/nonshared-s2.yaml"], []),
    ("mainline direct", ["configs/seed/shared-s2-direct.yaml", "configs/seed/mainline.yaml"], []),
    ("mainline proxy", ["configs/seed/shared-s2-proxy.yaml", "configs/seed/mainline.yaml"], []),
    ("mainline nonshared", ["configs/seed/nonshared-s2.yaml"], ["host.driver=linux"]),
]
# The same three topologies with devc ATS-capable (devices.devc.ats): its ATC,
# Translation Requests, and ATC_INVs the unmaps' CMD_SYNCs wait for. Behind
# the proxy the kernel turns ATS off (a BYPASS vSTE: arm_smmu_validate_vste).
ATS_SETUPS = [
    ("ATS direct", ["configs/seed/shared-s2-direct.yaml"], ["devices.devc.ats=true"]),
    ("ATS proxy", ["configs/seed/shared-s2-proxy.yaml"], ["devices.devc.ats=true"]),
    ("ATS nonshared", ["configs/seed/nonshared-s2.yaml"], ["devices.devc.ats=true"]),
]
# Topologies mainline cannot build as written: the kernel's answer.
REFUSED = [
    ("mainline, one S2 on two SMMUs (direct)", ["configs/seed/shared-s2-direct.yaml"], ["host.driver=linux"]),
    ("mainline, one S2 on two SMMUs (proxy)", ["configs/seed/shared-s2-proxy.yaml"], ["host.driver=linux"]),
]
S2 = ["invalidation", "paths", "s2_change"]
METRICS = [
    ("VMIDs used", ["vmids", "used"], "%.0f"),
    ("invalidation commands (no SYNCs)", ["invalidation", "commands"], "%.0f"),
    ("invalidation SYNCs", ["invalidation", "syncs"], "%.0f"),
    ("S2 change to last SYNC (ns)", S2 + ["change_to_sync_ns", "mean"], "%.1f"),
    ("  host software (ns)", S2 + ["host_time_ns", "software_mean"], "%.1f"),
    ("  waiting for SYNCs (ns)", S2 + ["host_time_ns", "sync_wait_mean"], "%.1f"),
    ("DMAs during a change", ["invalidation", "dma_during_change", "transactions"], "%.0f"),
    ("  their latency (ns)", ["invalidation", "dma_during_change", "latency_ns_mean"], "%.1f"),
    ("IPA cache hit rate (%)", None, "%.1f"),
    ("IOTLB hit rate (%)", None, "%.1f"),
    ("table-walk reads", ["pmu", "trans_table_walk_access"], "%.0f"),
    ("DMA latency mean (ns)", ["latency_ns", "mean"], "%.1f"),
    ("DMA latency p99 (ns)", ["latency_ns", "p99"], "%.1f"),
    ("faults", ["totals", "faults"], "%.0f"),
]
# What ATS adds (README, "ATS"); 0 where the device does not use ATS.
ATS_METRICS = [
    ("devc ATC hit rate (%)", "atc_hit_rate", "%.1f"),
    ("devc Translation Requests", ["devices", "devc", "ats", "translation_requests"], "%.0f"),
    ("ATC_INV sent to devc", ["ats", "atc_inv", "sent"], "%.0f"),
    ("  their completion (ns, mean)", ["ats", "atc_inv", "latency_ns", "mean"], "%.1f"),
    ("SYNC time waiting for ATC_INV (ns)", ["ats", "sync_wait_for_atc", "total_ns"], "%.1f"),
    ("host CMD_SYNC timeouts", ["ats", "host_sync_timeouts"], "%.0f"),
]


def value(stats, name, path):
    if path == "atc_hit_rate":
        atc = stats["devices"]["devc"].get("ats", {}).get("atc", {"lookups": 0})
        return 100.0 * atc["hits"] / atc["lookups"] if atc["lookups"] else 0.0
    if path is None:
        cache = "ipa" if name.startswith("IPA") else "iotlb"
        c = stats["caches"][cache]
        return 100.0 * c["hits"] / c["lookups"] if c["lookups"] else 0.0
    v = stats
    for k in path:
        if k not in v:
            return 0.0
        v = v[k]
    return float(v)


def run(sim, configs, sets, trace, out):
    cmd = [sim, "run"]
    for c in configs:
        cmd += ["--config", c]
    for s in sets:
        cmd += ["--set", s]
    cmd += ["--trace", trace, "--stats", out, "--quiet"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--smmu-sim", default=os.path.join(ROOT, "build", "smmu-sim"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "seed-study"))
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    os.makedirs(a.out, exist_ok=True)

    print("Topologies mainline cannot build:")
    for label, configs, sets in REFUSED:
        code, err = run(a.smmu_sim, configs, sets, "traces/seed/mixed-dma.trace", os.devnull)
        print(f"  {label}: exit {code}: {err[:160]}...")
    print()

    results = {label: [] for label, _, _ in SETUPS + ATS_SETUPS}
    for seed in seeds:
        trace = os.path.join(a.out, f"mixed-dma-{seed}.trace")
        with open(trace, "w") as f:
            subprocess.run([sys.executable, os.path.join(ROOT, "traces/tools/gen_seed_trace.py"), "--seed", str(seed)],
                           stdout=f, check=True)
        for i, (label, configs, sets) in enumerate(SETUPS + ATS_SETUPS):
            out = os.path.join(a.out, f"seed{seed}-{i}.json")
            code, err = run(a.smmu_sim, configs, sets, trace, out)
            if code != 0:
                sys.exit(f"{label}, seed {seed}: exit {code}: {err}")
            with open(out) as f:
                results[label].append(json.load(f))

    width = 34

    def table(setups, metrics):
        print(" " * width + "".join(f"{label:>26}" for label, _, _ in setups))
        for name, path, fmt in metrics:
            row = f"{name:<{width}}"
            for label, _, _ in setups:
                vals = [value(s, name, path) for s in results[label]]
                m = statistics.mean(vals)
                cell = (fmt % m) if min(vals) == max(vals) else f"{fmt % m} [{fmt % min(vals)}..{fmt % max(vals)}]"
                row += f"{cell:>26}"
            print(row)
        print()

    print(f"Mean [min..max] over trace seeds {a.seeds}:")
    table(SETUPS, METRICS)
    print(f"devc ATS-capable (--set devices.devc.ats=true, linux-viommu-vmid), seeds {a.seeds}:")
    table(ATS_SETUPS, METRICS + ATS_METRICS)
    for profile in ("viommu-vmid", "mainline"):
        d, p = results[f"{profile} direct"], results[f"{profile} proxy"]
        print(f"{profile}: direct - proxy per seed (a difference is claimed only when its sign holds on every seed):")
        for name, path, fmt in METRICS:
            diffs = [value(x, name, path) - value(y, name, path) for x, y in zip(d, p)]
            if all(v > 0 for v in diffs):
                verdict = "direct higher on every seed"
            elif all(v < 0 for v in diffs):
                verdict = "proxy higher on every seed"
            elif all(v == 0 for v in diffs):
                verdict = "equal"
            else:
                verdict = "no consistent difference"
            print(f"  {name:<{width}} {' '.join(fmt % v for v in diffs):<48} {verdict}")
        print()


if __name__ == "__main__":
    main()
