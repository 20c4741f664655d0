// System tests: each case runs the smmu-sim command as its own process (the
// SystemC kernel cannot restart within one) and checks its output and stats.
#include <algorithm>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

namespace {

using smmu_sim_test::Run;
using smmu_sim_test::slurp;
using smmu_sim_test::smmu_sim;

const std::string kSrc = SMMUSIM_SOURCE_DIR;
const std::string kData = kSrc + "/testbenches/tests/data/system/";

nlohmann::json run_stats(const std::string& args, const std::string& name) {
    const std::string stats = std::string(CMAKE_BINARY_DIR) + "/" + name + ".json";
    const Run r = smmu_sim("run " + args + " --stats '" + stats + "' --quiet");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(slurp(stats));
}

}  // namespace

TEST_CASE("nested-cold: one DMA walks 28 table entries and 2 config structures", "[system]") {
    const auto s = run_stats("--config configs/examples/nested-cold.yaml --trace traces/examples/one-dma.trace",
                             "nested_cold");
    CHECK(s["pmu"]["transaction"] == 1);
    CHECK(s["pmu"]["trans_table_walk_access"] == 28);
    CHECK(s["pmu"]["config_struct_access"] == 2);
    CHECK(s["pmu"]["tlb_miss"] == 1);
    CHECK(s["pmu"]["config_cache_miss"] == 1);
    CHECK(s["totals"]["faults"] == 0);
    CHECK(s["totals"]["transactions"] == 1);
    CHECK(s["totals"]["bytes"] == 64);
    // 30 memory reads and the data read at 100 ns each, plus 2 pipeline cycles at 1 GHz.
    CHECK(s["latency_ns"]["mean"].get<double>() == 3102.0);
    CHECK(s["latency_ns"]["p50"].get<double>() == 3102.0);
    CHECK(s["latency_ns"]["p99"].get<double>() == 3102.0);
    CHECK(s["pmu"]["cycles"] == 3102);
    CHECK(s["events"].empty());
    // The host's reset sequence and the device install went through the queue.
    CHECK(s["cmdq"]["by_opcode"]["CFGI_STE_RANGE"] == 1);
    CHECK(s["cmdq"]["by_opcode"]["TLBI_NSNH_ALL"] == 1);
    // arm_smmu_write_entry from the initial abort STE: unused qwords, then
    // qword 0, each with CFGI_STE + SYNC; then CMD_PREFETCH_CONFIG.
    CHECK(s["cmdq"]["by_opcode"]["CFGI_STE"] == 2);
    CHECK(s["cmdq"]["by_opcode"]["SYNC"] == 5);
    CHECK(s["cmdq"]["by_opcode"]["PREFETCH_CONFIG"] == 1);
    CHECK(s["cmdq"]["errors"] == 0);
    CHECK(s["sim"]["sim_time_ns"].get<double>() > 0);
}

TEST_CASE("the README demo prints a readable summary", "[system]") {
    const Run r = smmu_sim("run --config configs/examples/nested-cold.yaml --trace traces/examples/one-dma.trace");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("trans_table_walk_access=28") != std::string::npos);
    CHECK(r.out.find("1 transactions, 64 bytes, 0 faults") != std::string::npos);
    CHECK(r.err.empty());
}

TEST_CASE("stage 1 only walks 4 levels", "[system]") {
    const auto s = run_stats("--config " + kData + "s1-only.yaml --trace " + kData + "s1.trace", "s1_only");
    CHECK(s["pmu"]["trans_table_walk_access"] == 4);
    CHECK(s["pmu"]["config_struct_access"] == 2);
    CHECK(s["totals"]["faults"] == 0);
}

TEST_CASE("stage 2 only: 4 reads at 48-bit IPA, 3 at 40-bit (concatenated level 1)", "[system]") {
    const auto s48 = run_stats("--config " + kData + "s2-only.yaml --trace " + kData + "dma.trace", "s2_48");
    // First DMA: full walk; second: unmapped, faults after the levels that exist.
    CHECK(s48["pmu"]["config_struct_access"] == 2);
    CHECK(s48["devices"]["dev0"]["faults"] == 1);
    const auto s40 = run_stats("--config " + kData + "s2-only.yaml --set vms.vm0.s2.ias=40 --trace " + kData +
                                   "dma.trace",
                               "s2_40");
    // 48-bit: 4 + 3 (L0, L1 shared; L2 entry invalid); 40-bit: 3 + 2.
    CHECK(s48["pmu"]["trans_table_walk_access"] == 7);
    CHECK(s40["pmu"]["trans_table_walk_access"] == 5);
    // The fault is in the event queue with the architecture's fields.
    REQUIRE(s40["event_queue"].size() == 1);
    const auto& e = s40["event_queue"][0];
    CHECK(e["name"] == "F_TRANSLATION");
    CHECK(e["SID"] == 5);
    CHECK(e["S2"] == 1);
    CHECK(e["CLASS"] == 2);
    CHECK(e["RnW"] == 1);
    CHECK(e["InputAddr"] == 0x90000000ull);
    CHECK(e["IPA"] == 0x90000000ull);
    CHECK(s40["events"]["F_TRANSLATION"] == 1);
}

TEST_CASE("later --config files and --set override earlier values", "[system]") {
    const std::string override_file = std::string(CMAKE_BINARY_DIR) + "/latency50.yaml";
    std::ofstream(override_file) << "memory: {read_latency_ns: 50}\n";
    const auto s = run_stats("--config configs/examples/nested-cold.yaml --config " + override_file +
                                 " --trace traces/examples/one-dma.trace",
                             "override");
    CHECK(s["latency_ns"]["mean"].get<double>() == 31 * 50 + 2);  // 30 table reads + the data read
    const auto s2 = run_stats("--config configs/examples/nested-cold.yaml --config " + override_file +
                                  " --set memory.read_latency_ns=10 --set smmu.pipeline_cycles=5"
                                  " --trace traces/examples/one-dma.trace",
                              "override_set");
    CHECK(s2["latency_ns"]["mean"].get<double>() == 31 * 10 + 5);
}

TEST_CASE("same config and trace give byte-identical stats", "[system]") {
    auto a = run_stats("--config configs/examples/four-modes.yaml --trace traces/examples/four-modes.trace", "rep_a");
    auto b = run_stats("--config configs/examples/four-modes.yaml --trace traces/examples/four-modes.trace", "rep_b");
    for (auto* s : {&a, &b}) {  // wall-clock and process figures
        (*s)["sim"].erase("wall_s");
        (*s)["sim"].erase("build_wall_s");
        (*s)["sim"].erase("traffic_cpu_s");
        (*s)["memory"].erase("peak_rss_bytes");
    }
    CHECK(a.dump() == b.dump());
    CHECK(a["events"]["F_PERMISSION"] == 1);
    CHECK(a["events"]["F_TRANSLATION"] == 1);
    CHECK(a["totals"]["transactions"] == 10);
}

TEST_CASE("translate prints the walk step by step", "[system]") {
    const Run r = smmu_sim("translate --config configs/examples/nested-cold.yaml --device dev0 --iova 0x10000040");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("reads: 28 table walk, 2 configuration") != std::string::npos);
    CHECK(r.out.find("result: translated PA 0x100200040") != std::string::npos);
    const Run f = smmu_sim("translate --config configs/examples/nested-cold.yaml --device dev0 --iova 0x20000040");
    CHECK(f.exit_code == 1);
    CHECK(f.out.find("result: fault F_TRANSLATION") != std::string::npos);
}

TEST_CASE("decode prints the architecture's field names", "[system]") {
    const Run r = smmu_sim("decode cmd 0x0000001000000003 0x1");
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["name"] == "CFGI_STE");
    CHECK(j["SID"] == 16);
    CHECK(j["Leaf"] == 1);
    CHECK(smmu_sim("decode ste 0x1 0xzz").exit_code == 2);
    CHECK(smmu_sim("decode cmd 1 2 3").exit_code == 2);
    CHECK(smmu_sim("decode thing 1").exit_code == 2);
}

TEST_CASE("decode of the PRI and stall commands, a stall event and a PRI queue record", "[system][pri]") {
    // Words as Linux's arm_smmu_cmdq_build_cmd packs them (CMDQ_PRI_*, CMDQ_RESUME_*):
    // PRI_RESP SID 6, SSV, SSID 0x42, GRPID 0x1ab, RESP SUCC.
    auto j = nlohmann::json::parse(smmu_sim("decode cmd 0x0000000600042841 0x21ab").out);
    CHECK(j["name"] == "PRI_RESP");
    CHECK((j["SID"] == 6 && j["SSV"] == 1 && j["SSID"] == 0x42 && j["PRGIndex"] == 0x1ab && j["Resp"] == 2));
    // RESUME SID 5, RESP RETRY, STAG 0x1234.
    j = nlohmann::json::parse(smmu_sim("decode cmd 0x0000000500001044 0x1234").out);
    CHECK(j["name"] == "RESUME");
    CHECK((j["SID"] == 5 && j["Action"] == 1 && j["STAG"] == 0x1234));
    j = nlohmann::json::parse(smmu_sim("decode cmd 0x0000000500000045").out);
    CHECK((j["name"] == "STALL_TERM" && j["SID"] == 5));
    // F_TRANSLATION with Stall=1, STAG 0x1234, PnU, RnW=1 (a read), CLASS=IN (EVTQ_1_*).
    j = nlohmann::json::parse(smmu_sim("decode event 0x0000000500000010 0x0000020a80001234 0x400000").out);
    CHECK(j["name"] == "F_TRANSLATION");
    CHECK((j["Stall"] == 1 && j["STAG"] == 0x1234 && j["PnU"] == 1 && j["InD"] == 0 && j["RnW"] == 1));
    CHECK((j["CLASS"] == 2 && j["InputAddr"] == 0x400000));
    // A PRI queue record (PRIQ_0_*, PRIQ_1_*).
    j = nlohmann::json::parse(smmu_sim("decode pri 0xd400034500000012 0xdeadb1ab").out);
    CHECK((j["SID"] == 0x12 && j["SSV"] == 1 && j["SSID"] == 0x345 && j["PRIV"] == 1 && j["READ"] == 1));
    CHECK((j["WRITE"] == 0 && j["L"] == 1 && j["PRGIndex"] == 0x1ab && j["Addr"] == 0xdeadb000ull));
    const Run bad = smmu_sim("decode pri 1 2 3");
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("decode: pri has 2 words, 3 given") != std::string::npos);
}

TEST_CASE("bad input: one clear message with file and line, exit 2", "[system]") {
    const std::string errors = kSrc + "/testbenches/tests/data/config/errors/";
    Run r = smmu_sim("run --config " + errors + "unknown_key.yaml");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("unknown_key.yaml:") != std::string::npos);
    CHECK(r.err.find("unknown key") != std::string::npos);

    r = smmu_sim("run --config nope.yaml");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("nope.yaml") != std::string::npos);

    r = smmu_sim("run --config " + kData + "s1-only.yaml --trace " + kData + "bad-syntax.trace");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("bad-syntax.trace:2") != std::string::npos);

    r = smmu_sim("run --config " + kData + "s1-only.yaml --trace " + kData + "unknown-device.trace");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("unknown-device.trace:1") != std::string::npos);
    CHECK(r.err.find("nodev") != std::string::npos);

    r = smmu_sim("run --config " + kData + "s1-only.yaml --trace missing.trace");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("missing.trace") != std::string::npos);

    r = smmu_sim("run --config " + kData + "s1-only.yaml --set smmu.clock_mhz=fast");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("smmu.clock_mhz") != std::string::npos);

    r = smmu_sim("run --bogus");
    CHECK(r.exit_code == 2);
    r = smmu_sim("translate --config " + kData + "s1-only.yaml --device nodev --iova 0");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("nodev") != std::string::npos);
    // Every one of these is a single line.
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("vms.<vm>.guest_tables: the guest's tables in guest RAM the VM maps, same walk", "[system]") {
    // The guest carves its CD table and S1 tables from RAM the VM already
    // maps (no extra S2 window): the same cold nested walk, 28 + 2 reads.
    const auto s = run_stats("--config configs/examples/nested-cold.yaml --trace traces/examples/one-dma.trace"
                             " --set vms.vm0.guest_tables.ipa=0xbfc00000 --set vms.vm0.guest_tables.size=4M",
                             "guest_tables");
    CHECK(s["totals"]["faults"] == 0);
    CHECK(s["pmu"]["trans_table_walk_access"] == 28);
    CHECK(s["pmu"]["config_struct_access"] == 2);
    // Across two map entries it cannot be one contiguous region: exit 2 naming it.
    const auto r = smmu_sim("run --config configs/examples/nested-cold.yaml --config "
                            "testbenches/tests/data/system/guest-tables-split.yaml");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("guest-tables-split.yaml") != std::string::npos);
    CHECK(r.err.find("must lie in one vms.vm0.map entry") != std::string::npos);
}

TEST_CASE("nested-warm: the second DMA to a page is an IOTLB hit", "[system]") {
    const auto s = run_stats("--config configs/examples/nested-cold.yaml --config configs/examples/nested-warm.yaml"
                             " --trace traces/examples/same-page-twice.trace",
                             "nested_warm");
    CHECK(s["pmu"]["transaction"] == 2);
    CHECK(s["pmu"]["tlb_miss"] == 1);
    // The configuration is the prefetch's (its reads came before the
    // traffic): the miss reads its 24 descriptors only.
    CHECK(s["pmu"]["trans_table_walk_access"] == 24);
    CHECK(s["pmu"]["config_struct_access"] == 0);
    CHECK(s["caches"]["iotlb"]["hits"] == 1);
    CHECK(s["caches"]["iotlb"]["misses"] == 1);
    // Linux's CMD_PREFETCH_CONFIG after the STE write filled it: both DMAs hit
    // (the first waits for the prefetch's reads, still in flight).
    CHECK(s["caches"]["config"]["hits"] == 2);
    // The hit: pipeline 2 + config cache 3 + IOTLB 3 cycles at 1 GHz, then the 100 ns data read.
    CHECK(s["latency_ns"]["histogram"]["108"] == 1);
    // The miss: it arrives 11 ns after the prefetch began and waits for its 7
    // reads (the command, the STE, the CD through 4 stage 2 reads: 704 ns),
    // then 24 walk reads x 100 + 4 cycles + data 100.
    CHECK(s["latency_ns"]["histogram"]["3197"] == 1);
    CHECK(s["walks"]["count"] == 1);
}

TEST_CASE("presets combine with a topology config", "[system]") {
    for (const char* preset : {"gem5-default", "mmu600-agilex"}) {
        INFO(preset);
        const auto s = run_stats(std::string("--config configs/smmu/") + preset +
                                     ".yaml --config configs/examples/four-modes.yaml"
                                     " --trace traces/examples/four-modes.trace",
                                 std::string("preset_") + preset);
        CHECK(s["totals"]["transactions"] == 10);
        CHECK(s["events"]["F_PERMISSION"] == 1);
        CHECK(s["caches"].contains("walk_s2_l3"));
        CHECK(s["caches"].contains("iotlb"));
    }
}

TEST_CASE("s2.start_level and contexts[].ttb1 through run: walk reads by hand", "[system][issue11]") {
    // disk: a 40-bit 4K stage 2 from level 0, 4 reads. gpu (ttb1, 39 bits):
    // levels 1-3, 3 reads; a lower VA faults without a walk; after the unmap
    // the page faults at level 3 (3 reads), its neighbour still translates (3).
    const std::string args = "--config " + kData + "arch-explore.yaml --trace " + kData + "arch-explore.trace";
    auto s = run_stats(args, "arch_explore");
    CHECK(s["totals"]["transactions"] == 5);
    CHECK(s["events"]["F_TRANSLATION"] == 2);
    CHECK(s["pmu"]["trans_table_walk_access"] == 4 + 3 + 0 + 3 + 3);
    // From level 1 instead: two concatenated level-1 tables, one read fewer.
    s = run_stats(args + " --set vms.vm0.s2.start_level=1", "arch_explore_l1");
    CHECK(s["pmu"]["trans_table_walk_access"] == 3 + 3 + 0 + 3 + 3);
    // A level that cannot start a 40-bit IPA: exit 2 at load, naming the --set.
    const Run r = smmu_sim("run " + args + " --set vms.vm0.s2.start_level=2");
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("smmu-sim: --set vms.vm0.s2.start_level=2: vms.vm0.s2.start_level: level 2 cannot start", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
}
