// The command and event queues as software sees them through SmmuCore: registers
// programmed by hand, commands and records in SparseMemory (IHI 0070 4, 7).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

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
constexpr uint64_t kMsi = 0x50000;

uint8_t op(Opcode o) { return static_cast<uint8_t>(o); }

Command raw_opcode(uint8_t opcode) {
    Command c;
    c.set(cmd::opcode, opcode);
    return c;
}

struct Rig {
    SparseMemory mem;
    SmmuCore core;
    explicit Rig(unsigned pa_bits = 48, const SmmuCoreParams& p = {}) : mem(pa_bits), core(mem, p) {}

    uint64_t rd(uint32_t off, unsigned size = 4) const {
        uint64_t v = 0;
        REQUIRE(core.mmio_read(off, size, v) == MmioStatus::Ok);
        return v;
    }
    void wr(uint32_t off, uint64_t v, unsigned size = 4) {
        WriteEffect e;
        REQUIRE(core.mmio_write(off, size, v, e) == MmioStatus::Ok);
    }
    const SmmuStats& stats() const { return core.stats(); }

    // Command queue of 2^log2 entries at `base`, enabled.
    void cmdq_on(unsigned log2 = 2, uint64_t base = kCmdq) {
        wr(reg::CMDQ_BASE, base | log2, 8);
        wr(reg::CMDQ_PROD, 0);
        wr(reg::CMDQ_CONS, 0);
        wr(reg::CR0, rd(reg::CR0) | cr0::CMDQEN.mask());
    }
    void put(unsigned index, const Command& c, uint64_t base = kCmdq) {
        REQUIRE(mem.write_words(base + uint64_t{index} * Command::kBytes, c.w.data(), Command::kDwords));
    }
    unsigned run() {
        unsigned n = 0;
        while (core.cmdq_pending()) {
            core.cmdq_step();
            REQUIRE(++n < 1000);
        }
        return n;
    }
    uint32_t cons() const { return static_cast<uint32_t>(rd(reg::CMDQ_CONS)); }
    uint32_t gerror() const { return static_cast<uint32_t>(rd(reg::GERROR)); }
    uint32_t gerrorn() const { return static_cast<uint32_t>(rd(reg::GERRORN)); }

    // SMMUEN with a 16-entry linear stream table of invalid STEs and an event
    // queue of 2^log2 records; CR2.RECINVSID as Linux sets it.
    void translate_on(unsigned evq_log2 = 2) {
        wr(reg::CR2, 0x2);
        wr(reg::STRTAB_BASE, kStrtab, 8);
        wr(reg::STRTAB_BASE_CFG, 4);
        wr(reg::EVENTQ_BASE, kEventq | evq_log2, 8);
        wr(reg::EVENTQ_PROD, 0);
        wr(reg::EVENTQ_CONS, 0);
        wr(reg::CR0, cr0::SMMUEN.mask() | cr0::EVTQEN.mask());
    }
    TranslationResult translate(uint32_t sid, uint64_t iova = 0x1000, bool write = false) {
        TranslationRequest req;
        req.sid = sid;
        req.iova = iova;
        req.write = write;
        AccessLog log;
        return core.translate(req, log);
    }
    EventRecord event_at(unsigned index) {
        EventRecord e;
        REQUIRE(mem.read_words(kEventq + uint64_t{index} * EventRecord::kBytes, e.w.data(), EventRecord::kDwords));
        return e;
    }
    uint32_t evq_prod() const { return static_cast<uint32_t>(rd(reg::EVENTQ_PROD)); }
    uint32_t read32(uint64_t pa) {
        uint32_t v = 0;
        REQUIRE(mem.read(pa, &v, 4));
        return v;
    }
};

}  // namespace

// ---------------------------------------------------------------- command queue

TEST_CASE("Commands are consumed in order and CMDQ_CONS wraps", "[cmdq]") {
    Rig r;
    r.cmdq_on(2);  // 4 entries
    CHECK_FALSE(r.core.cmdq_pending());
    CHECK(r.core.cmdq_step().kind == CommandQueue::Step::Kind::Idle);

    for (unsigned i = 0; i < 4; ++i) r.put(i, Command::make(Opcode::CFGI_STE, {{cmd::SID, i}}));
    r.wr(reg::CMDQ_PROD, 4);  // index 0, wrap 1: the queue is full
    for (uint32_t i = 0; i < 4; ++i) {
        REQUIRE(r.core.cmdq_pending());
        const CommandQueue::Step s = r.core.cmdq_step();
        CHECK(s.kind == CommandQueue::Step::Kind::Executed);
        CHECK(s.cmd.opcode() == op(Opcode::CFGI_STE));
        CHECK(s.cmd.get(cmd::SID) == i);
        CHECK(r.cons() == i + 1);
    }
    CHECK(r.cons() == 4);  // wrap 1, index 0
    CHECK_FALSE(r.core.cmdq_pending());

    // Three more from index 0 with wrap 1.
    for (unsigned i = 0; i < 3; ++i) r.put(i, Command::make(Opcode::TLBI_NH_ASID, {{cmd::ASID, i}}));
    r.wr(reg::CMDQ_PROD, 7);
    CHECK(r.run() == 3);
    CHECK(r.cons() == 7);

    // Index 3 then index 0 again: the wrap bit goes back to 0.
    r.put(3, Command::make(Opcode::TLBI_NSNH_ALL));
    r.put(0, Command::make(Opcode::SYNC));
    r.wr(reg::CMDQ_PROD, 1);
    r.core.cmdq_step();
    CHECK(r.cons() == 0);
    r.core.cmdq_step();
    CHECK(r.cons() == 1);
    CHECK_FALSE(r.core.cmdq_pending());

    CHECK(r.stats().commands[op(Opcode::CFGI_STE)] == 4);
    CHECK(r.stats().commands[op(Opcode::TLBI_NH_ASID)] == 3);
    CHECK(r.stats().commands[op(Opcode::TLBI_NSNH_ALL)] == 1);
    CHECK(r.stats().commands[op(Opcode::SYNC)] == 1);
    uint64_t total = 0;
    for (uint64_t n : r.stats().commands) total += n;
    CHECK(total == 9);
    CHECK(r.stats().command_errors == 0);
    CHECK(r.gerror() == 0);
}

TEST_CASE("Nothing is consumed while CMDQEN=0", "[cmdq]") {
    Rig r;
    r.wr(reg::CMDQ_BASE, kCmdq | 2, 8);
    r.put(0, Command::make(Opcode::SYNC));
    r.wr(reg::CMDQ_PROD, 1);
    CHECK_FALSE(r.core.cmdq_pending());
    CHECK(r.core.cmdq_step().kind == CommandQueue::Step::Kind::Idle);
    CHECK(r.cons() == 0);
    r.wr(reg::CR0, cr0::CMDQEN.mask());
    CHECK(r.run() == 1);
    CHECK(r.cons() == 1);
}

TEST_CASE("An illegal command stops the queue with CERROR_ILL until GERRORN acknowledges", "[cmdq]") {
    Command bad;
    SECTION("undefined opcode 0x7f") { bad = raw_opcode(0x7f); }
    SECTION("SSec=1 on the Non-secure queue") { bad = Command::make(Opcode::CFGI_STE, {{cmd::SSec, 1}}); }
    SECTION("TLBI_EL3_ALL") { bad = Command::make(Opcode::TLBI_EL3_ALL); }
    SECTION("TLBI_EL3_VA") { bad = Command::make(Opcode::TLBI_EL3_VA); }
    SECTION("PRI_RESP without IDR0.PRI") { bad = Command::make(Opcode::PRI_RESP); }
    SECTION("SYNC with reserved CS=3") { bad = Command::make(Opcode::SYNC, {{cmd::CS, 3}}); }
    SECTION("opcode 0") { bad = raw_opcode(0); }
    CAPTURE(bad.opcode());

    Rig r;
    r.cmdq_on(2);
    r.put(0, Command::make(Opcode::TLBI_NSNH_ALL));
    r.put(1, bad);
    r.put(2, Command::make(Opcode::CFGI_STE_RANGE, {{cmd::Range, 31}}));
    r.put(3, Command::make(Opcode::SYNC));
    r.wr(reg::CMDQ_PROD, 4);

    CommandQueue::Step s = r.core.cmdq_step();
    CHECK(s.kind == CommandQueue::Step::Kind::Executed);
    s = r.core.cmdq_step();
    CHECK(s.kind == CommandQueue::Step::Kind::Error);
    CHECK(s.error == CmdqError::Ill);
    CHECK(s.cmd == bad);

    // CONS stays on the bad command, ERR = CERROR_ILL, GERROR.CMDQ_ERR toggled.
    CHECK(r.cons() == ((1u << 24) | 1));
    CHECK(r.gerror() == 1);
    CHECK(r.gerrorn() == 0);
    CHECK(r.stats().command_errors == 1);
    CHECK(r.stats().commands[op(Opcode::TLBI_NSNH_ALL)] == 1);
    CHECK(r.stats().commands[op(Opcode::CFGI_STE_RANGE)] == 0);
    CHECK(r.stats().commands[op(Opcode::SYNC)] == 0);

    // Stopped: no progress on step, on a new PROD write, nor may software move CONS.
    CHECK_FALSE(r.core.cmdq_pending());
    CHECK(r.core.cmdq_step().kind == CommandQueue::Step::Kind::Idle);
    r.wr(reg::CMDQ_PROD, 4);
    CHECK(r.run() == 0);
    r.wr(reg::CMDQ_CONS, 2);  // CMDQEN=1: ignored
    CHECK(r.cons() == ((1u << 24) | 1));
    CHECK(r.stats().commands[op(Opcode::CFGI_STE_RANGE)] == 0);

    // Software replaces the bad command, then acknowledges: GERRORN = GERROR.
    r.put(1, Command::make(Opcode::CFGI_STE, {{cmd::SID, 9}}));
    r.wr(reg::GERRORN, 1);
    CHECK(r.core.cmdq_pending());
    CHECK(r.run() == 3);
    CHECK((r.cons() & 0xfffff) == 4);
    CHECK(r.stats().commands[op(Opcode::CFGI_STE)] == 1);
    CHECK(r.stats().commands[op(Opcode::CFGI_STE_RANGE)] == 1);
    CHECK(r.stats().commands[op(Opcode::SYNC)] == 1);
    CHECK(r.stats().command_errors == 1);

    // A second error toggles GERROR.CMDQ_ERR back to 0: active again (≠ GERRORN).
    r.put(0, bad);
    r.wr(reg::CMDQ_PROD, 5);
    s = r.core.cmdq_step();
    CHECK(s.kind == CommandQueue::Step::Kind::Error);
    CHECK(r.gerror() == 0);
    CHECK(r.gerrorn() == 1);
    CHECK(r.core.regs().cmdq_error_active());
    CHECK(r.cons() == ((1u << 24) | 4));
    CHECK(r.stats().command_errors == 2);
    r.put(0, Command::make(Opcode::SYNC));
    r.wr(reg::GERRORN, 0);
    CHECK(r.run() == 1);
    CHECK((r.cons() & 0xfffff) == 5);
}

TEST_CASE("Commands for features the ID registers say are absent are illegal", "[cmdq]") {
    SmmuCaps none;
    none.s1p = none.s2p = none.ats = false;  // and STALL_MODEL 0b01 (terminate only), the default
    SmmuCaps all;
    all.stall_model = 0;
    struct Case {
        Command c;
        bool legal_all, legal_none;
    };
    const std::vector<Case> cases{
        {Command::make(Opcode::TLBI_S2_IPA), true, false},
        {Command::make(Opcode::TLBI_S12_VMALL), true, false},
        {Command::make(Opcode::TLBI_NH_ALL), true, false},
        {Command::make(Opcode::TLBI_NH_ASID), true, false},
        {Command::make(Opcode::TLBI_NH_VA), true, false},
        {Command::make(Opcode::TLBI_NH_VAA), true, false},
        {Command::make(Opcode::ATC_INV), true, false},
        {Command::make(Opcode::CFGI_STE), true, true},
        {Command::make(Opcode::CFGI_CD_ALL), true, true},
        {Command::make(Opcode::TLBI_EL2_ALL), true, true},
        {Command::make(Opcode::TLBI_NSNH_ALL), true, true},
        {Command::make(Opcode::PREFETCH_CONFIG), true, true},
        // IHI 0070 4.7.1, 4.7.2: CERROR_ILL with STALL_MODEL 0b01.
        {Command::make(Opcode::RESUME), true, false},
        {Command::make(Opcode::RESUME, {{cmd::Action, 3}}), true, false},  // Ac=1: Retry, Ab IGNORED
        {Command::make(Opcode::STALL_TERM), true, false},
        {Command::make(Opcode::SYNC, {{cmd::CS, 2}}), true, true},
        {Command::make(Opcode::PRI_RESP), false, false},
        {Command::make(Opcode::TLBI_EL3_ALL), false, false},
        {raw_opcode(0x07), false, false},
        {raw_opcode(0xff), false, false},
    };
    for (const Case& k : cases) {
        CAPTURE(k.c.opcode());
        CHECK(command_is_legal(k.c, all) == k.legal_all);
        CHECK(command_is_legal(k.c, none) == k.legal_none);
    }

    // Through the queue: TLBI_S2_IPA on an SMMU without stage 2.
    SmmuCoreParams p;
    p.caps.s2p = false;
    Rig r(48, p);
    r.cmdq_on(2);
    r.put(0, Command::make(Opcode::TLBI_S2_IPA));
    r.wr(reg::CMDQ_PROD, 1);
    CHECK(r.run() == 1);
    CHECK(r.cons() == (1u << 24));
    CHECK(r.gerror() == 1);
}

TEST_CASE("A command fetch that aborts stops the queue with CERROR_ABT", "[cmdq]") {
    Rig r(20);  // 1 MiB of physical address space
    r.cmdq_on(2, 0x100000);
    r.wr(reg::CMDQ_PROD, 1);
    const CommandQueue::Step s = r.core.cmdq_step();
    CHECK(s.kind == CommandQueue::Step::Kind::Error);
    CHECK(s.error == CmdqError::Abt);
    CHECK(r.cons() == (2u << 24));
    CHECK(r.gerror() == 1);
    CHECK(r.stats().command_errors == 1);
    CHECK_FALSE(r.core.cmdq_pending());
    uint64_t total = 0;
    for (uint64_t n : r.stats().commands) total += n;
    CHECK(total == 0);
}

TEST_CASE("CMD_SYNC with CS=IRQ writes MSIData to MSIAddr", "[cmdq]") {
    Rig r;
    r.cmdq_on(3);
    const uint64_t pattern = 0x1111'2222'3333'4444ull;
    REQUIRE(r.mem.write64(kMsi, pattern));
    REQUIRE(r.mem.write64(kMsi + 0x40, pattern));

    r.put(0, Command::make(Opcode::SYNC, {{cmd::CS, 1}, {cmd::MSIAddr, kMsi}, {cmd::MSIData, 0xdeadbeef}}));
    r.wr(reg::CMDQ_PROD, 1);
    CHECK(r.run() == 1);
    uint64_t v = 0;
    REQUIRE(r.mem.read64(kMsi, v));
    CHECK(v == 0x1111'2222'dead'beefull);  // a 32-bit write: the upper word is untouched
    CHECK(r.stats().sync_msis == 1);

    // SEV, none, and IRQ with no address: no write.
    r.put(1, Command::make(Opcode::SYNC, {{cmd::CS, 2}, {cmd::MSIAddr, kMsi + 0x40}, {cmd::MSIData, 1}}));
    r.put(2, Command::make(Opcode::SYNC, {{cmd::CS, 0}, {cmd::MSIAddr, kMsi + 0x40}, {cmd::MSIData, 2}}));
    r.put(3, Command::make(Opcode::SYNC, {{cmd::CS, 1}, {cmd::MSIData, 3}}));
    r.wr(reg::CMDQ_PROD, 4);
    CHECK(r.run() == 3);
    REQUIRE(r.mem.read64(kMsi + 0x40, v));
    CHECK(v == pattern);
    CHECK(r.stats().sync_msis == 1);
    CHECK(r.stats().commands[op(Opcode::SYNC)] == 4);
    CHECK(r.gerror() == 0);

    // An MSI that aborts: GERROR.MSI_CMDQ_ABT_ERR, the queue carries on.
    r.put(4, Command::make(Opcode::SYNC, {{cmd::CS, 1}, {cmd::MSIAddr, 1ull << 50}, {cmd::MSIData, 4}}));
    r.put(5, Command::make(Opcode::TLBI_NSNH_ALL));
    r.wr(reg::CMDQ_PROD, 6);
    CHECK(r.run() == 2);
    CHECK(r.cons() == 6);
    CHECK(r.gerror() == gerror::MSI_CMDQ_ABT_ERR.mask());
    CHECK(r.stats().sync_msis == 1);
    CHECK(r.stats().command_errors == 0);
}

TEST_CASE("CMD_SYNC's MSI is written when it completes, with CMDQ_CONS, after the commands before it",
          "[cmdq]") {
    // The SystemC shell's way (defer_cons): the SYNC is read and executed,
    // and completes later (SmmuCore::cmdq_complete at its modelled time).
    Rig r;
    r.cmdq_on(3);
    const uint64_t pattern = 0x1111'2222'3333'4444ull;
    REQUIRE(r.mem.write64(kMsi, pattern));
    r.put(0, Command::make(Opcode::TLBI_NSNH_ALL));
    r.put(1, Command::make(Opcode::SYNC, {{cmd::CS, 1}, {cmd::MSIAddr, kMsi}, {cmd::MSIData, 0}}));
    r.wr(reg::CMDQ_PROD, 2);
    Cycle done = 0;
    REQUIRE(r.core.cmdq_step(10, &done, true).kind == CommandQueue::Step::Kind::Executed);
    r.core.cmdq_complete(done);
    CHECK(r.cons() == 1);
    REQUIRE(r.core.cmdq_step(done, &done, true).kind == CommandQueue::Step::Kind::Executed);
    // Executed, not complete: the earlier TLBI's effect is in, the MSI word
    // and CONS are as they were (Linux's __arm_smmu_cmdq_poll_until_msi
    // polling the word must not see the SYNC done before CONS would say so).
    CHECK(r.stats().commands[op(Opcode::TLBI_NSNH_ALL)] == 1);
    CHECK(r.stats().commands[op(Opcode::SYNC)] == 1);
    uint64_t v = 0;
    REQUIRE(r.mem.read64(kMsi, v));
    CHECK(v == pattern);
    CHECK(r.cons() == 1);
    CHECK(r.stats().sync_msis == 0);
    CHECK_FALSE(r.core.cmdq_pending());  // in flight
    // Complete: the MSI and CONS together.
    r.core.cmdq_complete(done);
    REQUIRE(r.mem.read64(kMsi, v));
    CHECK(v == 0x1111'2222'0000'0000ull);
    CHECK(r.cons() == 2);
    CHECK(r.stats().sync_msis == 1);
    // A second completion has nothing left to write.
    REQUIRE(r.mem.write64(kMsi, pattern));
    r.core.cmdq_complete(done);
    REQUIRE(r.mem.read64(kMsi, v));
    CHECK(v == pattern);
    CHECK(r.stats().sync_msis == 1);
}

// ------------------------------------------------------------------ event queue

TEST_CASE("Faults land in the event queue and EVENTQ_PROD wraps", "[eventq]") {
    Rig r;
    r.translate_on(2);  // 4 records
    // An SID beyond STRTAB_BASE_CFG.LOG2SIZE (16 STEs).
    TranslationResult t = r.translate(0x100, 0x1234'5000, true);
    CHECK(t.outcome == TranslationResult::Outcome::Faulted);
    CHECK(t.fault.id == EventId::C_BAD_STREAMID);
    CHECK(r.evq_prod() == 1);
    EventRecord e = r.event_at(0);
    CHECK(e.w[0] == ((uint64_t{0x100} << 32) | 0x02));
    CHECK(e.w[1] == 0);
    CHECK(e.w[2] == 0);
    CHECK(e.w[3] == 0);
    CHECK(e.get(evt::SID) == 0x100);

    // SID 3 is in range but its STE is V=0: C_BAD_STE.
    t = r.translate(3);
    CHECK(t.fault.id == EventId::C_BAD_STE);
    CHECK(r.evq_prod() == 2);
    CHECK(r.event_at(1).w[0] == ((uint64_t{3} << 32) | 0x04));

    r.translate(0x101);
    r.translate(0x102);
    CHECK(r.evq_prod() == 4);  // index 0, wrap 1
    CHECK(r.event_at(2).get(evt::SID) == 0x101);
    CHECK(r.event_at(3).get(evt::SID) == 0x102);
    CHECK(r.event_at(3).id() == 0x02);

    // Software consumes all four; the next records go to index 0, 1 with wrap 1.
    r.wr(reg::EVENTQ_CONS, 4);
    r.translate(0x103);
    r.translate(0x104);
    CHECK(r.evq_prod() == 6);
    CHECK(r.event_at(0).get(evt::SID) == 0x103);
    CHECK(r.event_at(1).get(evt::SID) == 0x104);
    r.wr(reg::EVENTQ_CONS, 6);
    r.translate(0x105);
    r.translate(0x106);
    r.translate(0x107);
    CHECK(r.evq_prod() == 1);  // wrapped back to wrap 0
    CHECK(r.event_at(0).get(evt::SID) == 0x107);

    CHECK(r.stats().events[0x02] == 8);
    CHECK(r.stats().events[0x04] == 1);
    CHECK(r.stats().faults == 9);
    CHECK(r.stats().transactions == 9);
    CHECK(r.stats().events_dropped_overflow == 0);
    CHECK(r.stats().events_dropped_disabled == 0);
}

TEST_CASE("A full event queue drops records and flags the overflow once", "[eventq]") {
    Rig r;
    r.translate_on(2);
    for (uint32_t i = 0; i < 4; ++i) r.translate(0x200 + i);
    CHECK(r.evq_prod() == 4);  // full: CONS still 0

    r.translate(0x300);
    CHECK(r.evq_prod() == 0x8000'0004u);  // OVFLG toggled, nothing written
    CHECK(r.stats().events_dropped_overflow == 1);
    r.translate(0x301);
    r.translate(0x302);
    CHECK(r.evq_prod() == 0x8000'0004u);  // not again while unacknowledged
    CHECK(r.stats().events_dropped_overflow == 3);
    CHECK(r.event_at(0).get(evt::SID) == 0x200);  // the oldest record is intact
    CHECK(r.stats().events[0x02] == 4);
    CHECK(r.stats().faults == 7);

    SECTION("space freed without acknowledging: records resume, OVFLG stays") {
        r.wr(reg::EVENTQ_CONS, 1);
        r.translate(0x400);
        CHECK(r.evq_prod() == 0x8000'0005u);
        CHECK(r.event_at(0).get(evt::SID) == 0x400);
        r.translate(0x401);  // full again (PROD 5 vs CONS 1)
        CHECK(r.evq_prod() == 0x8000'0005u);
        CHECK(r.stats().events_dropped_overflow == 4);
    }
    SECTION("acknowledged (OVACKFLG = OVFLG) and freed: records resume, a new overflow toggles again") {
        r.wr(reg::EVENTQ_CONS, 0x8000'0002u);
        r.translate(0x400);
        r.translate(0x401);
        CHECK(r.evq_prod() == 0x8000'0006u);
        CHECK(r.event_at(0).get(evt::SID) == 0x400);
        CHECK(r.event_at(1).get(evt::SID) == 0x401);
        CHECK(r.event_at(2).get(evt::SID) == 0x202);  // not yet consumed, not overwritten
        r.translate(0x402);  // full: PROD 6 (wrap 1, index 2) vs CONS 2
        CHECK(r.evq_prod() == 0x0000'0006u);  // a new overflow: OVFLG toggles back
        CHECK(r.stats().events_dropped_overflow == 4);
        CHECK(r.stats().events[0x02] == 6);
    }
}

TEST_CASE("With EVTQEN=0 events are dropped and counted", "[eventq]") {
    Rig r;
    r.translate_on(2);
    r.wr(reg::CR0, cr0::SMMUEN.mask());
    const TranslationResult t = r.translate(0x100);
    CHECK(t.outcome == TranslationResult::Outcome::Faulted);
    CHECK(r.stats().events_dropped_disabled == 1);
    CHECK(r.stats().events[0x02] == 0);
    CHECK(r.evq_prod() == 0);
    CHECK(r.event_at(0).w[0] == 0);
}

TEST_CASE("CR2.RECINVSID=0: C_BAD_STREAMID is not recorded, other events are", "[eventq]") {
    Rig r;
    r.translate_on(2);
    r.wr(reg::CR2, 0);
    TranslationResult t = r.translate(0x100);
    CHECK(t.outcome == TranslationResult::Outcome::Faulted);  // still terminated
    CHECK(t.fault.id == EventId::C_BAD_STREAMID);
    CHECK(r.evq_prod() == 0);
    CHECK(r.stats().events[0x02] == 0);
    CHECK(r.stats().faults == 1);
    t = r.translate(1);
    CHECK(t.fault.id == EventId::C_BAD_STE);
    CHECK(r.evq_prod() == 1);
    CHECK(r.event_at(0).id() == 0x04);
}

TEST_CASE("Event queue MSI: IRQ_CTRL.EVTQ_IRQEN with EVENTQ_IRQ_CFG0/1", "[eventq]") {
    Rig r;
    r.translate_on(2);
    REQUIRE(r.mem.write64(kMsi, 0xffff'ffff'ffff'ffffull));
    r.wr(reg::EVENTQ_IRQ_CFG0, kMsi, 8);
    r.wr(reg::EVENTQ_IRQ_CFG1, 0x1234'abcd);
    r.translate(0x100);  // IRQ not enabled yet
    CHECK(r.read32(kMsi) == 0xffff'ffffu);
    CHECK(r.stats().event_msis == 0);

    r.wr(reg::IRQ_CTRL, irq_ctrl::EVTQ_IRQEN.mask());
    r.translate(0x101);
    CHECK(r.read32(kMsi) == 0x1234'abcdu);
    CHECK(r.read32(kMsi + 4) == 0xffff'ffffu);
    CHECK(r.stats().event_msis == 1);
    CHECK(r.evq_prod() == 2);

    // No MSI for a dropped record.
    r.wr(reg::CR0, cr0::SMMUEN.mask());
    REQUIRE(r.mem.write64(kMsi, 0));
    r.translate(0x102);
    CHECK(r.read32(kMsi) == 0);
    CHECK(r.stats().event_msis == 1);

    // An MSI that aborts: the record is written, GERROR.MSI_EVTQ_ABT_ERR.
    r.wr(reg::CR0, cr0::SMMUEN.mask() | cr0::EVTQEN.mask());
    r.wr(reg::EVENTQ_IRQ_CFG0, 1ull << 50, 8);
    r.translate(0x103);
    CHECK(r.evq_prod() == 3);
    CHECK(r.stats().event_msis == 1);
    CHECK(r.rd(reg::GERROR) == gerror::MSI_EVTQ_ABT_ERR.mask());
}

TEST_CASE("An event write that aborts raises GERROR.EVTQ_ABT_ERR", "[eventq]") {
    Rig r(20);
    r.translate_on(2);
    r.wr(reg::CR0, 0);
    r.wr(reg::EVENTQ_BASE, 0x100000 | 2, 8);  // beyond the 1 MiB address space
    r.wr(reg::CR0, cr0::SMMUEN.mask() | cr0::EVTQEN.mask());
    r.translate(0x100);
    CHECK(r.rd(reg::GERROR) == gerror::EVTQ_ABT_ERR.mask());
    CHECK(r.evq_prod() == 0);
    CHECK(r.stats().events[0x02] == 0);
}

TEST_CASE("SMMUEN=0: GBPA bypasses by default and aborts with GBPA.ABORT, without events", "[eventq]") {
    Rig r;
    r.translate_on(2);
    r.wr(reg::CR0, cr0::EVTQEN.mask());  // SMMUEN=0, event queue on
    TranslationResult t = r.translate(0x100, 0x1234'5678'9abcull, true);
    CHECK(t.outcome == TranslationResult::Outcome::Bypassed);
    CHECK(t.pa == 0x1234'5678'9abcull);
    CHECK(t.ok());
    CHECK(r.stats().bypassed == 1);
    AccessLog log;
    TranslationRequest req;
    req.sid = 5;
    req.iova = 0x4000;
    t = r.core.translate(req, log);
    CHECK(t.pa == 0x4000);
    CHECK(log.config_reads == 0);
    CHECK(log.walk_reads == 0);

    r.wr(reg::GBPA, gbpa::ABORT.mask());  // without UPDATE: no effect
    CHECK(r.translate(0x100).outcome == TranslationResult::Outcome::Bypassed);
    r.wr(reg::GBPA, gbpa::UPDATE.mask() | gbpa::ABORT.mask());
    t = r.translate(0x100, 0x2000);
    CHECK(t.outcome == TranslationResult::Outcome::Aborted);
    CHECK_FALSE(t.records_event());
    CHECK(r.stats().aborted == 1);
    CHECK(r.stats().faults == 0);
    CHECK(r.evq_prod() == 0);
    CHECK(r.stats().events_dropped_disabled == 0);
}
