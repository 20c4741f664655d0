// System tests of the timing modes and the benchmark (docs/timing.md "Timing
// modes", docs/performance.md): fast mode (quantum keeper) must give a single
// master the same functional results as accurate mode, and `bench --quick`
// must run and write every key. The bench's numbers are not checked: machines
// are noisy, and a test that times them would be flaky.
#include <cstdint>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

using smmu_sim_test::slurp;
using smmu_sim_test::smmu_sim;

namespace {

const std::string kConfigs =
    " --config configs/smmu/mmu600-agilex.yaml --config configs/examples/nested-cold.yaml"
    " --config configs/examples/nested-warm.yaml";

// One device's DMAs over its 2 MiB buffer: reads and writes, bursts that cross
// 4 KiB (split into two transactions), back-to-back records and gaps, and some
// beyond the buffer (translation faults).
std::string write_trace() {
    const std::string path = std::string(CMAKE_BINARY_DIR) + "/speed_single_master.trace";
    std::ofstream out(path);
    uint64_t x = 0x2545f4914f6cdd1dull, t = 0;
    for (int i = 0; i < 3000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t += (x >> 8) % 4 == 0 ? (x >> 12) % 2000 : 0;
        const bool fault = (x >> 20) % 50 == 0;
        const uint64_t page = fault ? 512 + (x >> 24) % 16 : (x >> 24) % ((x >> 40) % 3 == 0 ? 512 : 24);
        const uint64_t offset = ((x >> 32) % 64) * 64;
        const unsigned size = (x >> 44) % 8 == 0 ? 4096 : 64;
        out << t << " dev0 " << ((x >> 50) % 4 == 0 ? "W" : "R") << " 0x" << std::hex << (0x10000000 + page * 4096 + offset)
            << std::dec << " " << size << "\n";
    }
    return path;
}

nlohmann::json run_stats(const std::string& args, const std::string& name) {
    const std::string stats = std::string(CMAKE_BINARY_DIR) + "/speed_" + name + ".json";
    const auto r = smmu_sim("run " + args + " --stats '" + stats + "' --quiet");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(slurp(stats));
}

// Everything but wall-clock and host-process figures, and the settings that
// made the run (`run`: the --set sim.mode differs).
nlohmann::json functional(nlohmann::json s) {
    s.erase("sim");
    s.erase("memory");
    s.erase("run");
    return s;
}

}  // namespace

TEST_CASE("fast mode gives a single master the results of accurate mode", "[speed]") {
    const std::string trace = " --trace '" + write_trace() + "'";
    const auto accurate = run_stats(kConfigs + trace, "accurate");
    const auto fast = run_stats(kConfigs + trace + " --set sim.mode=fast", "fast");
    const auto fast_small = run_stats(kConfigs + trace + " --set sim.mode=fast --set sim.quantum_ns=50", "fast_q50");
    CHECK(accurate["sim"]["mode"] == "accurate");
    CHECK(fast["sim"]["mode"] == "fast");
    CHECK(fast_small["sim"]["quantum_ns"] == 50);
    // The trace exercises hits, misses, split bursts and faults.
    CHECK(accurate["totals"]["transactions"].get<uint64_t>() > 3000);
    CHECK(accurate["totals"]["faults"].get<uint64_t>() > 0);
    CHECK(accurate["caches"]["iotlb"]["hits"].get<uint64_t>() > 0);
    CHECK(accurate["caches"]["iotlb"]["misses"].get<uint64_t>() > 0);
    // Same translations, faults, cache hits and misses, walks, events...
    CHECK(functional(fast)["totals"] == functional(accurate)["totals"]);
    CHECK(functional(fast)["caches"] == functional(accurate)["caches"]);
    CHECK(functional(fast)["events"] == functional(accurate)["events"]);
    CHECK(functional(fast)["event_queue"] == functional(accurate)["event_queue"]);
    // ... and with one master in step with its own local time, the timing too.
    CHECK(functional(fast) == functional(accurate));
    CHECK(functional(fast_small) == functional(accurate));
}

TEST_CASE("fast mode warns where it may differ from accurate mode: several master workers", "[speed][issue12]") {
    // One master, one transaction in flight: exact (the case above), no warning.
    auto r = smmu_sim("run" + kConfigs + " --set sim.mode=fast --quiet");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    // The seed topology: three devices of 4 outstanding each.
    r = smmu_sim("run --config configs/seed/shared-s2-proxy.yaml --trace traces/seed/mixed-dma.trace --set sim.mode=fast --quiet");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("smmu-sim: warning: sim.mode=fast with 12 master workers: results may differ from "
                     "sim.mode=accurate") == 0);
    r = smmu_sim("run --config configs/seed/shared-s2-proxy.yaml --trace traces/seed/mixed-dma.trace --quiet");
    CHECK(r.err.empty());
}

TEST_CASE("sim.mode and sim.quantum_ns are checked like every setting", "[speed]") {
    const std::string base = "run --config configs/examples/nested-cold.yaml --quiet";
    auto r = smmu_sim(base + " --set sim.mode=turbo");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("sim.mode") != std::string::npos);
    r = smmu_sim(base + " --set sim.quantum_ns=0");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("sim.quantum_ns") != std::string::npos);
    r = smmu_sim(base + " --set sim.speed=1");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("unknown key 'sim.speed'") != std::string::npos);
}

TEST_CASE("bench --quick runs every phase and writes every key", "[speed]") {
    const std::string out = std::string(CMAKE_BINARY_DIR) + "/speed_bench.json";
    const auto r = smmu_sim("bench --quick --json '" + out + "'");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(slurp(out));
    for (const char* key : {"probe/quantum_tx_per_s", "probe/wait_tx_per_s", "fast/hit_tx_per_s", "fast/miss_tx_per_s",
                            "accurate/hit_tx_per_s", "accurate/miss_tx_per_s", "ratio/fast", "ratio/accurate",
                            "probe/wait_tx_per_cpu_s", "trace/tx_per_cpu_s", "trace/cpu_s", "ratio/trace"}) {
        const nlohmann::json::json_pointer p(std::string("/") + key);
        INFO(key);
        REQUIRE(j.contains(p));
        CHECK(j[p].get<double>() > 0.0);
    }
    REQUIRE(j["phases"].size() == 6);
    for (const auto& p : j["phases"]) CHECK(p["transactions"] == 20000);
    CHECK(j["phases"][2]["iotlb_hit_rate"].get<double>() > 0.99);  // fast_hit
    CHECK(j["phases"][3]["iotlb_hit_rate"].get<double>() < 0.10);  // fast_miss
    // The trace phase: `smmu-sim run` of a generated 3-device trace file.
    CHECK(j["trace"]["devices"] == 3);
    CHECK(j["trace"]["records"] == 20000);
    CHECK(j["trace"]["transactions"].get<uint64_t>() > 20000);  // bursts across 4K split
    CHECK(j["trace"]["iotlb_hit_rate"].get<double>() > 0.2);
    CHECK(j["trace"]["iotlb_hit_rate"].get<double>() < 0.8);
}
