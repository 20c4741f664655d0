#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "testbenches/host/host.h"

namespace smmu::sim {

using sc_core::sc_time;

std::vector<HostBus*> Host::make_buses() {
    std::vector<HostBus*> out;
    for (std::size_t i = 0; i < cfg_.smmus.size(); ++i) {
        mmio.push_back(std::make_unique<tlm_utils::simple_initiator_socket<Host>>(("mmio_" + cfg_.smmus[i]).c_str()));
        buses_.push_back(std::make_unique<TlmHostBus>(cpu_, *mmio.back(), sc_time(cfg_.host.mmio_latency_ns, sc_core::SC_NS),
                                                      cfg_.smmus[i]));
        out.push_back(buses_.back().get());
    }
    return out;
}

Host::Host(sc_core::sc_module_name name, const Config& cfg)
    : sc_module(name),
      mem("mem"),
      cfg_(cfg),
      cpu_(mem, sc_time(cfg.host.mem_access_ns, sc_core::SC_NS)),
      driver_(make_buses(), cfg) {
    SC_THREAD(run);
    if (cfg.serves_faults()) {
        faults_ = std::make_unique<HostFaults>(driver_, cfg);
        SC_THREAD(fault_thread);
    }
}

void Host::connect_fault_irqs(unsigned, const sc_core::sc_event& evtq, const sc_core::sc_event& priq) {
    if (!faults_) return;
    // The interrupt controller: a method that latches each line's edge, so an
    // interrupt raised while the thread is busy is not lost (the threaded
    // IRQ runs again, IRQTF_RUNTHREAD).
    sc_core::sc_spawn_options o;
    o.spawn_method();
    o.set_sensitivity(&evtq);
    o.set_sensitivity(&priq);
    o.dont_initialize();
    sc_core::sc_spawn(
        [this] {
            if (!irq_pending_) irq_ns_ = static_cast<double>(sc_core::sc_time_stamp().value()) / 1000.0;
            irq_pending_ = true;
            irq_.notify(sc_core::SC_ZERO_TIME);
        },
        sc_core::sc_gen_unique_name("irq"), &o);
}

void Host::handle_events() {
    // With page faults served, a stall event or page request read here must
    // be answered too (it would otherwise wait for ever): the fault path
    // reads the queues, as the interrupt thread would.
    if (!faults_) return driver_.handle_events();
    // Answer times count from the interrupt still unserviced (latched while
    // the host's other work held the CPU), else from now.
    const double from_ns =
        irq_pending_ ? irq_ns_ : static_cast<double>(sc_core::sc_time_stamp().value()) / 1000.0;
    for (unsigned i = 0; i < driver_.smmu_count(); ++i) faults_->service(i, from_ns);
}

void Host::fault_thread() {
    try {
        if (!is_configured_) wait(configured_);
        for (;;) {
            while (!irq_pending_) wait(irq_);
            irq_pending_ = false;
            const double irq_ns = irq_ns_;
            cpu_lock_.lock();
            cpu_.sync();
            for (unsigned i = 0; i < driver_.smmu_count(); ++i) faults_->service(i, irq_ns);
            cpu_.sync();
            cpu_lock_.unlock();
        }
    } catch (...) {
        error_ = std::current_exception();
        sc_core::sc_stop();
    }
}

void Host::post(const ChangeRecord& change) {
    changes_.push_back(change);
    work_.notify(sc_core::SC_ZERO_TIME);
}

void Host::run() {
    try {
        driver_.reset();
        driver_.install();
        cpu_.sync();
        is_configured_ = true;
        configured_at_ = sc_core::sc_time_stamp();
        if (op_listener_) op_listener_("setup", "", sc_core::SC_ZERO_TIME, configured_at_);
        configured_.notify(sc_core::SC_ZERO_TIME);
        for (;;) {
            while (changes_.empty() && !finishing_) {
                // A lazy DMA domain's flush-queue timer (fq_flush_timeout) fires meanwhile.
                const std::optional<double> timer = driver_.next_timer();
                const double now = static_cast<double>(sc_core::sc_time_stamp().value()) / 1000.0;
                if (!timer) {
                    wait(work_);
                } else if (*timer > now) {
                    wait(sc_time(*timer - now, sc_core::SC_NS), work_);
                } else {
                    const sc_time start = sc_core::sc_time_stamp();
                    cpu_lock_.lock();
                    driver_.run_timers(now);
                    cpu_.sync();
                    cpu_lock_.unlock();
                    if (op_listener_) op_listener_("fq_timer", "", start, sc_core::sc_time_stamp());
                }
            }
            if (changes_.empty()) break;
            busy_ = true;
            cpu_lock_.lock();
            // With a vEVENTQ the host handles events as they come (before
            // the record changes the attachments they are reported by).
            if (driver_.events_in_time()) {
                handle_events();
                cpu_.sync();
            }
            const ChangeRecord change = changes_.front();
            changes_.pop_front();
            const sc_time start = sc_core::sc_time_stamp();
            change_start_ = start;
            std::string path;
            if (change.kind == ChangeRecord::Kind::GuestInvalidate) {
                // A guest's batch: its guest_inv records of one time for one
                // vIOMMU, published by one CMDQ_PROD write (one trap).
                std::vector<ChangeRecord> batch{change};
                while (!changes_.empty() && changes_.front().kind == ChangeRecord::Kind::GuestInvalidate &&
                       changes_.front().time_ns == change.time_ns && changes_.front().target == change.target) {
                    batch.push_back(changes_.front());
                    changes_.pop_front();
                }
                path = driver_.apply_guest_batch(batch);
            } else {
                path = driver_.apply(change);
            }
            cpu_.sync();
            cpu_lock_.unlock();
            change_ns_[path].add((sc_core::sc_time_stamp() - start).value());
            if (op_listener_) op_listener_(path, change.where, start, sc_core::sc_time_stamp());
            busy_ = false;
            if (changes_.empty()) idle_event_.notify(sc_core::SC_ZERO_TIME);
        }
        // What is still queued is flushed when the timer fires after the run.
        cpu_lock_.lock();
        const sc_time flush_start = sc_core::sc_time_stamp();
        driver_.flush_queues();
        cpu_.sync();
        if (op_listener_) op_listener_("final_flush", "", flush_start, sc_core::sc_time_stamp());
        handle_events();
        events_ = driver_.drained();
        cpu_lock_.unlock();
    } catch (...) {
        // Never thrown through the SystemC scheduler: stop, report afterwards.
        error_ = std::current_exception();
        sc_core::sc_stop();
    }
}

}  // namespace smmu::sim
