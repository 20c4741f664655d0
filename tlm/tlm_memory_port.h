// A MemoryPort over a TLM-2.0 initiator socket: how a plain-C++ core (walker,
// queues) reaches memory from inside a SystemC module. Each access is one
// blocking transport call; the target's latency accumulates into the caller's
// local-time annotation, which the caller then consumes (LT coding style).
#pragma once
#include <cstdint>

#include <systemc>
#include <tlm>

#include "models/memory/memory_port.h"

namespace smmu {

// The forward interface of an initiator socket of any bus width
// (tlm_initiator_socket<BUSWIDTH> is one).
using TlmForwardPort = sc_core::sc_port_b<tlm::tlm_fw_transport_if<>>;

class TlmMemoryPort : public MemoryPort {
public:
    // The socket is used at access time, so it may be bound after construction.
    explicit TlmMemoryPort(TlmForwardPort& socket) : socket_(&socket) {}
    // A socket given later, by attach() (a module's own socket of a width its
    // subclass chooses).
    TlmMemoryPort() = default;
    void attach(TlmForwardPort& socket) { socket_ = &socket; }

    // Where accesses add their latency until the next call (the caller's delay).
    void set_delay(sc_core::sc_time* delay) { delay_ = delay; }
    // A CPU-like initiator: reach memory through DMI where the target grants
    // it, each access costing `per_access` (a cached store, not a DRAM trip).
    void use_dmi(sc_core::sc_time per_access) {
        dmi_mode_ = DmiMode::Cpu;
        dmi_cost_ = per_access;
    }
    // An SMMU's table walks and structure fetches: reads through DMI where the
    // target hints at it (a b_transport read's DMI allowed attribute) and
    // grants it, each costing the read latency the grant states (a DRAM trip,
    // what the target's b_transport annotates: the timing is the same, only
    // the simulator's path is shorter); writes keep b_transport.
    void use_dmi_reads() { dmi_mode_ = DmiMode::Reads; }
    // The target withdrew [start, end] (invalidate_direct_mem_ptr).
    void invalidate_dmi(uint64_t start, uint64_t end);

    bool read(uint64_t pa, void* dst, unsigned len) override { return access(tlm::TLM_READ_COMMAND, pa, dst, len); }
    bool write(uint64_t pa, const void* src, unsigned len) override {
        return access(tlm::TLM_WRITE_COMMAND, pa, const_cast<void*>(src), len);
    }

    // An exclusive load (tlm/exclusive_monitor.h): always by b_transport (the
    // target's monitor must see it), costing what a read costs this port
    // (in DMI CPU mode a cached load). The target notifies `wake` when the
    // granule is next written.
    bool load_exclusive(uint64_t pa, void* dst, unsigned len, sc_core::sc_event& wake);

    uint64_t last_latency_ps() const override { return last_ps_; }
    uint64_t reads() const { return reads_; }
    uint64_t writes() const { return writes_; }

private:
    bool access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len);
    struct Region;  // below
    bool dmi_access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len);
    bool request_dmi(Region& r, tlm::tlm_command cmd, uint64_t pa);

    TlmForwardPort* socket_ = nullptr;
    sc_core::sc_time* delay_ = nullptr;
    uint64_t reads_ = 0, writes_ = 0;
    uint64_t last_ps_ = 0;
    enum class DmiMode { Off, Cpu, Reads };
    DmiMode dmi_mode_ = DmiMode::Off;
    sc_core::sc_time dmi_cost_;
    // Regions granted, direct-mapped by a hash of the 4 KiB page number: a
    // walk hops between a few table pages (each level's, stage 1's and stage
    // 2's, often 64 KiB apart), and a target may grant one page at a time.
    struct Region {
        tlm::tlm_dmi dmi;
        bool valid = false;
    };
    static constexpr unsigned kRegionBits = 4;
    Region regions_[1u << kRegionBits];
    // Fibonacci hashing: the top bits of the page number times 2^64 / phi.
    Region& region(uint64_t pa) { return regions_[((pa >> 12) * 0x9e3779b97f4a7c15ull) >> (64 - kRegionBits)]; }
    // One payload for every access (constructing one allocates its extension array).
    tlm::tlm_generic_payload gp_;
};

// A MemoryPort over a socket's debug transport (transport_dbg): reads and
// writes without time, statistics or other side effects in the target, for
// debuggers and for the SMMU's debug translations.
class TlmDebugPort : public MemoryPort {
public:
    TlmDebugPort() = default;
    void attach(TlmForwardPort& socket) { socket_ = &socket; }

    bool read(uint64_t pa, void* dst, unsigned len) override {
        return access(tlm::TLM_READ_COMMAND, pa, dst, len);
    }
    bool write(uint64_t pa, const void* src, unsigned len) override {
        return access(tlm::TLM_WRITE_COMMAND, pa, const_cast<void*>(src), len);
    }

private:
    bool access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len);

    TlmForwardPort* socket_ = nullptr;
    tlm::tlm_generic_payload gp_;
};

}  // namespace smmu
