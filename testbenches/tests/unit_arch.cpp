// Architecture formats against vectors computed by hand from IHI 0070 / Linux's
// arm-smmu-v3.h bit positions (not from the model's own FieldDefs): STE, CD, L1
// descriptors, VMSAv8-64 descriptors, commands, events, registers, and the
// `decode` command's JSON.
#include <catch2/catch.hpp>

#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "models/arch/cd.h"
#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/pte.h"
#include "models/arch/registers.h"
#include "models/arch/ste.h"
#include "models/smmu/translation/types.h"
#include "testbenches/cli/decode.h"
#include "testbenches/config/input_error.h"

using namespace smmu;
using namespace smmu::arch;

// ---------------------------------------------------------------------------
// FieldDef basics
// ---------------------------------------------------------------------------

TEST_CASE("FieldDef mask/get/set/fits", "[arch][bitfield]") {
    constexpr FieldDef f{"f", 0, 11, 8};
    CHECK(f.mask() == 0xf00ull);
    uint64_t w[1] = {0xffff'ffff'ffff'ffffull};
    CHECK(f.get(w) == 0xf);
    f.set(w, 0x5);
    CHECK(w[0] == 0xffff'ffff'ffff'f5ffull);
    f.set(w, 0x1a);  // truncated to the field
    CHECK(w[0] == 0xffff'ffff'ffff'faffull);
    CHECK(f.fits(0xf));
    CHECK_FALSE(f.fits(0x10));

    constexpr FieldDef whole{"w", 0, 63, 0};
    CHECK(whole.mask() == ~uint64_t{0});
    CHECK(whole.fits(~uint64_t{0}));

    constexpr FieldDef addr{"a", 1, 51, 12, true};
    uint64_t a[2] = {0, 0};
    addr.set(a, 0x000f'ffff'ffff'f000ull);
    CHECK(a[1] == 0x000f'ffff'ffff'f000ull);
    CHECK(a[0] == 0);
    CHECK(addr.get(a) == 0x000f'ffff'ffff'f000ull);  // byte address, not shifted
    CHECK(addr.fits(0x1234'5000));
    CHECK_FALSE(addr.fits(0x1234'5001));            // low bits must be zero
    CHECK_FALSE(addr.fits(0x0010'0000'0000'0000));  // bit 52
}

// ---------------------------------------------------------------------------
// STE
// ---------------------------------------------------------------------------

TEST_CASE("STE decode of hand-built dwords", "[arch][ste]") {
    Ste s;
    // dw0: V=1, Config=0b111 (0xE), S1Fmt=2 (0x20), S1ContextPtr=0x000FEDCBA9876540, S1CDMax=31 (0xF8<<56)
    s.w[0] = 0xF80F'EDCB'A987'656Full;
    // dw1: S1DSS=2, S1CIR=1, S1COR=3, S1CSH=3, MEV, S1STALLD, EATS=1, STRW=2, SHCFG=1
    s.w[1] = 0x0000'1000'9808'00F6ull;
    // dw2: S2VMID=0xBEEF, S2T0SZ=24, S2SL0=1, S2IR0=1, S2OR0=2, S2SH0=3, S2TG=2, S2PS=5,
    //      S2AA64, S2AFFD, S2PTW, S2S, S2R
    s.w[2] = 0x066D'B958'0000'BEEFull;
    // dw3: S2TTB with garbage outside [51:4]
    s.w[3] = 0xFFF0'8765'4321'0FFFull;

    CHECK(s.get(ste::V) == 1);
    CHECK(s.valid());
    CHECK(s.get(ste::Config) == 7);
    CHECK(s.config() == SteConfig::Nested);
    CHECK(s.stage1());
    CHECK(s.stage2());
    CHECK(s.get(ste::S1Fmt) == 2);
    CHECK(s.get(ste::S1ContextPtr) == 0x000F'EDCB'A987'6540ull);
    CHECK(s.get(ste::S1CDMax) == 31);

    CHECK(s.get(ste::S1DSS) == 2);
    CHECK(s.get(ste::S1CIR) == 1);
    CHECK(s.get(ste::S1COR) == 3);
    CHECK(s.get(ste::S1CSH) == 3);
    CHECK(s.get(ste::MEV) == 1);
    CHECK(s.get(ste::S1STALLD) == 1);
    CHECK(s.get(ste::EATS) == 1);
    CHECK(s.get(ste::STRW) == 2);
    CHECK(s.get(ste::SHCFG) == 1);

    CHECK(s.get(ste::S2VMID) == 0xBEEF);
    CHECK(s.get(ste::S2T0SZ) == 24);
    CHECK(s.get(ste::S2SL0) == 1);
    CHECK(s.get(ste::S2IR0) == 1);
    CHECK(s.get(ste::S2OR0) == 2);
    CHECK(s.get(ste::S2SH0) == 3);
    CHECK(s.get(ste::S2TG) == 2);
    CHECK(s.get(ste::S2PS) == 5);
    CHECK(s.get(ste::S2AA64) == 1);
    CHECK(s.get(ste::S2ENDI) == 0);
    CHECK(s.get(ste::S2AFFD) == 1);
    CHECK(s.get(ste::S2PTW) == 1);
    CHECK(s.get(ste::S2HD) == 0);
    CHECK(s.get(ste::S2HA) == 0);
    CHECK(s.get(ste::S2S) == 1);
    CHECK(s.get(ste::S2R) == 1);
    CHECK(s.get(ste::S2TTB) == 0x0000'8765'4321'0FF0ull);
}

TEST_CASE("STE encode with setters gives the hand-computed dwords", "[arch][ste]") {
    Ste s;
    s.set(ste::V, 1);
    s.set(ste::Config, 7);
    s.set(ste::S1Fmt, 2);
    s.set(ste::S1ContextPtr, 0x000F'EDCB'A987'6540ull);
    s.set(ste::S1CDMax, 31);
    s.set(ste::S1DSS, 2);
    s.set(ste::S1CIR, 1);
    s.set(ste::S1COR, 3);
    s.set(ste::S1CSH, 3);
    s.set(ste::MEV, 1);
    s.set(ste::S1STALLD, 1);
    s.set(ste::EATS, 1);
    s.set(ste::STRW, 2);
    s.set(ste::SHCFG, 1);
    s.set(ste::S2VMID, 0xBEEF);
    s.set(ste::S2T0SZ, 24);
    s.set(ste::S2SL0, 1);
    s.set(ste::S2IR0, 1);
    s.set(ste::S2OR0, 2);
    s.set(ste::S2SH0, 3);
    s.set(ste::S2TG, 2);
    s.set(ste::S2PS, 5);
    s.set(ste::S2AA64, 1);
    s.set(ste::S2AFFD, 1);
    s.set(ste::S2PTW, 1);
    s.set(ste::S2S, 1);
    s.set(ste::S2R, 1);
    s.set(ste::S2TTB, 0x0000'8765'4321'0FF0ull);
    CHECK(s.w[0] == 0xF80F'EDCB'A987'656Full);
    CHECK(s.w[1] == 0x0000'1000'9808'00F6ull);
    CHECK(s.w[2] == 0x066D'B958'0000'BEEFull);
    CHECK(s.w[3] == 0x0000'8765'4321'0FF0ull);
    for (int i = 4; i < 8; ++i) CHECK(s.w[i] == 0);
    CHECK(Ste::kBytes == 64);

    // Single-bit positions (Linux STRTAB_STE_2_*).
    Ste t;
    t.set(ste::S2ENDI, 1);
    CHECK(t.w[2] == (uint64_t{1} << 52));
    t = Ste{};
    t.set(ste::S2HD, 1);
    CHECK(t.w[2] == (uint64_t{1} << 55));
    t = Ste{};
    t.set(ste::S2HA, 1);
    CHECK(t.w[2] == (uint64_t{1} << 56));
}

TEST_CASE("STE Config encodings", "[arch][ste]") {
    Ste s;
    s.set(ste::V, 1);
    const std::pair<unsigned, SteConfig> cases[] = {
        {0, SteConfig::Abort},   {1, SteConfig::Abort},   {2, SteConfig::Abort},  {3, SteConfig::Abort},
        {4, SteConfig::Bypass},  {5, SteConfig::S1Trans}, {6, SteConfig::S2Trans}, {7, SteConfig::Nested},
    };
    for (const auto& [raw, cfg] : cases) {
        s.set(ste::Config, raw);
        CHECK(s.w[0] == (1u | raw << 1));
        CHECK(s.config() == cfg);
    }
    s.set(ste::Config, 5);
    CHECK(s.stage1());
    CHECK_FALSE(s.stage2());
    s.set(ste::Config, 6);
    CHECK_FALSE(s.stage1());
    CHECK(s.stage2());
}

TEST_CASE("L1 stream table descriptor", "[arch][ste]") {
    L1StreamDescriptor d;
    d.w[0] = 0x0000'0000'1234'5649ull;  // L2Ptr 0x12345640, Span 9
    CHECK(d.get(l1std::Span) == 9);
    CHECK(d.get(l1std::L2Ptr) == 0x1234'5640ull);
    L1StreamDescriptor e;
    e.set(l1std::L2Ptr, 0x000F'FFFF'FFFF'FFC0ull);
    e.set(l1std::Span, 31);
    CHECK(e.w[0] == 0x000F'FFFF'FFFF'FFDFull);
    CHECK(L1StreamDescriptor::kBytes == 8);
}

// ---------------------------------------------------------------------------
// CD
// ---------------------------------------------------------------------------

TEST_CASE("CD decode and encode of hand-built dwords", "[arch][cd]") {
    // T0SZ=25, TG0=2, IR0=1, OR0=1, SH0=3, T1SZ=16, TG1=2, EPD1, V, IPS=5, AFFD, TBI0,
    // AA64, HA, R, A, ASET, ASID=0x1234
    const uint64_t dw0 = 0x1234'EA4D'C090'3599ull;
    ContextDescriptor c;
    c.w[0] = dw0;
    c.w[1] = 0x0000'0001'2345'6780ull;
    c.w[2] = 0x0000'0000'0000'0000ull;
    c.w[3] = 0xFFFF'FFFF'0044'FF04ull;  // MAIR as Linux writes it (sign-extended)

    CHECK(c.get(cd::T0SZ) == 25);
    CHECK(c.get(cd::TG0) == 2);
    CHECK(c.get(cd::IR0) == 1);
    CHECK(c.get(cd::OR0) == 1);
    CHECK(c.get(cd::SH0) == 3);
    CHECK(c.get(cd::EPD0) == 0);
    CHECK(c.get(cd::ENDI) == 0);
    CHECK(c.get(cd::T1SZ) == 16);
    CHECK(c.get(cd::TG1) == 2);
    CHECK(c.get(cd::EPD1) == 1);
    CHECK(c.get(cd::V) == 1);
    CHECK(c.valid());
    CHECK(c.get(cd::IPS) == 5);
    CHECK(c.get(cd::AFFD) == 1);
    CHECK(c.get(cd::TBI0) == 1);
    CHECK(c.get(cd::TBI1) == 0);
    CHECK(c.get(cd::AA64) == 1);
    CHECK(c.get(cd::HD) == 0);
    CHECK(c.get(cd::HA) == 1);
    CHECK(c.get(cd::S) == 0);
    CHECK(c.get(cd::R) == 1);
    CHECK(c.get(cd::A) == 1);
    CHECK(c.get(cd::ASET) == 1);
    CHECK(c.get(cd::ASID) == 0x1234);
    CHECK(c.get(cd::TTB0) == 0x1'2345'6780ull);
    CHECK(c.get(cd::TTB1) == 0);
    CHECK(c.get(cd::MAIR) == 0xFFFF'FFFF'0044'FF04ull);

    ContextDescriptor e;
    e.set(cd::T0SZ, 25);
    e.set(cd::TG0, 2);
    e.set(cd::IR0, 1);
    e.set(cd::OR0, 1);
    e.set(cd::SH0, 3);
    e.set(cd::T1SZ, 16);
    e.set(cd::TG1, 2);
    e.set(cd::EPD1, 1);
    e.set(cd::V, 1);
    e.set(cd::IPS, 5);
    e.set(cd::AFFD, 1);
    e.set(cd::TBI0, 1);
    e.set(cd::AA64, 1);
    e.set(cd::HA, 1);
    e.set(cd::R, 1);
    e.set(cd::A, 1);
    e.set(cd::ASET, 1);
    e.set(cd::ASID, 0x1234);
    CHECK(e.w[0] == dw0);

    // Single bits from Linux CTXDESC_CD_0_*.
    ContextDescriptor b;
    b.set(cd::EPD0, 1);
    CHECK(b.w[0] == (uint64_t{1} << 14));
    b = ContextDescriptor{};
    b.set(cd::ENDI, 1);
    CHECK(b.w[0] == (uint64_t{1} << 15));
    b = ContextDescriptor{};
    b.set(cd::HD, 1);
    CHECK(b.w[0] == (uint64_t{1} << 42));
    b = ContextDescriptor{};
    b.set(cd::S, 1);
    CHECK(b.w[0] == (uint64_t{1} << 44));
    b = ContextDescriptor{};
    b.set(cd::TTB1, 0x000F'FFFF'FFFF'FFF0ull);
    CHECK(b.w[2] == 0x000F'FFFF'FFFF'FFF0ull);
    b.w[1] = 0xFFFF'FFFF'FFFF'FFFFull;
    CHECK(b.get(cd::TTB0) == 0x000F'FFFF'FFFF'FFF0ull);  // [51:4] only
}

TEST_CASE("L1 CD descriptor", "[arch][cd]") {
    L1CdDescriptor d;
    d.w[0] = 0x0000'00AB'CDEF'1001ull;
    CHECK(d.get(l1cd::V) == 1);
    CHECK(d.get(l1cd::L2Ptr) == 0xAB'CDEF'1000ull);
    d.w[0] = 0xFFF0'0000'0000'0FFEull;  // bits outside [51:12] and V=0
    CHECK(d.get(l1cd::V) == 0);
    CHECK(d.get(l1cd::L2Ptr) == 0);
    L1CdDescriptor e;
    e.set(l1cd::L2Ptr, 0x000F'FFFF'FFFF'F000ull);
    e.set(l1cd::V, 1);
    CHECK(e.w[0] == 0x000F'FFFF'FFFF'F001ull);
}

// ---------------------------------------------------------------------------
// VMSAv8-64 descriptors
// ---------------------------------------------------------------------------

TEST_CASE("Granule geometry", "[arch][pte]") {
    CHECK(page_shift(Granule::K4) == 12);
    CHECK(page_shift(Granule::K16) == 14);
    CHECK(page_shift(Granule::K64) == 16);
    CHECK(level_stride(Granule::K4) == 9);
    CHECK(level_stride(Granule::K16) == 11);
    CHECK(level_stride(Granule::K64) == 13);
    CHECK(granule_bytes(Granule::K4) == 0x1000);
    CHECK(granule_bytes(Granule::K16) == 0x4000);
    CHECK(granule_bytes(Granule::K64) == 0x10000);
    // 4K: L0 [47:39], L1 [38:30], L2 [29:21], L3 [20:12]
    CHECK(level_shift(Granule::K4, 0) == 39);
    CHECK(level_shift(Granule::K4, 1) == 30);
    CHECK(level_shift(Granule::K4, 2) == 21);
    CHECK(level_shift(Granule::K4, 3) == 12);
    // 16K: L0 [47], L1 [46:36], L2 [35:25], L3 [24:14]
    CHECK(level_shift(Granule::K16, 0) == 47);
    CHECK(level_shift(Granule::K16, 1) == 36);
    CHECK(level_shift(Granule::K16, 2) == 25);
    CHECK(level_shift(Granule::K16, 3) == 14);
    // 64K: L1 [47:42], L2 [41:29], L3 [28:16]
    CHECK(level_shift(Granule::K64, 1) == 42);
    CHECK(level_shift(Granule::K64, 2) == 29);
    CHECK(level_shift(Granule::K64, 3) == 16);
    // TG0/S2TG encoding
    CHECK(static_cast<int>(Granule::K4) == 0);
    CHECK(static_cast<int>(Granule::K64) == 1);
    CHECK(static_cast<int>(Granule::K16) == 2);
    CHECK(granule_name(Granule::K4) == "4K");
    CHECK(granule_name(Granule::K16) == "16K");
    CHECK(granule_name(Granule::K64) == "64K");
    // Blocks without FEAT_LPA: 4K at L1 (1G) and L2 (2M); 16K at L2 (32M); 64K at L2 (512M).
    CHECK(block_allowed(Granule::K4, 1));
    CHECK(block_allowed(Granule::K4, 2));
    CHECK_FALSE(block_allowed(Granule::K4, 0));
    CHECK_FALSE(block_allowed(Granule::K4, 3));
    CHECK_FALSE(block_allowed(Granule::K16, 1));
    CHECK(block_allowed(Granule::K16, 2));
    CHECK_FALSE(block_allowed(Granule::K64, 1));
    CHECK(block_allowed(Granule::K64, 2));
}

TEST_CASE("Descriptor table and output masks", "[arch][pte]") {
    CHECK(Descriptor::table_mask(Granule::K4) == 0x0000'FFFF'FFFF'F000ull);
    CHECK(Descriptor::table_mask(Granule::K16) == 0x0000'FFFF'FFFF'C000ull);
    CHECK(Descriptor::table_mask(Granule::K64) == 0x0000'FFFF'FFFF'0000ull);
    CHECK(Descriptor::output_mask(Granule::K4, 1) == 0x0000'FFFF'C000'0000ull);
    CHECK(Descriptor::output_mask(Granule::K4, 2) == 0x0000'FFFF'FFE0'0000ull);
    CHECK(Descriptor::output_mask(Granule::K4, 3) == 0x0000'FFFF'FFFF'F000ull);
    CHECK(Descriptor::output_mask(Granule::K16, 2) == 0x0000'FFFF'FE00'0000ull);
    CHECK(Descriptor::output_mask(Granule::K16, 3) == 0x0000'FFFF'FFFF'C000ull);
    CHECK(Descriptor::output_mask(Granule::K64, 2) == 0x0000'FFFF'E000'0000ull);
    CHECK(Descriptor::output_mask(Granule::K64, 3) == 0x0000'FFFF'FFFF'0000ull);

    const Descriptor d(0xFFF7'1234'5678'9ABFull);
    CHECK(d.table_address(Granule::K4) == 0x0000'1234'5678'9000ull);
    CHECK(d.table_address(Granule::K16) == 0x0000'1234'5678'8000ull);
    CHECK(d.table_address(Granule::K64) == 0x0000'1234'5678'0000ull);
    CHECK(d.output_address(Granule::K4, 1) == 0x0000'1234'4000'0000ull);
    CHECK(d.output_address(Granule::K4, 2) == 0x0000'1234'5660'0000ull);
}

TEST_CASE("Descriptor make_table / make_leaf", "[arch][pte]") {
    CHECK(Descriptor::make_table(Granule::K4, 0x1234'5678).raw() == 0x1234'5003ull);
    CHECK(Descriptor::make_table(Granule::K16, 0x1234'5678).raw() == 0x1234'4003ull);
    CHECK(Descriptor::make_table(Granule::K64, 0x1234'5678).raw() == 0x1234'0003ull);
    // Pages: bits[1:0]=0b11, AF (bit 10).
    CHECK(Descriptor::make_leaf(Granule::K4, 3, 0x8765'4321).raw() == 0x8765'4403ull);
    CHECK(Descriptor::make_leaf(Granule::K16, 3, 0x8765'4321).raw() == 0x8765'4403ull);
    CHECK(Descriptor::make_leaf(Granule::K64, 3, 0x8765'4321).raw() == 0x8765'0403ull);
    // Blocks: bits[1:0]=0b01, AF.
    CHECK(Descriptor::make_leaf(Granule::K4, 2, 0x8765'4321).raw() == 0x8760'0401ull);
    CHECK(Descriptor::make_leaf(Granule::K4, 1, 0x1'C765'4321ull).raw() == 0x1'C000'0401ull);
    CHECK(Descriptor::make_leaf(Granule::K16, 2, 0x8765'4321).raw() == 0x8600'0401ull);
    CHECK(Descriptor::make_leaf(Granule::K64, 2, 0x8765'4321).raw() == 0x8000'0401ull);

    const Descriptor page(0x8765'4403ull), block(0x8760'0401ull), table(0x1234'5003ull), inval(0x8765'4402ull);
    CHECK(page.valid());
    CHECK(page.is_page(3));
    CHECK_FALSE(page.is_block(3));
    CHECK_FALSE(page.is_table(3));
    CHECK(block.is_block(2));
    CHECK_FALSE(block.is_table(2));
    CHECK_FALSE(block.is_page(3));
    CHECK(table.is_table(0));
    CHECK(table.is_table(2));
    CHECK_FALSE(table.is_table(3));  // the same bits are a page at level 3
    CHECK(table.is_page(3));
    CHECK_FALSE(inval.valid());
}

TEST_CASE("Descriptor attribute fields", "[arch][pte]") {
    // UXN(54) PXN(53) nG(11) AF(10) SH=3 (9:8) AP=0b10 (7:6) AttrIndx=5 (4:2), page
    const Descriptor d((uint64_t{1} << 54) | (uint64_t{1} << 53) | (1u << 11) | (1u << 10) | (3u << 8) |
                       (2u << 6) | (5u << 2) | 0x3);
    CHECK(d.raw() == 0x0060'0000'0000'0F97ull);
    CHECK(d.get(pte::UXN) == 1);
    CHECK(d.get(pte::PXN) == 1);
    CHECK(d.get(pte::XN) == 3);
    CHECK(d.get(pte::nG) == 1);
    CHECK(d.get(pte::AF) == 1);
    CHECK(d.get(pte::SH) == 3);
    CHECK(d.get(pte::AP) == 2);
    CHECK(d.get(pte::S2AP) == 2);
    CHECK(d.get(pte::AttrIndx) == 5);
    CHECK(d.get(pte::MemAttr) == 0x5);  // the same bits [5:2] read as stage 2 MemAttr
    const Descriptor t((uint64_t{1} << 63) | (uint64_t{3} << 61) | (uint64_t{1} << 60) | (uint64_t{1} << 59) | 0x3);
    CHECK(t.get(pte::NSTable) == 1);
    CHECK(t.get(pte::APTable) == 3);
    CHECK(t.get(pte::XNTable) == 1);
    CHECK(t.get(pte::PXNTable) == 1);
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

TEST_CASE("Every opcode has its architected name and round-trips", "[arch][cmd]") {
    // Opcode table of IHI 0070 4.x / the shared reference, written out by hand.
    const std::pair<uint8_t, const char*> expected[] = {
        {0x01, "PREFETCH_CONFIG"}, {0x02, "PREFETCH_ADDR"}, {0x03, "CFGI_STE"},      {0x04, "CFGI_STE_RANGE"},
        {0x05, "CFGI_CD"},         {0x06, "CFGI_CD_ALL"},   {0x10, "TLBI_NH_ALL"},   {0x11, "TLBI_NH_ASID"},
        {0x12, "TLBI_NH_VA"},      {0x13, "TLBI_NH_VAA"},   {0x20, "TLBI_EL2_ALL"},  {0x21, "TLBI_EL2_ASID"},
        {0x22, "TLBI_EL2_VA"},     {0x23, "TLBI_EL2_VAA"},  {0x28, "TLBI_S12_VMALL"}, {0x2a, "TLBI_S2_IPA"},
        {0x30, "TLBI_NSNH_ALL"},   {0x40, "ATC_INV"},       {0x41, "PRI_RESP"},      {0x44, "RESUME"},
        {0x45, "STALL_TERM"},      {0x46, "SYNC"},
    };
    for (const auto& [op, name] : expected) {
        INFO("opcode " << int(op));
        const OpcodeInfo* info = opcode_info(op);
        REQUIRE(info != nullptr);
        CHECK(info->name == name);
        CHECK(static_cast<uint8_t>(info->opcode) == op);
    }

    std::set<uint8_t> seen;
    for (const OpcodeInfo& info : all_opcodes()) {
        const auto op = static_cast<uint8_t>(info.opcode);
        INFO(std::string(info.name));
        CHECK_FALSE(info.name.empty());
        CHECK(seen.insert(op).second);  // no duplicates
        CHECK(opcode_info(op) == &info);

        // Fields of one command must not overlap each other or the opcode.
        for (std::size_t i = 0; i < info.fields.size(); ++i) {
            const FieldDef& a = info.fields[i];
            if (a.word == 0) CHECK((a.mask() & cmd::opcode.mask()) == 0);
            for (std::size_t j = i + 1; j < info.fields.size(); ++j) {
                const FieldDef& b = info.fields[j];
                if (a.word == b.word) CHECK((a.mask() & b.mask()) == 0);
            }
        }

        // Round trip: every field set to its all-ones value, then to a pattern.
        Command c = Command::make(info.opcode);
        CHECK(c.w[0] == op);
        CHECK(c.w[1] == 0);
        for (const FieldDef& f : info.fields) c.set(f, f.address ? f.mask() : (f.mask() >> f.lsb));
        CHECK(c.opcode() == op);
        CHECK(c.info() == &info);
        for (const FieldDef& f : info.fields) CHECK(c.get(f) == (f.address ? f.mask() : (f.mask() >> f.lsb)));
        Command z;
        z.w = c.w;
        for (const FieldDef& f : info.fields) z.set(f, 0);
        CHECK(z.w[0] == op);
        CHECK(z.w[1] == 0);
    }
    // The 22 opcodes of the reference plus the EL3 TLBIs.
    CHECK(seen.size() == 24);
    CHECK(opcode_info(0x18)->name == "TLBI_EL3_ALL");
    CHECK(opcode_info(0x1a)->name == "TLBI_EL3_VA");
    // Undefined opcodes: CERROR_ILL.
    for (uint8_t op : {0x00, 0x07, 0x0f, 0x14, 0x29, 0x2b, 0x31, 0x42, 0x43, 0x47, 0x80, 0xff})
        CHECK(opcode_info(op) == nullptr);
}

TEST_CASE("Command vectors computed by hand", "[arch][cmd]") {
    SECTION("SYNC") {
        const Command c = Command::make(Opcode::SYNC, {{cmd::CS, 1},
                                                       {cmd::MSH, 3},
                                                       {cmd::MSIAttr, 0xF},
                                                       {cmd::MSIData, 0xDEADBEEF},
                                                       {cmd::MSIAddr, 0x0000'1234'5678'9ABCull}});
        CHECK(c.w[0] == 0xDEAD'BEEF'0FC0'1046ull);
        CHECK(c.w[1] == 0x0000'1234'5678'9ABCull);
        CHECK(static_cast<int>(SyncCs::Sev) == 2);
    }
    SECTION("TLBI_NH_VA with a range") {
        const Command c = Command::make(Opcode::TLBI_NH_VA, {{cmd::VMID, 0x12},
                                                             {cmd::ASID, 0xABCD},
                                                             {cmd::NUM, 3},
                                                             {cmd::SCALE, 2},
                                                             {cmd::Leaf, 1},
                                                             {cmd::TTL, 3},
                                                             {cmd::TG, 1},
                                                             {cmd::VA, 0x0000'7FFF'1234'5000ull}});
        CHECK(c.w[0] == 0xABCD'0012'0020'3012ull);
        CHECK(c.w[1] == 0x0000'7FFF'1234'5701ull);
        const TlbiRange r = tlbi_range(c);
        CHECK(r.base == 0x0000'7FFF'1234'5000ull);
        CHECK(r.size == 16 * 0x1000);  // (NUM+1) << SCALE = 16 granules of 4K
        CHECK(r.ttl == 3);
    }
    SECTION("CFGI_STE, CFGI_STE_RANGE (CFGI_ALL), CFGI_CD") {
        const Command s = Command::make(Opcode::CFGI_STE, {{cmd::SID, 0x00AB'CDEF}, {cmd::Leaf, 1}});
        CHECK(s.w[0] == 0x00AB'CDEF'0000'0003ull);
        CHECK(s.w[1] == 1);
        const Command all = Command::make(Opcode::CFGI_STE_RANGE, {{cmd::Range, 31}});
        CHECK(all.w[0] == 0x04);
        CHECK(all.w[1] == 0x1F);
        const Command cdc = Command::make(Opcode::CFGI_CD, {{cmd::SID, 7}, {cmd::SSID, 0xFFFFF}, {cmd::SSV, 1}});
        CHECK(cdc.w[0] == 0x0000'0007'FFFF'F805ull);
    }
    SECTION("ATC_INV: Global is dw0[9] (Linux CMDQ_ATC_0_GLOBAL)") {
        const Command c = Command::make(Opcode::ATC_INV, {{cmd::SID, 5},
                                                          {cmd::SSID, 0x10},
                                                          {cmd::SSV, 1},
                                                          {cmd::Global, 1},
                                                          {cmd::AtcSize, 6},
                                                          {cmd::AtcAddr, 0x1234'5000}});
        CHECK(c.w[0] == 0x0000'0005'0001'0A40ull);
        CHECK(c.w[1] == 0x1234'5006ull);
    }
    SECTION("PRI_RESP, RESUME, PREFETCH_ADDR") {
        const Command p = Command::make(Opcode::PRI_RESP, {{cmd::SID, 9}, {cmd::PRGIndex, 0x1FF}, {cmd::PriResp, 2}});
        CHECK(p.w[0] == 0x0000'0009'0000'0041ull);
        CHECK(p.w[1] == 0x21FF);
        const Command r = Command::make(Opcode::RESUME, {{cmd::SID, 3}, {cmd::Action, 2}, {cmd::STAG, 0xBEEF}});
        CHECK(r.w[0] == 0x0000'0003'0000'2044ull);
        CHECK(r.w[1] == 0xBEEF);
        const Command pf =
            Command::make(Opcode::PREFETCH_ADDR, {{cmd::SID, 1}, {cmd::PrefetchSize, 4}, {cmd::PrefetchAddr, 0xF000}});
        CHECK(pf.w[0] == 0x0000'0001'0000'0002ull);
        CHECK(pf.w[1] == 0xF004);
    }
}

TEST_CASE("tlbi_range: NUM/SCALE/TG", "[arch][cmd]") {
    SECTION("TG=0: a single address, no range") {
        Command c = Command::make(Opcode::TLBI_NH_VA, {{cmd::VA, 0x4000'1000}, {cmd::TTL, 2}, {cmd::NUM, 5}});
        const TlbiRange r = tlbi_range(c);
        CHECK(r.base == 0x4000'1000);
        CHECK(r.size == 0);
        CHECK(r.ttl == 0);
    }
    SECTION("TG=2 (16K): base aligned down to the granule") {
        Command c = Command::make(Opcode::TLBI_NH_VAA, {{cmd::VA, 0x1234'5000}, {cmd::TG, 2}});
        const TlbiRange r = tlbi_range(c);
        CHECK(r.base == 0x1234'4000);
        CHECK(r.size == 0x4000);  // (0+1) << 0 granules
        CHECK(r.ttl == 0);
    }
    SECTION("TG=3 (64K), NUM=1, SCALE=1") {
        Command c = Command::make(Opcode::TLBI_EL2_VA, {{cmd::VA, 0x0012'3456'0000ull}, {cmd::TG, 3},
                                                        {cmd::NUM, 1}, {cmd::SCALE, 1}, {cmd::TTL, 1}});
        const TlbiRange r = tlbi_range(c);
        CHECK(r.base == 0x0012'3456'0000ull);
        CHECK(r.size == 4 * 0x10000);
        CHECK(r.ttl == 1);
    }
    SECTION("maximum: NUM=31, SCALE=31, 4K") {
        Command c = Command::make(Opcode::TLBI_NH_VA, {{cmd::TG, 1}, {cmd::NUM, 31}, {cmd::SCALE, 31}});
        CHECK(tlbi_range(c).size == (uint64_t{32} << 31) << 12);
    }
    SECTION("TLBI_S2_IPA uses the IPA field [51:12]") {
        Command c = Command::make(Opcode::TLBI_S2_IPA, {{cmd::VMID, 1}, {cmd::TG, 1}, {cmd::NUM, 1}});
        c.w[1] |= 0xFFF0'0012'3456'7000ull;  // bits [63:52] are not part of an IPA
        const TlbiRange r = tlbi_range(c);
        CHECK(r.base == 0x0012'3456'7000ull);
        CHECK(r.size == 2 * 0x1000);
    }
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

TEST_CASE("Event ids and names", "[arch][evt]") {
    const std::pair<uint8_t, const char*> expected[] = {
        {0x01, "F_UUT"},           {0x02, "C_BAD_STREAMID"},     {0x03, "F_STE_FETCH"},   {0x04, "C_BAD_STE"},
        {0x05, "F_BAD_ATS_TREQ"},  {0x06, "F_STREAM_DISABLED"},  {0x07, "F_TRANSL_FORBIDDEN"},
        {0x08, "C_BAD_SUBSTREAMID"}, {0x09, "F_CD_FETCH"},      {0x0a, "C_BAD_CD"},      {0x0b, "F_WALK_EABT"},
        {0x10, "F_TRANSLATION"},   {0x11, "F_ADDR_SIZE"},        {0x12, "F_ACCESS"},      {0x13, "F_PERMISSION"},
        {0x20, "F_TLB_CONFLICT"},  {0x21, "F_CFG_CONFLICT"},     {0x24, "E_PAGE_REQUEST"},  {0x25, "F_VMS_FETCH"},
    };
    for (const auto& [id, name] : expected) {
        INFO("event " << int(id));
        const EventInfo* info = event_info(id);
        REQUIRE(info != nullptr);
        CHECK(info->name == name);
        CHECK(event_name(static_cast<EventId>(id)) == name);
    }
    CHECK(all_events().size() == std::size(expected) + 16);
    // IMPLEMENTATION DEFINED events 0xE0-0xEF (IHI 0070 7.3.21), by number.
    CHECK(event_name(static_cast<EventId>(0xE0)) == "IMPDEF_EVENT0");
    CHECK(event_name(static_cast<EventId>(0xEF)) == "IMPDEF_EVENT15");
    CHECK(event_info(0xEF)->fields.empty());
    CHECK(event_info(0xDF) == nullptr);
    CHECK(event_info(0xF0) == nullptr);
    CHECK(event_info(0x00) == nullptr);
    CHECK(event_info(0x0c) == nullptr);
    CHECK(event_info(0x26) == nullptr);
    CHECK(event_name(static_cast<EventId>(0x77)) == "UNKNOWN");
    CHECK(static_cast<int>(FaultClass::CD) == 0);
    CHECK(static_cast<int>(FaultClass::TTD) == 1);
    CHECK(static_cast<int>(FaultClass::IN) == 2);
    CHECK(EventRecord::kBytes == 32);
}

TEST_CASE("Event field positions (Linux EVTQ_*)", "[arch][evt]") {
    EventRecord e;
    e.w[0] = 0x0000'1234'0005'6810ull;  // SID 0x1234, SSID 0x56, SSV, id 0x10
    e.w[1] = 0x0000'028A'8000'BEEFull;  // CLASS=2, S2, RnW, PnU, Stall, STAG 0xBEEF
    e.w[2] = 0xFFFF'8000'1234'5678ull;
    e.w[3] = 0xFFF9'8765'4321'0FFFull;
    CHECK(e.id() == 0x10);
    CHECK(e.get(evt::EventID) == 0x10);
    CHECK(e.get(evt::SID) == 0x1234);
    CHECK(e.get(evt::SSID) == 0x56);
    CHECK(e.get(evt::SSV) == 1);
    CHECK(e.get(evt::STAG) == 0xBEEF);
    CHECK(e.get(evt::Stall) == 1);
    CHECK(e.get(evt::PnU) == 1);
    CHECK(e.get(evt::InD) == 0);
    CHECK(e.get(evt::RnW) == 1);
    CHECK(e.get(evt::S2) == 1);
    CHECK(e.get(evt::CLASS) == 2);
    CHECK(e.get(evt::InputAddr) == 0xFFFF'8000'1234'5678ull);
    CHECK(e.get(evt::IPA) == 0x0009'8765'4321'0000ull);        // [51:12]
    CHECK(e.get(evt::FetchAddr) == 0x0009'8765'4321'0FF8ull);  // [51:3]
    EventRecord f;
    f.set(evt::InD, 1);
    CHECK(f.w[1] == (uint64_t{1} << 34));
}

TEST_CASE("make_event fills exactly the record's fields", "[arch][evt]") {
    TranslationRequest req;
    req.sid = 0x1234;
    req.ssid = 0x56;
    req.ssv = true;
    req.iova = 0xFFFF'8000'1234'5678ull;
    req.write = false;
    req.privileged = true;
    SECTION("F_TRANSLATION at stage 2, CLASS=IN") {
        Fault f{EventId::F_TRANSLATION};
        f.s2 = true;
        f.cls = FaultClass::IN;
        f.ipa = 0x9'8765'4567ull;
        const EventRecord e = make_event(req, f);
        CHECK(e.w[0] == 0x0000'1234'0005'6810ull);
        CHECK(e.w[1] == 0x0000'028A'0000'0000ull);
        CHECK(e.w[2] == 0xFFFF'8000'1234'5678ull);
        CHECK(e.w[3] == 0x0000'0009'8765'4000ull);
    }
    SECTION("stage 1 fault: IPA not reported") {
        Fault f{EventId::F_PERMISSION};
        f.ipa = 0x9'8765'4567ull;
        req.write = true;
        req.privileged = false;
        req.ssv = false;
        const EventRecord e = make_event(req, f);
        CHECK(e.w[0] == 0x0000'1234'0000'0013ull);  // no SSV, SSID zero
        CHECK(e.w[1] == 0x0000'0200'0000'0000ull);  // CLASS=IN only (write, unprivileged, S1)
        CHECK(e.w[3] == 0);
    }
    SECTION("F_WALK_EABT FetchAddr") {
        Fault f{EventId::F_WALK_EABT};
        f.cls = FaultClass::TTD;
        f.fetch_addr = 0x0000'0100'0000'0020ull;
        const EventRecord e = make_event(req, f);
        CHECK(e.w[0] == 0x0000'1234'0005'680Bull);
        CHECK(e.w[1] == 0x0000'010A'0000'0000ull);  // CLASS=TT, RnW, PnU
        CHECK(e.w[2] == req.iova);
        CHECK(e.w[3] == 0x0000'0100'0000'0020ull);
    }
    SECTION("F_STREAM_DISABLED has only the StreamID") {
        const EventRecord e = make_event(req, Fault{EventId::F_STREAM_DISABLED});
        CHECK(e.w[0] == 0x0000'1234'0000'0006ull);
        CHECK(e.w[1] == 0);
        CHECK(e.w[2] == 0);
        CHECK(e.w[3] == 0);
    }
    SECTION("C_BAD_SUBSTREAMID: SubstreamID, bits [11:8] RES0 (IHI 0070 7.3.9)") {
        const EventRecord e = make_event(req, Fault{EventId::C_BAD_SUBSTREAMID});
        CHECK(e.w[0] == 0x0000'1234'0005'6008ull);
        CHECK(e.w[1] == 0);
        CHECK(e.w[2] == 0);
    }
    SECTION("F_STE_FETCH") {
        Fault f{EventId::F_STE_FETCH};
        f.fetch_addr = 0x0000'0100'0000'0040ull;
        const EventRecord e = make_event(req, f);
        CHECK(e.w[0] == 0x0000'1234'0005'6803ull);
        CHECK(e.w[1] == 0);
        CHECK(e.w[2] == 0);
        CHECK(e.w[3] == 0x0000'0100'0000'0040ull);
    }
}

// ---------------------------------------------------------------------------
// Registers
// ---------------------------------------------------------------------------

TEST_CASE("Register offsets", "[arch][reg]") {
    CHECK(reg::IDR0 == 0x00);
    CHECK(reg::IDR1 == 0x04);
    CHECK(reg::IDR2 == 0x08);
    CHECK(reg::IDR3 == 0x0c);
    CHECK(reg::IDR4 == 0x10);
    CHECK(reg::IDR5 == 0x14);
    CHECK(reg::IIDR == 0x18);
    CHECK(reg::AIDR == 0x1c);
    CHECK(reg::CR0 == 0x20);
    CHECK(reg::CR0ACK == 0x24);
    CHECK(reg::CR1 == 0x28);
    CHECK(reg::CR2 == 0x2c);
    CHECK(reg::STATUSR == 0x40);
    CHECK(reg::GBPA == 0x44);
    CHECK(reg::IRQ_CTRL == 0x50);
    CHECK(reg::IRQ_CTRLACK == 0x54);
    CHECK(reg::GERROR == 0x60);
    CHECK(reg::GERRORN == 0x64);
    CHECK(reg::GERROR_IRQ_CFG0 == 0x68);
    CHECK(reg::GERROR_IRQ_CFG1 == 0x70);
    CHECK(reg::GERROR_IRQ_CFG2 == 0x74);
    CHECK(reg::STRTAB_BASE == 0x80);
    CHECK(reg::STRTAB_BASE_CFG == 0x88);
    CHECK(reg::CMDQ_BASE == 0x90);
    CHECK(reg::CMDQ_PROD == 0x98);
    CHECK(reg::CMDQ_CONS == 0x9c);
    CHECK(reg::EVENTQ_BASE == 0xa0);
    CHECK(reg::EVENTQ_PROD == 0x100a8);
    CHECK(reg::EVENTQ_CONS == 0x100ac);
    CHECK(reg::EVENTQ_IRQ_CFG0 == 0xb0);
    CHECK(reg::EVENTQ_IRQ_CFG1 == 0xb8);
    CHECK(reg::EVENTQ_IRQ_CFG2 == 0xbc);
    CHECK(reg::kPageSize == 0x10000);
}

TEST_CASE("Register fields", "[arch][reg]") {
    SECTION("IDR0") {
        const uint64_t v = 0x094D'749B;  // S2P S1P TTF=2 COHACC HTTU=2 ATS ASID16 MSI SEV PRI VMID16 CD2L
                                         // TTENDIAN=2 STALL_MODEL=1 ST_LEVEL=1
        CHECK(idr0::S2P.get(&v) == 1);
        CHECK(idr0::S1P.get(&v) == 1);
        CHECK(idr0::TTF.get(&v) == 2);
        CHECK(idr0::COHACC.get(&v) == 1);
        CHECK(idr0::HTTU.get(&v) == 2);
        CHECK(idr0::HYP.get(&v) == 0);
        CHECK(idr0::ATS.get(&v) == 1);
        CHECK(idr0::ASID16.get(&v) == 1);
        CHECK(idr0::MSI.get(&v) == 1);
        CHECK(idr0::SEV.get(&v) == 1);
        CHECK(idr0::PRI.get(&v) == 1);
        CHECK(idr0::VMID16.get(&v) == 1);
        CHECK(idr0::CD2L.get(&v) == 1);
        CHECK(idr0::TTENDIAN.get(&v) == 2);
        CHECK(idr0::STALL_MODEL.get(&v) == 1);
        CHECK(idr0::ST_LEVEL.get(&v) == 1);
        uint64_t h = 0;
        idr0::HYP.set(&h, 1);
        CHECK(h == 0x200);
    }
    SECTION("IDR1, IDR3, IDR5") {
        const uint64_t v1 = 0x0273'9D10;  // SIDSIZE 16, SSIDSIZE 20, PRIQS 19, EVENTQS 19, CMDQS 19
        CHECK(idr1::SIDSIZE.get(&v1) == 16);
        CHECK(idr1::SSIDSIZE.get(&v1) == 20);
        CHECK(idr1::PRIQS.get(&v1) == 19);
        CHECK(idr1::EVENTQS.get(&v1) == 19);
        CHECK(idr1::CMDQS.get(&v1) == 19);
        const uint64_t v3 = 0x500;
        CHECK(idr3::FWB.get(&v3) == 1);
        CHECK(idr3::RIL.get(&v3) == 1);
        const uint64_t v5 = 0x55;
        CHECK(idr5::OAS.get(&v5) == 5);
        CHECK(idr5::GRAN4K.get(&v5) == 1);
        CHECK(idr5::GRAN16K.get(&v5) == 0);
        CHECK(idr5::GRAN64K.get(&v5) == 1);
    }
    SECTION("CR0, GBPA, IRQ_CTRL, GERROR") {
        uint64_t c = 0;
        cr0::SMMUEN.set(&c, 1);
        cr0::EVTQEN.set(&c, 1);
        cr0::CMDQEN.set(&c, 1);
        CHECK(c == 0xD);
        cr0::PRIQEN.set(&c, 1);
        cr0::ATSCHK.set(&c, 1);
        CHECK(c == 0x1F);
        CHECK(cr0::kWritable == 0x1F);
        const uint64_t g = 0x8010'0000;
        CHECK(gbpa::ABORT.get(&g) == 1);
        CHECK(gbpa::UPDATE.get(&g) == 1);
        const uint64_t irq = 0x5;
        CHECK(irq_ctrl::GERROR_IRQEN.get(&irq) == 1);
        CHECK(irq_ctrl::PRIQ_IRQEN.get(&irq) == 0);
        CHECK(irq_ctrl::EVTQ_IRQEN.get(&irq) == 1);
        const uint64_t ge = 0x115;
        CHECK(gerror::CMDQ_ERR.get(&ge) == 1);
        CHECK(gerror::EVTQ_ABT_ERR.get(&ge) == 1);
        CHECK(gerror::MSI_CMDQ_ABT_ERR.get(&ge) == 1);
        CHECK(gerror::SFM_ERR.get(&ge) == 1);
    }
    SECTION("STRTAB_BASE(_CFG), queue bases, CMDQ_CONS.ERR, EVENTQ overflow flags") {
        const uint64_t base = 0x4000'0000'0000'0000ull | 0x000F'FFFF'FFFF'FFC0ull | 0x3F;
        CHECK(strtab_base::ADDR.get(&base) == 0x000F'FFFF'FFFF'FFC0ull);
        CHECK(strtab_base::RA.get(&base) == 1);
        const uint64_t cfg = 0x1'0210;  // FMT=1, SPLIT=8, LOG2SIZE=16
        CHECK(strtab_base_cfg::FMT.get(&cfg) == 1);
        CHECK(strtab_base_cfg::SPLIT.get(&cfg) == 8);
        CHECK(strtab_base_cfg::LOG2SIZE.get(&cfg) == 16);
        const uint64_t q = 0x4000'0000'1234'5673ull;
        CHECK(queue_base::ADDR.get(&q) == 0x1234'5660ull);
        CHECK(queue_base::LOG2SIZE.get(&q) == 19);
        CHECK(queue_base::RA.get(&q) == 1);
        const uint64_t cons = 0x0100'0000 | 0x5;
        CHECK(cmdq_cons::ERR.get(&cons) == static_cast<uint64_t>(CmdqError::Ill));
        CHECK(static_cast<int>(CmdqError::Abt) == 2);
        CHECK(static_cast<int>(CmdqError::AtcInvSync) == 3);
        const uint64_t prod = 0x8000'0003ull;
        CHECK(eventq_prod::OVFLG.get(&prod) == 1);
        CHECK(eventq_cons::OVACKFLG.get(&prod) == 1);
    }
}

TEST_CASE("pa_bits / pa_encoding", "[arch][reg]") {
    const unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
    for (unsigned e = 0; e < 7; ++e) {
        CHECK(pa_bits(e) == bits[e]);
        REQUIRE(pa_encoding(bits[e]).has_value());
        CHECK(*pa_encoding(bits[e]) == e);
    }
    // 0b111 is reserved; the model takes the SMMUv3.0 behaviour (as 0b101, 48 bits).
    CHECK(pa_bits(7) == 48);
    CHECK_FALSE(pa_encoding(0).has_value());
    CHECK_FALSE(pa_encoding(33).has_value());
    CHECK_FALSE(pa_encoding(50).has_value());
    CHECK_FALSE(pa_encoding(56).has_value());
    CHECK_FALSE(pa_encoding(64).has_value());
}

// ---------------------------------------------------------------------------
// smmu-sim decode
// ---------------------------------------------------------------------------

TEST_CASE("decode ste", "[decode]") {
    const auto j = smmu::sim::decode(
        "ste", {"0xF80FEDCBA987656F", "0x00001000980800F6", "0x066DB9580000BEEF", "0xFFF0876543210FFF"});
    CHECK(j.size() == std::size(ste::kAll));
    CHECK(j.begin().key() == "V");
    CHECK(j.at("V").get<uint64_t>() == 1);
    CHECK(j.at("Config").get<uint64_t>() == 7);
    CHECK(j.at("S1Fmt").get<uint64_t>() == 2);
    CHECK(j.at("S1ContextPtr").get<uint64_t>() == 0x000F'EDCB'A987'6540ull);  // byte address
    CHECK(j.at("S1CDMax").get<uint64_t>() == 31);
    CHECK(j.at("S1DSS").get<uint64_t>() == 2);
    CHECK(j.at("STRW").get<uint64_t>() == 2);
    CHECK(j.at("MEV").get<uint64_t>() == 1);
    CHECK(j.at("EATS").get<uint64_t>() == 1);
    CHECK(j.at("SHCFG").get<uint64_t>() == 1);
    CHECK(j.at("S2VMID").get<uint64_t>() == 0xBEEF);
    CHECK(j.at("S2T0SZ").get<uint64_t>() == 24);
    CHECK(j.at("S2SL0").get<uint64_t>() == 1);
    CHECK(j.at("S2TG").get<uint64_t>() == 2);
    CHECK(j.at("S2PS").get<uint64_t>() == 5);
    CHECK(j.at("S2AA64").get<uint64_t>() == 1);
    CHECK(j.at("S2ENDI").get<uint64_t>() == 0);
    CHECK(j.at("S2R").get<uint64_t>() == 1);
    CHECK(j.at("S2TTB").get<uint64_t>() == 0x0000'8765'4321'0FF0ull);  // byte address
}

TEST_CASE("decode cd: no 0x prefix, missing words are zero", "[decode]") {
    const auto j = smmu::sim::decode("cd", {"1234EA4DC0903599", "123456780"});
    CHECK(j.size() == std::size(cd::kAll));
    CHECK(j.at("T0SZ").get<uint64_t>() == 25);
    CHECK(j.at("TG0").get<uint64_t>() == 2);
    CHECK(j.at("V").get<uint64_t>() == 1);
    CHECK(j.at("IPS").get<uint64_t>() == 5);
    CHECK(j.at("AA64").get<uint64_t>() == 1);
    CHECK(j.at("ASID").get<uint64_t>() == 0x1234);
    CHECK(j.at("EPD1").get<uint64_t>() == 1);
    CHECK(j.at("TTB0").get<uint64_t>() == 0x1'2345'6780ull);
    CHECK(j.at("TTB1").get<uint64_t>() == 0);
    CHECK(j.at("MAIR").get<uint64_t>() == 0);
}

TEST_CASE("decode cmd: name and only that opcode's fields", "[decode]") {
    SECTION("SYNC") {
        const auto j = smmu::sim::decode("cmd", {"0xDEADBEEF0FC01046", "0x0000123456789ABC"});
        CHECK(j.at("opcode").get<uint64_t>() == 0x46);
        CHECK(j.at("name").get<std::string>() == "SYNC");
        CHECK(j.at("CS").get<uint64_t>() == 1);
        CHECK(j.at("MSH").get<uint64_t>() == 3);
        CHECK(j.at("MSIAttr").get<uint64_t>() == 0xF);
        CHECK(j.at("MSIData").get<uint64_t>() == 0xDEADBEEF);
        CHECK(j.at("MSIAddr").get<uint64_t>() == 0x1234'5678'9ABCull);
        std::vector<std::string> keys;
        for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
        CHECK(keys == std::vector<std::string>{"opcode", "name", "CS", "MSH", "MSIAttr", "MSIData", "MSIAddr"});
    }
    SECTION("ATC_INV") {
        const auto j = smmu::sim::decode("cmd", {"0x0000000500010A40", "0x12345006"});
        CHECK(j.at("name").get<std::string>() == "ATC_INV");
        CHECK(j.at("SID").get<uint64_t>() == 5);
        CHECK(j.at("SSV").get<uint64_t>() == 1);
        CHECK(j.at("SSID").get<uint64_t>() == 0x10);
        CHECK(j.at("Global").get<uint64_t>() == 1);
        CHECK(j.at("Size").get<uint64_t>() == 6);
        CHECK(j.at("Addr").get<uint64_t>() == 0x1234'5000);
        CHECK(j.size() == 8);
        CHECK_FALSE(j.contains("VMID"));
        CHECK_FALSE(j.contains("Leaf"));
    }
    SECTION("TLBI_NH_VA") {
        const auto j = smmu::sim::decode("cmd", {"0xABCD001200203012", "0x00007FFF12345701"});
        CHECK(j.at("name").get<std::string>() == "TLBI_NH_VA");
        CHECK(j.at("VMID").get<uint64_t>() == 0x12);
        CHECK(j.at("ASID").get<uint64_t>() == 0xABCD);
        CHECK(j.at("NUM").get<uint64_t>() == 3);
        CHECK(j.at("SCALE").get<uint64_t>() == 2);
        CHECK(j.at("Leaf").get<uint64_t>() == 1);
        CHECK(j.at("TTL").get<uint64_t>() == 3);
        CHECK(j.at("TG").get<uint64_t>() == 1);
        CHECK(j.at("Addr").get<uint64_t>() == 0x7FFF'1234'5000ull);
        CHECK_FALSE(j.contains("SID"));
        CHECK_FALSE(j.contains("SSID"));
    }
    SECTION("CFGI_ALL, one word") {
        const auto j = smmu::sim::decode("cmd", {"0x4"});
        CHECK(j.at("name").get<std::string>() == "CFGI_STE_RANGE");
        CHECK(j.at("Range").get<uint64_t>() == 0);
        CHECK(j.at("SID").get<uint64_t>() == 0);
    }
    SECTION("illegal opcode") {
        const auto j = smmu::sim::decode("cmd", {"0xFFFFFFFFFFFFFF00", "0xFFFFFFFFFFFFFFFF"});
        CHECK(j.at("opcode").get<uint64_t>() == 0);
        CHECK(j.at("name").get<std::string>() == "ILLEGAL");
        CHECK(j.size() == 2);
    }
}

TEST_CASE("decode event", "[decode]") {
    const auto j = smmu::sim::decode(
        "event", {"0x0000123400056810", "0x0000028A00000000", "0xFFFF800012345678", "0x0000000987654000"});
    CHECK(j.at("EventID").get<uint64_t>() == 0x10);
    CHECK(j.at("name").get<std::string>() == "F_TRANSLATION");
    CHECK(j.at("SID").get<uint64_t>() == 0x1234);
    CHECK(j.at("SSV").get<uint64_t>() == 1);
    CHECK(j.at("SSID").get<uint64_t>() == 0x56);
    CHECK(j.at("PnU").get<uint64_t>() == 1);
    CHECK(j.at("InD").get<uint64_t>() == 0);
    CHECK(j.at("RnW").get<uint64_t>() == 1);
    CHECK(j.at("S2").get<uint64_t>() == 1);
    CHECK(j.at("CLASS").get<uint64_t>() == 2);
    CHECK(j.at("InputAddr").get<uint64_t>() == 0xFFFF'8000'1234'5678ull);
    CHECK(j.at("IPA").get<uint64_t>() == 0x9'8765'4000ull);
    CHECK_FALSE(j.contains("FetchAddr"));

    const auto w = smmu::sim::decode("event", {"0x000000010000000B", "0", "0x1000", "0x0000010000000020"});
    CHECK(w.at("name").get<std::string>() == "F_WALK_EABT");
    CHECK(w.at("FetchAddr").get<uint64_t>() == 0x100'0000'0020ull);
    CHECK_FALSE(w.contains("IPA"));

    const auto u = smmu::sim::decode("event", {"0x42"});
    CHECK(u.at("name").get<std::string>() == "UNKNOWN");
    CHECK(u.size() == 2);
}

TEST_CASE("decode rejects bad input with InputError", "[decode]") {
    using smmu::sim::InputError;
    using smmu::sim::decode;
    CHECK_THROWS_AS(decode("ste", {"0xZZ"}), InputError);
    CHECK_THROWS_AS(decode("ste", {"0x"}), InputError);
    CHECK_THROWS_AS(decode("ste", {""}), InputError);
    CHECK_THROWS_AS(decode("ste", {"-1"}), InputError);
    CHECK_THROWS_AS(decode("ste", {"0x12 34"}), InputError);
    CHECK_THROWS_AS(decode("ste", {"0x10000000000000000"}), InputError);  // 17 digits
    CHECK_NOTHROW(decode("ste", {"0XFFFFFFFFFFFFFFFF"}));
    CHECK_THROWS_AS(decode("cmd", {"1", "2", "3"}), InputError);
    CHECK_THROWS_AS(decode("event", {"1", "2", "3", "4", "5"}), InputError);
    CHECK_THROWS_AS(decode("ste", std::vector<std::string>(9, "0")), InputError);
    CHECK_THROWS_AS(decode("cd", std::vector<std::string>(9, "0")), InputError);
    CHECK_NOTHROW(decode("cd", std::vector<std::string>(8, "0")));
    CHECK_THROWS_AS(decode("foo", {"0"}), InputError);
    CHECK_THROWS_AS(decode("", {}), InputError);
}

// Issue 11, class 8: words the Linux driver writes decode to every field it sets.
TEST_CASE("decode: every field Linux sets, and every architected event by name", "[decode][issue11]") {
    // arm_smmu_make_s2_domain_ste (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c) sets
    // STRTAB_STE_1_S2FWB (bit 25 of dword 1) when the SMMU has ARM_SMMU_FEAT_S2FWB.
    const auto ste = smmu::sim::decode("ste", {"0xD", "0x2000000"});
    CHECK(ste.at("S2FWB").get<uint64_t>() == 1);
    CHECK(ste.at("S1STALLD").get<uint64_t>() == 0);
    // arm_smmu_cmdq_build_cmd, CMDQ_OP_PRI_RESP: SSV, SSID, SID in dword 0;
    // CMDQ_PRI_1_GRPID (the architecture's PRGIndex, [8:0]) and CMDQ_PRI_1_RESP ([13:12]) in dword 1.
    const auto pri = smmu::sim::decode("cmd", {"0x0000001000005841", "0x11a5"});
    CHECK(pri.at("name").get<std::string>() == "PRI_RESP");
    CHECK(pri.at("SID").get<uint64_t>() == 0x10);
    CHECK(pri.at("SSV").get<uint64_t>() == 1);
    CHECK(pri.at("SSID").get<uint64_t>() == 5);
    CHECK(pri.at("PRGIndex").get<uint64_t>() == 0x1a5);
    CHECK(pri.at("Resp").get<uint64_t>() == 1);
    // F_VMS_FETCH (0x25, IHI 0070 7.3.20): laid out as F_CD_FETCH.
    const auto vms = smmu::sim::decode("event", {"0x0000000700003825", "0", "0", "0x1234560"});
    CHECK(vms.at("name").get<std::string>() == "F_VMS_FETCH");
    CHECK(vms.at("SID").get<uint64_t>() == 7);
    CHECK(vms.at("SSV").get<uint64_t>() == 1);
    CHECK(vms.at("SSID").get<uint64_t>() == 3);
    CHECK(vms.at("FetchAddr").get<uint64_t>() == 0x1234560);
    // C_BAD_SUBSTREAMID has no SSV qualifier: "SubstreamID is always valid" (IHI 0070 7.3.9).
    const auto sub = smmu::sim::decode("event", {"0x0000000700003808"});
    CHECK(sub.at("name").get<std::string>() == "C_BAD_SUBSTREAMID");
    CHECK(sub.at("SSID").get<uint64_t>() == 3);
    CHECK_FALSE(sub.contains("SSV"));
    // F_PERMISSION carries TTRnW (dword 1 bit 44, Linux's EVTQ_1_TT_READ, IHI 0070 7.3.16).
    const auto perm = smmu::sim::decode("event", {"0x0000000700000013", "0x0000118000000000"});
    CHECK(perm.at("name").get<std::string>() == "F_PERMISSION");
    CHECK(perm.at("TTRnW").get<uint64_t>() == 1);
    CHECK(perm.at("CLASS").get<uint64_t>() == 1);
    CHECK(perm.at("S2").get<uint64_t>() == 1);
    CHECK_FALSE(smmu::sim::decode("event", {"0x10"}).contains("TTRnW"));
}

// smmu-sim decode s1pte/s2pte, and encode(): decode's inverse (the Python module's core.encode).
TEST_CASE("decode s1pte and s2pte, and encode inverts decode", "[decode]") {
    using smmu::sim::decode;
    using smmu::sim::encode;
    // The nested-cold walk's last stage 2 read (README, `smmu-sim translate`): a page, S2AP=RW.
    const auto leaf = decode("s2pte", {"0x400001002007ff"});
    CHECK(leaf.at("Valid").get<uint64_t>() == 1);
    CHECK(leaf.at("Table").get<uint64_t>() == 1);
    CHECK(leaf.at("MemAttr").get<uint64_t>() == 0xF);
    CHECK(leaf.at("S2AP").get<uint64_t>() == 3);
    CHECK(leaf.at("AF").get<uint64_t>() == 1);
    CHECK(leaf.at("OA").get<uint64_t>() == 0x1'0020'0000ull);
    CHECK(leaf.at("XN").get<uint64_t>() == 2);
    CHECK(encode("s2pte", leaf) == std::vector<uint64_t>{0x400001002007ffull});
    const auto s1 = decode("s1pte", {"0x60000080200f43"});
    CHECK(s1.at("AP").get<uint64_t>() == 1);
    CHECK(s1.at("nG").get<uint64_t>() == 1);
    CHECK(s1.at("OA").get<uint64_t>() == 0x8020'0000ull);
    CHECK(s1.at("UXN").get<uint64_t>() == 1);

    const std::vector<uint64_t> sync{0xDEADBEEF0FC01046ull, 0x0000123456789ABCull};
    CHECK(encode("cmd", smmu::sim::decode_words("cmd", sync)) == sync);
    CHECK(encode("cmd", {{"name", "CFGI_STE"}, {"SID", 16u}, {"Leaf", 1u}}) ==
          std::vector<uint64_t>{0x0000001000000003ull, 0x1});
    CHECK(encode("event", {{"EventID", 0x10u}, {"SID", 5u}}) == std::vector<uint64_t>{0x0000000500000010ull, 0, 0, 0});
    CHECK(encode("ste", {{"V", 1u}}).size() == 8);
}

TEST_CASE("encode names the field it cannot encode", "[decode]") {
    using smmu::sim::encode;
    auto message = [](const std::string& kind, const nlohmann::ordered_json& fields) {
        try {
            encode(kind, fields);
        } catch (const smmu::sim::InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message("ste", {{"VMID", 1u}}) == "encode ste: unknown field 'VMID'");
    CHECK(message("ste", {{"S2VMID", 0x10000u}}) == "encode ste: S2VMID 0x10000 does not fit bits [15:0] of word 2");
    CHECK(message("ste", {{"S2TTB", 0x1001u}}) ==
          "encode ste: S2TTB 0x1001 does not fit bits [51:4] of word 3 (an address: its low bits are zero)");
    CHECK(message("cmd", {{"SID", 1u}}) == "encode cmd: give opcode or name");
    CHECK(message("cmd", {{"opcode", 3u}, {"name", "SYNC"}}) == "encode cmd: opcode and name disagree");
    CHECK(message("event", {{"EventID", 0x42u}}) == "encode event: EventID 66 is not one the model knows");
    CHECK(message("cd", {{"ASID", -1}}) == "encode cd: ASID -1 is not a non-negative integer");
    CHECK(message("pte", {}) == "encode: unknown structure 'pte' (expected ste, cd, cmd, event, pri, s1pte or s2pte)");
}
