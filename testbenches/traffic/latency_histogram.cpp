#include "testbenches/traffic/latency_histogram.h"

#include <cmath>

namespace smmu::sim {

uint64_t& LatencyHistogram::slot(uint64_t ps) const {
    if (2 * (used_ + 1) > table_.size()) {  // grow: keep at most half the slots used
        std::vector<Slot> old(table_.size() ? 2 * table_.size() : 64);
        old.swap(table_);
        used_ = 0;
        for (const Slot& s : old)
            if (s.count) slot(s.ps) = s.count;
    }
    const std::size_t mask = table_.size() - 1;
    for (std::size_t i = (ps * 0x9e3779b97f4a7c15ull) >> 40;; ++i) {  // Fibonacci hashing
        Slot& s = table_[i & mask];
        if (s.count == 0) {
            s.ps = ps;
            ++used_;
            return s.count;
        }
        if (s.ps == ps) return s.count;
    }
}

void LatencyHistogram::flush() const {
    if (!pending_n_) return;
    slot(pending_ps_) += pending_n_;
    pending_n_ = 0;
    sorted_valid_ = false;
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
    for (const auto& [v, c] : o.counts()) {
        slot(v) += c;
        sorted_valid_ = false;
    }
    n_ += o.n_;
    sum_ += o.sum_;
}

const std::map<uint64_t, uint64_t>& LatencyHistogram::counts() const {
    flush();
    if (!sorted_valid_) {
        sorted_.clear();
        for (const Slot& s : table_)
            if (s.count) sorted_.emplace(s.ps, s.count);
        sorted_valid_ = true;
    }
    return sorted_;
}

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
