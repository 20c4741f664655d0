// `smmu-sim trace ...`: tools for big traces.
//   trace convert IN OUT [--config FILE...] [--set k=v...]   text, binary or gzip -> binary
//   trace stats IN [--config FILE...]                        records, devices, time span
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace smmu::sim {

// Runs `smmu-sim trace ARGS...`; returns the exit code. Bad input throws InputError.
int trace_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace smmu::sim
