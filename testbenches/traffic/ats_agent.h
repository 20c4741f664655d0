// The ATS side of a PCIe device (devices.<d>.ats): its ATC, the Translation
// Requests it sends the SMMU on a miss, and its answers to the SMMU's ATS
// Invalidate Requests (CMD_ATC_INV, on the SMMU's ats_inv socket).
//
//   TrafficGenerator --ATS Translation Request / Translated--> Smmu.upstream
//   Smmu.ats_inv --Invalidate (CMD_ATC_INV)--> AtsAgent.atc_inv
//
// A Translation Request costs the SMMU's time plus the PCIe round trip
// (pcie_round_trip_ns); an invalidation is answered inv_response_ns after
// it arrives, or never (the SMMU's CMD_SYNC then never completes).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "models/smmu/ats/ats.h"
#include "models/pcie/atc.h"
#include "tlm/smmu_extension.h"

namespace smmu::sim {

struct AtsParams {
    CacheGeometry atc;
    sc_core::sc_time pcie_round_trip;
    std::optional<sc_core::sc_time> inv_response;  // empty: never answers
};

struct AtsStats {
    uint64_t translation_requests = 0;
    uint64_t denied = 0;  // Success with R == W == 0, or not the access needed
    uint64_t unsupported = 0, aborted = 0;  // UR, CA completions
    uint64_t invalidations = 0, entries_invalidated = 0;
    uint64_t invalidations_unanswered = 0;  // received, never answered
};

// What a Translation Request (or the ATC) gave an access.
enum class AtsOutcome {
    Translated,   // the access goes out Translated
    Denied,       // Success without the permission asked (R = W = 0): with PRI, a Page Request (PCIe 6.0 10.4.1)
    Unsupported,  // UR completion
    Aborted,      // CA completion
};

class AtsAgent : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<AtsAgent> atc_inv;

    AtsAgent(sc_core::sc_module_name name, const AtsParams& p);
    // The device's ATS Control Enable bit as the host driver set it
    // (pci_enable_ats / pci_disable_ats); without it the device sends
    // untranslated transactions. PCI config space is not modelled: the
    // platform passes the driver's state.
    void set_enabled(std::function<bool()> enabled) { enabled_ = std::move(enabled); }
    bool enabled() const { return !enabled_ || enabled_(); }

    // Before an access of `gp` (its extension `ext`), with ATS enabled: the ATC's translation,
    // else a Translation Request to the SMMU through `smmu` first. Translated:
    // gp now carries the PA and `ext` marks it Translated. Otherwise no
    // translation grants the access (counted; the access is not made), and
    // the outcome says why. `delay`: the access's time offset, advanced by a
    // Translation Request's round trip.
    AtsOutcome translate(tlm::tlm_fw_transport_if<>& smmu, tlm::tlm_generic_payload& gp, SmmuExtension& ext,
                   sc_core::sc_time& delay);

    const Atc& atc() const { return atc_; }
    const AtsStats& stats() const { return stats_; }

private:
    void invalidate(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);

    AtsParams p_;
    Atc atc_;
    AtsStats stats_;
    sc_core::sc_event never_;  // what an unanswering device waits for
    std::function<bool()> enabled_;
};

}  // namespace smmu::sim
