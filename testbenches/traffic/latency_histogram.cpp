#include "testbenches/traffic/latency_histogram.h"

#include <cmath>

namespace smmu::sim {

uint64_t LatencyHistogram::percentile(double p) const {
    if (n_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(n_)));
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (const auto& [v, c] : counts()) {
        seen += c;
        if (seen >= rank) return v;
    }
    return max();
}

}  // namespace smmu::sim
