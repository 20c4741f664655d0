// Exact latency distribution: counts per distinct latency. A cycle model
// produces few distinct values, so this stays small while percentiles stay
// exact, whatever the number of transactions.
#pragma once
#include <cstdint>
#include <map>

namespace smmu::sim {

class LatencyHistogram {
public:
    void add(uint64_t ps) {
        ++counts_[ps];
        ++n_;
        sum_ += ps;
    }
    void merge(const LatencyHistogram& o) {
        for (const auto& [v, c] : o.counts_) counts_[v] += c;
        n_ += o.n_;
        sum_ += o.sum_;
    }
    uint64_t count() const { return n_; }
    double mean() const { return n_ ? static_cast<double>(sum_) / static_cast<double>(n_) : 0.0; }
    // Nearest-rank percentile (p in 0..100): the smallest value with at least
    // p% of samples at or below it.
    uint64_t percentile(double p) const;
    uint64_t max() const { return counts_.empty() ? 0 : counts_.rbegin()->first; }
    const std::map<uint64_t, uint64_t>& counts() const { return counts_; }

private:
    std::map<uint64_t, uint64_t> counts_;
    uint64_t n_ = 0;
    uint64_t sum_ = 0;
};

}  // namespace smmu::sim
