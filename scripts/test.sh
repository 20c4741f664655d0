#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite under ctest;
# then builds it again with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DSMMUSIM_SANITIZE=ON, in build-asan/) and runs the whole suite once more
# (docs/robustness.md, "Sanitizers"). Any sanitizer report fails its test.
# Last, a short smoke of every libFuzzer target (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
bash scripts/deps.sh

bash scripts/build.sh
ctest --test-dir build -j "$jobs" --output-on-failure

echo "== sanitized build (ASan + UBSan) in build-asan/"
# -O1 -g1: less compile time than -O2 -g; reports still give file:line.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMMUSIM_SANITIZE=ON \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" > /dev/null
cmake --build build-asan -j "$jobs"
ctest --test-dir build-asan -j "$jobs" --output-on-failure

echo "== fuzz smoke (libFuzzer targets, about a minute)"
bash scripts/deps-fuzz.sh
bash scripts/fuzz-smoke.sh
