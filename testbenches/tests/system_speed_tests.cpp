// System tests of the timing modes and the benchmark (docs/timing.md "Timing
// modes", docs/performance.md): fast mode (quantum keeper) must give the stats
// of accurate mode, with one master or many, and `bench --quick`
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

// Fast mode against accurate mode on one run: the same stats but for the
// wall-clock figures and the settings (functional()), and no warning. Returns
// the accurate run's stats.
nlohmann::json check_fast_equals_accurate(const std::string& args, const std::string& name,
                                          const std::string& fast_sets = "") {
    const auto accurate = run_stats(args, name + "_accurate");
    const std::string stats = std::string(CMAKE_BINARY_DIR) + "/speed_" + name + "_fast.json";
    const auto r = smmu_sim("run " + args + " --set sim.mode=fast" + fast_sets + " --stats '" + stats + "' --quiet");
    INFO(name << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());  // no "results may differ" warning: they do not
    const auto fast = nlohmann::json::parse(slurp(stats));
    CHECK(fast["sim"]["mode"] == "fast");
    CHECK(functional(fast) == functional(accurate));
    return accurate;
}

// Three devices of four DMAs in flight each (12 workers) with arrivals that
// tie and overtake, bursts across 4 KiB, and S2 churn (unmap+map of guest RAM:
// TLBI_S2_IPA + CMD_SYNC while DMA runs) every 500 records.
std::string write_dense_trace() {
    const std::string path = std::string(CMAKE_BINARY_DIR) + "/speed_dense_three_masters.trace";
    std::ofstream out(path);
    const char* devices[] = {"deva", "devb", "devc"};
    uint64_t x = 0x9e3779b97f4a7c15ull, t = 0;
    for (int i = 0; i < 6000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const uint64_t steps[] = {0, 0, 0, 1, 5, 10, 20, 40, 100, 300};
        t += steps[(x >> 4) % 10];
        if (i % 500 == 250) {
            const uint64_t ipa = 0x80000000 + ((x >> 16) % 4) * 0x10000;
            out << t << " unmap s2:* 0x" << std::hex << ipa << " 0x10000\n"
                << std::dec << t << " map s2:* 0x" << std::hex << ipa << " 0x" << ipa + 0x80000000 << " 0x10000 perm=rw\n"
                << std::dec;
            continue;
        }
        const unsigned d = (x >> 20) % 3;
        const uint64_t base = d == 2 ? 0x80000000 : 0x10000000, span = d == 2 ? 0x40000 : 0x100000;
        const unsigned sizes[] = {64, 128, 256, 4096, 8192};
        out << t << " " << devices[d] << ((x >> 24) % 3 == 0 ? " W 0x" : " R 0x") << std::hex
            << base + ((x >> 28) % span & ~uint64_t{63}) << std::dec << " " << sizes[(x >> 48) % 5] << "\n";
    }
    return path;
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

TEST_CASE("fast mode gives accurate mode's results on the seed scenario (12 master workers, S2 churn)",
          "[speed][issue12]") {
    const std::string trace = " --trace traces/seed/mixed-dma.trace";
    for (const char* config : {"shared-s2-proxy", "shared-s2-direct", "nonshared-s2"}) {
        const auto s = check_fast_equals_accurate(std::string("--config configs/seed/") + config + ".yaml" + trace,
                                                  std::string("seed_") + config);
        // Three masters interleaved, the host's unmap/map and TLBIs among them.
        CHECK(s["totals"]["transactions"].get<uint64_t>() > 6000);
        CHECK(s["invalidation"]["dma_during_change"]["transactions"].get<uint64_t>() > 0);
    }
    check_fast_equals_accurate("--config configs/seed/shared-s2-direct.yaml --config configs/seed/mainline.yaml" + trace,
                               "seed_mainline");
}

TEST_CASE("fast mode gives accurate mode's results on dense, tied arrivals with S2 churn, at any quantum",
          "[speed][issue12]") {
    // The MMU-600 preset: bounded translation and walk slots, TLB and walk
    // ports, so the arrival order decides who queues.
    const std::string args = "--config configs/smmu/mmu600-agilex.yaml --config configs/seed/shared-s2-proxy.yaml"
                             " --trace '" + write_dense_trace() + "'";
    const auto s = check_fast_equals_accurate(args, "dense");
    CHECK(s["totals"]["faults"].get<uint64_t>() > 0);  // DMA into an unmapped window
    CHECK(s["caches"]["iotlb"]["misses"].get<uint64_t>() > 100);
    check_fast_equals_accurate(args, "dense_q10", " --set sim.quantum_ns=10");
    check_fast_equals_accurate(args, "dense_q1ms", " --set sim.quantum_ns=1000000");
}

TEST_CASE("fast mode gives accurate mode's results with lifetime records, guest invalidations and the checker",
          "[speed][issue12]") {
    const std::string data = "testbenches/tests/data/system/";
    const std::string four = "--config configs/examples/four-modes.yaml";
    check_fast_equals_accurate(four + " --trace " + data + "lifetime.trace", "lifetime");
    check_fast_equals_accurate(four + " --set devices.nic.vsid=9 --trace " + data + "veventq.trace", "veventq");
    check_fast_equals_accurate(four + " --config configs/examples/nested-warm.yaml --trace " + data +
                                   "dma-churn.trace --set host.check_invalidations=true --set host.dma_mode=lazy",
                               "dma_churn_lazy");
    check_fast_equals_accurate("--config configs/seed/shared-s2-direct.yaml --trace " + data +
                                   "guest-inv.trace --set host.check_invalidations=true",
                               "guest_inv");
    check_fast_equals_accurate("--config configs/examples/nested-cold.yaml --trace traces/examples/toggle-proxy.trace",
                               "toggle_proxy");
    check_fast_equals_accurate("--config configs/examples/four-modes.yaml --trace traces/examples/four-modes.trace",
                               "four_modes");
    check_fast_equals_accurate("--config configs/examples/asid-alias.yaml --trace traces/examples/asid-alias.trace",
                               "asid_alias");
    // A stale translation's report carries the DMA's time in both modes.
    const auto stale = check_fast_equals_accurate(
        "--config configs/seed/shared-s2-direct.yaml --trace " + data +
            "stale.trace --set host.check_invalidations=true --set host.bug_skip_s2_tlbi=true --allow-stale",
        "stale");
    CHECK(stale["checker"]["mismatches"] == 1);
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
