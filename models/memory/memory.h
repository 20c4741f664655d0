// SystemC shell of SparseMemory: a TLM-2.0 target with b_transport (fixed
// read/write latency), transport_dbg and DMI. Any number of initiators bind
// to its one multi-socket (SMMU table walks and DMA, the host CPU).
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "models/memory/sparse_memory.h"

namespace smmu {

class Memory : public sc_core::sc_module {
public:
    tlm_utils::multi_passthrough_target_socket<Memory> socket;

    Memory(sc_core::sc_module_name name, unsigned pa_bits, sc_core::sc_time read_latency,
           sc_core::sc_time write_latency);

    SparseMemory& store() { return store_; }
    uint64_t reads() const { return reads_; }
    uint64_t writes() const { return writes_; }

private:
    void b_transport(int id, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    unsigned transport_dbg(int id, tlm::tlm_generic_payload& gp);
    bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
    // Checks and performs the access; false sets the response status.
    bool access(tlm::tlm_generic_payload& gp, bool debug);

    SparseMemory store_;
    sc_core::sc_time read_latency_, write_latency_;
    uint64_t reads_ = 0, writes_ = 0;
};

}  // namespace smmu
