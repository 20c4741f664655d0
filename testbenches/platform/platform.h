// The simulated platform a `run` builds from a Config: memory, one Smmu per
// instance in `smmus`, the host CPU running the iommufd-like host model, and
// one traffic generator per device, bound by TLM-2.0 sockets:
//
//   TrafficGenerator[d] --upstream--> Smmu[smmu of d] --downstream--> Memory
//   Host --mmio_<smmu>--> Smmu[i].mmio        Host --mem--> Memory
//
// A dispatcher thread streams the trace: DMA records go to their device's
// generator ahead of their time (its worker waits for it), map/unmap/guest_inv
// records to the host at their time (time 0 = the host done configuring).
#pragma once
#include <chrono>
#include <exception>
#include <memory>
#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "models/memory/memory.h"
#include "models/smmu/smmu.h"
#include "testbenches/config/config.h"
#include "testbenches/config/model_params.h"
#include "testbenches/config/trace.h"
#include "testbenches/host/host.h"
#include "testbenches/platform/invalidation_checker.h"
#include "testbenches/platform/timeline.h"
#include "testbenches/traffic/traffic_generator.h"

namespace smmu::sim {

// This process's CPU seconds (user + system; every SystemC process runs on
// the one OS thread): sim.traffic_cpu_s, and the bench's rates.
double process_cpu_seconds();

class Platform : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(Platform);
    // `trace` may be null: the host configures the SMMUs and the run ends.
    Platform(sc_core::sc_module_name name, const Config& cfg, TraceReader* trace);

    // Runs the simulation to the end; rethrows what stopped it early.
    void run();
    // The --stats JSON (see README, "Reading the stats").
    nlohmann::ordered_json stats(double wall_s) const;

    const Smmu& smmu(unsigned i = 0) const { return *smmus_.at(i); }
    const Host& host() const { return host_; }
    // The master of config device `i` (the `bench` command feeds them directly).
    TrafficGenerator& generator(std::size_t i) { return *gens_.at(i); }
    // VMIDs in use per SMMU instance over time (--vmid-csv): a row at the
    // start of traffic and after each lifetime record that changed them.
    void write_vmid_csv(std::ostream& out) const;
    // Mismatches the missing-invalidation checker found, as text lines.
    std::vector<std::string> checker_lines() const;
    // A progress line on stderr every `seconds` while the trace streams, also
    // when stderr is no terminal (run --progress); 0: only on a terminal.
    void set_progress_interval(double seconds) { progress_every_s_ = seconds; }
    // Records the run into `timeline` (run --timeline): every SMMU's
    // translations, commands and events, the host's operations and command
    // lists. Before run().
    void record_timeline(Timeline& timeline);

private:
    void dispatch();

    // Lifetime failures listed in the stats (all are counted).
    static constexpr std::size_t kMaxLifetimeFailures = 64;
    // Records a device may have waiting before the dispatcher waits for it.
    static constexpr std::size_t kMaxQueued = 4096;
    // DMA records the dispatcher hands out before it waits for the last one's time.
    static constexpr std::size_t kLookahead = 1024;
    // Wall clock from construction to the host done configuring (sim.build_wall_s).
    std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
    double build_wall_s_ = 0;
    double traffic_cpu_s_ = 0;  // CPU seconds from the host done configuring to the traffic's end (sim.traffic_cpu_s)
    uint64_t build_bytes_ = 0, end_bytes_ = 0;  // SparseMemory at build and at the end
    const Config& cfg_;
    TraceReader* trace_;
    DeviceTable devices_;  // the trace's device words, resolved once per record in O(1)
    Memory memory_;
    std::vector<std::unique_ptr<Smmu>> smmus_;
    Host host_;
    IssueCalendar calendar_;  // same-time DMAs and host changes in trace order (issue_calendar.h)
    sc_core::sc_event wake_;  // the dispatcher's, for the calendar
    std::vector<std::unique_ptr<TrafficGenerator>> gens_;
    std::vector<std::unique_ptr<AtsAgent>> ats_;  // per config device: its ATS side, or null
    std::vector<std::unique_ptr<PriFunction>> pri_;  // per config device: its PRI side, or null
    std::vector<std::unique_ptr<InvalidationChecker>> checkers_;  // host.check_invalidations
    std::exception_ptr error_;
    double progress_every_s_ = 0;
    bool finished_ = false;  // the dispatcher saw every device and the host finish
    sc_core::sc_time traffic_start_, traffic_end_;
};

}  // namespace smmu::sim
