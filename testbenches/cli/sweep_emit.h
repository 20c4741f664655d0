// Sweeps beyond one machine, and the table every sweep prints.
//
//   smmu-sim sweep ... --emit DIR   writes, and runs nothing:
//     DIR/job-N/config.yaml   combination N's merged config (all files and
//                             --set values in one: the job needs no other)
//     DIR/jobs.txt            line N+1: the shell command running job N
//                             (`parallel < DIR/jobs.txt`)
//     DIR/slurm.sh            `sbatch DIR/slurm.sh`: an array task per line
//     DIR/sweep.json          the axes, metrics and combinations, for collect
//   smmu-sim collect DIR [--metric PATH...] [--csv OUT] [--allow-stale]
//     the table (and CSV) `sweep` prints, from the jobs that finished.
#pragma once
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testbenches/cli/sweep.h"

namespace smmu::sim {

// Exit code of a run (and a sweep or collect) whose invalidation checker found
// stale translations, unless --allow-stale (README, "Commands").
constexpr int kExitStale = 4;

// One combination: what its `smmu-sim run` gets.
struct SweepRun {
    std::vector<std::string> configs, sets;
    std::string label;  // the combination, "k=v k2=v2"
};

std::vector<std::string> axis_keys(const std::vector<SweepAxis>& axes);

// Prints the sweep table (one row per combination: its `values`, then each
// metric of its `stats`, "-" for a run that has none) and writes it to `csv`
// when given. A metric the user gave (`metrics_given`, not the defaults) that
// no finished run has is an InputError naming it.
// Returns how many runs' checkers found stale translations (each named on
// stderr).
std::size_t sweep_table(const std::vector<std::string>& keys, const std::vector<std::string>& metrics,
                        bool metrics_given, const std::vector<std::vector<std::string>>& values,
                        const std::vector<nlohmann::json>& stats, std::ostream& out, std::ostream* csv);

// `sweep --emit DIR`: writes the jobs (layout above) and returns 0.
int sweep_emit(const std::string& dir, const std::string& self, const std::vector<SweepAxis>& axes,
               const std::vector<std::string>& metrics, bool metrics_given,
               const std::vector<std::vector<std::string>>& combos,
               const std::vector<SweepRun>& runs, const std::optional<std::string>& trace, std::ostream& out);

// `smmu-sim collect DIR ...`: returns the exit code (3 when a job has no
// stats yet, 4 for stale translations); bad input throws InputError.
int collect_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace smmu::sim
