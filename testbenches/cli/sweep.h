// `smmu-sim sweep`: one config and trace, run for every combination of the
// values given to --vary, a table (and CSV) of chosen figures per run.
//
//   smmu-sim sweep --config FILE... [--set k=v...] [--trace FILE]
//                  --vary KEY=V1,V2,... [--vary ...] [--metric PATH...]
//                  [--jobs N] [--csv OUT.csv] [--out-dir DIR]
//
// `--vary config=A.yaml,B.yaml` sweeps whole config files (topologies): each
// value is one more --config after the fixed ones.
// The SystemC kernel runs one simulation per process, so each combination is
// `smmu-sim run ... --set KEY=V --stats DIR/run-N.json` in a process of its
// own, up to --jobs at once; results are reported in combination order, so a
// sweep's output does not depend on --jobs.
#pragma once
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace smmu::sim {

// One --vary: a config key and the values it takes.
struct SweepAxis {
    std::string key;
    std::vector<std::string> values;
};
// "KEY=V1,V2,..."; a bad one is an InputError naming --vary.
SweepAxis parse_sweep_axis(const std::string& spec);
// Every combination, the last axis varying fastest: each a list of
// "KEY=VALUE" settings in axis order.
std::vector<std::vector<std::string>> sweep_combinations(const std::vector<SweepAxis>& axes);

// Runs `smmu-sim sweep ARGS...`; `self` is the smmu-sim executable to run for
// each combination. Returns the exit code; bad input throws InputError.
int sweep_command(const std::vector<std::string>& args, const std::string& self, std::ostream& out);

}  // namespace smmu::sim
