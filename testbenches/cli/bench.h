// `smmu-sim bench [--json OUT] [--quick] [--quantum-ns N]`: simulation speed in
// one process run (docs/performance.md). One elaboration holds every measured
// platform as an independent module tree; a controller thread runs them one
// phase after another and times each phase's wall clock.
#pragma once
#include <string>
#include <vector>

namespace smmu::sim {

int bench_command(const std::vector<std::string>& args);

}  // namespace smmu::sim
