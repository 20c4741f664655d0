#include "testbenches/traffic/pri_device.h"

#include <algorithm>

#include "tlm/smmu_extension.h"

namespace smmu::sim {

using sc_core::sc_time;

namespace {
// One transaction from `sid` through `smmu`, its delay waited out.
tlm::tlm_response_status transport(tlm::tlm_fw_transport_if<>& smmu, SmmuExtension& ext, uint64_t addr, bool write,
                                   void* data, unsigned len, sc_time delay) {
    tlm::tlm_generic_payload gp;
    gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    gp.set_extension(&ext);
    smmu.b_transport(gp, delay);
    gp.clear_extension(&ext);
    sc_core::wait(delay);
    return gp.get_response_status();
}
}  // namespace

bool PriFunction::requests_page_for(uint8_t event_id) {
    return event_id == static_cast<uint8_t>(arch::EventId::F_TRANSLATION) ||
           event_id == static_cast<uint8_t>(arch::EventId::F_PERMISSION) ||
           event_id == static_cast<uint8_t>(arch::EventId::F_ACCESS);
}

arch::PriResp PriFunction::request_page(tlm::tlm_fw_transport_if<>& smmu, uint64_t addr, bool write, bool ssv,
                                        uint32_t ssid, sc_time& delay) {
    // The function's own time first: the response comes in the kernel's.
    sc_core::wait(delay);
    delay = sc_core::SC_ZERO_TIME;
    while (groups_.size() >= outstanding_) sc_core::wait(freed_);
    // A PRG of one page, at the next free index (free again once answered, PCIe 10.4.1).
    while (groups_.count(next_prgi_)) next_prgi_ = (next_prgi_ + 1) & 0x1ff;
    const uint16_t prgi = next_prgi_;
    next_prgi_ = (next_prgi_ + 1) & 0x1ff;
    Group& g = *(groups_[prgi] = std::make_unique<Group>());
    g.ssv = ssv;
    g.ssid = ssid;
    ++stats_.page_requests;
    const sc_time asked = sc_core::sc_time_stamp();
    SmmuExtension ext;
    ext.sid = sid_;
    ext.ssv = ssv;
    ext.ssid = ssid;
    ext.page_request = true;
    ext.prg_index = prgi;
    ext.prg_last = true;
    uint64_t none = 0;
    transport(smmu, ext, addr & ~uint64_t{0xfff}, write, &none, 8, sc_core::SC_ZERO_TIME);
    while (!g.done) sc_core::wait(g.answered);
    const double waited = (sc_core::sc_time_stamp() - asked).to_seconds() * 1e9;
    stats_.wait_ns_total += waited;
    stats_.wait_ns_max = std::max(stats_.wait_ns_max, waited);
    const arch::PriResp resp = g.resp;
    groups_.erase(prgi);
    freed_.notify(sc_core::SC_ZERO_TIME);
    if (resp == arch::PriResp::Success) ++stats_.retries;
    return resp;
}

void PriFunction::prg_response(const PrgResponse& m, sc_time delay) {
    ++stats_.responses;
    auto it = groups_.find(m.prg_index);
    const bool pasid_mismatch = it != groups_.end() && pasid_required_ && it->second->ssv &&
                                (!m.ssv || m.ssid != it->second->ssid);
    if (m.sid != sid_ || it == groups_.end() || it->second->done || pasid_mismatch) {
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

PriDevice::PriDevice(sc_core::sc_module_name name, const PriDeviceParams& p)
    : sc_module(name), socket("socket"), p_(p), pri_(p.sid, 1, p.pasid_required) {}

bool PriDevice::dma(uint64_t addr, bool write, void* data, unsigned len) {
    PriDeviceStats& s = pri_.stats();
    ++s.dmas;
    for (unsigned attempt = 0;; ++attempt) {
        SmmuExtension ext;
        ext.sid = p_.sid;
        ext.ssid = p_.ssid;
        ext.ssv = p_.ssv;
        if (transport(*socket.operator->(), ext, addr, write, data, len, sc_core::SC_ZERO_TIME) == tlm::TLM_OK_RESPONSE) {
            ++s.dma_ok;
            return true;
        }
        if (!p_.pri || !PriFunction::requests_page_for(ext.event_id) || attempt == p_.max_retries) break;
        sc_time delay = sc_core::SC_ZERO_TIME;
        if (pri_.request_page(*socket.operator->(), addr, write, p_.ssv, p_.ssid, delay) != arch::PriResp::Success) break;
    }
    ++s.dma_failed;
    return false;
}

}  // namespace smmu::sim
