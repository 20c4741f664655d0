// Every invalidation command against warm caches: each removes exactly the
// entries its scope covers (IHI 0070 4.3-4.5) and no others. The platform is
// built by the host driver (real STEs, CDs and tables in memory) and warmed by
// translating through SmmuCore; a command is then submitted through the
// command queue, and three things are checked exactly:
//   - SmmuStats::invalidated_entries, the entries the command removed;
//   - how many each cache lost (CacheStats::invalidations deltas);
//   - what re-translating every warm access finds afterwards: accesses that
//     still hit their micro-TLB are not listed; the others say whether the
//     configuration cache missed and whether the IOTLB hit or how many
//     table-walk reads the walk took (what the walk and IPA caches kept).
#include <catch2/catch.hpp>

#include "config_builders.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/arch/cd.h"
#include "models/arch/command.h"
#include "models/arch/ste.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/smmu_core.h"
#include "models/smmu/tlb/tlb.h"
#include "models/smmu/translation/translator.h"
#include "testbenches/config/config.h"
#include "testbenches/config/model_params.h"
#include "testbenches/host/direct_bus.h"
#include "testbenches/host/host_driver.h"

using namespace smmu;
using namespace smmu::arch;
using namespace smmu::sim;
using Outcome = TranslationResult::Outcome;

using namespace smmu_test;

namespace {

constexpr uint64_t kMiB = 1ull << 20;

// The platform (SIDs 0x08-0x0b share one CFGI_STE_RANGE Range=1 block):
//   s1   SID 0x08  stage 1, VMID 0. CD 0 = ASID 1 (untagged traffic, S1DSS=SSID0):
//                  VA 0x1000_0000 4K pages -> PA 0x5_0000_0000, VA 0x4000_0000 2 MiB
//                  block -> PA 0x5_4000_0000. CD 1 = ASID 2: VA 0x1000_0000 -> PA 0x6_0000_0000.
//   s1x  SID 0x09  stage 1, VMID 0, ASID 3: VA 0x3000_0000 -> PA 0x7_0000_0000, made
//                  global (nG=0) by hand.
//   nA0  SID 0x0c  nested in vmA (VMID 1). CD 0 = ASID 5: VA 0x10_0000 -> IPA 0x8020_0000
//                  (4K), VA 0x20_0000 -> IPA 0x8060_0000 (2 MiB). CD 1 = ASID 6:
//                  VA 0x10_0000 -> IPA 0x8020_8000.
//   nA1  SID 0x0d  nested in vmA, ASID 7: VA 0x10_0000 -> IPA 0x8020_0000.
//   nB   SID 0x10  nested in vmB (VMID 2), ASID 5 (as nA0's CD 0): same VA -> IPA.
//   s2A  SID 0x14  stage 2 only, vmA.     s2B SID 0x15 stage 2 only, vmB.
//   byp  SID 0x18  bypass.
// vmA: IPA 0x8020_0000 64K of 4K pages -> PA 0x1_0020_0000; IPA 0x8060_0000 2 MiB
// block -> PA 0x1_0060_0000; guest tables (CDs, stage 1 tables) at IPA 0x9000_0000,
// 1 MiB of 4K pages. vmB: the same IPAs -> PA 0x2_....
constexpr uint32_t kS1 = 0x08, kS1x = 0x09, kNA0 = 0x0c, kNA1 = 0x0d, kNB = 0x10, kS2A = 0x14, kS2B = 0x15,
                   kByp = 0x18;
constexpr uint16_t kVmidA = 1, kVmidB = 2;

VmConfig vm(std::string name, uint64_t pa) {
    VmConfig v;
    v.name = std::move(name);
    v.s2.ias = 48;
    v.map = {map(0x8020'0000, pa + 0x20'0000, 0x10000, 0x1000), map(0x8060'0000, pa + 0x60'0000, 2 * kMiB)};
    v.guest_tables_ipa = 0x9000'0000;
    v.guest_tables_size = kMiB;  // less than a block: 4K pages
    return v;
}

// Caches large enough that warming evicts nothing (checked), so every count
// below is the architecture's, not the replacement policy's.
Config platform_config() {
    Config c;
    c.smmu.sid_bits = 8;
    c.memory.pa_bits = 48;
    c.memory.table_base = 0x4000'0000;
    c.memory.table_size = 64 * kMiB;
    c.smmu.caches["config"] = cache(64);
    c.smmu.caches["iotlb"] = cache(64, 4);  // 16 sets
    c.smmu.caches["ipa"] = cache(64);
    c.smmu.caches["utlb"] = cache(8);
    for (unsigned i = 0; i < 8; ++i) c.smmu.caches[walk_cache_name(i)] = cache(32);

    c.vms.push_back(vm("vmA", 0x1'0000'0000));
    c.vms.push_back(vm("vmB", 0x2'0000'0000));
    c.devices.push_back(device("s1", kS1, AttachMode::S1, "",
                               {context(0, 1,
                                        {map(0x1000'0000, 0x5'0000'0000, 0x4000, 0x1000),
                                         map(0x4000'0000, 0x5'4000'0000, 2 * kMiB)}),
                                context(1, 2, {map(0x1000'0000, 0x6'0000'0000, 0x4000, 0x1000)})}));
    c.devices.push_back(
        device("s1x", kS1x, AttachMode::S1, "", {context(0, 3, {map(0x3000'0000, 0x7'0000'0000, 0x4000, 0x1000)})}));
    c.devices.push_back(device("nA0", kNA0, AttachMode::Nested, "vmA",
                               {context(0, 5, {map(0x10'0000, 0x8020'0000, 0x8000, 0x1000),
                                               map(0x20'0000, 0x8060'0000, 2 * kMiB)}),
                                context(1, 6, {map(0x10'0000, 0x8020'8000, 0x8000, 0x1000)})}));
    c.devices.push_back(
        device("nA1", kNA1, AttachMode::Nested, "vmA", {context(0, 7, {map(0x10'0000, 0x8020'0000, 0x8000, 0x1000)})}));
    c.devices.push_back(
        device("nB", kNB, AttachMode::Nested, "vmB", {context(0, 5, {map(0x10'0000, 0x8020'0000, 0x8000, 0x1000)})}));
    c.devices.push_back(device("s2A", kS2A, AttachMode::S2, "vmA"));
    c.devices.push_back(device("s2B", kS2B, AttachMode::S2, "vmB"));
    c.devices.push_back(device("byp", kByp, AttachMode::Bypass));
    return c;
}

// One micro-TLB (port) per device, so no micro-TLB evicts.
unsigned port_of(uint32_t sid) {
    switch (sid) {
        case kS1: return 0;
        case kS1x: return 1;
        case kNA0: return 2;
        case kNA1: return 3;
        case kNB: return 4;
        case kS2A: return 5;
        case kS2B: return 6;
        default: return 7;
    }
}

struct Access {
    const char* name;
    uint32_t sid;
    std::optional<uint32_t> ssid;
    uint64_t iova;
    uint64_t pa;
};

// The warm-up, in this order (the order decides which walk fills which entry).
const std::vector<Access>& warm_set() {
    static const std::vector<Access> set = {
        {"s1/A1 0x10000000", kS1, {}, 0x1000'0000, 0x5'0000'0000},
        {"s1/A1 0x10001000", kS1, {}, 0x1000'1000, 0x5'0000'1000},
        {"s1/A1 0x40000000", kS1, {}, 0x4000'0000, 0x5'4000'0000},
        {"s1/A2 0x10000000", kS1, 1, 0x1000'0000, 0x6'0000'0000},
        {"s1/A2 0x10001000", kS1, 1, 0x1000'1000, 0x6'0000'1000},
        {"s1x/A3 0x30000000", kS1x, {}, 0x3000'0000, 0x7'0000'0000},
        {"nA0/A5 0x104000", kNA0, {}, 0x10'4000, 0x1'0020'4000},
        {"nA0/A5 0x105000", kNA0, {}, 0x10'5000, 0x1'0020'5000},
        {"nA0/A5 0x200000", kNA0, {}, 0x20'0000, 0x1'0060'0000},
        {"nA0/A6 0x104000", kNA0, 1, 0x10'4000, 0x1'0020'c000},
        {"nA1/A7 0x104000", kNA1, {}, 0x10'4000, 0x1'0020'4000},
        {"nB/A5 0x104000", kNB, {}, 0x10'4000, 0x2'0020'4000},
        {"s2A 0x80208000", kS2A, {}, 0x8020'8000, 0x1'0020'8000},
        {"s2A 0x80205000", kS2A, {}, 0x8020'5000, 0x1'0020'5000},
        {"s2A 0x80600000", kS2A, {}, 0x8060'0000, 0x1'0060'0000},
        {"s2B 0x80208000", kS2B, {}, 0x8020'8000, 0x2'0020'8000},
        {"byp 0x1234", kByp, {}, 0x1234, 0x1234},
    };
    return set;
}

using Snapshot = std::map<std::string, CacheStats>;

uint64_t stat(const Snapshot& s, const std::string& name, uint64_t CacheStats::*field) {
    auto it = s.find(name);
    return it == s.end() ? 0 : it->second.*field;
}

// "name=n" for every cache whose `field` moved between the snapshots, in name order.
std::string deltas(const Snapshot& before, const Snapshot& after, uint64_t CacheStats::*field) {
    std::string out;
    for (const auto& [name, s] : after) {
        const uint64_t d = s.*field - stat(before, name, field);
        if (d) out += (out.empty() ? "" : " ") + name + "=" + std::to_string(d);
    }
    return out;
}

struct Probe {
    TranslationResult r;
    bool utlb = false, iotlb = false, config = false;
    unsigned walk_reads = 0, config_reads = 0;
};

struct Effect {
    uint64_t removed = 0;  // SmmuStats::invalidated_entries delta
    std::string caches;    // per-cache invalidations
    std::string after;     // re-translation of the warm set
};

struct Bench {
    Config cfg;
    SparseMemory mem;
    SmmuCore core;
    DirectBus bus;
    HostDriver drv;

    explicit Bench(Config c = platform_config())
        : cfg(std::move(c)), mem(cfg.memory.pa_bits), core(mem, core_params(cfg)), bus(core, mem), drv(bus, cfg) {
        drv.reset();
        drv.install();
        // The VMIDs the tests name are the ones the host put in the STEs.
        for (uint32_t sid : {kS1, kS1x}) REQUIRE(ste_vmid(sid) == 0);
        for (uint32_t sid : {kNA0, kNA1, kS2A}) REQUIRE(ste_vmid(sid) == kVmidA);
        for (uint32_t sid : {kNB, kS2B}) REQUIRE(ste_vmid(sid) == kVmidB);
    }

    uint16_t ste_vmid(uint32_t sid) {
        Ste s;
        REQUIRE(mem.read_words(drv.ste_address(sid), s.w.data(), Ste::kDwords));
        return static_cast<uint16_t>(s.get(ste::S2VMID));
    }

    Snapshot snap() const {
        Snapshot s;
        core.unit().for_each_cache([&](const std::string& n, const CacheStats& st) { s[n] = st; });
        return s;
    }

    // The reads a walk of (sid, va) without the SMMU's caches makes, in order.
    std::vector<MemAccess> fresh_reads(uint32_t sid, uint64_t va) {
        Translator t(mem, core.caps());
        std::vector<MemAccess> trace;
        AccessLog log;
        log.trace = &trace;
        TranslationRequest req;
        req.sid = sid;
        req.iova = va;
        REQUIRE(t.translate(core.regs().stream_table(), req, log).outcome == Outcome::Translated);
        return trace;
    }

    // Clears nG in the stage 1 leaf that maps `va` for `sid` (the host builder
    // writes every stage 1 leaf non-global). Walks without the SMMU's caches.
    void make_global(uint32_t sid, uint64_t va) {
        uint64_t leaf = 0;
        for (const MemAccess& a : fresh_reads(sid, va))
            if (a.kind == AccessKind::S1Table) leaf = a.pa;  // the last one read is the leaf
        REQUIRE(leaf != 0);
        uint64_t d = 0;
        REQUIRE(mem.read64(leaf, d));
        REQUIRE(Descriptor(d).get(pte::nG) == 1);
        REQUIRE(mem.write64(leaf, d & ~pte::nG.mask()));
    }

    Probe probe(uint32_t sid, uint64_t iova, std::optional<uint32_t> ssid = {}, std::optional<unsigned> port = {}) {
        TranslationRequest req;
        req.sid = sid;
        req.iova = iova;
        if (ssid) {
            req.ssv = true;
            req.ssid = *ssid;
        }
        const Snapshot before = snap();
        AccessLog log;
        Probe p;
        p.r = core.translate(req, log, port ? *port : port_of(sid));
        const Snapshot after = snap();
        p.utlb = stat(after, "utlb", &CacheStats::hits) > stat(before, "utlb", &CacheStats::hits);
        p.iotlb = stat(after, "iotlb", &CacheStats::hits) > stat(before, "iotlb", &CacheStats::hits);
        p.config = stat(after, "config", &CacheStats::hits) > stat(before, "config", &CacheStats::hits);
        p.walk_reads = log.walk_reads;
        p.config_reads = log.config_reads;
        return p;
    }

    // The warm set, global leaf included; nothing may be evicted.
    void warm() {
        make_global(kS1x, 0x3000'0000);
        for (const Access& a : warm_set()) {
            INFO(a.name);
            const Probe p = probe(a.sid, a.iova, a.ssid);
            REQUIRE(p.r.ok());
            REQUIRE(p.r.pa == a.pa);
            REQUIRE_FALSE(p.utlb);
        }
        const Snapshot s = snap();
        REQUIRE(deltas({}, s, &CacheStats::evictions).empty());
        REQUIRE(deltas({}, s, &CacheStats::invalidations).empty());
    }

    // Every warm access again, in order: the ones that no longer hit their
    // micro-TLB, with what they found instead ("cfg-miss" when the
    // configuration cache missed; "tlb" for an IOTLB hit, else "walk N" with
    // the table-walk reads). A bypass stream is listed only on a config miss.
    std::string reprobe() {
        std::string out;
        for (const Access& a : warm_set()) {
            const Probe p = probe(a.sid, a.iova, a.ssid);
            INFO(a.name);
            CHECK(p.r.pa == a.pa);
            if (p.utlb) continue;
            std::string what;
            if (!p.config) what += "cfg-miss ";
            if (p.r.outcome == Outcome::Bypassed) {
                if (p.config) continue;
                what += "bypass";
            } else {
                what += p.iotlb ? "tlb" : "walk " + std::to_string(p.walk_reads);
            }
            out += (out.empty() ? "" : "; ") + std::string(a.name) + ": " + what;
        }
        return out;
    }

    // Submits `c` and a SYNC through the command queue; returns the entries removed.
    uint64_t run(const Command& c) {
        const uint64_t removed = core.stats().invalidated_entries;
        const uint64_t errors = core.stats().command_errors;
        const uint64_t executed = core.stats().commands[c.opcode()];
        drv.submit(c);
        drv.sync();
        CHECK(core.stats().command_errors == errors);
        CHECK(core.stats().commands[c.opcode()] == executed + 1);
        return core.stats().invalidated_entries - removed;
    }

    // Empties every cache: CFGI_ALL, then TLBI_NSNH_ALL (micro-TLBs gone already).
    void flush() {
        REQUIRE(run(Command::make(Opcode::CFGI_STE_RANGE, {{cmd::Range, 31}})) == 26);
        REQUIRE(run(Command::make(Opcode::TLBI_NSNH_ALL)) == 110);
    }

    // run(), then what it removed from each cache and the warm set's reprobe().
    Effect apply(const Command& c) {
        const Snapshot before = snap();
        Effect e;
        e.removed = run(c);
        const Snapshot after = snap();
        e.caches = deltas(before, after, &CacheStats::invalidations);
        uint64_t sum = 0;
        for (const auto& [name, s] : after) sum += s.invalidations - stat(before, name, &CacheStats::invalidations);
        CHECK(sum == e.removed);
        e.after = reprobe();
        return e;
    }
};

Command nh_va(Opcode op, uint16_t vmid, uint16_t asid, uint64_t va, bool leaf, uint64_t tg = 0, uint64_t num = 0,
              uint64_t scale = 0) {
    return Command::make(op, {{cmd::VMID, vmid},
                              {cmd::ASID, asid},
                              {cmd::VA, va},
                              {cmd::Leaf, leaf},
                              {cmd::TG, tg},
                              {cmd::NUM, num},
                              {cmd::SCALE, scale}});
}

Command s2_ipa(uint16_t vmid, uint64_t ipa, bool leaf, uint64_t tg = 0, uint64_t num = 0, uint64_t scale = 0) {
    return Command::make(Opcode::TLBI_S2_IPA, {{cmd::VMID, vmid},
                                               {cmd::IPA, ipa},
                                               {cmd::Leaf, leaf},
                                               {cmd::TG, tg},
                                               {cmd::NUM, num},
                                               {cmd::SCALE, scale}});
}

}  // namespace

TEST_CASE("Invalidation bench: what warming the platform caches", "[invalidation]") {
    Bench b;
    b.warm();
    // fills = entries held (nothing evicted, nothing invalidated, nothing refilled).
    CHECK(deltas({}, b.snap(), &CacheStats::fills) ==
          "config=10 iotlb=16 ipa=26 utlb=16 walk_s1_l0=7 walk_s1_l1=8 walk_s1_l2=9 walk_s1_l3=10 "
          "walk_s2_l0=2 walk_s2_l1=2 walk_s2_l2=5 walk_s2_l3=25");
    // The global leaf is a global IOTLB entry; every other stage 1 entry is not.
    unsigned global = 0;
    b.core.unit().iotlb().for_each([&](const TlbEntry& e) {
        if (e.global) {
            ++global;
            CHECK(e.in_base == 0x3000'0000);
            CHECK(e.asid == 3);
        }
    });
    CHECK(global == 1);
    // Warm again: every access hits its micro-TLB.
    CHECK(b.reprobe() == "");
}

// ---------------------------------------------------------------------------
// Configuration invalidation (IHI 0070 4.3). The configuration cache holds
// STE+CD per (SID, SSID); a micro-TLB entry is found by StreamID alone, so it
// stands for the configuration too and goes with it.

TEST_CASE("CFGI_STE removes the stream's configuration entries and micro-TLB entries only", "[invalidation]") {
    Bench b;
    b.warm();
    const Effect e = b.apply(Command::make(Opcode::CFGI_STE, {{cmd::SID, kNA0}, {cmd::Leaf, 1}}));
    CHECK(e.removed == 6);
    CHECK(e.caches == "config=2 utlb=4");
    // The IOTLB is tagged by VMID/ASID, not by stream: its entries stay.
    CHECK(e.after ==
          "nA0/A5 0x104000: cfg-miss tlb; nA0/A5 0x105000: tlb; nA0/A5 0x200000: tlb; nA0/A6 0x104000: cfg-miss tlb");

    SECTION("a SID with nothing cached removes nothing") {
        CHECK(b.apply(Command::make(Opcode::CFGI_STE, {{cmd::SID, 0x0e}})).removed == 0);
    }
}

TEST_CASE("CFGI_STE: a stream moved to another stage 2 translates through its new STE", "[invalidation]") {
    Bench b;
    b.warm();
    // s2A's STE becomes a copy of s2B's (vmB's VMID and tables), as a host
    // moving the device to another VM writes it, then CFGI_STE + SYNC.
    uint64_t ste[8];
    b.mem.read_words(b.drv.ste_address(kS2B), ste, 8);
    b.mem.write_words(b.drv.ste_address(kS2A), ste, 8);
    const Snapshot before = b.snap();
    CHECK(b.run(Command::make(Opcode::CFGI_STE, {{cmd::SID, kS2A}})) == 4);
    CHECK(deltas(before, b.snap(), &CacheStats::invalidations) == "config=1 utlb=3");
    Probe p = b.probe(kS2A, 0x8020'8000);
    CHECK_FALSE(p.utlb);  // it used to hit here, with vmA's PA
    CHECK_FALSE(p.config);
    CHECK(p.iotlb);  // s2B's entry: VMID 2
    CHECK(p.r.pa == 0x2'0020'8000);
    p = b.probe(kS2A, 0x8060'0000);
    CHECK_FALSE(p.iotlb);  // vmA's entry for it is tagged VMID 1
    CHECK(p.r.pa == 0x2'0060'0000);
}

TEST_CASE("CFGI_STE_RANGE covers 2^(Range+1) aligned StreamIDs, Range=31 is CFGI_ALL", "[invalidation]") {
    Bench b;
    b.warm();
    SECTION("Range=1, SID 0x0b: StreamIDs 0x08-0x0b (s1, s1x), not 0x0c (nA0)") {
        const Effect e = b.apply(Command::make(Opcode::CFGI_STE_RANGE, {{cmd::SID, 0x0b}, {cmd::Range, 1}}));
        CHECK(e.removed == 9);
        CHECK(e.caches == "config=3 utlb=6");
        CHECK(e.after ==
              "s1/A1 0x10000000: cfg-miss tlb; s1/A1 0x10001000: tlb; s1/A1 0x40000000: tlb; "
              "s1/A2 0x10000000: cfg-miss tlb; s1/A2 0x10001000: tlb; s1x/A3 0x30000000: cfg-miss tlb");
    }
    SECTION("Range=0, SID 0x0d: StreamIDs 0x0c-0x0d (nA0, nA1)") {
        const Effect e = b.apply(Command::make(Opcode::CFGI_STE_RANGE, {{cmd::SID, 0x0d}, {cmd::Range, 0}}));
        CHECK(e.removed == 8);
        CHECK(e.caches == "config=3 utlb=5");
        CHECK(e.after ==
              "nA0/A5 0x104000: cfg-miss tlb; nA0/A5 0x105000: tlb; nA0/A5 0x200000: tlb; "
              "nA0/A6 0x104000: cfg-miss tlb; nA1/A7 0x104000: cfg-miss tlb");
    }
    SECTION("Range=31: every configuration, no TLB entry") {
        const Effect e = b.apply(Command::make(Opcode::CFGI_STE_RANGE, {{cmd::SID, 0x0b}, {cmd::Range, 31}}));
        CHECK(e.removed == 26);
        CHECK(e.caches == "config=10 utlb=16");
        CHECK(e.after ==
              "s1/A1 0x10000000: cfg-miss tlb; s1/A1 0x10001000: tlb; s1/A1 0x40000000: tlb; "
              "s1/A2 0x10000000: cfg-miss tlb; s1/A2 0x10001000: tlb; s1x/A3 0x30000000: cfg-miss tlb; "
              "nA0/A5 0x104000: cfg-miss tlb; nA0/A5 0x105000: tlb; nA0/A5 0x200000: tlb; "
              "nA0/A6 0x104000: cfg-miss tlb; nA1/A7 0x104000: cfg-miss tlb; nB/A5 0x104000: cfg-miss tlb; "
              "s2A 0x80208000: cfg-miss tlb; s2A 0x80205000: tlb; s2A 0x80600000: tlb; "
              "s2B 0x80208000: cfg-miss tlb; byp 0x1234: cfg-miss bypass");
    }
}

TEST_CASE("CFGI_CD removes the one (StreamID, SubstreamID) configuration", "[invalidation]") {
    Bench b;
    b.warm();
    SECTION("SSID 1") {
        const Effect e = b.apply(Command::make(Opcode::CFGI_CD, {{cmd::SID, kNA0}, {cmd::SSID, 1}, {cmd::Leaf, 1}}));
        CHECK(e.removed == 2);
        CHECK(e.caches == "config=1 utlb=1");
        CHECK(e.after == "nA0/A6 0x104000: cfg-miss tlb");
    }
    SECTION("SSID 0: the CD untagged traffic uses (S1DSS=SSID0)") {
        const Effect e = b.apply(Command::make(Opcode::CFGI_CD, {{cmd::SID, kNA0}, {cmd::SSID, 0}}));
        CHECK(e.removed == 4);
        CHECK(e.caches == "config=1 utlb=3");
        CHECK(e.after == "nA0/A5 0x104000: cfg-miss tlb; nA0/A5 0x105000: tlb; nA0/A5 0x200000: tlb");
    }
    SECTION("a stage 2 only stream has no CD: nothing") {
        const Effect e = b.apply(Command::make(Opcode::CFGI_CD, {{cmd::SID, kS2A}, {cmd::SSID, 0}}));
        CHECK(e.removed == 0);
        CHECK(e.after == "");
    }
}

TEST_CASE("CFGI_CD_ALL removes every CD-based configuration of one stream", "[invalidation]") {
    Bench b;
    b.warm();
    SECTION("s1: both substreams") {
        const Effect e = b.apply(Command::make(Opcode::CFGI_CD_ALL, {{cmd::SID, kS1}}));
        CHECK(e.removed == 7);
        CHECK(e.caches == "config=2 utlb=5");
        CHECK(e.after ==
              "s1/A1 0x10000000: cfg-miss tlb; s1/A1 0x10001000: tlb; s1/A1 0x40000000: tlb; "
              "s1/A2 0x10000000: cfg-miss tlb; s1/A2 0x10001000: tlb");
    }
    SECTION("a stage 2 only stream: its STE-only entry stays") {
        const Effect e = b.apply(Command::make(Opcode::CFGI_CD_ALL, {{cmd::SID, kS2A}}));
        CHECK(e.removed == 0);
        CHECK(e.after == "");
    }
}

// ---------------------------------------------------------------------------
// Stage 1 TLB invalidation (IHI 0070 4.4.1-4.4.2): stage 1 and nested
// entries of one VMID; the IPA cache and stage 2 walk caches are untouched.

TEST_CASE("TLBI_NH_ALL removes every stage 1 entry of one VMID", "[invalidation]") {
    Bench b;
    b.warm();
    const Effect e = b.apply(Command::make(Opcode::TLBI_NH_ALL, {{cmd::VMID, kVmidA}}));
    CHECK(e.removed == 24);
    CHECK(e.caches == "iotlb=5 utlb=5 walk_s1_l0=3 walk_s1_l1=3 walk_s1_l2=4 walk_s1_l3=4");
    // Stage 1 walks again; every table and output IPA is still in the IPA cache.
    CHECK(e.after ==
          "nA0/A5 0x104000: walk 4; nA0/A5 0x105000: walk 1; nA0/A5 0x200000: walk 1; "
          "nA0/A6 0x104000: walk 4; nA1/A7 0x104000: walk 4");
}

TEST_CASE("TLBI_NH_ASID removes one ASID of one VMID, global entries stay", "[invalidation]") {
    Bench b;
    b.warm();
    SECTION("VMID 1, ASID 5: not ASID 5 of VMID 2") {
        const Effect e = b.apply(Command::make(Opcode::TLBI_NH_ASID, {{cmd::VMID, kVmidA}, {cmd::ASID, 5}}));
        CHECK(e.removed == 12);
        CHECK(e.caches == "iotlb=3 utlb=3 walk_s1_l0=1 walk_s1_l1=1 walk_s1_l2=2 walk_s1_l3=2");
        CHECK(e.after == "nA0/A5 0x104000: walk 4; nA0/A5 0x105000: walk 1; nA0/A5 0x200000: walk 1");
    }
    SECTION("VMID 0, ASID 1") {
        const Effect e = b.apply(Command::make(Opcode::TLBI_NH_ASID, {{cmd::VMID, 0}, {cmd::ASID, 1}}));
        CHECK(e.removed == 13);
        CHECK(e.caches == "iotlb=3 utlb=3 walk_s1_l0=1 walk_s1_l1=2 walk_s1_l2=2 walk_s1_l3=2");
        CHECK(e.after == "s1/A1 0x10000000: walk 4; s1/A1 0x10001000: walk 1; s1/A1 0x40000000: walk 2");
    }
    SECTION("VMID 0, ASID 3: its global leaf stays (TLB and walk cache), its table entries go") {
        const Effect e = b.apply(Command::make(Opcode::TLBI_NH_ASID, {{cmd::VMID, 0}, {cmd::ASID, 3}}));
        CHECK(e.removed == 3);
        CHECK(e.caches == "walk_s1_l0=1 walk_s1_l1=1 walk_s1_l2=1");
        CHECK(e.after == "");
    }
}

TEST_CASE("TLBI_NH_VA removes one VA of one ASID and global entries, Leaf keeps table entries", "[invalidation]") {
    Bench b;
    b.warm();
    SECTION("single address, Leaf=1: the leaf only") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VA, 0, 1, 0x1000'0000, true));
        CHECK(e.removed == 3);
        CHECK(e.caches == "iotlb=1 utlb=1 walk_s1_l3=1");
        CHECK(e.after == "s1/A1 0x10000000: walk 1");  // the level 2 table entry stayed
    }
    SECTION("single address, Leaf=0: the table entries on its path too") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VA, 0, 1, 0x1000'0000, false));
        CHECK(e.removed == 6);
        CHECK(e.caches == "iotlb=1 utlb=1 walk_s1_l0=1 walk_s1_l1=1 walk_s1_l2=1 walk_s1_l3=1");
        CHECK(e.after == "s1/A1 0x10000000: walk 4");
    }
    SECTION("an address inside a 2 MiB block removes the block, Leaf=0") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VA, 0, 1, 0x4012'3000, false));
        CHECK(e.removed == 5);
        CHECK(e.caches == "iotlb=1 utlb=1 walk_s1_l0=1 walk_s1_l1=1 walk_s1_l2=1");
        CHECK(e.after == "s1/A1 0x40000000: walk 3");
    }
    SECTION("another ASID's global entry for the VA goes (walk-cache leaf included)") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VA, 0, 1, 0x3000'0000, true));
        CHECK(e.removed == 3);
        CHECK(e.caches == "iotlb=1 utlb=1 walk_s1_l3=1");
        CHECK(e.after == "s1x/A3 0x30000000: walk 1");
    }
    SECTION("range: TG=4K, NUM=1, SCALE=0 is two pages") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VA, 0, 1, 0x1000'0000, true, 1, 1, 0));
        CHECK(e.removed == 6);
        CHECK(e.caches == "iotlb=2 utlb=2 walk_s1_l3=2");
        CHECK(e.after == "s1/A1 0x10000000: walk 1; s1/A1 0x10001000: walk 1");
    }
    SECTION("range: TG=4K, NUM=0, SCALE=9 is 2 MiB: the block leaf") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VA, 0, 1, 0x4000'0000, true, 1, 0, 9));
        CHECK(e.removed == 3);
        CHECK(e.caches == "iotlb=1 utlb=1 walk_s1_l2=1");
        CHECK(e.after == "s1/A1 0x40000000: walk 1");
    }
    SECTION("range: TG=16K, NUM=0 is 16K (4 pages) of ASID 2, Leaf=0") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VA, 0, 2, 0x1000'0000, false, 2, 0, 0));
        CHECK(e.removed == 9);
        CHECK(e.caches == "iotlb=2 utlb=2 walk_s1_l0=1 walk_s1_l1=1 walk_s1_l2=1 walk_s1_l3=2");
        CHECK(e.after == "s1/A2 0x10000000: walk 4; s1/A2 0x10001000: walk 1");
    }
    SECTION("VMID 1, ASID 5: nested entry; ASID 5 of VMID 2 stays") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VA, kVmidA, 5, 0x10'4000, true));
        CHECK(e.removed == 3);
        CHECK(e.caches == "iotlb=1 utlb=1 walk_s1_l3=1");
        CHECK(e.after == "nA0/A5 0x104000: walk 1");
    }
}

TEST_CASE("TLBI_NH_VAA removes one VA of every ASID of one VMID", "[invalidation]") {
    Bench b;
    b.warm();
    SECTION("Leaf=0") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VAA, 0, 0, 0x1000'0000, false));
        CHECK(e.removed == 14);
        // ASIDs 1 and 2 whole paths; ASID 3's level 0 and 1 tables cover the VA too.
        CHECK(e.caches == "iotlb=2 utlb=2 walk_s1_l0=3 walk_s1_l1=3 walk_s1_l2=2 walk_s1_l3=2");
        CHECK(e.after == "s1/A1 0x10000000: walk 4; s1/A2 0x10000000: walk 4");
    }
    SECTION("Leaf=1") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VAA, 0, 0, 0x1000'0000, true));
        CHECK(e.removed == 6);
        CHECK(e.caches == "iotlb=2 utlb=2 walk_s1_l3=2");
        CHECK(e.after == "s1/A1 0x10000000: walk 1; s1/A2 0x10000000: walk 1");
    }
    SECTION("the global page") {
        const Effect e = b.apply(nh_va(Opcode::TLBI_NH_VAA, 0, 0, 0x3000'0000, true));
        CHECK(e.removed == 3);
        CHECK(e.caches == "iotlb=1 utlb=1 walk_s1_l3=1");
        CHECK(e.after == "s1x/A3 0x30000000: walk 1");
    }
}

TEST_CASE("TLBI_EL2_*: no stream uses the EL2 regime, nothing is removed", "[invalidation]") {
    Bench b;
    b.warm();
    for (const Command& c : {Command::make(Opcode::TLBI_EL2_ALL),
                             Command::make(Opcode::TLBI_EL2_ASID, {{cmd::ASID, 1}}),
                             Command::make(Opcode::TLBI_EL2_VA, {{cmd::ASID, 1}, {cmd::VA, 0x1000'0000}}),
                             Command::make(Opcode::TLBI_EL2_VAA, {{cmd::VA, 0x1000'0000}})}) {
        INFO(c.info()->name);
        const Effect e = b.apply(c);
        CHECK(e.removed == 0);
        CHECK(e.caches == "");
        CHECK(e.after == "");
    }
}

// ---------------------------------------------------------------------------
// Stage 2 and all-VMID invalidation (IHI 0070 4.4.3-4.4.5).

TEST_CASE("TLBI_S12_VMALL removes everything of one VMID, IPA cache and stage 2 walk caches included",
          "[invalidation]") {
    Bench b;
    b.warm();
    const Effect e = b.apply(Command::make(Opcode::TLBI_S12_VMALL, {{cmd::VMID, kVmidA}}));
    CHECK(e.removed == 72);
    CHECK(e.caches ==
          "iotlb=8 ipa=19 utlb=8 walk_s1_l0=3 walk_s1_l1=3 walk_s1_l2=4 walk_s1_l3=4 "
          "walk_s2_l0=1 walk_s2_l1=1 walk_s2_l2=3 walk_s2_l3=18");
    // nA0/A5 0x104000: 4 stage 2 reads for the first table's IPA, 1 for each
    // other table (the level 2 S2 entry is back), 4 stage 1 reads, 2 for the
    // output IPA (a new level 2 S2 table) = 13. The configuration stayed: no CD fetch.
    CHECK(e.after ==
          "nA0/A5 0x104000: walk 13; nA0/A5 0x105000: walk 2; nA0/A5 0x200000: walk 2; "
          "nA0/A6 0x104000: walk 9; nA1/A7 0x104000: walk 8; "
          "s2A 0x80208000: walk 1; s2A 0x80205000: walk 0; s2A 0x80600000: walk 0");
}

TEST_CASE("TLBI_S2_IPA removes stage 2 entries of one VMID in range, nested combined entries stay",
          "[invalidation]") {
    Bench b;
    b.warm();
    auto nested_entry_kept = [&](uint64_t va) {
        unsigned n = 0;
        b.core.unit().iotlb().for_each([&](const TlbEntry& t) {
            n += t.kind == TlbKind::Stage1 && t.vmid == kVmidA && t.asid == 5 && t.covers(va);
        });
        return n == 1;
    };
    SECTION("single IPA, Leaf=1") {
        const Effect e = b.apply(s2_ipa(kVmidA, 0x8020'5000, true));
        CHECK(e.removed == 4);
        CHECK(e.caches == "iotlb=1 ipa=1 utlb=1 walk_s2_l3=1");
        // nA0's VA 0x105000 -> IPA 0x80205000 is a combined entry: it stays
        // (IHI 0070 4.4.4: software follows with TLBI_NH_ALL / S12_VMALL).
        CHECK(e.after == "s2A 0x80205000: walk 1");
        CHECK(nested_entry_kept(0x10'5000));
    }
    SECTION("single IPA, Leaf=0: the stage 2 table entries on its path too") {
        const Effect e = b.apply(s2_ipa(kVmidA, 0x8020'5000, false));
        CHECK(e.removed == 7);
        CHECK(e.caches == "iotlb=1 ipa=1 utlb=1 walk_s2_l0=1 walk_s2_l1=1 walk_s2_l2=1 walk_s2_l3=1");
        CHECK(e.after == "s2A 0x80205000: walk 4");
        CHECK(nested_entry_kept(0x10'5000));
    }
    SECTION("range: TG=4K, NUM=1 covers IPA 0x80204000-0x80205fff; VMID 2's entries stay") {
        const Effect e = b.apply(s2_ipa(kVmidA, 0x8020'4000, true, 1, 1, 0));
        CHECK(e.removed == 6);
        CHECK(e.caches == "iotlb=1 ipa=2 utlb=1 walk_s2_l3=2");
        CHECK(e.after == "s2A 0x80205000: walk 1");
        CHECK(nested_entry_kept(0x10'4000));
        CHECK(nested_entry_kept(0x10'5000));
    }
    SECTION("an IPA inside a 2 MiB stage 2 block, Leaf=1: the block leaf") {
        const Effect e = b.apply(s2_ipa(kVmidA, 0x8061'2000, true));
        CHECK(e.removed == 4);
        CHECK(e.caches == "iotlb=1 ipa=1 utlb=1 walk_s2_l2=1");
        CHECK(e.after == "s2A 0x80600000: walk 1");
        CHECK(nested_entry_kept(0x20'0000));
    }
}

TEST_CASE("TLBI_NSNH_ALL removes every TLB, walk-cache and IPA-cache entry, no configuration", "[invalidation]") {
    Bench b;
    b.warm();
    const Effect e = b.apply(Command::make(Opcode::TLBI_NSNH_ALL));
    CHECK(e.removed == 126);
    CHECK(e.caches ==
          "iotlb=16 ipa=26 utlb=16 walk_s1_l0=7 walk_s1_l1=8 walk_s1_l2=9 walk_s1_l3=10 "
          "walk_s2_l0=2 walk_s2_l1=2 walk_s2_l2=5 walk_s2_l3=25");
    CHECK(e.after ==
          "s1/A1 0x10000000: walk 4; s1/A1 0x10001000: walk 1; s1/A1 0x40000000: walk 2; "
          "s1/A2 0x10000000: walk 4; s1/A2 0x10001000: walk 1; s1x/A3 0x30000000: walk 4; "
          "nA0/A5 0x104000: walk 13; nA0/A5 0x105000: walk 2; nA0/A5 0x200000: walk 2; "
          "nA0/A6 0x104000: walk 9; nA1/A7 0x104000: walk 8; nB/A5 0x104000: walk 13; "
          "s2A 0x80208000: walk 1; s2A 0x80205000: walk 0; s2A 0x80600000: walk 0; s2B 0x80208000: walk 1");
}

// ---------------------------------------------------------------------------
// Commands that remove nothing here.

TEST_CASE("ATC_INV removes nothing from the SMMU's own caches", "[invalidation]") {
    Bench b;
    b.warm();
    const Effect e =
        b.apply(Command::make(Opcode::ATC_INV, {{cmd::SID, kS1}, {cmd::AtcAddr, 0x1000'0000}, {cmd::AtcSize, 0}}));
    CHECK(e.removed == 0);
    CHECK(e.caches == "");
    CHECK(e.after == "");
}

TEST_CASE("SYNC removes nothing", "[invalidation]") {
    Bench b;
    b.warm();
    const Snapshot before = b.snap();
    const uint64_t removed = b.core.stats().invalidated_entries;
    b.drv.sync();
    CHECK(b.core.stats().invalidated_entries == removed);
    CHECK(deltas(before, b.snap(), &CacheStats::invalidations) == "");
    CHECK(b.reprobe() == "");
}

TEST_CASE("PREFETCH_CONFIG fills the configuration cache only", "[invalidation]") {
    Bench b;
    b.warm();
    b.flush();
    {
        const Snapshot before = b.snap();
        CHECK(b.run(Command::make(Opcode::PREFETCH_CONFIG, {{cmd::SID, kNA0}, {cmd::SSV, 1}, {cmd::SSID, 1}})) == 0);
        const Snapshot after = b.snap();
        CHECK(stat(after, "config", &CacheStats::fills) - stat(before, "config", &CacheStats::fills) == 1);
        CHECK(stat(after, "iotlb", &CacheStats::fills) == stat(before, "iotlb", &CacheStats::fills));
        const Probe p = b.probe(kNA0, 0x10'4000, 1);
        CHECK(p.config);
        CHECK(p.config_reads == 0);
        CHECK_FALSE(p.iotlb);
        CHECK(p.r.pa == 0x1'0020'c000);
        // The untagged configuration was not prefetched.
        CHECK_FALSE(b.probe(kNA0, 0x10'4000).config);
    }
}

TEST_CASE("PREFETCH_ADDR fills the configuration cache and the IOTLB", "[invalidation]") {
    Bench b;
    b.warm();
    b.flush();
    SECTION("nested: configuration and translation") {
        const Snapshot before = b.snap();
        CHECK(b.run(Command::make(Opcode::PREFETCH_ADDR, {{cmd::SID, kNA1}, {cmd::PrefetchAddr, 0x10'4000}})) == 0);
        const Snapshot after = b.snap();
        CHECK(stat(after, "config", &CacheStats::fills) - stat(before, "config", &CacheStats::fills) == 1);
        CHECK(stat(after, "iotlb", &CacheStats::fills) - stat(before, "iotlb", &CacheStats::fills) == 1);
        const Probe p = b.probe(kNA1, 0x10'4abc);
        CHECK_FALSE(p.utlb);  // prefetch fills the IOTLB, not a port's micro-TLB
        CHECK(p.config);
        CHECK(p.iotlb);
        CHECK(p.walk_reads == 0);
        CHECK(p.config_reads == 0);
        CHECK(p.r.pa == 0x1'0020'4abc);
    }
    SECTION("stage 1, the global page") {
        CHECK(b.run(Command::make(Opcode::PREFETCH_ADDR, {{cmd::SID, kS1x}, {cmd::PrefetchAddr, 0x3000'0000}})) == 0);
        const Probe p = b.probe(kS1x, 0x3000'0010);
        CHECK(p.iotlb);
        CHECK(p.walk_reads == 0);
        CHECK(p.r.pa == 0x7'0000'0010);
        CHECK(p.r.global);
    }
}

// ---------------------------------------------------------------------------
// Block entries and cached stage 2 leaves.

TEST_CASE("A 2 MiB block entry hits for every address in it in a 4-way IOTLB (gem5 indexed by 4K page)",
          "[invalidation]") {
    SECTION("Tlb") {
        Tlb tlb(CacheGeometry{64, 4, Replacement::Lru, 1});
        TlbEntry block;
        block.kind = TlbKind::Stage1;
        block.vmid = 1;
        block.asid = 5;
        block.shift = 21;
        block.level = 2;
        block.in_base = 0x4000'0000;
        block.out_base = 0x5'4000'0000;
        tlb.fill(block);
        // 4K entries of the same regime in the sets the block's 4K pages index.
        for (uint64_t i = 0; i < 16; ++i) {
            TlbEntry page = block;
            page.shift = 12;
            page.level = 3;
            page.in_base = 0x7000'0000 + (i << 12);
            page.out_base = 0x6'0000'0000 + (i << 12);
            tlb.fill(page);
        }
        unsigned hits = 0;
        for (uint64_t a = 0x4000'0000; a < 0x4020'0000; a += 0x1000) {
            const TlbEntry* e = tlb.lookup(TlbKind::Stage1, 1, 5, a + 0xabc);
            hits += e && e->shift == 21 && e->out_base == 0x5'4000'0000;
        }
        CHECK(hits == 512);
        CHECK(tlb.lookup(TlbKind::Stage1, 1, 5, 0x401f'ffff) != nullptr);
        CHECK(tlb.lookup(TlbKind::Stage1, 1, 5, 0x4020'0000) == nullptr);
        CHECK(tlb.lookup(TlbKind::Stage1, 1, 5, 0x3fff'ffff) == nullptr);
        CHECK(tlb.lookup(TlbKind::Stage1, 1, 6, 0x4000'0000) == nullptr);  // another ASID
        CHECK(tlb.lookup(TlbKind::Stage1, 1, 5, 0x7000'f123)->out_base == 0x6'0000'f000);
    }
    SECTION("SmmuCore: stage 1 and nested blocks, no micro-TLB") {
        Config c = platform_config();
        c.smmu.caches.erase("utlb");
        Bench b(c);
        b.make_global(kS1x, 0x3000'0000);  // as warm() does; unused here
        struct Block {
            uint32_t sid;
            uint64_t base, pa;
        };
        for (const Block& blk : {Block{kS1, 0x4000'0000, 0x5'4000'0000}, Block{kNA0, 0x20'0000, 0x1'0060'0000}}) {
            const uint32_t sid = blk.sid;
            const uint64_t base = blk.base, pa = blk.pa;
            INFO("SID " << sid);
            const Probe first = b.probe(sid, base + 0x1f'f000);
            CHECK_FALSE(first.iotlb);
            CHECK(first.r.size == 2 * kMiB);
            unsigned hits = 0, reads = 0;
            for (uint64_t off = 0; off < 2 * kMiB; off += 0x1000) {
                const Probe p = b.probe(sid, base + off + 0x10);
                hits += p.iotlb && p.r.pa == pa + off + 0x10;
                reads += p.walk_reads + p.config_reads;
            }
            CHECK(hits == 512);
            CHECK(reads == 0);
            CHECK_FALSE(b.probe(sid, base + 2 * kMiB).iotlb);
        }
    }
}

TEST_CASE("A nested walk hitting cached stage 2 leaves yields PAs, not IPAs", "[invalidation]") {
    // Only the stage 2 walk caches (and the configuration cache): every stage 2
    // translation of a nested walk after the first comes from a cached leaf.
    Config c = platform_config();
    for (const char* n : {"iotlb", "utlb", "ipa", "walk_s1_l0", "walk_s1_l1", "walk_s1_l2", "walk_s1_l3"})
        c.smmu.caches.erase(n);
    Bench b(c);
    const Probe cold = b.probe(kNA0, 0x10'4000);
    REQUIRE(cold.r.pa == 0x1'0020'4000);
    const Snapshot before = b.snap();

    std::vector<MemAccess> trace;
    AccessLog log;
    log.trace = &trace;
    TranslationRequest req;
    req.sid = kNA0;
    req.iova = 0x10'4abc;
    const TranslationResult r = b.core.translate(req, log);
    CHECK(r.outcome == Outcome::Translated);
    CHECK(r.ipa == 0x8020'4abc);
    CHECK(r.pa == 0x1'0020'4abc);
    // Four stage 1 reads, at the tables' PAs: each table IPA (guest RAM at
    // 0x9000_0000) was translated by a cached stage 2 leaf.
    REQUIRE(trace.size() == 4);
    for (const MemAccess& a : trace) {
        CHECK(a.kind == AccessKind::S1Table);
        CHECK(a.pa >> 28 != 0x9);
        CHECK(a.pa >= b.cfg.memory.table_base);
        CHECK(a.pa < b.cfg.memory.table_base + b.cfg.memory.table_size);
    }
    CHECK(deltas(before, b.snap(), &CacheStats::hits) == "config=1 walk_s2_l3=5");

    SECTION("a 2 MiB stage 2 block leaf, from the nested walk and then for stage 2 only traffic") {
        CHECK(b.probe(kNA0, 0x20'0000).r.pa == 0x1'0060'0000);  // fills the S2 level 2 leaf
        const Probe n = b.probe(kNA0, 0x21'2345);
        CHECK(n.r.pa == 0x1'0061'2345);
        CHECK(n.walk_reads == 3);  // stage 1 only
        const Probe s2 = b.probe(kS2A, 0x8061'2345);
        CHECK(s2.r.pa == 0x1'0061'2345);
        CHECK(s2.walk_reads == 0);
        const Probe s2p = b.probe(kS2A, 0x8020'4ff8);  // level 3 leaf of the nested walk
        CHECK(s2p.r.pa == 0x1'0020'4ff8);
        CHECK(s2p.walk_reads == 0);
    }
}

// Found by fuzz_smmu (docs/fuzzing.md): a nested stream's CD is fetched
// through stage 2, so a CD cached after CFGI_ALL but before the stage 2
// entries are invalidated was fetched through the old stage 2 mapping, and
// TLBI_NSNH_ALL does not remove configuration. TLB and configuration
// invalidations are separate (IHI 0070 3.21.1, 3.21.3): when a CD's stage 2
// mapping changes, software invalidates stage 2 first, then the CD.
TEST_CASE("A nested CD is as fresh as the stage 2 entries it was fetched through: TLBI first, then CFGI",
          "[invalidation][fuzz]") {
    Bench b;
    b.warm();
    // The stage 2 leaf that maps nA0's CD (an IPA in guest RAM), from an
    // uncached walk: the last stage 2 read before the CD read.
    uint64_t leaf = 0, cd_pa = 0;
    for (const MemAccess& a : b.fresh_reads(kNA0, 0x10'4000)) {
        if (a.kind == AccessKind::Cd) {
            cd_pa = a.pa;
            break;
        }
        if (a.kind == AccessKind::S2Table) leaf = a.pa;
    }
    REQUIRE(leaf != 0);
    REQUIRE(cd_pa != 0);
    // The host moves the CD's page: a copy at a fresh PA with this CD made
    // invalid, and the stage 2 leaf pointed at it.
    constexpr uint64_t kMoved = 0x3'0000'0000, kPage = 0xfff, kOa = 0x0000'ffff'ffff'f000;
    std::vector<uint8_t> page(kPage + 1);
    REQUIRE(b.mem.read(cd_pa & ~kPage, page.data(), static_cast<unsigned>(page.size())));
    REQUIRE(b.mem.write(kMoved, page.data(), static_cast<unsigned>(page.size())));
    ContextDescriptor cd;
    REQUIRE(b.mem.read_words(kMoved + (cd_pa & kPage), cd.w.data(), ContextDescriptor::kDwords));
    cd.set(cd::V, 0);
    REQUIRE(b.mem.write_words(kMoved + (cd_pa & kPage), cd.w.data(), ContextDescriptor::kDwords));
    uint64_t d = 0;
    REQUIRE(b.mem.read64(leaf, d));
    REQUIRE((d & kOa) == (cd_pa & ~kPage));
    REQUIRE(b.mem.write64(leaf, (d & ~kOa) | kMoved));
    const Command cfgi_all = Command::make(Opcode::CFGI_STE_RANGE, {{cmd::Range, 31}});
    const Command tlbi_all = Command::make(Opcode::TLBI_NSNH_ALL);

    SECTION("CFGI_ALL, a DMA, TLBI_NSNH_ALL: the old CD stays cached until the next CFGI") {
        b.run(cfgi_all);
        Probe p = b.probe(kNA0, 0x10'4000);  // STE and CD fetched, the CD through the old leaf
        CHECK_FALSE(p.config);
        CHECK(p.r.pa == 0x1'0020'4000);
        b.run(tlbi_all);
        p = b.probe(kNA0, 0x10'4000);
        CHECK(p.config);  // still the CD read through the old mapping
        CHECK(p.r.pa == 0x1'0020'4000);
        b.run(cfgi_all);
        p = b.probe(kNA0, 0x10'4000);
        CHECK(p.r.outcome == Outcome::Faulted);
        CHECK(p.r.fault.id == EventId::C_BAD_CD);
    }
    SECTION("TLBI_NSNH_ALL, then CFGI_ALL: the new CD at once") {
        b.run(tlbi_all);
        b.run(cfgi_all);
        const Probe p = b.probe(kNA0, 0x10'4000);
        CHECK_FALSE(p.config);
        CHECK(p.r.outcome == Outcome::Faulted);
        CHECK(p.r.fault.id == EventId::C_BAD_CD);
    }
}
