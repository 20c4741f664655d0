// Functional translation (Translator::translate) over stream tables, CDs and
// VMSAv8-64 page tables laid out BY HAND in a SparseMemory: explicit addresses,
// raw descriptor values computed from the architecture, no project table builder.
//
// Descriptor values used below (Arm ARM D8.3):
//   table           = next_table | 0b11
//   S1 page, RW EL0 = oa | 0b11 | AF(0x400) | AP=0b01 (0x040)   -> oa | 0x443
//   S1 page, RO EL0 = oa | 0b11 | AF | AP=0b11 (0x0C0)           -> oa | 0x4C3
//   S1 block RW EL0 = oa | 0b01 | AF | AP=0b01                   -> oa | 0x441
//   S2 page RW      = oa | 0b11 | AF | S2AP=0b11 (0x0C0)         -> oa | 0x4C3
//   S2 page RO      = oa | 0b11 | AF | S2AP=0b01 (0x040)         -> oa | 0x443
//   S2 block RW     = oa | 0b01 | AF | S2AP=0b11                 -> oa | 0x4C1
#include <catch2/catch.hpp>

#include <tuple>
#include <vector>

#include "models/arch/cd.h"
#include "models/arch/event.h"
#include "models/arch/ste.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/smmu_core.h"
#include "models/smmu/translation/translator.h"

using namespace smmu;
using namespace smmu::arch;
using Outcome = TranslationResult::Outcome;

namespace {

constexpr uint64_t kStrtab = 0x0001'0000;  // linear stream table, LOG2SIZE 8 (64-byte STEs)

// CD dw0: T0SZ=16 (48-bit VA), TG0=4K, EPD1 (bit 30: no TTB1 range), V (bit 31), IPS=0b101
// (48 bits), AA64 (bit 41), ASID 0x42.
constexpr uint64_t kCd0 = 0x0042'0205'C000'0010ull;
// STE dw2 (stage 2): S2T0SZ=16 (bits 37:32), S2SL0=2 (bits 39:38, start level 0), S2TG=4K,
// S2PS=0b101 (48 bits, bits 50:48), S2AA64 (bit 51).
constexpr uint64_t kS2Vtcr48 = 0x000D'0090'0000'0000ull;

// The test VA/IPA: 4K indices L0=1, L1=2, L2=3, L3=4, offset 0x567.
constexpr uint64_t kVa = (1ull << 39) | (2ull << 30) | (3ull << 21) | (4ull << 12) | 0x567;
static_assert(kVa == 0x0000'0080'8060'4567ull);

struct Rig {
    SparseMemory mem;
    SmmuCaps caps;
    Translator tr{mem, caps};
    StreamTableConfig st;
    std::vector<MemAccess> trace;
    AccessLog log;

    explicit Rig(unsigned pa_bits = 52) : mem(pa_bits) {
        st.base = kStrtab;
        st.log2size = 8;
    }
    void w64(uint64_t pa, uint64_t v) { REQUIRE(mem.write64(pa, v)); }
    void ste_dw(uint32_t sid, unsigned dw, uint64_t v) { w64(st.base + sid * 64ull + dw * 8ull, v); }
    TranslationResult run(const TranslationRequest& req) {
        trace.clear();
        log = AccessLog{};
        log.trace = &trace;
        return tr.translate(st, req, log);
    }
};

TranslationRequest rq(uint32_t sid, uint64_t iova, bool write = false) {
    TranslationRequest r;
    r.sid = sid;
    r.iova = iova;
    r.write = write;
    return r;
}
TranslationRequest rq_ssid(uint32_t sid, uint32_t ssid, uint64_t iova) {
    TranslationRequest r = rq(sid, iova);
    r.ssv = true;
    r.ssid = ssid;
    return r;
}

EventRecord event_of(const TranslationRequest& req, const TranslationResult& r) {
    REQUIRE(r.outcome == Outcome::Faulted);
    REQUIRE(r.records_event());
    return make_event(req, r.fault);
}

// Stage 1 only (SID 1), 4K, 48-bit VA, linear CD table, CD 0.
//   STE @ 0x10040: dw0 = 0x10000B (V, Config=0b101, S1ContextPtr=0x100000)
//   CD  @ 0x100000: dw0 = cd0, dw1 TTB0 = 0x200000
//   L0 @ 0x200000 [1] -> L1 @ 0x201000 [2] -> L2 @ 0x202000 [3] -> L3 @ 0x203000 [4] = leaf
void layout_s1(Rig& r, uint64_t leaf, uint64_t cd0 = kCd0) {
    r.ste_dw(1, 0, 0x0010'000Bull);
    r.w64(0x10'0000, cd0);
    r.w64(0x10'0008, 0x20'0000);
    r.w64(0x20'0008, 0x20'1003);
    r.w64(0x20'1010, 0x20'2003);
    r.w64(0x20'2018, 0x20'3003);
    r.w64(0x20'3020, leaf);
}
constexpr uint64_t kS1Leaf = 0x0ABC'D000ull | 0x443;  // -> PA 0x0ABCD567

// Stage 2 only (SID 2), 4K, 48-bit IPA, S2SL0=2 (start level 0).
//   STE @ 0x10080: dw0 = 0xD (V, Config=0b110), dw2 = vtcr, dw3 S2TTB = 0x300000
//   L0 @ 0x300000 [1] -> L1 @ 0x301000 [2] -> L2 @ 0x302000 [3] -> L3 @ 0x303000 [4] = leaf
void layout_s2(Rig& r, uint64_t leaf, uint64_t vtcr = kS2Vtcr48) {
    r.ste_dw(2, 0, 0xD);
    r.ste_dw(2, 2, vtcr);
    r.ste_dw(2, 3, 0x30'0000);
    r.w64(0x30'0008, 0x30'1003);
    r.w64(0x30'1010, 0x30'2003);
    r.w64(0x30'2018, 0x30'3003);
    r.w64(0x30'3020, leaf);
}
constexpr uint64_t kS2Leaf = 0x0DEF'0000ull | 0x4C3;  // -> PA 0x0DEF0567

// Nested (SID 3), 4K/48-bit at both stages, linear stream and CD tables.
//   STE @ 0x100C0: dw0 = 0x4000000F (V, Config=0b111, S1ContextPtr = IPA 0x40000000),
//                  dw2 = vtcr | S2VMID 5, dw3 S2TTB = 0x2000000
//   Stage 2 (PA): L0 @ 0x2000000 [0] -> L1 @ 0x2001000 [1] -> L2 @ 0x2002000 [0] -> L3 @ 0x2003000:
//     [k] IPA 0x40000000 + k*4K -> PA 0x30000000 + k*4K (k = 0..4), [5] IPA 0x40005000 -> PA 0x76543000
//   CD at IPA 0x40000000 (PA 0x30000000), TTB0 = IPA 0x40001000
//   Stage 1 tables at IPAs 0x40001000 (L0), 0x40002000 (L1), 0x40003000 (L2), 0x40004000 (L3);
//   the leaf maps kVa to IPA 0x40005000.
void layout_nested(Rig& r) {
    r.ste_dw(3, 0, 0x4000'000Full);
    r.ste_dw(3, 2, kS2Vtcr48 | 5);
    r.ste_dw(3, 3, 0x200'0000);
    r.w64(0x200'0000, 0x200'1003);
    r.w64(0x200'1008, 0x200'2003);
    r.w64(0x200'2000, 0x200'3003);
    for (uint64_t k = 0; k < 5; ++k) r.w64(0x200'3000 + 8 * k, (0x3000'0000 + k * 0x1000) | 0x4C3);
    r.w64(0x200'3028, 0x7654'3000 | 0x4C3);
    r.w64(0x3000'0000, kCd0);
    r.w64(0x3000'0008, 0x4000'1000);
    r.w64(0x3000'1008, 0x4000'2003);
    r.w64(0x3000'2010, 0x4000'3003);
    r.w64(0x3000'3018, 0x4000'4003);
    r.w64(0x3000'4020, 0x4000'5000 | 0x443);
}

using Step = std::tuple<AccessKind, unsigned, uint64_t>;  // kind, level, PA
std::vector<Step> steps(const std::vector<MemAccess>& t) {
    std::vector<Step> out;
    for (const MemAccess& a : t) out.emplace_back(a.kind, a.level, a.pa);
    return out;
}
// The four reads of a stage 2 walk of an IPA in 0x40000000..0x401FFFFF, page k.
void s2_walk(std::vector<Step>& v, uint64_t k) {
    v.emplace_back(AccessKind::S2Table, 0, 0x200'0000);
    v.emplace_back(AccessKind::S2Table, 1, 0x200'1008);
    v.emplace_back(AccessKind::S2Table, 2, 0x200'2000);
    v.emplace_back(AccessKind::S2Table, 3, 0x200'3000 + 8 * k);
}

}  // namespace

// ---------------------------------------------------------------------------
// Walk costs and results
// ---------------------------------------------------------------------------

TEST_CASE("Cold nested walk: 28 table-walk reads and 2 configuration reads", "[walker][nested]") {
    Rig r;
    layout_nested(r);
    const auto req = rq(3, kVa);
    const TranslationResult res = r.run(req);
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x7654'3567);
    CHECK(res.ipa == 0x4000'5567);
    CHECK(res.size == 0x1000);
    CHECK(res.s1_level == 3);
    CHECK(res.s2_level == 3);
    CHECK(res.perms.read);
    CHECK(res.perms.write);
    CHECK(r.log.walk_reads == 28);   // 4 S1 + 6 S2 walks of 4 (CD, 4 S1 tables, output)
    CHECK(r.log.config_reads == 2);  // STE, CD
    REQUIRE(r.trace.size() == 30);

    std::vector<Step> expect;
    expect.emplace_back(AccessKind::Ste, 0, 0x1'00C0);
    s2_walk(expect, 0);  // the CD's IPA first
    expect.emplace_back(AccessKind::Cd, 0, 0x3000'0000);
    s2_walk(expect, 1);
    expect.emplace_back(AccessKind::S1Table, 0, 0x3000'1008);
    s2_walk(expect, 2);
    expect.emplace_back(AccessKind::S1Table, 1, 0x3000'2010);
    s2_walk(expect, 3);
    expect.emplace_back(AccessKind::S1Table, 2, 0x3000'3018);
    s2_walk(expect, 4);
    expect.emplace_back(AccessKind::S1Table, 3, 0x3000'4020);
    s2_walk(expect, 5);  // the output IPA last
    CHECK(steps(r.trace) == expect);

    // What each stage 2 walk translated, and the values read.
    CHECK(r.trace[1].input == 0x4000'0000);
    CHECK(r.trace[6].input == 0x4000'1008);
    CHECK(r.trace[10].input == kVa);
    CHECK(r.trace[26].input == 0x4000'5567);
    CHECK(r.trace[25].value == (0x4000'5000 | 0x443));
    CHECK(r.trace[29].value == (0x7654'3000 | 0x4C3));
    for (const MemAccess& a : r.trace) CHECK(a.ok);

    // No caches: the same translation again costs the same.
    const TranslationResult again = r.run(req);
    CHECK(again.pa == 0x7654'3567);
    CHECK(r.log.walk_reads == 28);
    CHECK(r.log.config_reads == 2);
}

TEST_CASE("Nested with 2-level stream and CD tables: 36 fetches", "[walker][nested]") {
    Rig r;
    layout_nested(r);
    r.st.two_level = true;
    r.st.split = 8;
    r.st.log2size = 16;
    // SID 0x305: L1 index 3 -> L1STD @ 0x10018 = L2Ptr 0x90000 | Span 9 (256 STEs); STE @ 0x90000 + 5*64.
    r.w64(0x1'0018, 0x9'0009);
    // STE: V, Config=0b111, S1Fmt=1, S1ContextPtr = IPA 0x40000000 (L1CD table), S1CDMax=8.
    r.w64(0x9'0140, 0x4000'0000'4000'001Full);
    r.w64(0x9'0150, kS2Vtcr48);
    r.w64(0x9'0158, 0x200'0000);
    // SSID 0x83: L1CD index 2 @ IPA 0x40000010 (PA 0x30000010) -> L2Ptr IPA 0x40006000;
    // CD 3 of that leaf table @ IPA 0x400060C0 -> PA 0x300060C0 (stage 2 L3[6]).
    r.w64(0x3000'0010, 0x4000'6000 | 1);
    r.w64(0x200'3030, 0x3000'6000 | 0x4C3);
    r.w64(0x3000'60C0, kCd0);
    r.w64(0x3000'60C8, 0x4000'1000);

    const TranslationResult res = r.run(rq_ssid(0x305, 0x83, kVa));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x7654'3567);
    CHECK(r.log.config_reads == 4);  // L1STD, STE, L1CD, CD
    CHECK(r.log.walk_reads == 32);
    CHECK(r.log.config_reads + r.log.walk_reads == 36);
    std::vector<Step> head;
    head.emplace_back(AccessKind::L1Std, 1, 0x1'0018);
    head.emplace_back(AccessKind::Ste, 0, 0x9'0140);
    s2_walk(head, 0);
    head.emplace_back(AccessKind::L1Cd, 1, 0x3000'0010);
    s2_walk(head, 6);
    head.emplace_back(AccessKind::Cd, 0, 0x3000'60C0);
    const auto all = steps(r.trace);
    REQUIRE(all.size() == 36);
    CHECK(std::vector<Step>(all.begin(), all.begin() + 12) == head);
}

TEST_CASE("Stage 1 only: 4 walk reads", "[walker][s1]") {
    Rig r;
    layout_s1(r, kS1Leaf);
    const TranslationResult res = r.run(rq(1, kVa));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0ABC'D567);
    CHECK(res.ipa == 0x0ABC'D567);
    CHECK(res.size == 0x1000);
    CHECK(res.s1_level == 3);
    CHECK(res.perms.read);
    CHECK(res.perms.write);
    CHECK(res.global);
    CHECK(r.log.walk_reads == 4);
    CHECK(r.log.config_reads == 2);
    const std::vector<Step> expect{{AccessKind::Ste, 0, 0x1'0040},       {AccessKind::Cd, 0, 0x10'0000},
                                   {AccessKind::S1Table, 0, 0x20'0008},  {AccessKind::S1Table, 1, 0x20'1010},
                                   {AccessKind::S1Table, 2, 0x20'2018},  {AccessKind::S1Table, 3, 0x20'3020}};
    CHECK(steps(r.trace) == expect);

    // nG=1 (bit 11): a non-global translation.
    r.w64(0x20'3020, kS1Leaf | 0x800);
    CHECK_FALSE(r.run(rq(1, kVa)).global);
}

// Both stage 1 VA ranges (Arm ARM D8.2.3): TTB0 below, TTB1 above, VA[55]
// choosing. The upper range here: T1SZ=25 (39-bit), TG1=0b10 (4K), TTB1 =
// 0x400000, so it starts at level 1: VA 0xffff_ff80_8060_4567 has L1 index 2
// (bits 38:30), L2 3, L3 4.
TEST_CASE("Stage 1 upper VA range (TTB1): VA[55] picks it, EPD1, T1SZ and TBI1 apply", "[walker][s1]") {
    Rig r;
    constexpr uint64_t kHiVa = 0xffff'ff80'8060'4567ull;
    constexpr uint64_t kTtb1Fields = (25ull << 16) | (2ull << 22);  // T1SZ=25, TG1=4K
    layout_s1(r, kS1Leaf, (kCd0 & ~cd::EPD1.mask()) | kTtb1Fields);
    r.w64(0x10'0010, 0x40'0000);  // TTB1
    r.w64(0x40'0010, 0x40'1003);  // L1[2]
    r.w64(0x40'1018, 0x40'2003);  // L2[3]
    r.w64(0x40'2020, 0x0FED'C000ull | 0x443);  // L3[4] -> PA 0x0FEDC567

    TranslationResult res = r.run(rq(1, kHiVa));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0FED'C567);
    CHECK(r.log.walk_reads == 3);
    CHECK(steps(r.trace) == std::vector<Step>{{AccessKind::Ste, 0, 0x1'0040},
                                              {AccessKind::Cd, 0, 0x10'0000},
                                              {AccessKind::S1Table, 1, 0x40'0010},
                                              {AccessKind::S1Table, 2, 0x40'1018},
                                              {AccessKind::S1Table, 3, 0x40'2020}});
    // The lower range still walks TTB0.
    res = r.run(rq(1, kVa));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0ABC'D567);
    // VA[55] set but a bit above T1SZ clear: in neither range.
    res = r.run(rq(1, kHiVa & ~(1ull << 60)));
    REQUIRE(res.outcome == Outcome::Faulted);
    CHECK(res.fault.id == EventId::F_TRANSLATION);
    CHECK(r.log.walk_reads == 0);
    // With TBI1 the top byte is a tag; VA[55] still picks the range.
    layout_s1(r, kS1Leaf, (kCd0 & ~cd::EPD1.mask()) | kTtb1Fields | cd::TBI1.mask());
    res = r.run(rq(1, (kHiVa & ~(0xffull << 56)) | (0x5aull << 56)));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0FED'C567);
    // EPD1: the upper range faults without a walk.
    layout_s1(r, kS1Leaf, kCd0 | kTtb1Fields);
    res = r.run(rq(1, kHiVa));
    REQUIRE(res.outcome == Outcome::Faulted);
    CHECK(res.fault.id == EventId::F_TRANSLATION);
    CHECK(r.log.walk_reads == 0);
    // With EPD1=0 the TTB1 fields must be usable: TG1=0b00 (reserved), T1SZ
    // out of range, TTB1 beyond the IPS make the CD ILLEGAL; with EPD1=1 they
    // are ignored.
    for (const uint64_t bad : {(25ull << 16), (12ull << 16) | (2ull << 22)}) {
        layout_s1(r, kS1Leaf, (kCd0 & ~cd::EPD1.mask()) | bad);
        res = r.run(rq(1, kVa));
        REQUIRE(res.outcome == Outcome::Faulted);
        CHECK(res.fault.id == EventId::C_BAD_CD);
        layout_s1(r, kS1Leaf, kCd0 | bad);
        CHECK(r.run(rq(1, kVa)).outcome == Outcome::Translated);
    }
    layout_s1(r, kS1Leaf, (kCd0 & ~cd::EPD1.mask()) | kTtb1Fields);
    r.w64(0x10'0010, 1ull << 50);
    CHECK(r.run(rq(1, kVa)).fault.id == EventId::C_BAD_CD);
}

TEST_CASE("Stage 1, 39-bit VA (T0SZ=25) starts at level 1: 3 reads", "[walker][s1]") {
    Rig r;
    // CD: T0SZ=25, TTB0 = the level 1 table of the standard layout.
    layout_s1(r, kS1Leaf, (kCd0 & ~0x3Full) | 25);
    r.w64(0x10'0008, 0x20'1000);
    const TranslationResult res = r.run(rq(1, 0x8060'4567));  // L1 idx 2, L2 idx 3, L3 idx 4
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0ABC'D567);
    CHECK(r.log.walk_reads == 3);
    CHECK(r.trace[2].level == 1);
    CHECK(r.trace[2].pa == 0x20'1010);
}

TEST_CASE("Stage 2 only, 48-bit IPA, S2SL0=2: 4 reads", "[walker][s2]") {
    Rig r;
    layout_s2(r, kS2Leaf);
    const TranslationResult res = r.run(rq(2, kVa, true));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0DEF'0567);
    CHECK(res.ipa == kVa);
    CHECK(res.size == 0x1000);
    CHECK(res.s2_level == 3);
    CHECK(r.log.walk_reads == 4);
    CHECK(r.log.config_reads == 1);
    const std::vector<Step> expect{{AccessKind::Ste, 0, 0x1'0080},      {AccessKind::S2Table, 0, 0x30'0008},
                                   {AccessKind::S2Table, 1, 0x30'1010}, {AccessKind::S2Table, 2, 0x30'2018},
                                   {AccessKind::S2Table, 3, 0x30'3020}};
    CHECK(steps(r.trace) == expect);
}

TEST_CASE("Stage 2 only, 40-bit IPA, S2SL0=1: 2 concatenated level 1 tables, 3 reads", "[walker][s2]") {
    Rig r;
    // dw2: S2T0SZ=24 (0x18 << 32), S2SL0=1 (1 << 38), 4K, S2PS 48, S2AA64. S2TTB 0x400000 (8K aligned).
    r.ste_dw(2, 0, 0xD);
    r.ste_dw(2, 2, 0x000D'0058'0000'0000ull);
    r.ste_dw(2, 3, 0x40'0000);
    // IPA A = 0x1_4060_4567: L1 index 5 (first table), L2 3, L3 4.
    r.w64(0x40'0028, 0x41'0003);
    r.w64(0x41'0018, 0x41'1003);
    r.w64(0x41'1020, 0x55'5000 | 0x4C3);
    // IPA B = 0x81_C020_2ABC: L1 index 519 = the second table's entry 7 @ 0x401038, L2 1, L3 2.
    r.w64(0x40'1038, 0x41'2003);
    r.w64(0x41'2008, 0x41'3003);
    r.w64(0x41'3010, 0x66'6000 | 0x4C3);

    TranslationResult a = r.run(rq(2, 0x1'4060'4567ull));
    REQUIRE(a.outcome == Outcome::Translated);
    CHECK(a.pa == 0x55'5567);
    CHECK(r.log.walk_reads == 3);
    CHECK(r.trace[1].level == 1);
    CHECK(r.trace[1].pa == 0x40'0028);

    TranslationResult b = r.run(rq(2, 0x81'C020'2ABCull));
    REQUIRE(b.outcome == Outcome::Translated);
    CHECK(b.pa == 0x66'6ABC);
    CHECK(r.log.walk_reads == 3);
    CHECK(r.trace[1].level == 1);
    CHECK(r.trace[1].pa == 0x40'1038);

    // Beyond the 40-bit IPA: stage 2 translation fault without a walk.
    const auto far = rq(2, 0x100'0000'0000ull);
    const TranslationResult f = r.run(far);
    const EventRecord e = event_of(far, f);
    CHECK(e.id() == 0x10);
    CHECK(e.get(evt::S2) == 1);
    CHECK(e.get(evt::CLASS) == 2);
    CHECK(e.get(evt::IPA) == 0x100'0000'0000ull);
    CHECK(r.log.walk_reads == 0);

    // The SMMU aligns S2TTB to the concatenated table size (8K): bit 12 is ignored.
    r.ste_dw(2, 3, 0x40'1000);
    a = r.run(rq(2, 0x1'4060'4567ull));
    REQUIRE(a.outcome == Outcome::Translated);
    CHECK(a.pa == 0x55'5567);
    CHECK(r.trace[1].pa == 0x40'0028);
}

TEST_CASE("Stage 2 start level with 16 concatenated tables, and one too many", "[walker][s2]") {
    Rig r;
    // 43-bit IPA (S2T0SZ=21) at level 1: 13 bits = 16 concatenated tables. S2TTB 0x800000 (64K aligned).
    r.ste_dw(2, 0, 0xD);
    r.ste_dw(2, 2, 0x000D'0055'0000'0000ull);
    r.ste_dw(2, 3, 0x80'0000);
    // IPA 0x7FF_C000_0000: L1 index 0x1FFF -> last entry of the 16th table @ 0x80FFF8, a 1G block.
    r.w64(0x80'FFF8, 0x1'4000'0000ull | 0x4C1);
    const TranslationResult res = r.run(rq(2, 0x7FF'C012'3456ull));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x1'4012'3456ull);
    CHECK(res.size == 0x4000'0000);
    CHECK(r.trace[1].pa == 0x80'FFF8);
    // 44-bit IPA at level 1 would need 32 tables: ILLEGAL STE.
    r.ste_dw(2, 2, 0x000D'0054'0000'0000ull);
    const auto req = rq(2, 0);
    CHECK(event_of(req, r.run(req)).id() == 0x04);
}

TEST_CASE("Blocks: 2 MB and 1 GB at stage 1 and stage 2", "[walker][block]") {
    SECTION("S1 2 MB block at level 2") {
        Rig r;
        layout_s1(r, 0);
        r.w64(0x20'2018, 0x0BE0'0000 | 0x441);
        const TranslationResult res = r.run(rq(1, kVa));
        REQUIRE(res.outcome == Outcome::Translated);
        CHECK(res.pa == 0x0BE0'4567);  // offset within 2 MB = 0x4567
        CHECK(res.size == 0x20'0000);
        CHECK(res.s1_level == 2);
        CHECK(r.log.walk_reads == 3);
    }
    SECTION("S1 1 GB block at level 1") {
        Rig r;
        layout_s1(r, 0);
        r.w64(0x20'1010, 0x4000'0000 | 0x441);
        const TranslationResult res = r.run(rq(1, kVa));
        REQUIRE(res.outcome == Outcome::Translated);
        CHECK(res.pa == 0x4060'4567);  // offset within 1 GB = 0x604567
        CHECK(res.size == 0x4000'0000);
        CHECK(res.s1_level == 1);
        CHECK(r.log.walk_reads == 2);
    }
    SECTION("S2 2 MB block at level 2") {
        Rig r;
        layout_s2(r, 0);
        r.w64(0x30'2018, 0x0BE0'0000 | 0x4C1);
        const TranslationResult res = r.run(rq(2, kVa));
        REQUIRE(res.outcome == Outcome::Translated);
        CHECK(res.pa == 0x0BE0'4567);
        CHECK(res.size == 0x20'0000);
        CHECK(res.s2_level == 2);
        CHECK(r.log.walk_reads == 3);
    }
    SECTION("S2 1 GB block at level 1") {
        Rig r;
        layout_s2(r, 0);
        r.w64(0x30'1010, 0x8000'0000 | 0x4C1);
        const TranslationResult res = r.run(rq(2, kVa));
        REQUIRE(res.outcome == Outcome::Translated);
        CHECK(res.pa == 0x8060'4567);
        CHECK(res.size == 0x4000'0000);
        CHECK(res.s2_level == 1);
        CHECK(r.log.walk_reads == 2);
    }
    SECTION("Nested: S1 2 MB block over S2 4K pages -> 4K") {
        Rig r;
        layout_nested(r);
        r.w64(0x3000'3018, 0x4000'0000 | 0x441);  // IPA block 0x40000000: kVa -> IPA 0x40004567
        const TranslationResult res = r.run(rq(3, kVa));
        REQUIRE(res.outcome == Outcome::Translated);
        CHECK(res.ipa == 0x4000'4567);
        CHECK(res.pa == 0x3000'4567);
        CHECK(res.size == 0x1000);
        CHECK(res.s1_level == 2);
        CHECK(res.s2_level == 3);
        CHECK(r.log.walk_reads == 4 + 3 * 5 + 4);
    }
    SECTION("Block at level 0 (4K) is reserved: translation fault") {
        Rig r;
        layout_s1(r, kS1Leaf);
        r.w64(0x20'0008, 0x0000'0000 | 0x441);
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x10);
        CHECK(r.log.walk_reads == 1);
    }
}

TEST_CASE("16K granule, stage 1, 48-bit VA (4 levels)", "[walker][granule]") {
    Rig r;
    // CD: kCd0 with TG0=2 (16K, bits 7:6); TTB0 0x1000000.
    r.ste_dw(1, 0, 0x0010'000Bull);
    r.w64(0x10'0000, kCd0 | 0x80);
    r.w64(0x10'0008, 0x100'0000);
    // VA 0x8050_0C01_D234: L0 idx 1 (bit 47), L1 idx 5 [46:36], L2 idx 6 [35:25], L3 idx 7 [24:14], offset 0x1234.
    constexpr uint64_t va = 0x0000'8050'0C01'D234ull;
    static_assert(va == ((1ull << 47) | (5ull << 36) | (6ull << 25) | (7ull << 14) | 0x1234));
    r.w64(0x100'0008, 0x100'4003);
    r.w64(0x100'4028, 0x100'8003);
    r.w64(0x100'8030, 0x100'C003);
    r.w64(0x100'C038, 0x0123'C000 | 0x443);
    TranslationResult res = r.run(rq(1, va));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0123'D234);
    CHECK(res.size == 0x4000);
    CHECK(r.log.walk_reads == 4);
    const std::vector<Step> all = steps(r.trace);
    const std::vector<Step> walk(all.begin() + 2, all.end());
    const std::vector<Step> expect{{AccessKind::S1Table, 0, 0x100'0008},
                                   {AccessKind::S1Table, 1, 0x100'4028},
                                   {AccessKind::S1Table, 2, 0x100'8030},
                                   {AccessKind::S1Table, 3, 0x100'C038}};
    CHECK(walk == expect);

    // 32 MB block at level 2.
    r.w64(0x100'8030, 0x0200'0000 | 0x441);
    res = r.run(rq(1, va));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0201'D234);
    CHECK(res.size == 0x200'0000);
    CHECK(r.log.walk_reads == 3);

    // A block at level 1 needs FEAT_LPA2 with 16K: translation fault.
    r.w64(0x100'4028, 0x10'0000'0000ull | 0x441);
    const auto req = rq(1, va);
    CHECK(event_of(req, r.run(req)).id() == 0x10);
}

TEST_CASE("64K granule, stage 2, 48-bit IPA (start level 1, 3 reads)", "[walker][granule]") {
    Rig r;
    // dw2: S2T0SZ=16, S2SL0=2 (64K: level 1), S2TG=1 (64K, 1 << 46), S2PS 48, S2AA64.
    r.ste_dw(2, 0, 0xD);
    r.ste_dw(2, 2, 0x000D'4090'0000'0000ull);
    r.ste_dw(2, 3, 0x500'0000);
    // IPA 0xC01_200A_BEEF: L1 idx 3 [47:42], L2 idx 9 [41:29], L3 idx 10 [28:16], offset 0xBEEF.
    constexpr uint64_t ipa = 0x0C01'200A'BEEFull;
    static_assert(ipa == ((3ull << 42) | (9ull << 29) | (10ull << 16) | 0xBEEF));
    r.w64(0x500'0018, 0x501'0003);
    r.w64(0x501'0048, 0x502'0003);
    r.w64(0x502'0050, 0x0777'0000 | 0x4C3);
    TranslationResult res = r.run(rq(2, ipa));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0777'BEEF);
    CHECK(res.size == 0x1'0000);
    CHECK(res.s2_level == 3);
    CHECK(r.log.walk_reads == 3);
    CHECK(r.trace[1].pa == 0x500'0018);
    CHECK(r.trace[1].level == 1);
    CHECK(r.trace[2].pa == 0x501'0048);
    CHECK(r.trace[3].pa == 0x502'0050);

    // 512 MB block at level 2.
    r.w64(0x501'0048, 0x6000'0000 | 0x4C1);
    res = r.run(rq(2, ipa));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x600A'BEEF);  // offset within 512 MB: IPA[28:0] = 0xABEEF
    CHECK(res.size == 0x2000'0000);
}

TEST_CASE("2-level stream table (SPLIT=8) and 2-level CD table (S1Fmt=1)", "[walker][config]") {
    Rig r;
    r.st.two_level = true;
    r.st.split = 8;
    r.st.log2size = 16;
    // SID 0x305 -> L1STD[3] @ 0x10018: L2Ptr 0x90000, Span 9 (2^8 STEs). STE @ 0x90000 + 5 * 64.
    r.w64(0x1'0018, 0x9'0009);
    Ste s;
    s.set(ste::V, 1);
    s.set(ste::Config, 5);
    s.set(ste::S1Fmt, 1);
    s.set(ste::S1ContextPtr, 0xA'0000);
    s.set(ste::S1CDMax, 8);
    CHECK(s.w[0] == 0x4000'0000'000A'001Bull);
    REQUIRE(r.mem.write_words(0x9'0140, s.w.data(), 8));
    // SSID 0x83 -> L1CD[2] @ 0xA0010: L2Ptr 0xB0000 | V; CD 3 @ 0xB00C0.
    r.w64(0xA'0010, 0xB'0000 | 1);
    ContextDescriptor c;
    c.set(cd::T0SZ, 16);
    c.set(cd::EPD1, 1);
    c.set(cd::V, 1);
    c.set(cd::IPS, 5);
    c.set(cd::AA64, 1);
    c.set(cd::ASID, 0x42);
    c.set(cd::TTB0, 0x20'0000);
    CHECK(c.w[0] == kCd0);
    REQUIRE(r.mem.write_words(0xB'00C0, c.w.data(), 8));
    r.w64(0x20'0008, 0x20'1003);
    r.w64(0x20'1010, 0x20'2003);
    r.w64(0x20'2018, 0x20'3003);
    r.w64(0x20'3020, kS1Leaf);

    const TranslationResult res = r.run(rq_ssid(0x305, 0x83, kVa));
    REQUIRE(res.outcome == Outcome::Translated);
    CHECK(res.pa == 0x0ABC'D567);
    CHECK(r.log.config_reads == 4);
    CHECK(r.log.walk_reads == 4);
    const auto all = steps(r.trace);
    REQUIRE(all.size() == 8);
    const std::vector<Step> head{{AccessKind::L1Std, 1, 0x1'0018},
                                 {AccessKind::Ste, 0, 0x9'0140},
                                 {AccessKind::L1Cd, 1, 0xA'0010},
                                 {AccessKind::Cd, 0, 0xB'00C0}};
    CHECK(std::vector<Step>(all.begin(), all.begin() + 4) == head);

    SECTION("L1STD Span=0: C_BAD_STREAMID after one L1STD read") {
        const auto req = rq(0x405, kVa);  // L1STD[4] is zero
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x02);
        CHECK(e.get(evt::SID) == 0x405);
        CHECK(r.log.config_reads == 1);
        CHECK(r.trace[0].kind == AccessKind::L1Std);
        CHECK(r.trace[0].pa == 0x1'0020);
    }
    SECTION("SID past the L2 table's 2^(Span-1) STEs: C_BAD_STREAMID") {
        r.w64(0x1'0018, 0x9'0000 | 3);  // 4 STEs; SID 0x305 is entry 5
        const auto req = rq(0x305, kVa);
        CHECK(event_of(req, r.run(req)).id() == 0x02);
        r.w64(0x1'0018, 0x9'0000 | 10);  // Span > SPLIT+1: ILLEGAL
        CHECK(event_of(req, r.run(req)).id() == 0x02);
    }
    SECTION("L1CD V=0: C_BAD_SUBSTREAMID") {
        const auto req = rq_ssid(0x305, 0x43, kVa);  // L1CD[1] is zero
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x08);
        CHECK(e.get(evt::SSID) == 0x43);
        CHECK(r.log.config_reads == 3);
    }
}

// ---------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------

TEST_CASE("F_TRANSLATION", "[walker][fault]") {
    SECTION("invalid level 3 descriptor") {
        Rig r;
        layout_s1(r, 0);
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x10);
        CHECK(e.get(evt::SID) == 1);
        CHECK(e.get(evt::SSV) == 0);
        CHECK(e.get(evt::S2) == 0);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::RnW) == 1);
        CHECK(e.get(evt::InputAddr) == kVa);
        CHECK(e.get(evt::IPA) == 0);
        CHECK(r.log.walk_reads == 4);
    }
    SECTION("invalid level 0 descriptor") {
        Rig r;
        layout_s1(r, kS1Leaf);
        r.w64(0x20'0008, 0);
        const auto req = rq(1, kVa);
        CHECK(event_of(req, r.run(req)).id() == 0x10);
        CHECK(r.log.walk_reads == 1);
    }
    SECTION("level 3 descriptor with bit 1 clear is reserved") {
        Rig r;
        layout_s1(r, 0x0ABC'D000 | 0x441);
        const auto req = rq(1, kVa);
        CHECK(event_of(req, r.run(req)).id() == 0x10);
    }
    SECTION("VA beyond the T0SZ range: no walk") {
        Rig r;
        layout_s1(r, kS1Leaf, (kCd0 & ~0x3Full) | 25);  // 39-bit VA; kVa has bit 39 set
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x10);
        CHECK(e.get(evt::S2) == 0);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::InputAddr) == kVa);
        CHECK(r.log.walk_reads == 0);
        CHECK(r.log.config_reads == 2);
    }
    SECTION("CD.EPD0: translation fault without a walk") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 | (1u << 14));
        const auto req = rq(1, kVa);
        CHECK(event_of(req, r.run(req)).id() == 0x10);
        CHECK(r.log.walk_reads == 0);
    }
    SECTION("stage 2, output IPA unmapped (nested): CLASS=IN, IPA reported") {
        Rig r;
        layout_nested(r);
        r.w64(0x200'3028, 0);
        const auto req = rq(3, kVa);
        const TranslationResult res = r.run(req);
        const EventRecord e = event_of(req, res);
        CHECK(e.id() == 0x10);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::IPA) == 0x4000'5000);
        CHECK(e.get(evt::InputAddr) == kVa);
        CHECK(r.log.walk_reads == 28);
    }
}

TEST_CASE("F_ACCESS (AF=0) and AFFD", "[walker][fault]") {
    SECTION("stage 1") {
        Rig r;
        layout_s1(r, 0x0ABC'D000 | 0x043);
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x12);
        CHECK(e.get(evt::S2) == 0);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::InputAddr) == kVa);
        // CD.AFFD (bit 35): AF treated as 1.
        r.w64(0x10'0000, kCd0 | (1ull << 35));
        const TranslationResult ok = r.run(req);
        REQUIRE(ok.outcome == Outcome::Translated);
        CHECK(ok.pa == 0x0ABC'D567);
    }
    SECTION("stage 2") {
        Rig r;
        layout_s2(r, 0x0DEF'0000 | 0x0C3);
        const auto req = rq(2, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x12);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::IPA) == 0x80'8060'4000ull);
        // STE.S2AFFD (dw2 bit 53).
        r.ste_dw(2, 2, kS2Vtcr48 | (1ull << 53));
        const TranslationResult ok = r.run(req);
        REQUIRE(ok.outcome == Outcome::Translated);
        CHECK(ok.pa == 0x0DEF'0567);
    }
}

TEST_CASE("F_PERMISSION", "[walker][fault]") {
    SECTION("stage 1: read-only page written") {
        Rig r;
        layout_s1(r, 0x0ABC'D000 | 0x4C3);  // AP=0b11: read-only, EL0
        const TranslationResult rd = r.run(rq(1, kVa));
        REQUIRE(rd.outcome == Outcome::Translated);
        CHECK(rd.perms.read);
        CHECK_FALSE(rd.perms.write);
        const auto req = rq(1, kVa, true);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x13);
        CHECK(e.get(evt::S2) == 0);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::RnW) == 0);
        CHECK(e.get(evt::InputAddr) == kVa);
        CHECK(e.get(evt::IPA) == 0);
    }
    SECTION("stage 1: EL1-only page, unprivileged and privileged") {
        Rig r;
        layout_s1(r, 0x0ABC'D000 | 0x403);  // AP=0b00
        const auto unpriv = rq(1, kVa);
        const EventRecord e = event_of(unpriv, r.run(unpriv));
        CHECK(e.id() == 0x13);
        CHECK(e.get(evt::PnU) == 0);
        auto priv = rq(1, kVa, true);
        priv.privileged = true;
        const TranslationResult ok = r.run(priv);
        REQUIRE(ok.outcome == Outcome::Translated);
        CHECK(ok.perms.write);
    }
    SECTION("stage 2: S2AP without write") {
        Rig r;
        layout_s2(r, 0x0DEF'0000 | 0x443);  // S2AP=0b01: read only
        const TranslationResult rd = r.run(rq(2, kVa));
        REQUIRE(rd.outcome == Outcome::Translated);
        CHECK_FALSE(rd.perms.write);
        const auto req = rq(2, kVa, true);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x13);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::RnW) == 0);
        CHECK(e.get(evt::IPA) == 0x80'8060'4000ull);
        CHECK(e.get(evt::InputAddr) == kVa);
    }
    SECTION("nested: stage 2 page of an S1 table without read (CLASS=TT)") {
        Rig r;
        layout_nested(r);
        r.w64(0x200'3010, 0x3000'2000 | 0x483);  // S2AP=0b10: write only
        const auto req = rq(3, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x13);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 1);
        CHECK(e.get(evt::IPA) == 0x4000'2000);
    }
}

TEST_CASE("F_ADDR_SIZE", "[walker][fault]") {
    SECTION("stage 1 output beyond IPS (32 bits)") {
        Rig r;
        layout_s1(r, 0x1'2345'6000ull | 0x443, kCd0 & ~(7ull << 32));
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x11);
        CHECK(e.get(evt::S2) == 0);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::InputAddr) == kVa);
        CHECK(r.log.walk_reads == 4);
    }
    SECTION("stage 1 next-level table beyond IPS") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 & ~(7ull << 32));
        r.w64(0x20'1010, 0x1'0000'0000ull | 3);
        const auto req = rq(1, kVa);
        CHECK(event_of(req, r.run(req)).id() == 0x11);
        CHECK(r.log.walk_reads == 2);
    }
    SECTION("stage 2 output beyond S2PS (40 bits)") {
        Rig r;
        layout_s2(r, 0x100'0000'0000ull | 0x4C3, 0x000A'0090'0000'0000ull);
        const auto req = rq(2, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x11);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::IPA) == 0x80'8060'4000ull);
    }
    SECTION("descriptor bits [51:48] set (no FEAT_LPA)") {
        Rig r;
        layout_s1(r, 0x0001'0000'0ABC'D000ull | 0x443);
        const auto req = rq(1, kVa);
        CHECK(event_of(req, r.run(req)).id() == 0x11);
    }
    SECTION("stage 1 bypassed: input beyond IAS (IHI 0070 3.4)") {
        Rig r;
        layout_s2(r, kS2Leaf);
        const auto req = rq(2, 1ull << 48);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x11);
        CHECK(e.get(evt::S2) == 0);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::InputAddr) == (1ull << 48));
        CHECK(r.log.walk_reads == 0);
    }
}

TEST_CASE("F_WALK_EABT: table beyond the memory's address space", "[walker][fault]") {
    SECTION("stage 1 descriptor fetch: S2=0, CLASS=TT, FetchAddr") {
        Rig r(40);
        layout_s1(r, kS1Leaf);
        r.w64(0x20'2018, 0x100'0000'0000ull | 3);  // L3 table at 2^40: inside IPS 48, outside memory
        const auto req = rq(1, kVa);
        const TranslationResult res = r.run(req);
        const EventRecord e = event_of(req, res);
        CHECK(e.id() == 0x0B);
        CHECK(e.get(evt::S2) == 0);
        CHECK(e.get(evt::CLASS) == 1);  // IHI 0070 7.3.12
        CHECK(e.get(evt::FetchAddr) == 0x100'0000'0020ull);
        CHECK(e.get(evt::InputAddr) == kVa);
        CHECK(r.log.walk_reads == 4);
        CHECK_FALSE(r.trace.back().ok);
        CHECK(r.trace.back().pa == 0x100'0000'0020ull);
    }
    SECTION("stage 2 descriptor fetch for the input: S2=1, CLASS=IN") {
        Rig r(40);
        layout_s2(r, kS2Leaf);
        r.w64(0x30'1010, 0x100'0000'0000ull | 3);
        const auto req = rq(2, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x0B);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 2);
        CHECK(e.get(evt::FetchAddr) == 0x100'0000'0018ull);
    }
}

TEST_CASE("Nested stage 2 faults on CD and S1 table fetches", "[walker][fault][nested]") {
    SECTION("S2 fault while fetching an S1 table: S2=1, CLASS=TT, IPA = table IPA") {
        Rig r;
        layout_nested(r);
        r.w64(0x200'3018, 0);  // IPA page 0x40003000 (S1 level 2 table) unmapped
        const auto req = rq(3, kVa);
        const TranslationResult res = r.run(req);
        REQUIRE(res.outcome == Outcome::Faulted);
        CHECK(res.fault.ipa == 0x4000'3018);  // the descriptor's IPA
        const EventRecord e = event_of(req, res);
        CHECK(e.id() == 0x10);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 1);
        CHECK(e.get(evt::IPA) == 0x4000'3000);
        CHECK(e.get(evt::InputAddr) == kVa);
        CHECK(r.log.walk_reads == 4 + 5 + 5 + 4);
        CHECK(r.log.config_reads == 2);
    }
    SECTION("S2 permission fault reading an S1 table: CLASS=TT, TTRnW=1 (IHI 0070 7.3.16)") {
        Rig r;
        layout_nested(r);
        r.w64(0x200'3018, 0x3000'3000 | 0x483);  // the S1 level 2 table's page: S2AP write-only
        const auto req = rq(3, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x13);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 1);
        CHECK(e.get(evt::TTRnW) == 1);  // a table read, not an HTTU write, faulted
        CHECK(e.get(evt::IPA) == 0x4000'3000);
    }
    SECTION("S2 fault on the CD fetch: CLASS=CD, IPA = CD address") {
        Rig r;
        layout_nested(r);
        r.w64(0x200'3000, 0);
        const auto req = rq(3, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x10);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 0);
        CHECK(e.get(evt::IPA) == 0x4000'0000);
        CHECK(r.log.walk_reads == 4);
        CHECK(r.log.config_reads == 1);
    }
    SECTION("S2 access flag fault on the CD page") {
        Rig r;
        layout_nested(r);
        r.w64(0x200'3000, 0x3000'0000 | 0x0C3);
        const auto req = rq(3, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x12);
        CHECK(e.get(evt::S2) == 1);
        CHECK(e.get(evt::CLASS) == 0);
    }
}

TEST_CASE("C_BAD_STREAMID", "[walker][fault][config]") {
    Rig r;
    layout_s1(r, kS1Leaf);
    const auto req = rq(256, kVa);  // LOG2SIZE 8
    const EventRecord e = event_of(req, r.run(req));
    CHECK(e.id() == 0x02);
    CHECK(e.get(evt::SID) == 256);
    CHECK(r.log.config_reads == 0);
    CHECK(r.run(rq(255, kVa)).fault.id != EventId::C_BAD_STREAMID);
    // LOG2SIZE beyond IDR1.SIDSIZE behaves as SIDSIZE.
    r.caps.sid_bits = 4;
    CHECK(event_of(rq(16, kVa), r.run(rq(16, kVa))).id() == 0x02);
    CHECK(r.run(rq(1, kVa)).outcome == Outcome::Translated);
}

TEST_CASE("C_BAD_STE", "[walker][fault][config]") {
    auto bad_ste = [](Rig& r, uint32_t sid) {
        const auto req = rq(sid, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x04);
        CHECK(e.get(evt::SID) == sid);
        CHECK(r.log.walk_reads == 0);
        CHECK(r.log.config_reads == 1);
    };
    SECTION("V=0") {
        Rig r;
        layout_s1(r, kS1Leaf);
        r.ste_dw(1, 0, 0x0010'000Aull);
        bad_ste(r, 1);
    }
    SECTION("S2TG=3 (reserved)") {
        Rig r;
        layout_s2(r, kS2Leaf, kS2Vtcr48 | (3ull << 46));
        bad_ste(r, 2);
    }
    SECTION("S2SL0=0 (level 2) with a 48-bit IPA: 27 bits at the start level") {
        Rig r;
        layout_s2(r, kS2Leaf, 0x000D'0010'0000'0000ull);
        bad_ste(r, 2);
    }
    SECTION("S2SL0=2 (level 0) with a 30-bit IPA (S2T0SZ=34)") {
        Rig r;
        layout_s2(r, kS2Leaf, 0x000D'00A2'0000'0000ull);
        bad_ste(r, 2);
    }
    SECTION("S2SL0=3 (reserved)") {
        Rig r;
        layout_s2(r, kS2Leaf, 0x000D'00D0'0000'0000ull);
        bad_ste(r, 2);
    }
    SECTION("S2AA64=0 (AArch32 tables not supported)") {
        Rig r;
        layout_s2(r, kS2Leaf, kS2Vtcr48 & ~(1ull << 51));
        bad_ste(r, 2);
    }
    SECTION("S2TTB beyond the effective S2PS (IHI 0070 5.2)") {
        Rig r;
        layout_s2(r, kS2Leaf, 0x000A'0090'0000'0000ull);  // S2PS 40 bits
        r.ste_dw(2, 3, 0x100'0000'0000ull);
        bad_ste(r, 2);
    }
    SECTION("S1Fmt=3, S1DSS=3, S1CDMax beyond SSIDSIZE") {
        Rig r;
        layout_s1(r, kS1Leaf);
        r.ste_dw(1, 0, 0x0010'003Bull);  // S1Fmt=3
        bad_ste(r, 1);
        r.ste_dw(1, 0, 0x0010'000Bull);
        r.ste_dw(1, 1, 3);  // S1DSS=3
        bad_ste(r, 1);
        r.ste_dw(1, 1, 0);
        r.caps.ssid_bits = 4;
        r.ste_dw(1, 0, 0x0010'000Bull | (5ull << 59));  // S1CDMax=5 > 4
        bad_ste(r, 1);
    }
    SECTION("stage 1 STE on an SMMU without stage 1") {
        Rig r;
        layout_s1(r, kS1Leaf);
        r.caps.s1p = false;
        bad_ste(r, 1);
    }
}

TEST_CASE("STE Config abort and bypass", "[walker][config]") {
    SECTION("abort: no event") {
        Rig r;
        r.ste_dw(0, 0, 0x1);  // V, Config=0b000
        r.ste_dw(1, 0, 0x5);  // V, Config=0b010 (0b0xx)
        for (uint32_t sid : {0u, 1u}) {
            const TranslationResult res = r.run(rq(sid, kVa));
            CHECK(res.outcome == Outcome::Aborted);
            CHECK_FALSE(res.ok());
            CHECK_FALSE(res.records_event());
            CHECK(r.log.walk_reads == 0);
            CHECK(r.log.config_reads == 1);
        }
    }
    SECTION("bypass: PA = IOVA") {
        Rig r;
        r.ste_dw(4, 0, 0x9);  // V, Config=0b100
        const TranslationResult res = r.run(rq(4, 0xFFFF'FFFF'F123ull, true));
        REQUIRE(res.outcome == Outcome::Bypassed);
        CHECK(res.ok());
        CHECK(res.pa == 0xFFFF'FFFF'F123ull);
        CHECK(res.ipa == 0xFFFF'FFFF'F123ull);
        CHECK(res.perms.write);
        CHECK(r.log.walk_reads == 0);
        CHECK(r.log.config_reads == 1);
        // Beyond the OAS (48 bits): stage 1 Address Size fault (IHI 0070 3.4).
        const auto far = rq(4, 1ull << 48);
        const EventRecord e = event_of(far, r.run(far));
        CHECK(e.id() == 0x11);
        CHECK(e.get(evt::S2) == 0);
        CHECK(e.get(evt::CLASS) == 2);
        // A SubstreamID without stage 1.
        const auto ss = rq_ssid(4, 1, 0x1000);
        CHECK(event_of(ss, r.run(ss)).id() == 0x08);
    }
}

TEST_CASE("C_BAD_CD", "[walker][fault][config]") {
    auto bad_cd = [](Rig& r) {
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x0A);
        CHECK(e.get(evt::SID) == 1);
        CHECK(r.log.config_reads == 2);
        CHECK(r.log.walk_reads == 0);
    };
    SECTION("V=0") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 & ~(1ull << 31));
        bad_cd(r);
    }
    SECTION("AA64=0") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 & ~(1ull << 41));
        bad_cd(r);
    }
    SECTION("TG0=3 (reserved)") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 | 0xC0);
        bad_cd(r);
    }
    SECTION("T0SZ=40 (beyond 39 without small tables)") {
        Rig r;
        layout_s1(r, kS1Leaf, (kCd0 & ~0x3Full) | 40);
        bad_cd(r);
    }
    SECTION("TTB0 beyond the effective IPS (IHI 0070 5.4, 3.4)") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 & ~(7ull << 32));  // IPS 32 bits
        r.w64(0x10'0008, 0x1'0000'0000ull);
        bad_cd(r);
    }
}

TEST_CASE("SubstreamIDs: C_BAD_SUBSTREAMID, F_STREAM_DISABLED, S1DSS", "[walker][fault][config]") {
    SECTION("SSV with S1CDMax=0") {
        Rig r;
        layout_s1(r, kS1Leaf);
        const auto req = rq_ssid(1, 1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x08);
        CHECK(e.get(evt::SID) == 1);
        CHECK(e.get(evt::SSID) == 1);
        CHECK(e.get(evt::SSV) == 0);  // RES0 in this record
        CHECK(r.log.config_reads == 1);
    }
    SECTION("SSV on a stage 2 only stream") {
        Rig r;
        layout_s2(r, kS2Leaf);
        const auto req = rq_ssid(2, 0, kVa);
        CHECK(event_of(req, r.run(req)).id() == 0x08);
    }
    Rig r;
    layout_s1(r, kS1Leaf);
    // S1CDMax=2 (4 CDs): dw0 bits 63:59.
    r.ste_dw(1, 0, 0x1000'0000'0010'000Bull);
    // CD 1 @ 0x100040 maps through the same tables.
    r.w64(0x10'0040, kCd0);
    r.w64(0x10'0048, 0x20'0000);
    SECTION("SSID beyond 2^S1CDMax") {
        const auto req = rq_ssid(1, 4, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x08);
        CHECK(e.get(evt::SSID) == 4);
    }
    SECTION("SSID within range selects its CD") {
        const TranslationResult res = r.run(rq_ssid(1, 1, kVa));
        REQUIRE(res.outcome == Outcome::Translated);
        CHECK(r.trace[1].kind == AccessKind::Cd);
        CHECK(r.trace[1].pa == 0x10'0040);
    }
    SECTION("no SSV, S1DSS=0 (terminate): F_STREAM_DISABLED") {
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x06);
        CHECK(e.w[0] == ((1ull << 32) | 0x06));
        CHECK(e.w[1] == 0);
        CHECK(e.w[2] == 0);
        CHECK(r.log.config_reads == 1);
    }
    SECTION("no SSV, S1DSS=1 (bypass): stage 1 bypassed") {
        r.ste_dw(1, 1, 1);
        const TranslationResult res = r.run(rq(1, kVa));
        CHECK(res.outcome == Outcome::Bypassed);
        CHECK(res.pa == kVa);
        CHECK(r.log.config_reads == 1);
    }
    SECTION("S1DSS=2 (substream 0): no SSV uses CD 0, SSID 0 is F_STREAM_DISABLED") {
        r.ste_dw(1, 1, 2);
        const TranslationResult res = r.run(rq(1, kVa));
        REQUIRE(res.outcome == Outcome::Translated);
        CHECK(res.pa == 0x0ABC'D567);
        CHECK(r.trace[1].pa == 0x10'0000);
        // IHI 0070 7.3.7: SubstreamID 0 presented with S1DSS=0b10.
        const auto req = rq_ssid(1, 0, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x06);
    }
}

TEST_CASE("F_STE_FETCH and F_CD_FETCH: aborts on configuration fetches", "[walker][fault][config]") {
    SECTION("stream table beyond memory") {
        Rig r(40);
        r.st.base = 1ull << 40;
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x03);
        CHECK(e.get(evt::SID) == 1);
        CHECK(e.get(evt::FetchAddr) == 0x100'0000'0040ull);
        CHECK(r.log.config_reads == 1);
        CHECK_FALSE(r.trace[0].ok);
    }
    SECTION("L1STD beyond memory") {
        Rig r(40);
        r.st.base = 1ull << 40;
        r.st.two_level = true;
        r.st.log2size = 16;
        const auto req = rq(0x305, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x03);
        CHECK(e.get(evt::FetchAddr) == 0x100'0000'0018ull);
    }
    SECTION("CD table beyond memory") {
        Rig r(40);
        layout_s1(r, kS1Leaf);
        r.ste_dw(1, 0, 0x100'0000'0000ull | 0xB);
        const auto req = rq(1, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x09);
        CHECK(e.get(evt::SID) == 1);
        CHECK(e.get(evt::FetchAddr) == 0x100'0000'0000ull);
        CHECK(r.log.config_reads == 2);
        CHECK(r.log.walk_reads == 0);
    }
    SECTION("nested: CD IPA maps to a PA beyond memory") {
        Rig r(40);
        layout_nested(r);
        r.w64(0x200'3000, 0x100'0000'0000ull | 0x4C3);
        const auto req = rq(3, kVa);
        const EventRecord e = event_of(req, r.run(req));
        CHECK(e.id() == 0x09);
        CHECK(e.get(evt::FetchAddr) == 0x100'0000'0000ull);
    }
}

TEST_CASE("SMMUEN=0: global bypass, input beyond the OAS aborts without an event", "[walker][config]") {
    SparseMemory mem;
    SmmuCore core(mem, SmmuCoreParams{});  // reset: SMMUEN=0, GBPA.ABORT=0
    AccessLog log;
    TranslationResult res = core.translate(rq(7, 0xFFFF'FFFF'F123ull), log);
    CHECK(res.outcome == Outcome::Bypassed);
    CHECK(res.pa == 0xFFFF'FFFF'F123ull);
    res = core.translate(rq(7, 1ull << 48), log);  // IHI 0070 3.4
    CHECK(res.outcome == Outcome::Aborted);
    CHECK_FALSE(res.records_event());
    CHECK(core.stats().faults == 0);
    CHECK(core.stats().aborted == 1);
    CHECK(log.walk_reads + log.config_reads == 0);
}

// Issue 11, class 4: which STE and CD contents are ILLEGAL follows the ID
// register values the SMMU advertises (SmmuCaps, which the register file
// reports in IDR0.STALL_MODEL, IDR0.HTTU, IDR3.STT, IDR5.OAS, IDR0.ASID16).
TEST_CASE("STE/CD ILLEGAL rules follow the advertised ID registers", "[walker][fault][config][issue11]") {
    auto id_of = [](Rig& r, const TranslationRequest& req) {
        const TranslationResult t = r.run(req);
        return t.outcome == Outcome::Faulted ? static_cast<int>(t.fault.id) : 0;
    };
    constexpr int kOk = 0, kBadSte = 0x04, kBadCd = 0x0A;
    const auto s1 = rq(1, kVa);
    const auto s2 = rq(2, kVa);
    SECTION("STE.S1STALLD: ILLEGAL unless STALL_MODEL=0b00 (IHI 0070 5.2 S1STALLD, 5.5)") {
        Rig r;
        layout_s1(r, kS1Leaf);
        r.ste_dw(1, 1, 1ull << 27);
        for (unsigned model : {1u, 2u}) {
            r.caps.stall_model = model;
            CHECK(id_of(r, s1) == kBadSte);
        }
        r.caps.stall_model = 0;
        CHECK(id_of(r, s1) == kOk);
    }
    SECTION("CD.S against STALL_MODEL and STE.S1STALLD (IHI 0070 5.5)") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 | (1ull << 44));  // S=1
        r.caps.stall_model = 1;  // terminate only: S=1 is ILLEGAL
        CHECK(id_of(r, s1) == kBadCd);
        r.caps.stall_model = 0;  // configurable: fine, unless the STE disables stage 1 stalls
        CHECK(id_of(r, s1) == kOk);
        r.ste_dw(1, 1, 1ull << 27);
        CHECK(id_of(r, s1) == kBadCd);
        r.ste_dw(1, 1, 0);
        r.caps.stall_model = 2;  // stall forced: S=1 needed
        CHECK(id_of(r, s1) == kOk);
        r.w64(0x10'0000, kCd0);
        CHECK(id_of(r, s1) == kBadCd);
    }
    SECTION("STE.S2S against STALL_MODEL (IHI 0070 5.5)") {
        Rig r;
        layout_s2(r, kS2Leaf, kS2Vtcr48 | (1ull << 57));
        r.caps.stall_model = 1;
        CHECK(id_of(r, s2) == kBadSte);
        r.caps.stall_model = 2;
        CHECK(id_of(r, s2) == kOk);
        r.ste_dw(2, 2, kS2Vtcr48);
        CHECK(id_of(r, s2) == kBadSte);
        r.caps.stall_model = 0;
        CHECK(id_of(r, s2) == kOk);
    }
    SECTION("CD.HA/HD and STE.S2HA/S2HD against IDR0.HTTU (IHI 0070 5.4 HA, 5.2 S2HA)") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 | (1ull << 43));  // HA
        layout_s2(r, kS2Leaf, kS2Vtcr48 | (1ull << 56));  // S2HA
        CHECK(id_of(r, s1) == kBadCd);
        CHECK(id_of(r, s2) == kBadSte);
        r.caps.httu = 1;  // access flag updates
        CHECK(id_of(r, s1) == kOk);
        CHECK(id_of(r, s2) == kOk);
        r.w64(0x10'0000, kCd0 | (3ull << 42));  // HA and HD
        r.ste_dw(2, 2, kS2Vtcr48 | (3ull << 55));
        CHECK(id_of(r, s1) == kBadCd);
        CHECK(id_of(r, s2) == kBadSte);
        r.caps.httu = 2;  // and dirty state
        CHECK(id_of(r, s1) == kOk);
        CHECK(id_of(r, s2) == kOk);
    }
    SECTION("S2T0SZ: at least 64 - IAS, at most 39 without IDR3.STT (IHI 0070 5.2 S2T0SZ)") {
        Rig r;
        layout_s2(r, kS2Leaf);  // S2T0SZ=16: a 48-bit IPA
        r.caps.oas = 44;        // IAS = OAS = 44: S2T0SZ must be at least 20
        CHECK(id_of(r, s2) == kBadSte);
        r.caps.oas = 48;
        CHECK(id_of(r, s2) == kOk);
        // S2T0SZ=40 (a 24-bit IPA), S2SL0=0 (start level 2, 8 entries): consistent, but beyond 39.
        const uint64_t small = (kS2Vtcr48 & ~(0xFFull << 32)) | (40ull << 32);
        r.ste_dw(2, 2, small);
        CHECK(id_of(r, s2) == kBadSte);
        r.caps.stt = true;  // small translation tables: up to 48
        CHECK(id_of(r, s2) != kBadSte);
        r.ste_dw(2, 2, (kS2Vtcr48 & ~(0xFFull << 32)) | (49ull << 32));
        CHECK(id_of(r, s2) == kBadSte);
    }
    SECTION("S2SL0=0b11 with 4K: start level 3 only with IDR3.STT (IHI 0070 5.2 S2SL0)") {
        Rig r;
        layout_s2(r, kS2Leaf);
        // S2T0SZ=39 (a 25-bit IPA): level 3 resolves bits 24:12, 16 concatenated tables.
        const uint64_t level3 = (kS2Vtcr48 & ~(0xFFull << 32)) | (39ull << 32) | (3ull << 38);
        r.ste_dw(2, 2, level3);
        CHECK(id_of(r, s2) == kBadSte);
        r.caps.stt = true;
        CHECK(id_of(r, s2) != kBadSte);
        // 16K's 0b11 (level 0) needs 52-bit tables: reserved with STT too.
        r.ste_dw(2, 2, level3 | (2ull << 46));
        CHECK(id_of(r, s2) == kBadSte);
    }
    SECTION("CD.T0SZ: at most 39 without IDR3.STT, 48 with it (IHI 0070 5.4 T0SZ)") {
        Rig r;
        layout_s1(r, kS1Leaf, (kCd0 & ~0x3Full) | 40);
        CHECK(id_of(r, s1) == kBadCd);
        r.caps.stt = true;
        CHECK(id_of(r, s1) != kBadCd);
        r.w64(0x10'0000, (kCd0 & ~0x3Full) | 49);
        CHECK(id_of(r, s1) == kBadCd);
    }
    SECTION("CD.ASID[15:8] non-zero with 8-bit ASIDs (IHI 0070 5.4 ASID)") {
        Rig r;
        layout_s1(r, kS1Leaf, kCd0 | (0x100ull << 48));
        CHECK(id_of(r, s1) == kOk);
        r.caps.asid16 = false;
        CHECK(id_of(r, s1) == kBadCd);
        r.w64(0x10'0000, kCd0);  // ASID 0x42
        CHECK(id_of(r, s1) == kOk);
    }
}
