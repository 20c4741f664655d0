// The flush queue of a lazy (IOMMU_DOMAIN_DMA_FQ) DMA domain, as
// drivers/iommu/dma-iommu.c runs it (alvinsun039/linux-torvalds 237a3563,
// the per-CPU queue arm-smmu-v3 gets): an unmap does not invalidate; its IOVA
// waits in a ring of IOVA_DEFAULT_FQ_SIZE (256, one slot kept free) until
// the ring is full (queue_iova flushes at once) or the timer armed by the
// first entry fires after IOVA_DEFAULT_FQ_TIMEOUT (10 ms) (fq_flush_timeout).
// A flush is fq_flush_iotlb: flush_iotlb_all -> arm_smmu_tlb_inv_context.
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "driver/arm_smmu_v3/domain.h"

namespace smmu::driver {

class FlushQueue {
public:
    static constexpr unsigned kSize = 256;           // IOVA_DEFAULT_FQ_SIZE
    static constexpr double kTimeoutNs = 10e6;       // IOVA_DEFAULT_FQ_TIMEOUT (ms)

    explicit FlushQueue(ArmSmmuDomain& d) : domain_(d) {}

    // queue_iova at `now_ns`: flushes first when the ring is full.
    void queue(uint64_t iova, uint64_t size, double now_ns);
    // When the timer fires (nothing when it is not armed).
    std::optional<double> deadline() const { return deadline_; }
    // fq_flush_timeout / fq_flush_iotlb: invalidate, free every entry.
    void flush();
    // An IOVA still waiting: its old translation may legitimately be cached.
    bool pending(uint64_t iova) const;
    unsigned entries() const { return static_cast<unsigned>(ring_.size()); }
    uint64_t flushes() const { return flushes_; }

private:
    ArmSmmuDomain& domain_;
    std::vector<std::pair<uint64_t, uint64_t>> ring_;  // (iova, size)
    std::optional<double> deadline_;
    uint64_t flushes_ = 0;
};

}  // namespace smmu::driver
