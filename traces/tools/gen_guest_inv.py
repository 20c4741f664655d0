#!/usr/bin/env python3
"""Writes a trace of guest invalidation batches through VIOMMU_INVALIDATE:
`--batches` times, every `--period` ns, a batch of `--batch` TLBI_NH_VA
commands (one 4K page each, ASID 1) from the guest of vm0 to its vIOMMU
(the implicit `vm0@smmu0` of configs/examples/nested-cold.yaml), then a read
by dev0. Records of one time and one vIOMMU are one batch (one trap, one
IOMMU_HWPT_INVALIDATE: traces/README.md). docs/lifetime-study.md, study c.
Usage: gen_guest_inv.py --batch N > t.trace
"""
import argparse

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--batch", type=int, required=True)
parser.add_argument("--batches", type=int, default=50)
parser.add_argument("--period", type=int, default=50000)
parser.add_argument("--viommu", default="vm0@smmu0")
args = parser.parse_args()
print("# %d batches of %d TLBI_NH_VA (traces/tools/gen_guest_inv.py)" % (args.batches, args.batch))
for k in range(args.batches):
    t = (k + 1) * args.period
    for i in range(args.batch):
        print("%d guest_inv %s TLBI_NH_VA ASID=1 Leaf=1 Addr=0x%x" % (t, args.viommu, 0x10000000 + i * 0x1000))
    print("%d dev0 R 0x10000000 64" % (t + args.period // 2))
