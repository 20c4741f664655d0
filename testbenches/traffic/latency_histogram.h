// Exact latency distribution: counts per distinct latency. A cycle model
// produces few distinct values, so this stays small while percentiles stay
// exact, whatever the number of transactions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace smmu::sim {

class LatencyHistogram {
public:
    void add(uint64_t ps) {
        // Runs of one latency (TLB hits) count without a table lookup each.
        if (pending_n_ && ps != pending_ps_) flush();
        pending_ps_ = ps;
        ++pending_n_;
        ++n_;
        sum_ += ps;
    }
    void merge(const LatencyHistogram& o);
    uint64_t count() const { return n_; }
    double mean() const { return n_ ? static_cast<double>(sum_) / static_cast<double>(n_) : 0.0; }
    // Nearest-rank percentile (p in 0..100): the smallest value with at least
    // p% of samples at or below it.
    uint64_t percentile(double p) const;
    uint64_t max() const { return counts().empty() ? 0 : counts().rbegin()->first; }
    // Latency -> count in order (built when asked, after the run).
    const std::map<uint64_t, uint64_t>& counts() const;

private:
    void flush() const;
    // The count of latency `ps` in table_, inserted at 0 if new.
    uint64_t& slot(uint64_t ps) const;

    // An open-addressed table (linear probing, a power-of-two size, at most
    // half full): a transaction costs a multiply and a probe or two, never an
    // allocation once its latency has been seen. A slot with count 0 is free.
    struct Slot {
        uint64_t ps = 0, count = 0;
    };
    mutable std::vector<Slot> table_;
    mutable std::size_t used_ = 0;
    mutable std::map<uint64_t, uint64_t> sorted_;
    mutable bool sorted_valid_ = true;
    mutable uint64_t pending_ps_ = 0, pending_n_ = 0;
    uint64_t n_ = 0;
    uint64_t sum_ = 0;
};

}  // namespace smmu::sim
