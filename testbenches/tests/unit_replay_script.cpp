// Driver-session scripts (smmu-sim replay): every statement's syntax, names,
// expressions, and every error as "file:line: field: problem".
#include <catch2/catch.hpp>

#include <sstream>

#include "models/arch/event.h"
#include "models/arch/registers.h"
#include "testbenches/config/input_error.h"
#include "testbenches/replay/script.h"

using namespace smmu::sim;
namespace reg = smmu::arch::reg;

namespace {

Script parse(const std::string& text) {
    std::istringstream in(text);
    return parse_script(in, "t.script");
}

ScriptLine one(const std::string& text) {
    const Script s = parse(text);
    REQUIRE(s.lines.size() == 1);
    return s.lines[0];
}

// The InputError message `text` raises ("" if none).
std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

// `text` fails at `line` on `field`, and the message mentions `detail`.
void check_error(const std::string& text, int line, const std::string& field, const std::string& detail) {
    const std::string e = error_of(text);
    INFO("script: " << text << "\nerror: " << e);
    CHECK(e.rfind("t.script:" + std::to_string(line) + ": " + field + ": ", 0) == 0);
    CHECK(e.find(detail) != std::string::npos);
}

}  // namespace

TEST_CASE("replay script: MMIO writes and reads, register names, comments", "[replay]") {
    const Script s = parse(
        "# a comment line\n"
        "\n"
        "write32 CR0 0xc   # trailing comment\n"
        "write64 0x80 0x4000000040000000\n"
        "read32 IDR0\n"
        "read32 CR0ACK == 12\n"
        "read64 STRTAB_BASE == 0x40000000 mask=0xffffffffffc0\n"
        "write32 STRTAB_BASE+4 0x1\n"
        "read32 EVENTQ_PROD\n");
    CHECK(s.file == "t.script");
    REQUIRE(s.lines.size() == 7);
    const ScriptLine& w = s.lines[0];
    CHECK(w.line == 3);
    CHECK(w.op == ScriptOp::MmioWrite);
    CHECK(w.width == 4);
    CHECK(w.addr == reg::CR0);
    CHECK(w.values == std::vector<uint64_t>{0xc});
    CHECK(w.text == "write32 CR0 0xc");
    CHECK_FALSE(w.at_ns);
    CHECK(s.lines[1].width == 8);
    CHECK(s.lines[1].addr == 0x80);
    CHECK(s.lines[1].values[0] == 0x4000000040000000ull);
    CHECK(s.lines[2].op == ScriptOp::MmioRead);
    CHECK_FALSE(s.lines[2].has_expect);
    CHECK(s.lines[3].has_expect);
    CHECK(s.lines[3].expect == 12);
    CHECK(s.lines[3].mask == 0xffffffffu);  // a 32-bit read compares 32 bits
    CHECK(s.lines[4].mask == 0xffffffffffc0ull);
    CHECK(s.lines[4].expect == 0x40000000);
    CHECK(s.lines[5].addr == reg::STRTAB_BASE + 4);
    // EVENTQ_PROD names its page-1 home; the page-0 alias is reachable by number.
    CHECK(s.lines[6].addr == reg::EVENTQ_PROD);
}

TEST_CASE("replay script: register names both ways", "[replay]") {
    CHECK(register_offset("CR0") == reg::CR0);
    CHECK(register_offset("GERROR_IRQ_CFG0") == reg::GERROR_IRQ_CFG0);
    CHECK(register_offset("EVENTQ_CONS") == reg::EVENTQ_CONS);
    CHECK_FALSE(register_offset("cr0"));
    CHECK_FALSE(register_offset("RESERVED"));
    CHECK(register_label(reg::CMDQ_PROD) == "CMDQ_PROD");
    CHECK(register_label(reg::CMDQ_BASE + 4) == "CMDQ_BASE+4");
    CHECK(register_label(reg::EVENTQ_PROD_ALIAS) == "EVENTQ_PROD");
    CHECK(register_label(0x30) == "");
}

TEST_CASE("replay script: memory, poll, wait, times, lets and expressions", "[replay]") {
    const Script s = parse(
        "let BASE = 0x40000000\n"
        "let STE1 = BASE+0x40\n"
        "memw64 STE1 0x9 0 0x10\n"
        "memw32 BASE+4 0xffffffff\n"
        "memr64 STE1 == 9\n"
        "memr32 BASE == 1 mask=0x1\n"
        "@100 poll32 CR0ACK 0xffffffff 0xd\n"
        "poll64 CMDQ_BASE 0x1f 8 timeout=500\n"
        "wait 0x10\n"
        "write64 CMDQ_BASE 0x4000000000000000|BASE|8\n");
    REQUIRE(s.lines.size() == 8);  // lets are not statements
    CHECK(s.lines[0].op == ScriptOp::MemWrite);
    CHECK(s.lines[0].addr == 0x40000040);
    CHECK(s.lines[0].values == std::vector<uint64_t>{9, 0, 0x10});
    CHECK(s.lines[0].line == 3);
    CHECK(s.lines[1].width == 4);
    CHECK(s.lines[1].addr == 0x40000004);
    CHECK(s.lines[2].op == ScriptOp::MemRead);
    CHECK(s.lines[2].expect == 9);
    CHECK(s.lines[2].mask == ~uint64_t{0});
    CHECK(s.lines[3].mask == 1);
    const ScriptLine& p = s.lines[4];
    CHECK(p.op == ScriptOp::Poll);
    CHECK(p.at_ns == 100u);
    CHECK(p.addr == reg::CR0ACK);
    CHECK(p.mask == 0xffffffffu);
    CHECK(p.expect == 0xd);
    CHECK(p.timeout_ns == kDefaultPollTimeoutNs);
    CHECK(p.text == "@100 poll32 CR0ACK 0xffffffff 0xd");
    CHECK(s.lines[5].width == 8);
    CHECK(s.lines[5].timeout_ns == 500);
    CHECK(s.lines[6].op == ScriptOp::Wait);
    CHECK(s.lines[6].wait_ns == 16);
    CHECK_FALSE(s.lines[6].at_ns);
    CHECK(s.lines[7].values[0] == 0x4000000040000008ull);  // '+' and '|' left to right
}

TEST_CASE("replay script: dma lines and their expectations", "[replay]") {
    ScriptLine d = one("dma 1 R 0x80000000 64\n");
    CHECK(d.op == ScriptOp::Dma);
    CHECK(d.sid == 1);
    CHECK_FALSE(d.ssv);
    CHECK_FALSE(d.write);
    CHECK(d.addr == 0x80000000);
    CHECK(d.size == 64);
    CHECK(d.dma_expect == DmaExpect::None);

    d = one("@20 dma 0x10 ssid=3 W 0x1000 4096 data=0xab expect pa=0x2000\n");
    CHECK(d.at_ns == 20u);
    CHECK(d.sid == 0x10);
    CHECK(d.ssv);
    CHECK(d.ssid == 3);
    CHECK(d.write);
    CHECK(d.size == 4096);
    CHECK(d.data == 0xabu);
    CHECK(d.dma_expect == DmaExpect::Pa);
    CHECK(d.expect_pa == 0x2000);

    CHECK(one("dma 0 R 0 8 expect ok").dma_expect == DmaExpect::Ok);
    CHECK(one("dma 0 R 0 8 expect abort").dma_expect == DmaExpect::Abort);
    d = one("dma 0x20 R 0x1000 64 expect fault=C_BAD_STREAMID");
    CHECK(d.dma_expect == DmaExpect::Fault);
    CHECK(d.event_id == static_cast<uint8_t>(smmu::arch::EventId::C_BAD_STREAMID));
    CHECK(one("dma 1 ssid=0xfffff R 0xfc0 64 expect fault=F_PERMISSION").ssid == 0xfffff);
}

TEST_CASE("replay script: an empty script has no lines", "[replay]") {
    CHECK(parse("").lines.empty());
    CHECK(parse("# only\n\n   # comments\n").lines.empty());
    CHECK(parse("let A = 1\n").lines.empty());
}

TEST_CASE("replay script: errors in times and operations", "[replay]") {
    check_error("write32 CR0 0\n@ wait 1\n", 2, "time", "expected @<time_ns>");
    check_error("@1x wait 1\n", 1, "time", "'1x'");
    check_error("@5\n", 1, "op", "missing after '@5'");
    check_error("@1000000000000001 wait 1\n", 1, "time", "exceeds 10^15 ns");
    check_error("@5 let A = 1\n", 1, "time", "let takes no time");
    check_error("\n\nfrobnicate 1 2\n", 3, "op", "unknown operation 'frobnicate'");
    check_error("write16 CR0 0\n", 1, "op", "expected one of:");
}

TEST_CASE("replay script: errors in values and names", "[replay]") {
    check_error("write32 CR0\n", 1, "value", "missing");
    check_error("write32 CR0 0x100000000\n", 1, "value", "does not fit in 32 bits");
    check_error("write32 CR0 1++2\n", 1, "value", "malformed value '1++2'");
    check_error("write32 CR0 1+\n", 1, "value", "malformed");
    check_error("write32 CR0 0xzz\n", 1, "value", "expected an unsigned integer, got '0xzz'");
    check_error("write32 CR0 NOPE\n", 1, "value", "unknown name 'NOPE'");
    check_error("memw64 0x1000 CR0\n", 1, "value", "register names are for MMIO offsets only");
    check_error("write64 CMDQ_BASE 0xffffffffffffffff+1\n", 1, "value", "overflows 64 bits");
    check_error("write32 CR0 1 2\n", 1, "write32", "unexpected '2'");
}

TEST_CASE("replay script: errors in offsets and addresses", "[replay]") {
    check_error("write32\n", 1, "offset", "missing");
    check_error("read32 0x20000\n", 1, "offset", "beyond the SMMU's 0x20000 bytes");
    check_error("read32 0x22\n", 1, "offset", "not 4-byte aligned");
    check_error("read64 CR0ACK\n", 1, "offset", "0x24 is not 8-byte aligned");
    check_error("read32 NOTAREG\n", 1, "offset", "unknown name 'NOTAREG'");
    check_error("memw64 0x1004 1\n", 1, "address", "not 8-byte aligned");
    check_error("memr32\n", 1, "address", "missing");
    check_error("memw64 0xfffffffffffffff8 1 2\n", 1, "value", "run past 2^64");
}

TEST_CASE("replay script: errors in expectations", "[replay]") {
    check_error("read32 CR0 12\n", 1, "read32", "an expectation is '== <value>'");
    check_error("read32 CR0 ==\n", 1, "expected", "missing");
    check_error("read32 CR0 == 0x1ffffffff\n", 1, "expected", "does not fit in 32 bits");
    check_error("read32 CR0 == 1 mask=0x100000000\n", 1, "mask", "does not fit in 32 bits");
    check_error("memr64 0 == 3 mask=1\n", 1, "expected", "0x3 has bits outside the mask 0x1");
    check_error("memr64 0 == 3 mask=\n", 1, "mask", "missing");
    check_error("read32 CR0 == 1 extra\n", 1, "read32", "unexpected 'extra'");
}

TEST_CASE("replay script: errors in polls and waits", "[replay]") {
    check_error("poll32 CR0ACK\n", 1, "mask", "missing");
    check_error("poll32 CR0ACK 0xff\n", 1, "value", "missing");
    check_error("poll32 CR0ACK 0x1 0x2\n", 1, "value", "0x2 has bits outside the mask 0x1");
    check_error("poll32 CR0ACK 0xff 1 timeout=soon\n", 1, "timeout", "'soon'");
    check_error("poll32 CR0ACK 0xff 1 timeout=0\n", 1, "timeout", "must not be 0");
    check_error("poll32 CR0ACK 0xff 1 after=5\n", 1, "poll32", "unexpected 'after=5'");
    check_error("wait\n", 1, "ns", "missing");
    check_error("wait 5ns\n", 1, "ns", "'5ns'");
    check_error("wait 0x4000000000000000\n", 1, "ns", "exceeds 10^15 ns");
    check_error("poll32 CR0ACK 0xff 1 timeout=2000000000000000\n", 1, "timeout", "exceeds 10^15 ns");
}

TEST_CASE("replay script: errors in dma lines", "[replay]") {
    check_error("dma\n", 1, "sid", "missing");
    check_error("dma 0x100000000 R 0 8\n", 1, "sid", "does not fit in 32 bits");
    check_error("dma 1 ssid=0x100000 R 0 8\n", 1, "ssid", "exceeds 20 bits");
    check_error("dma 1 ssid= R 0 8\n", 1, "ssid", "missing");
    check_error("dma 1\n", 1, "direction", "missing");
    check_error("dma 1 X 0 8\n", 1, "direction", "expected R or W, got 'X'");
    check_error("dma 1 r 0 8\n", 1, "direction", "got 'r'");
    check_error("dma 1 R\n", 1, "iova", "missing");
    check_error("dma 1 R 0x1000\n", 1, "size", "missing");
    check_error("dma 1 R 0x1000 0\n", 1, "size", "must not be 0");
    check_error("dma 1 R 0xfc0 128\n", 1, "size", "cross a 4 KiB boundary");
    check_error("dma 1 R 0 8192\n", 1, "size", "cross a 4 KiB boundary");
    check_error("dma 1 R 0 8 data=1\n", 1, "data", "only a write (W) carries data");
    check_error("dma 1 R 0 8 expect\n", 1, "expect", "missing");
    check_error("dma 1 R 0 8 expect maybe\n", 1, "expect", "got 'maybe'");
    check_error("dma 1 R 0 8 expect pa=\n", 1, "pa", "missing");
    check_error("dma 1 R 0 8 expect fault=F_OOPS\n", 1, "fault", "unknown event 'F_OOPS'");
    check_error("dma 1 R 0 8 expect ok ok\n", 1, "dma", "unexpected 'ok'");
    check_error("dma 1 R 0 8 ssid=1\n", 1, "dma", "unexpected 'ssid=1'");
}

TEST_CASE("replay script: errors in lets", "[replay]") {
    check_error("let\n", 1, "name", "missing");
    check_error("let 9A = 1\n", 1, "name", "'9A' is not a name");
    check_error("let A-B = 1\n", 1, "name", "is not a name");
    check_error("let CR0 = 1\n", 1, "name", "'CR0' is a register name");
    check_error("let A = 1\n\nlet A = 2\n", 3, "name", "'A' already defined at line 1");
    check_error("let A 1\n", 1, "=", "expected '=' after the name, got '1'");
    check_error("let A =\n", 1, "value", "missing");
    check_error("let A = 1 2\n", 1, "let", "unexpected '2'");
    check_error("write32 CR0 B\nlet B = 1\n", 1, "value", "unknown name 'B'");  // defined before use
}

TEST_CASE("replay script: a missing file", "[replay]") {
    try {
        load_script("no/such.script");
        FAIL("no error");
    } catch (const InputError& e) {
        CHECK(std::string(e.what()) == "missing file 'no/such.script'");
    }
}

TEST_CASE("replay script: waits and poll timeouts may not add up beyond 10^15 ns", "[replay][issue11]") {
    // Each is bounded; so is their sum from the last '@' (was: later lines silently
    // started at the same saturated time).
    CHECK(parse("wait 600000000000000\nwait 400000000000000\n").lines.size() == 2);
    check_error("wait 600000000000000\nwait 400000000000001\n", 2, "ns",
                "waits and poll timeouts add up to 1000000000000001 ns, beyond 10^15 ns");
    check_error("@900000000000000 read32 IDR0\nwait 1000\npoll32 CR0ACK 0x1 0x1 timeout=100000000000000\n", 3,
                "timeout", "waits and poll timeouts add up to 1000000000001000 ns, beyond 10^15 ns");
    // An '@' earlier than the waits so far does not reset them.
    check_error("wait 800000000000000\n@1 wait 300000000000000\n", 2, "ns", "add up to 1100000000000000 ns");
}
