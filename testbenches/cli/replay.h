// `smmu-sim replay SCRIPT [--config FILE ...] [--set k=v ...] [--stats OUT.json] [--quiet]`:
// a driver-session script (traces/README.md) drives one SMMU, no host model.
#pragma once
#include <string>
#include <vector>

namespace smmu::sim {

// `args` are the words after "replay". Returns 0 when every expectation held,
// 1 when one failed; throws InputError (exit 2) on bad input.
int replay_command(const std::vector<std::string>& args);

// `smmu-sim qemu2replay TRACE [--memory FILE@PA ...] [--output SCRIPT]`: a
// QEMU smmuv3 trace (log backend) as a replay script (testbenches/replay/
// qemu_trace.h). Warnings go to stderr; returns 0.
int qemu2replay_command(const std::vector<std::string>& args);

}  // namespace smmu::sim
