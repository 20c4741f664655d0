// A payload event queue as tlm_utils::peq_with_get<T> (same interface and
// order: by time, then in the order notified), without its heap allocation
// per entry (a std::multimap node): entries sit in a binary heap over a
// vector that keeps its capacity, so a steady stream of AT transactions
// allocates nothing.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include <systemc>

namespace smmu {

template <class T>
class TimedQueue {
public:
    explicit TimedQueue(const char* name) : event_(name) {}

    // `t` becomes available after `delay`.
    void notify(T& t, const sc_core::sc_time& delay) {
        heap_.push_back({sc_core::sc_time_stamp() + delay, seq_++, &t});
        std::push_heap(heap_.begin(), heap_.end(), later);
        event_.notify(delay);  // an earlier pending notification stays
    }
    // The next entry due now, else null (and the event is notified for the next one).
    T* get_next_transaction() {
        if (heap_.empty()) return nullptr;
        const sc_core::sc_time now = sc_core::sc_time_stamp();
        if (heap_.front().at > now) {
            event_.notify(heap_.front().at - now);
            return nullptr;
        }
        T* t = heap_.front().item;
        std::pop_heap(heap_.begin(), heap_.end(), later);
        heap_.pop_back();
        return t;
    }
    const sc_core::sc_event& get_event() const { return event_; }

private:
    struct Entry {
        sc_core::sc_time at;
        uint64_t seq;
        T* item;
    };
    // std::push_heap keeps the greatest first: "greater" is later.
    static bool later(const Entry& a, const Entry& b) { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }

    sc_core::sc_event event_;
    std::vector<Entry> heap_;
    uint64_t seq_ = 0;
};

}  // namespace smmu
