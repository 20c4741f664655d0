// A DMA master: replays one device's trace records as TLM-2.0 transactions
// into the SMMU's upstream socket, with up to `outstanding` in flight. Each
// record is split at 4 KiB boundaries as an AXI master must; every
// transaction carries the device's StreamID (and SubstreamID) in SmmuExtension.
//
// Dispatch (docs/performance.md, "Record dispatch"): the platform's reader
// runs ahead of simulated time and pushes each record with its time; the push
// wakes exactly one parked worker (its own event) or, while fewer than
// `outstanding` exist, spawns one: a device the trace never names has no
// thread. The worker that takes a record waits for the record's time itself.
// A master's records are taken first in first out, by the worker free first,
// so each is issued at max(its time, the earliest a worker is free), as when
// the reader handed records over at their time.
//
// Timing (docs/timing.md, "Timing modes"): accurate waits out each
// transaction's annotated delay before the next one (every master is in step
// with the kernel); fast keeps each worker's time locally with a TLM-2.0
// quantum keeper and synchronises when the global quantum is used up, when it
// runs out of work, and before it could overtake another process (catch_up):
// the same results as accurate mode.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "testbenches/config/trace.h"
#include "testbenches/traffic/ats_agent.h"
#include "testbenches/traffic/issue_calendar.h"
#include "testbenches/traffic/latency_histogram.h"
#include "testbenches/traffic/pri_device.h"

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
    // The same by how long after the change began they were issued: bucket i
    // holds [kSinceChangeNs[i-1], kSinceChangeNs[i]) ns, the last everything
    // later. A shorter change window catches fewer DMAs, and a larger share
    // of early ones (right after the TLBIs, when the caches are emptiest):
    // the buckets compare topologies at equal distance from the change.
    static constexpr unsigned kSinceChangeNs[] = {250, 500, 1000, 2000};
    std::array<LatencyHistogram, std::size(kSinceChangeNs) + 1> since_change;
};

// What a master needs of a trace record (the queue holds these, not records).
struct Dma {
    sc_core::sc_time at;  // not issued before (absolute; zero: at once)
    uint64_t seq = 0;     // its place in the trace: the order among DMAs due at one time
    uint64_t iova = 0;
    uint32_t size = 0;
    uint32_t ssid = 0;
    bool write = false;
    bool ssv = false;
};

// The records a master has waiting, first in first out: a ring that grows
// (doubling) to the most ever waiting and then stays, so a steady trace costs
// no allocation (std::deque allocates and frees a block every few dozen).
class DmaQueue {
public:
    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }
    void push_back(const Dma& d) {
        if (size_ == ring_.size()) grow();
        ring_[(head_ + size_++) & (ring_.size() - 1)] = d;
    }
    const Dma& front() const { return ring_[head_]; }
    Dma pop_front() {
        const Dma d = ring_[head_];
        head_ = (head_ + 1) & (ring_.size() - 1);
        --size_;
        return d;
    }

private:
    void grow() {
        std::vector<Dma> bigger(ring_.empty() ? 64 : 2 * ring_.size());
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
        ring_.swap(bigger);
        head_ = 0;
    }
    std::vector<Dma> ring_;  // a power-of-two size
    std::size_t head_ = 0, size_ = 0;
};

// Records pulled by the workers themselves whenever the queue is empty (the
// `bench` command's in-memory traces). next() runs in a worker's thread and may
// wait; false: no more records.
class DmaSource {
public:
    virtual ~DmaSource() = default;
    virtual bool next(Dma& d) = 0;
};

struct MasterTiming {
    bool fast = false;  // temporal decoupling with a quantum keeper
    // fast: the global quantum (tlm_global_quantum, one for the whole kernel).
    sc_core::sc_time quantum = sc_core::sc_time(1000, sc_core::SC_NS);
};

class TrafficGenerator : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<TrafficGenerator> socket;

    SC_HAS_PROCESS(TrafficGenerator);
    TrafficGenerator(sc_core::sc_module_name name, uint32_t sid, unsigned outstanding,
                     const MasterTiming& timing = MasterTiming{});

    // The dispatcher hands a record over at or before `at`, its absolute time:
    // one worker (parked, else a new one) wakes for it.
    void push(const TraceRecord& r, const sc_core::sc_time& at, uint64_t seq);
    // Waits for a time through `c` (shared by the platform's masters: the
    // order of same-time DMAs) instead of timed waits of its own (not owned).
    void set_calendar(IssueCalendar* c) { calendar_ = c; }
    // Records pushed and not yet taken by a worker.
    std::size_t queued() const { return queue_.size(); }
    // No more records will come; workers stop when the queue is empty.
    void close();
    // Pull records from `s` when the queue is empty (before any push, during
    // elaboration; not owned): spawns every worker now.
    void set_source(DmaSource* s);
    bool done() const { return closed_ && queue_.empty() && busy_ == 0 && (!source_ || source_done_); }
    const sc_core::sc_event& idle_event() const { return idle_; }
    // Back-pressure: waits (in the caller's thread) until fewer than `n`
    // records wait for a free worker.
    void wait_for_room(std::size_t n);

    const MasterStats& stats() const { return stats_; }
    // Tells when the host's change in progress began, if one is (set by the
    // platform).
    using ChangeWatch = std::function<std::optional<sc_core::sc_time>()>;
    void watch_changes(ChangeWatch started) { change_started_ = std::move(started); }
    uint32_t sid() const { return sid_; }
    // An ATS-capable device: every access goes through `ats` (its ATC, or a
    // Translation Request first) and is sent Translated (not owned).
    void set_ats(AtsAgent* ats) { ats_ = ats; }
    // A function with PRI enabled (devices.<d>.pri): a page it may not access
    // (an ATS denial, else a translation fault) is asked for with a Page
    // Request, and the access retried after a Success response (not owned).
    void set_pri(PriFunction* pri) { pri_ = pri; }
    bool fast() const { return timing_.fast; }

private:
    // Per worker: its payload, data buffer and extension, reused for every
    // transaction, and its local time (fast mode).
    struct Lane;
    void spawn();
    void worker();
    bool take(Dma& d, Lane& lane);
    void wait_until(const sc_core::sc_time& at, Lane& lane);
    void sleep_until(const sc_core::sc_time& at, Lane& lane);
    void sync(Lane& lane);
    void catch_up(Lane& lane);
    void issue(const Dma& d, uint64_t addr, unsigned len, Lane& lane);
    bool out_of_work() const { return queue_.empty() && (!source_ || source_done_); }

    uint32_t sid_;
    unsigned outstanding_;
    unsigned spawned_ = 0;  // workers created so far (at most outstanding_)
    MasterTiming timing_;
    DmaQueue queue_;
    // Workers waiting for a record, each on its own event; push() wakes the
    // last parked (no broadcast: one wake per record).
    std::vector<Lane*> parked_;
    DmaSource* source_ = nullptr;
    IssueCalendar* calendar_ = nullptr;
    bool source_done_ = false;
    sc_core::sc_event idle_, taken_;
    bool closed_ = false;
    // Someone waits in wait_for_room: only then does taking a record notify
    // `taken_` (a delta notification nobody waits for would still be pending
    // activity, and make a fast-mode worker catch up for nothing).
    bool room_wanted_ = false;
    unsigned busy_ = 0;  // workers holding a record (waiting for its time or issuing it)
    MasterStats stats_;
    ChangeWatch change_started_;
    AtsAgent* ats_ = nullptr;
    PriFunction* pri_ = nullptr;
};

}  // namespace smmu::sim
