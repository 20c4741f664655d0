#include "tlm/tlm_memory_port.h"

#include <cstring>

namespace smmu {

namespace {
// A time in whole picoseconds (rounded), without going through a double when
// the kernel's resolution is a whole number of picoseconds (1 ps by default).
uint64_t to_ps(const sc_core::sc_time& t) {
    static const uint64_t res_ps = [] {
        const double ps = sc_core::sc_get_time_resolution().to_seconds() * 1e12;
        const uint64_t whole = static_cast<uint64_t>(ps + 0.5);
        return whole >= 1 && static_cast<double>(whole) == ps ? whole : 0;
    }();
    return res_ps ? t.value() * res_ps : static_cast<uint64_t>(t.to_seconds() * 1e12 + 0.5);
}

// A plain access of `len` bytes at `pa` (no byte enables, no streaming).
void prepare(tlm::tlm_generic_payload& gp, tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    gp.set_command(cmd);
    gp.set_address(pa);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}
}  // namespace

bool TlmMemoryPort::dmi_access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    const auto inside = [&] { return dmi_valid_ && pa >= dmi_.get_start_address() && pa + len - 1 <= dmi_.get_end_address(); };
    if (!inside()) {
        tlm::tlm_generic_payload& gp = gp_;
        gp.set_command(cmd);
        gp.set_address(pa);
        gp.set_data_ptr(nullptr);
        gp.set_data_length(0);
        dmi_.init();
        dmi_valid_ = (*socket_)->get_direct_mem_ptr(gp, dmi_);
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
    last_ps_ = to_ps(dmi_cost_);
    (write ? writes_ : reads_)++;
    return true;
}

bool TlmMemoryPort::access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    if (dmi_enabled_ && dmi_access(cmd, pa, data, len)) return true;
    tlm::tlm_generic_payload& gp = gp_;
    prepare(gp, cmd, pa, data, len);
    sc_core::sc_time local = sc_core::SC_ZERO_TIME;
    (*socket_)->b_transport(gp, local);
    last_ps_ = to_ps(local);
    if (delay_) *delay_ += local;
    (cmd == tlm::TLM_READ_COMMAND ? reads_ : writes_)++;
    return gp.is_response_ok();
}

bool TlmDebugPort::access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    prepare(gp_, cmd, pa, data, len);
    return (*socket_)->transport_dbg(gp_) == len;
}

}  // namespace smmu
