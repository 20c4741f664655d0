#include "models/memory/memory.h"

#include <algorithm>
#include <string>

#include "tlm/exclusive_monitor.h"

namespace smmu {

MemoryBase::MemoryBase(sc_core::sc_module_name name, unsigned pa_bits, sc_core::sc_time read_latency,
                       sc_core::sc_time write_latency)
    : sc_module(name), store_(pa_bits), read_latency_(read_latency), write_latency_(write_latency) {}

bool MemoryBase::access(tlm::tlm_generic_payload& gp, bool debug) {
    const unsigned len = gp.get_data_length();
    // Byte enables and streaming are not modelled: refuse rather than ignore
    // them. Debug transport uses only command, address, data and length.
    if (!debug && (gp.get_byte_enable_ptr() || gp.get_streaming_width() < len)) {
        gp.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        if (!warned_byte_enables_) {
            warned_byte_enables_ = true;
            SC_REPORT_WARNING(report::kMemory, (std::string(name()) +
                                                ": byte enables and streaming are not modelled: such transactions "
                                                "get TLM_BYTE_ENABLE_ERROR_RESPONSE (reported once)")
                                                   .c_str());
        }
        return false;
    }
    bool ok = true;
    switch (gp.get_command()) {
        case tlm::TLM_READ_COMMAND: ok = store_.read(gp.get_address(), gp.get_data_ptr(), len); break;
        case tlm::TLM_WRITE_COMMAND: ok = store_.write(gp.get_address(), gp.get_data_ptr(), len); break;
        case tlm::TLM_IGNORE_COMMAND: ok = store_.in_range(gp.get_address(), len); break;
        default: gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE); return false;
    }
    gp.set_response_status(ok ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
    if (!ok && report::verbose())
        SC_REPORT_INFO_VERB(report::kMemory,
                            (std::string(name()) + ": access beyond the " + std::to_string(store_.pa_bits()) +
                             "-bit address space")
                                .c_str(),
                            sc_core::SC_HIGH);
    return ok;
}

// An exclusive load arms the monitor for its loader (one granule each); a
// write to an armed granule wakes its loader a delta later and disarms it.
void MemoryBase::monitor(const tlm::tlm_generic_payload& gp) {
    const uint64_t first = gp.get_address() / kExclusiveGranuleBytes;
    if (gp.is_read()) {
        const auto* ext = gp.get_extension<ExclusiveMonitorExtension>();
        if (!ext || !ext->wake) return;
        monitors_.erase(std::remove_if(monitors_.begin(), monitors_.end(),
                                       [&](const Monitor& m) { return m.wake == ext->wake; }),
                        monitors_.end());
        monitors_.push_back(Monitor{first, ext->wake});
        return;
    }
    if (!gp.is_write() || gp.get_data_length() == 0) return;
    const uint64_t last = (gp.get_address() + gp.get_data_length() - 1) / kExclusiveGranuleBytes;
    monitors_.erase(std::remove_if(monitors_.begin(), monitors_.end(),
                                   [&](const Monitor& m) {
                                       if (m.granule < first || m.granule > last) return false;
                                       m.wake->notify(sc_core::SC_ZERO_TIME);
                                       return true;
                                   }),
                    monitors_.end());
}

void MemoryBase::b_transport(int, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!access(gp, false)) return;
    if (!monitors_.empty() || gp.is_read()) monitor(gp);
    if (gp.is_read()) {
        ++reads_;
        delay += read_latency_;
    } else if (gp.is_write()) {
        ++writes_;
        delay += write_latency_;
    }
    // DMI is offered where it has no side effect: a page that exists. A
    // never-written page reads as zero here without being allocated, and a
    // DMI grant would allocate it (memory.allocated_bytes would differ).
    gp.set_dmi_allowed(store_.existing_page(gp.get_address()) != nullptr);
}

tlm::tlm_sync_enum MemoryBase::nb_transport_fw(int id, tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                               sc_core::sc_time& delay) {
    // Early completion: the whole transaction at BEGIN_REQ, its latency in the
    // annotation; the initiator sees no END_REQ/BEGIN_RESP calls.
    if (phase != tlm::BEGIN_REQ) return tlm::TLM_COMPLETED;
    b_transport(id, gp, delay);
    phase = tlm::BEGIN_RESP;
    return tlm::TLM_COMPLETED;
}

unsigned MemoryBase::transport_dbg(int, tlm::tlm_generic_payload& gp) {
    return access(gp, true) ? gp.get_data_length() : 0;
}

bool MemoryBase::get_direct_mem_ptr(int, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    // DMI covers the one 4 KiB page holding the address: pages are allocated
    // independently, so no larger range is contiguous on the host.
    const uint64_t base = gp.get_address() & ~(SparseMemory::kPageBytes - 1);
    uint8_t* page = store_.page(base);
    if (!page) return false;
    dmi.set_dmi_ptr(page);
    dmi.set_start_address(base);
    dmi.set_end_address(base + SparseMemory::kPageBytes - 1);
    dmi.set_granted_access(tlm::tlm_dmi::DMI_ACCESS_READ_WRITE);
    dmi.set_read_latency(read_latency_);
    dmi.set_write_latency(write_latency_);
    return true;
}

}  // namespace smmu
