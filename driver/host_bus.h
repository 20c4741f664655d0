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
    // A bus that cannot watch memory polls instead: idle() (then every turn
    // that finds the word unchanged also reads GERROR, and queue_poll's
    // udelay starts after ARM_SMMU_POLL_SPIN_COUNT turns).
    virtual void wait_for_change(uint64_t pa, uint32_t seen) {
        (void)pa, (void)seen;
        idle();
    }
    // CPU time the software spends (building commands, an ioctl's entry, a
    // VM trap): advances the CPU's clock by `ns`.
    // WFE without a monitored word (queue_poll with qp->wfe, an SMMU with
    // IDR0.SEV): sleeps until an event, an SEV (a CMD_SYNC with CS=SEV
    // completing) or the generic timer's event stream, and returns whether
    // an SEV woke it (false: a tick). A bus without the SMMU's SEV polls,
    // idle(), and counts the CPU as asleep until the next tick.
    virtual bool wait_for_event() {
        idle();
        cpu(kEventStreamNs);
        return false;
    }
    // ARCH_TIMER_EVT_STREAM_PERIOD_US: a WFE lasts at most this long.
    static constexpr double kEventStreamNs = 100000;
    virtual void cpu(double ns) = 0;
    // The CPU's clock (ns): measures how long a wait lasted.
    virtual double now_ns() const = 0;
};

}  // namespace smmu::driver
