// The host driver (smmusim::driver, plain C++) on a SystemC platform: the
// CPU's MMIO and memory accesses as TLM-2.0 transactions, issued from the
// SystemC thread the driver runs in, simulated time advancing by their
// transport delays.
//
//   TlmCpu      one CPU: its path to memory (DMI where the target grants it,
//               else b_transport) and its local time (LT coding style).
//   TlmHostBus  that CPU's view of one SMMU instance (driver::HostBus): the
//               register socket, plus the CPU's memory and time.
//
// A memory access adds its cost to the CPU's local time without waiting;
// before every register access the CPU synchronises (waits out its local
// time), so an SMMU sees the tables and commands written before the MMIO
// write that publishes them. Every call must come from an SC_THREAD.
#pragma once
#include <cstdint>
#include <string>

#include <systemc>
#include <tlm>

#include "driver/host_bus.h"
#include "tlm/tlm_memory_port.h"

namespace smmu {

class TlmCpu {
public:
    // `mem`: an initiator socket bound to memory (used at access time, so it
    // may be bound later). `mem_access`: what one DMI load or store costs
    // (a cached access, not a DRAM trip).
    explicit TlmCpu(TlmForwardPort& mem, sc_core::sc_time mem_access = sc_core::sc_time(1, sc_core::SC_NS));

    MemoryPort& memory() { return port_; }
    // A load-exclusive of the 32-bit word at `pa` (tlm/exclusive_monitor.h).
    uint32_t load_exclusive(uint64_t pa, sc_core::sc_event& wake);
    // The CPU slept for `slept` (WFE): local time spent before it (a load
    // made before sleeping) is absorbed, as far as the sleep covers it.
    void slept(const sc_core::sc_time& slept) {
        local_ = local_ > slept ? local_ - slept : sc_core::SC_ZERO_TIME;
    }
    // Software time (building a command, an ioctl's entry): added to local time.
    void spend(double ns) { local_ += sc_core::sc_time(ns, sc_core::SC_NS); }
    // Waits out the local time (memory accesses and software since the last
    // sync), and `then` after it, in one wait.
    void sync(const sc_core::sc_time& then = sc_core::SC_ZERO_TIME);
    // The CPU's clock: simulated time plus local time (ns).
    double now_ns() const;

private:
    sc_core::sc_time local_;
    TlmMemoryPort port_;
};

class TlmHostBus : public driver::HostBus {
public:
    // `mmio`: an initiator socket bound to the SMMU's register socket (offset
    // 0 is the SMMU's page 0). `mmio_latency`: the CPU's side of one register
    // access (the SMMU adds its own), and the pause between two polls.
    // `name` is for error messages.
    TlmHostBus(TlmCpu& cpu, TlmForwardPort& mmio, sc_core::sc_time mmio_latency = sc_core::sc_time(10, sc_core::SC_NS),
               std::string name = "smmu");

    // An error response is driver::HostError naming the register.
    uint64_t mmio_read(uint32_t offset, unsigned size) override;
    void mmio_write(uint32_t offset, unsigned size, uint64_t value) override;
    MemoryPort& memory() override { return cpu_.memory(); }
    // Between two polls: waits out the CPU's local time (the reads of the
    // poll just made, so the next one sees memory as of the CPU's clock: a
    // CMD_SYNC's MSI is seen at the first poll after it is written), then
    // mmio_latency; the SMMU's threads run. Then a delta more: the next poll
    // sees what the SMMU did at that very time (its MSI write, CONS), whatever
    // order the kernel wakes equal-time waits in (which differs between the
    // traffic's accurate and fast modes). One timed wait for both pauses: a
    // CMD_SYNC's wait polls thousands of times in a busy trace.
    void idle() override {
        cpu_.sync(mmio_latency_);
        sc_core::wait(sc_core::SC_ZERO_TIME);
    }
    // WFE with the exclusive monitor on the word (the memory notifies this
    // bus's monitor event), or to the next event-stream tick.
    bool wait_for_change(uint64_t pa, uint32_t seen) override;
    // A memory target without a global exclusive monitor (one that ignores
    // tlm/exclusive_monitor.h's extension) would wake the CPU only at the
    // event stream's ticks: for such a platform, poll the word instead
    // (idle() between reads).
    void poll_instead_of_wfe(bool poll = true) { poll_ = poll; }
    // The SMMU's SEV output (Smmu::sev()) to this CPU's event input; without
    // it the driver polls CMDQ_CONS (has_sev()).
    void connect_sev(const sc_core::sc_event& sev);
    bool has_sev() const override { return sev_ != nullptr; }
    bool wait_for_event() override;
    // ARCH_TIMER_EVT_STREAM_PERIOD_US: a WFE lasts at most this long.
    static constexpr double kEventStreamNs = 100000;
    void cpu(double ns) override { cpu_.spend(ns); }
    double now_ns() const override { return cpu_.now_ns(); }

    // Register accesses so far.
    uint64_t mmio_accesses() const { return accesses_; }

private:
    void access(tlm::tlm_command cmd, uint32_t offset, unsigned size, uint64_t& value);

    TlmCpu& cpu_;
    TlmForwardPort& mmio_;
    sc_core::sc_time mmio_latency_;
    sc_core::sc_event monitor_;  // the exclusive monitor's wake-up
    // The PE's event register: an SEV sets it, a WFE clears it (and returns
    // at once if it was set: an SEV while the CPU was busy is not lost).
    const sc_core::sc_event* sev_ = nullptr;
    bool event_register_ = false;
    bool poll_ = false;  // poll_instead_of_wfe()
    // The next tick of the event stream after now.
    sc_core::sc_time until_tick() const;
    std::string name_;
    uint64_t accesses_ = 0;
};

}  // namespace smmu
