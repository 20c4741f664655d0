// The platform's order of same-time DMA issues (docs/performance.md, "Record
// dispatch"). Every worker of every master, and the dispatcher for a host
// change, waits for a time through this calendar instead of a timed wait of its
// own: at time t one method process (no thread switch) wakes all that are due
// at t, with a delta notification each, in order of `seq` (the record the
// waiter holds: the one it is about to issue, or for a worker waiting for its
// transaction's end, the one it issued; the dispatcher: the change). So at t:
//   delta 0  what timed notifications wake (host steps, the command queue);
//   delta 1  the DMAs due at t in trace order, then the dispatcher's host
//            change (the host starts it a delta later: every DMA at t is
//            translated before a change at t, whatever their order in the trace).
// The order is the trace's, not the order in which the kernel's timed-event
// queue releases equal times (which depends on when each wait was made, and
// differs between accurate and fast mode): both modes issue the same DMAs in
// the same order.
#pragma once
#include <cstdint>
#include <queue>
#include <vector>

#include <systemc>

namespace smmu::sim {

class IssueCalendar : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(IssueCalendar);
    explicit IssueCalendar(sc_core::sc_module_name name) : sc_module(name) {
        SC_METHOD(release);
        sensitive << due_;
        dont_initialize();
    }

    // Waits (in the caller's thread) until `at` (> now), woken through `wake`
    // after the entries due then with a smaller `seq`.
    void wait_until(const sc_core::sc_time& at, uint64_t seq, sc_core::sc_event& wake) {
        entries_.push(Entry{at, seq, next_++, &wake});
        // A later pending notification is replaced by an earlier one (IEEE
        // 1666-2011 5.10.8); an earlier one is kept: the kernel is asked only
        // for an earlier one.
        if (at < due_at_) notify_due(at);
        sc_core::wait(wake);
    }

private:
    struct Entry {
        sc_core::sc_time at;
        uint64_t seq, order;  // order: first come first served among equal (at, seq)
        sc_core::sc_event* wake;
        bool operator>(const Entry& o) const {
            if (at != o.at) return at > o.at;
            return seq != o.seq ? seq > o.seq : order > o.order;
        }
    };

    void release() {
        const sc_core::sc_time now = sc_core::sc_time_stamp();
        due_at_ = sc_core::sc_max_time();
        while (!entries_.empty() && entries_.top().at <= now) {
            entries_.top().wake->notify(sc_core::SC_ZERO_TIME);
            entries_.pop();
        }
        if (!entries_.empty()) notify_due(entries_.top().at);
    }

    void notify_due(const sc_core::sc_time& at) {
        due_.notify(at - sc_core::sc_time_stamp());
        due_at_ = at;
    }

    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> entries_;
    uint64_t next_ = 0;
    sc_core::sc_event due_;
    sc_core::sc_time due_at_ = sc_core::sc_max_time();  // when due_ is pending for (max: not pending)
};

}  // namespace smmu::sim
