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
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

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

// Where a sweep (or the bench) keeps its runs' files: `dir`, or a temporary
// directory "smmu-sim-<tag>-XXXXXX" removed at the end.
class RunDir {
public:
    RunDir(const std::optional<std::string>& dir, const char* tag);
    ~RunDir();
    RunDir(const RunDir&) = delete;
    RunDir& operator=(const RunDir&) = delete;
    std::string file(const std::string& name) const;

private:
    std::string path_;
    bool temporary_ = false;
};

// Starts `argv` (a command and its arguments) with stdout and stderr to the
// file `log`; returns its pid (`bench` runs `smmu-sim run` the same way).
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log);

// Runs `smmu-sim sweep ARGS...`; `self` is the smmu-sim executable to run for
// each combination. Returns the exit code; bad input throws InputError.
int sweep_command(const std::vector<std::string>& args, const std::string& self, std::ostream& out);

}  // namespace smmu::sim
