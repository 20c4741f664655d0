#!/usr/bin/env python3
"""Writes traces/seed/mixed-dma.trace: DMA from deva, devb and devc over
overlapping IPA ranges of the shared guest RAM, with periodic unmaps (and
remaps) of 64 KiB of guest RAM on the S2 (s2:* = every S2 domain backing it).

deva: VA 0x10000000 + o -> IPA 0x80000000 + o   (nested, guest S1)
devb: VA 0x10000000 + o -> IPA 0x80100000 + o   (nested, guest S1)
devc: IPA 0x80000000 + o                         (S2 only: direct or proxy)
so deva/devc share IPAs 0x80000000-0x801fffff and devb overlaps the upper MiB.
Deterministic: a fixed seed (--seed picks another; docs/seed-study.md runs
several). Usage: gen_seed_trace.py [--seed N] > traces/seed/mixed-dma.trace
"""
import argparse
import random

WINDOW = 0x100000          # each device works in 1 MiB of its range
CHURN = 0x10000            # 64 KiB unmapped/remapped at a time
PERIOD_NS = 10000          # one unmap every 10 us
QUIET_NS = 8000            # DMAs stay clear of the churned block for this long (the
                           # unmap's ioctl, commands and SYNCs, then the map)
RECORDS = 6000
STEP_NS = 20

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--seed", type=int, default=20240524)
rng = random.Random(parser.parse_args().seed)
out = ["# smmu-sim trace v1: the seed scenario (traces/tools/gen_seed_trace.py).",
       "# <time_ns> <device> <R|W> <iova> <size>  |  <time_ns> map|unmap s2:* ..."]
devices = [("deva", 0x10000000, 0x80000000), ("devb", 0x10000000, 0x80100000), ("devc", 0x80000000, 0x80000000)]
churn_at = None
churn_block = None
for i in range(RECORDS):
    t = i * STEP_NS
    if t % PERIOD_NS == 0 and t > 0:
        k = (t // PERIOD_NS) % 8
        churn_block = 0x80000000 + k * 2 * CHURN  # inside deva/devc's first MiB
        churn_at = t
        out.append(f"{t} unmap s2:* {churn_block:#x} {CHURN:#x}")
        out.append(f"{t} map s2:* {churn_block:#x} {0x100000000 + churn_block - 0x80000000:#x} {CHURN:#x} perm=rw")
    name, base, ipa_base = devices[i % 3]
    # Locality: mostly a hot 128 KiB, sometimes anywhere in the window.
    hot = rng.random() < 0.7
    off = rng.randrange(0, 0x20000 if hot else WINDOW, 64)
    size = rng.choice([64, 64, 128, 256])
    ipa = ipa_base + off
    # A burst that would touch the block being remapped steps past it (its
    # last byte counts: a burst may cross a page boundary).
    if churn_at is not None and t - churn_at < QUIET_NS and ipa < churn_block + CHURN and ipa + size > churn_block:
        off = (off + CHURN + size) % WINDOW
    rw = "W" if rng.random() < 0.3 else "R"
    out.append(f"{t} {name} {rw} {base + off:#x} {size}")
print("\n".join(out))
