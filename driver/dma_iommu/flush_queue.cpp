#include "driver/dma_iommu/flush_queue.h"

namespace smmu::driver {

void FlushQueue::queue(uint64_t iova, uint64_t size, double now_ns) {
    // fq_full(): (tail + 1) & mod_mask == head, so kSize - 1 entries at most.
    if (ring_.size() == kSize - 1) flush();
    ring_.emplace_back(iova, size);
    if (!deadline_) deadline_ = now_ns + kTimeoutNs;  // mod_timer when fq_timer_on was clear
}

void FlushQueue::flush() {
    domain_.tlb_inv_context();
    ring_.clear();
    deadline_.reset();
    ++flushes_;
}

bool FlushQueue::pending(uint64_t iova) const {
    for (const auto& [base, size] : ring_)
        if (iova >= base && iova - base < size) return true;
    return false;
}

}  // namespace smmu::driver
