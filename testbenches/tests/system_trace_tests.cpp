// System tests of big traces and scale: `smmu-sim trace convert|stats`, runs
// of the same trace as text, gzip and binary, and the scale platform (64K
// StreamIDs, 4096 devices, 1024 16-bit VMIDs, 1 M mapped pages), each a run of
// the smmu-sim command in a process of its own.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

using smmu_sim_test::slurp;
using smmu_sim_test::smmu_sim;

namespace {

const std::string kBin = std::string(CMAKE_BINARY_DIR);
const std::string kSeedConfig = "configs/seed/shared-s2-direct.yaml";
const std::string kSeedTrace = "traces/seed/mixed-dma.trace";

nlohmann::json run_stats(const std::string& args, const std::string& name) {
    const std::string stats = kBin + "/trace_" + name + ".json";
    const auto r = smmu_sim("run " + args + " --stats '" + stats + "' --quiet");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());  // no progress line when stderr is not a terminal
    return nlohmann::json::parse(slurp(stats));
}

}  // namespace

TEST_CASE("trace convert: text, gzip and binary of the seed trace give the same run", "[trace]") {
    const std::string bin = kBin + "/trace_seed.bin", gz = kBin + "/trace_seed.trace.gz";
    const auto c = smmu_sim("trace convert " + kSeedTrace + " '" + bin + "' --config " + kSeedConfig);
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    CHECK(c.out.find("control) -> " + bin) != std::string::npos);
    const std::string cmd = "gzip -c '" + std::string(SMMUSIM_SOURCE_DIR) + "/" + kSeedTrace + "' > '" + gz + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);

    const auto text = run_stats("--config " + kSeedConfig + " --trace " + kSeedTrace, "seed_text");
    const auto binary = run_stats("--config " + kSeedConfig + " --trace '" + bin + "'", "seed_bin");
    const auto packed = run_stats("--config " + kSeedConfig + " --trace '" + gz + "'", "seed_gz");
    REQUIRE(text["totals"]["records"].get<uint64_t>() > 0);
    REQUIRE(text["invalidation"]["commands"].get<uint64_t>() > 0);  // control records came through
    for (const auto* other : {&binary, &packed}) {
        CHECK((*other)["totals"] == text["totals"]);
        CHECK((*other)["latency_ns"] == text["latency_ns"]);
        CHECK((*other)["pmu"] == text["pmu"]);
        CHECK((*other)["invalidation"]["commands"] == text["invalidation"]["commands"]);
        CHECK((*other)["devices"] == text["devices"]);
    }

    const auto s = smmu_sim("trace stats '" + bin + "'");
    REQUIRE(s.exit_code == 0);
    CHECK(s.out.find("(binary, ") != std::string::npos);
    CHECK(s.out.find("devices:  ") != std::string::npos);
}

TEST_CASE("trace convert: bad input exits 2 with file and line", "[trace]") {
    const auto r = smmu_sim("trace convert traces/examples/four-modes.trace '" + kBin + "/trace_names.bin'");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "smmu-sim: traces/examples/four-modes.trace:2: device: 'nic' is not a StreamID (give --config to "
                   "resolve device names)\n");
    const auto missing = smmu_sim("trace convert no-such.trace '" + kBin + "/x.bin'");
    CHECK(missing.exit_code == 2);
    CHECK(missing.err == "smmu-sim: missing file 'no-such.trace'\n");
    const auto usage = smmu_sim("trace");
    CHECK(usage.exit_code == 2);
}

TEST_CASE("scale: 64K StreamIDs, 4096 devices, 16-bit VMIDs, 1 M pages", "[trace][scale]") {
    const std::string cfg = kBin + "/scale.yaml";
    const std::string gen = "bash '" + std::string(SMMUSIM_SOURCE_DIR) + "/scripts/scale-config.sh' > '" + cfg + "'";
    REQUIRE(std::system(gen.c_str()) == 0);
    const auto s = run_stats("--config '" + cfg + "'", "scale");
    CHECK(s["devices"].size() == 4096);
    CHECK(s["vmids"]["used"] == 1024);
    CHECK(s["devices"]["dev4095"]["vmid"].get<unsigned>() > 255);  // needs VMID16
    CHECK(s["totals"]["faults"] == 0);
    CHECK(s["events"].empty());
    // 1 M leaf descriptors in 4K tables (2048 of them), the STEs of 256 level-2 tables.
    const uint64_t bytes = s["memory"]["allocated_bytes"].get<uint64_t>();
    CHECK(bytes >= uint64_t{8} << 20);
    CHECK(s["memory"]["peak_rss_bytes"].get<uint64_t>() > 0);
    std::cout << "scale: platform built in " << s["sim"]["build_wall_s"].get<double>() << " s, simulated memory "
              << bytes / 1048576.0 << " MiB, peak RSS " << s["memory"]["peak_rss_bytes"].get<uint64_t>() / 1048576.0
              << " MiB\n";
    // A DMA through the last device's 2-level STE and its VM's stage 2.
    const std::string trace = kBin + "/scale.trace";
    {
        std::ofstream t(trace);
        t << "0 dev4095 R 0x803ff000 64\n0 dev0 W 0x80000000 64\n0 0x801 R 0x80123000 8\n";
    }
    const auto d = run_stats("--config '" + cfg + "' --trace '" + trace + "'", "scale_dma");
    CHECK(d["totals"]["transactions"] == 3);
    CHECK(d["totals"]["faults"] == 0);
    CHECK(d["totals"]["translated"] == 3);
}

TEST_CASE("run --progress: a line every N seconds also when stderr is no terminal", "[trace]") {
    // An interval far below the run's length: a line at every check (each
    // 1024 records), whole lines for a log, and a last one at the end.
    const auto r = smmu_sim("run --config " + kSeedConfig + " --trace " + kSeedTrace + " --quiet --progress 0.000001");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::size_t lines = 0;
    std::istringstream err(r.err);
    std::string last;
    for (std::string line; std::getline(err, line); ++lines) {
        CHECK(line.rfind("  trace: ", 0) == 0);
        last = line;
    }
    CHECK(lines >= 4);  // the seed trace's 5000-odd records: 4 checks and the end
    CHECK(r.err.find('\r') == std::string::npos);
    CHECK(last.find("100%, ETA 0 s done") != std::string::npos);
    const auto bad = smmu_sim("run --config " + kSeedConfig + " --progress 0");
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--progress: ") != std::string::npos);
}
