#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
ctest --test-dir build -j "$(nproc)" --output-on-failure
