#!/usr/bin/env python3
"""Writes a VM-churn scenario: a config of N VMs with M devices each (none
started at boot, `start: false`) plus one background VM `bg` that runs
throughout, and a trace in which every VM starts and stops K times
(`vm_start`/`vm_stop` records) while its devices and `bg`'s device DMA.

Each VM's first device is nested (a guest S1 under the VM's implicit vIOMMU)
with --nested, else every device is attached to the VM's S2 directly. VM i
starts first at i * gap, runs for about `life` ns (jittered +-25%), stays
stopped for about `off` ns, and so on. Its devices read right after each
start and just before each stop, and once after the stop (an abort: the
device is detached). `bg` reads every `bg-period` ns: the DMA latency
around the churn (stats: invalidation.dma_during_change).

Deterministic for a given --seed. Usage (docs/lifetime-study.md):
  gen_churn.py --vms 300 --devices 1 --cycles 3 --config-out c.yaml --trace-out t.trace
then run it with --set smmu.vmid16=false|true and --set host.driver=linux|linux-viommu-vmid.
"""
import argparse
import random

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--vms", type=int, default=300)
parser.add_argument("--devices", type=int, default=1, help="devices per VM")
parser.add_argument("--nested", action="store_true", help="each VM's first device nested under a vIOMMU")
parser.add_argument("--cycles", type=int, default=3, help="starts (and stops) per VM")
parser.add_argument("--gap", type=int, default=2000, help="ns between the first starts of two VMs")
parser.add_argument("--life", type=int, default=400000, help="ns a VM runs, on average")
parser.add_argument("--off", type=int, default=200000, help="ns a VM stays stopped, on average")
parser.add_argument("--bg-period", type=int, default=5000, help="ns between the background device's reads")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--config-out", required=True)
parser.add_argument("--trace-out", required=True)
args = parser.parse_args()
rng = random.Random(args.seed)

RAM = 8 << 20        # each VM: 8 MiB of guest RAM at IPA 0x80000000
IPA = 0x80000000
PA0 = 0x100000000    # VM i's RAM at PA0 + i * RAM
VA = 0x10000000      # a nested device's guest VA of the first 2 MiB

cfg = ["# VM churn (traces/tools/gen_churn.py): %d VMs x %d devices, %d cycles, seed %d"
       % (args.vms, args.devices, args.cycles, args.seed),
       "smmu:",
       "  sid_bits: 16",
       "  caches: {iotlb: {entries: 512, ways: 4}, config: {entries: 64, ways: 4}, walk_s2_l3: {entries: 64}}",
       "memory: {table_size: 512M}",
       "vms:"]
devs = ["devices:"]


def vm(name, index, start):
    cfg.append("  %s:" % name)
    cfg.append("    s2: {granule: 4k, ias: 40}")
    if not start:
        cfg.append("    start: false")
    if args.nested:
        cfg.append("    guest_tables: {ipa: 0x%x, size: 4M}" % (IPA + RAM - (4 << 20)))
    cfg.append("    map: [{ipa: 0x%x, pa: 0x%x, size: 8M, perm: rw}]" % (IPA, PA0 + index * RAM))


sid = 1
vm("bg", 0, True)
devs.append("  bgdev: {sid: %d, attach: s2, vm: bg}" % sid)
names = []
for i in range(args.vms):
    name = "vm%d" % i
    vm(name, i + 1, False)
    mine = []
    for j in range(args.devices):
        sid += 1
        dev = "%s_d%d" % (name, j)
        if args.nested and j == 0:
            devs.append("  %s: {sid: %d, attach: nested, vm: %s, vsid: 1, contexts: "
                        "[{ssid: 0, asid: 1, map: [{va: 0x%x, out: 0x%x, size: 2M, perm: rw}]}]}"
                        % (dev, sid, name, VA, IPA))
            mine.append((dev, VA))
        else:
            devs.append("  %s: {sid: %d, attach: s2, vm: %s}" % (dev, sid, name))
            mine.append((dev, IPA))
    names.append((name, mine))

events = []  # (time, order, text): order keeps a stop's abort read after the stop
end = 0
for i, (name, mine) in enumerate(names):
    t = i * args.gap
    for _ in range(args.cycles):
        life = int(args.life * rng.uniform(0.75, 1.25))
        events.append((t, 0, "vm_start %s" % name))
        for dev, addr in mine:
            events.append((t + 20000, 1, "%s R 0x%x 64" % (dev, addr)))
            events.append((t + life - 1000, 1, "%s R 0x%x 64" % (dev, addr + 0x1000)))
        events.append((t + life, 0, "vm_stop %s" % name))
        for dev, addr in mine:
            events.append((t + life + 20000, 1, "%s R 0x%x 64" % (dev, addr)))
        t += life + int(args.off * rng.uniform(0.75, 1.25))
        end = max(end, t)
for t in range(0, end, args.bg_period):
    events.append((t, 2, "bgdev R 0x%x 64" % (IPA + (t // args.bg_period % 512) * 0x1000)))
events.sort()

with open(args.config_out, "w") as f:
    f.write("\n".join(cfg + devs) + "\n")
with open(args.trace_out, "w") as f:
    f.write("# VM churn (traces/tools/gen_churn.py), with %s\n" % args.config_out)
    for t, _, text in events:
        f.write("%d %s\n" % (t, text))
