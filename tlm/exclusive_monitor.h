// An exclusive load (Arm LDXR; AXI exclusive access, ARLOCK) as a TLM-2.0
// extension on a read: the target's global exclusive monitor then watches the
// reservation granule around the address and notifies `wake` when a write to
// it arrives (Arm ARM B2.9: a store by another observer clears the monitor,
// which is a WFE wake-up event). That is how a CPU waiting in WFE after
// __cmpwait_relaxed (arm64's smp_cond_load_relaxed) learns that the word it
// watches has changed: here, a CMD_SYNC's MSI write.
#pragma once
#include <systemc>
#include <tlm>

namespace smmu {

struct ExclusiveMonitorExtension : tlm::tlm_extension<ExclusiveMonitorExtension> {
    // Notified by the target; it must outlive the target's monitor: until the
    // monitor fires, or the same event arms another granule (a loader that
    // goes away first would leave the target a dangling event).
    sc_core::sc_event* wake = nullptr;

    tlm::tlm_extension_base* clone() const override { return new ExclusiveMonitorExtension(*this); }
    void copy_from(const tlm::tlm_extension_base& other) override {
        wake = static_cast<const ExclusiveMonitorExtension&>(other).wake;
    }
};

// The reservation granule (CTR_EL0.ERG: 64 bytes on common cores).
inline constexpr uint64_t kExclusiveGranuleBytes = 64;

}  // namespace smmu
