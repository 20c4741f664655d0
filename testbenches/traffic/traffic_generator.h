// A DMA master: replays one device's trace records as TLM-2.0 transactions
// into the SMMU's upstream socket, with up to `outstanding` in flight. Each
// record is split at 4 KiB boundaries as an AXI master must; every
// transaction carries the device's StreamID (and SubstreamID) in SmmuExtension.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "testbenches/config/trace.h"
#include "testbenches/traffic/latency_histogram.h"

namespace smmu::sim {

struct MasterStats {
    uint64_t records = 0;
    uint64_t transactions = 0;
    uint64_t bytes = 0;          // bytes of transactions that completed OK
    uint64_t faults = 0;         // transactions the SMMU terminated
    LatencyHistogram latency;    // per transaction, issue to completion
    // The transactions issued while the host was changing tables (between a
    // change and its last SYNC): what the invalidations delayed.
    LatencyHistogram during_change;
};

class TrafficGenerator : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<TrafficGenerator> socket;

    SC_HAS_PROCESS(TrafficGenerator);
    TrafficGenerator(sc_core::sc_module_name name, uint32_t sid, unsigned outstanding);

    // The dispatcher hands records over at their trace time.
    void push(const TraceRecord& r);
    // No more records will come; workers stop when the queue is empty.
    void close();
    bool done() const { return closed_ && queue_.empty() && busy_ == 0; }
    const sc_core::sc_event& idle_event() const { return idle_; }

    const MasterStats& stats() const { return stats_; }
    // Tells whether the host is in the middle of a change (set by the platform).
    void watch_changes(std::function<bool()> changing) { changing_ = std::move(changing); }
    uint32_t sid() const { return sid_; }

private:
    void worker();
    void issue(const TraceRecord& r, uint64_t addr, unsigned len);

    uint32_t sid_;
    std::deque<TraceRecord> queue_;
    sc_core::sc_event pushed_, idle_;
    bool closed_ = false;
    unsigned busy_ = 0;
    MasterStats stats_;
    std::function<bool()> changing_;
};

}  // namespace smmu::sim
