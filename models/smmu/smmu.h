// SystemC shell of the SMMU: three TLM-2.0 sockets around SmmuCore.
//  upstream   (target, multi): DMA from masters, StreamID etc. in SmmuExtension
//  downstream (initiator):     table walks, config fetches, queue accesses and
//                              the translated DMA, to memory
//  mmio       (target):        the register file (2 x 64 KiB pages)
// Timing (loosely timed): each memory access costs what the downstream target
// annotates; a translation adds `pipeline_cycles`; each command `cmd_cycles`.
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

struct SmmuTiming {
    unsigned clock_mhz = 1000;
    unsigned pipeline_cycles = 2;  // per translation, outside memory accesses
    unsigned cmd_cycles = 1;       // per command executed
    unsigned mmio_cycles = 1;      // per register access
};

class Smmu : public sc_core::sc_module {
public:
    tlm_utils::multi_passthrough_target_socket<Smmu> upstream;
    tlm_utils::simple_initiator_socket<Smmu> downstream;
    tlm_utils::simple_target_socket<Smmu> mmio;

    SC_HAS_PROCESS(Smmu);
    Smmu(sc_core::sc_module_name name, const SmmuCoreParams& params, const SmmuTiming& timing);

    SmmuCore& core() { return core_; }
    const SmmuCore& core() const { return core_; }
    sc_core::sc_time clock_period() const { return period_; }
    // SMMU clock cycles elapsed so far (the PMCG cycle counter).
    uint64_t cycles() const;

private:
    void upstream_b_transport(int port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    void mmio_b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    unsigned mmio_transport_dbg(tlm::tlm_generic_payload& gp);
    bool mmio_access(tlm::tlm_generic_payload& gp);
    void cmdq_thread();

    SmmuTiming timing_;
    sc_core::sc_time period_;
    TlmMemoryPort port_;
    SmmuCore core_;
    sc_core::sc_event cmdq_kick_;
};

}  // namespace smmu
