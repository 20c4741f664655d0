// SystemC shell of the host: a CPU thread that runs the HostDriver over TLM
// initiator sockets: one to each SMMU instance's registers, one to memory
// (TlmCpu and a TlmHostBus per instance, tlm/tlm_host_bus.h). Besides setting up, the CPU applies the trace's
// map/unmap records (HostDriver::apply) when the platform hands them over,
// and runs the flush-queue timers of lazy DMA domains.
#pragma once
#include <deque>
#include <map>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "testbenches/host/host_driver.h"
#include "testbenches/host/host_fault.h"
#include "testbenches/traffic/latency_histogram.h"
#include "tlm/tlm_host_bus.h"

namespace smmu::sim {

class Host : public sc_core::sc_module {
public:
    std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<Host>>> mmio;  // one per SMMU instance
    tlm_utils::simple_initiator_socket<Host> mem;

    SC_HAS_PROCESS(Host);
    Host(sc_core::sc_module_name name, const Config& cfg);

    // Notified once every SMMU is reset and every device installed.
    const sc_core::sc_event& configured() const { return configured_; }
    bool is_configured() const { return is_configured_; }
    // A change to apply (map/unmap); the CPU does them in order.
    void post(const ChangeRecord& change);
    // Ask the host to finish pending changes, drain the event queues and stop.
    void finish() {
        finishing_ = true;
        work_.notify(sc_core::SC_ZERO_TIME);
    }
    bool idle() const { return changes_.empty() && !busy_; }
    // When the change being applied began (now, for one posted and not yet
    // begun); nothing when idle.
    std::optional<sc_core::sc_time> change_started() const {
        if (idle()) return std::nullopt;
        return busy_ ? change_start_ : sc_core::sc_time_stamp();
    }
    const sc_core::sc_event& idle_event() const { return idle_event_; }

    HostDriver& driver() { return driver_; }
    const HostDriver& driver() const { return driver_; }
    // Event records drained from each instance's queue, by instance.
    const std::vector<std::vector<arch::EventRecord>>& events() const { return events_; }
    // What stopped the host thread, rethrown by the platform after the kernel returns.
    std::exception_ptr error() const { return error_; }
    sc_core::sc_time configured_at() const { return configured_at_; }
    // Per invalidation path: time from the change's start to its last SYNC (ps).
    const std::map<std::string, LatencyHistogram>& change_times() const { return change_ns_; }
    // Told of each operation the CPU finished (a timeline's host track): its
    // name ("setup", the change's invalidation path, "fq_timer"), where it
    // came from (the trace's file:line, or empty) and when it began and ended.
    using OpListener = std::function<void(const std::string& name, const std::string& where, sc_core::sc_time start,
                                          sc_core::sc_time end)>;
    void set_op_listener(OpListener l) { op_listener_ = std::move(l); }
    // I/O page faults (Config::serves_faults): instance `smmu`'s event queue
    // and PRI queue interrupts (the wired lines, EVTQ_IRQEN / PRIQ_IRQEN as
    // arm_smmu_setup_irqs enables them) wake the host's fault thread.
    // During elaboration.
    void connect_fault_irqs(unsigned smmu, const sc_core::sc_event& evtq, const sc_core::sc_event& priq);
    // SMMU `smmu`'s SEV to the CPU's event input (its CMD_SYNC waits on CMDQ_CONS).
    void connect_sev(unsigned smmu, const sc_core::sc_event& sev) { buses_.at(smmu)->connect_sev(sev); }
    // What the fault thread saw, per device (null: no fault thread).
    const HostFaults* faults() const { return faults_.get(); }

private:
    // The CPU's path to each SMMU's registers (made before the driver that holds them).
    std::vector<HostBus*> make_buses();
    void run();
    // arm_smmu_evtq_thread / arm_smmu_priq_thread: the threaded handlers of
    // the queues' interrupts, on the same CPU as run() (cpu_lock_ keeps them
    // apart, as the kernel's cmdq owner hand-off does for one CPU).
    void fault_thread();
    // The events read between records and at the end (HostDriver::handle_events),
    // through the fault path when there is one.
    void handle_events();

    const Config& cfg_;
    TlmCpu cpu_;
    std::vector<std::unique_ptr<TlmHostBus>> buses_;
    HostDriver driver_;
    sc_core::sc_event configured_, work_, idle_event_;
    std::deque<ChangeRecord> changes_;
    bool busy_ = false, finishing_ = false;
    sc_core::sc_time change_start_;
    bool is_configured_ = false;
    sc_core::sc_time configured_at_;
    std::vector<std::vector<arch::EventRecord>> events_;
    std::map<std::string, LatencyHistogram> change_ns_;
    std::exception_ptr error_;
    OpListener op_listener_;
    std::unique_ptr<HostFaults> faults_;
    sc_core::sc_mutex cpu_lock_;
    bool irq_pending_ = false;      // an interrupt came since the thread last looked
    sc_core::sc_event irq_;
    double irq_ns_ = 0;             // when the first unserviced interrupt came
};

}  // namespace smmu::sim
