#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: the seed question (a
# shared stage 2 with a direct S2 attach, with the proxy identity S1, and
# without sharing) side by side, then one cold nested DMA step by step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
out=build/demo
mkdir -p "$out"
for c in shared-s2-direct shared-s2-proxy nonshared-s2; do
  echo "== smmu-sim run --config configs/seed/$c.yaml --trace traces/seed/mixed-dma.trace"
  ./build/smmu-sim run --config configs/seed/$c.yaml --trace traces/seed/mixed-dma.trace --stats "$out/$c.json"
  echo
done
echo "== side by side (docs/seed-study.md explains each row)"
./build/smmu-sim compare direct="$out/shared-s2-direct.json" proxy="$out/shared-s2-proxy.json" \
    nonshared="$out/nonshared-s2.json"
echo
echo "== smmu-sim translate --config configs/examples/nested-cold.yaml --device dev0 --iova 0x10000040"
./build/smmu-sim translate --config configs/examples/nested-cold.yaml --device dev0 --iova 0x10000040
