// `smmu-sim compare LABEL=STATS.json ... [--metric PATH ...]`: the key figures
// of several runs side by side (VMIDs, hit rates, walk reads, invalidations,
// latency), then one row per --metric (a stats path, as `sweep` takes).
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace smmu::sim {

// Throws InputError for a missing or unreadable file, or an argument that is
// not LABEL=FILE, or a --metric no run's stats have.
void compare_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace smmu::sim
