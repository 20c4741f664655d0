// The resources that limit an SMMU's concurrency, in integer cycles of its
// clock. The core books them as it computes each translation; requests are
// accepted in time order, so everything before the current arrival is past.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

namespace smmu {

using Cycle = uint64_t;

// `capacity` units per cycle (bytes for a memory port, lookups for a TLB
// port). A request books its units in the first cycles at or after its time
// with spare capacity, so independent requests interleave in the gaps other
// requests leave (a walk's dependent reads are spaced by memory latency).
class BandwidthCalendar {
public:
    explicit BandwidthCalendar(unsigned capacity = 0) : capacity_(capacity) {}
    // 0 = unlimited: a request takes no port time at all.
    bool limited() const { return capacity_ != 0; }
    // Books `units` from cycle `t`; returns the cycle after the last one used
    // (`t` itself when unlimited).
    Cycle book(Cycle t, unsigned units);
    // Forgets cycles before `t` (no request will start before it again).
    void retire_before(Cycle t);

    uint64_t busy_cycles() const { return busy_cycles_; }
    uint64_t queued_cycles() const { return queued_cycles_; }  // cycles requests waited to start

private:
    unsigned capacity_;
    std::map<Cycle, unsigned> used_;  // cycles with some capacity taken
    uint64_t busy_cycles_ = 0;
    uint64_t queued_cycles_ = 0;
};

// `n` identical slots (translation slots, walk slots): a holder keeps one from
// the cycle it gets it until the cycle it releases it. 0 = unlimited.
class SlotPool {
public:
    explicit SlotPool(unsigned n = 0) : free_at_(n, 0) {}
    struct Grant {
        unsigned slot;
        Cycle start;  // >= the requested cycle: later when all slots were busy
    };
    Grant acquire(Cycle t);
    void release(const Grant& g, Cycle end);

    uint64_t waits() const { return waits_; }
    uint64_t wait_cycles() const { return wait_cycles_; }

private:
    std::vector<Cycle> free_at_;
    unsigned hint_ = 0;  // the slot released last: usually free again for the next request
    uint64_t waits_ = 0;
    uint64_t wait_cycles_ = 0;
};

}  // namespace smmu
