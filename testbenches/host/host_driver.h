// The host software model: an arm-smmu-v3-like driver that programs one SMMU
// only through its registers (HostBus) and memory writes, in the order of
// Linux's arm_smmu_device_reset(), then builds each VM's stage 2, each
// device's CDs and stage 1 tables and its STE, and invalidates through the
// command queue (CFGI_ALL, TLBI_NSNH_ALL, CFGI_STE, SYNC).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/ste.h"
#include "models/memory/memory_port.h"
#include "testbenches/config/config.h"
#include "testbenches/host/page_table.h"

namespace smmu::sim {

// The CPU's view of one SMMU: its registers and memory.
class HostBus {
public:
    virtual ~HostBus() = default;
    virtual uint64_t mmio_read(uint32_t offset, unsigned size) = 0;
    virtual void mmio_write(uint32_t offset, unsigned size, uint64_t value) = 0;
    virtual MemoryPort& memory() = 0;
    // Called between two polls of a register: lets the SMMU make progress.
    virtual void idle() = 0;
};

// A failure of the simulated software/hardware pair (not of user input): the
// SMMU never acknowledged, the command queue stopped...
struct HostError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class HostDriver {
public:
    static constexpr unsigned kMaxPolls = 100000;

    HostDriver(HostBus& bus, const Config& cfg);

    // Linux's reset sequence: CR0=0; CR1, CR2; STRTAB_BASE(_CFG); CMDQ_BASE,
    // PROD=CONS=0; CR0=CMDQEN; CFGI_ALL+SYNC; TLBI_EL2_ALL+SYNC;
    // TLBI_NSNH_ALL+SYNC; EVENTQ_BASE, PROD/CONS; CR0|=EVTQEN; IRQ_CTRL;
    // CR0|=SMMUEN. Each CR0/IRQ_CTRL write is polled for its ACK.
    void reset();
    // Every VM's stage 2, every device's tables and STE (+ CFGI_STE, SYNC).
    void install();

    void submit(const arch::Command& c);
    // SYNC and wait for the queue to drain; throws HostError if it stopped.
    void sync();
    // Event records the SMMU wrote since the last call (CONS moved past them).
    std::vector<arch::EventRecord> drain_events();

    uint64_t commands_submitted() const { return commands_; }
    uint16_t vmid(const std::string& vm) const;
    uint64_t ste_address(uint32_t sid) const;

private:
    struct VmState {
        uint16_t vmid = 0;
        std::unique_ptr<PageTable> s2;
        std::unique_ptr<TableArena> guest;  // guest RAM for S1 tables and CDs (IPA)
    };

    uint32_t read32(uint32_t off) { return static_cast<uint32_t>(bus_.mmio_read(off, 4)); }
    void write32(uint32_t off, uint32_t v) { bus_.mmio_write(off, 4, v); }
    void write64(uint32_t off, uint64_t v) { bus_.mmio_write(off, 8, v); }
    void poll(uint32_t off, uint32_t mask, uint32_t want, const char* what);
    void write_cr0(uint32_t v);

    void install_vm(const VmConfig& vm);
    void install_device(const DeviceConfig& dev);
    // Address of the STE for `sid`, creating its level-2 table if needed.
    uint64_t ste_slot(uint32_t sid);
    // CD table for the device's contexts; returns the STE's S1ContextPtr.
    uint64_t build_cds(const DeviceConfig& dev, TableArena& arena, unsigned& s1cdmax);
    arch::Ste make_ste(const DeviceConfig& dev);

    HostBus& bus_;
    const Config& cfg_;
    TableArena arena_;  // host-owned PA region
    uint64_t strtab_ = 0;
    std::map<uint32_t, uint64_t> l2_tables_;  // L1 index -> L2 table (2-level)
    uint64_t cmdq_base_ = 0, eventq_base_ = 0;
    unsigned cmdq_log2_ = 0, eventq_log2_ = 0;
    uint32_t cmdq_prod_ = 0;
    uint64_t commands_ = 0;
    std::map<std::string, VmState> vms_;
    uint32_t next_vmid_ = 1;  // VMID 0 is kept for S2-bypass STEs
};

}  // namespace smmu::sim
