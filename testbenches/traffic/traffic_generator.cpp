#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "testbenches/traffic/traffic_generator.h"

#include <algorithm>
#include <vector>

#include "tlm/smmu_extension.h"

namespace smmu::sim {

namespace {
constexpr uint64_t kBoundary = 4096;  // AXI: a burst never crosses 4 KiB
}

struct TrafficGenerator::Lane {
    tlm::tlm_generic_payload gp;
    SmmuExtension ext;
    std::vector<unsigned char> data = std::vector<unsigned char>(kBoundary);
    tlm_utils::tlm_quantumkeeper qk;

    Lane() { gp.set_extension(&ext); }
    // The payload would delete a still-attached extension it does not own.
    ~Lane() { gp.clear_extension(&ext); }
};

TrafficGenerator::TrafficGenerator(sc_core::sc_module_name name, uint32_t sid, unsigned outstanding,
                                   const MasterTiming& timing)
    : sc_module(name), socket("socket"), sid_(sid), timing_(timing) {
    if (timing_.fast) tlm_utils::tlm_quantumkeeper::set_global_quantum(timing_.quantum);
    for (unsigned i = 0; i < outstanding; ++i)
        sc_core::sc_spawn(sc_core::sc_bind(&TrafficGenerator::worker, this), sc_core::sc_gen_unique_name("worker"));
}

void TrafficGenerator::push(const TraceRecord& r) {
    Dma d;
    d.iova = r.iova;
    d.size = r.size;
    d.ssid = r.ssid;
    d.write = r.write;
    d.ssv = r.ssv;
    queue_.push_back(d);
    pushed_.notify(sc_core::SC_ZERO_TIME);
}

void TrafficGenerator::close() {
    closed_ = true;
    pushed_.notify(sc_core::SC_ZERO_TIME);
    if (done()) idle_.notify(sc_core::SC_ZERO_TIME);
}

void TrafficGenerator::wait_for_room(std::size_t n) {
    room_wanted_ = true;
    while (queue_.size() >= n) sc_core::wait(taken_);
    room_wanted_ = false;
}

// The next record: queued, else from the source; false when there will be none.
bool TrafficGenerator::take(Dma& d, Lane& lane) {
    for (;;) {
        // The queue is shared by the master's workers: the one whose time comes
        // first takes the next record, as in accurate mode.
        if (!queue_.empty()) catch_up(lane);
        if (!queue_.empty()) {
            d = queue_.pop_front();
            if (room_wanted_) taken_.notify(sc_core::SC_ZERO_TIME);
            return true;
        }
        if (source_ && !source_done_) {
            if (source_->next(d)) return true;
            source_done_ = true;
            continue;
        }
        if (timing_.fast) lane.qk.sync();  // idle: catch up before waiting for work
        if (!queue_.empty()) continue;
        if (closed_) return false;
        sc_core::wait(pushed_);
    }
}

// Fast mode (docs/timing.md, "Timing modes"): a worker runs ahead of the
// kernel only while no other process can act before its local time; else it
// catches up first. So every interaction with shared state (the SMMU's caches,
// slots and ports, the master's queue, tables and commands the host changes)
// happens in the order and at the times accurate mode has (IEEE 1666-2011
// 4.5.7, sc_time_to_pending_activity: the next delta or timed notification of
// any process). Nothing pending (one master, no host work): run to the quantum.
void TrafficGenerator::catch_up(Lane& lane) {
    const sc_core::sc_time local = lane.qk.get_local_time();
    if (local != sc_core::SC_ZERO_TIME && sc_core::sc_time_to_pending_activity() <= local) lane.qk.sync();
}

void TrafficGenerator::worker() {
    Lane lane;
    lane.qk.reset();
    Dma d;
    while (take(d, lane)) {
        ++busy_;
        ++stats_.records;
        uint64_t addr = d.iova;
        uint64_t left = d.size;
        while (left > 0) {
            const uint64_t chunk = std::min(left, kBoundary - (addr % kBoundary));
            issue(d, addr, static_cast<unsigned>(chunk), lane);
            addr += chunk;
            left -= chunk;
        }
        // The last record done: be at its end before saying so.
        if (timing_.fast && out_of_work()) lane.qk.sync();
        --busy_;
        if (done()) idle_.notify(sc_core::SC_ZERO_TIME);
    }
    // The source ran dry after the last record (nothing above said so).
    if (done()) idle_.notify(sc_core::SC_ZERO_TIME);
}

void TrafficGenerator::issue(const Dma& d, uint64_t addr, unsigned len, Lane& lane) {
    SmmuExtension& ext = lane.ext;
    ext.sid = sid_;
    ext.ssv = d.ssv;
    ext.ssid = d.ssid;
    ext.privileged = ext.instruction = false;
    ext.ats = SmmuExtension::Ats::None;
    ext.event_id = 0;
    ext.pa = 0;
    tlm::tlm_generic_payload& gp = lane.gp;
    gp.set_command(d.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(lane.data.data());
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_byte_enable_length(0);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    // The host's state when it is issued (catching up may let the host act).
    catch_up(lane);
    const std::optional<sc_core::sc_time> change = change_started_ ? change_started_() : std::nullopt;
    // When it is issued (only needed during a change: this is the per-DMA
    // path): the kernel's time plus, decoupled, the worker's lead.
    sc_core::sc_time issued;
    if (change) issued = sc_core::sc_time_stamp() + (timing_.fast ? lane.qk.get_local_time() : sc_core::SC_ZERO_TIME);
    // The access, after the ATS translation of an ATS-capable device; with
    // PRI, a page it may not access is requested and the access retried
    // (an ATS device: a Translation Completion without the permission asked,
    // PCIe 6.0 10.4.1; otherwise the SMMU's translation fault).
    auto transport = [&](sc_core::sc_time& delay) {
        for (unsigned attempt = 0;; ++attempt) {
            const bool translating = ats_ && ats_->enabled();
            const AtsOutcome ats = translating ? ats_->translate(*socket.operator->(), gp, ext, delay) : AtsOutcome::Translated;
            if (ats == AtsOutcome::Translated) {
                socket->b_transport(gp, delay);
            } else {
                gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
            }
            const bool page_fault = translating ? ats == AtsOutcome::Denied
                                                : !gp.is_response_ok() && PriFunction::requests_page_for(ext.event_id);
            if (!pri_ || !page_fault || attempt == PriFunction::kMaxRetries ||
                pri_->request_page(*socket.operator->(), addr, d.write, d.ssv, d.ssid, delay) != arch::PriResp::Success)
                return;
            gp.set_address(addr);
            gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
            ext.ats = SmmuExtension::Ats::None;
            ext.event_id = 0;
        }
    };
    uint64_t latency;
    if (timing_.fast) {
        // Loosely timed: the annotation carries this worker's local time in and
        // the transaction's end out.
        // Start and end in absolute time: a stalled access or a page request
        // waits in the kernel's time, and comes back with a new offset.
        sc_core::sc_time delay = lane.qk.get_local_time();
        const sc_core::sc_time start = sc_core::sc_time_stamp() + delay;
        transport(delay);
        latency = (sc_core::sc_time_stamp() + delay - start).value();
        lane.qk.set(delay);
        if (lane.qk.need_sync()) lane.qk.sync();
    } else {
        const sc_core::sc_time start = sc_core::sc_time_stamp();
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        transport(delay);
        sc_core::wait(delay);
        latency = (sc_core::sc_time_stamp() - start).value();
    }
    ++stats_.transactions;
    stats_.latency.add(latency);
    if (change) {
        stats_.during_change.add(latency);
        const double since_ns = (issued - std::min(issued, *change)).to_seconds() * 1e9;
        unsigned b = 0;
        while (b < std::size(MasterStats::kSinceChangeNs) && since_ns >= MasterStats::kSinceChangeNs[b]) ++b;
        stats_.since_change[b].add(latency);
    }
    if (gp.is_response_ok())
        stats_.bytes += len;
    else
        ++stats_.faults;
}

}  // namespace smmu::sim
