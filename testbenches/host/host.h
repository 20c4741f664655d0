// SystemC shell of the host: a CPU thread that runs the HostDriver over two
// TLM initiator sockets (SMMU registers, memory). Memory writes accumulate
// local time that is synchronised before every register access, so the SMMU
// always sees tables written before the MMIO write that publishes them.
#pragma once
#include <exception>
#include <memory>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "testbenches/host/host_driver.h"
#include "tlm/tlm_memory_port.h"

namespace smmu::sim {

class Host : public sc_core::sc_module, private HostBus {
public:
    tlm_utils::simple_initiator_socket<Host> mmio;
    tlm_utils::simple_initiator_socket<Host> mem;

    SC_HAS_PROCESS(Host);
    Host(sc_core::sc_module_name name, const Config& cfg);

    // Notified once the SMMU is reset and every device installed.
    const sc_core::sc_event& configured() const { return configured_; }
    bool is_configured() const { return is_configured_; }
    // Ask the host to drain the event queue and stop the simulation.
    void finish() { finish_.notify(sc_core::SC_ZERO_TIME); }

    HostDriver& driver() { return driver_; }
    const std::vector<arch::EventRecord>& events() const { return events_; }
    // What stopped the host thread, rethrown by the platform after the kernel returns.
    std::exception_ptr error() const { return error_; }
    sc_core::sc_time configured_at() const { return configured_at_; }

private:
    void run();
    uint64_t mmio_read(uint32_t offset, unsigned size) override;
    void mmio_write(uint32_t offset, unsigned size, uint64_t value) override;
    MemoryPort& memory() override { return port_; }
    void idle() override;
    void mmio_access(tlm::tlm_command cmd, uint32_t offset, unsigned size, uint64_t& value);

    const Config& cfg_;
    TlmMemoryPort port_;
    sc_core::sc_time local_;  // CPU time not yet synchronised
    HostDriver driver_;
    sc_core::sc_event configured_, finish_;
    bool is_configured_ = false;
    sc_core::sc_time configured_at_;
    std::vector<arch::EventRecord> events_;
    std::exception_ptr error_;
};

}  // namespace smmu::sim
