#include "testbenches/traffic/pri_device.h"

#include <algorithm>

#include "tlm/smmu_extension.h"

namespace smmu::sim {

using sc_core::sc_time;

PriDevice::PriDevice(sc_core::sc_module_name name, const PriDeviceParams& p)
    : sc_module(name), socket("socket"), p_(p) {}

tlm::tlm_response_status PriDevice::transport(tlm::tlm_generic_payload& gp, uint64_t addr, bool write, void* data,
                                              unsigned len, bool page_request, uint16_t prgi, uint8_t* event_id) {
    SmmuExtension ext;
    ext.sid = p_.sid;
    ext.ssid = p_.ssid;
    ext.ssv = p_.ssv;
    ext.page_request = page_request;
    ext.prg_index = prgi;
    ext.prg_last = true;
    gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    gp.set_extension(&ext);
    sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(gp, delay);
    gp.clear_extension(&ext);
    wait(delay);
    if (event_id) *event_id = ext.event_id;
    return gp.get_response_status();
}

bool PriDevice::dma(uint64_t addr, bool write, void* data, unsigned len) {
    ++stats_.dmas;
    tlm::tlm_generic_payload gp;
    for (unsigned attempt = 0;; ++attempt) {
        uint8_t event_id = 0;
        if (transport(gp, addr, write, data, len, false, 0, &event_id) == tlm::TLM_OK_RESPONSE) {
            ++stats_.dma_ok;
            return true;
        }
        // Only a translation fault is worth a page request (the SMMU says which).
        const bool translation = event_id == static_cast<uint8_t>(arch::EventId::F_TRANSLATION) ||
                                 event_id == static_cast<uint8_t>(arch::EventId::F_PERMISSION) ||
                                 event_id == static_cast<uint8_t>(arch::EventId::F_ACCESS);
        if (!p_.pri || !translation || attempt == p_.max_retries) break;
        // A PRG of one page; its index is free again once answered (PCIe 10.4.1).
        const uint16_t prgi = next_prgi_;
        next_prgi_ = (next_prgi_ + 1) & 0x1ff;
        Group& g = *(groups_[prgi] = std::make_unique<Group>());
        ++stats_.page_requests;
        const sc_time asked = sc_core::sc_time_stamp();
        uint64_t none = 0;
        transport(gp, addr & ~uint64_t{0xfff}, write, &none, 8, true, prgi, nullptr);
        while (!g.done) wait(g.answered);
        const double waited = (sc_core::sc_time_stamp() - asked).to_seconds() * 1e9;
        stats_.wait_ns_total += waited;
        stats_.wait_ns_max = std::max(stats_.wait_ns_max, waited);
        const arch::PriResp resp = g.resp;
        groups_.erase(prgi);
        if (resp != arch::PriResp::Success) break;
        ++stats_.retries;
    }
    ++stats_.dma_failed;
    return false;
}

void PriDevice::prg_response(const PrgResponse& m, sc_time delay) {
    ++stats_.responses;
    auto it = groups_.find(m.prg_index);
    if (m.sid != p_.sid || it == groups_.end() || it->second->done) {
        ++stats_.responses_unexpected;  // UPRGI
        return;
    }
    ++(m.resp == arch::PriResp::Success   ? stats_.resp_success
       : m.resp == arch::PriResp::Failure ? stats_.resp_failure
                                          : stats_.resp_invalid);
    it->second->done = true;
    it->second->resp = m.resp;
    it->second->answered.notify(delay);
}

}  // namespace smmu::sim
