// System tests of `smmu-sim replay`: driver-session scripts against one SMMU,
// each run as a process of its own.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include <boost/iostreams/device/file.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <boost/iostreams/filtering_stream.hpp>
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
    // CMDQEN is 0: nothing will move CMDQ_CONS, the poll says so at its first read.
    CHECK(has(line_of(r.out, 6), "(& 0x1ff == 0x1, 1 read)  MISMATCH expected & 0x1ff == 0x1 got 0x0, which can no longer "
                                 "change: the command queue is disabled (CR0.CMDQEN 0)"));
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
    CHECK(has(c.err, "18 MMIO writes, 11 reads (8 polls), 5 commands, 6 descriptors, 7 DMAs, 0 STE/CD stores rebuilt, "
                     "6 image words, 0 warning(s)"));
    CHECK(has(c.err, "command fields not traced, as Linux writes them: SYNC CS=SEV MSH=ISH MSIAttr=OIWB (2)"));
    // The commands QEMU consumed, stored in the queue before the CMDQ_PROD write.
    // SYNC with the words Linux writes: CS=SEV, MSH=ISH, MSIAttr=OIWB (no MSI in IDR0).
    CHECK(has(c.out, "memw64 0x40010000 0x4 0x1f  # CFGI_STE_RANGE\nmemw64 0x40010010 0x30 0x0  # TLBI_NSNH_ALL\n"
                     "memw64 0x40010020 0xfc02046 0x0  # SYNC\nwrite32 0x98 0x3  # CMDQ_PROD\n"));
    CHECK(has(c.out, "memw64 0x40010030 0x1000000000012 0x10000001  # TLBI_NH_VA"));  // ASID 1, Addr, Leaf
    // Registers QEMU sets at once are polled; ID registers are not checked.
    CHECK(has(c.out, "poll32 0x9c 0x7f0fffff 0x3  # CMDQ_CONS"));
    CHECK(has(c.out, "read32 0x0  # IDR0 (QEMU read 0x8001c7b)"));
    // Each translation with QEMU's outcome; descriptors before the DMA whose walk read them.
    CHECK(has(c.out, "memw64 0x40043000 0x80000743  # descriptor QEMU's walk read\n"
                     "dma 0x1 R 0x10000040 4 expect pa=0x80000040 perm=rw\n"));
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
    // The bypass STE of SID 0 is rebuilt from QEMU's decode (smmuv3_find_ste before it); the others
    // have no smmuv3_find_ste before them in this hand-written trace.
    CHECK(has(r.err, "1 STE/CD stores rebuilt"));
    CHECK(has(r.out, "# STE of SID 0x0, bypass (rebuilt)"));
    CHECK(has(r.err, "warning: " + kQemu + "smmuv3.log:35: QEMU read an STE or CD at 0x40000040 that no --memory image "
                     "holds and its trace does not rebuild"));
    CHECK(has(r.err, "4 warning(s)"));
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
    // A cut-off xz file.
    const std::string cut = std::string(CMAKE_BINARY_DIR) + "/qemu_cut.trace.xz";
    std::string xz = slurp(std::string(SMMUSIM_SOURCE_DIR) + "/traces/qemu/linux-6.1-virtio.trace.xz");
    std::ofstream(cut, std::ios::binary) << xz.substr(0, xz.size() / 2);
    r = smmu_sim("qemu2replay '" + cut + "'");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, cut + ": corrupt or truncated xz data"));

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
    // QEMU 5 and 6 spell some fields and events differently: "SID:0x..", smmu_iotlb_cache_*.
    std::ofstream(bad) << "smmuv3_find_ste SID:0x10 features:0x0, sid_split:0x8\nsmmuv3_get_ste STE addr: 0x40000400\n"
                       << "smmuv3_get_cd CD addr: 0x40030000\nsmmuv3_decode_cd oas=44\n"
                       << "smmuv3_decode_cd_tt TT[0]:tsz:16 ttb:0x40040000 granule_sz:12\n"
                       << "smmu_iotlb_cache_miss IOTLB cache MISS asid=7 addr=0x1000 hit=0 miss=1 hit rate=0\n"
                       << "smmuv3_translate_success smmuv3-iommu-memory-region-0-16 sid=16 iova=0x1000 translated=0x2000 perm=0x3\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "# STE of SID 0x10, stage 1 (rebuilt)"));
    CHECK(has(r.out, "ASID 7)"));
    CHECK(has(r.out, "dma 0x10 R 0x1000 4 expect pa=0x2000 perm=rw"));
    // What cannot be rebuilt or placed is a warning, and the script still runs: an STE at an
    // unaligned address; commands QEMU consumed with no CMDQ_PROD write after them.
    std::ofstream(bad) << "smmuv3_find_ste sid=0x10 features:0x0, sid_split:0x8\nsmmuv3_get_ste STE addr: 0x40000404\n"
                       << "smmuv3_translate_bypass smmuv3-iommu-memory-region-0-16 sid=0x10 STE bypass iova:0x1000 is_write=1\n"
                       << "smmuv3_cmdq_opcode <--- SMMU_CMD_SYNC\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 0);
    CHECK(has(r.err, bad + ":3: SID 0x10: an STE, CD or L1 descriptor at 0x40000404 (unaligned or at the top of memory) is not rebuilt"));
    CHECK(has(r.err, bad + ": 1 command(s) QEMU consumed after the last CMDQ_PROD write"));
    CHECK(has(r.out, "dma 0x10 W 0x1000 4 expect pa=0x1000"));
    // QEMU's power-of-two chunks of one TLBI_NH_VA range merge back into one command: 0x40 + 0x20
    // pages = 3 << 5 (NUM 2, SCALE 5); 0x40 + 0x1 pages fit no single command: a warning.
    const std::string tlbi = "smmuv3_write_mmio addr: 0x90 val:0x40010004 size: 0x8(0)\n"
                             "smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_VA\n"
                             "smmuv3_s1_range_inval vmid=0 asid=1 addr=0x10000000 tg=1 num_pages=0x40 ttl=3 leaf=1\n";
    std::ofstream(bad) << tlbi << "smmuv3_s1_range_inval vmid=0 asid=1 addr=0x10040000 tg=1 num_pages=0x20 ttl=3 leaf=1\n"
                       << "smmuv3_write_mmio addr: 0x98 val:0x1 size: 0x4(0)\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "memw64 0x40010000 0x1000000502012 0x10000701  # TLBI_NH_VA"));
    std::ofstream(bad) << tlbi << "smmuv3_s1_range_inval vmid=0 asid=1 addr=0x10040000 tg=1 num_pages=0x1 ttl=3 leaf=1\n"
                       << "smmuv3_write_mmio addr: 0x98 val:0x1 size: 0x4(0)\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 0);
    CHECK(has(r.err, bad + ":2: 65 pages do not fit one range command"));
    std::ofstream(bad) << "smmuv3_translate_success smmuv3-iommu-memory-region-8-1 sid=0x8 iova=0x1000 translated=0x2000 perm=0x4\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, bad + ":1: smmuv3_translate_success: perm: 0x4 is not 1 (RO), 2 (WO) or 3 (RW)"));
    std::ofstream(bad) << "smmu_get_pte baseaddr=0x1000 index=0x0, pteaddr=0x1004, pte=0x3\n";
    r = smmu_sim("qemu2replay '" + bad + "'");
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, bad + ":1: smmu_get_pte: pte address: 0x1004 is not 8-byte aligned"));
}

TEST_CASE("replay: polls that can never succeed fail at once, slow ones time out", "[system][replay]") {
    const Run r = smmu_sim("replay " + kData + "poll-stuck.script");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(line_of(r.out, 8), "MISMATCH expected & 0x1ff == 0x14 within 500 ns got "));
    CHECK(has(line_of(r.out, 9), "0x14  (& 0x1ff == 0x14, "));
    CHECK(has(line_of(r.out, 9), "ok"));
    CHECK(has(line_of(r.out, 13), "which can no longer change: the command queue stopped at index 20 with CMDQ_CONS.ERR "
                                  "CERROR_ILL (GERROR.CMDQ_ERR)"));
    CHECK(has(line_of(r.out, 15), "which can no longer change: the command queue stopped"));
    CHECK(has(r.out, "3 mismatches"));
    // All within a few microseconds, not the 100 us default timeout per poll.
    double ns = 0;
    const std::size_t at = r.out.find("mismatches in ");
    REQUIRE(at != std::string::npos);
    ns = std::stod(r.out.substr(at + 14));
    CHECK(ns < 20000);
}

TEST_CASE("replay: values read into variables, perm= on a dma", "[system][replay]") {
    const Run r = smmu_sim("replay " + kData + "variables.script");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(line_of(r.out, 16), "pa=0x80000040 perm=r  ("));
    CHECK(has(line_of(r.out, 16), "ok"));
    CHECK(has(line_of(r.out, 17), "MISMATCH expected pa=0x80000040 perm=rw got pa=0x80000040 perm=r"));
    CHECK(has(line_of(r.out, 19), "fault=F_PERMISSION"));
    CHECK(has(line_of(r.out, 20), "EVENTQ_PROD       0x1"));
    CHECK(has(line_of(r.out, 22), "0x1  ok"));  // the record's SID, at the address the script computed
    CHECK(has(line_of(r.out, 23), "EVENTQ_CONS       0x1"));
    CHECK(has(line_of(r.out, 24), "0x1  ok"));
    CHECK(has(line_of(r.out, 26), "0x100000013  ok"));
    CHECK(has(r.out, "1 mismatches"));
    CHECK(!has(r.out, "not consumed by the script"));  // EVENTQ_CONS = P consumed the record

    // --walks: each DMA's descriptors as a walk of memory reads them.
    const Run w = smmu_sim("replay " + kData + "variables.script --walks");
    CHECK(has(w.out, "STE    level -  0x1                at 0x40000040     0x4003000b"));
    CHECK(has(w.out, "S1     level 3  0x10000040         at 0x40043000     0x800007c3"));
}

TEST_CASE("replay: variables and perm= in bad places exit 2 with file and line", "[system][replay]") {
    const std::string bad = std::string(CMAKE_BINARY_DIR) + "/replay_bad_vars.script";
    const auto run = [&](const std::string& text) {
        std::ofstream(bad) << text;
        return smmu_sim("replay '" + bad + "'");
    };
    const std::pair<std::string, std::string> cases[] = {
        {"write32 CR0 P\n", ":1: value: unknown name 'P'"},
        {"read32 CR0 -> P\nread32 P\n", ":2: offset: 'P' is a variable (set by '->' when a line runs)"},
        {"read32 CR0 -> P\nread32 CR1 -> P\n", ":2: name: 'P' already defined at line 1"},
        {"read32 CR0 -> CR1\n", ":1: name: 'CR1' is a register name"},
        {"read32 CR0 -> 9x\n", ":1: name: '9x' is not a name"},
        {"read32 CR0 ->\n", ":1: name: missing (expected -> <NAME>)"},
        {"dma 1 R 0x1000 4 expect fault=F_TRANSLATION perm=r\n", ":1: perm: only a DMA expected to complete"},
        {"dma 1 R 0x1000 4 expect ok perm=rq\n", ":1: perm: expected letters of r, w, x (once each), got 'rq'"},
    };
    Run r;
    for (const auto& [text, message] : cases) {
        r = run(text);
        INFO(text);
        CHECK(r.exit_code == 2);
        CHECK(has(r.err, bad + message));
    }
    // At run time: a variable whose value does not fit where it goes is a mismatch.
    r = run("memw64 0x1000 0x100000000\nmemr64 0x1000 -> BIG\nwrite32 CR0 BIG\nmemr32 BIG+1 == 0\n");
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "MISMATCH value 0x100000000 does not fit in 32 bits"));
    CHECK(has(r.out, "MISMATCH address 0x100000001 is not 4-byte aligned"));
}

namespace {
const std::string kLinuxTrace = "traces/qemu/linux-6.1-virtio.trace.xz";

// The real trace as text (Boost.Iostreams' xz filter, as qemu2replay reads it).
std::string linux_trace_text() {
    namespace io = boost::iostreams;
    io::filtering_istream in;
    in.push(io::lzma_decompressor());
    in.push(io::file_source(std::string(SMMUSIM_SOURCE_DIR) + "/" + kLinuxTrace, std::ios::binary));
    std::stringstream text;
    text << in.rdbuf();
    REQUIRE(text.str().size() > 100000);
    return text.str();
}
// How often `what` occurs in `text`.
std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}
// Converts QEMU trace text (written to the build directory) and replays it
// against the QEMU 7.2 preset.
Run convert_and_replay(const std::string& text, const std::string& name, const std::string& extra = "") {
    const std::string log = std::string(CMAKE_BINARY_DIR) + "/" + name + ".log";
    const std::string script = std::string(CMAKE_BINARY_DIR) + "/" + name + ".script";
    std::ofstream(log) << text;
    const Run c = smmu_sim("qemu2replay '" + log + "' --output '" + script + "'");
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    return smmu_sim("replay '" + script + "' --config configs/smmu/qemu-7.2.yaml --quiet" + extra);
}
}  // namespace

// The fixture: scripts/qemu-linux-trace.sh booted Debian 12's arm64 kernel (6.1) under Debian's
// QEMU 7.2 (-M virt,iommu=smmuv3) with two virtio-blk disks and a virtio-rng, each its own DMA
// domain; the workload read 2 MiB into a huge page (a 2 MiB block mapping), switched one disk to
// identity, to DMA-FQ (lazy) and back to DMA (strict).
TEST_CASE("qemu2replay: a real Linux session under QEMU 7.2 replays with every translation, bypass and command matching",
          "[system][replay][qemu]") {
    const std::string text = linux_trace_text();
    const std::string script = std::string(CMAKE_BINARY_DIR) + "/linux-trace.script";
    const std::string inferred = std::string(CMAKE_BINARY_DIR) + "/linux-trace-smmu.yaml";
    const Run c = smmu_sim("qemu2replay " + kLinuxTrace + " --output '" + script + "' --config-out '" + inferred + "'");
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    CHECK(has(c.err, " 0 warning(s)"));
    CHECK(has(c.err, "command fields not traced, as Linux writes them: CFGI_STE Leaf=1 (14); "
                     "PREFETCH_CONFIG SID (the last CFGI_STE's) (5); SYNC CS=SEV MSH=ISH MSIAttr=OIWB (273)"));
    // The STEs (bypass and stage 1), CDs and the L1 descriptor come from QEMU's decode.
    const std::string s = slurp(script);
    CHECK(has(s, "# STE of SID 0x10, bypass (rebuilt)"));
    CHECK(has(s, "# STE of SID 0x8, stage 1 (rebuilt)"));
    CHECK(has(s, "# L1 stream table descriptor (rebuilt from smmuv3_find_ste_2lvl)"));

    const std::string stats = std::string(CMAKE_BINARY_DIR) + "/linux-trace.json";
    const Run r = smmu_sim("replay '" + script + "' --config configs/smmu/qemu-7.2.yaml --quiet --stats '" + stats + "'");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, " 0 mismatches"));
    const nlohmann::json j = nlohmann::json::parse(slurp(stats));
    const std::size_t success = count(text, "smmuv3_translate_success"), bypass = count(text, "smmuv3_translate_bypass");
    CHECK(success == 1835);
    CHECK(bypass == 89);
    CHECK(j["totals"]["translated"] == success);
    CHECK(j["totals"]["bypassed"] == bypass);
    CHECK(j["totals"]["faults"] == 0);
    CHECK(j["replay"]["mismatches"] == 0);
    // Every command QEMU consumed, by kind, ran in the model (QEMU 7.2 names Linux's CFGI_ALL
    // CFGI_STE_RANGE, as it is: Range 31).
    std::size_t commands = 0;
    for (const std::string op :
         {"CFGI_STE", "CFGI_STE_RANGE", "TLBI_NH_ASID", "TLBI_NH_VA", "TLBI_NSNH_ALL", "PREFETCH_CONFIG", "SYNC"}) {
        CHECK(j["cmdq"]["by_opcode"][op] == count(text, "SMMU_CMD_" + op + "\n"));
        commands += j["cmdq"]["by_opcode"][op].get<std::size_t>();
    }
    CHECK(commands == count(text, "smmuv3_cmdq_opcode"));
    CHECK(commands == 541);
    // The 2 MiB block (a level-2 descriptor) QEMU's walk read is in the script, and it translated.
    CHECK(count(text, "smmu_ptw_block_pte") == 1);
    CHECK(has(s, "memw64 0x431fdff0 0x41c00f45  # descriptor QEMU's walk read"));
    CHECK(j["cmdq"]["errors"] == 0);
    // The model's IOTLB misses where QEMU's did (both fill on a walk, invalidate on the same TLBIs).
    CHECK(j["pmu"]["tlb_miss"] == count(text, "smmu_iotlb_lookup_miss"));

    // The config qemu2replay inferred advertises what the preset does: QEMU 7.2's ID registers.
    const std::string ids = std::string(CMAKE_BINARY_DIR) + "/qemu-idr.script";
    std::ofstream(ids) << "read32 IDR0 == 0x0d40101a\nread32 IDR1 == 0x02730010\nread32 IDR2 == 0\nread32 IDR3 == 0x1404\n"
                          "read32 IDR4 == 0\nread32 IDR5 == 0x74\nread32 IIDR == 0\n";
    Run i = smmu_sim("replay '" + ids + "' --config configs/smmu/qemu-7.2.yaml");
    CHECK(i.exit_code == 0);
    i = smmu_sim("replay '" + ids + "' --config '" + inferred + "'");
    CHECK(i.exit_code == 0);
    CHECK(has(slurp(inferred), "IDR0: {S2P: 0, S1P: 1, TTF: 2, COHACC: 1"));
}

TEST_CASE("qemu2replay: a flipped PTE or a dropped TLBI in the real trace shows as mismatches", "[system][replay][qemu]") {
    const std::string text = linux_trace_text();
    // The 2 MiB block descriptor, with one output-address bit flipped wherever QEMU printed it.
    std::string flipped = text;
    const std::string from = "pte=0x41c00f45", to = "pte=0x41e00f45";
    REQUIRE(count(text, from) == 3);
    for (std::size_t at = flipped.find(from); at != std::string::npos; at = flipped.find(from, at))
        flipped.replace(at, from.size(), to);
    Run r = convert_and_replay(flipped, "linux-flipped-pte");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "MISMATCH expected pa=0x41c00000 got pa=0x41e00000"));

    // The first TLBI_NH_VA (an unmap of SID 0x8's domain) replaced by a SYNC: the IOVA is mapped
    // again to another page later, and the model's IOTLB still holds the old one.
    std::string dropped = text;
    const std::size_t op = dropped.find("SMMU_CMD_TLBI_NH_VA\n");
    REQUIRE(op != std::string::npos);
    dropped.replace(op, std::string("SMMU_CMD_TLBI_NH_VA").size(), "SMMU_CMD_SYNC");
    const std::size_t range = dropped.find("smmuv3_s1_range_inval", op);
    dropped.erase(range, dropped.find('\n', range) + 1 - range);
    r = convert_and_replay(dropped, "linux-dropped-tlbi");
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "1 mismatches"));
    CHECK(has(r.out, "MISMATCH expected pa="));
}

TEST_CASE("smmu.idr: the SMMU does what it advertises (RIL, MSI)", "[system][replay]") {
    const std::string script = "replay " + kData + "idr-behaviour.script --config configs/smmu/gem5-default.yaml";
    Run r = smmu_sim(script);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "0 mismatches"));
    // Without range invalidation the TLBI's TG/NUM are RES0: only its first page goes; without
    // MSIs the SYNC writes nothing.
    r = smmu_sim(script + " --set smmu.idr.IDR3.RIL=0 --set smmu.idr.IDR0.MSI=0");
    CHECK(r.exit_code == 1);
    CHECK(has(line_of(r.out, 24), "fault=F_TRANSLATION"));
    CHECK(has(line_of(r.out, 26), "MISMATCH expected fault=F_TRANSLATION got pa=0x80001000"));
    CHECK(has(line_of(r.out, 28), "MISMATCH expected 0x1234 got 0x0"));
    CHECK(has(r.out, "2 mismatches"));
}

TEST_CASE("smmu.idr: ID register fields from the config, bad ones exit 2", "[system][replay]") {
    const std::string ids = std::string(CMAKE_BINARY_DIR) + "/idr.script";
    // MSI, SEV, HYP off; BBML 2; a whole IIDR; SIDSIZE 8 also narrows what the SMMU accepts.
    std::ofstream(ids) << "read32 IDR0 == 0 mask=0x6200\nread32 IDR3 == 0x1000 mask=0x1800\nread32 IIDR == 0x43b\n"
                          "read32 IDR1 == 8 mask=0x3f\n";
    Run r = smmu_sim("replay '" + ids + "' --set smmu.idr.IDR0.MSI=0 --set smmu.idr.IDR0.SEV=0 --set smmu.idr.IDR0.HYP=0 "
                     "--set smmu.idr.IDR3.BBML=2 --set smmu.idr.IIDR=0x43b --set smmu.idr.IDR1.SIDSIZE=8");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    const auto bad = [&](const std::string& set, const std::string& message) {
        const Run b = smmu_sim("replay '" + ids + "' --set " + set);
        INFO(set << ": " << b.err);
        CHECK(b.exit_code == 2);
        CHECK(has(b.err, message));
    };
    bad("smmu.idr.IDR9.MSI=1", "unknown key 'smmu.idr.IDR9' (IDR0-IDR5, IIDR, AIDR)");
    bad("smmu.idr.IDR0.FOO=1", "unknown key 'smmu.idr.IDR0.FOO' (not a field of IDR0)");
    bad("smmu.idr.IDR0.MSI=2", "smmu.idr.IDR0.MSI");
    bad("smmu.idr.IDR5.OAS=6", "smmu.idr.IDR5.OAS: encoding 6 (52 bits or reserved) is not modelled");
    bad("smmu.idr.IDR1.CMDQS=0", "smmu.idr.IDR1.CMDQS: must be 1..19");
    bad("smmu.idr.IDR1.SSIDSIZE=21", "smmu.idr.IDR1.SSIDSIZE: must be 0..20");
    bad("smmu.idr.IDR1.SIDSIZE=0", "smmu.idr.IDR1.SIDSIZE: must be 1..32");
    bad("smmu.idr=3", "smmu.idr: expected a map of ID registers");
}
