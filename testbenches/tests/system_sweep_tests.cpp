// System tests of `smmu-sim sweep`: one config and trace run for every
// combination of --vary values, each run a process of its own.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

namespace {

using smmu_sim_test::Run;
using smmu_sim_test::slurp;
using smmu_sim_test::smmu_sim;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// nested-warm (IOTLB on) over two DMAs to one page, the IOTLB off or on and
// two memory latencies.
const std::string kSweep =
    "sweep --config configs/examples/nested-cold.yaml --config configs/examples/nested-warm.yaml"
    " --trace traces/examples/same-page-twice.trace"
    " --vary smmu.caches.iotlb.entries=0,16 --vary memory.read_latency_ns=50,100"
    " --metric pmu.tlb_miss --metric pmu.trans_table_walk_access --metric latency_ns.max"
    " --metric caches.iotlb.hit_rate";

}  // namespace

TEST_CASE("sweep: every combination in order, the figures of each run", "[system][sweep]") {
    const std::string dir = std::string(CMAKE_BINARY_DIR) + "/sweep_out";
    std::filesystem::remove_all(dir);
    const std::string csv1 = std::string(CMAKE_BINARY_DIR) + "/sweep_j1.csv";
    const std::string csv2 = std::string(CMAKE_BINARY_DIR) + "/sweep_j2.csv";
    const Run r = smmu_sim(kSweep + " --jobs 2 --csv '" + csv2 + "' --out-dir '" + dir + "'");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(has(r.out, "smmu-sim sweep: 4 runs, 2 at a time"));
    // The IOTLB off: both DMAs walk (the second finds the configuration
    // cached: 24 reads, no CD fetch); on: the second hits. The cold DMA's
    // latency follows the memory latency: 3 + 30 reads of it plus cycles.
    const std::string expected =
        "smmu.caches.iotlb.entries,memory.read_latency_ns,pmu.tlb_miss,pmu.trans_table_walk_access,latency_ns.max,"
        "caches.iotlb.hit_rate\n"
        "0,50,2,52,1555,-\n"
        "0,100,2,52,3105,-\n"
        "16,50,1,28,1558,50\n"
        "16,100,1,28,3108,50\n";
    CHECK(slurp(csv2) == expected);
    CHECK(has(r.out, "16                         100                                1                           28"
                     "            3108                     50\n"));
    // Each run's stats are kept: the same as `run` writes.
    const auto s = nlohmann::json::parse(slurp(dir + "/run-3.json"));
    CHECK(s["pmu"]["transaction"] == 2);
    CHECK(s["pmu"]["tlb_miss"] == 1);
    CHECK(std::filesystem::exists(dir + "/run-0.log"));
    // The result does not depend on how many run at once.
    const Run one = smmu_sim(kSweep + " --jobs 1 --csv '" + csv1 + "'");
    REQUIRE(one.exit_code == 0);
    CHECK(slurp(csv1) == expected);
}

TEST_CASE("sweep: --vary config=... sweeps whole topologies", "[system][sweep]") {
    const std::string csv = std::string(CMAKE_BINARY_DIR) + "/sweep_topologies.csv";
    const Run r = smmu_sim(
        "sweep --config configs/smmu/mmu600-agilex.yaml --trace traces/seed/mixed-dma.trace"
        " --vary config=configs/seed/shared-s2-direct.yaml,configs/seed/shared-s2-proxy.yaml,configs/seed/nonshared-s2.yaml"
        " --vary host.driver=linux-viommu-vmid --metric vmids.used --metric invalidation.commands"
        " --metric invalidation.syncs --csv '" + csv + "'");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    // An SMMU preset, then each topology over it: the seed study's VMID and
    // invalidation figures (docs/seed-study.md), which no cache size changes.
    CHECK(slurp(csv) ==
          "config,host.driver,vmids.used,invalidation.commands,invalidation.syncs\n"
          "configs/seed/shared-s2-direct.yaml,linux-viommu-vmid,3,55,44\n"
          "configs/seed/shared-s2-proxy.yaml,linux-viommu-vmid,2,44,44\n"
          "configs/seed/nonshared-s2.yaml,linux-viommu-vmid,3,55,55\n");
}

TEST_CASE("sweep: bad input exits 2 before anything runs, a failed run is named", "[system][sweep]") {
    const std::string base = "sweep --config configs/examples/nested-cold.yaml ";
    Run r = smmu_sim(base + "--vary smmu.caches.iotlb.entries=abc");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--vary smmu.caches.iotlb.entries=abc: --set smmu.caches.iotlb.entries=abc: "
                     "smmu.caches.iotlb.entries: expected an unsigned integer, got 'abc'"));
    CHECK_FALSE(has(r.out, "runs"));
    r = smmu_sim(base + "--vary smmu.bogus=1,2");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "unknown key 'smmu.bogus'"));
    r = smmu_sim(base + "--vary smmu.clock_mhz");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--vary: 'smmu.clock_mhz': expected KEY=V1,V2,..."));
    r = smmu_sim(base + "--vary smmu.clock_mhz=100,,200");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "an empty value"));
    r = smmu_sim(base);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "sweep needs at least one --vary"));
    r = smmu_sim(base + "--vary smmu.clock_mhz=100 --jobs 0");
    CHECK(r.exit_code == 2);
    r = smmu_sim(base + "--vary smmu.clock_mhz=100 --trace nowhere.trace");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "missing file 'nowhere.trace'"));
    r = smmu_sim(base + "--vary smmu.clock_mhz=100 stray");
    CHECK(r.exit_code == 2);
    r = smmu_sim(base + "--vary config=nowhere.yaml");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--vary config=nowhere.yaml: missing file 'nowhere.yaml'"));
    r = smmu_sim(base + "--vary smmu.clock_mhz=100 --metric latency_ns");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--metric latency_ns: a object where a number goes"));
    // A run that fails (here every one: the trace names a device the config
    // lacks) is reported with its settings and its own message.
    r = smmu_sim("sweep --config configs/examples/four-modes.yaml --trace traces/examples/same-page-twice.trace "
                 "--vary smmu.clock_mhz=500,1000");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "smmu-sim sweep: run 1 (smmu.clock_mhz=1000) failed, exit 2: smmu-sim: "
                     "traces/examples/same-page-twice.trace:2: device: unknown device 'dev0'"));
}
