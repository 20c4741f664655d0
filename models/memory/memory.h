// SystemC shell of SparseMemory: a TLM-2.0 target with b_transport (fixed
// read/write latency), nb_transport_fw (completes at BEGIN_REQ: TLM_COMPLETED
// with the latency annotated, IEEE 1666-2011 14.2.2), transport_dbg and DMI
// (read-write, one 4 KiB page at a time; b_transport's DMI hint is set for a
// page that exists), and a global exclusive monitor (tlm/exclusive_monitor.h:
// an exclusive load arms it; a write by b_transport to the granule wakes the
// loader; DMI writes bypass it, as they bypass the target). Any number of initiators bind to
// its one multi-socket (SMMU table walks and DMA, the host CPU).
// BasicMemory<BUSWIDTH> picks the socket's bus width; Memory is the 32-bit one.
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include <vector>

#include "models/memory/sparse_memory.h"
#include "tlm/report.h"

namespace smmu {

// The memory module but its socket (BasicMemory registers these callbacks).
class MemoryBase : public sc_core::sc_module {
public:
    SparseMemory& store() { return store_; }
    uint64_t reads() const { return reads_; }
    uint64_t writes() const { return writes_; }

protected:
    MemoryBase(sc_core::sc_module_name name, unsigned pa_bits, sc_core::sc_time read_latency,
               sc_core::sc_time write_latency);

    void b_transport(int id, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    tlm::tlm_sync_enum nb_transport_fw(int id, tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                       sc_core::sc_time& delay);
    unsigned transport_dbg(int id, tlm::tlm_generic_payload& gp);
    bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);

private:
    // Checks and performs the access; false sets the response status.
    bool access(tlm::tlm_generic_payload& gp, bool debug);

    // The global exclusive monitor: one armed granule per waiter.
    struct Monitor {
        uint64_t granule;
        sc_core::sc_event* wake;
    };
    void monitor(const tlm::tlm_generic_payload& gp);

    SparseMemory store_;
    std::vector<Monitor> monitors_;
    sc_core::sc_time read_latency_, write_latency_;
    uint64_t reads_ = 0, writes_ = 0;
    bool warned_byte_enables_ = false;
};

template <unsigned BUSWIDTH = 32>
class BasicMemory : public MemoryBase {
public:
    tlm_utils::multi_passthrough_target_socket<MemoryBase, BUSWIDTH> socket;

    BasicMemory(sc_core::sc_module_name name, unsigned pa_bits, sc_core::sc_time read_latency,
                sc_core::sc_time write_latency)
        : MemoryBase(name, pa_bits, read_latency, write_latency), socket("socket") {
        socket.register_b_transport(this, &BasicMemory::b_transport);
        socket.register_nb_transport_fw(this, &BasicMemory::nb_transport_fw);
        socket.register_transport_dbg(this, &BasicMemory::transport_dbg);
        socket.register_get_direct_mem_ptr(this, &BasicMemory::get_direct_mem_ptr);
    }
};

using Memory = BasicMemory<32>;
using Memory64 = BasicMemory<64>;

}  // namespace smmu
