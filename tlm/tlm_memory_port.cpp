#include "tlm/tlm_memory_port.h"

namespace smmu {

bool TlmMemoryPort::access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len) {
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(pa);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time local = sc_core::SC_ZERO_TIME;
    sc_core::sc_time& delay = delay_ ? *delay_ : local;
    socket_->b_transport(gp, delay);
    (cmd == tlm::TLM_READ_COMMAND ? reads_ : writes_)++;
    return gp.is_response_ok();
}

}  // namespace smmu
