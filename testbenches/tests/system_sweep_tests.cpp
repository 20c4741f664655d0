// System tests of `smmu-sim sweep`: one config and trace run for every
// combination of --vary values, each run a process of its own.
#include <cstdlib>
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
    // The IOTLB off: both DMAs walk, 24 reads each (the configuration is
    // the one Linux's CMD_PREFETCH_CONFIG fetched: no STE or CD read); on:
    // the second hits. The cold DMA's latency follows the memory latency: it
    // waits for the prefetch's 7 reads (the command, the STE, the CD through
    // 4 stage 2 reads), then its 24, plus cycles.
    const std::string expected =
        "smmu.caches.iotlb.entries,memory.read_latency_ns,pmu.tlb_miss,pmu.trans_table_walk_access,latency_ns.max,"
        "caches.iotlb.hit_rate\n"
        "0,50,2,48,1594,-\n"
        "0,100,2,48,3194,-\n"
        "16,50,1,24,1597,50\n"
        "16,100,1,24,3197,50\n";
    CHECK(slurp(csv2) == expected);
    CHECK(has(r.out, "16                         100                                1                           24"
                     "            3197                     50\n"));
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

TEST_CASE("sweep: an unknown --metric is exit 2 naming it, each run reported as it ends", "[system][sweep]") {
    Run r = smmu_sim(kSweep + " --jobs 2 --metric pmu.tlb_mis");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "smmu-sim: --metric pmu.tlb_mis: no such figure in the stats of any run (README, \"Reading the stats\")"));
    // Every run's end on stderr, in the order they end; the table on stdout.
    for (const char* n : {"1/4 done: run ", "2/4 done: run ", "3/4 done: run ", "4/4 done: run "})
        CHECK(has(r.err, std::string("smmu-sim sweep: ") + n));
    CHECK(has(r.err, "done: run 3 (smmu.caches.iotlb.entries=16 memory.read_latency_ns=100)\n"));
    CHECK_FALSE(has(r.out, "pmu.tlb_mis"));
    // A hit rate of caches none of the runs has is a typo too; one that a run
    // has but never looked up is "-" (the first test).
    r = smmu_sim(kSweep + " --metric caches.iotbl.hit_rate");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--metric caches.iotbl.hit_rate: no such figure"));
}

TEST_CASE("sweep: stale translations exit 4 unless --allow-stale", "[system][sweep]") {
    const std::string csv = std::string(CMAKE_BINARY_DIR) + "/sweep_stale.csv";
    const std::string stale =
        "sweep --config configs/seed/shared-s2-direct.yaml --trace testbenches/tests/data/system/stale.trace"
        " --set host.check_invalidations=true --vary host.bug_skip_s2_tlbi=false,true --metric checker.mismatches"
        " --csv '" + csv + "'";
    Run r = smmu_sim(stale);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 4);
    CHECK(slurp(csv) == "host.bug_skip_s2_tlbi,checker.mismatches\nfalse,0\ntrue,1\n");
    CHECK(has(r.err, "smmu-sim: run 1: the invalidation checker found 1 stale translation(s)\n"));
    CHECK_FALSE(has(r.err, "run 0: the invalidation checker"));
    r = smmu_sim(stale + " --allow-stale");
    CHECK(r.exit_code == 0);
    CHECK(slurp(csv) == "host.bug_skip_s2_tlbi,checker.mismatches\nfalse,0\ntrue,1\n");
}

TEST_CASE("compare --metric: a stats path per row, an unknown one is exit 2", "[system][sweep]") {
    const std::string a = std::string(CMAKE_BINARY_DIR) + "/compare_metric_a.json";
    const std::string b = std::string(CMAKE_BINARY_DIR) + "/compare_metric_b.json";
    const std::string run = "run --config configs/examples/nested-cold.yaml --trace traces/examples/same-page-twice.trace --quiet";
    REQUIRE(smmu_sim(run + " --stats '" + a + "'").exit_code == 0);
    REQUIRE(smmu_sim(run + " --config configs/examples/nested-warm.yaml --stats '" + b + "'").exit_code == 0);
    Run r = smmu_sim("compare cold=" + a + " warm=" + b + " --metric pmu.tlb_miss --metric caches.iotlb.hit_rate");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    // Cold: no IOTLB, both DMAs miss; warm: the second hits (as the sweep's first test).
    CHECK(has(r.out, "\npmu.tlb_miss                                  2                1\n"));
    CHECK(has(r.out, "\ncaches.iotlb.hit_rate                         -               50\n"));
    r = smmu_sim("compare cold=" + a + " --metric pmu.tlb_mis");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "smmu-sim: --metric pmu.tlb_mis: no such figure in the stats of any run (README, \"Reading the stats\")\n");
    CHECK(r.out.empty());
}

TEST_CASE("sweep --emit: GNU parallel and a Slurm array task run the jobs, collect prints sweep's table",
          "[system][sweep]") {
    if (std::system("command -v parallel >/dev/null 2>&1") != 0) {
        WARN("GNU parallel is not installed (scripts/deps.sh installs it): skipped");
        return;
    }
    const std::string dir = std::string(CMAKE_BINARY_DIR) + "/sweep_emit";
    const std::string out_dir = std::string(CMAKE_BINARY_DIR) + "/sweep_emit_local";
    std::filesystem::remove_all(dir);
    std::filesystem::remove_all(out_dir);
    Run r = smmu_sim(kSweep + " --emit '" + dir + "'");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(has(r.out, "smmu-sim sweep: 4 jobs in " + dir + ": parallel < " + dir + "/jobs.txt  or  sbatch " + dir +
                         "/slurm.sh; then smmu-sim collect " + dir + "\n"));
    // Self-contained: one merged config per job, nothing else read but the trace.
    CHECK(has(slurp(dir + "/job-2/config.yaml"), "entries: 16"));
    CHECK(has(slurp(dir + "/slurm.sh"), "#SBATCH --array=1-4\n"));
    // Options of a sweep that runs are refused with --emit (no empty CSV left behind).
    r = smmu_sim(kSweep + " --emit '" + dir + "2' --csv '" + dir + "-refused.csv'");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "smmu-sim: command line: --emit runs nothing here; --csv goes with a sweep that runs (or collect --csv)\n");
    CHECK_FALSE(std::filesystem::exists(dir + "-refused.csv"));
    CHECK_FALSE(std::filesystem::exists(dir + "2"));
    // A second --emit would mix two sweeps' jobs: refused, nothing written.
    r = smmu_sim(kSweep + " --emit '" + dir + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "smmu-sim: --emit: '" + dir + "' already holds a sweep (jobs.txt)\n");
    r = smmu_sim("collect '" + std::string(CMAKE_BINARY_DIR) + "/nowhere'");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "collect: missing file '" + std::string(CMAKE_BINARY_DIR) + "/nowhere/sweep.json' (sweep --emit writes it)"));
    // Nothing ran yet: collect names every missing job and fails.
    r = smmu_sim("collect '" + dir + "'");
    CHECK(r.exit_code == 3);
    CHECK(has(r.err, "smmu-sim collect: job-0 (smmu.caches.iotlb.entries=0 memory.read_latency_ns=50) has no stats"));
    CHECK(has(r.out, "smmu-sim collect: 4 runs, 0 finished\n"));

    // GNU parallel runs the job list as it is, from anywhere.
    REQUIRE(std::system(("cd / && parallel --will-cite -j 2 < '" + dir + "/jobs.txt'").c_str()) == 0);
    // A Slurm array task: line $SLURM_ARRAY_TASK_ID of the list (here job-3 again).
    std::filesystem::remove(dir + "/job-3/stats.json");
    REQUIRE(std::system(("cd / && SLURM_ARRAY_TASK_ID=4 sh '" + dir + "/slurm.sh'").c_str()) == 0);

    const std::string csv = std::string(CMAKE_BINARY_DIR) + "/sweep_emit.csv";
    r = smmu_sim("collect '" + dir + "' --csv '" + csv + "'");
    REQUIRE(r.exit_code == 0);
    CHECK(has(r.out, "smmu-sim collect: 4 runs, 4 finished\n"));
    // The same table as the sweep run here, line for line.
    const Run local = smmu_sim(kSweep + " --jobs 2 --out-dir '" + out_dir + "'");
    REQUIRE(local.exit_code == 0);
    CHECK(r.out.substr(r.out.find('\n')) == local.out.substr(local.out.find('\n')));
    CHECK(has(slurp(csv), "16,100,1,24,3197,50\n"));

    // Every run's JSON says what made it: version, configs, overrides, seed, merged config.
    const auto job = nlohmann::json::parse(slurp(dir + "/job-3/stats.json"))["run"];
    CHECK(job["version"] == "0.1");
    CHECK(job["configs"] == nlohmann::json::array({dir + "/job-3/config.yaml"}));
    CHECK(job["seed"] == 1);
    CHECK(job["config"]["smmu"]["caches"]["iotlb"]["entries"] == "16");
    CHECK(job["config"]["memory"]["read_latency_ns"] == "100");
    const auto run = nlohmann::json::parse(slurp(out_dir + "/run-3.json"))["run"];
    CHECK(run["overrides"] ==
          nlohmann::json::array({"smmu.caches.iotlb.entries=16", "memory.read_latency_ns=100"}));
    CHECK(run["configs"] ==
          nlohmann::json::array({"configs/examples/nested-cold.yaml", "configs/examples/nested-warm.yaml"}));
    CHECK(run["config"] == job["config"]);
}
