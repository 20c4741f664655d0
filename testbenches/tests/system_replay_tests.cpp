// System tests of `smmu-sim replay`: driver-session scripts against one SMMU,
// each run as a process of its own.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

namespace {

using smmu_sim_test::Run;
using smmu_sim_test::slurp;
using smmu_sim_test::smmu_sim;

const std::string kData = std::string(SMMUSIM_SOURCE_DIR) + "/testbenches/tests/data/replay/";

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// The output line of script line `line` ("" if none).
std::string line_of(const std::string& out, int line) {
    std::size_t start = 0;
    while (start < out.size()) {
        const std::size_t end = std::min(out.find('\n', start), out.size());
        const std::string l = out.substr(start, end - start);
        // "     time_ns  line  op ...": the line number is the second column.
        char time[32];
        int n = 0;
        if (std::sscanf(l.c_str(), "%31s %d", time, &n) == 2 && n == line && time[0] >= '0' && time[0] <= '9')
            return l;
        start = end + 1;
    }
    return "";
}

// The 1-based line of `file` (under the source directory) that contains `what`.
int script_line(const std::string& file, const std::string& what) {
    std::istringstream in(slurp(std::string(SMMUSIM_SOURCE_DIR) + "/" + file));
    int n = 0;
    for (std::string l; std::getline(in, l);)
        if (++n, has(l, what)) return n;
    return 0;
}

}  // namespace

TEST_CASE("replay: Linux's probe by hand, every expectation holds", "[system][replay]") {
    const std::string stats = std::string(CMAKE_BINARY_DIR) + "/replay_linux_probe.json";
    const Run r = smmu_sim("replay traces/examples/linux-probe.script --stats '" + stats + "'");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK_FALSE(has(r.out, "MISMATCH"));
    CHECK(has(r.out, "0 mismatches"));
    // One line per statement, with the register's name and the outcome.
    CHECK(has(line_of(r.out, script_line("traces/examples/linux-probe.script", "write32 CR0 0")),
              "write32  0x00020 CR0               0x0"));
    CHECK(has(r.out, "pa=0x140001040"));
    CHECK(has(r.out, "fault=C_BAD_STREAMID"));
    // The fault the script left in the queue is decoded at the end.
    CHECK(has(r.out, "1 record(s) not consumed"));
    CHECK(has(r.out, "\"name\":\"F_TRANSLATION\""));

    const auto s = nlohmann::json::parse(slurp(stats));
    CHECK(s["replay"]["mismatches"] == 0);
    CHECK(s["replay"]["lines"] == 58);
    CHECK(s["replay"]["expectations"] == 26);
    // The same keys as `run` where they apply.
    for (const char* key : {"pmu", "caches", "walks", "totals", "latency_ns", "events", "event_queue", "events_dropped",
                            "cmdq", "sim"})
        CHECK(s.contains(key));
    CHECK(s["pmu"]["transaction"] == 8);
    CHECK(s["pmu"]["trans_table_walk_access"] == 3);  // three S2 DMAs, one L1 block read each
    CHECK(s["totals"]["translated"] == 2);
    CHECK(s["totals"]["bypassed"] == 2);
    CHECK(s["totals"]["aborted"] == 1);
    CHECK(s["events"]["C_BAD_STREAMID"] == 1);
    CHECK(s["events"]["C_BAD_STE"] == 1);
    CHECK(s["events"]["F_TRANSLATION"] == 1);
    REQUIRE(s["event_queue"].size() == 1);
    CHECK(s["event_queue"][0]["name"] == "F_TRANSLATION");
    CHECK(s["event_queue"][0]["SID"] == 3);
    CHECK(s["event_queue"][0]["S2"] == 1);
    CHECK(s["cmdq"]["by_opcode"]["CFGI_STE_RANGE"] == 1);
    CHECK(s["cmdq"]["by_opcode"]["CFGI_STE"] == 3);
    CHECK(s["cmdq"]["by_opcode"]["SYNC"] == 4);
    CHECK(s["cmdq"]["errors"] == 0);
    CHECK(s["pmu"]["cycles"] == s["sim"]["sim_time_ns"].get<double>());  // 1 GHz, whole script
}

TEST_CASE("replay: a missing CMD_SYNC wait shows with a configuration cache", "[system][replay]") {
    const int bug = script_line("traces/examples/missing-sync.script", "# BUG");
    REQUIRE(bug > 0);
    Run r = smmu_sim("replay traces/examples/missing-sync.script --config configs/smmu/gem5-default.yaml");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(line_of(r.out, bug), "MISMATCH expected abort got pa=0x80000000"));
    CHECK(has(r.out, "1 mismatches"));
    // --quiet keeps the mismatch and the summary only.
    r = smmu_sim("replay traces/examples/missing-sync.script --config configs/smmu/gem5-default.yaml --quiet");
    CHECK(r.exit_code == 1);
    CHECK(has(line_of(r.out, bug), "MISMATCH"));
    CHECK(line_of(r.out, bug + 1).empty());
    // Without caches the STE is read from memory on every DMA: the bug hides.
    r = smmu_sim("replay traces/examples/missing-sync.script");
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "0 mismatches"));
}

TEST_CASE("replay: a poll that times out is a mismatch and the run goes on", "[system][replay]") {
    const Run r = smmu_sim("replay " + kData + "poll-timeout.script");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(line_of(r.out, 6), "MISMATCH expected & 0x1ff == 0x1 within 1000 ns got 0x0"));
    CHECK(has(line_of(r.out, 7), "MISMATCH expected 0x1 got 0x0"));
    CHECK(has(line_of(r.out, 8), "0x1  ok"));
    CHECK(has(r.out, "2 mismatches"));
}

TEST_CASE("replay: @ times, waits and access costs", "[system][replay]") {
    const std::string stats = std::string(CMAKE_BINARY_DIR) + "/replay_timing.json";
    const Run r = smmu_sim("replay " + kData + "timing.script --stats '" + stats + "'");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    // A read costs 10 ns (CPU) + 1 SMMU cycle; a store 1 ns; @10 after t=164 starts at once.
    CHECK(has(line_of(r.out, 3), "         0.0     3  read32"));
    CHECK(has(line_of(r.out, 4), "       100.0     4  read32"));
    CHECK(has(line_of(r.out, 5), "       111.0     5  wait"));
    CHECK(has(line_of(r.out, 6), "       161.0     6  memw64"));
    CHECK(has(line_of(r.out, 7), "       164.0     7  read32"));
    const auto s = nlohmann::json::parse(slurp(stats));
    CHECK(s["sim"]["sim_time_ns"].get<double>() == 175.0);
    CHECK(s["replay"]["mmio_reads"] == 3);
    CHECK(s["replay"]["mem_writes"] == 3);
    // --set reaches the CPU's costs too.
    const Run slow = smmu_sim("replay " + kData + "timing.script --set host.mmio_latency_ns=20");
    CHECK(has(line_of(slow.out, 4), "       100.0     4  read32"));
    CHECK(has(line_of(slow.out, 5), "       121.0     5  wait"));
}

TEST_CASE("replay: bad input exits 2 with file and line", "[system][replay]") {
    Run r = smmu_sim("replay " + kData + "bad.script");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "bad.script:4: direction: expected R or W, got 'Q'"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());  // nothing ran

    r = smmu_sim("replay no-such.script");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "missing file 'no-such.script'"));

    r = smmu_sim("replay");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "SCRIPT"));

    r = smmu_sim("replay traces/examples/linux-probe.script --set smmu.clock_mhz=fast");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "smmu.clock_mhz"));

    r = smmu_sim("replay traces/examples/linux-probe.script --bogus");
    CHECK(r.exit_code == 2);
}

namespace {
const std::string kQemu = "traces/examples/qemu/";
const std::string kImages =
    " --memory " + kQemu + "strtab.bin@0x40000000 --memory " + kQemu + "cd.bin@0x40030000";

// Converts `log` (relative to the source directory) into a script in the
// build directory; returns its path.
std::string convert(const std::string& log, const std::string& name) {
    const std::string script = std::string(CMAKE_BINARY_DIR) + "/" + name + ".script";
    const Run c = smmu_sim("qemu2replay " + log + kImages + " --output '" + script + "'");
    INFO(c.out << c.err);
    REQUIRE(c.exit_code == 0);
    return script;
}
}  // namespace

TEST_CASE("qemu2replay: a QEMU smmuv3 trace replays against the model with every expectation held",
          "[system][replay][qemu]") {
    const Run c = smmu_sim("qemu2replay " + kQemu + "smmuv3.log" + kImages);
    INFO(c.out << c.err);
    REQUIRE(c.exit_code == 0);
    CHECK(has(c.err, "18 MMIO writes, 11 reads (8 polls), 5 commands, 6 descriptors, 7 DMAs, 6 image words, 0 warning(s)"));
    // The commands QEMU consumed, stored in the queue before the CMDQ_PROD write.
    CHECK(has(c.out, "memw64 0x40010000 0x4 0x1f  # CFGI_STE_RANGE\nmemw64 0x40010010 0x30 0x0  # TLBI_NSNH_ALL\n"
                     "memw64 0x40010020 0x46 0x0  # SYNC\nwrite32 0x98 0x3  # CMDQ_PROD\n"));
    CHECK(has(c.out, "memw64 0x40010030 0x1000000000012 0x10000001  # TLBI_NH_VA"));  // ASID 1, Addr, Leaf
    // Registers QEMU sets at once are polled; ID registers are not checked.
    CHECK(has(c.out, "poll32 0x9c 0x7f0fffff 0x3  # CMDQ_CONS"));
    CHECK(has(c.out, "read32 0x0  # IDR0 (QEMU read 0x8001c7b)"));
    // Each translation with QEMU's outcome; descriptors before the DMA whose walk read them.
    CHECK(has(c.out, "memw64 0x40043000 0x80000743  # descriptor QEMU's walk read\n"
                     "dma 0x1 R 0x10000040 4 expect pa=0x80000040\n"));
    CHECK(has(c.out, "dma 0x1 R 0x10001000 4 expect fault=F_TRANSLATION"));
    CHECK(has(c.out, "dma 0x2 W 0x1000 4 expect fault=C_BAD_STE"));
    CHECK(has(c.out, "dma 0x3 R 0x2000 4 expect abort"));
    // After the unmap: the leaf's new value, then the fault.
    CHECK(has(c.out, "memw64 0x40043000 0x0  # descriptor QEMU's walk read\n"
                     "dma 0x1 R 0x10000040 4 expect fault=F_TRANSLATION\n"));

    const Run r = smmu_sim("replay '" + convert(kQemu + "smmuv3.log", "qemu_ok") + "'");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "15 checks, 0 mismatches"));
    CHECK(has(r.out, "events        C_BAD_STE=1 F_TRANSLATION=2"));
}

TEST_CASE("qemu2replay: where the model disagrees with QEMU, replay reports the mismatch", "[system][replay][qemu]") {
    // The same session, but QEMU claims another PA for one DMA.
    std::string log = slurp(std::string(SMMUSIM_SOURCE_DIR) + "/" + kQemu + "smmuv3.log");
    const std::string from = "translated=0x80000080", to = "translated=0x80001080";
    REQUIRE(log.find(from) != std::string::npos);
    log.replace(log.find(from), from.size(), to);
    const std::string edited = std::string(CMAKE_BINARY_DIR) + "/qemu_edited.log";
    std::ofstream(edited) << log;
    const Run r = smmu_sim("replay '" + convert(edited, "qemu_bad") + "'");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "MISMATCH expected pa=0x80001080 got pa=0x80000080"));
    CHECK(has(r.out, "1 mismatches"));
}

TEST_CASE("qemu2replay: what QEMU does not trace is named, and bad input exits 2 with file and line",
          "[system][replay][qemu]") {
    // Without the images: the STEs and the CD QEMU read are missing, each named.
    Run r = smmu_sim("qemu2replay " + kQemu + "smmuv3.log");
    CHECK(r.exit_code == 0);
    CHECK(has(r.err, "warning: " + kQemu + "smmuv3.log:32: QEMU read an STE or CD at 0x40000000 that no --memory image holds"));
    CHECK(has(r.err, "5 warning(s)"));
    CHECK(has(r.out, "# WARNING: "));

    r = smmu_sim("qemu2replay " + kQemu + "smmuv3.log --memory " + kQemu + "strtab.bin");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--memory: '" + kQemu + "strtab.bin': expected FILE@PA"));
    r = smmu_sim("qemu2replay " + kQemu + "smmuv3.log --memory nowhere.bin@0x1000");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--memory: cannot read 'nowhere.bin'"));
    r = smmu_sim("qemu2replay " + kQemu + "smmuv3.log --memory " + kQemu + "cd.bin@0x40030004");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--memory: '" + kQemu + "cd.bin': address 0x40030004 is not 8-byte aligned"));
    r = smmu_sim("qemu2replay " + kQemu + "smmuv3.log --memory " + kQemu + "cd.bin@here");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--memory: 'here' is not an address"));
    const std::string huge = std::string(CMAKE_BINARY_DIR) + "/qemu_huge.bin";
    std::ofstream(huge).close();
    std::filesystem::resize_file(huge, (64u << 20) + 8);  // sparse: costs no disk
    r = smmu_sim("qemu2replay " + kQemu + "smmuv3.log --memory '" + huge + "@0x0'");
    std::filesystem::remove(huge);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "is larger than 64 MiB"));
    r = smmu_sim("qemu2replay traces/examples/one-dma.trace");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "no smmuv3 MMIO or translation events"));

    const std::string bad = std::string(CMAKE_BINARY_DIR) + "/qemu_bad_field.log";
    std::ofstream(bad) << "smmuv3_write_mmio addr: 0x20 size: 0x4(8)\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, bad + ":1: smmuv3_write_mmio: no number after 'val'"));
    // Found by fuzz_qemu_trace: what a script line cannot carry is refused here, not passed on.
    std::ofstream(bad) << "smmuv3_read_mmio addr: 0x20 val:0x0 size: 0x4(8)\n"
                       << "smmuv3_write_mmio addr: 0x6743b310 val:0x1 size: 0x4(8)\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, bad + ":2: smmuv3_write_mmio: addr: 0x6743b310 is beyond the SMMU's registers"));
    std::ofstream(bad) << "smmuv3_write_mmio addr: 0x20 val:0x100000000 size: 0x4(8)\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(has(r.err, bad + ":1: smmuv3_write_mmio: val: 0x100000000 does not fit a 32-bit access"));
    std::ofstream(bad) << "smmu_get_pte baseaddr=0x1000 index=0x0, pteaddr=0x1004, pte=0x3\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, bad + ":1: smmu_get_pte: pte address: 0x1004 is not 8-byte aligned"));
}
