#!/usr/bin/env bash
# Builds the libFuzzer targets in ./build-fuzz (clang++, SMMUSIM_FUZZ=ON) and
# runs each against a copy of its seed corpus (fuzz/corpus/ is never written).
# Exits non-zero if any target crashes, hangs, leaks or breaks an invariant;
# the input that did it is kept in build-fuzz/fuzz-artifacts/.
#
# By default the smoke is deterministic, as CI needs: a fixed libFuzzer seed
# and a fixed number of runs per target, so the same tree gives the same
# inputs on any machine (a slow machine just takes longer). A search for new
# bugs instead runs for a time with a fresh seed:
#   FUZZ_SECONDS=600 scripts/fuzz-smoke.sh      (FUZZ_SEED=N to repeat one)
# docs/fuzzing.md. Needs scripts/deps.sh and scripts/deps-fuzz.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(trace_parser config_loader replay_script qemu_trace decoders walker smmu)
# Runs per target in the deterministic smoke: about 6 s each on a 2-core
# machine of the CI's class.
declare -A runs=([trace_parser]=200000 [config_loader]=15000 [replay_script]=100000 [qemu_trace]=50000
                 [decoders]=20000 [walker]=5000 [smmu]=8000)
build=build-fuzz

cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DSMMUSIM_FUZZ=ON -DSMMUSIM_TESTS=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_all

rm -rf "$build/fuzz-corpus" "$build/fuzz-artifacts"
mkdir -p "$build/fuzz-artifacts"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
start=$(date +%s)
for t in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$t"
  mkdir -p "$corpus"
  cp fuzz/corpus/"$t"/* "$corpus"/
  log="$build/fuzz-artifacts/$t.log"
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  if [ -n "${FUZZ_SECONDS:-}" ]; then
    budget=(-max_total_time="$FUZZ_SECONDS" -seed="${FUZZ_SEED:-0}")
  else
    # The time limit only guards against a machine far slower than expected.
    budget=(-runs="${runs[$t]}" -seed="${FUZZ_SEED:-1}" -max_total_time=300)
  fi
  if "$build/fuzz/fuzz_$t" "${budget[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       "${dict[@]}" -artifact_prefix="$build/fuzz-artifacts/$t-" "$corpus" > "$log" 2>&1; then
    echo "fuzz $t: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$') runs)"
  else
    echo "fuzz $t: FAILED (log $log)"
    grep -E "ERROR|invariant|SUMMARY|Test unit written" "$log" | head -20 || true
    failed+=("$t")
  fi
done
echo "fuzz smoke: ${#targets[@]} targets in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz smoke FAILED: ${failed[*]}"
  exit 1
fi
