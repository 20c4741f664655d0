// Robustness: software-written state the other unit tests do not reach
// (docs/robustness.md lists every input, its behaviour and its test). Queue
// pointers out of the rules, GERRORN toggled for no error, commands with
// reserved fields or out-of-range parameters, tables that point to
// themselves. Plain C++: SmmuCore over SparseMemory, registers by hand.
#include <catch2/catch.hpp>

#include <cstdint>

#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/registers.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/smmu_core.h"

using namespace smmu;
using namespace smmu::arch;

namespace {

constexpr uint64_t kCmdq = 0x10000;
constexpr uint64_t kStrtab = 0x20000;
constexpr uint64_t kEventq = 0x30000;
constexpr uint64_t kS2L0 = 0x40000;

struct Rig {
    SparseMemory mem{48};
    SmmuCore core{mem, SmmuCoreParams{}};

    uint64_t rd(uint32_t off, unsigned size = 4) const {
        uint64_t v = 0;
        REQUIRE(core.mmio_read(off, size, v) == MmioStatus::Ok);
        return v;
    }
    WriteEffect wr(uint32_t off, uint64_t v, unsigned size = 4) {
        WriteEffect e;
        REQUIRE(core.mmio_write(off, size, v, e) == MmioStatus::Ok);
        return e;
    }
    void w64(uint64_t pa, uint64_t v) { REQUIRE(mem.write(pa, &v, 8)); }
    void cmdq_on(unsigned log2) {
        wr(reg::CMDQ_BASE, kCmdq | log2, 8);
        wr(reg::CMDQ_PROD, 0);
        wr(reg::CMDQ_CONS, 0);
        wr(reg::CR0, rd(reg::CR0) | cr0::CMDQEN.mask());
    }
    void put(unsigned index, const Command& c) {
        REQUIRE(mem.write_words(kCmdq + uint64_t{index} * Command::kBytes, c.w.data(), Command::kDwords));
    }
    // Runs the queue until it stops; never more than `limit` commands.
    unsigned run(unsigned limit = 100) {
        unsigned n = 0;
        while (core.cmdq_pending()) {
            core.cmdq_step();
            REQUIRE(++n <= limit);
        }
        return n;
    }
    uint32_t cons() const { return static_cast<uint32_t>(rd(reg::CMDQ_CONS)); }
    uint64_t executed(Opcode o) const { return core.stats().commands[static_cast<uint8_t>(o)]; }

    // SMMUEN and EVTQEN with a 16-entry linear stream table and an event queue of 2^log2.
    void translate_on(unsigned evq_log2 = 2) {
        wr(reg::CR2, 0x2);
        wr(reg::STRTAB_BASE, kStrtab, 8);
        wr(reg::STRTAB_BASE_CFG, 4);
        wr(reg::EVENTQ_BASE, kEventq | evq_log2, 8);
        wr(reg::EVENTQ_PROD, 0);
        wr(reg::EVENTQ_CONS, 0);
        wr(reg::CR0, rd(reg::CR0) | cr0::SMMUEN.mask() | cr0::EVTQEN.mask());
    }
    TranslationResult translate(uint32_t sid, uint64_t iova) {
        TranslationRequest req;
        req.sid = sid;
        req.iova = iova;
        AccessLog log;
        last_walk_reads = 0;
        TranslationResult r = core.translate(req, log);
        last_walk_reads = log.walk_reads;
        return r;
    }
    unsigned last_walk_reads = 0;
};

}  // namespace

// ---------------------------------------------------------------- queue pointers

TEST_CASE("CMDQ_PROD with index bits above LOG2SIZE+1: ignored by the queue, read back as written",
          "[robustness][cmdq]") {
    Rig r;
    r.cmdq_on(2);  // 4 entries: index [1:0], wrap [2]
    for (unsigned i = 0; i < 4; ++i) r.put(i, Command::make(Opcode::SYNC));
    // Bits [19:3] are beyond this queue; only index 2 (wrap 0) counts.
    r.wr(reg::CMDQ_PROD, 0xfffe8 | 2);
    CHECK(r.rd(reg::CMDQ_PROD) == (0xfffe8 | 2));
    CHECK(r.run() == 2);
    CHECK(r.cons() == 2);
    CHECK(r.core.stats().command_errors == 0);
    CHECK(r.rd(reg::GERROR) == 0);
    // Bits [31:20] are not part of the register at all.
    r.wr(reg::CMDQ_PROD, 0xfff00003);
    CHECK(r.rd(reg::CMDQ_PROD) == 3);
    CHECK(r.run() == 1);
    CHECK(r.cons() == 3);
}

TEST_CASE("CMDQ_PROD behind CMDQ_CONS (bad wrap): the queue is read round to PROD, no error, no hang",
          "[robustness][cmdq]") {
    Rig r;
    r.cmdq_on(2);
    for (unsigned i = 0; i < 4; ++i) r.put(i, Command::make(Opcode::SYNC));
    r.wr(reg::CMDQ_PROD, 2);
    REQUIRE(r.run() == 2);
    REQUIRE(r.cons() == 2);
    // PROD = 1 with CONS's wrap: "7 commands" on a 4-entry queue. The model
    // consumes (PROD - CONS) mod 2^(LOG2SIZE+1) = 7 entries, re-reading slots.
    r.wr(reg::CMDQ_PROD, 1);
    CHECK(r.run() == 7);
    CHECK(r.cons() == 1);
    CHECK(r.executed(Opcode::SYNC) == 9);
    CHECK(r.core.stats().command_errors == 0);
    // The same with the wrap bit set: PROD one behind CONS in the other lap.
    r.wr(reg::CMDQ_PROD, 4 | 0);  // index 0, wrap 1: 3 commands ahead of CONS=1
    CHECK(r.run() == 3);
    CHECK(r.cons() == 4);
}

TEST_CASE("CMDQ_PROD behind CONS over garbage slots stops with CERROR_ILL, not a hang", "[robustness][cmdq]") {
    Rig r;
    r.cmdq_on(3);  // 8 entries, only the first two hold commands
    r.put(0, Command::make(Opcode::SYNC));
    r.put(1, Command::make(Opcode::SYNC));
    r.wr(reg::CMDQ_PROD, 2);
    REQUIRE(r.run() == 2);
    r.wr(reg::CMDQ_PROD, 1);  // 15 "commands": slot 2 is zero, opcode 0
    CHECK(r.run() == 1);
    CHECK((r.cons() & 0xfffff) == 2);
    CHECK(((r.cons() >> 24) & 0x7f) == static_cast<uint32_t>(CmdqError::Ill));
    CHECK(r.core.regs().cmdq_error_active());
}

TEST_CASE("EVENTQ_CONS written ahead of PROD: the SMMU checks only for a full queue", "[robustness][eventq]") {
    Rig r;
    r.translate_on(2);  // 4 records
    r.wr(reg::EVENTQ_CONS, 3);  // software claims to have consumed 3 records that were never written
    const TranslationResult t = r.translate(20, 0x1000);  // SID beyond LOG2SIZE 4
    CHECK(t.fault.id == EventId::C_BAD_STREAMID);
    CHECK(r.rd(reg::EVENTQ_PROD) == 1);  // written at index 0, PROD moved on
    CHECK(r.core.stats().events[static_cast<uint8_t>(EventId::C_BAD_STREAMID)] == 1);
    // PROD at index 3 and CONS at index 3 of the other lap: full -> overflow, no write.
    r.wr(reg::CR0, cr0::SMMUEN.mask());  // EVTQEN=0 to move PROD
    r.wr(reg::EVENTQ_PROD, 3);
    r.wr(reg::EVENTQ_CONS, 4 | 3);
    r.wr(reg::CR0, cr0::SMMUEN.mask() | cr0::EVTQEN.mask());
    r.translate(20, 0x1000);
    CHECK(r.core.stats().events_dropped_overflow == 1);
    CHECK((r.rd(reg::EVENTQ_PROD) & eventq_prod::OVFLG.mask()) != 0);
}

// ---------------------------------------------------------------- GERROR / GERRORN

TEST_CASE("GERRORN toggled with no error active: it reads as an error, the queue runs on", "[robustness][gerror][issue11]") {
    Rig r;
    r.cmdq_on(2);
    r.put(0, Command::make(Opcode::SYNC));
    r.put(1, Command::make(Opcode::SYNC));
    // CONSTRAINED UNPREDICTABLE (IHI 0070 6.3.18 says software must not): the bit
    // is stored, GERROR != GERRORN reads as an error, and nothing else changes
    // (QEMU's smmuv3_write_gerrorn likewise only stores it).
    r.wr(reg::GERRORN, gerror::CMDQ_ERR.mask());
    CHECK_FALSE(r.core.regs().cmdq_error_active());
    r.wr(reg::CMDQ_PROD, 1);
    CHECK(r.run() == 1);
    CHECK(r.cons() == 1);
    CHECK(r.rd(reg::GERROR) == 0);  // GERROR itself does not move
    CHECK(r.rd(reg::GERRORN) == gerror::CMDQ_ERR.mask());
    // An error while the bits already differ: GERROR stays (it toggles only when
    // no error is active, 6.3.17), the queue stops; making them equal acknowledges it.
    r.put(1, Command{});  // opcode 0: CERROR_ILL
    r.wr(reg::CMDQ_PROD, 2);
    CHECK(r.run() == 1);  // the step that found the illegal command
    CHECK(r.core.regs().cmdq_error_active());
    CHECK(r.rd(reg::GERROR) == 0);
    r.put(1, Command::make(Opcode::SYNC));
    CHECK(r.wr(reg::GERRORN, 0).cmdq_kick);
    CHECK(r.run() == 1);
    CHECK((r.cons() & 0xfffff) == 2);
    // Undefined GERRORN bits are not stored.
    r.wr(reg::GERRORN, 0xffffffff);
    CHECK(r.rd(reg::GERRORN) == gerror::kDefined);
}

TEST_CASE("A GERRORN write that acknowledges CMDQ_ERR restarts the queue without a CMDQ_PROD write",
          "[robustness][gerror][issue11]") {
    Rig r;
    r.cmdq_on(3);
    r.put(0, Command::make(Opcode::SYNC));
    r.put(1, Command{});  // illegal
    r.put(2, Command::make(Opcode::SYNC));
    r.wr(reg::CMDQ_PROD, 3);
    CHECK(r.run() == 2);  // the SYNC, then the step that stopped on the illegal command
    CHECK((r.cons() & 0xfffff) == 1);
    CHECK(r.rd(reg::GERROR) == gerror::CMDQ_ERR.mask());
    // Software fixes the command (Linux's arm_smmu_cmdq_skip_err writes a CMD_SYNC
    // over it), then acknowledges: that write alone restarts the queue (QEMU too).
    r.put(1, Command::make(Opcode::SYNC));
    const WriteEffect e = r.wr(reg::GERRORN, gerror::CMDQ_ERR.mask());
    CHECK(e.cmdq_kick);
    CHECK_FALSE(r.core.regs().cmdq_error_active());
    CHECK(r.run() == 2);
    CHECK((r.cons() & 0xfffff) == 3);
    // Acknowledging another error (EVTQ_ABT_ERR's bit) does not kick the queue.
    CHECK_FALSE(r.wr(reg::GERRORN, gerror::CMDQ_ERR.mask() | gerror::EVTQ_ABT_ERR.mask()).cmdq_kick);
}

// ---------------------------------------------------------------- commands

TEST_CASE("Commands with non-zero reserved fields execute as if the fields were zero", "[robustness][cmdq]") {
    Rig r;
    r.cmdq_on(2);
    Command cfgi = Command::make(Opcode::CFGI_STE, {{cmd::SID, 3}});
    cfgi.w[0] |= 0x0000'0000'ffff'f300ull;  // [31:12] SSID and [9:8] unused by CFGI_STE (SSec [10] stays 0)
    cfgi.w[1] |= 0xffff'ffff'ffff'fffeull;  // everything but Leaf
    Command nh_all = Command::make(Opcode::TLBI_NH_ALL);
    nh_all.w[0] |= 0xffff'0000'0000'0000ull;  // ASID: not a field of TLBI_NH_ALL
    nh_all.w[1] = ~0ull;
    Command sync = Command::make(Opcode::SYNC);
    sync.w[0] |= 0x0000'0000'0000'0b00ull;  // [9:8] and [11] reserved in SYNC ([10] is SSec: illegal)
    r.put(0, cfgi);
    r.put(1, nh_all);
    r.put(2, sync);
    r.wr(reg::CMDQ_PROD, 3);
    CHECK(r.run() == 3);
    CHECK(r.core.stats().command_errors == 0);
    CHECK(r.executed(Opcode::CFGI_STE) == 1);
    CHECK(r.executed(Opcode::TLBI_NH_ALL) == 1);
    CHECK(r.executed(Opcode::SYNC) == 1);
}

TEST_CASE("Commands with parameters out of range invalidate nothing and raise no error", "[robustness][cmdq]") {
    Rig r;
    r.cmdq_on(3);
    r.put(0, Command::make(Opcode::CFGI_STE, {{cmd::SID, 0xffffffff}}));       // beyond SIDSIZE 16
    r.put(1, Command::make(Opcode::CFGI_STE_RANGE, {{cmd::SID, 0x10000}, {cmd::Range, 30}}));
    r.put(2, Command::make(Opcode::CFGI_CD, {{cmd::SID, 1}, {cmd::SSID, 0xfffff}}));  // beyond any S1CDMax
    r.put(3, Command::make(Opcode::TLBI_S2_IPA, {{cmd::VMID, 0xffff}, {cmd::IPA, 0x000f'ffff'ffff'f000ull}}));
    r.put(4, Command::make(Opcode::PREFETCH_CONFIG, {{cmd::SID, 0xffffffff}}));  // SMMUEN=0, beyond the table
    r.put(5, Command::make(Opcode::SYNC, {{cmd::CS, 1}}));  // CS=IRQ with MSIAddr 0: no MSI
    r.wr(reg::CMDQ_PROD, 6);
    CHECK(r.run() == 6);
    CHECK(r.core.stats().command_errors == 0);
    CHECK(r.core.stats().invalidated_entries == 0);
    CHECK(r.core.stats().sync_msis == 0);
    CHECK(r.rd(reg::GERROR) == 0);
}

// ---------------------------------------------------------------- page tables

namespace {
// SID 1: S2 only, 48-bit IPA (S2T0SZ=16, S2SL0=2: start level 0), 4K, S2PS 48 bits.
void s2_ste(Rig& r) {
    const uint64_t ste = kStrtab + 64;
    r.w64(ste, 0x1 | (6ull << 1));
    r.w64(ste + 16, 1 | (16ull << 32) | (2ull << 38) | (5ull << 48) | (1ull << 51));
    r.w64(ste + 24, kS2L0);
}
}  // namespace

TEST_CASE("A table that points to itself ends after the last level", "[robustness][walker]") {
    Rig r;
    r.translate_on();
    s2_ste(r);
    r.w64(kS2L0, kS2L0 | 3);  // L0[0] -> itself; read again as L1, L2, then as a level-3 page (AF=0)
    const TranslationResult t = r.translate(1, 0x0);
    CHECK(t.fault.id == EventId::F_ACCESS);
    CHECK(r.last_walk_reads == 4);
}

TEST_CASE("A block descriptor where the granule allows none is a translation fault", "[robustness][walker]") {
    Rig r;
    r.translate_on();
    s2_ste(r);
    r.w64(kS2L0 + 8, (1ull << 39) | 0x4C1);  // L0[1]: a 512 GiB "block" (none at level 0 with 4K)
    const TranslationResult t = r.translate(1, 1ull << 39);
    CHECK(t.fault.id == EventId::F_TRANSLATION);
    CHECK(r.last_walk_reads == 1);
}
