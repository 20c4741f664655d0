#include "tlm/tlm_memory_port.h"

#include <cstring>

namespace smmu {

bool TlmMemoryPort::dmi_access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    const auto inside = [&] { return dmi_valid_ && pa >= dmi_.get_start_address() && pa + len - 1 <= dmi_.get_end_address(); };
    if (!inside()) {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(pa);
        dmi_valid_ = socket_->get_direct_mem_ptr(gp, dmi_);
        if (!inside()) return false;
    }
    const bool write = cmd == tlm::TLM_WRITE_COMMAND;
    if (write ? !dmi_.is_write_allowed() : !dmi_.is_read_allowed()) return false;
    unsigned char* host = dmi_.get_dmi_ptr() + (pa - dmi_.get_start_address());
    if (write)
        std::memcpy(host, data, len);
    else
        std::memcpy(data, host, len);
    if (delay_) *delay_ += dmi_cost_;
    last_ps_ = static_cast<uint64_t>(dmi_cost_.to_seconds() * 1e12 + 0.5);
    (write ? writes_ : reads_)++;
    return true;
}

bool TlmMemoryPort::access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    if (dmi_enabled_ && dmi_access(cmd, pa, data, len)) return true;
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(pa);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time local = sc_core::SC_ZERO_TIME;
    socket_->b_transport(gp, local);
    last_ps_ = static_cast<uint64_t>(local.to_seconds() * 1e12 + 0.5);
    if (delay_) *delay_ += local;
    (cmd == tlm::TLM_READ_COMMAND ? reads_ : writes_)++;
    return gp.is_response_ok();
}

}  // namespace smmu
