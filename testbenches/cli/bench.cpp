// smmu-sim bench: see bench.h and docs/performance.md.
//
// Phases, in order, each one a module tree of its own in the one elaboration:
//   probe_quantum  TrafficGenerator (fast)     -> trivial target (fixed latency)
//   probe_wait     TrafficGenerator (accurate) -> trivial target
//   fast_hit, fast_miss, accurate_hit, accurate_miss: a whole Platform (host,
//                  SMMU, memory) whose one S1 device is fed from memory.
// Every generator pulls its records from a source that holds it at a gate
// until its phase's turn; the phases run in rounds (3, each ~0.6 s of wall
// clock per phase; --quick: 1 round of 20000), and each phase reports its best
// round, so a burst of load from elsewhere on the machine spoils one round. The
// traces: hit = 64-byte reads cycling over 16 pages (IOTLB hits after the
// first 16); miss = 64-byte reads of random pages of a 256 MiB window of 4K
// pages with a 64-entry IOTLB and small walk caches (nearly every one a walk).
//
// Before them, the `trace` phase: a multi-device trace FILE replayed end to
// end by `smmu-sim run` in a child process (the SystemC kernel runs one
// simulation per process), timed in CPU seconds from the child's rusage; see
// trace_phase() below.
#include "testbenches/cli/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include <boost/program_options.hpp>
#include <sys/resource.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "testbenches/cli/sweep.h"
#include "testbenches/config/input_error.h"
#include "testbenches/platform/platform.h"
#include "testbenches/traffic/traffic_generator.h"

namespace smmu::sim {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kIovaBase = 0x10000000;
constexpr uint64_t kPaBase = 0x100000000;
constexpr uint64_t kHitPages = 16;
constexpr uint64_t kMissWindow = 256ull << 20;

// What the SMMU's place holds in the probe: a fixed latency, nothing else.
class ProbeTarget : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<ProbeTarget> socket;
    explicit ProbeTarget(sc_core::sc_module_name name) : sc_module(name), socket("socket") {
        socket.register_b_transport(this, &ProbeTarget::b_transport);
    }

private:
    void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
        delay += latency_;
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    const sc_core::sc_time latency_{100, sc_core::SC_NS};  // the memory's, without the SMMU
};

// A phase's in-memory trace, behind a gate the controller opens.
class PatternSource : public DmaSource {
public:
    PatternSource(bool hit, uint64_t max_records, double seconds)
        : hit_(hit), max_(max_records), seconds_(seconds) {}

    // One round: records until `max_records` or the wall-clock time are used
    // up; then round_done() fires and the source holds the worker until the
    // next open() (after the last round: no more records).
    void open(bool last) {
        deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds_));
        round_n_ = 0;
        last_ = last;
        open_ = true;
        gate_.notify(sc_core::SC_ZERO_TIME);
    }
    const sc_core::sc_event& round_done() const { return round_done_; }
    bool next(Dma& d) override {
        for (;;) {
            while (!open_) sc_core::wait(gate_);
            // Enough wall time spent? (checked every 64K records)
            const bool stop = round_n_ == max_ || ((round_n_ & 0xffff) == 0xffff && Clock::now() >= deadline_);
            if (!stop) break;
            open_ = false;
            round_done_.notify(sc_core::SC_ZERO_TIME);
            if (last_) return false;
        }
        ++round_n_;
        ++n_;
        d.size = 64;
        d.write = false;
        if (hit_) {
            d.iova = kIovaBase + ((n_ % kHitPages) << 12) + ((n_ * 64) & 0xfc0);
        } else {
            rng_ ^= rng_ << 13;
            rng_ ^= rng_ >> 7;
            rng_ ^= rng_ << 17;
            d.iova = kIovaBase + ((rng_ % (kMissWindow >> 12)) << 12) + ((n_ * 64) & 0xfc0);
        }
        return true;
    }

private:
    bool hit_;
    uint64_t max_;
    double seconds_;
    uint64_t n_ = 0, round_n_ = 0;
    uint64_t rng_ = 0x9e3779b97f4a7c15ull;
    bool open_ = false, last_ = false;
    sc_core::sc_event gate_, round_done_;
    Clock::time_point deadline_;
};

CacheConfig cache(unsigned entries, unsigned ways, unsigned latency = 1) {
    CacheConfig c;
    c.entries = entries;
    c.ways = ways;
    c.latency = latency;
    return c;
}

// One S1 device (a host DMA domain) behind one SMMU with MMU-600-like
// resources; `hit`: large caches over 16 pages, else small caches over 256 MiB.
Config bench_config(bool hit, bool fast, unsigned quantum_ns) {
    Config c;
    c.sim.mode = fast ? TimingMode::Fast : TimingMode::Accurate;
    c.sim.quantum_ns = quantum_ns;
    c.smmu.translation_slots = 64;
    c.smmu.walk_slots = 8;
    c.smmu.walk_port_bytes = 16;
    if (hit) {
        c.smmu.caches["config"] = cache(256, 4, 2);
        c.smmu.caches["iotlb"] = cache(2048, 4, 2);
        for (unsigned l = 0; l < 4; ++l) c.smmu.caches["walk_s1_l" + std::to_string(l)] = cache(256, 4, 2);
    } else {
        c.smmu.caches["config"] = cache(16, 4, 2);
        c.smmu.caches["iotlb"] = cache(64, 4, 2);
        for (unsigned l = 0; l < 4; ++l) c.smmu.caches["walk_s1_l" + std::to_string(l)] = cache(16, 4, 2);
    }
    DeviceConfig d;
    d.name = "dev0";
    d.smmu = c.smmus.front();
    d.sid = 0x10;
    d.attach = AttachMode::S1;
    d.where = "bench";
    ContextConfig ctx;
    ctx.ssid = 0;
    ctx.asid = 1;
    ctx.where = "bench";
    Mapping m;
    m.in = kIovaBase;
    m.out = kPaBase;
    m.size = hit ? kHitPages << 12 : kMissWindow;
    m.page = 4096;
    m.where = "bench";
    ctx.map.push_back(m);
    d.contexts.push_back(ctx);
    c.devices.push_back(d);
    c.sources.push_back("bench");
    return c;
}

struct Phase {
    std::string name;
    std::unique_ptr<PatternSource> source;
    TrafficGenerator* gen = nullptr;
    Platform* platform = nullptr;  // null: a probe
    double wall_s = 0;           // over all rounds
    uint64_t transactions = 0;   // over all rounds
    std::vector<double> rounds;  // translations/s of each round
    std::vector<double> cpu_rounds;  // translations per CPU-second of each round
    double rate() const { return rounds.empty() ? 0.0 : *std::max_element(rounds.begin(), rounds.end()); }
    double cpu_rate() const { return cpu_rounds.empty() ? 0.0 : *std::max_element(cpu_rounds.begin(), cpu_rounds.end()); }
};

class Bench : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(Bench);
    Bench(sc_core::sc_module_name name, bool quick, unsigned quantum_ns, std::vector<std::string> only)
        : sc_module(name), only_(std::move(only)) {
        const uint64_t max_records = quick ? 20000 : 100000000;
        const double seconds = quick ? 10.0 : 0.6;
        rounds_ = quick ? 1 : 3;
        auto probe = [&](const std::string& phase, bool fast) {
            Phase p;
            p.name = phase;
            p.source = std::make_unique<PatternSource>(true, max_records, seconds);
            targets_.push_back(std::make_unique<ProbeTarget>((phase + "_target").c_str()));
            gens_.push_back(std::make_unique<TrafficGenerator>(
                (phase + "_master").c_str(), 0, 1, MasterTiming{fast, sc_core::sc_time(quantum_ns, sc_core::SC_NS)}));
            gens_.back()->socket.bind(targets_.back()->socket);
            p.gen = gens_.back().get();
            p.gen->set_source(p.source.get());
            phases_.push_back(std::move(p));
        };
        auto smmu = [&](const std::string& phase, bool fast, bool hit) {
            Phase p;
            p.name = phase;
            p.source = std::make_unique<PatternSource>(hit, max_records, seconds);
            configs_.push_back(std::make_unique<Config>(bench_config(hit, fast, quantum_ns)));
            platforms_.push_back(std::make_unique<Platform>(phase.c_str(), *configs_.back(), nullptr));
            p.platform = platforms_.back().get();
            p.gen = &p.platform->generator(0);
            p.gen->set_source(p.source.get());
            phases_.push_back(std::move(p));
        };
        probe("probe_quantum", true);
        probe("probe_wait", false);
        smmu("fast_hit", true, true);
        smmu("fast_miss", true, false);
        smmu("accurate_hit", false, true);
        smmu("accurate_miss", false, false);
        SC_THREAD(control);
    }

    std::vector<Phase>& phases() { return phases_; }
    bool finished() const { return finished_; }

private:
    void control() {
        for (auto& g : gens_) g->close();  // probes: no records but the source's
        for (auto& p : platforms_)
            while (!p->host().is_configured()) wait(p->host().configured());
        // Rounds of every phase in turn: a burst of load from elsewhere on the
        // machine hits one round, and each phase reports its best.
        for (unsigned round = 0; round < rounds_; ++round) {
            for (Phase& p : phases_) {
                if (!only_.empty() && std::find(only_.begin(), only_.end(), p.name) == only_.end()) continue;
                const uint64_t before = p.gen->stats().transactions;
                const auto t0 = Clock::now();
                const double cpu0 = process_cpu_seconds();
                p.source->open(round + 1 == rounds_);
                wait(p.source->round_done());
                const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
                const double cpu = process_cpu_seconds() - cpu0;
                const uint64_t n = p.gen->stats().transactions - before;
                p.rounds.push_back(wall > 0 ? static_cast<double>(n) / wall : 0.0);
                p.cpu_rounds.push_back(cpu > 0 ? static_cast<double>(n) / cpu : 0.0);
                p.wall_s += wall;
                p.transactions += n;
            }
        }
        finished_ = true;
    }

    std::vector<std::unique_ptr<Config>> configs_;
    std::vector<std::unique_ptr<Platform>> platforms_;
    std::vector<std::unique_ptr<ProbeTarget>> targets_;
    std::vector<std::unique_ptr<TrafficGenerator>> gens_;
    std::vector<Phase> phases_;
    std::vector<std::string> only_;
    unsigned rounds_ = 1;
    bool finished_ = false;
};

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(line.find_first_not_of(' ', colon + 1));
        }
    return "unknown";
}


// ---- The trace phase ----------------------------------------------------------
// `devices` devices in the topology of configs/seed/shared-s2-proxy.yaml, by
// threes: a nested device on smmu0 (viommu1), a nested one on smmu1 (viommu2)
// and an S2-only proxy device on smmu0, all over one VM's 64 MiB of guest RAM
// with one S2 (per-vIOMMU VMIDs). With 3 devices it is that file's config
// (deva, devb, devc as dev0, dev1, dev2); group g's ranges start g 2 MiB
// further into the guest RAM.
constexpr uint64_t kGuestRam = 0x80000000, kGuestPa = 0x100000000, kGuestRamSize = 64ull << 20;
constexpr uint64_t kDeviceVa = 0x10000000, kGroupStride = 2ull << 20, kGroups = kGuestRamSize / kGroupStride - 1;

std::string trace_config(unsigned devices) {
    std::string y =
        "# smmu-sim bench: the trace phase's config (configs/seed/shared-s2-proxy.yaml's topology).\n"
        "smmus: [smmu0, smmu1]\n"
        "host: {driver: linux-viommu-vmid}\n"
        "smmu:\n";
    y += devices <= 3 ? "  sid_bits: 8\n" : "  sid_bits: 16\n  stream_table: 2level\n  strtab_split: 8\n";
    y += "  translation_slots: 32\n"
         "  walk_slots: 8\n"
         "  caches:\n"
         "    utlb:       {entries: 16,  ways: 16, latency: 1}\n"
         "    iotlb:      {entries: 128, ways: 4,  latency: 3}\n"
         "    config:     {entries: 32,  ways: 4,  latency: 3}\n"
         "    ipa:        {entries: 64,  ways: 4,  latency: 3}\n"
         "    walk_s1_l0: {entries: 8,   ways: 4,  latency: 3}\n"
         "    walk_s1_l1: {entries: 8,   ways: 4,  latency: 3}\n"
         "    walk_s1_l2: {entries: 16,  ways: 4,  latency: 3}\n"
         "    walk_s1_l3: {entries: 16,  ways: 4,  latency: 3}\n"
         "    walk_s2_l0: {entries: 8,   ways: 4,  latency: 3}\n"
         "    walk_s2_l1: {entries: 8,   ways: 4,  latency: 3}\n"
         "    walk_s2_l2: {entries: 16,  ways: 4,  latency: 3}\n"
         "    walk_s2_l3: {entries: 32,  ways: 4,  latency: 3}\n"
         "vms:\n"
         "  vm0:\n"
         "    s2: {granule: 4k, ias: 48}\n"
         "    map:\n"
         "      - {ipa: 0x80000000, pa: 0x100000000, size: 64M, perm: rw, page: 4k}\n";
    // Beyond 3 devices the guest's S1 tables and CDs (about 20 KiB a nested
    // device) do not fit the default 4 MiB at the top of the guest RAM: 64 MiB
    // more RAM holds them.
    if (devices > 3)
        y += "      - {ipa: 0xc0000000, pa: 0x104000000, size: 64M, perm: rw, page: 4k}\n"
             "    guest_tables: {ipa: 0xc0000000, size: 64M}\n";
    y += "viommus:\n"
         "  viommu1: {vm: vm0, smmu: smmu0}\n"
         "  viommu2: {vm: vm0, smmu: smmu1}\n"
         "devices:\n";
    char b[400];
    for (unsigned k = 0; k < devices; ++k) {
        const unsigned g = k / 3, role = k % 3;
        const uint64_t ipa = kGuestRam + (g % kGroups) * kGroupStride + (role == 1 ? 0x100000 : 0);
        if (role == 2)
            std::snprintf(b, sizeof b,
                          "  dev%u: {smmu: smmu0, sid: %#x, attach: proxy, viommu: viommu1, vsid: %#x, outstanding: 4}\n",
                          k, 0x20 + 0x20 * g, 2 + 2 * g);
        else
            std::snprintf(b, sizeof b,
                          "  dev%u: {smmu: smmu%u, sid: %#x, attach: nested, viommu: viommu%u, vsid: %#x, outstanding: 4,\n"
                          "         contexts: [{ssid: 0, asid: %u, va_bits: 48, map: [{va: %#llx, out: %#llx, size: 2M, perm: rw, page: 4k}]}]}\n",
                          k, role, 0x10 + 0x20 * g, role + 1, 1 + 2 * g, g + 1,
                          static_cast<unsigned long long>(kDeviceVa), static_cast<unsigned long long>(ipa));
        y += b;
    }
    return y;
}

// The trace traces/tools/gen_seed_trace.py writes, for the first `devices`
// devices of the config and `records` DMAs (C++ here so the bench needs no Python; its own random
// numbers): one DMA every 20 ns round-robin over the devices, 70 % in a hot
// 128 KiB of the device's 1 MiB window, 64-256 bytes, 30 % writes; every
// 10 us 64 KiB of guest RAM unmapped and mapped again on the S2 (s2:*: every
// S2 domain backing it: TLBI by IPA, then the map), DMAs stepping past that
// block for 8 us. About half the IOTLB lookups miss. A DMA now and then (3
// in 300 000) still reaches a block while it is unmapped and faults: the
// phase reports them.
void write_trace(std::ostream& out, unsigned devices, uint64_t records) {
    constexpr uint64_t kWindow = 0x100000, kChurn = 0x10000, kPeriodNs = 10000, kQuietNs = 8000, kStepNs = 20;
    uint64_t rng = 20240524;
    auto next = [&rng](uint64_t n) {  // xorshift64*, uniform enough for a benchmark
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        return ((rng * 0x2545f4914f6cdd1dull) >> 11) % n;
    };
    out << "# smmu-sim bench: the trace phase (" << devices << " devices, " << records << " DMAs)\n";
    bool churned = false;
    uint64_t churn_at = 0, block = 0;
    char b[160];
    for (uint64_t i = 0; i < records; ++i) {
        const uint64_t t = i * kStepNs;
        if (t % kPeriodNs == 0 && t > 0) {
            block = kGuestRam + ((t / kPeriodNs) % 8) * 2 * kChurn;
            churn_at = t;
            churned = true;
            std::snprintf(b, sizeof b, "%llu unmap s2:* %#llx %#llx\n%llu map s2:* %#llx %#llx %#llx perm=rw\n",
                          static_cast<unsigned long long>(t), static_cast<unsigned long long>(block),
                          static_cast<unsigned long long>(kChurn), static_cast<unsigned long long>(t),
                          static_cast<unsigned long long>(block),
                          static_cast<unsigned long long>(kGuestPa + block - kGuestRam),
                          static_cast<unsigned long long>(kChurn));
            out << b;
        }
        const unsigned k = static_cast<unsigned>(i % devices), g = k / 3, role = k % 3;
        const uint64_t ipa_base = kGuestRam + (g % kGroups) * kGroupStride + (role == 1 ? 0x100000 : 0);
        const uint64_t va_base = role == 2 ? ipa_base : kDeviceVa;
        const bool hot = next(10) < 7;
        uint64_t off = next((hot ? 0x20000 : kWindow) / 64) * 64;
        static const uint32_t kSizes[] = {64, 64, 128, 256};
        const uint32_t size = kSizes[next(4)];
        const uint64_t ipa = ipa_base + off;
        if (churned && t - churn_at < kQuietNs && ipa < block + kChurn && ipa + size > block)
            off = (off + kChurn + size) % kWindow;
        const bool write = next(10) < 3;
        std::snprintf(b, sizeof b, "%llu dev%u %c %#llx %u\n", static_cast<unsigned long long>(t), k, write ? 'W' : 'R',
                      static_cast<unsigned long long>(va_base + off), size);
        out << b;
    }
}

// One `smmu-sim run` in a child process: its CPU seconds (user + system),
// peak RSS and stats.
struct ChildRun {
    double cpu_s = 0;
    uint64_t max_rss_bytes = 0;
    nlohmann::json stats;
};

ChildRun run_child(const RunDir& dir, const std::string& config, const std::string* trace, const std::string& name) {
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::vector<std::string> argv{self, "run", "--config", config, "--stats", dir.file(name + ".json"), "--quiet"};
    if (trace) argv.insert(argv.end(), {"--trace", *trace});
    const pid_t pid = spawn_logged(argv, dir.file(name + ".log"));
    int status = 0;
    rusage ru{};
    if (wait4(pid, &status, 0, &ru) != pid) throw std::runtime_error("bench: wait4 failed");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::ifstream log(dir.file(name + ".log"));
        std::string line, last;
        while (std::getline(log, line)) last = line;
        throw std::runtime_error("bench: the trace phase's run failed: " + last);
    }
    ChildRun r;
    auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; };
    r.cpu_s = seconds(ru.ru_utime) + seconds(ru.ru_stime);
    r.max_rss_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
    std::ifstream f(dir.file(name + ".json"));
    r.stats = nlohmann::json::parse(f);
    return r;
}

struct TracePhase {
    unsigned devices = 0;
    uint64_t records = 0, transactions = 0, faults = 0;
    double setup_cpu_s = 0;  // the run without the trace (config, platform, host setup, stats), best round
    double cpu_s = 0;        // the run with it: its sim.traffic_cpu_s (the trace read and simulated), best round
    double iotlb_hit_rate = 0;
    uint64_t max_rss_bytes = 0;
    // Transactions per CPU-second of the trace alone (setup subtracted).
    double rate() const { return cpu_s > 0 ? static_cast<double>(transactions) / cpu_s : 0.0; }
};

// Writes the config and trace into `dir`, runs `smmu-sim run` without the
// trace (the setup's CPU time) and with it (the trace's, sim.traffic_cpu_s),
// `rounds` times each.
// The config has `devices` devices, the trace uses the first `active`.
TracePhase trace_phase(const RunDir& dir, unsigned devices, unsigned active, uint64_t records, unsigned rounds) {
    const std::string config = dir.file("bench.yaml"), trace = dir.file("bench.trace");
    std::ofstream(config) << trace_config(devices);
    {
        std::ofstream t(trace);
        write_trace(t, active, records);
        if (!t) throw std::runtime_error("bench: cannot write '" + trace + "'");
    }
    TracePhase p;
    p.devices = devices;
    p.records = records;
    for (unsigned r = 0; r < rounds; ++r) {
        // Best of the rounds for both runs: a burst of load elsewhere spoils one.
        const double setup = run_child(dir, config, nullptr, "setup").cpu_s;
        if (r == 0 || setup < p.setup_cpu_s) p.setup_cpu_s = setup;
        const ChildRun run = run_child(dir, config, &trace, "trace");
        const double traffic = run.stats["sim"]["traffic_cpu_s"].get<double>();
        if (r == 0 || traffic < p.cpu_s) p.cpu_s = traffic;
        p.max_rss_bytes = std::max(p.max_rss_bytes, run.max_rss_bytes);
        p.transactions = run.stats["totals"]["transactions"].get<uint64_t>();
        p.faults = run.stats["totals"]["faults"].get<uint64_t>();
        const auto& iotlb = run.stats["caches"]["iotlb"];
        const double lookups = iotlb["lookups"].get<double>();
        p.iotlb_hit_rate = lookups > 0 ? iotlb["hits"].get<double>() / lookups : 0.0;
    }
    return p;
}

}  // namespace

int bench_command(const std::vector<std::string>& args) {
    namespace po = boost::program_options;
    po::options_description opts("smmu-sim bench");
    opts.add_options()("json", po::value<std::string>(), "write the results as JSON here")(
        "quick", "a few thousand transactions per phase (a smoke test, not a measurement)")(
        "quantum-ns", po::value<unsigned>()->default_value(1000), "fast mode's global quantum")(
        "only", po::value<std::vector<std::string>>()->composing(), "run only this phase (for profiling; repeatable)")(
        "trace-records", po::value<uint64_t>(), "DMAs in the trace phase's trace (default 300000; --quick 20000)")(
        "trace-devices", po::value<unsigned>()->default_value(3), "devices in the trace phase's config")(
        "trace-dir", po::value<std::string>(), "write the trace phase's config, trace and runs here and keep them")(
        "scale-devices", po::value<unsigned>(),
        "the scale phase: the trace phase's trace in a config of this many devices (default 4096; --quick: none)")(
        "help,h", "this help");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(opts).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw InputError(std::string("command line: ") + e.what());
    }
    if (vm.count("help")) {
        std::cout << opts;
        return 0;
    }
    const unsigned quantum_ns = vm["quantum-ns"].as<unsigned>();
    if (quantum_ns == 0) throw InputError("--quantum-ns: must be at least 1");
    std::ofstream json_file;
    if (vm.count("json")) {
        json_file.open(vm["json"].as<std::string>());
        if (!json_file) throw InputError("--json: cannot write '" + vm["json"].as<std::string>() + "'");
    }
    const bool quick = vm.count("quick") > 0;
    const unsigned trace_devices = vm["trace-devices"].as<unsigned>();
    if (trace_devices == 0 || trace_devices > 4096) throw InputError("--trace-devices: must be 1 to 4096");
    const uint64_t trace_records = vm.count("trace-records") ? vm["trace-records"].as<uint64_t>() : quick ? 20000 : 300000;
    if (trace_records == 0) throw InputError("--trace-records: must be at least 1");
    const auto only = vm.count("only") ? vm["only"].as<std::vector<std::string>>() : std::vector<std::string>{};
    const unsigned scale_devices = vm.count("scale-devices") ? vm["scale-devices"].as<unsigned>() : quick ? 0 : 4096;
    if (scale_devices > 4096) throw InputError("--scale-devices: at most 4096");

    // The trace phase first, in child processes, before this process elaborates.
    std::optional<TracePhase> trace;
    if (only.empty() || std::find(only.begin(), only.end(), "trace") != only.end()) {
        const RunDir dir(vm.count("trace-dir") ? std::optional<std::string>(vm["trace-dir"].as<std::string>()) : std::nullopt,
                         "bench");
        trace = trace_phase(dir, trace_devices, trace_devices, trace_records, quick ? 1 : 3);
    }
    // The scale phase: the same trace (the same devices busy) in a config of
    // `scale_devices` devices, so only what the other devices cost shows.
    std::optional<TracePhase> scale;
    if (trace && scale_devices > trace_devices) {
        const RunDir dir(std::nullopt, "bench");
        scale = trace_phase(dir, scale_devices, trace_devices, trace_records, 2);
    }

    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    Bench bench("bench", quick, quantum_ns, only);
    sc_core::sc_start();
    if (!bench.finished()) throw std::runtime_error("bench: a phase did not finish (simulation stopped early)");

    nlohmann::ordered_json j, phases = nlohmann::ordered_json::array();
    std::cout << "smmu-sim bench" << (quick ? " --quick" : "") << ": quantum " << quantum_ns << " ns\n";
    std::cout << "  phase             transactions    wall (s)  translations/s (best round)   IOTLB hit rate\n";
    double rate[6] = {};
    for (std::size_t i = 0; i < bench.phases().size(); ++i) {
        const Phase& p = bench.phases()[i];
        rate[i] = p.rate();
        nlohmann::ordered_json pj = {{"name", p.name},         {"transactions", p.transactions}, {"wall_s", p.wall_s},
                                     {"tx_per_s", p.rate()}, {"rounds_tx_per_s", p.rounds}};
        std::string hit_rate = "-";
        if (p.platform) {
            const CacheStats& s = p.platform->smmu(0).core().unit().iotlb().stats();
            const double r = s.lookups ? static_cast<double>(s.hits) / static_cast<double>(s.lookups) : 0.0;
            pj["iotlb_hit_rate"] = r;
            pj["faults"] = p.gen->stats().faults;
            char b[32];
            std::snprintf(b, sizeof b, "%.4f", r);
            hit_rate = b;
            if (p.gen->stats().faults) throw std::runtime_error("bench: phase " + p.name + " faulted");
        }
        char line[160];
        std::snprintf(line, sizeof line, "  %-16s %13llu  %10.3f  %19.0f   %s\n", p.name.c_str(),
                      static_cast<unsigned long long>(p.transactions), p.wall_s, p.rate(), hit_rate.c_str());
        std::cout << line;
        phases.push_back(pj);
    }
    const double probe_wait_cpu = bench.phases()[1].cpu_rate();
    if (trace) {
        char line[200];
        std::snprintf(line, sizeof line, "  %-16s %13llu  %10.3f  %19.0f   %.4f   (%u devices, %llu records, %llu faults; CPU s, per CPU-second)\n",
                      "trace", static_cast<unsigned long long>(trace->transactions), trace->cpu_s,
                      trace->rate(), trace->iotlb_hit_rate, trace->devices,
                      static_cast<unsigned long long>(trace->records), static_cast<unsigned long long>(trace->faults));
        std::cout << line;
    }
    const double ratio_fast = rate[0] > 0 ? rate[2] / rate[0] : 0.0;
    const double ratio_accurate = rate[1] > 0 ? rate[4] / rate[1] : 0.0;
    j["probe"] = {{"quantum_tx_per_s", rate[0]}, {"wait_tx_per_s", rate[1]}};
    j["fast"] = {{"hit_tx_per_s", rate[2]}, {"miss_tx_per_s", rate[3]}};
    j["accurate"] = {{"hit_tx_per_s", rate[4]}, {"miss_tx_per_s", rate[5]}};
    j["ratio"] = {{"fast", ratio_fast}, {"accurate", ratio_accurate}};
    double ratio_trace = 0;
    if (trace) {
        ratio_trace = probe_wait_cpu > 0 ? trace->rate() / probe_wait_cpu : 0.0;
        j["probe"]["wait_tx_per_cpu_s"] = probe_wait_cpu;
        j["trace"] = {{"devices", trace->devices},
                      {"records", trace->records},
                      {"transactions", trace->transactions},
                      {"setup_cpu_s", trace->setup_cpu_s},
                      {"cpu_s", trace->cpu_s},
                      {"tx_per_cpu_s", trace->rate()},
                      {"iotlb_hit_rate", trace->iotlb_hit_rate},
                      {"faults", trace->faults},
                      {"max_rss_bytes", trace->max_rss_bytes}};
        j["ratio"]["trace"] = ratio_trace;
    }
    const bool fast_ok = rate[2] >= 10e6 && ratio_fast >= 0.10;
    const bool accurate_ok = rate[4] >= 3e6 && ratio_accurate >= 0.25;
    j["targets"] = {{"fast", "hit >= 10M/s and ratio.fast >= 0.10"},
                    {"fast_met", fast_ok},
                    {"accurate", "hit >= 3M/s and ratio.accurate >= 0.25"},
                    {"accurate_met", accurate_ok}};
    j["quick"] = quick;
    j["quantum_ns"] = quantum_ns;
    j["machine"] = {{"cpu", cpu_model()}, {"nproc", std::thread::hardware_concurrency()}};
    j["phases"] = phases;
    char buf[320];
    std::snprintf(buf, sizeof buf, "  ratio.fast      %.3f (fast hit / probe quantum; target >= 0.10, %s >= 10M/s)\n",
                  ratio_fast, rate[2] >= 10e6 ? "hit" : "hit NOT");
    std::cout << buf;
    std::snprintf(buf, sizeof buf, "  ratio.accurate  %.3f (accurate hit / probe wait; target >= 0.25, %s >= 3M/s)\n",
                  ratio_accurate, rate[4] >= 3e6 ? "hit" : "hit NOT");
    std::cout << buf;
    if (trace) {
        std::snprintf(buf, sizeof buf,
                      "  ratio.trace     %.3f (trace %.0f / probe wait %.0f transactions per CPU-second; target >= 0.30)\n",
                      ratio_trace, trace->rate(), probe_wait_cpu);
        std::cout << buf;
    }
    if (scale) {
        j["scale"] = {{"devices", scale->devices}, {"active_devices", trace->devices}, {"setup_cpu_s", scale->setup_cpu_s}};
        std::snprintf(buf, sizeof buf, "  scale           %u devices (%u busy): setup %.2f CPU s (target < 1 s); ",
                      scale->devices, trace->devices, scale->setup_cpu_s);
        std::cout << buf;
        const double per = scale->cpu_s * 1e9 / static_cast<double>(scale->transactions),
                     base = trace->cpu_s * 1e9 / static_cast<double>(trace->transactions);
        j["scale"]["ns_per_transaction"] = per;
        j["scale"]["ns_per_transaction_active_only"] = base;
        j["scale"]["ratio"] = per / base;
        std::snprintf(buf, sizeof buf, "%.0f ns a transaction, %.0f with %u devices: %.2fx (target <= 1.5)\n", per, base,
                      trace->devices, per / base);
        std::cout << buf;
    }
    if (json_file.is_open()) json_file << j.dump(2) << "\n";
    return 0;
}

}  // namespace smmu::sim
