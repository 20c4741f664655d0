// SystemC shell of the SMMU: three TLM-2.0 sockets around SmmuCore.
//  upstream   (target, multi): DMA from masters, StreamID etc. in SmmuExtension
//  downstream (initiator):     table walks, config fetches, queue accesses and
//                              the translated DMA, to memory
//  mmio       (target):        the register file (2 x 64 KiB pages)
// Timing: the core computes each translation's completion cycle from its
// caches, slots and ports (docs/timing.md); this shell turns cycles into
// sc_time: it annotates the upstream transaction's delay (loosely timed) and
// waits out each command in its command-queue thread.
#pragma once
#include <cstdint>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/smmu/smmu_core.h"
#include "tlm/smmu_extension.h"
#include "tlm/tlm_memory_port.h"

namespace smmu {

class Smmu : public sc_core::sc_module {
public:
    // Any number of masters, none included (an instance may have no devices).
    tlm_utils::multi_passthrough_target_socket<Smmu, 32, tlm::tlm_base_protocol_types, 0, sc_core::SC_ZERO_OR_MORE_BOUND>
        upstream;
    tlm_utils::simple_initiator_socket<Smmu> downstream;
    tlm_utils::simple_target_socket<Smmu> mmio;

    SC_HAS_PROCESS(Smmu);
    // `mmio_cycles`: what one register access costs.
    Smmu(sc_core::sc_module_name name, const SmmuCoreParams& params, unsigned mmio_cycles = 1);

    SmmuCore& core() { return core_; }
    const SmmuCore& core() const { return core_; }
    sc_core::sc_time clock_period() const { return period_; }
    // The current simulation time in SMMU cycles (rounded up to a clock edge).
    Cycle now_cycles(sc_core::sc_time offset = sc_core::SC_ZERO_TIME) const;
    sc_core::sc_time time_of(Cycle c) const { return sc_core::sc_time::from_value(c * period_.value()); }

private:
    void upstream_b_transport(int port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    void mmio_b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    unsigned mmio_transport_dbg(tlm::tlm_generic_payload& gp);
    bool mmio_access(tlm::tlm_generic_payload& gp);
    void cmdq_thread();

    unsigned mmio_cycles_;
    sc_core::sc_time period_;
    double inv_period_;  // 1 / period_.value(), for now_cycles()
    TlmMemoryPort port_;
    SmmuCore core_;
    sc_core::sc_event cmdq_kick_;
};

}  // namespace smmu
