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
        // Runs of one latency (TLB hits) count without a map lookup each.
        if (pending_n_ && ps != pending_ps_) flush();
        pending_ps_ = ps;
        ++pending_n_;
        ++n_;
        sum_ += ps;
    }
    void merge(const LatencyHistogram& o) {
        for (const auto& [v, c] : o.counts()) counts_[v] += c;
        n_ += o.n_;
        sum_ += o.sum_;
    }
    uint64_t count() const { return n_; }
    double mean() const { return n_ ? static_cast<double>(sum_) / static_cast<double>(n_) : 0.0; }
    // Nearest-rank percentile (p in 0..100): the smallest value with at least
    // p% of samples at or below it.
    uint64_t percentile(double p) const;
    uint64_t max() const { return counts().empty() ? 0 : counts_.rbegin()->first; }
    const std::map<uint64_t, uint64_t>& counts() const {
        flush();
        return counts_;
    }

private:
    void flush() const {
        if (pending_n_) counts_[pending_ps_] += pending_n_;
        pending_n_ = 0;
    }

    mutable std::map<uint64_t, uint64_t> counts_;
    mutable uint64_t pending_ps_ = 0, pending_n_ = 0;
    uint64_t n_ = 0;
    uint64_t sum_ = 0;
};

}  // namespace smmu::sim
