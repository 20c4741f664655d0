#include "models/smmu/timing/resources.h"

#include <algorithm>

namespace smmu {

Cycle BandwidthCalendar::book(Cycle t, unsigned units) {
    if (!limited() || units == 0) return t;  // no port to cross: no transfer time
    Cycle c = t;
    Cycle first = 0;
    bool started = false;
    while (units > 0) {
        unsigned& used = used_[c];
        const unsigned take = std::min(units, capacity_ - used);
        if (take > 0) {
            if (!started) {
                first = c;
                started = true;
            }
            used += take;
            units -= take;
            ++busy_cycles_;
        }
        if (used == 0) used_.erase(c);
        ++c;
    }
    queued_cycles_ += first - t;
    return c;
}

void BandwidthCalendar::retire_before(Cycle t) {
    if (used_.empty() || used_.begin()->first >= t) return;  // (erasing an empty range still costs)
    used_.erase(used_.begin(), used_.lower_bound(t));
}

SlotPool::Grant SlotPool::acquire(Cycle t) {
    if (free_at_.empty()) return {0, t};
    // Any slot already free by `t` starts at `t`, as the earliest one would.
    if (free_at_[hint_] <= t) {
        free_at_[hint_] = ~Cycle{0};
        return {hint_, t};
    }
    const auto it = std::min_element(free_at_.begin(), free_at_.end());
    const unsigned slot = static_cast<unsigned>(it - free_at_.begin());
    const Cycle start = std::max(t, *it);
    if (start > t) {
        ++waits_;
        wait_cycles_ += start - t;
    }
    free_at_[slot] = ~Cycle{0};  // held until released
    return {slot, start};
}

void SlotPool::release(const Grant& g, Cycle end) {
    if (free_at_.empty()) return;
    free_at_[g.slot] = end;
    hint_ = g.slot;
}

}  // namespace smmu
