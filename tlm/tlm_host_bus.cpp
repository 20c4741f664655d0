#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "tlm/tlm_host_bus.h"

#include <cstdio>

#include "driver/errors.h"

namespace smmu {

using sc_core::sc_time;

TlmCpu::TlmCpu(TlmForwardPort& mem, sc_time mem_access) : port_(mem) {
    port_.set_delay(&local_);
    port_.use_dmi(mem_access);
}

void TlmCpu::sync(const sc_time& then) {
    sc_core::wait(local_ + then);
    local_ = sc_core::SC_ZERO_TIME;
}

uint32_t TlmCpu::load_exclusive(uint64_t pa, sc_core::sc_event& wake) {
    uint32_t v = 0;
    port_.load_exclusive(pa, &v, 4, wake);
    return v;
}

double TlmCpu::now_ns() const { return static_cast<double>((sc_core::sc_time_stamp() + local_).value()) / 1000.0; }

TlmHostBus::TlmHostBus(TlmCpu& cpu, TlmForwardPort& mmio, sc_time mmio_latency, std::string name)
    : cpu_(cpu), mmio_(mmio), mmio_latency_(mmio_latency), name_(std::move(name)) {}

bool TlmHostBus::wait_for_change(uint64_t pa, uint32_t seen) {
    // __cmpwait_relaxed: sevl; wfe; ldxr; eor; cbnz (no wait if the word
    // changed); wfe. The CPU's time so far (the poll's read, a udelay) is
    // waited out first: the load-exclusive and the WFE must follow each other
    // with no yield between, or a write landing in between would clear the
    // monitor while nobody listens (on hardware it sets the event register
    // and the WFE returns at once). The load's own cost is local time the
    // sleep then absorbs.
    if (poll_) {
        idle();
        return true;
    }
    cpu_.sync();
    if (cpu_.load_exclusive(pa, monitor_) != seen) return true;
    const sc_time from = sc_core::sc_time_stamp();
    sc_core::wait(until_tick(), monitor_);
    const bool written = monitor_.triggered();
    cpu_.slept(sc_core::sc_time_stamp() - from);
    // Then a delta more: what the SMMU did at this very time (a write at an
    // event-stream tick) is seen whatever order the kernel woke the two in.
    sc_core::wait(sc_core::SC_ZERO_TIME);
    return written;
}

// The event stream: a wake-up event every 100 us of the generic timer
// (arch_timer_evtstrm_enable, ARCH_TIMER_EVT_STREAM_PERIOD_US).
sc_time TlmHostBus::until_tick() const {
    static const uint64_t tick = sc_time(kEventStreamNs, sc_core::SC_NS).value();
    return sc_time::from_value(tick - sc_core::sc_time_stamp().value() % tick);
}

void TlmHostBus::connect_sev(const sc_core::sc_event& sev) {
    sev_ = &sev;
    // The event input: a method latches each SEV into the event register.
    sc_core::sc_spawn_options o;
    o.spawn_method();
    o.set_sensitivity(&sev);
    o.dont_initialize();
    sc_core::sc_spawn([this] { event_register_ = true; }, sc_core::sc_gen_unique_name("sev"), &o);
}

bool TlmHostBus::wait_for_event() {
    cpu_.sync();
    if (!event_register_) {
        const sc_time from = sc_core::sc_time_stamp();
        sc_core::wait(until_tick(), *sev_);
        cpu_.slept(sc_core::sc_time_stamp() - from);
        // The latch runs in the delta of the SEV, before this thread.
    }
    const bool sev = event_register_;
    event_register_ = false;
    // As wait_for_change: what the SMMU did at this time is seen.
    sc_core::wait(sc_core::SC_ZERO_TIME);
    return sev;
}

uint64_t TlmHostBus::mmio_read(uint32_t offset, unsigned size) {
    uint64_t v = 0;
    access(tlm::TLM_READ_COMMAND, offset, size, v);
    return v;
}

void TlmHostBus::mmio_write(uint32_t offset, unsigned size, uint64_t value) {
    access(tlm::TLM_WRITE_COMMAND, offset, size, value);
}

void TlmHostBus::access(tlm::tlm_command cmd, uint32_t offset, unsigned size, uint64_t& value) {
    // Memory writes before this register access take effect before it.
    cpu_.sync();
    uint8_t data[8] = {};
    for (unsigned i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(value >> (8 * i));
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(offset);
    gp.set_data_ptr(data);
    gp.set_data_length(size);
    gp.set_streaming_width(size);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time delay = mmio_latency_;
    mmio_->b_transport(gp, delay);
    sc_core::wait(delay);
    ++accesses_;
    if (!gp.is_response_ok()) {
        char where[16];
        std::snprintf(where, sizeof where, "0x%x", static_cast<unsigned>(offset));
        throw driver::HostError(std::string("host: bus error ") + (cmd == tlm::TLM_READ_COMMAND ? "reading" : "writing") +
                                " " + name_ + " register " + where);
    }
    value = 0;
    for (unsigned i = 0; i < size; ++i) value |= uint64_t{data[i]} << (8 * i);
}

}  // namespace smmu
