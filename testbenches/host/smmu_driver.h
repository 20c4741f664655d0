// The arm-smmu-v3-like driver of ONE SMMU instance: it programs the SMMU only
// through its registers (HostBus) and memory writes: Linux's reset sequence,
// STE writes with CFGI_STE, the command queue (submit, SYNC) and the event
// queue. It also owns the instance's VMID space. The iommufd-like host model
// (host_driver.h) sits on top of one SmmuDriver per instance.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <set>
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

// VMIDs of one SMMU instance (IDR0.VMID16: 16 or 8 bits). VMID 0 is kept for
// S2-bypass STEs, as Linux does.
class VmidAllocator {
public:
    VmidAllocator(std::string smmu, unsigned bits) : smmu_(std::move(smmu)), bits_(bits) {}
    // The lowest free VMID; InputError naming the instance when none is left.
    uint16_t alloc();
    // A VMID the config fixed; InputError if taken or too wide.
    void reserve(uint16_t vmid, const std::string& who);
    unsigned used() const { return static_cast<unsigned>(used_.size()); }

private:
    std::string smmu_;
    unsigned bits_;
    std::set<uint16_t> used_;
};

class SmmuDriver {
public:
    static constexpr unsigned kMaxPolls = 100000;

    SmmuDriver(HostBus& bus, const Config& cfg, TableArena& arena, std::string name);

    // Linux's reset sequence: CR0=0; CR1, CR2; STRTAB_BASE(_CFG); CMDQ_BASE,
    // PROD=CONS=0; CR0=CMDQEN; CFGI_ALL+SYNC; TLBI_EL2_ALL+SYNC;
    // TLBI_NSNH_ALL+SYNC; EVENTQ_BASE, PROD/CONS; CR0|=EVTQEN; IRQ_CTRL;
    // CR0|=SMMUEN. Each CR0/IRQ_CTRL write is polled for its ACK.
    void reset();
    // The probe: fails if a device needs a stage the ID registers lack.
    void check_features(const std::vector<const DeviceConfig*>& devices);

    // Writes the STE (V last) and invalidates it: CFGI_STE + SYNC.
    void write_ste(uint32_t sid, const arch::Ste& s);
    void submit(const arch::Command& c);
    // SYNC and wait for the queue to drain; throws HostError if it stopped.
    void sync();
    // Event records the SMMU wrote since the last call (CONS moved past them).
    std::vector<arch::EventRecord> drain_events();

    const std::string& name() const { return name_; }
    HostBus& bus() { return bus_; }
    VmidAllocator& vmids() { return vmids_; }
    uint64_t commands_submitted() const { return commands_; }
    uint64_t syncs_submitted() const { return syncs_; }
    // Address of the STE for `sid` (0 if its level-2 table does not exist).
    uint64_t ste_address(uint32_t sid) const;

private:
    uint32_t read32(uint32_t off) { return static_cast<uint32_t>(bus_.mmio_read(off, 4)); }
    void write32(uint32_t off, uint32_t v) { bus_.mmio_write(off, 4, v); }
    void write64(uint32_t off, uint64_t v) { bus_.mmio_write(off, 8, v); }
    void poll(uint32_t off, uint32_t mask, uint32_t want, const char* what);
    void write_cr0(uint32_t v);
    // Address of the STE for `sid`, creating its level-2 table if needed.
    uint64_t ste_slot(uint32_t sid);

    HostBus& bus_;
    const Config& cfg_;
    TableArena& arena_;
    std::string name_;
    VmidAllocator vmids_;
    uint64_t strtab_ = 0;
    std::map<uint32_t, uint64_t> l2_tables_;  // L1 index -> L2 table (2-level)
    uint64_t cmdq_base_ = 0, eventq_base_ = 0;
    unsigned cmdq_log2_ = 0, eventq_log2_ = 0;
    uint32_t cmdq_prod_ = 0;
    uint64_t commands_ = 0, syncs_ = 0;
};

}  // namespace smmu::sim
