// Robustness of the command line (docs/robustness.md): every bad input is one
// message on stderr naming what is wrong (file, line and field where there is
// one), exit code 2, and nothing run or printed on stdout before it.
#include <algorithm>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "run_command.h"

namespace {

using smmu_sim_test::Run;
using smmu_sim_test::smmu_sim;

const std::string kSrc = SMMUSIM_SOURCE_DIR;
const std::string kBin = CMAKE_BINARY_DIR;
const std::string kData = kSrc + "/testbenches/tests/data/system/";
const std::string kErrors = kSrc + "/testbenches/tests/data/config/errors/";
const std::string kConfig = kData + "s1-only.yaml";

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Exit 2, one line on stderr holding `message`, nothing on stdout.
void bad_input(const std::string& args, const std::string& message) {
    INFO("smmu-sim " << args);
    const Run r = smmu_sim(args);
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
}

std::string write_file(const std::string& name, const std::string& text) {
    const std::string path = kBin + "/robustness_" + name;
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("command line: no command, unknown command", "[robustness][cli]") {
    // Like every exit 2: one line on stderr, nothing on stdout (issue 11, class 6).
    bad_input("", "smmu-sim: command line: no command (smmu-sim --help lists them)");
    bad_input("simulate", "smmu-sim: command line: unknown command 'simulate'");
    bad_input("decode", "smmu-sim: decode: give a structure (ste, cd, cmd, event, pri, s1pte or s2pte) and its words");
    bad_input("trace", "smmu-sim: command line: trace needs convert or stats (smmu-sim trace --help)");
    const Run help = smmu_sim("--help");
    CHECK(help.exit_code == 0);
    CHECK(has(help.out, "usage: smmu-sim"));
}

TEST_CASE("command line: unknown option, missing argument, missing required option", "[robustness][cli]") {
    bad_input("run --config " + kConfig + " --bogus", "command line: unrecognised option '--bogus'");
    bad_input("run --config", "command line: the required argument for option '--config' is missing");
    bad_input("run --config " + kConfig + " --trace", "the required argument for option '--trace' is missing");
    bad_input("run --config " + kConfig + " --stats", "the required argument for option '--stats' is missing");
    bad_input("run", "command line: --config FILE is required");
    // A stray word (was: silently ignored, so `run --config a.yaml b.yaml` dropped b.yaml).
    bad_input("run --config " + kConfig + " stray", "command line: too many positional options");
    bad_input("translate --config " + kConfig + " " + kConfig + " --device dev0 --iova 0",
              "command line: too many positional options");
    bad_input("translate --config " + kConfig + " --iova 0x1000", "command line: --device and --iova are required");
    bad_input("translate --config " + kConfig + " --device dev0 --iova", "the required argument for option '--iova'");
    bad_input("replay traces/examples/linux-probe.script --bogus", "command line: unrecognised option '--bogus'");
    bad_input("replay", "replay needs a SCRIPT");
    bad_input("replay traces/examples/linux-probe.script --set", "the required argument for option '--set'");
}

TEST_CASE("command line: bad values", "[robustness][cli]") {
    bad_input("translate --config " + kConfig + " --device dev0 --iova 0x10g0", "--iova: '0x10g0' is not a number");
    bad_input("translate --config " + kConfig + " --device dev0 --iova 0 --ssid 0x100000",
              "--ssid: '0x100000' is not a 20-bit number");
    bad_input("translate --config " + kConfig + " --device nodev --iova 0", "nodev");
    bad_input("run --config " + kConfig + " --set smmu.oas", "--set: 'smmu.oas' is not key=value");
    bad_input("run --config " + kConfig + " --set smmu.oas=41", "smmu.oas: expected one of");
}

TEST_CASE("command line: --stats to a path that cannot be written, before anything runs", "[robustness][cli]") {
    bad_input("run --config " + kConfig + " --trace " + kData + "s1.trace --stats /nonexistent-dir/out.json",
              "--stats: cannot write '/nonexistent-dir/out.json'");
    bad_input("run --config " + kConfig + " --stats " + kBin, "--stats: cannot write '" + kBin + "'");
    bad_input("replay traces/examples/linux-probe.script --stats /nonexistent-dir/out.json",
              "--stats: cannot write '/nonexistent-dir/out.json'");
}

TEST_CASE("decode: bad structure names and words", "[robustness][cli]") {
    bad_input("decode pte 0x1", "decode: unknown structure 'pte' (expected ste, cd, cmd, event, pri, s1pte or s2pte)");
    bad_input("decode ste 0xzz", "decode: word 0 '0xzz'");
    bad_input("decode cmd 1 2 3", "decode: cmd has 2 words, ");
}

TEST_CASE("compare: missing file, not JSON, JSON of the wrong shape", "[robustness][cli]") {
    bad_input("compare", "compare: give LABEL=STATS.json for each run");
    bad_input("compare nolabel.json", "compare: 'nolabel.json' is not LABEL=STATS.json");
    bad_input("compare a=/nonexistent-dir/a.json", "compare: missing file '/nonexistent-dir/a.json'");
    const std::string text = write_file("not.json", "pmu: 1\n");
    bad_input("compare a=" + text, "compare: " + text + ": not a stats JSON");
    // Valid JSON, wrong types: a string where a cache's counters go, an empty vmids.
    const std::string shape = write_file("shape.json", R"({"caches": {"iotlb": "many"}, "vmids": {}})");
    bad_input("compare a=" + shape, "compare: " + shape + ": not a stats JSON");
    // JSON that is not stats at all (issue 11, class 6): `{}`, a list, another tool's object.
    const std::string empty = write_file("empty.json", "{}");
    bad_input("compare a=" + empty, "compare: " + empty + ": not a stats JSON (no 'pmu' object");
    const std::string list = write_file("list.json", "[1, 2]");
    bad_input("compare a=" + list, "compare: " + list + ": not a stats JSON (no 'pmu' object");
    const std::string other = write_file("other.json", R"({"pmu": {}, "totals": 3, "sim": {}})");
    bad_input("compare a=" + other, "compare: " + other + ": not a stats JSON (no 'totals' object");
    // A stats file missing other keys is fine: they print as 0 or '-'.
    const std::string sparse = write_file("sparse.json", R"({"pmu": {}, "totals": {}, "sim": {}})");
    const Run r = smmu_sim("compare a=" + sparse + " b=" + sparse);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "VMIDs per SMMU"));
}

TEST_CASE("config semantic errors are caught at load, before the simulation starts", "[robustness][config]") {
    // An S1 mapping outside the VA size, two devices on one SID, an IPA range not in the VM.
    bad_input("run --config " + kErrors + "va_bits.yaml --trace " + kData + "s1.trace",
              "va_bits.yaml:8: devices.dev0.contexts[0].map[0].va: VA range");
    bad_input("run --config " + kErrors + "dup_sid.yaml --trace " + kData + "s1.trace",
              "dup_sid.yaml:6: devices.dev1.sid: 0x10 is also the sid of device 'dev0'");
    bad_input("run --config " + kErrors + "ipa_not_in_vm.yaml", "ipa_not_in_vm.yaml:14:");
    bad_input("run --config " + kConfig + " --set devices.dev0.sid=0x100", "does not fit in smmu.sid_bits (8)");
    bad_input("translate --config " + kErrors + "overlap_s2.yaml --device dev0 --iova 0", "overlap_s2.yaml:5:");
    bad_input("replay traces/examples/linux-probe.script --config " + kErrors + "oas.yaml", "oas.yaml:2: smmu.oas");
    // Issue 11, class 3: register accesses that take no time would let replay's polls spin
    // forever (and made `run` end with exit 3): refused at load, by both commands.
    const std::string zero = " --set host.mmio_latency_ns=0 --set smmu.mmio_cycles=0";
    bad_input("replay " + kSrc + "/traces/examples/linux-probe.script" + zero,
              "--set smmu.mmio_cycles=0: smmu.mmio_cycles: host.mmio_latency_ns and smmu.mmio_cycles are both 0");
    bad_input("run --config " + kConfig + zero, "host.mmio_latency_ns and smmu.mmio_cycles are both 0");
}

TEST_CASE("trace errors: one message with file, line and field, no summary, exit 2", "[robustness][trace]") {
    // Traces are streamed: an error on a later line stops the run when it is reached.
    const std::string late = write_file("late.trace", "0 dev0 R 0x10000000 64\n10 dev0 R 0x10000040 64\n20 dev0 R 0x1 0\n");
    bad_input("run --config " + kConfig + " --trace " + late, late + ":3: size: must not be 0");
    const std::string unknown = write_file("unknown.trace", "0 dev0 R 0x10000000 64\n5 gpu9 W 0x0 4\n");
    bad_input("run --config " + kConfig + " --trace " + unknown, unknown + ":2:");
    bad_input("run --config " + kConfig + " --trace /nonexistent-dir/t.trace", "missing file '/nonexistent-dir/t.trace'");
    // A trace DMA the SMMU refuses is no input error: it is a fault, counted, exit 0.
    const std::string fault = write_file("fault.trace", "0 dev0 R 0x20000000 64\n0 dev0 R 0x1000000000000 64\n");
    const Run r = smmu_sim("run --config " + kConfig + " --trace " + fault);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "2 faults"));
}

TEST_CASE("trace control records: the loader's checks, with file and line", "[robustness][trace][issue11]") {
    // Issue 11, class 1: map/unmap records get every check a config mapping gets.
    const std::string cfg = kSrc + "/configs/examples/four-modes.yaml";
    const std::string table = write_file("table.trace", "0 gpu R 0x80000000 64\n10 map s2:vm0 0xc0000000 0x40000000 2M\n");
    bad_input("run --config " + cfg + " --trace " + table,
              table + ":2: out: PA range [0x40000000, 0x40200000) overlaps the table region [0x40000000, 0x50000000) "
                      "(memory.table_base, memory.table_size)");
    const std::string ipa = write_file("ipa.trace", "0 unmap s2:vm0 0x10000000000 4K\n");
    bad_input("run --config " + cfg + " --trace " + ipa,
              ipa + ":1: in: IPA range [0x10000000000, 0x10000001000) exceeds the 40-bit IPA space (vms.vm0.s2.ias)");
    const std::string va = write_file("va.trace", "0 map s1:nic/3 0x8000000000 0x80000000 4K\n");
    bad_input("run --config " + cfg + " --trace " + va,
              va + ":1: in: VA range [0x8000000000, 0x8000001000) exceeds the 39-bit VA space "
                   "(devices.nic.contexts[1].va_bits)");
    // An overlap is found by the host when it applies the record: still the record's file and line.
    const std::string overlap = write_file("overlap.trace", "0 map s1:dma 0x1008000 0x310000000 4K\n");
    bad_input("run --config " + cfg + " --trace " + overlap,
              overlap + ":1: in: mapping at 0x1008000 overlaps one already mapped (unmap it first)");
    // trace convert with a config checks them too.
    bad_input("trace convert " + va + " " + kBin + "/robustness_va.bin --config " + cfg, va + ":1: in: VA range");
}

TEST_CASE("replay script errors: file, line and field, nothing run", "[robustness][replay]") {
    const std::string bad_reg = write_file("bad_reg.script", "write32 CR0 0\nwrite32 NO_SUCH_REG 1\n");
    bad_input("replay " + bad_reg, bad_reg + ":2:");
    const std::string odd = write_file("odd.script", "read32 0x22\n");  // misaligned offset
    bad_input("replay " + odd, odd + ":1:");
    const std::string beyond = write_file("beyond.script", "read32 0x20000\n");  // outside the 128 KiB window
    bad_input("replay " + beyond, beyond + ":1:");
    const std::string zero = write_file("zero.script", "dma 1 R 0x1000 0\n");
    bad_input("replay " + zero, zero + ":1:");
    const std::string cross = write_file("cross.script", "dma 1 R 0x1ff0 32\n");
    bad_input("replay " + cross, cross + ":1:");
}
