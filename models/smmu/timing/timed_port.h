// The SMMU's table-walk port: a MemoryPort that books each access on the
// port's bandwidth calendar and moves a timeline cursor to when the data is
// back (transfer + the latency the memory reported). The walker and the
// configuration fetch read through it, so their reads queue behind each other.
#pragma once
#include "models/memory/memory_port.h"
#include "models/smmu/timing/resources.h"

namespace smmu {

class TimedPort : public MemoryPort {
public:
    TimedPort(MemoryPort& mem, BandwidthCalendar& port, uint64_t period_ps)
        : mem_(mem), port_(port), period_ps_(period_ps) {}

    // The timeline accesses advance; null: untimed (functional use).
    void set_cursor(Cycle* now) { now_ = now; }

    bool read(uint64_t pa, void* dst, unsigned len) override {
        return timed(len, [&] { return mem_.read(pa, dst, len); });
    }
    bool write(uint64_t pa, const void* src, unsigned len) override {
        return timed(len, [&] { return mem_.write(pa, src, len); });
    }
    uint64_t last_latency_ps() const override { return mem_.last_latency_ps(); }

    uint64_t accesses() const { return accesses_; }

private:
    template <class Access>
    bool timed(unsigned len, Access access) {
        ++accesses_;
        const bool ok = access();
        if (now_) {
            const Cycle sent = port_.book(*now_, len);
            // Memory latency rounds up to whole SMMU cycles.
            *now_ = sent + (mem_.last_latency_ps() + period_ps_ - 1) / period_ps_;
        }
        return ok;
    }

    MemoryPort& mem_;
    BandwidthCalendar& port_;
    uint64_t period_ps_;
    Cycle* now_ = nullptr;
    uint64_t accesses_ = 0;
};

}  // namespace smmu
