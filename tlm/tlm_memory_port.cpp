#include "tlm/tlm_memory_port.h"

#include <cstring>

#include "tlm/exclusive_monitor.h"

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

bool TlmMemoryPort::request_dmi(Region& r, tlm::tlm_command cmd, uint64_t pa) {
    tlm::tlm_generic_payload& gp = gp_;
    gp.set_command(cmd);
    gp.set_address(pa);
    gp.set_data_ptr(nullptr);
    gp.set_data_length(0);
    r.dmi.init();
    r.valid = (*socket_)->get_direct_mem_ptr(gp, r.dmi);
    return r.valid;
}

bool TlmMemoryPort::dmi_access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    const bool write = cmd == tlm::TLM_WRITE_COMMAND;
    if (write && dmi_mode_ == DmiMode::Reads) return false;
    Region& r = region(pa);
    const auto inside = [&] {
        return r.valid && pa >= r.dmi.get_start_address() && pa + len - 1 <= r.dmi.get_end_address();
    };
    // Reads mode asks only where b_transport's hint said DMI is there (access()).
    if (!inside() && (dmi_mode_ == DmiMode::Reads || !request_dmi(r, cmd, pa) || !inside())) return false;
    if (write ? !r.dmi.is_write_allowed() : !r.dmi.is_read_allowed()) return false;
    unsigned char* host = r.dmi.get_dmi_ptr() + (pa - r.dmi.get_start_address());
    if (write)
        std::memcpy(host, data, len);
    else
        std::memcpy(data, host, len);
    const sc_core::sc_time& cost = dmi_mode_ == DmiMode::Cpu ? dmi_cost_ : r.dmi.get_read_latency();
    if (delay_) *delay_ += cost;
    last_ps_ = to_ps(cost);
    (write ? writes_ : reads_)++;
    return true;
}

void TlmMemoryPort::invalidate_dmi(uint64_t start, uint64_t end) {
    for (Region& r : regions_)
        if (r.valid && r.dmi.get_start_address() <= end && start <= r.dmi.get_end_address()) r.valid = false;
}

bool TlmMemoryPort::access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    if (dmi_mode_ != DmiMode::Off && dmi_access(cmd, pa, data, len)) return true;
    tlm::tlm_generic_payload& gp = gp_;
    prepare(gp, cmd, pa, data, len);
    gp.set_dmi_allowed(false);
    sc_core::sc_time local = sc_core::SC_ZERO_TIME;
    (*socket_)->b_transport(gp, local);
    last_ps_ = to_ps(local);
    if (delay_) *delay_ += local;
    (cmd == tlm::TLM_READ_COMMAND ? reads_ : writes_)++;
    const bool ok = gp.is_response_ok();
    // The target hints that DMI serves this address (IEEE 1666-2011 14.13,
    // the DMI allowed attribute): ask for it now, for the next reads there.
    if (ok && dmi_mode_ == DmiMode::Reads && cmd == tlm::TLM_READ_COMMAND && gp.is_dmi_allowed())
        request_dmi(region(pa), cmd, pa);
    return ok;
}

bool TlmMemoryPort::load_exclusive(uint64_t pa, void* dst, unsigned len, sc_core::sc_event& wake) {
    tlm::tlm_generic_payload& gp = gp_;
    ExclusiveMonitorExtension ext;
    ext.wake = &wake;
    prepare(gp, tlm::TLM_READ_COMMAND, pa, dst, len);
    gp.set_dmi_allowed(false);
    gp.set_extension(&ext);
    sc_core::sc_time local = sc_core::SC_ZERO_TIME;
    (*socket_)->b_transport(gp, local);
    gp.clear_extension(&ext);
    const sc_core::sc_time& cost = dmi_mode_ == DmiMode::Cpu ? dmi_cost_ : local;
    last_ps_ = to_ps(cost);
    if (delay_) *delay_ += cost;
    ++reads_;
    return gp.is_response_ok();
}

bool TlmDebugPort::access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    prepare(gp_, cmd, pa, data, len);
    return (*socket_)->transport_dbg(gp_) == len;
}

}  // namespace smmu
