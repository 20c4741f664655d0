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
        dmi_enabled_ = true;
        dmi_cost_ = per_access;
    }

    bool read(uint64_t pa, void* dst, unsigned len) override { return access(tlm::TLM_READ_COMMAND, pa, dst, len); }
    bool write(uint64_t pa, const void* src, unsigned len) override {
        return access(tlm::TLM_WRITE_COMMAND, pa, const_cast<void*>(src), len);
    }

    uint64_t last_latency_ps() const override { return last_ps_; }
    uint64_t reads() const { return reads_; }
    uint64_t writes() const { return writes_; }

private:
    bool access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len);
    bool dmi_access(tlm::tlm_command cmd, uint64_t pa, void* data, unsigned len);

    TlmForwardPort* socket_ = nullptr;
    sc_core::sc_time* delay_ = nullptr;
    uint64_t reads_ = 0, writes_ = 0;
    uint64_t last_ps_ = 0;
    bool dmi_enabled_ = false;
    sc_core::sc_time dmi_cost_;
    tlm::tlm_dmi dmi_;  // last region granted
    bool dmi_valid_ = false;
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
