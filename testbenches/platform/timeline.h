// `run --timeline OUT.json`: what happened over time, as Chrome/Perfetto
// trace-event JSON (the "traceEvents" array that chrome://tracing and
// ui.perfetto.dev load; docs/timeline.md has the tracks and events).
//
// Written as it happens (one line per event, nothing kept but the per-track
// lane ends), so memory stays flat on long runs; bounded on disk by a time
// window, by sampling translations and by a hard cap on events, past which a
// note says what was dropped. Events are written in simulation order: the
// same run gives the same bytes.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "models/smmu/smmu_core.h"

namespace smmu::sim {

struct TimelineOptions {
    // --timeline-window START:END (ns): only what overlaps it.
    uint64_t window_start_ps = 0, window_end_ps = std::numeric_limits<uint64_t>::max();
    uint64_t sample = 1;  // --timeline-sample N: every Nth translation of each SMMU
    uint64_t max_events = 1000000;  // --timeline-max-events N: the hard cap

    bool windowed() const { return window_start_ps != 0 || window_end_ps != std::numeric_limits<uint64_t>::max(); }
    // Parses "START:END" in ns (START < END); throws InputError naming the option.
    void set_window(const std::string& text);
    void set_sample(const std::string& text);
    void set_max_events(const std::string& text);
};

class Timeline {
public:
    Timeline(std::ostream& out, const TimelineOptions& opt);
    ~Timeline();
    Timeline(const Timeline&) = delete;
    Timeline& operator=(const Timeline&) = delete;

    // A track group (pid) and a track in it (tid), named; both written as
    // metadata at once, `sort` orders tracks in the viewer.
    unsigned process(const std::string& name);
    unsigned thread(unsigned pid, const std::string& name, unsigned sort);

    // A complete event ("X") over [start, end] and an instant ("i") at `at`,
    // in picoseconds; `args`: a JSON object's text, or empty. Dropped outside
    // the window and past the cap.
    void complete(unsigned pid, unsigned tid, const std::string& name, const char* cat, uint64_t start_ps,
                  uint64_t end_ps, const std::string& args = "");
    void instant(unsigned pid, unsigned tid, const std::string& name, const char* cat, uint64_t at_ps,
                 const std::string& args = "");

    // The recorder of SMMU instance `name` (its core's clock: `period_ps`);
    // `masters[p]` names upstream port p. Owned by the timeline.
    SmmuRecorder& smmu(const std::string& name, uint64_t period_ps, const std::vector<std::string>& masters);

    // The host CPU's track: its operations (setup, each map/unmap, lifetime
    // record or guest batch, flush-queue timers) and, inside them, the command
    // lists it issued (a TLBI ... + CMD_SYNC list is an invalidation window).
    void host_op(const std::string& name, const std::string& where, uint64_t start_ps, uint64_t end_ps);
    void cmdlist(const std::string& smmu, const std::vector<arch::Command>& cmds, bool sync, double start_ns,
                 double end_ns);

    // Closes the array and writes what bounded it ("otherData"); the
    // destructor does it if not called. Returns the events written.
    uint64_t finish();
    uint64_t written() const { return written_; }
    uint64_t dropped() const { return dropped_; }

private:
    class SmmuTrack;
    bool in_window(uint64_t start_ps, uint64_t end_ps) const;
    // In the window and under the cap (else counted as dropped).
    bool admit(uint64_t start_ps, uint64_t end_ps);
    void write_event(char ph, unsigned pid, unsigned tid, const std::string& name, const char* cat, uint64_t ts_ps,
                     const uint64_t* dur_ps, const std::string& args);
    void write_raw(const std::string& line);

    std::ostream& out_;
    TimelineOptions opt_;
    bool first_ = true, finished_ = false, capped_ = false;
    uint64_t written_ = 0, dropped_ = 0, capped_at_ps_ = 0;
    unsigned next_pid_ = 1;
    std::vector<unsigned> next_tid_;  // by pid
    unsigned host_pid_ = 0, host_tid_ = 0;
    std::vector<std::unique_ptr<SmmuTrack>> smmus_;
};

}  // namespace smmu::sim
