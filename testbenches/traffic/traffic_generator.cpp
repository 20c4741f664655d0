#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "testbenches/traffic/traffic_generator.h"

#include <vector>

#include "tlm/smmu_extension.h"

namespace smmu::sim {

namespace {
constexpr uint64_t kBoundary = 4096;  // AXI: a burst never crosses 4 KiB
}

TrafficGenerator::TrafficGenerator(sc_core::sc_module_name name, uint32_t sid, unsigned outstanding)
    : sc_module(name), socket("socket"), sid_(sid) {
    for (unsigned i = 0; i < outstanding; ++i)
        sc_core::sc_spawn(sc_core::sc_bind(&TrafficGenerator::worker, this), sc_core::sc_gen_unique_name("worker"));
}

void TrafficGenerator::push(const TraceRecord& r) {
    queue_.push_back(r);
    pushed_.notify(sc_core::SC_ZERO_TIME);
}

void TrafficGenerator::close() {
    closed_ = true;
    pushed_.notify(sc_core::SC_ZERO_TIME);
    if (done()) idle_.notify(sc_core::SC_ZERO_TIME);
}

void TrafficGenerator::worker() {
    for (;;) {
        while (queue_.empty()) {
            if (closed_) return;
            wait(pushed_);
        }
        const TraceRecord r = queue_.front();
        queue_.pop_front();
        ++busy_;
        ++stats_.records;
        uint64_t addr = r.iova;
        uint64_t left = r.size;
        while (left > 0) {
            const uint64_t chunk = std::min(left, kBoundary - (addr % kBoundary));
            issue(r, addr, static_cast<unsigned>(chunk));
            addr += chunk;
            left -= chunk;
        }
        --busy_;
        if (done()) idle_.notify(sc_core::SC_ZERO_TIME);
    }
}

void TrafficGenerator::issue(const TraceRecord& r, uint64_t addr, unsigned len) {
    std::array<unsigned char, kBoundary> data{};
    SmmuExtension ext;
    ext.sid = sid_;
    ext.ssv = r.ssv;
    ext.ssid = r.ssid;
    tlm::tlm_generic_payload gp;
    gp.set_command(r.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(data.data());
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    gp.set_extension(&ext);
    const sc_core::sc_time start = sc_core::sc_time_stamp();
    const bool during_change = changing_ && changing_();
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(gp, delay);
    wait(delay);
    gp.clear_extension(&ext);
    ++stats_.transactions;
    stats_.latency.add((sc_core::sc_time_stamp() - start).value());
    if (during_change) stats_.during_change.add((sc_core::sc_time_stamp() - start).value());
    if (gp.is_response_ok())
        stats_.bytes += len;
    else
        ++stats_.faults;
}

}  // namespace smmu::sim
