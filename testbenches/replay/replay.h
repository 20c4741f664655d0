// `smmu-sim replay`: a driver-session script (script.h) runs against one SMMU
// with no host model. The script is the CPU: one thread executes its lines in
// order over three TLM-2.0 initiator sockets,
//
//   ReplayBench.mmio --> Smmu.mmio          register reads/writes, polls
//   ReplayBench.mem  --> Memory             CPU loads/stores (DMI, like the host model)
//   ReplayBench.dma  --> Smmu.upstream      DMA with a SmmuExtension (sid, ssid, ssv)
//                        Smmu.downstream --> Memory
//
// printing one line per statement as it completes, and checking expectations.
#pragma once
#include <cstdint>
#include <exception>
#include <ostream>

#include <nlohmann/json.hpp>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/arch/event.h"
#include "models/memory/memory.h"
#include "models/smmu/smmu.h"
#include "models/smmu/translation/translator.h"
#include "testbenches/config/config.h"
#include "testbenches/replay/script.h"
#include "testbenches/traffic/latency_histogram.h"
#include "tlm/tlm_memory_port.h"

namespace smmu::sim {

struct ReplayCounts {
    uint64_t lines = 0;        // statements executed
    uint64_t mismatches = 0;   // expectations that failed (and accesses the bus refused)
    uint64_t expectations = 0; // statements that checked something
    uint64_t mmio_reads = 0, mmio_writes = 0, mem_reads = 0, mem_writes = 0;
    uint64_t dma = 0, dma_faults = 0, dma_bytes = 0;
};

class ReplayBench : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<ReplayBench> mmio;
    tlm_utils::simple_initiator_socket<ReplayBench> mem;
    tlm_utils::simple_initiator_socket<ReplayBench> dma;

    SC_HAS_PROCESS(ReplayBench);
    // `cfg` gives the SMMU (core_params), the memory and the CPU's access
    // costs (host.mmio_latency_ns, host.mem_access_ns); its vms and devices
    // are not used. `log` receives one line per statement unless `quiet`
    // (mismatches are printed even then).
    // `walks`: after each DMA, print the descriptors a walk of memory reads
    // for it (a fresh walk, whatever the caches did).
    ReplayBench(sc_core::sc_module_name name, const Config& cfg, const Script& script, std::ostream& log,
                bool quiet = false, bool walks = false);

    // Runs the script to its end; rethrows what stopped it early.
    void run();

    const ReplayCounts& counts() const { return counts_; }
    // Records between EVENTQ_CONS and EVENTQ_PROD at the end: written by the
    // SMMU, not consumed by the script.
    std::vector<arch::EventRecord> pending_events() const;
    // The --stats JSON: the keys of `run` that apply, plus replay.*.
    nlohmann::ordered_json stats(double wall_s) const;
    // The end-of-run summary (counts, pmu, events, pending records).
    void print_summary(std::ostream& out) const;

    const Smmu& smmu() const { return smmu_; }

private:
    void thread();
    void execute(const ScriptLine& l);
    // The line with the values that name variables evaluated; false (after
    // reporting a mismatch) when one does not fit where it goes.
    bool resolve(const ScriptLine& l, ScriptLine& out);
    void print_walk(const TranslationRequest& req);
    // Why no register can change while a poll waits ("" if the command queue has work).
    std::string cmdq_idle() const;
    // One register access; false on a bus error.
    bool mmio_access(bool write, uint64_t offset, unsigned width, uint64_t& value);
    void report(const ScriptLine& l, const std::string& what, const std::string& result,
                const std::string& mismatch = "");

    const Config& cfg_;
    const Script& script_;
    std::ostream& log_;
    bool quiet_;
    Memory memory_;
    Smmu smmu_;
    TlmMemoryPort port_;       // the CPU's loads and stores
    sc_core::sc_time local_;   // their cost, waited out after each statement
    sc_core::sc_time start_;   // time of the current statement
    ReplayCounts counts_;
    LatencyHistogram dma_latency_;
    std::exception_ptr error_;
    bool walks_;
    Translator fresh_;                  // walks of memory for perm= and --walks
    std::vector<uint64_t> variables_;   // `-> NAME` values, by index
    std::vector<bool> set_;             // which were read already
};

}  // namespace smmu::sim
