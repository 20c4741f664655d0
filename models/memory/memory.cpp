#include "models/memory/memory.h"

namespace smmu {

Memory::Memory(sc_core::sc_module_name name, unsigned pa_bits, sc_core::sc_time read_latency,
               sc_core::sc_time write_latency)
    : sc_module(name), socket("socket"), store_(pa_bits), read_latency_(read_latency), write_latency_(write_latency) {
    socket.register_b_transport(this, &Memory::b_transport);
    socket.register_transport_dbg(this, &Memory::transport_dbg);
    socket.register_get_direct_mem_ptr(this, &Memory::get_direct_mem_ptr);
}

bool Memory::access(tlm::tlm_generic_payload& gp, bool debug) {
    const unsigned len = gp.get_data_length();
    // Byte enables and streaming are not modelled: refuse rather than ignore
    // them. Debug transport uses only command, address, data and length.
    if (!debug && (gp.get_byte_enable_ptr() || gp.get_streaming_width() < len)) {
        gp.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
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
    return ok;
}

void Memory::b_transport(int, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    if (!access(gp, false)) return;
    if (gp.is_read()) {
        ++reads_;
        delay += read_latency_;
    } else if (gp.is_write()) {
        ++writes_;
        delay += write_latency_;
    }
    gp.set_dmi_allowed(true);
}

unsigned Memory::transport_dbg(int, tlm::tlm_generic_payload& gp) {
    return access(gp, true) ? gp.get_data_length() : 0;
}

bool Memory::get_direct_mem_ptr(int, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
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
