#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: one nested DMA, cold.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
echo
echo "== smmu-sim run --config configs/examples/nested-cold.yaml --trace traces/examples/one-dma.trace"
./build/smmu-sim run --config configs/examples/nested-cold.yaml --trace traces/examples/one-dma.trace
echo
echo "== smmu-sim translate --config configs/examples/nested-cold.yaml --device dev0 --iova 0x10000040"
./build/smmu-sim translate --config configs/examples/nested-cold.yaml --device dev0 --iova 0x10000040
