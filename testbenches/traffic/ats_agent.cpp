#include "testbenches/traffic/ats_agent.h"

#include <cstring>

namespace smmu::sim {

AtsAgent::AtsAgent(sc_core::sc_module_name name, const AtsParams& p) : sc_module(name), atc_inv("atc_inv"), p_(p), atc_(p.atc) {
    atc_inv.register_b_transport(this, &AtsAgent::invalidate);
}

AtsOutcome AtsAgent::translate(tlm::tlm_fw_transport_if<>& smmu, tlm::tlm_generic_payload& gp, SmmuExtension& ext,
                         sc_core::sc_time& delay) {
    const uint64_t addr = gp.get_address();
    const bool write = gp.is_write();
    const TlbEntry* e = atc_.lookup(ext.ssv, ext.ssid, addr, write);
    if (!e) {
        // An ATS Translation Request for the page (a write asks for write
        // permission: NW = 0), from the device to the SMMU and back.
        ++stats_.translation_requests;
        SmmuExtension req = ext;
        req.ats = SmmuExtension::Ats::TranslationRequest;
        tlm::tlm_generic_payload tr;
        tr.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        tr.set_address(addr & ~uint64_t{4095});
        tr.set_data_ptr(nullptr);
        tr.set_data_length(0);
        tr.set_streaming_width(0);
        tr.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        tr.set_extension(&req);
        smmu.b_transport(tr, delay);
        tr.clear_extension(&req);
        delay += p_.pcie_round_trip;
        switch (static_cast<AtsStatus>(req.ats_status)) {
            case AtsStatus::UnsupportedRequest: ++stats_.unsupported; return AtsOutcome::Unsupported;
            case AtsStatus::CompleterAbort: ++stats_.aborted; return AtsOutcome::Aborted;
            case AtsStatus::Success: break;
        }
        if (!(write ? req.ats_write : req.ats_read)) {
            ++stats_.denied;
            return AtsOutcome::Denied;
        }
        atc_.fill(ext.ssv, ext.ssid, addr, req.pa, req.ats_size, req.ats_read, req.ats_write, req.ats_global);
        gp.set_address(req.pa | (addr & (req.ats_size - 1)));
    } else {
        gp.set_address(e->out_base | (addr & (e->size() - 1)));
    }
    ext.ats = SmmuExtension::Ats::Translated;
    return AtsOutcome::Translated;
}

void AtsAgent::invalidate(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    arch::Command c;
    if (gp.get_data_length() != arch::Command::kBytes) {
        gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    std::memcpy(c.w.data(), gp.get_data_ptr(), arch::Command::kBytes);
    ++stats_.invalidations;
    stats_.entries_invalidated += atc_.invalidate(c);
    if (!p_.inv_response) {
        // A device that never completes the invalidation.
        ++stats_.invalidations_unanswered;
        sc_core::wait(never_);
    }
    delay += *p_.inv_response;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace smmu::sim
