#include "testbenches/host/host.h"

#include "testbenches/config/input_error.h"

namespace smmu::sim {

using sc_core::sc_time;

std::vector<HostBus*> Host::bus_pointers(std::vector<std::unique_ptr<Bus>>& buses) {
    std::vector<HostBus*> out;
    for (auto& b : buses) out.push_back(b.get());
    return out;
}

namespace {
// The buses must exist before the driver that holds them: build them first.
template <class Bus, class Host>
std::vector<std::unique_ptr<Bus>>& make_buses(std::vector<std::unique_ptr<Bus>>& buses, Host& host, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) buses.push_back(std::make_unique<Bus>(host, static_cast<unsigned>(i)));
    return buses;
}
}  // namespace

Host::Host(sc_core::sc_module_name name, const Config& cfg)
    : sc_module(name),
      mem("mem"),
      cfg_(cfg),
      port_(mem),
      driver_(bus_pointers(make_buses(buses_, *this, cfg.smmus.size())), cfg) {
    for (const std::string& s : cfg.smmus)
        mmio.push_back(std::make_unique<tlm_utils::simple_initiator_socket<Host>>(("mmio_" + s).c_str()));
    port_.set_delay(&local_);
    port_.use_dmi(sc_time(cfg.host.mem_access_ns, sc_core::SC_NS));
    SC_THREAD(run);
}

void Host::post(const ChangeRecord& change) {
    changes_.push_back(change);
    work_.notify(sc_core::SC_ZERO_TIME);
}

void Host::run() {
    try {
        driver_.reset();
        driver_.install();
        wait(local_);
        local_ = sc_core::SC_ZERO_TIME;
        is_configured_ = true;
        configured_at_ = sc_core::sc_time_stamp();
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
                    driver_.run_timers(now);
                    wait(local_);
                    local_ = sc_core::SC_ZERO_TIME;
                }
            }
            if (changes_.empty()) break;
            busy_ = true;
            // With a vEVENTQ the host handles events as they come (before
            // the record changes the attachments they are reported by).
            if (driver_.events_in_time()) {
                driver_.handle_events();
                wait(local_);
                local_ = sc_core::SC_ZERO_TIME;
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
            wait(local_);
            local_ = sc_core::SC_ZERO_TIME;
            change_ns_[path].add((sc_core::sc_time_stamp() - start).value());
            busy_ = false;
            if (changes_.empty()) idle_event_.notify(sc_core::SC_ZERO_TIME);
        }
        // What is still queued is flushed when the timer fires after the run.
        driver_.flush_queues();
        wait(local_);
        local_ = sc_core::SC_ZERO_TIME;
        driver_.handle_events();
        events_ = driver_.drained();
    } catch (...) {
        // Never thrown through the SystemC scheduler: stop, report afterwards.
        error_ = std::current_exception();
        sc_core::sc_stop();
    }
}

void Host::mmio_access(unsigned smmu, tlm::tlm_command cmd, uint32_t offset, unsigned size, uint64_t& value) {
    // Memory writes before this register access take effect before it.
    wait(local_);
    local_ = sc_core::SC_ZERO_TIME;
    uint8_t data[8] = {};
    for (unsigned i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(value >> (8 * i));
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(offset);
    gp.set_data_ptr(data);
    gp.set_data_length(size);
    gp.set_streaming_width(size);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time delay = sc_time(cfg_.host.mmio_latency_ns, sc_core::SC_NS);
    (*mmio[smmu])->b_transport(gp, delay);
    wait(delay);
    if (!gp.is_response_ok())
        throw HostError(std::string("host: bus error ") + (cmd == tlm::TLM_READ_COMMAND ? "reading" : "writing") + " " +
                        cfg_.smmus[smmu] + " register " + hex(offset));
    value = 0;
    for (unsigned i = 0; i < size; ++i) value |= uint64_t{data[i]} << (8 * i);
}

uint64_t Host::Bus::mmio_read(uint32_t offset, unsigned size) {
    uint64_t v = 0;
    host_.mmio_access(index_, tlm::TLM_READ_COMMAND, offset, size, v);
    return v;
}

void Host::Bus::mmio_write(uint32_t offset, unsigned size, uint64_t value) {
    host_.mmio_access(index_, tlm::TLM_WRITE_COMMAND, offset, size, value);
}

void Host::Bus::idle() { host_.wait(sc_time(host_.cfg_.host.mmio_latency_ns, sc_core::SC_NS)); }

}  // namespace smmu::sim
