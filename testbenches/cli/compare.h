// `smmu-sim compare LABEL=STATS.json ...`: the key figures of several runs
// side by side (VMIDs, hit rates, walk reads, invalidations, latency).
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace smmu::sim {

// Throws InputError for a missing or unreadable file, or an argument that is
// not LABEL=FILE.
void compare_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace smmu::sim
