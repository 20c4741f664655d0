// The CPU's view of one SMMU instance: its registers, memory, and the CPU's
// own time. The driver layer programs the SMMU only through this (MMIO and
// memory, as the kernel does); a SystemC platform implements it over TLM
// sockets (testbenches/host/host.h), tests straight onto an SmmuCore
// (testbenches/host/direct_bus.h).
#pragma once
#include <cstdint>

#include "models/memory/memory_port.h"

namespace smmu::driver {

class HostBus {
public:
    virtual ~HostBus() = default;
    virtual uint64_t mmio_read(uint32_t offset, unsigned size) = 0;
    virtual void mmio_write(uint32_t offset, unsigned size, uint64_t value) = 0;
    virtual MemoryPort& memory() = 0;
    // Called between two polls (of a register or of a CMD_SYNC's MSI word):
    // lets the SMMU make progress while the CPU waits.
    virtual void idle() = 0;
    // arm64's __cmpwait_relaxed (each turn of smp_cond_load_relaxed): a
    // load-exclusive of the 32-bit word at `pa`; if it still reads `seen`,
    // WFE until the word's reservation granule is written or the generic
    // timer's event stream ticks (every 100 us, ARCH_TIMER_EVT_STREAM_PERIOD_US).
    // False: it ended at a tick. A bus that cannot watch memory polls
    // instead: idle() (queue_poll's udelay then starts after
    // ARM_SMMU_POLL_SPIN_COUNT polls).
    virtual bool wait_for_change(uint64_t pa, uint32_t seen) {
        (void)pa, (void)seen;
        idle();
        return true;
    }
    // CPU time the software spends (building commands, an ioctl's entry, a
    // VM trap): advances the CPU's clock by `ns`.
    // The SMMU's SEV reaches the CPU's event input: a CMD_SYNC wait on
    // CMDQ_CONS of an SMMU with IDR0.SEV (queue_poll with qp->wfe) then
    // sleeps in WFE, wait_for_event(), instead of polling.
    virtual bool has_sev() const { return false; }
    // WFE without a monitored word: until an SEV (a CMD_SYNC with CS=SEV
    // completing) or the generic timer's event stream; true: an SEV woke it
    // (false: a tick). Called only when has_sev(); this default polls.
    virtual bool wait_for_event() {
        idle();
        return true;
    }
    virtual void cpu(double ns) = 0;
    // The CPU's clock (ns): measures how long a wait lasted.
    virtual double now_ns() const = 0;
};

}  // namespace smmu::driver
