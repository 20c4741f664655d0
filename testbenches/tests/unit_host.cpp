// The host driver model over DirectBus: Linux's reset sequence, the tables it
// builds for each attach mode, and what SmmuCore translates through them.
#include <catch2/catch.hpp>

#include "config_builders.h"
#include "smmu_fixtures.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/registers.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/smmu_core.h"
#include "testbenches/config/config.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/model_params.h"
#include "testbenches/host/direct_bus.h"
#include "testbenches/host/host_driver.h"
#include "driver/io_pgtable/io_pgtable_arm.h"

using namespace smmu;
using namespace smmu::arch;
using namespace smmu::sim;
using Outcome = TranslationResult::Outcome;

using namespace smmu_test;

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kTableBase = 0x4000'0000;

uint8_t op(Opcode o) { return static_cast<uint8_t>(o); }

VmConfig vm(std::string name, unsigned ias, std::vector<Mapping> maps) {
    VmConfig v;
    v.name = std::move(name);
    v.s2.ias = ias;
    v.map = std::move(maps);
    return v;
}

// Small SID space so the linear stream table stays small.
Config base_config() {
    Config c;
    c.smmu.sid_bits = 8;
    c.memory.pa_bits = 48;
    c.memory.table_base = kTableBase;
    c.memory.table_size = 64 * kMiB;
    return c;
}

// The four-modes platform: bypass, s1, s2 and nested devices, plus an aborted one.
Config modes_config() {
    Config c = base_config();
    // IPA 0x8000_0000: a 2 MiB block (page = 0: the largest that fits); 0x8020_0000: 4K pages.
    c.vms.push_back(vm("vm0", 48,
                       {map(0x8000'0000, 0x1'0000'0000, 2 * kMiB), map(0x8020'0000, 0x1'0040'0000, 0x4000, 0x1000)}));
    c.vms.push_back(vm("vm40", 40, {map(0x1000'0000, 0x3'0000'0000, 0x10000)}));
    c.devices.push_back(device("nic", 1, AttachMode::Bypass));
    c.devices.push_back(device(
        "gpu", 2, AttachMode::S1, "",
        {context(0, 1, {map(0x1000'0000, 0x2'0000'0000, 0x4000), map(0x4000'0000, 0x2'4000'0000, 2 * kMiB)})}));
    c.devices.push_back(device("disk", 3, AttachMode::S2, "vm0"));
    c.devices.push_back(device("vf", 4, AttachMode::Nested, "vm0", {context(0, 7, {map(0x10'0000, 0x8020'0000, 0x2000)})}));
    c.devices.push_back(device("dead", 5, AttachMode::Abort));
    c.devices.push_back(device("small", 6, AttachMode::S2, "vm40"));
    return c;
}

struct Platform : HostBench {
    using HostBench::HostBench;
    const SmmuStats& stats() const { return core.stats(); }

    struct Result {
        TranslationResult r;
        AccessLog log;
    };
    Result translate(uint32_t sid, uint64_t iova, bool write = false, std::optional<uint32_t> ssid = {}) {
        TranslationRequest req;
        req.sid = sid;
        req.iova = iova;
        req.write = write;
        if (ssid) {
            req.ssv = true;
            req.ssid = *ssid;
        }
        Result res;
        res.r = core.translate(req, res.log);
        return res;
    }
};

}  // namespace

TEST_CASE("reset() runs Linux's sequence: queues, stream table, CR0 = SMMUEN|EVTQEN|CMDQEN|ATSCHK", "[host]") {
    Platform p(base_config());
    p.drv.reset();

    CHECK(p.rd(reg::CR0) == 0x1d);  // ATSCHK: IDR0.ATS (arm_smmu_device_reset)
    CHECK(p.rd(reg::CR0ACK) == 0x1d);
    CHECK(p.rd(reg::CR1) == 0xd75);  // tables and queues inner-shareable write-back
    CHECK(p.rd(reg::CR2) == 0x6);    // RECINVSID | PTM
    CHECK(p.rd(reg::IRQ_CTRL) == 0x5);
    CHECK(p.rd(reg::IRQ_CTRLACK) == 0x5);
    CHECK(p.rd(reg::GERROR) == 0);
    CHECK(p.rd(reg::GERRORN) == 0);

    // Arena layout: stream table (256 STEs = 16 KiB), command queue (256 x 16 B),
    // event queue (128 x 32 B), each aligned to its size.
    const uint64_t ra = 1ull << 62;
    CHECK(p.rd(reg::STRTAB_BASE, 8) == (ra | kTableBase));
    CHECK(p.rd(reg::STRTAB_BASE_CFG) == 8);  // linear, LOG2SIZE = SIDSIZE
    CHECK(p.rd(reg::CMDQ_BASE, 8) == (ra | (kTableBase + 0x4000) | 8));
    CHECK(p.rd(reg::EVENTQ_BASE, 8) == (ra | (kTableBase + 0x5000) | 7));
    CHECK(p.drv.ste_address(3) == kTableBase + 3 * 64);

    const SmmuStats& s = p.stats();
    CHECK(s.commands[op(Opcode::CFGI_STE_RANGE)] == 1);  // CFGI_ALL
    CHECK(s.commands[op(Opcode::TLBI_EL2_ALL)] == 1);
    CHECK(s.commands[op(Opcode::TLBI_NSNH_ALL)] == 1);
    CHECK(s.commands[op(Opcode::SYNC)] == 3);
    uint64_t total = 0;
    for (uint64_t n : s.commands) total += n;
    CHECK(total == 6);
    CHECK(s.command_errors == 0);
    CHECK(s.sync_msis == 3);  // ARM_SMMU_OPT_MSIPOLL: each SYNC signals by MSI to its own slot
    CHECK(p.drv.commands_submitted() == 6);
    CHECK(p.rd(reg::CMDQ_PROD) == 6);
    CHECK(p.rd(reg::CMDQ_CONS) == 6);
    CHECK(p.rd(reg::EVENTQ_PROD) == 0);
    CHECK(p.rd(reg::EVENTQ_CONS) == 0);
}

TEST_CASE("reset() clamps the queues to IDR1 and rejects stages the SMMU lacks", "[host]") {
    SECTION("queue sizes") {
        Config c = base_config();
        c.smmu.cmdq_log2size = 12;
        c.smmu.eventq_log2size = 12;
        SparseMemory mem(48);
        SmmuCoreParams params = core_params(c);
        params.cmdq_max_log2 = 5;
        params.eventq_max_log2 = 4;
        SmmuCore core(mem, params);
        DirectBus bus(core, mem);
        HostDriver drv(bus, c);
        drv.reset();
        CHECK((bus.mmio_read(reg::CMDQ_BASE, 8) & 0x1f) == 5);
        CHECK((bus.mmio_read(reg::EVENTQ_BASE, 8) & 0x1f) == 4);
        CHECK(core.stats().commands[op(Opcode::SYNC)] == 3);
    }
    SECTION("no stage 2") {
        Config c = modes_config();
        SparseMemory mem(48);
        SmmuCoreParams params = core_params(c);
        params.caps.s2p = false;
        SmmuCore core(mem, params);
        DirectBus bus(core, mem);
        HostDriver drv(bus, c);
        REQUIRE_THROWS_AS(drv.reset(), HostError);
        REQUIRE_THROWS_WITH(drv.reset(), Catch::Contains("disk") && Catch::Contains("IDR0"));
    }
}

TEST_CASE("install(): STE updates as arm_smmu_write_entry makes them, translations follow the config", "[host]") {
    Platform p(modes_config());
    p.drv.reset();
    p.drv.install();
    const SmmuStats& s = p.stats();
    // From the initial abort STEs: bypass changes qword 0 only (1 CFGI_STE + SYNC),
    // S1/S2/nested change unused qwords then qword 0 (2 each), the aborted
    // device's STE is already right (0); the S1 device's CD 0 takes 2 CFGI_CD.
    // Each STE write ends with CMD_PREFETCH_CONFIG (no SYNC).
    CHECK(s.commands[op(Opcode::CFGI_STE)] == 1 + 2 + 2 + 2 + 0 + 2);
    CHECK(s.commands[op(Opcode::CFGI_CD)] == 2);
    CHECK(s.commands[op(Opcode::SYNC)] == 3 + 9 + 2);
    // The last PREFETCH_CONFIG is still queued: nothing waits for it.
    CHECK(s.commands[op(Opcode::PREFETCH_CONFIG)] == 5);
    p.bus.idle();
    CHECK(s.commands[op(Opcode::PREFETCH_CONFIG)] == 6);
    CHECK(s.command_errors == 0);
    CHECK(p.drv.commands_submitted() == 6 + 9 + 2 + 11 + 6);
    CHECK(p.drv.vmid("vm0") == 1);
    CHECK(p.drv.vmid("vm40") == 2);
    CHECK(p.drv.vmid("nope") == 0);

    SECTION("bypass: PA = IOVA, one STE read") {
        const auto t = p.translate(1, 0x1234'5678, true);
        CHECK(t.r.outcome == Outcome::Bypassed);
        CHECK(t.r.pa == 0x1234'5678);
        CHECK(t.log.config_reads == 1);
        CHECK(t.log.walk_reads == 0);
    }
    SECTION("s1: 4K pages, 4 walk reads + STE + CD") {
        const auto t = p.translate(2, 0x1000'2abc);
        CHECK(t.r.outcome == Outcome::Translated);
        CHECK(t.r.pa == 0x2'0000'2abc);
        CHECK(t.r.size == 0x1000);
        CHECK(t.r.s1_level == 3);
        CHECK(t.log.walk_reads == 4);
        CHECK(t.log.config_reads == 2);
        // Stage 1 writes need AP=RW: the mapping is read/write.
        CHECK(p.translate(2, 0x1000'3ff8, true).r.pa == 0x2'0000'3ff8);
    }
    SECTION("s1: page = 0 picks a 2 MiB block, 3 walk reads") {
        const auto t = p.translate(2, 0x4012'3456);
        CHECK(t.r.outcome == Outcome::Translated);
        CHECK(t.r.pa == 0x2'4012'3456);
        CHECK(t.r.size == 2 * kMiB);
        CHECK(t.r.s1_level == 2);
        CHECK(t.log.walk_reads == 3);
    }
    SECTION("s2, 48-bit IPA: 4 walk reads for a page, 3 for the 2 MiB block") {
        auto t = p.translate(3, 0x8020'1010);
        CHECK(t.r.outcome == Outcome::Translated);
        CHECK(t.r.pa == 0x1'0040'1010);
        CHECK(t.r.size == 0x1000);
        CHECK(t.r.s2_level == 3);
        CHECK(t.log.walk_reads == 4);
        CHECK(t.log.config_reads == 1);
        t = p.translate(3, 0x801f'fff0, true);
        CHECK(t.r.pa == 0x1'001f'fff0);
        CHECK(t.r.size == 2 * kMiB);
        CHECK(t.r.s2_level == 2);
        CHECK(t.log.walk_reads == 3);
    }
    SECTION("s2, 40-bit IPA: concatenated level-1 tables, 3 walk reads") {
        const auto t = p.translate(6, 0x1000'a008);
        CHECK(t.r.outcome == Outcome::Translated);
        CHECK(t.r.pa == 0x3'0000'a008);
        CHECK(t.log.walk_reads == 3);
        CHECK(t.log.config_reads == 1);
    }
    SECTION("nested: 28 walk reads + STE + CD") {
        const auto t = p.translate(4, 0x10'1abc);
        CHECK(t.r.outcome == Outcome::Translated);
        CHECK(t.r.ipa == 0x8020'1abc);
        CHECK(t.r.pa == 0x1'0040'1abc);
        CHECK(t.log.walk_reads == 28);
        CHECK(t.log.config_reads == 2);
        CHECK(p.stats().walk_reads == 28);
        CHECK(p.stats().config_reads == 2);
    }
    SECTION("abort: terminated without an event") {
        const auto t = p.translate(5, 0x1000);
        CHECK(t.r.outcome == Outcome::Aborted);
        CHECK_FALSE(t.r.records_event());
        CHECK(p.stats().aborted == 1);
        CHECK(p.rd(reg::EVENTQ_PROD) == 0);
        CHECK(p.drv.drain_events().empty());
    }
}

TEST_CASE("2-level stream table and 2-level CD table, SSID 70", "[host]") {
    Config c = base_config();
    c.smmu.sid_bits = 16;
    c.smmu.stream_table = TableFormat::TwoLevel;
    c.smmu.strtab_split = 8;
    c.smmu.cd_table = TableFormat::TwoLevel;
    c.vms.push_back(vm("vm0", 48, {map(0x8000'0000, 0x1'0000'0000, 0x10000, 0x1000)}));
    c.devices.push_back(device("acc", 0x1234, AttachMode::S1, "",
                               {context(0, 1, {map(0x1000, 0x5'0000'0000, 0x1000)}),
                                context(70, 2, {map(0x1000, 0x5'1000'0000, 0x1000)})}));
    c.devices.push_back(device("vacc", 0x2345, AttachMode::Nested, "vm0",
                               {context(0, 3, {map(0x1000, 0x8000'0000, 0x1000)}),
                                context(70, 4, {map(0x1000, 0x8000'4000, 0x1000)})}));
    Platform p(c);
    p.drv.reset();
    p.drv.install();
    CHECK(p.rd(reg::STRTAB_BASE_CFG) == ((1u << 16) | (8u << 6) | 16));
    CHECK(p.stats().command_errors == 0);

    SECTION("s1, SSID 70: L1STD, STE, L1CD, CD + 4 walk reads") {
        auto t = p.translate(0x1234, 0x1010, false, 70);
        CHECK(t.r.outcome == Outcome::Translated);
        CHECK(t.r.pa == 0x5'1000'0010);
        CHECK(t.log.config_reads == 4);
        CHECK(t.log.walk_reads == 4);
        // Untagged traffic uses CD 0 (S1DSS = SSID0).
        t = p.translate(0x1234, 0x1010);
        CHECK(t.r.pa == 0x5'0000'0010);
    }
    SECTION("nested, SSID 70: the L1CD and CD addresses are IPAs too (36 fetches)") {
        const auto t = p.translate(0x2345, 0x1ff8, true, 70);
        CHECK(t.r.outcome == Outcome::Translated);
        CHECK(t.r.ipa == 0x8000'4ff8);
        CHECK(t.r.pa == 0x1'0000'4ff8);
        CHECK(t.log.config_reads == 4);
        CHECK(t.log.walk_reads == 32);
    }
    SECTION("SSID with no CD: C_BAD_CD") {
        const auto t = p.translate(0x1234, 0x1010, false, 71);
        CHECK(t.r.outcome == Outcome::Faulted);
        CHECK(t.r.fault.id == EventId::C_BAD_CD);
    }
}

TEST_CASE("drain_events() returns the records of faulting translations and moves CONS", "[host]") {
    Platform p(modes_config());
    p.drv.reset();
    p.drv.install();
    CHECK(p.drv.drain_events().empty());

    CHECK(p.translate(2, 0x7777'0000, true).r.fault.id == EventId::F_TRANSLATION);  // unmapped VA
    CHECK(p.translate(0x1ff, 0x1000).r.fault.id == EventId::C_BAD_STREAMID);       // beyond SIDSIZE 8
    // SID 9 has no device: Linux's initial abort STE ends it without an event.
    CHECK(p.translate(9, 0x1000).r.outcome == Outcome::Aborted);
    // An STE with V=0 (cleared behind the driver's back) is C_BAD_STE.
    const Ste invalid;
    p.mem.write_words(p.drv.ste_address(10), invalid.w.data(), Ste::kDwords);
    CHECK(p.translate(10, 0x1000).r.fault.id == EventId::C_BAD_STE);
    CHECK(p.rd(reg::EVENTQ_PROD) == 3);

    const auto events = p.drv.drain_events();
    REQUIRE(events.size() == 3);
    CHECK(events[0].id() == 0x10);
    CHECK(events[0].get(evt::SID) == 2);
    CHECK(events[0].get(evt::InputAddr) == 0x7777'0000);
    CHECK(events[0].get(evt::RnW) == 0);
    CHECK(events[0].get(evt::S2) == 0);
    CHECK(events[0].get(evt::CLASS) == static_cast<uint64_t>(FaultClass::IN));
    CHECK(events[1].w[0] == ((uint64_t{0x1ff} << 32) | 0x02));
    CHECK(events[2].w[0] == ((uint64_t{10} << 32) | 0x04));
    CHECK(p.rd(reg::EVENTQ_CONS) == 3);
    CHECK(p.drv.drain_events().empty());

    // A stage 2 fault of the s2 device: S2 = 1, the IPA reported.
    CHECK(p.translate(3, 0x9000'0000).r.fault.id == EventId::F_TRANSLATION);
    const auto more = p.drv.drain_events();
    REQUIRE(more.size() == 1);
    CHECK(more[0].get(evt::S2) == 1);
    CHECK(more[0].get(evt::IPA) == 0x9000'0000);
    CHECK(more[0].get(evt::SID) == 3);
    CHECK(p.rd(reg::EVENTQ_CONS) == 4);
}

TEST_CASE("drain_events() acknowledges an event queue overflow", "[host]") {
    Config c = modes_config();
    c.smmu.eventq_log2size = 1;  // 2 records
    Platform p(c);
    p.drv.reset();
    p.drv.install();
    for (uint32_t sid = 0x100; sid < 0x105; ++sid) p.translate(sid, 0x1000);
    CHECK(p.rd(reg::EVENTQ_PROD) == 0x8000'0002u);
    CHECK(p.stats().events_dropped_overflow == 3);
    const auto events = p.drv.drain_events();
    REQUIRE(events.size() == 2);
    CHECK(events[0].get(evt::SID) == 0x100);
    CHECK(events[1].get(evt::SID) == 0x101);
    CHECK(p.rd(reg::EVENTQ_CONS) == 0x8000'0002u);  // OVACKFLG = OVFLG
    p.translate(0x105, 0x1000);
    const auto after = p.drv.drain_events();
    REQUIRE(after.size() == 1);
    CHECK(after[0].get(evt::SID) == 0x105);
    CHECK(p.stats().events_dropped_overflow == 3);
}

TEST_CASE("A SYNC behind an illegal command throws HostError naming CMDQ_CONS.ERR", "[host]") {
    Platform p(base_config());
    p.drv.reset();
    Command bad;
    bad.set(cmd::opcode, 0x7f);
    p.drv.submit(bad);
    REQUIRE_THROWS_AS(p.drv.sync(), HostError);
    CHECK(p.stats().command_errors == 1);
    CHECK(p.rd(reg::CMDQ_CONS) == ((1u << 24) | 6));
    CHECK(p.rd(reg::GERROR) == 1);
    // Still stopped: the next SYNC says where.
    REQUIRE_THROWS_WITH(p.drv.sync(), Catch::Contains("CMDQ_CONS.ERR=1") && Catch::Contains("at index 6"));
}

TEST_CASE("PageTable picks start level and concatenation like io-pgtable-arm", "[host]") {
    SparseMemory mem(48);
    TableArena arena("test", 0x10'0000, 0x10'0000, 16 * kMiB);
    struct Case {
        unsigned stage;
        Granule g;
        unsigned ias;
        unsigned start, concat;
    };
    const Case cases[] = {
        {1, Granule::K4, 48, 0, 1},  {1, Granule::K4, 39, 1, 1},  {1, Granule::K4, 40, 0, 1},
        {1, Granule::K4, 32, 1, 1},  {2, Granule::K4, 48, 0, 1},  {2, Granule::K4, 40, 1, 2},
        {2, Granule::K4, 42, 1, 8},  {2, Granule::K4, 43, 1, 16}, {2, Granule::K4, 44, 0, 1},
        {2, Granule::K4, 39, 1, 1},  {1, Granule::K16, 48, 0, 1}, {2, Granule::K16, 48, 1, 2},
        {1, Granule::K64, 48, 1, 1}, {2, Granule::K64, 48, 1, 1}, {1, Granule::K64, 42, 2, 1},
        // io-pgtable-arm concatenates only instead of level 0: a 32-bit 4K stage 2
        // starts at level 1 (4 entries), a 25-bit one at level 2 (S2SL0 0, not the
        // reserved encoding a level-3 start would need).
        {2, Granule::K4, 32, 1, 1},  {2, Granule::K4, 25, 2, 1},
    };
    for (const Case& k : cases) {
        CAPTURE(k.stage, static_cast<int>(k.g), k.ias);
        PageTable t(mem, arena, k.stage, k.g, k.ias);
        CHECK(t.start_level() == k.start);
        CHECK(t.concat() == k.concat);
        CHECK(t.ias() == k.ias);
        // The start table(s) are aligned to their size.
        const unsigned bits = k.ias - level_shift(k.g, k.start);
        const uint64_t bytes = std::max<uint64_t>(uint64_t{8} << bits, 64);
        CHECK(t.root() % bytes == 0);
    }

    SECTION("40-bit stage 2: two concatenated 4K tables, 8 KiB aligned") {
        TableArena a("a", 0x20'0000, 0x20'0000, kMiB);
        a.alloc(8, 8);
        PageTable t(mem, a, 2, Granule::K4, 40);
        CHECK(t.root() == 0x20'2000);
        CHECK(a.used() == 0x4000);
    }
}

TEST_CASE("PageTable leaf sizes and overlap checks", "[host]") {
    SparseMemory mem(48);
    TableArena arena("t", 0x10'0000, 0x10'0000, 4 * kMiB);
    PageTable t(mem, arena, 2, Granule::K4, 48);
    const uint64_t after_root = arena.used();
    t.map(0x4000'0000, 0x8000'0000, 1ull << 30, PageAttrs{});  // 1 GiB block at level 1
    CHECK(arena.used() == after_root + 0x1000);                 // only the level-1 table
    t.map(0x8000'0000, 0xc000'0000, 2 * kMiB, PageAttrs{}, 0x1000);  // 512 pages
    CHECK(arena.used() == after_root + 0x1000 + 0x2000);             // + level 2 and level 3 tables
    // inside the 1 GiB block: io-pgtable-arm's -EEXIST
    CHECK_THROWS_AS(t.map(0x4000'1000, 0x1000, 0x1000, PageAttrs{}), driver::KernelError);
    CHECK_THROWS_WITH(t.map(0x4000'1000, 0x1000, 0x1000, PageAttrs{}), Catch::Contains("overlaps"));

    const Descriptor d1 = t.leaf_descriptor(1, 0x8000'0000, PageAttrs{true, false, false});
    CHECK(d1.get(pte::S2AP) == 1);
    CHECK(d1.get(pte::XN) == 2);
    PageTable s1(mem, arena, 1, Granule::K4, 48);
    const Descriptor d3 = s1.leaf_descriptor(3, 0x1000, PageAttrs{true, true, true});
    CHECK(d3.get(pte::AP) == 1);
    CHECK(d3.get(pte::nG) == 1);
    CHECK(d3.get(pte::UXN) == 0);
}

TEST_CASE("free_tables gives every table back zeroed (arm_lpae_free_pgtable) and the arena reuses them", "[host]") {
    SparseMemory mem(48);
    TableArena arena("t", 0x10'0000, 0x10'0000, 4 * kMiB);
    PageTable t(mem, arena, 2, Granule::K4, 40);  // two concatenated level-1 tables: 0x2000
    const uint64_t root = t.root();
    t.map(0x8000'0000, 0xc000'0000, 2 * kMiB, PageAttrs{}, 0x1000);  // + level 2, level 3 tables
    t.map(0x4000'0000, 0x8000'0000, 1ull << 30, PageAttrs{});        // a block: no table
    REQUIRE(arena.used() == 0x2000 + 0x2000);
    uint64_t desc = 0;
    mem.read64(root + 2 * 8, desc);
    REQUIRE(desc != 0);
    t.free_tables();
    CHECK(arena.used() == 0);
    for (uint64_t a = 0x10'0000; a < 0x10'4000; a += 8) {  // every table page reads 0 again
        mem.read64(a, desc);
        REQUIRE(desc == 0);
    }
    // The same shape again takes the same pages: the root first, then the freed 4K pages
    // lowest first; nothing new from the region.
    PageTable again(mem, arena, 2, Granule::K4, 40);
    CHECK(again.root() == root);
    again.map(0x8000'0000, 0xc000'0000, 0x1000, PageAttrs{});
    CHECK(arena.used() == 0x4000);
    CHECK(arena.alloc(0x1000, 0x1000) == 0x10'4000);
}

TEST_CASE("A full TableArena is -ENOMEM naming the region, bad input for the host", "[host]") {
    TableArena a("memory.table_base", 0x1000, 0x9000, 0x2000);
    CHECK(a.alloc(0x1000, 0x1000) == 0x1000);
    CHECK(a.to_pa(0x1000) == 0x9000);
    CHECK(a.alloc(0x800, 0x800) == 0x2000);
    CHECK(a.used() == 0x1800);
    CHECK_THROWS_AS(a.alloc(0x1000, 0x1000), driver::KernelError);
    CHECK_THROWS_WITH(a.alloc(0x1000, 0x1000), Catch::Contains("memory.table_base") && Catch::Contains("full"));
    CHECK(a.alloc(0x800, 8) == 0x2800);  // what fits still fits
    CHECK_THROWS_AS(a.alloc(1, 1), driver::KernelError);

    // The driver's own arena: a stream table that does not fit.
    Config c = base_config();
    c.memory.table_size = 0x2000;  // 256 STEs need 16 KiB
    Platform p(c);
    CHECK_THROWS_AS(p.drv.reset(), InputError);
}

TEST_CASE("A 4K stage 2 with a 25-bit IPA starts at level 2 (S2SL0 0) and translates", "[host]") {
    // io-pgtable-arm concatenates only instead of level 0; a level-3 start
    // would need an S2SL0 encoding 4K does not have.
    Config c = base_config();
    c.vms.push_back(vm("small", 25, {map(0x100'0000, 0x2'0000'0000, 0x10000, 0x1000)}));
    c.devices.push_back(device("dev", 7, AttachMode::S2, "small"));
    Platform p(c);
    p.boot();
    const Ste s = p.ste(7);
    CHECK(s.get(ste::S2T0SZ) == 39);
    CHECK(s.get(ste::S2SL0) == 0);
    const auto t = p.translate(7, 0x100'2345);
    CHECK(t.r.outcome == Outcome::Translated);
    CHECK(t.r.pa == 0x2'0000'2345);
    CHECK(t.log.walk_reads == 2);  // levels 2 and 3
}

TEST_CASE("vms.<vm>.s2.start_level: each start level the STE can name translates, walk reads by hand", "[host][issue11]") {
    // The walk reads one descriptor per level from the start level down to the
    // 4K/16K/64K page (level 3), whatever the number of concatenated start
    // tables: reads = 4 - start level. The IPA indexes a later concatenated
    // table where there are several (bits beyond the stride at the start level).
    struct Case {
        Granule g;
        unsigned ias, level;
        bool stt;
        unsigned s2sl0;  // IHI 0070 5.2: 4K 0=L2 1=L1 2=L0 3=L3 (STT); 16K/64K 0=L3 1=L2 2=L1
        uint64_t ipa;
        unsigned concat;  // 2^(ias - level_shift - stride), at least 1
    };
    const Case cases[] = {
        {Granule::K4, 40, 0, false, 2, 0xc000'0000, 1},   // L0 resolves bit 39: 2 entries
        {Granule::K4, 40, 1, false, 1, 0xc000'0000, 2},   // L1 resolves bits 39:30: 2 tables
        {Granule::K4, 32, 1, false, 1, 0xc000'0000, 1},   // 4 entries at L1
        {Granule::K4, 32, 2, false, 0, 0xc000'0000, 4},   // 4 tables at L2; the IPA is in the 4th
        {Granule::K4, 25, 2, false, 0, 0x180'0000, 1},    // io-pgtable-arm's choice
        {Granule::K4, 25, 3, true, 3, 0x180'0000, 16},    // 16 tables at L3 (IDR3.STT)
        {Granule::K16, 40, 1, false, 2, 0xc000'0000, 1},  // 16 entries at L1
        {Granule::K16, 40, 2, false, 1, 0xc000'0000, 16},
        {Granule::K16, 28, 3, false, 0, 0x800'0000, 8},   // 14 bits at L3: 8 tables
        {Granule::K64, 48, 1, false, 2, 0xc000'0000, 1},  // 64 entries at L1
        {Granule::K64, 30, 2, false, 1, 0x3000'0000, 1},  // 2 entries at L2
        {Granule::K64, 30, 3, false, 0, 0x3000'0000, 2},
    };
    for (const Case& k : cases) {
        CAPTURE(granule_name(k.g), k.ias, k.level);
        Config c = base_config();
        if (k.stt) c.smmu.idr.push_back({"IDR3", "STT", reg::IDR3, static_cast<uint32_t>(idr3::STT.mask()), idr3::STT.lsb, 1});
        const uint64_t page = granule_bytes(k.g);
        VmConfig v = vm("vm0", k.ias, {map(k.ipa, 0x2'0000'0000, 2 * page, page)});
        v.s2.granule = k.g;
        v.s2.start_level = k.level;
        c.vms.push_back(v);
        c.devices.push_back(device("dev", 7, AttachMode::S2, "vm0"));
        Platform p(c);
        p.boot();
        const Ste s = p.ste(7);
        CHECK(s.get(ste::S2T0SZ) == 64 - k.ias);
        CHECK(s.get(ste::S2SL0) == k.s2sl0);
        const unsigned bits = k.ias - level_shift(k.g, k.level);
        CHECK((bits > level_stride(k.g) ? 1u << (bits - level_stride(k.g)) : 1u) == k.concat);
        const auto t = p.translate(7, k.ipa + page + 0x18);
        CHECK(t.r.outcome == Outcome::Translated);
        CHECK(t.r.pa == 0x2'0000'0000 + page + 0x18);
        CHECK(t.r.s2_level == 3);
        CHECK(t.log.walk_reads == 4 - k.level);
    }
}

TEST_CASE("contexts[].ttb1: a stage 1 in the upper VA range (CD.TTB1), its walk, its TLBI", "[host][issue11]") {
    // The table covers [2^64 - 2^39, 2^64): T1SZ 25, a 4K walk from level 1.
    constexpr uint64_t kVa = 0xffff'ff80'1000'0000;
    Config c = base_config();
    c.smmu.caches["iotlb"] = cache(64);
    CtxConfig ctx = context(0, 5, {map(kVa, 0x2'0000'0000, 0x2000, 0x1000)});
    ctx.va_bits = 39;
    ctx.ttb1 = true;
    c.devices.push_back(device("gpu", 2, AttachMode::S1, "", {ctx}));
    Platform p(c);
    p.boot();

    // The CD: TTB1 with T1SZ/TG1, EPD0 set so no VA reaches a TTB0 walk.
    ContextDescriptor desc;
    p.mem.read_words(p.ste(2).get(ste::S1ContextPtr), desc.w.data(), ContextDescriptor::kDwords);
    CHECK(desc.get(cd::EPD0) == 1);
    CHECK(desc.get(cd::EPD1) == 0);
    CHECK(desc.get(cd::T1SZ) == 25);
    CHECK(desc.get(cd::TG1) == 2);  // 4K in TG1's encoding
    CHECK(desc.get(cd::TTB1) != 0);
    CHECK(desc.get(cd::TTB0) == 0);
    CHECK(desc.get(cd::T0SZ) == 0);  // IGNORED with EPD0 (IHI 0070 5.4)

    // Levels 1, 2 and 3: three reads; then the IOTLB holds it.
    auto t = p.translate(2, kVa + 0x1abc);
    CHECK(t.r.outcome == Outcome::Translated);
    CHECK(t.r.pa == 0x2'0000'1abc);
    CHECK(t.r.s1_level == 3);
    CHECK(t.log.walk_reads == 3);
    CHECK(p.translate(2, kVa + 0x1000).log.walk_reads == 0);
    // VA[55] clear: the lower range, disabled by EPD0; VA[55] set but the bits
    // above bit 38 not all ones: outside T1SZ. Both F_TRANSLATION, no walk.
    for (const uint64_t va : {uint64_t{0x1000}, uint64_t{0x00ff'ff80'1000'0000}}) {
        t = p.translate(2, va);
        CHECK(t.r.outcome == Outcome::Faulted);
        CHECK(t.r.fault.id == EventId::F_TRANSLATION);
        CHECK(t.log.walk_reads == 0);
    }
    // An unmap's TLBI_NH_VA carries the whole VA (Linux's CMDQ_TLBI_1_VA_MASK,
    // bits 63:12): the IOTLB entry goes, a fresh walk finds nothing.
    ChangeRecord unmap;
    unmap.kind = ChangeRecord::Kind::Unmap;
    unmap.target = "gpu";
    unmap.in = kVa + 0x1000;
    unmap.size = 0x1000;
    CHECK(p.drv.apply(unmap) == "dma_domain");
    t = p.translate(2, kVa + 0x1000);
    CHECK(t.r.outcome == Outcome::Faulted);
    CHECK(t.r.fault.id == EventId::F_TRANSLATION);
    CHECK(t.log.walk_reads == 3);
    CHECK(p.translate(2, kVa + 0x10).r.pa == 0x2'0000'0010);
}

TEST_CASE("contexts[].ttb1 on a nested device: the guest's CD uses TTB1, the same walk as TTB0", "[host][issue11]") {
    // The guest's table in the upper range with 48 VA bits has the lower
    // range's shape: 4 S1 levels, each table address an IPA walked at stage 2
    // (4 reads + the read itself), 4 for the output IPA, 4 for the CD's IPA: 28.
    Config c = modes_config();
    CtxConfig upper = context(0, 7, {map(0xffff'0000'0010'0000, 0x8020'0000, 0x2000)});
    upper.ttb1 = true;
    c.devices.push_back(device("vf1", 9, AttachMode::Nested, "vm0", {upper}));
    Platform p(c);
    p.boot();
    const auto lower = p.translate(4, 0x10'1abc);
    const auto t = p.translate(9, 0xffff'0000'0010'1abc);
    CHECK(t.r.outcome == Outcome::Translated);
    CHECK(t.r.ipa == 0x8020'1abc);
    CHECK(t.r.pa == 0x1'0040'1abc);
    CHECK(t.log.walk_reads == 28);
    CHECK(t.log.walk_reads == lower.log.walk_reads);
}
