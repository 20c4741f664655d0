#include "testbenches/host/host.h"

#include "testbenches/config/input_error.h"

namespace smmu::sim {

using sc_core::sc_time;

Host::Host(sc_core::sc_module_name name, const Config& cfg)
    : sc_module(name), mmio("mmio"), mem("mem"), cfg_(cfg), port_(mem), driver_(*this, cfg) {
    port_.set_delay(&local_);
    port_.use_dmi(sc_time(cfg.host.mem_access_ns, sc_core::SC_NS));
    SC_THREAD(run);
}

void Host::run() {
    try {
        driver_.reset();
        driver_.install();
        wait(local_);
        local_ = sc_core::SC_ZERO_TIME;
        is_configured_ = true;
        configured_at_ = sc_core::sc_time_stamp();
        configured_.notify(sc_core::SC_ZERO_TIME);
        wait(finish_);
        events_ = driver_.drain_events();
    } catch (...) {
        // Never thrown through the SystemC scheduler: stop, report afterwards.
        error_ = std::current_exception();
        sc_core::sc_stop();
    }
}

void Host::mmio_access(tlm::tlm_command cmd, uint32_t offset, unsigned size, uint64_t& value) {
    // Memory writes before this register access take effect before it.
    wait(local_);
    local_ = sc_core::SC_ZERO_TIME;
    uint8_t data[8] = {};
    for (unsigned i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(value >> (8 * i));
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(offset);
    gp.set_data_ptr(data);
    gp.set_data_length(size);
    gp.set_streaming_width(size);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time delay = sc_time(cfg_.host.mmio_latency_ns, sc_core::SC_NS);
    mmio->b_transport(gp, delay);
    wait(delay);
    if (!gp.is_response_ok())
        throw HostError(std::string("host: bus error ") + (cmd == tlm::TLM_READ_COMMAND ? "reading" : "writing") +
                        " SMMU register " + hex(offset));
    value = 0;
    for (unsigned i = 0; i < size; ++i) value |= uint64_t{data[i]} << (8 * i);
}

uint64_t Host::mmio_read(uint32_t offset, unsigned size) {
    uint64_t v = 0;
    mmio_access(tlm::TLM_READ_COMMAND, offset, size, v);
    return v;
}

void Host::mmio_write(uint32_t offset, unsigned size, uint64_t value) {
    mmio_access(tlm::TLM_WRITE_COMMAND, offset, size, value);
}

void Host::idle() { wait(sc_time(cfg_.host.mmio_latency_ns, sc_core::SC_NS)); }

}  // namespace smmu::sim
